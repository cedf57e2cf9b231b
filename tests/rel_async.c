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
 * where the answer is known.  A second test asks for more, at every
 * instruction, even inside the library's switches (see below).
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include "internal.h"
#include "rel.h"
#include "memcheck.h"

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

/*
 * At every instruction: a signal may land anywhere, including between two
 * stores of a switch.  Rather than hope a timer hits such a spot, a child
 * is single-stepped (ptrace) through resumes and yields of every kind (plain
 * switches, remaps with copies, a nested resume, a task that finishes), and
 * after each instruction the tracer reads what pgs_self() and pgs_state()
 * would return there: if pgs_self() is a task, that task must be
 * PGS_RUNNING.
 */
static void *yielder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++)
        pgs_yield(NULL);
    return NULL;
}

static pgs_task *inner;

static void *nester(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        pgs_resume(inner, NULL, NULL);
        pgs_yield(NULL);
    }
    return NULL;
}

static void stepped_child(int fd)
{
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
        _exit(2);
    /* Two regions: a and inner share one (remaps), b has the other. */
    struct pgs_config cfg = { .regions = 2 };
    if (pgs_thread_init(&cfg) != 0)
        _exit(3);
    pgs_task *a = pgs_create(yielder, NULL);
    pgs_task *b = pgs_create(nester, NULL);
    inner = pgs_create(yielder, NULL);
    uintptr_t where[2] = { (uintptr_t)&pgs__tls, 0 };
    /* First runs (stack growth, first frames) before the stepping. */
    if (!a || !b || !inner || pgs_resume(a, NULL, NULL) != 0 ||
        pgs_resume(b, NULL, NULL) != 0 ||
        write(fd, where, sizeof where) != sizeof where)
        _exit(4);
    raise(SIGSTOP);                 /* the tracer steps from here */
    while (pgs_state(a) != PGS_DONE || pgs_state(b) != PGS_DONE) {
        if (pgs_state(a) != PGS_DONE)
            pgs_resume(a, NULL, NULL);
        if (pgs_state(b) != PGS_DONE)
            pgs_resume(b, NULL, NULL);
    }
    raise(SIGUSR2);                 /* and stops here */
    _exit(0);
}

static long peek(pid_t pid, uintptr_t a, int *ok)
{
    errno = 0;
    long v = ptrace(PTRACE_PEEKDATA, pid, (void *)a, NULL);
    if (errno)
        *ok = 0;
    return v;
}

START_TEST(test_signal_self_is_running_everywhere)
{
    if (RUNNING_ON_VALGRIND) {
        /* Single-stepping a program under valgrind steps valgrind's
         * translation of it, not the program's instructions. */
        printf("# under valgrind: instruction stepping skipped\n");
        return;
    }
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        stepped_child(p[1]);
    }
    close(p[1]);
    uintptr_t where[2];
    ssize_t n = read(p[0], where, sizeof where);
    close(p[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
        printf("# ptrace is not allowed here: instruction stepping "
               "skipped\n");
        return;
    }
    if (n != (ssize_t)sizeof where || !WIFSTOPPED(st)) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        ck_abort_msg("the stepped child could not start");
    }
    long steps = 0, bad = 0;
    /* Up to four distinct places where it happens, with the state seen. */
    unsigned long ips[4];
    int states[4], nips = 0;
    int ok = 1;
    while (steps < 3000000) {
        if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0 ||
            waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
            break;
        if (WSTOPSIG(st) == SIGUSR2)
            break;
        steps++;
        uintptr_t th = (uintptr_t)peek(pid, where[0], &ok);
        if (!th)
            continue;
        uintptr_t cur = (uintptr_t)peek(
            pid, th + offsetof(struct pgs_thread, current), &ok);
        if (!cur)
            continue;
        int state = (int)peek(pid, cur + offsetof(struct pgs_task, state),
                              &ok);
        if (state != PGS_RUNNING) {
            struct user_regs_struct regs;
            bad++;
            ptrace(PTRACE_GETREGS, pid, NULL, &regs);
            int seen = 0;
            for (int i = 0; i < nips; i++)
                seen |= ips[i] == regs.rip;
            if (!seen && nips < 4) {
                ips[nips] = regs.rip;
                states[nips++] = state;
            }
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    /* Name the places by the nearest function below them (the child is a
     * fork of this process: same addresses). */
    static const struct { const char *name; void *fn; } fns[] = {
        { "pgs_yield", (void *)pgs_yield },
        { "pgs_resume", (void *)pgs_resume },
        { "pgs__task_main", (void *)pgs__task_main },
        { "pgs__prepare", (void *)pgs__prepare },
    };
    char where_s[512] = "";
    size_t wl = 0;
    for (int k = 0; k < nips; k++) {
        const char *in = "?";
        unsigned long best = (unsigned long)-1;
        for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
            unsigned long f = (unsigned long)fns[i].fn;
            if (ips[k] >= f && ips[k] - f < best) {
                best = ips[k] - f;
                in = fns[i].name;
            }
        }
        wl += (size_t)snprintf(where_s + wl, sizeof where_s - wl,
                               " %s+%#lx (state %d);", in, best, states[k]);
    }
    printf("# single-stepped %ld instructions of switches: %ld where "
           "pgs_self() is not PGS_RUNNING:%s\n", steps, bad, where_s);
    ck_assert_msg(ok && steps > 1000, "stepping failed after %ld steps",
                  steps);
    ck_assert_msg(bad == 0,
                  "at %ld of %ld instructions, a signal handler would see "
                  "pgs_self() return a task whose pgs_state is not "
                  "PGS_RUNNING, at:%s", bad, steps, where_s);
}
END_TEST

Suite *rel_async_suite(void)
{
    Suite *s = suite_create("async");
    TCase *tc = tcase_create("async");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_signal_sees_consistent_task);
    tcase_add_test(tc, test_signal_self_is_running_everywhere);
    suite_add_tcase(s, tc);
    return s;
}
