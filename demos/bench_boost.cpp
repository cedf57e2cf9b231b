/* SPDX-License-Identifier: MIT */
/*
 * bench_boost: the Boost.Context fcontext model of the switch benchmark,
 * the reference every other model is a ratio to.  A separate program so
 * that the build needs no C++ or Boost: demos/run_bench.sh compiles it
 * when <boost/context/detail/fcontext.hpp> is there:
 *
 *   cc -O2 -c demos/bench_common.c -o common.o
 *   c++ -O2 -I demos demos/bench_boost.cpp common.o -lboost_context -pthread
 *
 * and demos/bench_switch --boost runs it on each scenario, reading the CSV
 * rows it prints.
 *
 *   demos/bench_boost [--quick] [--full] [--csv FILE] [--runs N] [--ms M]
 *                     [SCENARIO-PATTERN...]
 *
 * A task is an fcontext on a stack from fixedsize_stack, the allocator
 * boost::context::fiber uses by default (std::malloc: the stacks of small
 * tasks lie next to each other in the heap, with no system call and no
 * kernel mapping per task), sized to the task's live depth plus 64 KiB,
 * as a user who knows the depth would size it; a round trip is two
 * jump_fcontext calls, the way boost::context::fiber does it, without the
 * fiber's exception and ontop machinery.  Create and growth give every
 * task an 8 MiB protected_fixedsize_stack (mmap + a guard page), the
 * limit every pagedstack task has.  Scenarios that only concern
 * pagedstack are not run here; a regions- pattern runs its rr- variant.
 */
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fixedsize_stack.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <boost/version.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

extern "C" {
#include "bench.h"
}

namespace ctx = boost::context::detail;
using boost::context::fixedsize_stack;
using boost::context::protected_fixedsize_stack;
using boost::context::stack_context;

namespace {

struct fc_task {
    ctx::fcontext_t fc;
    stack_context sc;
    bench_task *bt;
    bool guard; /* protected_fixedsize_stack, else fixedsize_stack */
};

/* Where the running task yields to (the scheduler of this thread). */
thread_local ctx::fcontext_t fc_back;

__attribute__((noinline)) void fc_yield()
{
    fc_back = ctx::jump_fcontext(fc_back, nullptr).fctx;
}

BENCH_DEFINE_TASK(fc_task_body, fc_yield())

void fc_entry(ctx::transfer_t t)
{
    fc_back = t.fctx;
    fc_task *me = static_cast<fc_task *>(t.data);
    fc_task_body(me->bt);
    /* Finished (create): hand control back for good; the stack is freed
     * without this context being resumed again. */
    ctx::jump_fcontext(fc_back, nullptr);
}

inline void fc_resume(fc_task *t)
{
    t->fc = ctx::jump_fcontext(t->fc, t).fctx;
}

size_t stack_bytes(const bench_scen *s)
{
    size_t b = s->depth + s->spike + ((size_t)64 << 10);
    return (b + 4095) & ~(size_t)4095;
}

bool fc_start(fc_task *t, size_t size, bench_task *bt, bool guard)
{
    try {
        t->sc = guard ? protected_fixedsize_stack(size).allocate()
                      : fixedsize_stack(size).allocate();
    } catch (const std::bad_alloc &) {
        return false;
    }
    t->guard = guard;
    t->bt = bt;
    t->fc = ctx::make_fcontext(t->sc.sp, t->sc.size, fc_entry);
    fc_resume(t); /* down to its depth, and back */
    return true;
}

void fc_free(fc_task *t)
{
    if (t->guard)
        protected_fixedsize_stack(t->sc.size).deallocate(t->sc);
    else
        fixedsize_stack(t->sc.size).deallocate(t->sc);
}

struct fc_ring {
    size_t n, pos;
    std::vector<fc_task> t;
    bench_task bt;
};

void *fc_setup(const bench_scen *s, bench_result *r)
{
    fc_ring *g = new fc_ring;
    g->n = s->n;
    g->pos = 0;
    g->bt.depth = s->depth;
    g->bt.whole = s->whole;
    g->bt.grow = 0;
    g->bt.finish = 0;
    g->bt.spike = s->spike;
    g->t.resize(s->n);
    for (size_t i = 0; i < s->n; i++)
        if (!fc_start(&g->t[i], stack_bytes(s), &g->bt, false)) {
            snprintf(r->note, sizeof r->note,
                     "stack allocation failed at task %zu", i);
            g->n = i;
            for (size_t j = 0; j < i; j++)
                fc_free(&g->t[j]);
            delete g;
            return nullptr;
        }
    return g;
}

int fc_run(void *p, uint64_t iters)
{
    fc_ring *g = static_cast<fc_ring *>(p);
    size_t pos = g->pos, n = g->n;
    fc_task *t = g->t.data();
    for (uint64_t k = 0; k < iters; k++) {
        fc_resume(&t[pos]);
        if (++pos == n)
            pos = 0;
    }
    g->pos = pos;
    return 0;
}

void fc_teardown(void *p)
{
    fc_ring *g = static_cast<fc_ring *>(p);
    for (size_t i = 0; i < g->n; i++)
        fc_free(&g->t[i]);
    delete g;
}

const bench_ring_ops fc_ops = { "fcontext", fc_setup, fc_run, fc_teardown,
                                nullptr, nullptr };

/* Per task: allocate a stack, make the context, first resume (the task
 * finishes at once, or for growth goes to its depth and yields), free the
 * stack. */
struct fc_op {
    const bench_scen *s;
    bench_task bt;
    size_t size;
    bench_result *r;
};

int fc_op_run(void *p, uint64_t count)
{
    fc_op *o = static_cast<fc_op *>(p);
    for (uint64_t k = 0; k < count; k++) {
        fc_task t;
        if (!fc_start(&t, o->size, &o->bt, true)) {
            snprintf(o->r->note, sizeof o->r->note, "stack allocation failed");
            return -1;
        }
        fc_free(&t);
    }
    return 0;
}

struct op_call {
    const bench_scen *s;
    uint64_t fixed;
};

void fc_op_child(void *p, bench_result *r)
{
    op_call *c = static_cast<op_call *>(p);
    fc_op o;
    o.s = c->s;
    o.bt.depth = c->s->depth;
    o.bt.whole = 0;
    o.bt.grow = c->s->kind == BK_GROWTH;
    o.bt.finish = c->s->kind == BK_CREATE;
    o.bt.spike = 0;
    o.size = (size_t)8 << 20; /* what every pagedstack task may use */
    o.r = r;
    bench_ops(fc_op_run, &o, c->s, r, c->fixed, nullptr);
}

void usage(FILE *f)
{
    fprintf(f, "usage: bench_boost [--quick] [--full] [--csv FILE] "
               "[--runs N] [--ms M] [SCENARIO-PATTERN...]\n");
}

} // namespace

int main(int argc, char **argv)
{
    int quick = 0, full = 0, runs = 0;
    double ms = 0;
    const char *csv_path = nullptr;
    std::vector<char *> pats;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        if (!strcmp(a, "--quick"))
            quick = 1;
        else if (!strcmp(a, "--full"))
            full = 1;
        else if (!strcmp(a, "--csv") && v)
            csv_path = argv[++i];
        else if (!strcmp(a, "--runs") && v)
            runs = atoi(argv[++i]);
        else if (!strcmp(a, "--ms") && v)
            ms = atof(argv[++i]);
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            usage(stderr);
            return 2;
        } else
            pats.push_back(argv[i]);
    }
    if (quick) {
        bench_timing.target_ns = 2e6;
        bench_timing.runs = 3;
    }
    if (runs > 0)
        bench_timing.runs = runs;
    if (ms > 0)
        bench_timing.target_ns = ms * 1e6;

    static bench_scen scen[256];
    size_t nscen = bench_scenarios(scen, 256);
    FILE *csv = stdout;
    if (csv_path && !(csv = fopen(csv_path, "w"))) {
        fprintf(stderr, "bench_boost: %s: %s\n", csv_path, strerror(errno));
        return 1;
    }
    char machine[512];
    bench_machine(machine, sizeof machine);
    fprintf(stderr, "%s; Boost %s\n", machine, BOOST_LIB_VERSION);
    bench_csv_header(csv);

    std::vector<bool> done(nscen, false);
    for (size_t i = 0; i < nscen; i++) {
        const bench_scen *s = &scen[i];
        if (!bench_selected(s, pats.data(), (int)pats.size(), quick, full))
            continue;
        if (s->kind == BK_REGIONS) {
            /* fcontext has no regions: measure the round-robin it varies. */
            char rr[48];
            bench_rr_name(s, rr, sizeof rr);
            s = bench_find(scen, nscen, rr);
            if (!s)
                continue;
        }
        size_t idx = (size_t)(s - scen);
        if (done[idx] || s->skip[0])
            continue;
        done[idx] = true;
        bench_result r;
        switch (s->kind) {
        case BK_HOT:
        case BK_RR:
            bench_ring(&fc_ops, s, &r);
            break;
        case BK_THREADS:
            bench_ring_threads(&fc_ops, s, &r);
            break;
        case BK_CREATE:
        case BK_GROWTH: {
            op_call c = { s, s->kind == BK_GROWTH ? 1u : 0u };
            bench_isolated(fc_op_child, &c, &r);
            break;
        }
        default:
            continue;
        }
        bench_progress(s->name, "fcontext", &r);
        bench_csv_row(csv, s, "fcontext", &r);
        fflush(csv);
    }
    if (csv != stdout)
        fclose(csv);
    return 0;
}
