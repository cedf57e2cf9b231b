/* SPDX-License-Identifier: MIT */
/*
 * The Boost.Context fcontext model (under boost::context::fiber), built
 * as its users build it (build-fcontext.sh).  A round trip is two
 * jump_fcontext calls, without the fiber's exception and ontop machinery.
 * Stacks: fixedsize_stack (std::malloc, Boost's default for fibers) of the
 * job's size when it has one (live depth + 64 KiB), else an 8 MiB
 * protected_fixedsize_stack (mmap and a guard page).
 */
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fixedsize_stack.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <cerrno>
#include <new>
#include "model.h"

namespace ctx = boost::context;
using ctx::detail::jump_fcontext;

namespace {

struct fc_task {
    ctx::detail::fcontext_t fc;
    ctx::stack_context sc;
    struct job *j;
};

thread_local ctx::detail::fcontext_t back; /* the resumer of the running task */

inline void yield()
{
    back = jump_fcontext(back, nullptr).fctx;
}

MODEL_BODY(body, yield())

void entry(ctx::detail::transfer_t t)
{
    back = t.fctx;
    fc_task *me = static_cast<fc_task *>(t.data);
    body(me->j);
    jump_fcontext(back, nullptr);
}

void *create(struct job *j)
{
    fc_task *t = new (std::nothrow) fc_task();
    if (!t)
        return nullptr;
    try {
        t->sc = j->stack ? ctx::fixedsize_stack(j->stack).allocate()
                         : ctx::protected_fixedsize_stack(8 << 20).allocate();
    } catch (const std::bad_alloc &) {
        delete t;
        errno = ENOMEM;
        return nullptr;
    }
    t->j = j;
    t->fc = ctx::detail::make_fcontext(t->sc.sp, t->sc.size, entry);
    return t;
}

inline int resume(void *p)
{
    fc_task *t = static_cast<fc_task *>(p);
    t->fc = jump_fcontext(t->fc, t).fctx;
    return 0;
}

MODEL_RING(ring, resume)

int destroy(void *p)
{
    fc_task *t = static_cast<fc_task *>(p);
    if (t->j->stack)
        ctx::fixedsize_stack(t->sc.size).deallocate(t->sc);
    else
        ctx::protected_fixedsize_stack(t->sc.size).deallocate(t->sc);
    delete t;
    return 0;
}

const struct model model_fcontext = {
    "fcontext", "Boost.Context, c++ -O2, Boost's own stack allocators",
    (size_t)8 << 20, nullptr, nullptr, create, resume, ring, destroy,
    nullptr, nullptr, nullptr,
};

} // namespace

extern "C" const struct model *const models[] = { &model_fcontext, nullptr };
