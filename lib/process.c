/* SPDX-License-Identifier: MIT */
/*
 * Process-wide setup, done once, by the first thread that initialises:
 * the check that valgrind (if it runs us) can, the fork hooks (fork.c) and
 * the SIGSEGV handler (fault.c).  The other files keep to their thread's
 * or their task's state and call this one; none of them sets up the
 * process, so that no two of them call each other.
 */
#include "config.h"
#include <pthread.h>
#include "internal.h"
#include "valgrind.h"

static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;
static int hooks_done, setup_done;

/* 0, or the errno to give. */
static int setup(void)
{
    if (pgs__vg_probe() != 0)
        return errno;
    /* Without the fork hooks a fork would share stacks: refuse.  Hooks
     * cannot be taken back, so they are installed once, even if the
     * handler is not. */
    if (!hooks_done) {
        if (pgs__fork_hooks_install() != 0)
            return ENOMEM;
        hooks_done = 1;
    }
    if (pgs__handler_install() != 0)
        return errno ? errno : EPERM;
    return 0;
}

/* Set the process up once; a failed attempt is made again by the next
 * thread initialisation. */
int pgs__process_init(void)
{
    pthread_mutex_lock(&setup_lock);
    int err = setup_done ? 0 : setup();
    if (!err)
        setup_done = 1;
    pthread_mutex_unlock(&setup_lock);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}
