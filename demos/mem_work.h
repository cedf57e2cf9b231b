/* SPDX-License-Identifier: MIT */
/*
 * The workloads of the memory comparison: what every task does with its
 * stack before it waits.  The same task body runs on every model; only the
 * way it waits (mem_wait_fn) differs.
 */
#ifndef MEM_WORK_H
#define MEM_WORK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mem_work {
    const char *id;     /* "a".."d", as on the command line */
    const char *name;   /* short name for tables and the CSV */
    const char *what;   /* one line for people */
    size_t live;        /* stack bytes every (shallow) task keeps live while it waits */
    size_t call;        /* stack bytes of a call every task makes once, before waiting */
    size_t deep;        /* how deep the deep tasks go and wait (0: none) */
    long deep_every;    /* one task in this many is deep */
};

extern const struct mem_work mem_works[];
extern const int mem_nworks;

/* The workload with this id or name, or NULL. */
const struct mem_work *mem_work_find(const char *id);

/* The deepest stack any task of w uses, roughly (what a fixed stack must
 * hold). */
size_t mem_work_need(const struct mem_work *w);

/* Is task idx of w one of the deep ones? */
int mem_work_is_deep(const struct mem_work *w, long idx);

/* Suspend the calling task until it is resumed (or, for a thread, woken). */
typedef void mem_wait_fn(void *ctx);

/*
 * The body of task idx: make the call (if any), reach the workload's depth
 * with a known byte pattern on the stack, then wait twice (once for the
 * creation phase, once for the round) and return.  After every wait it
 * checks that its stack still holds its pattern; a mismatch is counted in
 * mem_corrupt (a switch that lost or mixed up stack bytes).
 */
void mem_work_run(const struct mem_work *w, long idx, mem_wait_fn *wait,
                  void *ctx);

extern long mem_corrupt;

#ifdef __cplusplus
}
#endif

#endif
