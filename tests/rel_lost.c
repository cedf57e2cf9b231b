/* SPDX-License-Identifier: MIT */
/*
 * No signal is ever lost in a thread that runs tasks.
 *
 * A signal handler that runs on a task's stack needs its frame written
 * below the task's stack pointer.  A task can always reach the bottom of
 * what is mapped without faulting; a signal that arrives then cannot get
 * its frame written, the kernel replaces it by a SIGSEGV (si_code
 * SI_KERNEL) and the signal is gone.  So every handler must run on the
 * thread's alternate signal stack, whoever installed it and when: through
 * the program's sigaction (which the library interposes) or before the
 * library, bypassing it (the library adds SA_ONSTACK when it starts).
 *
 *  - Deterministic: a task moves its stack pointer 64 KiB down in one step
 *    and sends itself SIGUSR1 before touching anything: the handler runs.
 *  - Realistic: a task recurses, then works at the bottom of what is
 *    mapped, while another thread sends 50,000 real-time signals: the
 *    handler runs for every one.
 *  - sigaltstack: a thread that runs tasks cannot lose its alternate stack
 *    (SS_DISABLE, or one too small, is refused with EPERM and a message),
 *    and may replace it with a large enough one of its own.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "internal.h"
#include "sys.h"
#include "rel.h"

/* How a handler is installed. */
enum how {
    H_SIGACTION,   /* the program's sigaction, after the library started */
    H_SIGNAL,      /* the program's signal(), after the library started */
    H_BEFORE,      /* libc's own sigaction, as a program that bound it
                      before the library was loaded, before the library
                      started */
};
static const char *const how_names[] = { "sigaction after the library",
                                         "signal() after the library",
                                         "installed before the library" };

static void install(int sig, void (*fn)(int), enum how how)
{
    if (how == H_SIGNAL) {
        signal(sig, fn);
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;     /* no SA_ONSTACK asked for */
    sigemptyset(&sa.sa_mask);
    if (how == H_BEFORE)
        pgs__real_sigaction(sig, &sa, NULL);
    else
        sigaction(sig, &sa, NULL);
}

/* ---- deterministic: 64 KiB below the stack pointer ------------------------ */

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

/* Move the stack pointer 64 KiB down, send SIGUSR1 to this thread with
 * nothing touched in between (the signal is delivered as the system call
 * returns), and move it back. */
static REL_NOINLINE void signal_far_below(void)
{
    long pid = getpid(), tid = syscall(SYS_gettid);
#if defined(__x86_64__)
    long ret;
    __asm__ volatile("mov %%rsp, %%r12\n\t"
                     "sub $65536, %%rsp\n\t"
                     "syscall\n\t"
                     "mov %%r12, %%rsp"
                     : "=a"(ret)
                     : "0"((long)SYS_tgkill), "D"(pid), "S"(tid),
                       "d"((long)SIGUSR1)
                     : "rcx", "r11", "r12", "memory");
    (void)ret;
#elif defined(__aarch64__)
    register long x0 __asm__("x0") = pid;
    register long x1 __asm__("x1") = tid;
    register long x2 __asm__("x2") = SIGUSR1;
    register long x8 __asm__("x8") = SYS_tgkill;
    __asm__ volatile("mov x9, sp\n\t"
                     "sub sp, sp, #16, lsl #12\n\t" /* 64 KiB */
                     "svc #0\n\t"
                     "mov sp, x9"
                     : "+r"(x0)
                     : "r"(x1), "r"(x2), "r"(x8)
                     : "x9", "memory");
#endif
}

static void *task_far_below(void *arg)
{
    (void)arg;
    signal_far_below();
    return NULL;
}

static void child_far_below(void *arg)
{
    enum how how = (enum how)(intptr_t)arg;
    if (how == H_BEFORE)
        install(SIGUSR1, on_usr1, how);
    if (pgs_thread_init(NULL) != 0) {
        printf("init: %s\n", strerror(errno));
        return;
    }
    if (how != H_BEFORE)
        install(SIGUSR1, on_usr1, how);
    pgs_task *t = pgs_create(task_far_below, NULL);
    if (!t || pgs_resume(t, NULL, NULL) != 0) {
        printf("task: %s\n", strerror(errno));
        return;
    }
    pgs_destroy(t);
    printf("handled=%d\n", (int)usr1);
}

START_TEST(test_far_below_rsp)
{
    static struct rel_result res;
    char st[64];
    ck_assert_int_eq(rel_run(child_far_below, (void *)(intptr_t)_i, 0, 20,
                             &res), 0);
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "%s: %s (out %.200s, err %.300s)", how_names[_i],
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
    ck_assert_msg(strstr(res.out, "handled=1\n"),
                  "%s: SIGUSR1 sent with the task's stack pointer 64 KiB "
                  "below what is mapped must reach its handler once: %.200s",
                  how_names[_i], res.out);
}
END_TEST

/*
 * A handler installed past the library without SA_ONSTACK (through a
 * direct reference to libc's sigaction, which the library cannot see) can
 * still lose its frame.  When the stack cannot grow to take it (the
 * thread's cap), the library's report is followed by death by SIGSEGV:
 * nothing faults again after an SI_KERNEL fault, and the process must not
 * run on.
 */
static void child_lost_and_exhausted(void *arg)
{
    (void)arg;
    struct pgs_config cfg = { .regions = 1, .max_stack_bytes = 48 * REL_KIB };
    if (pgs_thread_init(&cfg) != 0) {
        printf("init: %s\n", strerror(errno));
        return;
    }
    install(SIGUSR1, on_usr1, H_BEFORE);
    pgs_task *t = pgs_create(task_far_below, NULL);
    if (!t) {
        printf("create: %s\n", strerror(errno));
        return;
    }
    pgs_resume(t, NULL, NULL);
    printf("survived: handled=%d\n", (int)usr1);
}

START_TEST(test_lost_frame_exhausted_dies)
{
    static struct rel_result res;
    char st[64];
    ck_assert_int_eq(rel_run(child_lost_and_exhausted, NULL, 0, 20, &res),
                     0);
    ck_assert_msg(rel_died_by(&res, SIGSEGV) &&
                      strstr(res.err, "stack memory exhausted"),
                  "a signal frame that cannot be mapped under the cap: the "
                  "report, then death by SIGSEGV (%s, out %.200s, err "
                  "%.300s)", rel_status_str(rel_status(&res), st, sizeof st),
                  res.out, res.err);
}
END_TEST

/* ---- realistic: 50,000 real-time signals at the bottom of the stack ------ */

#define STORM 50000

static volatile long rt_handled;
static volatile int storm_done;
static long storm_sent;
static pthread_t worker;

static void on_rt(int sig)
{
    (void)sig;
    __atomic_add_fetch(&rt_handled, 1, __ATOMIC_RELAXED);
}

/* Signals spread over time: a pause of a random length between two,
 * and a full queue (EAGAIN) lets the worker catch up. */
static void *sender(void *arg)
{
    (void)arg;
    union sigval v = { .sival_int = 0 };
    unsigned seed = 1;
    for (long i = 0; i < STORM; i++) {
        while (pthread_sigqueue(worker, SIGRTMIN, v) != 0)
            sched_yield();
        storm_sent++;
        seed = seed * 1103515245u + 12345u;
        for (unsigned k = (seed >> 16) % 4000; k; k--)
            pgs__cpu_relax();
    }
    __atomic_store_n(&storm_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Work with the stack pointer a few hundred bytes above the bottom of
 * what is mapped: where a signal frame no longer fits. */
static volatile char stack_sum;

static REL_NOINLINE void work_at_bottom(void)
{
    struct pgs_thread *th = pgs__tls;
    const struct pgs_region *r = pgs__region_of(th, pgs_self());
    uintptr_t bottom = (uintptr_t)r->top - r->mapped * PGS_PAGE;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    /* Stay within a few hundred KiB of the frame: a grow maps more below. */
    size_t n = here - bottom > 600 ? here - bottom - 600 : 0;
    if (n > 512 * REL_KIB)
        n = 512 * REL_KIB;
    volatile char buf[n + 1];
    for (int k = 0; k < 40; k++) {
        for (size_t i = 0; i <= n; i += 64)
            buf[i] = (char)k;
    }
    stack_sum += buf[0];
}

static REL_NOINLINE long recurse(int levels)
{
    volatile char pad[3000];
    pad[0] = (char)levels;
    long r = 0;
    if (levels > 0)
        r = recurse(levels - 1);
    else
        work_at_bottom();
    return r + pad[0];
}

static void *task_storm(void *arg)
{
    (void)arg;
    for (unsigned i = 0;; i++) {
        /* Every other round goes 1.2 MiB deep.  Yielding after it gives
         * the pages below back: the next round faults its way down again
         * and has a fresh bottom to work at. */
        recurse(i % 2 ? 400 : 10 + (int)(i * 7 % 100));
        pgs_yield(NULL);
    }
    return NULL;
}

static int rt_pending(void)
{
    sigset_t s;
    sigpending(&s);
    return sigismember(&s, SIGRTMIN) == 1;
}

static void child_storm(void *arg)
{
    enum how how = (enum how)(intptr_t)arg;
    worker = pthread_self();
    if (how == H_BEFORE)
        install(SIGRTMIN, on_rt, how);
    if (pgs_thread_init(NULL) != 0) {
        printf("init: %s\n", strerror(errno));
        return;
    }
    if (how != H_BEFORE)
        install(SIGRTMIN, on_rt, how);
    pgs_task *t = pgs_create(task_storm, NULL);
    pthread_t s;
    if (!t || pthread_create(&s, NULL, sender, NULL) != 0)
        return;
    while (!__atomic_load_n(&storm_done, __ATOMIC_ACQUIRE) || rt_pending())
        if (pgs_resume(t, NULL, NULL) != 0) {
            printf("resume: %s\n", strerror(errno));
            return;
        }
    pthread_join(s, NULL);
    struct pgs_stats st;
    pgs_stats(&st);
    printf("sent=%ld handled=%ld lost=%ld faults=%llu\n", storm_sent,
           (long)rt_handled, storm_sent - (long)rt_handled,
           (unsigned long long)st.faults);
}

static void storm(enum how how)
{
    static struct rel_result res;
    char st[64];
    ck_assert_int_eq(rel_run(child_storm, (void *)(intptr_t)how, 0, 120,
                             &res), 0);
    printf("# storm, %s: %s", how_names[how], res.out);
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "%s: %s (out %.200s, err %.300s)", how_names[how],
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
    long sent = -1, handled = -1, lost = -1;
    ck_assert_msg(sscanf(res.out, "sent=%ld handled=%ld lost=%ld", &sent,
                         &handled, &lost) == 3,
                  "%s: no report: %.200s", how_names[how], res.out);
    ck_assert_msg(sent == STORM && lost == 0,
                  "%s: %ld of %ld real-time signals lost while a task "
                  "worked at the bottom of its mapped stack", how_names[how],
                  lost, sent);
}

START_TEST(test_storm_none_lost_after)
{
    storm(H_SIGACTION);
}
END_TEST

START_TEST(test_storm_none_lost_before)
{
    storm(H_BEFORE);
}
END_TEST

/* ---- sigaltstack in a thread that runs tasks ------------------------------- */


static void *task_grow(void *arg)
{
    rel_grow((size_t)(uintptr_t)arg);
    signal_far_below();
    return NULL;
}

/* Whether a task can still grow 1 MiB and take a signal far below. */
static int tasks_work(void)
{
    int before = usr1;
    pgs_task *t = pgs_create(task_grow, (void *)(uintptr_t)REL_MIB);
    int ok = t && pgs_resume(t, NULL, NULL) == 0 &&
             pgs_state(t) == PGS_DONE;
    pgs_destroy(t);
    return ok && usr1 == before + 1;
}

static void *no_tasks_thread(void *arg)
{
    (void)arg;
    stack_t off = { .ss_flags = SS_DISABLE };
    return (void *)(intptr_t)sigaltstack(&off, NULL);
}

static void child_altstack(void *arg)
{
    (void)arg;
    install(SIGUSR1, on_usr1, H_SIGACTION);
    if (pgs_thread_init(NULL) != 0)
        return;
    stack_t off = { .ss_flags = SS_DISABLE }, cur;
    errno = 0;
    int r = sigaltstack(&off, NULL);
    printf("disable: %d %s\n", r, strerror(errno));
    sigaltstack(NULL, &cur);
    printf("still enabled: %d\n", !(cur.ss_flags & SS_DISABLE));
    printf("works after disable: %d\n", tasks_work());

    size_t small = 16 * REL_KIB;
    stack_t ss = { .ss_sp = malloc(small), .ss_size = small };
    errno = 0;
    r = sigaltstack(&ss, NULL);
    printf("small: %d %s\n", r, strerror(errno));

    size_t big = 1024 * REL_KIB;
    ss = (stack_t){ .ss_sp = malloc(big), .ss_size = big };
    r = sigaltstack(&ss, NULL);
    sigaltstack(NULL, &cur);
    printf("own: %d %d\n", r, cur.ss_sp == ss.ss_sp);
    printf("works on its own stack: %d\n", tasks_work());

    /* A thread that runs no tasks does as it pleases. */
    pthread_t th;
    void *ret = (void *)1;
    pthread_create(&th, NULL, no_tasks_thread, NULL);
    pthread_join(th, &ret);
    printf("other thread: %d\n", (int)(intptr_t)ret);
    /* Once the thread is done with tasks, so is the library. */
    printf("fini: %d\n", pgs_thread_fini());
    printf("after fini: %d\n", sigaltstack(&off, NULL));
}

START_TEST(test_sigaltstack_kept)
{
    static struct rel_result res;
    char st[64];
    ck_assert_int_eq(rel_run(child_altstack, NULL, 0, 20, &res), 0);
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "%s (out %.300s, err %.300s)",
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
    ck_assert_msg(strstr(res.out, "disable: -1 Operation not permitted\n"
                                  "still enabled: 1\n"
                                  "works after disable: 1\n"
                                  "small: -1 Operation not permitted\n"
                                  "own: 0 1\n"
                                  "works on its own stack: 1\n"
                                  "other thread: 0\n"
                                  "fini: 0\n"
                                  "after fini: 0\n"),
                  "sigaltstack in a thread that runs tasks: %.400s",
                  res.out);
    ck_assert_msg(rel_diag_lines(res.err) == 2 &&
                      strstr(res.err, "sigaltstack"),
                  "each refusal says so on stderr: %.400s", res.err);
}
END_TEST

Suite *rel_lost_suite(void)
{
    Suite *s = suite_create("lost");
    TCase *tc = tcase_create("onstack");
    tcase_set_timeout(tc, 150);
    tcase_add_loop_test(tc, test_far_below_rsp, 0, 3);
    /* signal() is sigaction underneath: the deterministic test covers it. */
    tcase_add_test(tc, test_storm_none_lost_after);
    tcase_add_test(tc, test_storm_none_lost_before);
    tcase_add_test(tc, test_sigaltstack_kept);
    tcase_add_test(tc, test_lost_frame_exhausted_dies);
    suite_add_tcase(s, tc);
    return s;
}
