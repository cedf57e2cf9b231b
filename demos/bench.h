/* SPDX-License-Identifier: MIT */
/*
 * The switch benchmark: what every model shares.  Compiled as C into
 * demos/bench_switch (pagedstack, copy-stack, pthread) and as C++ into
 * demos/bench_boost (Boost.Context fcontext), so that both programs run the
 * same scenarios, the same task body and the same timing, and print rows in
 * the same CSV format (demos/run_bench.sh merges them).
 *
 * A round trip is one resume and the yield that ends it: the scheduler
 * resumes task i, the task runs until it yields back.  With several tasks
 * the scheduler resumes them round-robin, so every round trip brings a
 * different task in: from the tasks' point of view it is one task switch.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_KIB ((size_t)1 << 10)
#define BENCH_MIB ((size_t)1 << 20)

/* What kind of measurement a scenario is. */
enum bench_kind {
    BK_HOT,      /* one task, resumed again and again (keeps its region) */
    BK_RR,       /* n tasks round-robin at a live depth */
    BK_REGIONS,  /* BK_RR on pagedstack with pgs_config.regions set */
    BK_GROWTH,   /* create a task and let it grow to `depth` once */
    BK_CREATE,   /* create + first resume + destroy, per task */
    BK_THREADS,  /* `threads` threads, each running its own BK_RR */
    BK_MILLION,  /* a million waiting shallow tasks: memory */
    BK_SHALLOW,  /* a task that went deep and waits shallow: what it holds */
    BK_MEMORY,   /* n waiting tasks at a depth: memory per task, all in */
    BK_CLIFF     /* BK_RR where the first task went s->spike deep once */
};

struct bench_scen {
    char name[48];
    int kind;          /* enum bench_kind */
    size_t n;          /* tasks (per thread) */
    size_t depth;      /* live stack bytes the task body goes down to */
    int whole;         /* touch the whole live stack on every resume */
    unsigned regions;  /* pgs_config.regions; 0 = the library's default */
    int threads;       /* BK_THREADS: threads running at once */
    size_t spike;      /* BK_RR: the first task goes this deep once first */
    int group;         /* scenarios with the same group (not 0) are
                          measured in the same interleaved rounds */
    int full_only;     /* only with --full or when named */
    int quick;         /* part of the --quick smoke run */
    char skip[96];     /* why it is not run ("" = it is) */
};

/* What one measurement of one model gave.  Figures are per round trip
 * (per task for BK_CREATE and BK_GROWTH); -1 where not measured. */
struct bench_result {
    int ok;            /* 1 measured; 0 not (note says why) */
    double ns;         /* median ns per round trip (or per task) */
    double faults;     /* pagedstack: stack faults (SIGSEGVs it served) */
    double remaps;     /* pagedstack: switches that changed a mapping */
    double syscalls;   /* pagedstack: its system calls (bench_models.c) */
    double live;       /* live stack bytes at a switch (copy-stack) */
    double bytes;      /* memory scenarios: the headline figure */
    double minflt;     /* kernel page faults (getrusage), every model */
    double spread;     /* (slowest - fastest) / median of the rounds */
    uint64_t iters;    /* round trips per timed run */
    char note[256];
};

/* One row of results, as the CSV stores it. */
struct bench_row {
    char scen[48];
    char model[16];
    struct bench_result r;
};

/* Timing settings: each timed run lasts about target_ns; a measurement of
 * one model is the median of `runs` runs, and the figure reported is the
 * median of `rounds` such measurements, taken in rounds that interleave
 * the models (bench_switch.c), so that a disturbance of the machine falls
 * on all of them alike. */
struct bench_timing {
    double target_ns;
    int runs;
    int rounds;
};
extern struct bench_timing bench_timing;

/* Scenarios, in the order they run.  Returns how many were stored. */
size_t bench_scenarios(struct bench_scen *out, size_t max);
/* Whether s is selected by the patterns (fnmatch; none = the default set:
 * everything but the full-only ones, or with quick the smoke set). */
int bench_selected(const struct bench_scen *s, char **pats, int npats,
                   int quick, int full);
/* The BK_RR scenario a BK_REGIONS or BK_THREADS one is the variant of. */
void bench_rr_name(const struct bench_scen *s, char *out, size_t len);
const struct bench_scen *bench_find(const struct bench_scen *all, size_t n,
                                    const char *name);
/* "128", "1k", "64k", "1m", "7m" */
void bench_size_name(size_t bytes, char *out, size_t len);

/* Clock. */
double bench_now_ns(void);

/*
 * A ring of tasks of one model: setup creates s->n tasks and runs each once
 * (down to its depth), run does `iters` round trips round-robin, teardown
 * frees it all.  counters, if not NULL, returns running totals of stack
 * faults, remaps and system calls (pagedstack only).
 */
struct bench_ring_ops {
    const char *model;
    void *(*setup)(const struct bench_scen *s, struct bench_result *r);
    int (*run)(void *ring, uint64_t iters); /* 0, or -1 after a failure */
    void (*teardown)(void *ring);
    void (*counters)(void *ring, double out[3]);
    double (*live)(void *ring); /* live bytes measured, or -1 */
};

/*
 * Every measurement runs in a child process (a fork of the benchmark), in a
 * fresh thread there: each starts from a clean library state (pgs_config is
 * per thread), and if a model crashes or hangs the benchmark reports it and
 * goes on.  The child's result comes back through shared memory.
 */

/* Measure one ring scenario (BK_HOT, BK_RR, BK_REGIONS). */
void bench_ring(const struct bench_ring_ops *ops, const struct bench_scen *s,
                struct bench_result *r);
/* BK_THREADS: s->threads fresh threads, each with its own ring, at once.
 * ns is the mean over threads of each thread's median. */
void bench_ring_threads(const struct bench_ring_ops *ops,
                        const struct bench_scen *s, struct bench_result *r);
/* Time `op` (one task's worth of work) per call, median over runs; for
 * scenarios whose single operation is long (growth).  op returns 0, or -1
 * after filling r->note. */
typedef int (*bench_op_fn)(void *ctx, uint64_t count);
void bench_ops(bench_op_fn op, void *ctx, const struct bench_scen *s,
               struct bench_result *r, uint64_t fixed_count,
               void (*counters)(void *ctx, double out[3]));
/* Run fn(arg, r) in a child process, in a fresh thread; r is filled with
 * what it reports, or says how the child died. */
void bench_isolated(void (*fn)(void *arg, struct bench_result *r), void *arg,
                    struct bench_result *r);

void bench_result_init(struct bench_result *r);
void bench_progress(const char *scen, const char *model,
                    const struct bench_result *r);

/* CSV: the header line, one row, and reading rows back. */
void bench_csv_header(FILE *f);
void bench_csv_row(FILE *f, const struct bench_scen *s, const char *model,
                   const struct bench_result *r);
/* Parse one line written by bench_csv_row (the line is modified); returns
 * 0, or -1 for the header or a line that is not a row. */
int bench_csv_parse(char *line, struct bench_row *row);

/* The machine, for the top of every report. */
void bench_machine(char *out, size_t len);
/* The 1-minute load average (other processes disturb the timings). */
double bench_load(void);

/* ------------------------------------------------------------------------
 * The task body every model runs.
 *
 * It goes down to its live depth once (an alloca of depth minus what the
 * frames around it take, written every 64 bytes from the top down, the
 * order in which a stack grows), then calls a waiter that loops for ever:
 * YIELD, and when resumed touch either just its own frames ("top": the
 * waiter's and the yield's, at the stack pointer) or the whole live buffer
 * ("whole": read and write every 64th byte).  The body's own frame, at the
 * top of the stack above the buffer, is not touched again.  Tasks return
 * only in the create scenario (finish); the others are destroyed while
 * suspended.  With a spike, the first task to start first grows its stack
 * that deep by recursion and comes back (the no-cliff scenario).
 * ------------------------------------------------------------------------ */
struct bench_task {
    size_t depth;
    int whole;
    int grow;     /* grow by recursion, come back, then wait (BK_GROWTH) */
    int finish;   /* return at once: the task finishes (BK_CREATE) */
    size_t spike; /* the next task to start grows this deep once first */
};

/* Bytes the frames below and above the buffer take in every model (entry,
 * body, waiter, yield and switch frames), measured with the copy-stack
 * model. */
#define BENCH_FRAMES ((size_t)160)

static inline size_t bench_buffer_bytes(size_t depth)
{
    return depth > BENCH_FRAMES ? depth - BENCH_FRAMES : 0;
}

/*
 * Growth the way recursion does it: frames of about 1 KiB, each written
 * every 64 bytes from its top down before the next call, until the stack
 * is `bytes` deeper than where it started; then all of them return.
 */
static __attribute__((noinline, unused)) void bench_recurse(char *stop)
{
    volatile char frame[1000];
    for (size_t i = sizeof frame; i > 0;) {
        i = i > 64 ? i - 64 : 0;
        frame[i] = 1;
    }
    if ((char *)frame > stop)
        bench_recurse(stop);
    frame[0]++; /* after the call: no tail call */
}

static __attribute__((noinline, unused)) void bench_grow(size_t bytes)
{
    bench_recurse((char *)__builtin_frame_address(0) - bytes);
}

/* Define `static void name(struct bench_task *bt)`, the task body of a
 * model whose yield is the statement YIELD. */
#define BENCH_DEFINE_TASK(name, YIELD)                                      \
    static __attribute__((noinline)) void name##_wait(                      \
        const struct bench_task *bt, volatile char *b, size_t n)            \
    {                                                                       \
        for (;;) {                                                          \
            YIELD;                                                          \
            if (bt->whole)                                                  \
                for (size_t i = 0; i < n; i += 64)                          \
                    b[i]++;                                                 \
        }                                                                   \
    }                                                                       \
    static __attribute__((noinline)) void name(struct bench_task *bt)       \
    {                                                                       \
        if (bt->finish)                                                     \
            return;                                                         \
        if (bt->spike) {                                                    \
            size_t spike = bt->spike;                                       \
            bt->spike = 0; /* only the first task */                        \
            bench_grow(spike);                                              \
        }                                                                   \
        if (bt->grow) {                                                     \
            /* BK_GROWTH: grow, come back, wait shallow. */                 \
            bench_grow(bench_buffer_bytes(bt->depth));                      \
            for (;;) {                                                      \
                YIELD;                                                      \
            }                                                               \
        }                                                                   \
        size_t n = bench_buffer_bytes(bt->depth);                           \
        volatile char *b = (volatile char *)__builtin_alloca(n);            \
        for (size_t i = n; i > 0;) {                                        \
            i = i > 64 ? i - 64 : 0;                                        \
            b[i] = 1;                                                       \
        }                                                                   \
        name##_wait(bt, b, n);                                              \
    }

#ifdef __cplusplus
}
#endif

#endif
