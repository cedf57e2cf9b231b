/* SPDX-License-Identifier: MIT */
/*
 * SIGSEGV handlers in any order, and signal handlers that never return.
 *
 *  - A crash reporter installed after the library (after 100 tasks
 *    exist) never sees stack growth, sees a NULL dereference inside a task
 *    exactly once with its original siginfo and context, and sees
 *    raise(SIGSEGV); sigaction's oldact gives it the handler that was
 *    there before it, never the library's, so one that chains to oldact
 *    does not loop.  Variants: it does not chain; it chains to a handler
 *    installed before the library; it chains to the default action the
 *    usual way (puts oldact back and returns), and the process dies by
 *    SIGSEGV.
 *  - The timeout idiom: a SIGALRM handler that leaves a job with
 *    siglongjmp, 1,000 times, while the job grows its task's stack by
 *    2 MiB: the library's fault handler is never interrupted halfway, and
 *    the pool's figures match what is mapped afterwards.
 *  - After the library's overflow report, the handler faults are passed
 *    to (installed before the library, or after it) gets the fault too,
 *    and then the process dies by SIGSEGV.
 */
#include "config.h"
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "internal.h"
#include "rel.h"

static void say(const char *s)
{
    ssize_t w = write(STDOUT_FILENO, s, strlen(s));
    (void)w;
}

static void install_info(void (*fn)(int, siginfo_t *, void *),
                         struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, old);
}

/* ---- a crash reporter installed after the library -------------------------- */

enum variant { V_ALONE, V_CHAIN_PRIOR, V_CHAIN_DEFAULT };
static const char *const variant_names[] = {
    "a reporter that does not chain",
    "a reporter that chains to the handler installed before the library",
    "a reporter that chains to the default action",
};

static enum variant variant;
static sigjmp_buf jb;
static struct sigaction reporter_old;
static volatile sig_atomic_t reporter_calls, prior_calls, growth_seen,
    wrong;
static volatile int expect_code;
static char *volatile expect_addr;

static REL_NOINLINE int deref(int *volatile *pp)
{
    return **pp;
}

static int in_regions(void *a)
{
    struct pgs_thread *th = pgs__tls;
    return th && (char *)a >= th->reserve &&
           (char *)a < th->reserve + th->reserve_len;
}

static void prior(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    prior_calls++;
    siglongjmp(jb, 1);
}

static void reporter(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    reporter_calls++;
    if (si->si_code > 0 && in_regions(si->si_addr))
        growth_seen++;
    uintptr_t ip = pgs__uc_pc(uc);
    if (si->si_code != expect_code ||
        (expect_code == SEGV_MAPERR &&
         (si->si_addr != expect_addr || ip < (uintptr_t)deref ||
          ip > (uintptr_t)deref + 256)))
        wrong++;
    say("reporter\n");
    switch (variant) {
    case V_ALONE:
        siglongjmp(jb, 1);
    case V_CHAIN_PRIOR:
        if (reporter_old.sa_flags & SA_SIGINFO)
            reporter_old.sa_sigaction(sig, si, ucv);
        break;
    case V_CHAIN_DEFAULT:
        sigaction(SIGSEGV, &reporter_old, NULL);
        break;
    }
}


/* Grow (arg bytes), yield, grow twice as deep, then fault on purpose. */
static void *task_fn(void *arg)
{
    size_t depth = (size_t)(uintptr_t)arg;
    rel_grow(depth);
    pgs_yield(NULL);
    rel_grow(2 * depth);
    int *volatile null = NULL;
    expect_code = SEGV_MAPERR;
    expect_addr = NULL;
    if (sigsetjmp(jb, 1) == 0)
        deref(&null);
    say("back in the task\n");
    expect_code = SI_TKILL;
    if (sigsetjmp(jb, 1) == 0)
        raise(SIGSEGV);
    say("back after raise\n");
    return NULL;
}

static void child_later(void *arg)
{
    variant = (enum variant)(intptr_t)arg;
    struct sigaction before;
    if (variant == V_CHAIN_PRIOR)
        install_info(prior, NULL);
    sigaction(SIGSEGV, NULL, &before);
    if (pgs_thread_init(NULL) != 0)
        return;
    enum { N = 100 };
    pgs_task *t[N + 1];
    for (int i = 0; i < N; i++) {
        t[i] = pgs_create(task_fn, (void *)(uintptr_t)(64 * REL_KIB));
        if (!t[i] || pgs_resume(t[i], NULL, NULL) != 0)
            return;
    }
    install_info(reporter, &reporter_old);
    printf("oldact is the one before: %d\n",
           reporter_old.sa_sigaction == before.sa_sigaction &&
               (reporter_old.sa_flags & SA_SIGINFO) ==
                   (before.sa_flags & SA_SIGINFO));
    /* Growth of the existing tasks and of new ones (past the
     * PGS_CHECK_EVERY-th create, where pgs_create checks the handler). */
    t[N] = pgs_create(task_fn, (void *)(uintptr_t)(256 * REL_KIB));
    if (!t[N]) {
        printf("create after the reporter: %s\n", strerror(errno));
        return;
    }
    for (int i = 0; i < (int)PGS_CHECK_EVERY + 6; i++) {
        pgs_task *x = pgs_create(task_fn, (void *)(uintptr_t)(16 * REL_KIB));
        if (!x || pgs_resume(x, NULL, NULL) != 0 || pgs_destroy(x) != 0) {
            printf("create %d after the reporter: %s\n", i, strerror(errno));
            return;
        }
    }
    if (pgs_resume(t[N], NULL, NULL) != 0)
        return;
    printf("growth seen before the fault: %d\n", (int)growth_seen);
    fflush(stdout);
    /* Twice as deep, then the NULL dereference and the raise. */
    if (pgs_resume(t[N], NULL, NULL) != 0)
        return;
    printf("reporter=%d prior=%d growth=%d wrong=%d\n", (int)reporter_calls,
           (int)prior_calls, (int)growth_seen, (int)wrong);
}

START_TEST(test_later_reporter)
{
    static struct rel_result res;
    char st[64];
    ck_assert_int_eq(rel_run(child_later, (void *)(intptr_t)_i, 0, 30,
                             &res), 0);
    const char *name = variant_names[_i];
    ck_assert_msg(strstr(res.out, "oldact is the one before: 1\n"),
                  "%s: oldact must be the handler before it: %.300s", name,
                  res.out);
    ck_assert_msg(strstr(res.out, "growth seen before the fault: 0\n"),
                  "%s: stack growth reached the reporter, or creating "
                  "tasks failed: %.300s (%s, err %.300s)", name, res.out,
                  rel_status_str(rel_status(&res), st, sizeof st), res.err);
    if (_i == V_CHAIN_DEFAULT) {
        ck_assert_msg(rel_died_by(&res, SIGSEGV) &&
                          strstr(res.out, "reporter\n") &&
                          !strstr(strstr(res.out, "reporter\n") + 1,
                                  "reporter\n"),
                      "%s: the reporter runs once, then the process dies "
                      "by SIGSEGV (%s, out %.300s)", name,
                      rel_status_str(rel_status(&res), st, sizeof st),
                      res.out);
        return;
    }
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "%s: %s (out %.300s, err %.300s)", name,
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
    char want[80];
    snprintf(want, sizeof want, "reporter=2 prior=%d growth=0 wrong=0\n",
             _i == V_CHAIN_PRIOR ? 2 : 0);
    ck_assert_msg(strstr(res.out, want),
                  "%s: the NULL dereference and the raise, each once, with "
                  "their siginfo and context: want %s got %.400s", name,
                  want, res.out);
    ck_assert_int_eq(rel_diag_lines(res.err), 0);
}
END_TEST

/* A second reporter gets the first as oldact; faults go to the latest. */
static void child_two_reporters(void *arg)
{
    (void)arg;
    if (pgs_thread_init(NULL) != 0)
        return;
    struct sigaction first, got;
    install_info(reporter, &first);
    install_info(prior, &got);
    printf("second's oldact is the first: %d\n",
           (got.sa_flags & SA_SIGINFO) && got.sa_sigaction == reporter);
    sigaction(SIGSEGV, NULL, &got);
    printf("query says the second: %d\n",
           (got.sa_flags & SA_SIGINFO) && got.sa_sigaction == prior);
    int *volatile null = NULL;
    if (sigsetjmp(jb, 1) == 0)
        deref(&null);
    printf("reporter=%d prior=%d\n", (int)reporter_calls, (int)prior_calls);
}

START_TEST(test_two_reporters)
{
    static struct rel_result res;
    ck_assert_int_eq(rel_run(child_two_reporters, NULL, 0, 20, &res), 0);
    ck_assert_msg(strstr(res.out, "second's oldact is the first: 1\n"
                                  "query says the second: 1\n"
                                  "reporter=0 prior=1\n"),
                  "two handlers after the library: %.300s", res.out);
}
END_TEST

/* ---- the timeout idiom: siglongjmp out of a growing job ------------------- */

#define ABORTS 1000

static sigjmp_buf job_jb;
static volatile sig_atomic_t in_job, fired, aborts;

static void on_alarm(int sig)
{
    (void)sig;
    fired = 1;
    if (in_job) {
        in_job = 0;
        aborts++;
        siglongjmp(job_jb, 1);
    }
}

/* Grow 2 MiB, then (unless arg says not to) wait for the timer, which
 * may have fired already. */
static void *job(void *arg)
{
    if (sigsetjmp(job_jb, 1) == 0) {
        in_job = 1;
        rel_grow(2 * REL_MIB);
        while (!fired && !arg)
            ;
        in_job = 0;
    }
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void arm(double seconds)
{
    struct itimerval it = { .it_value = { .tv_sec = (time_t)seconds,
                                          .tv_usec = (suseconds_t)(
                                              (seconds - (time_t)seconds) *
                                              1e6) + 1 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void child_timeouts(void *arg)
{
    (void)arg;
    signal(SIGALRM, on_alarm);
    if (pgs_thread_init(NULL) != 0)
        return;
    /* How long a 2 MiB growth takes here: the timer fires anywhere in
     * the first one and a half of that. */
    double t0 = now();
    pgs_task *t = pgs_create(job, (void *)1);
    pgs_resume(t, NULL, NULL);
    double grow_time = now() - t0;
    pgs_destroy(t);
    unsigned seed = 7;
    int survived = 0;
    t = NULL;
    /* (A timer that fires before the job starts aborts nothing.) */
    for (int i = 0; aborts < ABORTS && i < 3 * ABORTS; i++) {
        pgs_destroy(t);
        t = pgs_create(job, NULL);
        seed = seed * 1103515245u + 12345u;
        fired = 0;
        arm(grow_time * 1.5 * ((seed >> 16) % 1000) / 1000.0);
        if (!t || pgs_resume(t, NULL, NULL) != 0 ||
            pgs_state(t) != PGS_DONE)
            break;
        survived++;
    }
    struct pgs_thread *th = pgs__tls;
    struct pgs_stats st;
    pgs_stats(&st);
    size_t mapped = 0;
    for (unsigned i = 0; i < th->nregions; i++)
        mapped += th->regions[i].mapped;
    printf("aborts=%d survived=%d faults>=jobs: %d pool=%zu held=%zu "
           "mapped=%zu\n", (int)aborts, survived,
           st.faults >= (uint64_t)survived, st.pool_bytes,
           th->held_pages * PGS_PAGE, mapped * PGS_PAGE);
    pgs_destroy(t);
}

START_TEST(test_timer_aborts)
{
    static struct rel_result res;
    char st[64];
    ck_assert_int_eq(rel_run(child_timeouts, NULL, 0, 240, &res), 0);
    printf("# timeouts: %s", res.out);
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "1,000 timer aborts of growing jobs: %s (out %.300s, err "
                  "%.300s)", rel_status_str(rel_status(&res), st, sizeof st),
                  res.out, res.err);
    int aborted = -1, survived = -1, faulted = -1;
    size_t pool = 1, held = 2, mapped = 3;
    ck_assert_int_eq(sscanf(res.out, "aborts=%d survived=%d faults>=jobs: %d "
                            "pool=%zu held=%zu mapped=%zu", &aborted,
                            &survived, &faulted, &pool, &held, &mapped), 6);
    ck_assert_int_eq(aborted, ABORTS);
    ck_assert_int_ge(survived, ABORTS);
    ck_assert_msg(faulted == 1, "the jobs did not grow by faults");
    ck_assert_msg(pool == held && held == mapped,
                  "pool %zu bytes, held %zu, mapped %zu", pool, held, mapped);
}
END_TEST

/* ---- after the overflow report, the handler faults are passed to --------- */

static void overflow_seen(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    say(si->si_code > 0 ? "handler saw it\n" : "handler: wrong\n");
}

static REL_NOINLINE long recurse_forever(long n)
{
    volatile char pad[4096];
    pad[0] = (char)n;
    return recurse_forever(n + 1) + pad[0];
}

static void *overflow(void *arg)
{
    return (void *)recurse_forever((long)(intptr_t)arg);
}

static void child_overflow(void *arg)
{
    int later = (int)(intptr_t)arg;
    if (!later)
        install_info(overflow_seen, NULL);
    struct pgs_config cfg = { .stack_size = 256 * REL_KIB };
    if (pgs_thread_init(&cfg) != 0)
        return;
    if (later)
        install_info(overflow_seen, NULL);
    pgs_task *t = pgs_create(overflow, NULL);
    if (t)
        pgs_resume(t, NULL, NULL);
    say("survived the overflow\n");
}

START_TEST(test_overflow_then_handler)
{
    static struct rel_result res;
    char st[64];
    ck_assert_int_eq(rel_run(child_overflow, (void *)(intptr_t)_i, 0, 20,
                             &res), 0);
    ck_assert_msg(rel_died_by(&res, SIGSEGV) &&
                      !strcmp(res.out, "handler saw it\n") &&
                      strstr(res.err, "stack overflow"),
                  "a handler installed %s the library: after the overflow "
                  "report it sees the fault once, then the process dies by "
                  "SIGSEGV (%s, out %.200s, err %.300s)",
                  _i ? "after" : "before",
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
}
END_TEST

Suite *rel_chain_suite(void)
{
    Suite *s = suite_create("chain");
    TCase *tc = tcase_create("later");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_later_reporter, 0, 3);
    tcase_add_test(tc, test_two_reporters);
    tcase_add_loop_test(tc, test_overflow_then_handler, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("timeouts");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_timer_aborts);
    suite_add_tcase(s, tc);
    return s;
}
