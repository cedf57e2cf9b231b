/* SPDX-License-Identifier: MIT */
/*
 * Model 6 of the memory comparison: Boost.Context's fcontext (the layer
 * under boost::context::fiber and Boost.Coroutine2) with a
 * protected_fixedsize_stack of 8 MiB: mmap of 8 MiB plus a guard page made
 * PROT_NONE with mprotect, so two kernel mappings per task, like model 3.
 *
 * A program of its own, because the build does not look for Boost:
 * demos/run_memory.sh compiles it with c++ when the header is there, and
 * compare_memory runs it per cell as it runs mem_switched:
 *   mem_boost --cell boost-fcontext WORKLOAD N [BUDGET [RESERVE]]
 */
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <new>
#include <vector>
#include "mem_cell.h"

namespace ctx = boost::context;
using ctx::detail::fcontext_t;
using ctx::detail::transfer_t;

namespace {

struct btask {
    fcontext_t fc;          // where the task continues
    ctx::stack_context sc;  // its stack
    long idx;
    bool done;
};

constexpr std::size_t stack_size = std::size_t(8) << 20;
ctx::protected_fixedsize_stack allocator(stack_size);
std::vector<btask *> tasks;
fcontext_t main_fc;  // the main context, while a task runs

void wait_jump(void *)
{
    main_fc = ctx::detail::jump_fcontext(main_fc, nullptr).fctx;
}

void entry(transfer_t t)
{
    main_fc = t.fctx;
    btask *b = static_cast<btask *>(t.data);
    mem_work_run(mem_cell_work, b->idx, wait_jump, nullptr);
    b->done = true;
    ctx::detail::jump_fcontext(main_fc, nullptr);
}

void run(btask *b)
{
    b->fc = ctx::detail::jump_fcontext(b->fc, b).fctx;
}

int setup(long n, const struct mem_work *, struct mem_fail *why)
{
    try {
        tasks.assign(static_cast<std::size_t>(n), nullptr);
    } catch (const std::bad_alloc &) {
        mem_fail_errno(why, "setup", ENOMEM);
        return -1;
    }
    return 0;
}

int create(long i, struct mem_fail *why)
{
    btask *b = new (std::nothrow) btask();
    if (!b) {
        mem_fail_errno(why, "new", ENOMEM);
        return -1;
    }
    try {
        b->sc = allocator.allocate();
    } catch (const std::bad_alloc &) {
        /* protected_fixedsize_stack throws when mmap fails (and ignores a
         * failing mprotect, leaving a stack without its guard). */
        mem_fail_errno(why, "protected_fixedsize_stack::allocate (mmap)",
                       errno ? errno : ENOMEM);
        delete b;
        return -1;
    }
    b->idx = i;
    b->done = false;
    b->fc = ctx::detail::make_fcontext(b->sc.sp, b->sc.size, entry);
    tasks[static_cast<std::size_t>(i)] = b;
    run(b);
    return 0;
}

int resume(long i, struct mem_fail *)
{
    run(tasks[static_cast<std::size_t>(i)]);
    return 0;
}

int finish(long i, struct mem_fail *why)
{
    btask *b = tasks[static_cast<std::size_t>(i)];
    run(b);
    if (!b->done) {
        why->status = "error";
        return -1;
    }
    return 0; // the stack is left to the process's exit, as in mem_stacks.c
}

const struct mem_model model = {
    "boost-fcontext", stack_size, setup, create, resume, finish, nullptr,
};

} // namespace

int main(int argc, char **argv)
{
    static const struct mem_model *const models[] = { &model, nullptr };
    if (!mem_cell_wanted(argc, argv)) {
        std::fprintf(stderr, "%s: run by compare_memory, as: %s --cell "
                     "boost-fcontext WORKLOAD N [BUDGET [RESERVE]]\n",
                     argv[0], argv[0]);
        return 2;
    }
    return mem_cell_main(models, argc, argv);
}
