/* SPDX-License-Identifier: MIT */
/*
 * No task can read another task's stack bytes.  With one region, all tasks
 * run at the same addresses on the same pages: task A fills part of its
 * stack with a secret; task B, created afterwards, reads a large stack
 * buffer it never wrote and must find only zeroes (or its own data),
 * never A's secret, whether A is suspended (saved by copying, or holding
 * its own extent), finished, destroyed, or left the secret below its live
 * stack.  (The same under fault injection: the recycle-* loops in
 * rel_inject_ops.c.)
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "rel.h"
#include "memcheck.h"

struct secret {
    uint64_t value;
    size_t bytes;
    int below;      /* leave the secret below the live stack, then yield */
    long bad;
};

static REL_NOINLINE void hold(struct secret *s, int yield_inside)
{
    size_t n = s->bytes / 8;
    volatile uint64_t buf[n];
    for (size_t i = 0; i < n; i++)
        buf[i] = s->value;
    if (yield_inside) {
        pgs_yield(NULL);
        for (size_t i = 0; i < n; i++)
            s->bad += buf[i] != s->value;
    }
}

static void *secret_main(void *arg)
{
    struct secret *s = arg;
    if (s->below) {
        hold(s, 0);         /* the secret stays in dead stack below us */
        pgs_yield(NULL);
    } else {
        hold(s, 1);         /* the secret is live while we wait */
    }
    return NULL;
}

struct scan {
    uint64_t value;
    long hits;
    long nonzero;
};

static REL_NOINLINE void scan_stack(struct scan *s)
{
    volatile uint64_t buf[300 * REL_KIB / 8];
    volatile uint64_t *p = buf;
    __asm__ volatile("" : "+r"(p)); /* never written: the compiler must read */
    VALGRIND_MAKE_MEM_DEFINED((void *)buf, sizeof buf); /* and so must we */
    for (size_t i = 0; i < 300 * REL_KIB / 8; i++) {
        s->hits += p[i] == s->value;
        s->nonzero += p[i] != 0;
    }
}

static void *scan_main(void *arg)
{
    scan_stack(arg);
    return NULL;
}

enum fate { SUSPENDED, FINISHED, DESTROYED };

static void secrecy(size_t bytes, int below, enum fate fate)
{
    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    struct secret a = { 0x5ec7e7000000beefull ^ (uint64_t)bytes, bytes,
                        below, 0 };
    for (int round = 0; round < 3; round++) {
        pgs_task *ta = pgs_create(secret_main, &a);
        ck_assert_ptr_nonnull(ta);
        ck_assert_int_eq(pgs_resume(ta, NULL, NULL), 0);
        if (fate == FINISHED)
            while (pgs_state(ta) != PGS_DONE)
                ck_assert_int_eq(pgs_resume(ta, NULL, NULL), 0);
        if (fate == DESTROYED) { /* while suspended, the secret live */
            ck_assert_int_eq(pgs_destroy(ta), 0);
            ta = NULL;
        }
        struct scan b = { a.value, 0, 0 };
        pgs_task *tb = pgs_create(scan_main, &b);
        ck_assert_ptr_nonnull(tb);
        ck_assert_int_eq(pgs_resume(tb, NULL, NULL), 0);
        ck_assert_msg(b.hits == 0, "round %d: a new task read %ld words of "
                      "another task's secret (%ld nonzero words)", round,
                      b.hits, b.nonzero);
        ck_assert_int_eq(pgs_destroy(tb), 0);
        if (ta) {
            while (pgs_state(ta) != PGS_DONE)
                ck_assert_int_eq(pgs_resume(ta, NULL, NULL), 0);
            ck_assert_msg(a.bad == 0, "the secret's owner lost %ld words",
                          a.bad);
            ck_assert_int_eq(pgs_destroy(ta), 0);
        }
    }
    ck_assert_int_eq(pgs_thread_fini(), 0);
}

START_TEST(test_secret_suspended_copied)
{
    secrecy(200 * REL_KIB, 0, SUSPENDED);
}
END_TEST

START_TEST(test_secret_suspended_extent)
{
    secrecy(500 * REL_KIB, 0, SUSPENDED);
}
END_TEST

START_TEST(test_secret_below_live_stack)
{
    secrecy(200 * REL_KIB, 1, SUSPENDED);
}
END_TEST

START_TEST(test_secret_finished)
{
    secrecy(200 * REL_KIB, 0, FINISHED);
}
END_TEST

START_TEST(test_secret_destroyed)
{
    secrecy(200 * REL_KIB, 0, DESTROYED);
}
END_TEST

START_TEST(test_secret_deep_destroyed)
{
    secrecy(700 * REL_KIB, 0, DESTROYED);
}
END_TEST

Suite *rel_security_suite(void)
{
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("secrecy");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_secret_suspended_copied);
    tcase_add_test(tc, test_secret_suspended_extent);
    tcase_add_test(tc, test_secret_below_live_stack);
    tcase_add_test(tc, test_secret_finished);
    tcase_add_test(tc, test_secret_destroyed);
    tcase_add_test(tc, test_secret_deep_destroyed);
    suite_add_tcase(s, tc);
    return s;
}
