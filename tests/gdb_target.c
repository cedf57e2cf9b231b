/* SPDX-License-Identifier: MIT */
/* The program tests/gdb.test runs under gdb: three named tasks, one
 * suspended three calls deep, then a stop in gdb_stop_here(). */
#include <pagedstack.h>
#include <stdio.h>
#include <string.h>

void gdb_stop_here(void);

__attribute__((noinline)) void gdb_stop_here(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void three_deep(int x)
{
    volatile char b[64];
    b[0] = (char)x;
    pgs_yield(NULL);
    b[1] = (char)(b[0] + 1);
}

__attribute__((noinline)) static void two_deep(int x)
{
    three_deep(x + 1);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void one_deep(int x)
{
    two_deep(x + 1);
    __asm__ volatile("" ::: "memory");
}

static void *alpha(void *arg)
{
    one_deep(0);
    return arg;
}

static void *beta(void *arg)
{
    volatile char big[200000]; /* a deeper stack, saved by copying */
    memset((char *)big, 1, sizeof big);
    pgs_yield(NULL);
    return (void *)(long)big[7];
}

int main(void)
{
    struct pgs_config cfg = { .regions = 1 };
    if (pgs_thread_init(&cfg) != 0)
        return 1;
    pgs_task *a = pgs_create(alpha, NULL), *b = pgs_create(beta, NULL);
    pgs_task *c = pgs_create(alpha, NULL);
    pgs_set_name(a, "alpha");
    pgs_set_name(b, "beta");
    pgs_set_name(c, "gamma");
    pgs_resume(a, NULL, NULL);
    pgs_resume(b, NULL, NULL);
    gdb_stop_here();
    pgs_resume(a, NULL, NULL);
    pgs_resume(b, NULL, NULL);
    pgs_destroy(a);
    pgs_destroy(b);
    pgs_destroy(c);
    puts("gdb_target: done");
    return 0;
}
