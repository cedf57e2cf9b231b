/* SPDX-License-Identifier: MIT */
/* The program tests/static.test links with libpagedstack.a: it grows a
 * task by stack faults, takes the suspended task's backtrace (libunwind)
 * and prints the thread's figures, so that every library the static
 * archive needs is needed. */
#include <pagedstack.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) static void *deep_then_wait(void *arg)
{
    volatile char big[1 << 20];
    memset((char *)big, 1, sizeof big);
    pgs_yield(NULL);
    return (void *)(long)big[12345];
}

int main(void)
{
    pgs_task *t = pgs_create(deep_then_wait, NULL);
    void *out = NULL;
    if (!t || pgs_resume(t, NULL, NULL) != 0)
        return 1;
    if (pgs_backtrace_print(t, stdout) < 1 || pgs_stats_print(stdout) != 0)
        return 1;
    if (pgs_resume(t, NULL, &out) != 0 || (long)out != 1 || pgs_destroy(t) != 0)
        return 1;
    puts("static_prog: done");
    return 0;
}
