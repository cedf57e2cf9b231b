/* SPDX-License-Identifier: MIT */
/*
 * The models every demo compares, each written once (one file each) and
 * used by the switch benchmark and the memory comparison alike: a model
 * creates tasks, resumes them, lets them yield, and frees them.  A task
 * runs a job (job.c): the same body on every model, with the model's own
 * yield inlined into its waiting loop (MODEL_BODY) and its own resume
 * inlined into its round-robin loop (MODEL_RING), so that no model pays
 * an indirect call per switch that it would not pay in a user's program.
 */
#ifndef DEMO_MODEL_H
#define DEMO_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct row;

/* What a task does with its stack: go down, wait, maybe touch it again. */
struct job {
    size_t depth;     /* live stack bytes it waits at (0: a few frames) */
    int whole;        /* after each wait touch every 64th byte of it */
    int check;        /* fill it with a pattern, check it after each wait */
    long waits;       /* wait this many times, then return; 0: for ever */
    int finish;       /* return at once (create + finish) */
    size_t grow;      /* first grow this deep by recursion and come back */
    size_t spike;     /* the first task to start grows this deep once */
    size_t call;      /* first call a function with a buffer this large */
    size_t deep;      /* every deep_every-th task waits this deep */
    long deep_every;
    size_t stack;     /* models with stacks of a fixed size: this size (0:
                         the model's default, a guarded 8 MiB) */
    unsigned regions; /* pagedstack: pgs_config.regions (0: default) */
    long started;     /* tasks that started it so far: the next one's
                         number (its pattern, and whether it goes deep) */
    long finished;    /* tasks that returned from it */
};

/* Tasks that found their stack bytes changed after a wait. */
extern long job_corrupt;

/* The frames around the live buffer in every model (entry, body, waiter,
 * yield, switch), measured with the copy-stack model. */
#define JOB_FRAMES ((size_t)224)

typedef void job_wait_fn(struct job *j, volatile unsigned char *b, size_t n,
                         unsigned char mark);
/* Run the job in the task that starts it now; wait is its model's
 * waiting loop. */
void job_run(struct job *j, job_wait_fn *wait);
/* What the waiting loop does after each wait. */
void job_after_wait(struct job *j, volatile unsigned char *b, size_t n,
                    unsigned char mark);

#define MODEL_BODY(name, YIELD)                                              \
    static __attribute__((noinline)) void name##_wait(                       \
        struct job *j, volatile unsigned char *b, size_t n,                 \
        unsigned char mark)                                                  \
    {                                                                        \
        for (long k = 0; !j->waits || k < j->waits; k++) {                   \
            YIELD;                                                           \
            if (j->whole || j->check)                                        \
                job_after_wait(j, b, n, mark);                               \
        }                                                                    \
    }                                                                        \
    static void name(struct job *j)                                          \
    {                                                                        \
        job_run(j, name##_wait);                                             \
    }

/* int name(void **t, size_t n, size_t *pos, uint64_t k): k round trips,
 * round-robin from *pos; RESUME(task) is a statement that evaluates to
 * 0, or -1 after a failure. */
#define MODEL_RING(name, RESUME)                                             \
    static int name(void **t, size_t n, size_t *pos, uint64_t k)             \
    {                                                                        \
        size_t p = *pos;                                                     \
        for (; k; k--) {                                                     \
            if (__builtin_expect((RESUME(t[p])) != 0, 0))                    \
                return -1;                                                   \
            p = p + 1 == n ? 0 : p + 1;                                      \
        }                                                                    \
        *pos = p;                                                            \
        return 0;                                                            \
    }

struct model {
    const char *name;
    const char *about; /* what it is, a few words for the reports */
    size_t stack_max;  /* the most stack a task may use */
    /* Optional: set up / release the calling thread.  0 or -1 (errno). */
    int (*init)(const struct job *j);
    void (*fini)(void);
    /* A task that will run job j; not started. */
    void *(*create)(struct job *j);
    /* Run t until it yields or returns: 0, or -1 (errno). */
    int (*resume)(void *t);
    int (*ring)(void **t, size_t n, size_t *pos, uint64_t k);
    /* Free t, suspended or done: 0 or -1. */
    int (*destroy)(void *t);
    /* Optional: the library's counts (faults, remaps, system calls). */
    void (*counters)(double out[3]);
    /* Optional: the stack bytes t holds while it waits. */
    double (*held)(void *t);
    /* Optional: the model's own account of its memory, into a row. */
    void (*stats)(struct row *r);
};

/* The models of this program, NULL-terminated (models.c, or fcontext.cpp
 * in the Boost program), and the one named so. */
extern const struct model *const models[];
const struct model *model_find(const char *name);

#ifdef __cplusplus
}
#endif

#endif
