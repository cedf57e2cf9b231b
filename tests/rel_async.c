/* SPDX-License-Identifier: MIT */
/*
 * The functions that only read (pgs_self, pgs_state, pgs_task_stack_bytes,
 * pgs_name) called from a signal handler that interrupts tasks at random
 * points, while they switch, nest and grow.  They must not crash, and what
 * they say must be consistent: when the signal interrupts a task's own
 * code, pgs_self() is that task, it is running, it holds stack, and its
 * name is its name; when it interrupts the thread's own code, pgs_self()
 * is NULL.
 *
 * The code says where it is through `mark` (set after every library call
 * returns, cleared before the next one), so the strict checks only apply
 * where the answer is known.  tests/step_switch.c asks for more, at every
 * instruction, even inside the library's switches.
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "rel.h"

#define NT 8
#define MAIN_MARK ((pgs_task *)1)

static pgs_task *volatile mark;     /* whose own code runs, if known */
static pgs_task *volatile live[NT]; /* for the handler's name lookup */
static char names[NT][32];

static volatile sig_atomic_t signals, in_task, strict_bad, loose_bad;
static volatile sig_atomic_t bad_self, bad_state, bad_bytes, bad_name,
    bad_main;

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void on_alarm(int sig)
{
    int e = errno;
    (void)sig;
    pgs_task *m = mark;
    pgs_task *self = pgs_self();
    int state = self ? pgs_state(self) : -1;
    size_t bytes = pgs_task_stack_bytes(self);
    const char *name = pgs_name(self);
    signals++;
    if (m == MAIN_MARK) {
        if (self)
            bad_main++;
    } else if (m) {
        in_task++;
        if (self != m)
            bad_self++;
        else {
            if (state != PGS_RUNNING)
                bad_state++;
            if (bytes == 0)
                bad_bytes++;
            int found = 0;
            for (int i = 0; i < NT; i++)
                if (live[i] == self)
                    found = same(name, names[i]);
            if (!found)
                bad_name++;
        }
    }
    if (self && state != PGS_RUNNING)
        loose_bad++;
    errno = e;
}

/* ---- the tasks ---------------------------------------------------------- */

static REL_NOINLINE long dive(size_t depth)
{
    volatile char buf[3000];
    buf[0] = (char)depth;
    long r = depth > sizeof buf ? dive(depth - sizeof buf) : 0;
    return r + buf[0];
}

static pgs_task *partner[NT];
static size_t max_dive;     /* 0: the tasks only switch */

static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    pgs_task *me = pgs_self();
    unsigned s = (unsigned)id * 7u + 1u;
    mark = me;
    /* Without dives, the tasks live long: the test is the switches. */
    int rounds = max_dive ? 40 : 1 << 30;
    for (int round = 0; round < rounds; round++) {
        s = s * 1103515245u + 12345u;
        if (max_dive)
            dive((s >> 8) % max_dive);
        /* Sometimes resume a partner from here (nesting). */
        pgs_task *p = partner[id];
        if (p && (s & 3) == 0 && pgs_state(p) == PGS_SUSPENDED) {
            mark = NULL;
            pgs_resume(p, NULL, NULL);
            mark = me;
        }
        mark = NULL;
        pgs_yield(NULL);
        mark = me;
    }
    mark = NULL;
    return NULL;
}

static void run(double seconds, size_t dive_max, unsigned regions)
{
    max_dive = dive_max;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct pgs_config cfg = { .regions = regions };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);

    struct itimerval it = { { 0, 200 }, { 0, 200 } };
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    t1 = t0;
    unsigned gen = 0, loops = 0;
    pgs_task *t[NT] = { 0 };
    mark = MAIN_MARK;
    do {
        for (int i = 0; i < NT; i++) {
            if (!t[i] || pgs_state(t[i]) == PGS_DONE) {
                if (t[i]) {
                    live[i] = NULL;
                    ck_assert_int_eq(pgs_destroy(t[i]), 0);
                }
                t[i] = pgs_create(worker, (void *)(intptr_t)i);
                ck_assert_ptr_nonnull(t[i]);
                snprintf(names[i], sizeof names[i], "w%d-%u", i, gen++);
                pgs_set_name(t[i], names[i]);
                live[i] = t[i];
            }
        }
        for (int i = 0; i < NT; i++)
            partner[i] = t[(i + 3) % NT];
        for (int i = 0; i < NT; i++) {
            if (pgs_state(t[i]) == PGS_RUNNING || pgs_state(t[i]) == PGS_DONE)
                continue;
            mark = NULL;
            int r = pgs_resume(t[i], NULL, NULL);
            mark = MAIN_MARK;
            ck_assert_int_eq(r, 0);
        }
        if (++loops % 256 == 0)
            clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((double)(t1.tv_sec - t0.tv_sec) +
                 (t1.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    mark = NULL;
    for (int i = 0; i < NT; i++) {
        live[i] = NULL;
        pgs_destroy(t[i]);
    }
    printf("# async-signal: %d signals, %d in a task's own code; wrong: "
           "self %d, state %d, bytes %d, name %d, on main %d; anywhere: "
           "%d running-task inconsistencies\n", (int)signals, (int)in_task,
           (int)bad_self, (int)bad_state, (int)bad_bytes, (int)bad_name,
           (int)bad_main, (int)loose_bad);
}

START_TEST(test_signal_sees_consistent_task)
{
    run(1.5, 700 * REL_KIB, 2);
    ck_assert_msg(signals > 0 && in_task > 0,
                  "no signal interrupted a task (%d signals)", (int)signals);
    ck_assert_msg(!bad_self && !bad_state && !bad_bytes && !bad_name &&
                      !bad_main,
                  "in a signal handler, the read-only functions disagree with "
                  "where the signal struck: self %d, state %d, bytes %d, "
                  "name %d, on main %d (of %d in tasks)", (int)bad_self,
                  (int)bad_state, (int)bad_bytes, (int)bad_name,
                  (int)bad_main, (int)in_task);
}
END_TEST


Suite *rel_async_suite(void)
{
    Suite *s = suite_create("async");
    TCase *tc = tcase_create("async");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_signal_sees_consistent_task);
    suite_add_tcase(s, tc);
    return s;
}
