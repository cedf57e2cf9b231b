/* SPDX-License-Identifier: MIT */
/*
 * Invariant 5 with a handler of the program's own: a SIGSEGV handler
 * installed before the library still receives its own faults (a PROT_NONE
 * page outside every region), with the right si_addr and si_code, from the
 * thread's own stack and from inside a task; it can siglongjmp out; and
 * task stacks still grow afterwards.  Variants: no alternate signal stack
 * of the program's own, a large one (the library keeps it), a small one
 * (the library replaces it, and puts it back at pgs_thread_fini).
 */
#include "config.h"
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "core_util.h"
#include "internal.h"
#include "memcheck.h"

#define V(x) ((void *)(uintptr_t)(x))

static sigjmp_buf jb;
static volatile sig_atomic_t seen_count;
static void *volatile seen_addr;
static volatile int seen_code;
static volatile int jump_out;
static volatile int seen_blocked; /* SIGSEGV blocked while the handler ran */

static void user_handler(int sig, siginfo_t *si, void *uc)
{
    sigset_t now;
    seen_count++;
    seen_addr = si->si_addr;
    seen_code = si->si_code;
    seen_blocked = pthread_sigmask(SIG_BLOCK, NULL, &now) == 0 &&
                   sigismember(&now, SIGSEGV) == 1;
    if (jump_out)
        siglongjmp(jb, 1);
}

/* Touch p; returns 1 if the handler jumped out of the fault.  The store
 * into a protected page is the point (memcheck is told so). */
static CORE_NOINLINE int touch(volatile char *p)
{
    VALGRIND_MAKE_MEM_UNDEFINED((char *)p, 1);
    jump_out = 1;
    if (sigsetjmp(jb, 1) == 0) {
        *p = 1;
        jump_out = 0;
        return 0;
    }
    jump_out = 0;
    return 1;
}

static int segv_blocked(void)
{
    sigset_t s;
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &s), 0);
    return sigismember(&s, SIGSEGV);
}

static char *prot_none;

static void expect_fault_at(char *p, int count)
{
    ck_assert_int_eq(touch(p), 1);
    ck_assert_int_eq(seen_count, count);
    ck_assert_ptr_eq(seen_addr, p);
    ck_assert_int_eq(seen_code, SEGV_ACCERR);
    /* It ran as the kernel would have run it (no SA_NODEFER: SIGSEGV
     * blocked), and the jump out restored the mask. */
    ck_assert_int_eq(seen_blocked, 1);
    ck_assert_int_eq(segv_blocked(), 0);
}

static void *fn_faulting_task(void *arg)
{
    expect_fault_at(prot_none + 200, 3);
    /* The task's stack still grows, and keeps its contents. */
    struct core_stask s = { .id = 7, .depth = CORE_MIB, .rounds = 2,
                            .task = pgs_self() };
    core_stask_descend(&s);
    /* And from deep down in the stack, once more. */
    expect_fault_at(prot_none + 300, 4);
    /* A sent SIGSEGV is the program's too. */
    raise(SIGSEGV);
    ck_assert_int_eq(seen_count, 5);
    ck_assert_int_eq(seen_code, SI_TKILL);
    return V(0x5e);
}

START_TEST(handler_installed_before)
{
    int variant = _i;
    core_no_core_dumps();
    stack_t user_alt = { .ss_flags = SS_DISABLE };
    if (variant) {
        size_t sz = variant == 1 ? 256 << 10 : 32 << 10;
        user_alt.ss_sp = malloc(sz);
        user_alt.ss_size = sz;
        user_alt.ss_flags = 0;
        ck_assert_int_eq(sigaltstack(&user_alt, NULL), 0);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = user_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | (variant ? SA_ONSTACK : 0);
    ck_assert_int_eq(sigaction(SIGSEGV, &sa, NULL), 0);

    prot_none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                     0);
    ck_assert_ptr_ne(prot_none, MAP_FAILED);

    /* The handler works on its own... */
    expect_fault_at(prot_none, 1);
    /* ...and still once the library is there. */
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    /* The library's handler is first; the program's sigaction still
     * reports the program's own. */
    ck_assert(pgs__handler_ours());
    struct sigaction now;
    ck_assert_int_eq(sigaction(SIGSEGV, NULL, &now), 0);
    ck_assert_ptr_eq((void *)now.sa_sigaction, (void *)user_handler);
    expect_fault_at(prot_none + 100, 2);

    pgs_task *t = pgs_create(fn_faulting_task, NULL);
    ck_assert_ptr_nonnull(t);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_ptr_eq(out, core_stask_ytag(7, 1));
    ck_assert_int_eq(pgs_resume(t, core_stask_itag(7, 2), &out), 0);
    ck_assert_ptr_eq(out, core_stask_ytag(7, 2));
    ck_assert_int_eq(pgs_resume(t, core_stask_itag(7, 3), &out), 0);
    ck_assert_ptr_eq(out, V(0x5e));
    ck_assert_int_eq(pgs_destroy(t), 0);

    /* Growth works for new tasks, and the program's faults still reach
     * the program. */
    struct core_stask v[4];
    for (unsigned i = 0; i < 4; i++)
        v[i] = (struct core_stask){ .id = i + 1, .depth = (i + 1) * 300 << 10,
                                    .rounds = 2 };
    core_stasks_run(v, 4, 5);
    ck_assert_uint_gt(core_stats().faults, 0);
    expect_fault_at(prot_none + 400, 6);

    /* The library kept a large enough alternate stack of the program's,
     * and puts back a small one when the thread is finished. */
    stack_t cur;
    ck_assert_int_eq(sigaltstack(NULL, &cur), 0);
    if (variant == 1)
        ck_assert_ptr_eq(cur.ss_sp, user_alt.ss_sp);
    else
        ck_assert_ptr_ne(cur.ss_sp, user_alt.ss_sp);
    ck_assert_int_eq(pgs_thread_fini(), 0);
    ck_assert_int_eq(sigaltstack(NULL, &cur), 0);
    if (variant) {
        ck_assert_ptr_eq(cur.ss_sp, user_alt.ss_sp);
        ck_assert_uint_eq(cur.ss_size, user_alt.ss_size);
    } else {
        ck_assert_int_ne(cur.ss_flags & SS_DISABLE, 0);
    }
    /* Valgrind (3.19) keeps delivering on an alternate stack that was
     * disabled after a handler left it by siglongjmp, so with the
     * library's stack gone this last fault cannot be taken there. */
    if (variant || !RUNNING_ON_VALGRIND)
        expect_fault_at(prot_none + 500, 7);
    if (variant) {
        stack_t off = { .ss_flags = SS_DISABLE };
        ck_assert_int_eq(sigaltstack(&off, NULL), 0);
        free(user_alt.ss_sp);
    }
}
END_TEST

/* A program whose handler returns (SIG_IGN-like) for a sent SIGSEGV:
 * growth faults never reach it. */
START_TEST(handler_not_called_for_growth)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = user_handler;
    sa.sa_flags = SA_SIGINFO;
    ck_assert_int_eq(sigaction(SIGSEGV, &sa, NULL), 0);
    seen_count = 0;
    struct core_stask v[3];
    for (unsigned i = 0; i < 3; i++)
        v[i] = (struct core_stask){ .id = i + 1, .depth = (i + 1) * CORE_MIB,
                                    .big = 1, .rounds = 2 };
    core_stasks_run(v, 3, 9);
    ck_assert_uint_gt(core_stats().faults, 3);
    ck_assert_int_eq(seen_count, 0);
}
END_TEST

/*
 * Invariant 2's headroom: a signal whose handler does not run on the
 * alternate stack (a profiler's SIGPROF, here SIGUSR1) pushes its frame
 * below the task's stack pointer, wherever the task is; the handler runs,
 * uses some stack of its own, and the task goes on intact.
 */
static volatile sig_atomic_t usr1_count;

static void usr1_handler(int sig)
{
    volatile char use[4096];
    use[0] = 1;
    use[sizeof use - 1] = 2;
    usr1_count += use[0];
}

static CORE_NOINLINE long signal_at_depth(size_t bytes, int *raised)
{
    volatile char pad[1000];
    pad[0] = 3;
    long r = 0;
    if (bytes > sizeof pad)
        r = signal_at_depth(bytes - sizeof pad - 24, raised);
    if (bytes % (37 << 10) < 1024) { /* now and then on the way up */
        raise(SIGUSR1);
        ++*raised;
    }
    return r + pad[0];
}

static void *fn_signalled(void *arg)
{
    int raised = 0;
    long r = 0;
    for (size_t d = 0; d <= (2 << 20); d += 256 << 10) {
        r += signal_at_depth(d, &raised);
        pgs_yield(V(raised));
    }
    return V(r);
}

START_TEST(signal_without_altstack_in_task)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = usr1_handler;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    struct pgs_config cfg = { .regions = (unsigned)_i };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    pgs_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = pgs_create(fn_signalled, NULL);
    int live = 3;
    void *out = NULL;
    while (live) {
        live = 0;
        for (int i = 0; i < 3; i++) {
            if (pgs_state(t[i]) == PGS_DONE)
                continue;
            ck_assert_int_eq(pgs_resume(t[i], NULL, &out), 0);
            if (pgs_state(t[i]) == PGS_SUSPENDED) {
                live++;
                ck_assert_int_gt((int)(uintptr_t)out, 0);
            }
        }
    }
    ck_assert_int_gt(usr1_count, 30);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pgs_destroy(t[i]), 0);
}
END_TEST

void core_add_signals(Suite *s)
{
    TCase *tc = core_tcase(s, "signals");
    tcase_add_loop_test(tc, handler_installed_before, 0, 3);
    tcase_add_test(tc, handler_not_called_for_growth);
    tcase_add_loop_test(tc, signal_without_altstack_in_task, 1, 3);
}
