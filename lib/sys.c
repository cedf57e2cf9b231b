/* SPDX-License-Identifier: MIT */
/*
 * The fault injector of the test build: makes the Nth call through a
 * failure point (lib/sys.h) fail, and counts what it covered.  The
 * installed library compiles none of it.
 */
#include "config.h"
#include "sys.h"

#ifdef PGS_FAULT_INJECTION
#include <stdint.h>

/* Calls left before the one that fails; 0 = injection off.  Atomic: the
 * fault handler goes through the same wrappers. */
static long countdown;
static unsigned long calls[PGS_FP_COUNT];
static const char *failed_site;
static int failed_point = -1;
static int fallocate_eintr;

/* Whether a failed fallocate says EINTR (a pending signal, which the
 * library must retry) instead of ENOMEM. */
void pgs__inject_eintr(int on)
{
    fallocate_eintr = on;
}

void pgs__inject_arm(long n)
{
    __atomic_store_n(&countdown, n, __ATOMIC_SEQ_CST);
    failed_site = NULL;
    failed_point = -1;
}

int pgs__inject(enum pgs_fail_point p, const char *site)
{
    __atomic_add_fetch(&calls[p], 1, __ATOMIC_RELAXED);
    long c = __atomic_load_n(&countdown, __ATOMIC_SEQ_CST);
    if (c <= 0)
        return 0;
    if (__atomic_sub_fetch(&countdown, 1, __ATOMIC_SEQ_CST) != 0)
        return 0;
    failed_site = site;
    failed_point = (int)p;
    if (p == PGS_FP_FALLOCATE && fallocate_eintr)
        return EINTR;
    return p == PGS_FP_MEMFD ? EMFILE : ENOMEM;
}

/* Which failure point the armed injection hit (-1: none yet). */
long pgs__inject_arm_point(void)
{
    return failed_point;
}

const char *pgs__inject_site(void)
{
    return failed_site;
}

void pgs__inject_count(enum pgs_fail_point p)
{
    __atomic_add_fetch(&calls[p], 1, __ATOMIC_RELAXED);
}

unsigned long pgs__inject_calls(int point)
{
    return point >= 0 && point < PGS_FP_COUNT ? calls[point] : 0;
}
#endif
