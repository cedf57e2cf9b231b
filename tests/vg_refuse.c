/* SPDX-License-Identifier: MIT */
/*
 * tests/vg_refuse: run by make check-valgrind under valgrind *without*
 * --vex-iropt-register-updates=allregs-at-mem-access.  There the library
 * must refuse to start (pgs_thread_init: -1, EPERM, and one line on
 * stderr naming the option) rather than resume stack faults with stale
 * registers.  Exits 0 when it refused that way.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "pagedstack.h"

int main(void)
{
    errno = 0;
    int rc = pgs_thread_init(NULL);
    int e = errno;
    if (rc == -1 && e == EPERM)
        return 0;
    fprintf(stderr, "vg_refuse: pgs_thread_init returned %d (%s)\n", rc,
            strerror(e));
    return 1;
}
