/* SPDX-License-Identifier: MIT */
/*
 * A SIGSEGV that some process sent (kill, raise, tgkill, sigqueue) is never
 * a page fault, even when it is sent from inside a task and its siginfo
 * carries an address inside the task's region that is not mapped yet.
 * With a handler installed before the library, that handler gets the
 * signal with its original si_code; without one, the process dies by
 * SIGSEGV as it would without the library, and the library says nothing.
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "rel.h"
#include "memcheck.h"

enum method { M_KILL, M_RAISE, M_TGKILL, M_SIGQUEUE, M_CRAFTED, M_COUNT };
static const char *const method_names[M_COUNT] = {
    "kill", "raise", "tgkill", "sigqueue", "rt_tgsigqueueinfo"
};
static const int method_codes[M_COUNT] = {
    SI_USER, SI_TKILL, SI_TKILL, SI_QUEUE, SI_QUEUE
};

struct sent {
    enum method method;
    int handler;        /* 1: SA_SIGINFO handler, 2: SIG_IGN, 0: none */
    int in_task;        /* send from inside a task, else from main */
};

static void *target;    /* an unmapped address inside the task's region */
static volatile sig_atomic_t got;
static volatile int got_code;
static void *volatile got_addr;
static void *volatile got_value;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    got++;
    got_code = si->si_code;
    got_addr = si->si_addr;
    got_value = si->si_value.sival_ptr;
}

static void send(enum method m)
{
    switch (m) {
    case M_KILL:
        kill(getpid(), SIGSEGV);
        break;
    case M_RAISE:
        raise(SIGSEGV);
        break;
    case M_TGKILL:
        syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSEGV);
        break;
    case M_SIGQUEUE:
        sigqueue(getpid(), SIGSEGV, (union sigval){ .sival_ptr = target });
        break;
    case M_CRAFTED: {
        /* A siginfo whose si_addr is the region address: for SI_QUEUE it
         * shares its bytes with si_pid and si_uid, which the kernel does
         * not check for a signal a thread sends itself. */
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_signo = SIGSEGV;
        si.si_code = SI_QUEUE;
        si.si_value.sival_ptr = target;
        si.si_addr = target;
        syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid),
                SIGSEGV, &si);
        break;
    }
    default:
        break;
    }
}

static void *sender(void *arg)
{
    const struct sent *s = arg;
    volatile char here = 0;
    /* A page below what the task has mapped: `here` is within a page of
     * the region's top, and the task holds the top pages.  Inside the
     * region, not mapped, and near enough to the stack pointer that a
     * real fault there would be growth. */
    uintptr_t top = ((uintptr_t)&here + 4095) & ~(uintptr_t)4095;
    target = (void *)(top - pgs_task_stack_bytes(pgs_self()) - 4096);
    pgs_yield(NULL);
    if (s->in_task)
        send(s->method);
    return NULL;
}

static void child(void *arg)
{
    const struct sent *s = arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (s->handler == 1) {
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, NULL);
    } else if (s->handler == 2) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGSEGV, &sa, NULL);
    }
    if (pgs_thread_init(NULL) != 0) {
        printf("init failed: %s\n", strerror(errno));
        return;
    }
    pgs_task *t = pgs_create(sender, (void *)s);
    if (!t || pgs_resume(t, NULL, NULL) != 0) {
        printf("task failed: %s\n", strerror(errno));
        return;
    }
    struct pgs_stats before, after;
    pgs_stats(&before);
    size_t bytes = pgs_task_stack_bytes(t);
    if (s->in_task)
        pgs_resume(t, NULL, NULL);
    else
        send(s->method);
    pgs_stats(&after);
    printf("survived got=%d code=%d addr_ok=%d value_ok=%d faults=%llu "
           "grew=%d\n", (int)got, got_code, got_addr == target,
           got_value == target,
           (unsigned long long)(after.faults - before.faults),
           s->in_task ? 0 : pgs_task_stack_bytes(t) != bytes);
}

START_TEST(test_sent_segv)
{
    static struct rel_result res;
    char fails[4096] = "";
    size_t flen = 0;
    int runs = 0;
    for (int m = 0; m < M_COUNT; m++)
        for (int handler = 0; handler <= 2; handler++)
            for (int in_task = 0; in_task <= 1; in_task++) {
                /* Valgrind (3.19) drops a SIGSEGV queued with a value
                 * (sigqueue, rt_tgsigqueueinfo) before the program sees
                 * it: nothing to test there. */
                if (m >= M_SIGQUEUE && RUNNING_ON_VALGRIND)
                    continue;
                struct sent s = { (enum method)m, handler, in_task };
                char what[128], st[64];
                snprintf(what, sizeof what, "%s from %s, %s", method_names[m],
                         in_task ? "a task" : "main",
                         handler == 1 ? "handler installed before"
                         : handler == 2 ? "SIG_IGN" : "no handler");
                ck_assert_int_eq(rel_run(child, &s, 0, 20, &res), 0);
                runs++;
                const char *why = NULL;
                char exp[128];
                if (rel_diag_lines(res.err))
                    why = "the library printed a diagnostic";
                else if (handler == 0) {
                    if (!rel_died_by(&res, SIGSEGV))
                        why = "the process did not die by SIGSEGV";
                } else if (handler == 2) {
                    if (!strstr(res.out, "survived got=0 ") ||
                        !strstr(res.out, "faults=0 grew=0"))
                        why = "an ignored sent SIGSEGV did something";
                } else {
                    /* The handler sees the signal once, with its code, and
                     * the task's stack did not grow because of it. */
                    snprintf(exp, sizeof exp, "survived got=1 code=%d ",
                             method_codes[m]);
                    if (!strstr(res.out, exp))
                        why = "the handler did not get it once with its "
                              "si_code";
                    else if (m == M_CRAFTED && !strstr(res.out, "addr_ok=1"))
                        why = "si_addr was changed on the way";
                    else if (m >= M_SIGQUEUE &&
                             !strstr(res.out, "value_ok=1"))
                        why = "si_value was changed on the way";
                    else if (!strstr(res.out, "faults=0 grew=0"))
                        why = "it was taken for a page fault";
                }
                if (why)
                    flen += (size_t)snprintf(fails + flen, sizeof fails - flen,
                                             "\n  %s: %s (%s; out: %.100s; "
                                             "err: %.200s)", what, why,
                                             rel_status_str(rel_status(&res),
                                                            st, sizeof st),
                                             res.out, res.err);
                if (flen >= sizeof fails - 1)
                    flen = sizeof fails - 1;
            }
    printf("# sent SIGSEGV: %d cases\n", runs);
    ck_assert_msg(flen == 0, "sent SIGSEGV mishandled:%.3000s", fails);
}
END_TEST

Suite *rel_sent_suite(void)
{
    Suite *s = suite_create("sent");
    TCase *tc = tcase_create("sent");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sent_segv);
    suite_add_tcase(s, tc);
    return s;
}
