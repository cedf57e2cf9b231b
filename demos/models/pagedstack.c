/* SPDX-License-Identifier: MIT */
/*
 * The pagedstack model: the library through its public API.  One internal
 * function is declared here, pgs__inject_calls, for one reason: the
 * benchmark reports the system calls the library makes per switch, and the
 * library's own system call wrappers count them (lib/sys.h; the demos link
 * the internal build, which is the same sources with the counters
 * visible).  run_bench.sh checks that count against strace.
 */
#include "pagedstack.h"
#include "harness.h"
#include "model.h"

/* Calls through the library's wrappers at each of its fault points, and
 * the number of those points (lib/sys.h: the last is malloc, which is not
 * a system call). */
unsigned long pgs__inject_calls(int point);
#define PGS_SYSCALL_POINTS 10

static void counters(double out[3])
{
    struct pgs_stats st;
    double calls = 0;
    for (int p = 0; p < PGS_SYSCALL_POINTS; p++)
        calls += (double)pgs__inject_calls(p);
    pgs_stats(&st);
    out[0] = (double)st.faults;
    out[1] = (double)st.remaps;
    /* One rt_sigreturn per stack fault served. */
    out[2] = calls + (double)st.faults;
}

static int init(const struct job *j)
{
    struct pgs_config cfg = { .regions = j->regions };
    return pgs_thread_init(&cfg);
}

static void fini(void)
{
    pgs_thread_fini();
}

MODEL_BODY(body, pgs_yield(NULL))

static void *entry(void *j)
{
    body(j);
    return NULL;
}

static void *create(struct job *j)
{
    return pgs_create(entry, j);
}

static inline int resume(void *t)
{
    return pgs_resume(t, NULL, NULL);
}

MODEL_RING(ring, resume)

static int destroy(void *t)
{
    return pgs_destroy(t);
}

static double held(void *t)
{
    return (double)pgs_task_stack_bytes(t);
}

static void stats(struct row *r)
{
    struct pgs_stats st;
    pgs_stats(&st);
    row_num(r, "pgs_stack", (double)st.stack_bytes);
    row_num(r, "pgs_pool", (double)st.pool_bytes);
    row_num(r, "pgs_faults", (double)st.faults);
    row_num(r, "pgs_remaps", (double)st.remaps);
}

const struct model model_pagedstack = {
    "pagedstack", "the public API; every task may use 8 MiB",
    (size_t)8 << 20, init, fini, create, resume, ring, destroy,
    counters, held, stats,
};
