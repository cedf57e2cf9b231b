/* SPDX-License-Identifier: MIT */
/*
 * The models demos/bench_switch measures itself: pagedstack, a copy-stack
 * runtime (libco share-stack / libaco style, on pgs__switch) and pthreads
 * handing off with a futex.  Boost.Context fcontext is in bench_boost.cpp.
 */
#ifndef BENCH_MODELS_H
#define BENCH_MODELS_H

#include "bench.h"

extern const struct bench_ring_ops bench_pgs_ops;
extern const struct bench_ring_ops bench_copy_ops;
extern const struct bench_ring_ops bench_pthread_ops;

/* Per task: create, first resume, destroy (BK_CREATE). */
void bench_pgs_create(const struct bench_scen *s, struct bench_result *r);
void bench_copy_create(const struct bench_scen *s, struct bench_result *r);
void bench_pthread_create(const struct bench_scen *s, struct bench_result *r);

/* One task grows to s->depth once (BK_GROWTH). */
void bench_pgs_growth(const struct bench_scen *s, struct bench_result *r);
void bench_copy_growth(const struct bench_scen *s, struct bench_result *r);

/* Memory (bench_memory.c): a million waiting tasks; a deep task that now
 * waits shallow. */
void bench_pgs_million(const struct bench_scen *s, struct bench_result *r);
void bench_pgs_shallow(const struct bench_scen *s, struct bench_result *r);
/* s->n tasks waiting at s->depth: memory per task as the memory cgroup
 * (else /proc/meminfo) counts it, and the kernel mappings added. */
void bench_pgs_memory(const struct bench_scen *s, struct bench_result *r);

/* The library's running totals for the calling thread: stack faults,
 * remaps, and the system calls it made (see bench_models.c). */
void bench_pgs_counters(double out[3]);
/* System calls made through the library's wrappers so far (process-wide). */
double bench_pgs_lib_calls(void);

/* --count: run `iters` round trips (or creates) of scenario s on
 * pagedstack in this process and print what the library counted; for a
 * cross-check under strace. */
int bench_pgs_count(const struct bench_scen *s, uint64_t iters);

/* The report (bench_report.c). */
struct bench_entry {
    const struct bench_scen *s;
    char model[16];
    struct bench_result r;
};
void bench_report(FILE *f, int markdown, const char *machine,
                  const char *about, const char *syscheck,
                  const struct bench_entry *e, size_t n,
                  const struct bench_entry *before, size_t nbefore);

#endif
