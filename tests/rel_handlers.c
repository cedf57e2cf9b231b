/* SPDX-License-Identifier: MIT */
/*
 * The library and the other SIGSEGV handlers of a program.
 *
 *  - A handler installed before the library receives exactly its own
 *    faults, with the original siginfo and context, whatever its flags
 *    (SA_SIGINFO or not, SA_RESETHAND), and whether the fault happens on
 *    the thread's stack or inside a task.  SIG_IGN is treated like SIG_DFL
 *    for real faults, as the kernel does.  With the default action, a fault
 *    outside any task kills the process by SIGSEGV (status 139 in a
 *    shell), and the library prints nothing: it is not its fault.
 *  - If the library's handler is replaced past its sigaction (a direct
 *    reference to libc's), or SIGSEGV is blocked, pgs_create and
 *    pgs_thread_init say EPERM instead of letting the next stack fault
 *    kill the process without a word.
 *  - A fault the handler cannot fix is passed on, never retried for ever:
 *    a write to a page of the running task's own stack made read-only.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include "internal.h"
#include "emulation.h"
#include "rel.h"
#include "sys.h"
#include "memcheck.h"

#define PAGE PGS_PAGE

/* ---- faults of the program's own --------------------------------------------- */

static char *ro_page;       /* mapped PROT_READ: writes fault SEGV_ACCERR */
static char *hole;          /* not mapped: reads fault SEGV_MAPERR */
static volatile sig_atomic_t calls;
static volatile sig_atomic_t wrong;     /* checks the handler failed */
static char report[256];    /* what the handler saw last, for messages */

/* The accesses that fault on purpose (memcheck is told so). */
static REL_NOINLINE void fault_write(char *p)
{
    VALGRIND_MAKE_MEM_DEFINED(p, 1);
    *(volatile char *)p = 42;
}

static REL_NOINLINE int fault_read(char *p)
{
    VALGRIND_MAKE_MEM_DEFINED(p, 1);
    return *(volatile char *)p;
}

/* Whether ip lies in fn, a function of a few instructions (a few hundred
 * bytes with a sanitizer's or valgrind's requests around them). */
static int in_function(uintptr_t ip, void (*fn)(void))
{
    return ip >= (uintptr_t)fn && ip < (uintptr_t)fn + 1024;
}

static void make_pages(void)
{
    ro_page = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, PAGE);
}

/* Fix what faulted, so that the retried instruction succeeds. */
static void repair(void *addr)
{
    if ((char *)addr == ro_page)
        mprotect(ro_page, PAGE, PROT_READ | PROT_WRITE);
    else if ((char *)addr == hole)
        mmap(hole, PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* Expected by the handlers.  Volatile: the compiler can see that the
 * faulting functions do not read them, and would move the stores. */
static char *volatile expect_addr;
static volatile int expect_code;
static void (*volatile expect_fn)(void);

static void on_segv_info(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    uintptr_t ip = pgs__uc_pc(uc);
    calls++;
    if (sig != SIGSEGV || si->si_addr != expect_addr ||
        si->si_code != expect_code || !in_function(ip, expect_fn)) {
        wrong++;
        snprintf(report, sizeof report, "sig %d addr %p (expected %p) code "
                 "%d (expected %d) rip %#lx (function at %p)", sig,
                 si->si_addr, (void *)expect_addr, si->si_code, expect_code,
                 (unsigned long)ip, (void *)expect_fn);
    }
    repair(si->si_addr);
}

static void on_segv_plain(int sig)
{
    calls++;
    if (sig != SIGSEGV)
        wrong++;
    repair(expect_addr);
}

static void on_segv_once(int sig)
{
    calls++;
    (void)sig;
    static const char msg[] = "handler-called\n";
    ssize_t w = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)w;
    repair(expect_addr);
}

/* Provoke the program's two faults and say whether they were handled. */
static void own_faults(void)
{
    /* Fresh pages each time: the last round repaired the old ones. */
    make_pages();
    expect_addr = ro_page;
    expect_code = SEGV_ACCERR;
    expect_fn = (void (*)(void))fault_write;
    fault_write(ro_page);
    expect_addr = hole;
    expect_code = SEGV_MAPERR;
    expect_fn = (void (*)(void))fault_read;
    fault_read(hole);
}

static void *task_faults(void *arg)
{
    (void)arg;
    rel_grow(REL_MIB); /* stack growth: many faults that are the library's alone */
    own_faults();
    rel_grow(2 * REL_MIB);
    return NULL;
}

enum prior { P_INFO, P_PLAIN, P_RESETHAND, P_IGN, P_DFL };

static void install_prior(enum prior p)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    switch (p) {
    case P_INFO:
        sa.sa_sigaction = on_segv_info;
        sa.sa_flags = SA_SIGINFO;
        break;
    case P_PLAIN:
        sa.sa_handler = on_segv_plain;
        break;
    case P_RESETHAND:
        sa.sa_handler = on_segv_once;
        sa.sa_flags = SA_RESETHAND;
        break;
    case P_IGN:
        sa.sa_handler = SIG_IGN;
        break;
    case P_DFL:
        sa.sa_handler = SIG_DFL;
        break;
    }
    sigaction(SIGSEGV, &sa, NULL);
}

/* The prior handler sees the program's faults, on the thread's stack and
 * in a task, and none of the library's. */
static void child_prior(void *arg)
{
    enum prior p = (enum prior)(intptr_t)arg;
    install_prior(p);
    if (pgs_thread_init(NULL) != 0) {
        printf("init: %s\n", strerror(errno));
        return;
    }
    pgs_task *t = pgs_create(task_faults, NULL);
    if (!t || pgs_resume(t, NULL, NULL) != 0 || pgs_state(t) != PGS_DONE) {
        printf("task failed\n");
        return;
    }
    pgs_destroy(t);
    own_faults();
    struct pgs_stats st;
    pgs_stats(&st);
    printf("calls=%d wrong=%d faults>0=%d last: %s\n", (int)calls,
           (int)wrong, st.faults > 0, report);
}

static struct rel_result res;

START_TEST(test_prior_siginfo)
{
    ck_assert_int_eq(rel_run(child_prior, (void *)(intptr_t)P_INFO, 0, 20,
                             &res), 0);
    ck_assert_msg(strstr(res.out, "calls=4 wrong=0 faults>0=1"),
                  "an SA_SIGINFO handler installed before the library must get "
                  "exactly its 4 faults with their si_addr, si_code and "
                  "context: out %.300s err %.300s", res.out, res.err);
    ck_assert_int_eq(rel_diag_lines(res.err), 0);
}
END_TEST

START_TEST(test_prior_plain)
{
    ck_assert_int_eq(rel_run(child_prior, (void *)(intptr_t)P_PLAIN, 0, 20,
                             &res), 0);
    ck_assert_msg(strstr(res.out, "calls=4 wrong=0 faults>0=1"),
                  "a plain sa_handler installed before the library must get "
                  "exactly its 4 faults: out %.300s err %.300s", res.out,
                  res.err);
    ck_assert_int_eq(rel_diag_lines(res.err), 0);
}
END_TEST

/* SA_RESETHAND: the first of the program's faults reaches the handler
 * (after plenty of the library's faults), the second kills. */
static void child_resethand(void *arg)
{
    (void)arg;
    install_prior(P_RESETHAND);
    if (pgs_thread_init(NULL) != 0)
        return;
    pgs_task *t = pgs_create(task_faults, NULL);
    if (t)
        pgs_resume(t, NULL, NULL);
    printf("not reached\n");
}

START_TEST(test_prior_resethand)
{
    char st[64];
    ck_assert_int_eq(rel_run(child_resethand, NULL, 0, 20, &res), 0);
    ck_assert_msg(rel_died_by(&res, SIGSEGV) &&
                      !strcmp(res.out, "handler-called\n"),
                  "SA_RESETHAND: one delivery, then the default action "
                  "(%s; out %.200s; err %.300s)",
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
    ck_assert_int_eq(rel_diag_lines(res.err), 0);
}
END_TEST

/* SIG_IGN and SIG_DFL: a real fault kills, on the thread's stack or in a
 * task (at an address outside the regions). */
static void child_real_fault(void *arg)
{
    int how = (int)(intptr_t)arg;
    install_prior(how & 1 ? P_IGN : P_DFL);
    if (pgs_thread_init(NULL) != 0)
        return;
    make_pages();
    if (how & 2) {
        pgs_task *t = pgs_create(task_faults, NULL);
        if (t)
            pgs_resume(t, NULL, NULL);
    } else {
        fault_write(ro_page);
    }
    printf("survived a real fault\n");
}

START_TEST(test_real_fault_kills)
{
    static const char *const names[4] = { "SIG_DFL on the thread's stack",
                                          "SIG_IGN on the thread's stack",
                                          "SIG_DFL in a task",
                                          "SIG_IGN in a task" };
    char st[64];
    ck_assert_int_eq(rel_run(child_real_fault, (void *)(intptr_t)_i, 0, 20,
                             &res), 0);
    ck_assert_msg(rel_died_by(&res, SIGSEGV),
                  "%s: a real fault must kill by SIGSEGV (%s, out %.200s)",
                  names[_i], rel_status_str(rel_status(&res), st, sizeof st),
                  res.out);
    ck_assert_msg(rel_diag_lines(res.err) == 0,
                  "%s: not the library's fault, yet it said: %.300s",
                  names[_i], res.err);
}
END_TEST

/* A shell's view: the helper faults outside any task; sh reports 139.
 * RLIMIT_CORE is 0 in the helper, so no core is written. */
START_TEST(test_shell_status_139)
{
    char exe[4096], cmd[8400], line[256] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert(n > 0);
    exe[n] = '\0';
    /* Under emulation the helper runs under the emulator, which dies by
     * the signal its program died by. */
    const char *emu = emu_active() ? getenv("PGS_EMULATOR") : "";
    snprintf(cmd, sizeof cmd,
             "%s '%s' --helper segv-outside-task 2>/dev/null; echo status=$?",
             emu, exe);
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    pclose(p);
    ck_assert_msg(!strcmp(line, "status=139\n"),
                  "a fault outside any task must look like SIGSEGV (139) "
                  "to a shell, got: %s", line);
}
END_TEST

/* ---- a handler that replaces the library's, and blocked SIGSEGV ----------------- */

static void not_chaining(int sig)
{
    (void)sig;
    _exit(99);
}

static void *noop(void *arg)
{
    return arg;
}

/* Create up to `max` tasks: returns how many creates it took to get EPERM
 * (0 if none failed); destroys what it created. */
static int creates_until_eperm(int max)
{
    static pgs_task *t[PGS_CHECK_EVERY + 1];
    int n = 0, failed_at = 0;
    for (int i = 1; i <= max; i++) {
        pgs_task *x = pgs_create(noop, NULL);
        if (!x) {
            ck_assert_msg(errno == EPERM, "create %d failed with %s, not "
                          "EPERM", i, strerror(errno));
            failed_at = i;
            break;
        }
        t[n++] = x;
    }
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pgs_destroy(t[i]), 0);
    return failed_at;
}

START_TEST(test_replaced_handler_eperm)
{
    /* Replaced after a few creates, so the check is not simply the
     * thread's first. */
    ck_assert_int_eq(creates_until_eperm(5), 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = not_chaining;
    sigemptyset(&sa.sa_mask);
    /* Past the library's sigaction, as a program that bound libc's before
     * the library was loaded (dlopen): the library cannot see it. */
    ck_assert_int_eq(pgs__real_sigaction(SIGSEGV, &sa, NULL), 0);
    int at = creates_until_eperm(PGS_CHECK_EVERY);
    ck_assert_msg(at > 0 && at <= (int)PGS_CHECK_EVERY,
                  "with the handler replaced, pgs_create must fail with "
                  "EPERM within %u creates (failed at %d)", PGS_CHECK_EVERY,
                  at);
}
END_TEST

START_TEST(test_blocked_before_init_eperm)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &s, NULL), 0);
    errno = 0;
    ck_assert_int_eq(pgs_thread_init(NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    errno = 0;
    ck_assert_ptr_null(pgs_create(noop, NULL));
    ck_assert_int_eq(errno, EPERM);
    /* Unblocked, the thread works. */
    ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &s, NULL), 0);
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    ck_assert_int_eq(creates_until_eperm(3), 0);
    ck_assert_int_eq(pgs_thread_fini(), 0);
}
END_TEST

static void *blocked_thread(void *arg)
{
    int *out = arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    errno = 0;
    out[0] = pgs_thread_init(NULL);
    out[1] = errno;
    return NULL;
}

START_TEST(test_blocked_in_thread_eperm)
{
    /* The main thread works; a thread that blocks SIGSEGV is refused. */
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    int out[2];
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, blocked_thread, out), 0);
    pthread_join(th, NULL);
    ck_assert_msg(out[0] == -1 && out[1] == EPERM,
                  "pgs_thread_init with SIGSEGV blocked: %d, %s", out[0],
                  strerror(out[1]));
    ck_assert_int_eq(pgs_thread_fini(), 0);
}
END_TEST

START_TEST(test_blocked_after_init_eperm)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    ck_assert_int_eq(creates_until_eperm(5), 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &s, NULL), 0);
    int at = creates_until_eperm(PGS_CHECK_EVERY);
    ck_assert_msg(at > 0 && at <= (int)PGS_CHECK_EVERY,
                  "with SIGSEGV blocked, pgs_create must fail with EPERM "
                  "within %u creates (failed at %d)", PGS_CHECK_EVERY, at);
    ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &s, NULL), 0);
}
END_TEST

/* ---- a fault the handler cannot fix is not retried for ever ---------------------- */

static void *readonly_own_stack(void *arg)
{
    (void)arg;
    volatile char here = 0;
    rel_grow(128 * REL_KIB); /* the pages below are mapped now, and stay */
    char *page = (char *)(((uintptr_t)&here & ~(uintptr_t)(PAGE - 1)) -
                          16 * PAGE);
    if (mprotect(page, PAGE, PROT_READ) != 0) {
        printf("mprotect: %s\n", strerror(errno));
        return NULL;
    }
    *(volatile char *)page = 1;
    printf("the write succeeded\n");
    return NULL;
}

static void child_readonly(void *arg)
{
    (void)arg;
    alarm(10); /* a loop in the handler ends as SIGALRM */
    pgs_task *t = pgs_create(readonly_own_stack, NULL);
    if (t)
        pgs_resume(t, NULL, NULL);
    printf("survived\n");
}

START_TEST(test_no_loop_on_mapped_page)
{
    char st[64];
    ck_assert_int_eq(rel_run(child_readonly, NULL, 0, 30, &res), 0);
    ck_assert_msg(rel_died_by(&res, SIGSEGV),
                  "a write to a read-only page of the task's own stack must "
                  "be passed on and kill by SIGSEGV, not loop (%s; out "
                  "%.200s; err %.300s)",
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
}
END_TEST

Suite *rel_handlers_suite(void)
{
    Suite *s = suite_create("handlers");
    TCase *tc = tcase_create("prior");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_prior_siginfo);
    tcase_add_test(tc, test_prior_plain);
    tcase_add_test(tc, test_prior_resethand);
    tcase_add_loop_test(tc, test_real_fault_kills, 0, 4);
    tcase_add_test(tc, test_shell_status_139);
    suite_add_tcase(s, tc);

    tc = tcase_create("eperm");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_replaced_handler_eperm);
    tcase_add_test(tc, test_blocked_before_init_eperm);
    tcase_add_test(tc, test_blocked_in_thread_eperm);
    tcase_add_test(tc, test_blocked_after_init_eperm);
    suite_add_tcase(s, tc);

    tc = tcase_create("noloop");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_no_loop_on_mapped_page);
    suite_add_tcase(s, tc);
    return s;
}
