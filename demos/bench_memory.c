/* SPDX-License-Identifier: MIT */
/*
 * The memory scenarios of the switch benchmark, pagedstack only.
 *
 * million: a million tasks, each gone down to about 700 bytes of live stack
 * and waiting.  The honest figure counts everything the tasks cost: the
 * process's anonymous memory (descriptors, saved copies, malloc's overhead)
 * plus all of the pool's memfd pages, mapped or not (pgs_stats'
 * pool_bytes).  The drop of MemAvailable in /proc/meminfo says the same
 * from the system's side, but other processes move it too, so it is only
 * shown.  The benchmark's own array of task pointers (8 MB) is included
 * and said apart.
 *
 * shallow-after-deep: a task goes 1 MiB deep, comes back and waits shallow;
 * then another task runs in the same region (regions = 1).  What the first
 * task holds (pgs_task_stack_bytes) should be a few pages, not 1 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pagedstack.h"
#include "bench_models.h"

/* A field of /proc/meminfo, in bytes (-1 if absent). */
static double meminfo(const char *field)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    size_t n = strlen(field);
    double v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = atof(line + n + 1) * 1024;
            break;
        }
    fclose(f);
    return v;
}

/* A field of /proc/self/status, in bytes (-1 if absent). */
static double self_status(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(field);
    double v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = atof(line + n + 1) * 1024;
            break;
        }
    fclose(f);
    return v;
}

BENCH_DEFINE_TASK(mem_task_body, pgs_yield(NULL))

static void *waiter(void *arg)
{
    mem_task_body(arg);
    return NULL;
}

static void million_child(void *p, struct bench_result *r)
{
    const struct bench_scen *s = p;
    struct bench_task bt = { s->depth, 0, 0 };
    pgs_task **t = calloc(s->n, sizeof *t);
    if (!t || pgs_thread_init(NULL) != 0) {
        snprintf(r->note, sizeof r->note, "setup failed: %s", strerror(errno));
        return;
    }
    double harness = (double)s->n * sizeof *t;
    struct pgs_stats st0;
    pgs_stats(&st0);
    double anon0 = self_status("RssAnon");
    double avail0 = meminfo("MemAvailable"), shmem0 = meminfo("Shmem");
    double t0 = bench_now_ns();
    for (size_t i = 0; i < s->n; i++) {
        if (!(t[i] = pgs_create(waiter, &bt)) ||
            pgs_resume(t[i], NULL, NULL) != 0) {
            snprintf(r->note, sizeof r->note,
                     "LIBRARY ERROR: task %zu: %s", i, strerror(errno));
            fprintf(stderr, "bench: million: %s\n", r->note);
            return;
        }
    }
    double secs = (bench_now_ns() - t0) / 1e9;
    double avail1 = meminfo("MemAvailable"), shmem1 = meminfo("Shmem");
    double anon1 = self_status("RssAnon");
    struct pgs_stats st;
    pgs_stats(&st);
    /* What this process holds for the tasks: its anonymous memory (the
     * descriptors, the saved copies, the harness's array) plus every page
     * of the pool, mapped or not.  Unlike MemAvailable, other processes
     * cannot disturb it. */
    double own = anon1 - anon0 + (double)st.pool_bytes - (double)st0.pool_bytes;
    double held = 0;
    for (size_t i = 0; i < s->n; i++)
        held += (double)pgs_task_stack_bytes(t[i]);
    double drop = avail0 - avail1;
    r->ok = 1;
    r->bytes = own;
    r->ns = secs * 1e9 / (double)s->n; /* to create and first run one */
    snprintf(r->note, sizeof r->note,
             "%zu tasks: this process RssAnon +%.0f MiB (harness %.0f MiB of "
             "it) + pool_bytes %.1f MiB = %.0f B per task; MemAvailable drop "
             "%.0f MiB (system-wide); pgs stack_bytes %.0f MiB, %.0f B per "
             "task; Shmem %+.1f MiB; created and run in %.1f s",
             s->n, (anon1 - anon0) / 1048576.0, harness / 1048576.0,
             st.pool_bytes / 1048576.0, own / (double)s->n, drop / 1048576.0,
             st.stack_bytes / 1048576.0, held / (double)s->n,
             (shmem1 - shmem0) / 1048576.0, secs);

    /* The process exits with its tasks: destroying a million is not the
     * point here. */
}

void bench_pgs_million(const struct bench_scen *s, struct bench_result *r)
{
    bench_isolated(million_child, (void *)s, r);
}

static __attribute__((noinline)) void go_deep(size_t bytes)
{
    volatile char *b = __builtin_alloca(bytes);
    for (size_t i = bytes; i > 0;) {
        i = i > 64 ? i - 64 : 0;
        b[i] = 1;
    }
    __asm__ volatile("" ::: "memory");
}

static void *deep_then_shallow(void *arg)
{
    size_t *depth = arg;
    go_deep(*depth);
    for (;;)
        pgs_yield(NULL);
    return NULL;
}

static void shallow_child(void *p, struct bench_result *r)
{
    const struct bench_scen *s = p;
    struct pgs_config cfg = { .regions = s->regions };
    struct bench_task bt = { 128, 0, 0 };
    size_t depth = s->depth;
    if (pgs_thread_init(&cfg) != 0) {
        snprintf(r->note, sizeof r->note, "pgs_thread_init: %s",
                 strerror(errno));
        return;
    }
    pgs_task *a = pgs_create(deep_then_shallow, &depth);
    pgs_task *b = pgs_create(waiter, &bt);
    if (!a || !b || pgs_resume(a, NULL, NULL) != 0) {
        snprintf(r->note, sizeof r->note, "LIBRARY ERROR: %s",
                 strerror(errno));
        return;
    }
    size_t after_yield = pgs_task_stack_bytes(a);
    if (pgs_resume(b, NULL, NULL) != 0) {
        snprintf(r->note, sizeof r->note, "LIBRARY ERROR: %s",
                 strerror(errno));
        return;
    }
    size_t after_other = pgs_task_stack_bytes(a);
    /* And once more round, to see that it stays so. */
    if (pgs_resume(a, NULL, NULL) != 0 || pgs_resume(b, NULL, NULL) != 0) {
        snprintf(r->note, sizeof r->note, "LIBRARY ERROR: %s",
                 strerror(errno));
        return;
    }
    size_t again = pgs_task_stack_bytes(a);
    struct pgs_stats st;
    pgs_stats(&st);
    r->ok = 1;
    r->bytes = (double)after_other;
    snprintf(r->note, sizeof r->note,
             "went %zu KiB deep; holds %zu B after its own yield, %zu B after "
             "another task ran in its region, %zu B a round later; "
             "pool_bytes %zu KiB", depth >> 10, after_yield, after_other,
             again, st.pool_bytes >> 10);
    pgs_destroy(a);
    pgs_destroy(b);
    pgs_thread_fini();
}

void bench_pgs_shallow(const struct bench_scen *s, struct bench_result *r)
{
    bench_isolated(shallow_child, (void *)s, r);
}
