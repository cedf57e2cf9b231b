/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the core test suite (tests/check_core): patterns that a
 * task writes into its stack frames and checks later, a pseudo-random
 * order, a child process whose stderr and fate are captured, and the
 * registration functions of the topic files.
 *
 * Every test runs in a child that Check forks for it (the runner forces
 * CK_FORK), so each starts with a thread that has never run a task and
 * with the library's SIGSEGV handler not yet installed.  The runner itself
 * never calls the library.
 */
#ifndef CORE_UTIL_H
#define CORE_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>
#include "pagedstack.h"

/* Per-case timeout, seconds.  Generous: this is a slow VM, and no test
 * asserts anything about time. */
#define CORE_TIMEOUT 60

#define CORE_KIB ((size_t)1 << 10)
#define CORE_MIB ((size_t)1 << 20)
/* The kernel's page size: 4 KiB on x86-64, 4 to 64 KiB on aarch64. */
#define CORE_PAGE ((size_t)sysconf(_SC_PAGESIZE))

#define CORE_NOINLINE __attribute__((noinline, noclone))

/* The topic files, each adding its test cases to the suite. */
void core_add_api(Suite *s);
void core_add_setup(Suite *s);
void core_add_stacks(Suite *s);
void core_add_regions(Suite *s);
void core_add_isolation(Suite *s);
void core_add_syscalls(Suite *s);
void core_add_crashes(Suite *s);
void core_add_signals(Suite *s);
void core_add_threads(Suite *s);
void core_add_memory(Suite *s);
void core_add_internal(Suite *s);
void core_add_debug(Suite *s);
void core_add_resume(Suite *s);
void core_add_defects(Suite *s);

/* A test case with the suite's timeout, added to s. */
TCase *core_tcase(Suite *s, const char *name);

/* Pseudo-random numbers (xorshift64*), deterministic for a seed. */
uint64_t core_rand(uint64_t *state);
/* Shuffle a[0..n) with core_rand. */
void core_shuffle(size_t *a, size_t n, uint64_t *state);
/* A 64-bit mixer (splitmix64's finaliser): the pattern of word i of a
 * buffer with seed s is core_mix(s + i). */
uint64_t core_mix(uint64_t x);
void core_fill(uint64_t *w, size_t n, uint64_t seed);
/* Index of the first word that differs from the pattern, or -1. */
long core_check(const uint64_t *w, size_t n, uint64_t seed);

/*
 * A task that keeps a pattern in every frame of a recursion and checks it
 * on every resume.  It recurses through `depth` bytes of frames (at least
 * one frame), writing a pattern into each frame's local array on the way
 * down; at the bottom it yields `rounds` times, and after each resume walks
 * the whole chain of frames, checks every pattern and writes the next
 * round's; on the way up each frame checks its own again.  The values are
 * checked too: yield r hands out core_stask_ytag(id, r), and expects the
 * next resume to hand in core_stask_itag(id, r + 1); the task returns
 * core_stask_done(id).
 */
struct core_stask {
    unsigned id;
    size_t depth;      /* bytes of frames */
    int big;           /* 4 KiB frames (else 1 KiB) */
    unsigned rounds;   /* yields at the bottom */
    pgs_task *task;
    size_t frames;     /* frames it went through (set by the task) */
};

void *core_stask_fn(void *arg);
/* The recursion alone, for a task that runs it as part of its work (the
 * task's own pgs_task must be in s->task). */
void core_stask_descend(struct core_stask *s);
static inline void *core_stask_ytag(unsigned id, unsigned r)
{
    return (void *)(uintptr_t)(((uint64_t)id << 20) | (r << 1) | 1);
}
static inline void *core_stask_itag(unsigned id, unsigned r)
{
    return (void *)(uintptr_t)(((uint64_t)id << 20) | (r << 1) | 0x80000);
}
static inline void *core_stask_done(unsigned id)
{
    return (void *)(uintptr_t)(((uint64_t)id << 20) | 0xfffff);
}

/* Create the tasks of v[0..n) (pgs_create must succeed), then resume all
 * of them rounds + 1 times, in a new pseudo-random order every round,
 * checking every value and state; finally destroy them. */
void core_stasks_run(struct core_stask *v, size_t n, uint64_t seed);
/* One resume of s as core_stasks_run does it: resume number k (from 1). */
void core_stask_resume(struct core_stask *s, unsigned k);

/*
 * Run fn(arg) in a child process of our own whose stderr goes to a pipe;
 * the child _exits 0 if fn returns.  Inside fn, report failure with
 * _exit(code), not ck_assert (Check does not know this child).
 */
struct core_child {
    int status;        /* from waitpid */
    char err[65536];   /* the child's stderr, NUL-terminated */
    size_t errlen;
};
void core_run_child(void (*fn)(void *), void *arg, struct core_child *c);
int core_child_segv(const struct core_child *c);

/* No core files from tests that are meant to crash. */
void core_no_core_dumps(void);

/* Lines in /proc/self/maps. */
long core_maps_lines(void);

/* A bounded recursion through `bytes` of 1 KiB frames that touches every
 * frame; returns a value that depends on all of them. */
long core_recurse(size_t bytes);
/*
 * Bytes of 1 KiB frames (core_recurse, core_stask, and the like) that use
 * as much stack as `bytes` of them do in an ordinary build.
 * AddressSanitizer puts redzones around every local array, so the same
 * recursion goes deeper; tests that must stay within a limit scale their
 * depth by the ratio measured here.  Elsewhere it returns bytes.
 */
size_t core_depth(size_t bytes);
/* A recursion that never ends (until the stack does). */
long core_runaway(long n);

/* Task functions: yield arg on every resume, never finish; return arg. */
void *core_yield_forever(void *arg);
void *core_return_arg(void *arg);

/* The running task's lowest mapped stack address: the first store below
 * it is stack growth (a stack fault). */
char *core_mapped_bottom(void);

/* The ThreadSanitizer fiber the thread runs as (NULL in other builds). */
void *core_tsan_fiber(void);

/* Stats of the calling thread (asserts pgs_stats succeeds). */
struct pgs_stats core_stats(void);

#endif
