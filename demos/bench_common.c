/* SPDX-License-Identifier: MIT */
/*
 * The switch benchmark's shared half: the scenarios, the timing, the
 * isolation of every measurement in a child process, and the CSV rows.
 * Linked into demos/bench_switch and demos/bench_boost alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

struct bench_timing bench_timing = { 20e6, 3, 5 };

/* A measurement that takes longer than this is reported as hung. */
#define BENCH_CHILD_TIMEOUT 240

/* Everything one model may hold at once in one scenario: tasks times live
 * depth.  10k tasks at 1 MiB would be 10 GiB per model. */
#define BENCH_MEMORY_BUDGET ((double)(2u << 30))

double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * The clock a measurement is timed with.  One thread's scenarios use the
 * CPU time of the whole process (user and system: its system calls, page
 * faults and signal deliveries count, and so do a pthread model's worker
 * threads), so that the time other processes of a shared machine take
 * from it does not count; the thread scenarios use the wall clock, since
 * what they measure includes one thread waiting for the other's locks.
 */
static double clock_ns(int wall)
{
    struct timespec ts;
    if (wall)
        return bench_now_ns();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

void bench_size_name(size_t b, char *out, size_t len)
{
    if (b >= BENCH_MIB && b % BENCH_MIB == 0)
        snprintf(out, len, "%zum", b / BENCH_MIB);
    else if (b >= BENCH_KIB && b % BENCH_KIB == 0)
        snprintf(out, len, "%zuk", b / BENCH_KIB);
    else
        snprintf(out, len, "%zu", b);
}

static void count_name(size_t n, char *out, size_t len)
{
    if (n >= 1000 && n % 1000 == 0)
        snprintf(out, len, "%zuk", n / 1000);
    else
        snprintf(out, len, "%zu", n);
}

/* ---- scenarios ---------------------------------------------------------- */

static const size_t rr_counts[] = { 2, 100, 10000 };
static const size_t rr_depths[] = { 128, 1 << 10, 4 << 10, 64 << 10,
                                    1 << 20, 4 << 20 };
#define N_COUNTS (sizeof rr_counts / sizeof rr_counts[0])
#define N_DEPTHS (sizeof rr_depths / sizeof rr_depths[0])
static const unsigned region_counts[] = { 1, 2, 4, 16 };

static struct bench_scen *add(struct bench_scen *out, size_t *n, size_t max,
                              int kind)
{
    if (*n >= max)
        return NULL;
    struct bench_scen *s = &out[(*n)++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    return s;
}

static void rr_name(char *out, size_t len, const char *prefix, size_t n,
                    size_t depth, int whole)
{
    char nn[24], dd[24];
    count_name(n, nn, sizeof nn);
    bench_size_name(depth, dd, sizeof dd);
    snprintf(out, len, "%s%s-%s-%s", prefix, nn, dd, whole ? "whole" : "top");
}

static int is_quick(const char *name)
{
    static const char *const quick[] = {
        "hot", "rr-2-1k-top", "rr-2-1m-top", "rr-100-64k-whole",
        "rr-10k-1k-top", "regions-1-2-1k-top", "regions-1-2-1m-top",
        "growth-7m", "create", "threads-1-100-1k-top",
        "threads-2-100-1k-top", "cliff-0-100-1k-top", "cliff-64k-100-1k-top",
        "shallow-after-deep", NULL
    };
    for (int i = 0; quick[i]; i++)
        if (strcmp(quick[i], name) == 0)
            return 1;
    return 0;
}

size_t bench_scenarios(struct bench_scen *out, size_t max)
{
    size_t n = 0;
    struct bench_scen *s;

    if ((s = add(out, &n, max, BK_HOT))) {
        strcpy(s->name, "hot");
        s->n = 1;
        s->depth = 128;
    }
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; i < N_COUNTS; i++)
            for (size_t j = 0; j < N_DEPTHS; j++) {
                if (!(s = add(out, &n, max, BK_RR)))
                    break;
                s->n = rr_counts[i];
                s->depth = rr_depths[j];
                s->whole = w;
                rr_name(s->name, sizeof s->name, "rr-", s->n, s->depth, w);
                double total = (double)s->n * (double)s->depth;
                if (total > BENCH_MEMORY_BUDGET)
                    snprintf(s->skip, sizeof s->skip,
                             "%zu tasks x %zu MiB = %.0f GiB of live stack "
                             "per model (budget 2 GiB)",
                             s->n, s->depth >> 20, total / (1u << 30));
            }
    /* The region sweep: the round-robins at 1 KiB and 64 KiB, and the two
     * deep tasks that alternate (1 MiB, 4 MiB); tasks that touch their top
     * frames only (what a region costs, not what touching a stack does). */
    for (size_t k = 0; k < sizeof region_counts / sizeof region_counts[0]; k++)
        for (int w = 0; w < 1; w++)
            for (size_t i = 0; i < 3; i++)
                for (size_t j = 0; j < 4; j++) {
                    static const size_t depths[] = { 1 << 10, 64 << 10,
                                                     1 << 20, 4 << 20 };
                    if (j >= 2 && rr_counts[i] != 2)
                        continue;
                    if (!(s = add(out, &n, max, BK_REGIONS)))
                        break;
                    char prefix[24];
                    s->regions = region_counts[k];
                    s->n = rr_counts[i];
                    s->depth = depths[j];
                    s->whole = w;
                    snprintf(prefix, sizeof prefix, "regions-%u-", s->regions);
                    rr_name(s->name, sizeof s->name, prefix, s->n, s->depth, w);
                }
    if ((s = add(out, &n, max, BK_GROWTH))) {
        strcpy(s->name, "growth-7m");
        s->n = 1;
        s->depth = 7 << 20;
    }
    if ((s = add(out, &n, max, BK_CREATE))) {
        strcpy(s->name, "create");
        s->n = 1;
        s->depth = 0;
    }
    /* One thread and two, shallow tasks and deep ones; the two thread
     * counts of a pair are measured in the same rounds. */
    int group = 0;
    for (size_t j = 0; j < 2; j++)
        for (int w = 0; w < 2; w++) {
            group++;
            for (int t = 1; t <= 2; t++) {
                static const size_t depths[] = { 1 << 10, 1 << 20 };
                if (!(s = add(out, &n, max, BK_THREADS)))
                    break;
                char prefix[24];
                s->threads = t;
                s->n = 100;
                s->depth = depths[j];
                s->whole = w;
                s->group = group;
                snprintf(prefix, sizeof prefix, "threads-%d-", t);
                rr_name(s->name, sizeof s->name, prefix, s->n, s->depth, w);
            }
        }
    /* No cliff: 100 shallow tasks, of which the first went 64 KiB deep
     * once before it came back to wait, against the same without that;
     * with the library's default regions and with one region. */
    for (int k = 0; k < 2; k++) {
        group++;
        for (int spike = 0; spike < 2; spike++) {
            if (!(s = add(out, &n, max, BK_CLIFF)))
                break;
            char prefix[24];
            s->n = 100;
            s->depth = 1 << 10;
            s->spike = spike ? (size_t)64 << 10 : 0;
            s->regions = k ? 1 : 0;
            s->group = group;
            snprintf(prefix, sizeof prefix, "cliff-%s%s-", k ? "r1-" : "",
                     spike ? "64k" : "0");
            rr_name(s->name, sizeof s->name, prefix, s->n, s->depth, 0);
        }
    }
    if ((s = add(out, &n, max, BK_MEMORY))) {
        strcpy(s->name, "memory-100k-1k");
        s->n = 100000;
        s->depth = 1 << 10;
    }
    if ((s = add(out, &n, max, BK_SHALLOW))) {
        strcpy(s->name, "shallow-after-deep");
        s->n = 2;
        s->depth = 1 << 20;
        s->regions = 1;
    }
    if ((s = add(out, &n, max, BK_MILLION))) {
        strcpy(s->name, "million");
        s->n = 1000000;
        s->depth = 700;
        s->full_only = 1;
    }
    for (size_t i = 0; i < n; i++)
        out[i].quick = is_quick(out[i].name);
    return n;
}

int bench_selected(const struct bench_scen *s, char **pats, int npats,
                   int quick, int full)
{
    if (npats == 0) {
        if (quick)
            return s->quick;
        return !s->full_only || full;
    }
    for (int i = 0; i < npats; i++)
        if (fnmatch(pats[i], s->name, 0) == 0)
            return 1;
    return 0;
}

void bench_rr_name(const struct bench_scen *s, char *out, size_t len)
{
    if (s->kind == BK_REGIONS || s->kind == BK_THREADS)
        rr_name(out, len, "rr-", s->n, s->depth, s->whole);
    else
        snprintf(out, len, "%s", s->name);
}

const struct bench_scen *bench_find(const struct bench_scen *all, size_t n,
                                    const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].name, name) == 0)
            return &all[i];
    return NULL;
}

/* ---- results ------------------------------------------------------------ */

void bench_result_init(struct bench_result *r)
{
    memset(r, 0, sizeof *r);
    r->ns = r->faults = r->remaps = r->syscalls = r->live = r->bytes = -1;
    r->minflt = r->spread = -1;
}

void bench_progress(const char *scen, const char *model,
                    const struct bench_result *r)
{
    static double t0;
    if (t0 == 0)
        t0 = bench_now_ns();
    fprintf(stderr, "[%6.1fs] %-26s %-11s ", (bench_now_ns() - t0) / 1e9,
            scen, model);
    if (!r->ok) {
        fprintf(stderr, "-- %s\n", r->note);
        return;
    }
    if (r->ns >= 0)
        fprintf(stderr, "%12.1f ns +-%2.0f%%", r->ns,
                r->spread >= 0 ? r->spread * 50 : 0);
    if (r->faults >= 0)
        fprintf(stderr, "  faults %.3f remaps %.3f sys %.3f", r->faults,
                r->remaps, r->syscalls);
    if (r->bytes >= 0)
        fprintf(stderr, "  %.0f bytes", r->bytes);
    if (r->note[0])
        fprintf(stderr, "  (%s)", r->note);
    fputc('\n', stderr);
}

/* ---- isolation ---------------------------------------------------------- */

struct thread_call {
    void (*fn)(void *, struct bench_result *);
    void *arg;
    struct bench_result *r;
};

static void *thread_main(void *p)
{
    struct thread_call *c = p;
    c->fn(c->arg, c->r);
    return NULL;
}

void bench_isolated(void (*fn)(void *arg, struct bench_result *r), void *arg,
                    struct bench_result *r)
{
    struct bench_result *shared =
        mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    bench_result_init(r);
    if (shared == MAP_FAILED) {
        snprintf(r->note, sizeof r->note, "mmap: %s", strerror(errno));
        return;
    }
    bench_result_init(shared);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->note, sizeof r->note, "fork: %s", strerror(errno));
        munmap(shared, sizeof *shared);
        return;
    }
    if (pid == 0) {
        alarm(BENCH_CHILD_TIMEOUT);
        struct thread_call c = { fn, arg, shared };
        pthread_attr_t a;
        pthread_t t;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, (size_t)16 << 20);
        if (pthread_create(&t, &a, thread_main, &c) != 0) {
            snprintf(shared->note, sizeof shared->note,
                     "pthread_create failed");
            _exit(1);
        }
        pthread_join(t, NULL);
        fflush(NULL);
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    *r = *shared;
    if (!r->ok && !r->note[0])
        snprintf(r->note, sizeof r->note, "the measurement gave no result");
    if (WIFSIGNALED(st)) {
        r->ok = 0;
        snprintf(r->note, sizeof r->note,
                 WTERMSIG(st) == SIGALRM ? "HUNG: killed after %d s"
                                         : "CRASHED: killed by signal %d (%s)",
                 WTERMSIG(st) == SIGALRM ? BENCH_CHILD_TIMEOUT : WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    } else if (WIFEXITED(st) && WEXITSTATUS(st) != 0 && r->ok) {
        r->ok = 0;
        snprintf(r->note, sizeof r->note, "child exited with status %d",
                 WEXITSTATUS(st));
    }
    munmap(shared, sizeof *shared);
}

/* ---- timing ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Kernel page faults of the calling thread so far (minor: no I/O here). */
static double thread_minflt(void)
{
    struct rusage u;
    return getrusage(RUSAGE_THREAD, &u) == 0 ? (double)u.ru_minflt : -1;
}

/*
 * Time run(ctx, k) on clock_ns(wall): find k such that one timed run lasts
 * about the target, then take the median of bench_timing.runs runs.  The counters cover the
 * calibration and the timed runs (after a warm-up of `warm` round trips);
 * per round trip they are steady, so more round trips only sharpen them.
 */
static int measure(int (*run)(void *, uint64_t), void *ctx, int wall,
                   uint64_t warm,
                   void (*counters)(void *, double[3]), struct bench_result *r,
                   uint64_t *total_out)
{
    double c0[3] = { 0 }, c1[3] = { 0 };
    if (warm && run(ctx, warm) != 0)
        return -1;
    if (counters)
        counters(ctx, c0);
    double m0 = thread_minflt();
    uint64_t total = 0, k = 1;
    double t, target = bench_timing.target_ns;
    for (;;) {
        double t0 = clock_ns(wall);
        if (run(ctx, k) != 0)
            return -1;
        t = clock_ns(wall) - t0;
        total += k;
        if (t >= target / 8 || k >= ((uint64_t)1 << 40))
            break;
        k *= t < target / 800 ? 32 : 4;
    }
    uint64_t iters = (uint64_t)((double)k * target / (t > 1 ? t : 1));
    if (iters < 1)
        iters = 1;
    double v[64];
    int runs = bench_timing.runs > 64 ? 64 : bench_timing.runs;
    for (int i = 0; i < runs; i++) {
        double t0 = clock_ns(wall);
        if (run(ctx, iters) != 0)
            return -1;
        v[i] = (clock_ns(wall) - t0) / (double)iters;
        total += iters;
    }
    r->ns = median(v, runs);
    r->spread = (v[runs - 1] - v[0]) / r->ns;
    r->iters = iters;
    r->minflt = (thread_minflt() - m0) / (double)total;
    if (counters) {
        counters(ctx, c1);
        r->faults = (c1[0] - c0[0]) / (double)total;
        r->remaps = (c1[1] - c0[1]) / (double)total;
        r->syscalls = (c1[2] - c0[2]) / (double)total;
    }
    if (total_out)
        *total_out = total;
    return 0;
}

struct ring_call {
    const struct bench_ring_ops *ops;
    const struct bench_scen *s;
};

static void ring_child(void *p, struct bench_result *r)
{
    struct ring_call *c = p;
    const struct bench_ring_ops *ops = c->ops;
    void *ring = ops->setup(c->s, r);
    if (!ring)
        return;
    /* One round so that every task has been switched out and in again. */
    if (measure(ops->run, ring, 0, c->s->n, ops->counters, r, NULL) == 0) {
        r->ok = 1;
        if (ops->live)
            r->live = ops->live(ring);
    }
    ops->teardown(ring);
}

void bench_ring(const struct bench_ring_ops *ops, const struct bench_scen *s,
                struct bench_result *r)
{
    struct ring_call c = { ops, s };
    bench_isolated(ring_child, &c, r);
}

/* ---- several threads at once -------------------------------------------- */

struct par_thread {
    const struct bench_ring_ops *ops;
    const struct bench_scen *s;
    pthread_barrier_t *bar;
    struct bench_result r;
    uint64_t total;
};

static void *par_main(void *p)
{
    struct par_thread *pt = p;
    bench_result_init(&pt->r);
    void *ring = pt->ops->setup(pt->s, &pt->r);
    pthread_barrier_wait(pt->bar); /* all set up */
    if (ring && measure(pt->ops->run, ring, 1, pt->s->n, pt->ops->counters,
                        &pt->r, &pt->total) == 0)
        pt->r.ok = 1;
    pthread_barrier_wait(pt->bar); /* all measured */
    if (ring)
        pt->ops->teardown(ring);
    return NULL;
}

static void threads_child(void *p, struct bench_result *r)
{
    struct ring_call *c = p;
    int n = c->s->threads;
    struct par_thread pt[16];
    pthread_t th[16];
    pthread_barrier_t bar;
    if (n < 1 || n > 16) {
        snprintf(r->note, sizeof r->note, "bad thread count %d", n);
        return;
    }
    pthread_barrier_init(&bar, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        pt[i] = (struct par_thread){ c->ops, c->s, &bar, { 0 }, 0 };
        if (pthread_create(&th[i], NULL, par_main, &pt[i]) != 0) {
            snprintf(r->note, sizeof r->note, "pthread_create failed");
            _exit(1); /* the others wait at the barrier for ever */
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    /* Faults and remaps are counted per thread; the system call counter
     * is process-wide, so each thread's delta saw all threads' calls:
     * divide it by the round trips of all threads. */
    double ns = 0, faults = 0, remaps = 0, sys = 0, minflt = 0;
    for (int i = 0; i < n; i++) {
        if (!pt[i].r.ok) {
            *r = pt[i].r;
            return;
        }
        ns += pt[i].r.ns;
        minflt += pt[i].r.minflt;
        faults += pt[i].r.faults;
        remaps += pt[i].r.remaps;
        sys += pt[i].r.syscalls;
    }
    *r = pt[0].r;
    r->ns = ns / n;
    r->minflt = minflt / n;
    if (r->faults >= 0) {
        r->faults = faults / n;
        r->remaps = remaps / n;
        r->syscalls = sys / n / n;
    }
    snprintf(r->note, sizeof r->note, "mean of %d threads running at once", n);
}

void bench_ring_threads(const struct bench_ring_ops *ops,
                        const struct bench_scen *s, struct bench_result *r)
{
    struct ring_call c = { ops, s };
    bench_isolated(threads_child, &c, r);
}

/* ---- operations (create, growth) ---------------------------------------- */

struct ops_call {
    bench_op_fn op;
    void *ctx;
    const struct bench_scen *s;
    uint64_t fixed;
    void (*counters)(void *, double[3]);
};

static int op_run(void *p, uint64_t k)
{
    struct ops_call *c = p;
    return c->op(c->ctx, k);
}

static void op_counters(void *p, double out[3])
{
    struct ops_call *c = p;
    c->counters(c->ctx, out);
}

void bench_ops(bench_op_fn op, void *ctx, const struct bench_scen *s,
               struct bench_result *r, uint64_t fixed,
               void (*counters)(void *ctx, double out[3]))
{
    struct ops_call c = { op, ctx, s, fixed, counters };
    if (!fixed) {
        if (measure(op_run, &c, 0, 1, counters ? op_counters : NULL, r,
                    NULL) == 0)
            r->ok = 1;
        return;
    }
    /* Long operations: each timed run is `fixed` operations. */
    double c0[3] = { 0 }, c1[3] = { 0 }, v[64];
    int runs = bench_timing.runs > 64 ? 64 : bench_timing.runs;
    if (op(ctx, 1) != 0) /* warm-up */
        return;
    if (counters)
        counters(ctx, c0);
    double m0 = thread_minflt();
    for (int i = 0; i < runs; i++) {
        double t0 = clock_ns(0);
        if (op(ctx, fixed) != 0)
            return;
        v[i] = (clock_ns(0) - t0) / (double)fixed;
    }
    r->ns = median(v, runs);
    r->spread = (v[runs - 1] - v[0]) / r->ns;
    r->iters = fixed;
    r->minflt = (thread_minflt() - m0) / ((double)fixed * runs);
    if (counters) {
        counters(ctx, c1);
        double total = (double)fixed * runs;
        r->faults = (c1[0] - c0[0]) / total;
        r->remaps = (c1[1] - c0[1]) / total;
        r->syscalls = (c1[2] - c0[2]) / total;
    }
    r->ok = 1;
}

/* ---- CSV ---------------------------------------------------------------- */

void bench_csv_header(FILE *f)
{
    fprintf(f, "scenario,model,tasks,depth,variant,regions,threads,ns,faults,"
               "remaps,syscalls,live,bytes,iters,spread,minflt,note\n");
}

void bench_csv_row(FILE *f, const struct bench_scen *s, const char *model,
                   const struct bench_result *r)
{
    fprintf(f, "%s,%s,%zu,%zu,%s,%u,%d,", s->name, model, s->n, s->depth,
            s->whole ? "whole" : "top", s->regions, s->threads);
    if (r->ok)
        fprintf(f, "%.2f,%.4f,%.4f,%.4f,%.0f,%.0f,%llu,%.3f,%.4f,", r->ns,
                r->faults, r->remaps, r->syscalls, r->live, r->bytes,
                (unsigned long long)r->iters, r->spread, r->minflt);
    else
        fprintf(f, ",,,,,,,,,");
    fputc('"', f);
    for (const char *p = r->note; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fprintf(f, "%s\"\n", r->ok ? "" : (r->note[0] ? "" : "not run"));
}

/* Split one CSV line into at most max fields (quotes as bench_csv_row
 * writes them).  Returns the number of fields. */
static int csv_split(char *line, char **field, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p;
            field[n++] = w;
            for (;;) {
                if (!*p || *p == '\n')
                    break;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            *w = '\0';
        } else {
            field[n++] = p;
            p += strcspn(p, ",\n");
        }
        if (*p != ',') {
            *p = '\0';
            break;
        }
        *p++ = '\0';
    }
    return n;
}

int bench_csv_parse(char *line, struct bench_row *w)
{
    char *fl[18];
    if (strncmp(line, "scenario,", 9) == 0 || csv_split(line, fl, 18) < 17)
        return -1;
    bench_result_init(&w->r);
    snprintf(w->scen, sizeof w->scen, "%s", fl[0]);
    snprintf(w->model, sizeof w->model, "%s", fl[1]);
    w->r.ok = fl[7][0] != '\0';
    if (w->r.ok) {
        w->r.ns = atof(fl[7]);
        w->r.faults = atof(fl[8]);
        w->r.remaps = atof(fl[9]);
        w->r.syscalls = atof(fl[10]);
        w->r.live = atof(fl[11]);
        w->r.bytes = atof(fl[12]);
        w->r.iters = strtoull(fl[13], NULL, 10);
        w->r.spread = atof(fl[14]);
        w->r.minflt = atof(fl[15]);
    }
    snprintf(w->r.note, sizeof w->r.note, "%s", fl[16]);
    return 0;
}

/* ---- the machine -------------------------------------------------------- */

double bench_load(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

void bench_machine(char *out, size_t len)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    c += 1 + strspn(c + 1, " \t");
                    c[strcspn(c, "\n")] = '\0';
                    snprintf(model, sizeof model, "%s", c);
                }
                break;
            }
        }
        fclose(f);
    }
    struct utsname u;
    if (uname(&u) != 0)
        strcpy(u.release, "unknown");
    snprintf(out, len, "cpu: %s; nproc: %ld; kernel: %s %s; compiler: %s",
             model, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release,
             __VERSION__);
}
