/* SPDX-License-Identifier: MIT */
/*
 * Signals from neighbours: a profiler's SIGPROF at a high rate, SIGALRM,
 * and a handler that needs 64 KiB of stack, none of them on an alternate
 * stack, arriving anywhere while many tasks grow, shrink, switch, finish
 * and are created again.  Their handlers run on whatever stack was
 * running: a task's (the library keeps headroom mapped below its stack
 * pointer for the signal frame, and grows the stack if the handler goes
 * deeper), the thread's own, or the library's switch stack.
 *
 * Nothing may crash, and the handler must run about as often as it does
 * for the same work done without tasks (only "more than zero" is asserted:
 * the counts are printed).
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"
#include "rel.h"
#include "memcheck.h"

static volatile sig_atomic_t hits;
static size_t handler_stack;    /* bytes the handler puts on the stack */

static volatile char stack_sum;

static REL_NOINLINE void use_stack(size_t bytes)
{
    volatile char buf[bytes];
    for (size_t i = 0; i < bytes; i += 512)
        buf[i] = (char)i;
    buf[bytes - 1] = 1;
    stack_sum = buf[0];
}

static void on_signal(int sig)
{
    int e = errno;
    (void)sig;
    use_stack(handler_stack);
    hits++;
    errno = e;
}

/* ---- the work: tasks growing, shrinking, switching ------------------------- */

#define NTASKS 12

static const size_t depths[] = {
    8 * REL_KIB,   40 * REL_KIB,  120 * REL_KIB,
    300 * REL_KIB, 500 * REL_KIB, 1200 * REL_KIB,
};
#define NDEPTHS (sizeof depths / sizeof depths[0])

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct churn {
    long rounds;
    long bad;       /* stack words found wrong, or calls that failed */
};

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static void churn_tasks(struct churn *c, double seconds)
{
    static struct rel_pat pat[NTASKS];
    pgs_task *t[NTASKS] = { 0 };
    unsigned seed = 12345;
    double end = cpu_now() + seconds;
    while (cpu_now() < end) {
        int i = (int)(next_rand(&seed) % NTASKS);
        c->rounds++;
        if (!t[i]) {
            rel_pat_init(&pat[i], (unsigned)i + 1,
                         depths[next_rand(&seed) % NDEPTHS],
                         (uint64_t)c->rounds);
            t[i] = rel_pat_create(&pat[i]);
            if (!t[i] || pgs_resume(t[i], NULL, NULL) != 0) {
                c->bad++;
                return;
            }
            continue;
        }
        int r = 0;
        switch (next_rand(&seed) % 4) {
        case 0:
            r = rel_pat_cmd(t[i], &pat[i], REL_CMD_CHECK);
            break;
        case 1:
            pat[i].scribble = depths[next_rand(&seed) % 4];
            r = rel_pat_cmd(t[i], &pat[i], REL_CMD_SCRIBBLE);
            break;
        case 2:
            r = rel_pat_cmd(t[i], &pat[i], REL_CMD_FINISH);
            if (r == 0 && pgs_state(t[i]) != PGS_DONE)
                c->bad++;
            /* fall through: destroy it, done or suspended */
            __attribute__((fallthrough));
        default:
            c->bad += pat[i].bad;
            if (pgs_destroy(t[i]) != 0)
                c->bad++;
            t[i] = NULL;
            break;
        }
        if (r != 0)
            c->bad++;
    }
    for (int i = 0; i < NTASKS; i++)
        if (t[i]) {
            c->bad += pat[i].bad;
            pgs_destroy(t[i]);
        }
}

/* The same kind of work on the thread's own stack. */
static void churn_plain(struct churn *c, double seconds)
{
    unsigned seed = 12345;
    double end = cpu_now() + seconds;
    while (cpu_now() < end) {
        c->rounds++;
        c->bad += rel_scribble(depths[next_rand(&seed) % NDEPTHS],
                               (uint64_t)c->rounds);
    }
}

/* ---- the runs ---------------------------------------------------------------- */

struct sigcase {
    const char *name;
    int sig;
    int which;          /* ITIMER_PROF or ITIMER_REAL */
    long usec;
    size_t stack;       /* what the handler uses */
};

static const struct sigcase cases[] = {
    { "SIGPROF every 200 us of CPU, 3 KiB handler", SIGPROF, ITIMER_PROF,
      200, 3 * REL_KIB },
    { "SIGALRM every 300 us, 3 KiB handler", SIGALRM, ITIMER_REAL, 300,
      3 * REL_KIB },
    { "SIGPROF every 1 ms of CPU, 64 KiB handler", SIGPROF, ITIMER_PROF,
      1000, 64 * REL_KIB },
};

static void timer(const struct sigcase *k, int on)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    if (on) {
        it.it_interval.tv_usec = k->usec;
        it.it_value.tv_usec = k->usec;
    }
    setitimer(k->which, &it, NULL);
}

static void child(void *arg)
{
    const struct sigcase *k = arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* deliberately not SA_ONSTACK */
    /* Except under valgrind, which cannot take a fault while it pushes a
     * signal frame: where the frame would land on a stack page not mapped
     * yet, it kills the process instead of raising the SIGSEGV the
     * library grows the stack on.  The README says to use SA_ONSTACK
     * there; the signals still arrive at any point of every switch. */
    if (RUNNING_ON_VALGRIND) {
        /* The thread's own stack too grows under valgrind only by faults
         * outside signal delivery: churn_plain needs a stack as well. */
        static char alt[256 << 10];
        stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
        sigaltstack(&ss, NULL);
        sa.sa_flags |= SA_ONSTACK;
    }
    sigemptyset(&sa.sa_mask);
    sigaction(k->sig, &sa, NULL);
    handler_stack = k->stack;

    struct churn plain = { 0, 0 }, tasks = { 0, 0 };
    timer(k, 1);
    churn_plain(&plain, 0.4);
    timer(k, 0);
    long without = hits;
    hits = 0;
    timer(k, 1);
    churn_tasks(&tasks, 0.8);
    timer(k, 0);
    long with = hits;
    struct pgs_stats st;
    pgs_stats(&st);
    printf("without-tasks=%ld/%ld with-tasks=%ld/%ld bad=%ld faults=%llu "
           "remaps=%llu\n", without, plain.rounds, with, tasks.rounds,
           plain.bad + tasks.bad, (unsigned long long)st.faults,
           (unsigned long long)st.remaps);
}

START_TEST(test_neighbour_signals)
{
    static struct rel_result res;
    const struct sigcase *k = &cases[_i];
    char st[64];
    ck_assert_int_eq(rel_run(child, (void *)k, 0, 60, &res), 0);
    printf("# %s: %s", k->name, res.out);
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "%s: the process %s%s (out %.200s, err %.400s)", k->name,
                  rel_status_str(rel_status(&res), st, sizeof st),
                  rel_diag_lines(res.err)
                      ? ""
                      : " without a word (a handler on the switch stack? "
                        "see test_handler_on_switch_stack)",
                  res.out, res.err);
    long without = -1, with = -1, bad = -1, r1 = 0, r2 = 0;
    ck_assert_msg(sscanf(res.out, "without-tasks=%ld/%ld with-tasks=%ld/%ld "
                         "bad=%ld", &without, &r1, &with, &r2, &bad) == 5,
                  "%s: no report: %.200s", k->name, res.out);
    ck_assert_msg(bad == 0, "%s: %ld stack words wrong or calls failed",
                  k->name, bad);
    ck_assert_msg(without > 0 && with > 0, "%s: the handler ran %ld times "
                  "with tasks, %ld without", k->name, with, without);
    ck_assert_int_eq(rel_diag_lines(res.err), 0);
}
END_TEST

/*
 * The same handler, delivered while the thread runs on the library's
 * switch stack (where remaps run).  Without SA_ONSTACK a handler runs on
 * whatever stack is current, so the switch stack must have room for it
 * too.  pgs__on_switch_stack makes the moment deterministic: the signal is
 * raised from a function running there.
 */
static void raise_there(struct pgs_thread *th, void *arg)
{
    (void)th;
    raise((int)(intptr_t)arg);
}

static void child_switch_stack(void *arg)
{
    (void)arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, NULL);
    if (pgs_thread_init(NULL) != 0)
        return;
    struct pgs_thread *th = pgs__tls;
    handler_stack = 3 * REL_KIB;
    pgs__on_switch_stack(th, raise_there, (void *)(intptr_t)SIGPROF);
    printf("3 KiB handler on the switch stack: ok\n");
    handler_stack = 64 * REL_KIB;
    pgs__on_switch_stack(th, raise_there, (void *)(intptr_t)SIGPROF);
    printf("64 KiB handler on the switch stack: ok\n");
}

START_TEST(test_handler_on_switch_stack)
{
    static struct rel_result res;
    char st[64];
    ck_assert_int_eq(rel_run(child_switch_stack, NULL, 0, 20, &res), 0);
    ck_assert_msg(strstr(res.out, "3 KiB handler on the switch stack: ok"),
                  "a 3 KiB handler on the switch stack: %s (out %.200s, "
                  "err %.200s)",
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "a signal handler that uses 64 KiB, delivered while the "
                  "thread is on the switch stack (%zu bytes), overflows it: "
                  "the process %s, %s", (size_t)PGS_SWITCH_STACK_SIZE,
                  rel_status_str(rel_status(&res), st, sizeof st),
                  rel_diag_lines(res.err) ? "with a diagnostic"
                                          : "without a word");
}
END_TEST

Suite *rel_signals_suite(void)
{
    Suite *s = suite_create("signals");
    TCase *tc = tcase_create("neighbours");
    tcase_set_timeout(tc, 90);
    tcase_add_loop_test(tc, test_neighbour_signals, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_handler_on_switch_stack);
    suite_add_tcase(s, tc);
    return s;
}
