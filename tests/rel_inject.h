/* SPDX-License-Identifier: MIT */
/*
 * The fault-injection loops: what one operation under test looks like.
 *
 * For N = 1, 2, 3, ... a fresh child process sets up the state the
 * operation needs (disarmed), arms the injector so that the Nth call
 * through a failure point from now on fails, runs the operation, disarms,
 * says what happened on stdout, and then checks that everything that
 * existed before still works and that nothing leaked.  rel_inject.c runs
 * the loop and judges each run; rel_inject_ops.c has the operations.
 */
#ifndef REL_INJECT_H
#define REL_INJECT_H

#include "rel.h"

struct inj_op {
    const char *name;
    const char *what;       /* what the armed part does, for the report */
    /* The operation may end in a death with one "pagedstack:" line: it is,
     * or includes, a stack fault or a switch that cannot return an error. */
    int may_die;
    /* errno values a failing operation may return (0 ends the list). */
    int errnos[3];
    void (*setup)(void);
    /* The armed operation: 0, or -1 with errno. */
    int (*run)(void);
    /* Disarmed: check what existed before, clean up, check for leaks. */
    void (*recover)(int rc, int err);
    /* run() arms and reads the injector itself (fork: inside a task). */
    int arms_itself;
    /* An injected fallocate failure is EINTR, which the library must
     * retry: every such run must end as if nothing had failed. */
    int eintr;
};

extern const struct inj_op rel_inj_ops[];
extern const int rel_inj_nops;

/* What the child is told: which operation, which N. */
struct inj_job {
    int op;
    long n;
};

/* The child's side of one run (rel_inject_ops.c). */
void rel_inj_child(void *job);

#endif
