/* SPDX-License-Identifier: MIT */
/*
 * One cell of the memory comparison (one model, one workload, one N), run
 * in a process of its own.  Each model supplies the few operations below;
 * mem_cell_main does the rest: measure before, create every task, measure,
 * resume every task once, measure, finish, and print one RESULT line for
 * the parent (compare_memory.c) to read.
 */
#ifndef MEM_CELL_H
#define MEM_CELL_H

#include <stddef.h>
#include "mem_work.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why an operation failed: a status word the parent understands and a
 * note for people. */
struct mem_fail {
    const char *status; /* "mapcount", "eagain", "enomem", "error", ... */
    char note[240];
};

struct mem_model {
    const char *name;   /* as on the command line and in the CSV */
    size_t stack_size;  /* the most stack one task may use */
    /* Before the baseline: state that exists whatever N is, and arrays of
     * n handles (the demo's own bookkeeping, not the model's cost).
     * Returns 0, or -1 with *why filled. */
    int (*setup)(long n, const struct mem_work *w, struct mem_fail *why);
    /* Create task i and run it until it first waits. */
    int (*create)(long i, struct mem_fail *why);
    /* Resume task i once: it checks its stack and waits again. */
    int (*resume)(long i, struct mem_fail *why);
    /* Resume task i to completion, and free it where that is cheap
     * (separate stacks are left to the process's exit). */
    int (*finish)(long i, struct mem_fail *why);
    /* Optional: extra " key=value" pairs for the RESULT line, taken when
     * the memory is measured (pagedstack: its pgs_stats). */
    void (*stats)(char *buf, size_t len);
};

/* The workload of the running cell (for the models' task bodies). */
extern const struct mem_work *mem_cell_work;

/* Fill *why from errno after `what` failed: ENOMEM is told apart into
 * "mapcount" (the process is at vm.max_map_count) and "enomem". */
void mem_fail_errno(struct mem_fail *why, const char *what, int err);

/*
 * Run the cell that argv names, with one of models:
 *   PROG --cell MODEL WORKLOAD N [BUDGET_BYTES [RESERVE_BYTES]]
 * The cell stops creating tasks when the system's used memory has grown by
 * BUDGET_BYTES (default 16 GiB) or MemAvailable falls below RESERVE_BYTES
 * (default 2 GiB).  Returns the process's exit status.
 */
int mem_cell_main(const struct mem_model *const *models, int argc,
                  char **argv);

/* Is this a "--cell" command line? */
int mem_cell_wanted(int argc, char **argv);

/* The models (mem_pgs.c, mem_threads.c, mem_stacks.c, mem_copystack.c;
 * Boost's is a program of its own, mem_boost.cpp). */
extern const struct mem_model mem_model_pgs, mem_model_threads,
    mem_model_mmap, mem_model_malloc, mem_model_copystack;

#ifdef __cplusplus
}
#endif

#endif
