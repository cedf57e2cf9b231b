/* SPDX-License-Identifier: MIT */
/*
 * Thread setup and its errors: pgs_thread_init and pgs_thread_fini (EBUSY,
 * EINVAL for every out-of-range field, EPERM, ENOMEM), and the errors of
 * pgs_create and pgs_resume that come from the thread's state rather than
 * the task's: EPERM when stack faults could not reach the library, ENOMEM
 * when memory cannot be had (the address space limited, or a failure
 * injected through lib/sys.h).  Nothing that existed before a failure is
 * lost, and nothing is left allocated.
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "core_util.h"
#include "emulation.h"
#include "internal.h"
#include "sys.h"
#include "track.h"

#define V(x) ((void *)(uintptr_t)(x))

/* ---- pgs_thread_init / pgs_thread_fini ------------------------------- */

START_TEST(thread_init_twice)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    errno = 0;
    ck_assert_int_eq(pgs_thread_init(NULL), -1);
    ck_assert_int_eq(errno, EBUSY);
    struct pgs_config c = { .regions = 2 };
    errno = 0;
    ck_assert_int_eq(pgs_thread_init(&c), -1);
    ck_assert_int_eq(errno, EBUSY);
}
END_TEST

static const struct pgs_config bad_configs[] = {
    { .stack_size = 1 },
    { .stack_size = (64 << 10) - 1 },
    { .stack_size = ((size_t)64 << 30) + 4096 },
    { .regions = 100000 },
    { .regions = 1025 },
    { .max_stack_bytes = 1 },
    { .max_stack_bytes = 4095 },
};

START_TEST(thread_init_bad_config)
{
    const struct pgs_config *c = &bad_configs[_i];
    errno = 0;
    ck_assert_int_eq(pgs_thread_init(c), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* Nothing was left behind: the thread is still uninitialised. */
    errno = 0;
    ck_assert_int_eq(pgs_thread_fini(), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    ck_assert_int_eq(pgs_thread_fini(), 0);
}
END_TEST

/* Edge values that are valid: the thread works with them. */
static const struct pgs_config good_configs[] = {
    { .stack_size = 64 << 10 },
    { .stack_size = (64 << 10) + 1 },   /* rounded up to pages */
    { .regions = 1 },
    { .regions = 1024, .stack_size = 64 << 10 },
    { .max_stack_bytes = 64 << 10 },
    { .stack_size = (size_t)1 << 30, .regions = 2 },
};

START_TEST(thread_init_good_config)
{
    const struct pgs_config *c = &good_configs[_i];
    ck_assert_int_eq(pgs_thread_init(c), 0);
    struct core_stask s = { .id = 1, .depth = core_depth(24 << 10),
                            .rounds = 2 };
    core_stasks_run(&s, 1, 1);
    ck_assert_int_eq(pgs_thread_fini(), 0);
}
END_TEST

START_TEST(thread_fini_errors)
{
    errno = 0;
    ck_assert_int_eq(pgs_thread_fini(), -1);
    ck_assert_int_eq(errno, EPERM);
    pgs_task *t = pgs_create(core_yield_forever, NULL);
    ck_assert_ptr_nonnull(t);
    errno = 0;
    ck_assert_int_eq(pgs_thread_fini(), -1); /* a CREATED task */
    ck_assert_int_eq(errno, EBUSY);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    errno = 0;
    ck_assert_int_eq(pgs_thread_fini(), -1); /* a SUSPENDED task */
    ck_assert_int_eq(errno, EBUSY);
    /* The refused fini changed nothing: the task still runs. */
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_int_eq(pgs_state(t), PGS_SUSPENDED);
    ck_assert_int_eq(pgs_destroy(t), 0);
    ck_assert_int_eq(pgs_thread_fini(), 0);
    errno = 0;
    ck_assert_int_eq(pgs_thread_fini(), -1);
    ck_assert_int_eq(errno, EPERM);
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.tasks, 0);
    ck_assert_uint_eq(st.pool_bytes, 0);
    /* The thread can start again, with another configuration. */
    struct pgs_config c = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    struct core_stask s = { .id = 2, .depth = 100 << 10, .rounds = 2 };
    core_stasks_run(&s, 1, 2);
    ck_assert_int_eq(pgs_thread_fini(), 0);
}
END_TEST

static void *fn_fini_inside(void *arg)
{
    errno = 0;
    ck_assert_int_eq(pgs_thread_fini(), -1);
    ck_assert_int_eq(errno, EBUSY);
    return V(0xf1);
}

START_TEST(thread_fini_inside_task)
{
    pgs_task *t = pgs_create(fn_fini_inside, NULL);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0xf1));
    ck_assert_int_eq(pgs_destroy(t), 0);
    ck_assert_int_eq(pgs_thread_fini(), 0);
}
END_TEST

/* EPERM: stack faults could not reach the library. */
START_TEST(init_with_sigsegv_blocked)
{
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &s, &old), 0);
    errno = 0;
    ck_assert_int_eq(pgs_thread_init(NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    errno = 0;
    ck_assert_ptr_null(pgs_create(core_return_arg, NULL));
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    struct core_stask st = { .id = 3, .depth = 64 << 10, .rounds = 1 };
    core_stasks_run(&st, 1, 3);
}
END_TEST

START_TEST(create_with_sigsegv_blocked_later)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &s, NULL), 0);
    errno = 0;
    ck_assert_ptr_null(pgs_create(core_return_arg, NULL)); /* the first */
    ck_assert_int_eq(errno, EPERM);
}
END_TEST

START_TEST(create_with_handler_replaced)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    /* Past the library's sigaction (which would only record it), as a
     * program that bound libc's before the library was loaded. */
    ck_assert_int_eq(pgs__real_sigaction(SIGSEGV, &dfl, NULL), 0);
    errno = 0;
    ck_assert_ptr_null(pgs_create(core_return_arg, NULL));
    ck_assert_int_eq(errno, EPERM);
    ck_assert_uint_eq(core_stats().tasks, 0);
}
END_TEST

/* After the first create the check is made every PGS_CHECK_EVERY-th: a
 * replacement is caught within that many creates. */
START_TEST(create_notices_handler_replaced_later)
{
    enum { MAX = PGS_CHECK_EVERY + 6 };
    static pgs_task *v[MAX];
    v[0] = pgs_create(core_return_arg, NULL);
    ck_assert_ptr_nonnull(v[0]);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    /* Past the library's sigaction (which would only record it), as a
     * program that bound libc's before the library was loaded. */
    ck_assert_int_eq(pgs__real_sigaction(SIGSEGV, &dfl, NULL), 0);
    int n = 1;
    for (; n < MAX; n++) {
        errno = 0;
        v[n] = pgs_create(core_return_arg, NULL);
        if (!v[n])
            break;
    }
    ck_assert_int_lt(n, MAX);
    ck_assert_int_le(n, PGS_CHECK_EVERY);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_uint_eq(core_stats().tasks, (size_t)n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pgs_destroy(v[i]), 0);
}
END_TEST

/* The check pgs_create makes (SIGSEGV still ours and not blocked) costs
 * two system calls on a thread's first create and every PGS_CHECK_EVERY-th
 * after; the library counts them with its others, so that the benchmark's
 * figures include them. */
START_TEST(create_check_is_counted)
{
    enum { N = PGS_CHECK_EVERY + 1 };
    pgs_task *v[N];
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    unsigned long before = pgs__inject_calls(PGS_FP_SIGACTION) +
                           pgs__inject_calls(PGS_FP_SIGMASK);
    for (int i = 0; i < N; i++) {
        v[i] = pgs_create(core_return_arg, NULL);
        ck_assert_ptr_nonnull(v[i]);
    }
    unsigned long after = pgs__inject_calls(PGS_FP_SIGACTION) +
                          pgs__inject_calls(PGS_FP_SIGMASK);
    ck_assert_uint_eq(after - before, 4); /* creates 1 and N: 2 each */
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pgs_destroy(v[i]), 0);
}
END_TEST

/* ENOMEM from pgs_thread_init: the address space for the regions cannot be
 * had.  Nothing stays allocated: a smaller configuration works after. */
START_TEST(init_enomem_address_space)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &rl), 0);
    /* Current size of the address space, from /proc. */
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(f);
    unsigned long pages = 0;
    ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    rl.rlim_cur = pages * CORE_PAGE + 256 * CORE_MIB;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
    struct pgs_config big = { .stack_size = (size_t)1 << 30 };
    errno = 0;
    ck_assert_int_eq(pgs_thread_init(&big), -1);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    struct core_stask s = { .id = 4, .depth = 200 << 10, .rounds = 2 };
    core_stasks_run(&s, 1, 4);
}
END_TEST

/* pgs_create with the next malloc failing (injected) must say ENOMEM. */
static void create_fails_without_malloc(void)
{
    pgs__inject_arm(1);
    errno = 0;
    pgs_task *t = pgs_create(core_return_arg, NULL);
    long point = pgs__inject_arm_point();
    pgs__inject_arm(0);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(point, PGS_FP_MALLOC);
}

/* ENOMEM from pgs_create: no memory for the descriptor (injected). */
START_TEST(create_enomem_descriptor)
{
    pgs_task *keep = pgs_create(core_yield_forever, V(1));
    ck_assert_ptr_nonnull(keep);
    create_fails_without_malloc();
    ck_assert_uint_eq(core_stats().tasks, 1);
    /* Nothing that existed before is lost. */
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(keep, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(1));
    ck_assert_int_eq(pgs_destroy(keep), 0);
}
END_TEST

/*
 * A destroyed task's descriptor is kept for the next pgs_create (up to
 * PGS_SPARE_TASKS of them; none under AddressSanitizer, which must see a
 * destroyed task's use): creates that reuse one need no malloc, so they
 * succeed with malloc failing; the descriptor they get is as good as new;
 * once the spares are used up, create fails with ENOMEM as before.
 */
#define CORE_SPARES ((int)PGS_SPARE_TASKS)

START_TEST(create_reuses_descriptors)
{
    enum { N = CORE_SPARES + 8 };
    pgs_task *v[N];
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    for (int i = 0; i < N; i++) {
        v[i] = pgs_create(core_yield_forever, V(i));
        ck_assert_ptr_nonnull(v[i]);
        pgs_set_name(v[i], "old");
        /* Some run, and are waiting (resident or copied) when destroyed. */
        if (i % 2 == 0)
            ck_assert_int_eq(pgs_resume(v[i], NULL, NULL), 0);
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pgs_destroy(v[i]), 0);
    unsigned long mallocs = pgs__inject_calls(PGS_FP_MALLOC);
    for (int i = 0; i < CORE_SPARES; i++) {
        pgs__inject_arm(1); /* the next malloc fails */
        v[i] = pgs_create(core_return_arg, V(100 + i));
        pgs__inject_arm(0);
        ck_assert_ptr_nonnull(v[i]);
        ck_assert_int_eq(pgs_state(v[i]), PGS_CREATED);
        ck_assert_str_eq(pgs_name(v[i]), "");
        ck_assert_uint_eq(pgs_task_stack_bytes(v[i]), 0);
    }
    ck_assert_uint_eq(pgs__inject_calls(PGS_FP_MALLOC), mallocs);
    create_fails_without_malloc();
    ck_assert_uint_eq(core_stats().tasks, CORE_SPARES);
    for (int i = 0; i < CORE_SPARES; i++) {
        void *out = NULL;
        ck_assert_int_eq(pgs_resume(v[i], NULL, &out), 0);
        ck_assert_ptr_eq(out, V(100 + i));
        ck_assert_int_eq(pgs_destroy(v[i]), 0);
    }
    ck_assert_int_eq(pgs_thread_fini(), 0);
}
END_TEST

/*
 * ENOMEM from pgs_resume: the first resume of a task on a fresh thread
 * needs an extent, pages and a mapping; make the nth of those calls fail.
 * The task is left as it was, and the next resume works.
 */
START_TEST(resume_enomem_injected)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    /* Shallow enough to run on its first pages: a growth fault would meet
     * the failing call inside the fault handler, where it is fatal. */
    struct core_stask s = { .id = 5, .depth = 2 << 10, .rounds = 2 };
    s.task = pgs_create(core_stask_fn, &s);
    ck_assert_ptr_nonnull(s.task);
    void *fiber = core_tsan_fiber();
    pgs__inject_arm(_i);
    errno = 0;
    void *out = V(0x77);
    int rc = pgs_resume(s.task, core_stask_itag(s.id, 1), &out);
    int e = errno;
    /* ThreadSanitizer too must hear that the thread never left. */
    ck_assert_ptr_eq(core_tsan_fiber(), fiber);
    long point = pgs__inject_arm_point();
    const char *site = pgs__inject_site();
    pgs__inject_arm(0);
    fprintf(stderr, "core: resume with call %d failing: rc %d, point %ld "
                    "in %s\n",
            _i, rc, point, site ? site : "-");
    if (rc != 0) {
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(e, ENOMEM);
        ck_assert_int_ne(point, -1);
        ck_assert_ptr_eq(out, V(0x77));
        ck_assert_int_eq(pgs_state(s.task), PGS_CREATED);
        ck_assert_ptr_null(pgs_self());
        ck_assert_uint_eq(pgs_task_stack_bytes(s.task), 0);
        core_stask_resume(&s, 1);
    } else {
        /* The nth call came after the resume: it ran normally. */
        ck_assert_ptr_eq(out, core_stask_ytag(s.id, 1));
    }
    core_stask_resume(&s, 2);
    core_stask_resume(&s, 3);
    ck_assert_int_eq(pgs_destroy(s.task), 0);
}
END_TEST

void core_add_setup(Suite *s)
{
    TCase *tc = core_tcase(s, "thread_setup");
    tcase_add_test(tc, thread_init_twice);
    tcase_add_loop_test(tc, thread_init_bad_config, 0,
                        (int)(sizeof bad_configs / sizeof bad_configs[0]));
    tcase_add_loop_test(tc, thread_init_good_config, 0,
                        (int)(sizeof good_configs / sizeof good_configs[0]));
    tcase_add_test(tc, thread_fini_errors);
    tcase_add_test(tc, thread_fini_inside_task);
    tcase_add_test(tc, init_with_sigsegv_blocked);
    tcase_add_test(tc, create_with_sigsegv_blocked_later);
    tcase_add_test(tc, create_with_handler_replaced);
    tcase_add_test(tc, create_notices_handler_replaced_later);
    tcase_add_test(tc, create_check_is_counted);
    if (!emu_skip("init_enomem_address_space",
                  "qemu-user accepts setrlimit(RLIMIT_AS) and applies no "
                  "limit, so that its own allocations cannot fail"))
        tcase_add_test(tc, init_enomem_address_space);
    tcase_add_test(tc, create_enomem_descriptor);
    tcase_add_test(tc, create_reuses_descriptors);
    tcase_add_loop_test(tc, resume_enomem_injected, 1, 6);
}
