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
 * memory-100k-1k: 100,000 tasks waiting at 1 KiB of live stack, measured
 * as the goal is set: the growth of the memory cgroup's charge (which
 * counts the pool's pages whether they are mapped or not, the page tables
 * and the kernel's own structures), per task; the process's own figure
 * (RssAnon + pool_bytes) and the kernel mappings the tasks added
 * (/proc/self/maps lines) beside it.
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
#include "mem_measure.h"

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

/* Kernel mappings of this process: lines of /proc/self/maps. */
static long mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;
    if (!f)
        return -1;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* n tasks started and waiting, with readings of memory before and after. */
struct waiters {
    pgs_task **t;
    struct pgs_stats st0, st1;
    struct mem_snap m0, m1;
    double anon0, anon1; /* this process's RssAnon */
    long maps0, maps1;   /* its kernel mappings */
    double secs;         /* to create and first run them all */
};

/* Create s->n tasks and run each down to s->depth, where it waits.  The
 * array of task pointers is the benchmark's, not the tasks': it is touched
 * before the first reading.  The process exits with its tasks: destroying
 * them is not the point here.  Returns 0, or -1 with r->note set. */
static int waiters_start(const struct bench_scen *s, struct waiters *w,
                         struct bench_result *r)
{
    static struct bench_task bt;
    bt = (struct bench_task){ .depth = s->depth };
    if (!(w->t = calloc(s->n, sizeof *w->t)) || pgs_thread_init(NULL) != 0) {
        snprintf(r->note, sizeof r->note, "setup failed: %s", strerror(errno));
        return -1;
    }
    memset(w->t, 0, s->n * sizeof *w->t);
    pgs_stats(&w->st0);
    w->maps0 = mappings();
    w->anon0 = self_status("RssAnon");
    mem_snap_take(&w->m0);
    double t0 = bench_now_ns();
    for (size_t i = 0; i < s->n; i++)
        if (!(w->t[i] = pgs_create(waiter, &bt)) ||
            pgs_resume(w->t[i], NULL, NULL) != 0) {
            snprintf(r->note, sizeof r->note, "LIBRARY ERROR: task %zu: %s",
                     i, strerror(errno));
            fprintf(stderr, "bench: %s: %s\n", s->name, r->note);
            return -1;
        }
    w->secs = (bench_now_ns() - t0) / 1e9;
    mem_snap_take(&w->m1);
    w->anon1 = self_status("RssAnon");
    w->maps1 = mappings();
    pgs_stats(&w->st1);
    return 0;
}

/* What this process holds for the tasks: its anonymous memory (the
 * descriptors, the saved copies) plus every page of the pool, mapped or
 * not.  Unlike MemAvailable, other processes cannot disturb it. */
static double waiters_own(const struct waiters *w)
{
    return w->anon1 - w->anon0 + (double)w->st1.pool_bytes -
           (double)w->st0.pool_bytes;
}

static void million_child(void *p, struct bench_result *r)
{
    const struct bench_scen *s = p;
    struct waiters w;
    if (waiters_start(s, &w, r) != 0)
        return;
    double own = waiters_own(&w), held = 0, n = (double)s->n;
    for (size_t i = 0; i < s->n; i++)
        held += (double)pgs_task_stack_bytes(w.t[i]);
    r->ok = 1;
    r->bytes = own;
    r->ns = w.secs * 1e9 / n; /* to create and first run one */
    snprintf(r->note, sizeof r->note,
             "%zu tasks: this process RssAnon +%.0f MiB + pool_bytes %.1f "
             "MiB = %.0f B per task; MemAvailable drop %.0f MiB "
             "(system-wide); pgs stack_bytes %.0f MiB, %.0f B per task; "
             "Shmem %+.1f MiB; created and run in %.1f s",
             s->n, (w.anon1 - w.anon0) / 1048576.0,
             w.st1.pool_bytes / 1048576.0, own / n,
             (double)(w.m0.avail - w.m1.avail) / 1048576.0,
             w.st1.stack_bytes / 1048576.0, held / n,
             (double)(w.m1.shmem - w.m0.shmem) / 1048576.0, w.secs);
}

void bench_pgs_million(const struct bench_scen *s, struct bench_result *r)
{
    bench_isolated(million_child, (void *)s, r);
}

static void memory_child(void *p, struct bench_result *r)
{
    const struct bench_scen *s = p;
    struct waiters w;
    if (waiters_start(s, &w, r) != 0)
        return;
    double n = (double)s->n;
    const char *by = w.m0.cgroup >= 0 ? "memory cgroup"
                                      : "MemTotal - MemAvailable";
    double all = w.m0.cgroup >= 0 ? (double)(w.m1.cgroup - w.m0.cgroup)
                                  : (double)(w.m1.used - w.m0.used);
    r->ok = 1;
    r->bytes = all / n;
    r->live = (double)(w.maps1 - w.maps0); /* kept for the goals table */
    snprintf(r->note, sizeof r->note,
             "%zu tasks at %zu B: %s +%.0f B per task; this process "
             "RssAnon + pool_bytes +%.0f B per task; Shmem %+.0f B per task; "
             "kernel mappings %+ld", s->n, s->depth, by, all / n,
             waiters_own(&w) / n, (double)(w.m1.shmem - w.m0.shmem) / n,
             w.maps1 - w.maps0);
}

void bench_pgs_memory(const struct bench_scen *s, struct bench_result *r)
{
    bench_isolated(memory_child, (void *)s, r);
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
    struct bench_task bt = { .depth = 128 };
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
