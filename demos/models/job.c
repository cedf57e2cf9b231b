/* SPDX-License-Identifier: MIT */
/*
 * The task body every model runs.  Stack is used the way real code uses
 * it: a live buffer in the frame that waits (a request being parsed), a
 * large buffer in a function called once, a recursion that goes deep and
 * comes back (growth), or one that waits at the bottom.  Every byte is
 * written, so that no model looks cheaper by leaving pages untouched, and
 * with `check` read back after every wait, so that a model that loses
 * stack bytes is caught.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <string.h>
#include "model.h"

long job_corrupt;

typedef uint64_t __attribute__((may_alias)) word;

static void check(const volatile unsigned char *p, size_t n, unsigned char b)
{
    const word *q = (const word *)(const void *)p;
    word want = (word)b * 0x0101010101010101u, acc = 0;
    for (size_t i = 0; i < n / 8; i++)
        acc |= q[i] ^ want;
    if (acc)
        __atomic_fetch_add(&job_corrupt, 1, __ATOMIC_RELAXED);
}

void job_after_wait(struct job *j, volatile unsigned char *b, size_t n,
                    unsigned char mark)
{
    if (j->check)
        check(b, n, mark);
    else
        for (size_t i = 0; i < n; i += 64)
            b[i]++;
}

/* Growth the way recursion does it: frames of about 1 KiB, each written
 * every 64 bytes from its top down, until the stack is `stop` deep. */
static __attribute__((noinline)) void recurse(char *stop)
{
    volatile char frame[1000];
    for (size_t i = sizeof frame; i > 0;) {
        i = i > 64 ? i - 64 : 0;
        frame[i] = 1;
    }
    if ((char *)frame > stop)
        recurse(stop);
    frame[0]++; /* after the call: no tail call */
}

static __attribute__((noinline)) void grow(size_t bytes)
{
    recurse((char *)__builtin_frame_address(0) - bytes);
}

/* A call that uses n bytes of stack once and returns. */
static __attribute__((noinline)) void big_call(size_t n, unsigned char mark)
{
    unsigned char buf[n];
    memset(buf, mark, n);
    __asm__ volatile("" : : "r"(buf) : "memory");
    check(buf, n, mark);
}

/* Wait with j->depth bytes of stack in use, a buffer in this frame. */
static __attribute__((noinline)) void park(struct job *j, unsigned char mark,
                                           job_wait_fn *wait)
{
    size_t n = j->depth > JOB_FRAMES ? j->depth - JOB_FRAMES : 0;
    volatile unsigned char *b = alloca(n);
    if (j->check)
        memset((void *)b, mark, n);
    else
        for (size_t i = n; i > 0;) { /* top down, as a stack grows */
            i = i > 64 ? i - 64 : 0;
            b[i] = 1;
        }
    wait(j, b, n, mark);
}

/* Recurse `depth` bytes deep, 16 KiB of written data a frame, wait at
 * the bottom; every frame checks its data on the way back up. */
static __attribute__((noinline)) void dig(struct job *j, size_t depth,
                                          unsigned char mark,
                                          job_wait_fn *wait)
{
    unsigned char buf[16 << 10] __attribute__((aligned(16)));
    memset(buf, mark, sizeof buf);
    __asm__ volatile("" : : "r"(buf) : "memory");
    if (depth > sizeof buf)
        dig(j, depth - sizeof buf, mark, wait);
    else
        park(j, mark, wait);
    check(buf, sizeof buf, mark);
}

void job_run(struct job *j, job_wait_fn *wait)
{
    long idx = j->started++;
    unsigned char mark = (unsigned char)(idx * 131 + 1);
    if (j->finish)
        goto out;
    if (j->spike) {
        size_t spike = j->spike;
        j->spike = 0; /* only the first task */
        grow(spike);
    }
    if (j->call)
        big_call(j->call, mark);
    if (j->grow) {
        grow(j->grow);
        wait(j, NULL, 0, 0);
    } else if (j->deep && idx % j->deep_every == 0)
        dig(j, j->deep, mark, wait);
    else
        park(j, mark, wait);
out:
    j->finished++;
}

const struct model *model_find(const char *name)
{
    for (int i = 0; models[i]; i++)
        if (!strcmp(models[i]->name, name))
            return models[i];
    return NULL;
}
