/* SPDX-License-Identifier: MIT */
/*
 * Helper modes of the test program (`check_reliability --helper NAME`),
 * for tests that need a process of their own seen from outside: a shell's
 * exit status, say.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "rel.h"

/* The library is in use, then the program faults outside any task. */
static int segv_outside_task(void)
{
    struct rlimit nocore = { 0, 0 };
    setrlimit(RLIMIT_CORE, &nocore);
    if (pgs_thread_init(NULL) != 0)
        return 2;
    volatile uintptr_t nowhere = 16;
    *(volatile int *)nowhere = 1;
    return 0;
}

int rel_helper(const char *name)
{
    if (!strcmp(name, "segv-outside-task"))
        return segv_outside_task();
    fprintf(stderr, "unknown helper %s\n", name);
    return 2;
}
