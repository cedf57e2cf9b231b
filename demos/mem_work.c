/* SPDX-License-Identifier: MIT */
/*
 * The task body of the memory comparison.  Stack is used the way real code
 * uses it: a live buffer in the frame that waits (a request being parsed),
 * a big local buffer in a function called once (a library call that formats
 * into 512 KiB), or a deep recursion that waits at the bottom (a parser on
 * a deeply nested input).  Every byte put on the stack is written, so a
 * model cannot look cheaper by leaving pages untouched, and read back after
 * every wait, so a model that loses stack bytes is caught.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <stdint.h>
#include <string.h>
#include "mem_work.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

const struct mem_work mem_works[] = {
    { "a", "shallow-1K", "every task waits with 1 KiB of live stack",
      1 * KiB, 0, 0, 0 },
    { "b", "live-64K", "every task waits with 64 KiB of live stack",
      64 * KiB, 0, 0, 0 },
    { "c", "call-512K", "every task once calls a function using 512 KiB "
      "of stack, then waits with 1 KiB", 1 * KiB, 512 * KiB, 0, 0 },
    { "d", "deep-1pct-4M", "1% of tasks recurse 4 MiB deep and wait there, "
      "the rest wait with 1 KiB", 1 * KiB, 0, 4 * MiB, 100 },
};
const int mem_nworks = (int)(sizeof mem_works / sizeof mem_works[0]);

long mem_corrupt;

const struct mem_work *mem_work_find(const char *id)
{
    for (int i = 0; i < mem_nworks; i++)
        if (!strcmp(id, mem_works[i].id) || !strcmp(id, mem_works[i].name))
            return &mem_works[i];
    return NULL;
}

size_t mem_work_need(const struct mem_work *w)
{
    size_t need = w->live;
    if (w->call > need)
        need = w->call;
    if (w->deep > need)
        need = w->deep;
    return need;
}

int mem_work_is_deep(const struct mem_work *w, long idx)
{
    return w->deep && idx % w->deep_every == 0;
}

/* Keep the compiler from dropping stores to, or reads of, p. */
static inline void barrier(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

static unsigned char pattern(long idx, size_t salt)
{
    return (unsigned char)(idx * 131 + (long)salt * 7 + 1);
}

/* Check n bytes at p (16-byte aligned, n a multiple of 8) against b, a
 * word at a time, so that checking costs little next to a switch. */
typedef uint64_t __attribute__((may_alias)) word;

static void check(const unsigned char *p, size_t n, unsigned char b)
{
    const word *q = (const word *)(const void *)p;
    word want = (word)b * 0x0101010101010101u, acc = 0;
    for (size_t i = 0; i < n / 8; i++)
        acc |= q[i] ^ want;
    if (acc)
        __atomic_fetch_add(&mem_corrupt, 1, __ATOMIC_RELAXED);
}

/* Wait with `live` bytes of written stack in this frame. */
static __attribute__((noinline)) void park(size_t live, long idx,
                                           mem_wait_fn *wait, void *ctx)
{
    unsigned char *p = alloca(live);
    unsigned char b = pattern(idx, 0);
    memset(p, b, live);
    barrier(p);
    wait(ctx); /* parked: the creation phase ends here */
    check(p, live, b);
    wait(ctx); /* parked again: one round of switches */
    check(p, live, b);
}

/* A call that uses `n` bytes of stack once and returns: the buffer is a
 * variable-length array so that one function serves every size. */
static __attribute__((noinline)) void big_call(size_t n, long idx)
{
    unsigned char buf[n];
    memset(buf, pattern(idx, 1), n);
    barrier(buf);
    check(buf, n, pattern(idx, 1));
}

/* Recurse until `depth` bytes of stack are used, each frame holding 16 KiB
 * of written data, and wait at the bottom.  Every frame checks its data on
 * the way back up, after the task has been switched out and in. */
#define DIG_FRAME (16 * KiB)

static __attribute__((noinline)) void dig(size_t depth, long idx,
                                          size_t live, mem_wait_fn *wait,
                                          void *ctx)
{
    unsigned char buf[DIG_FRAME] __attribute__((aligned(16)));
    unsigned char b = pattern(idx, depth);
    memset(buf, b, sizeof buf);
    barrier(buf);
    if (depth > DIG_FRAME)
        dig(depth - DIG_FRAME, idx, live, wait, ctx);
    else
        park(live, idx, wait, ctx);
    check(buf, sizeof buf, b);
}

void mem_work_run(const struct mem_work *w, long idx, mem_wait_fn *wait,
                  void *ctx)
{
    if (w->call)
        big_call(w->call, idx);
    if (mem_work_is_deep(w, idx))
        dig(w->deep, idx, w->live, wait, ctx);
    else
        park(w->live, idx, wait, ctx);
}
