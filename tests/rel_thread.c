/* SPDX-License-Identifier: MIT */
/*
 * A thread that exits with live tasks releases its regions, its pool and
 * its signal stacks: /proc/self/maps and /proc/self/fd are as they were
 * before it started.  Its tasks become orphans: pgs_resume from another
 * thread says EPERM, they hold no stack, and pgs_destroy frees them.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "rel.h"

#define NT 5

static struct rel_pat pat[NT];
static pgs_task *orphan[NT];

static const size_t depths[NT] = {
    50 * REL_KIB, 600 * REL_KIB, 200 * REL_KIB, 1 * REL_MIB, 16 * REL_KIB,
};

static void *lives_and_leaves(void *arg)
{
    int *err = arg;
    struct pgs_config cfg = { .regions = 2 };
    *err = 0;
    if (pgs_thread_init(&cfg) != 0) {
        *err = errno;
        return NULL;
    }
    for (int k = 0; k < NT; k++) {
        rel_pat_init(&pat[k], (unsigned)k + 1, depths[k], 0x7eadull);
        orphan[k] = rel_pat_create(&pat[k]);
        if (!orphan[k]) {
            *err = errno;
            return NULL;
        }
    }
    /* The last one never runs; the others stop at their bottoms:
     * copied, extent, resident. */
    for (int k = 0; k < NT - 1; k++)
        if (pgs_resume(orphan[k], NULL, NULL) != 0) {
            *err = errno;
            return NULL;
        }
    return NULL; /* with every task alive */
}

static void *warm(void *arg)
{
    static void *volatile sink;
    sink = malloc(100000);
    free(sink);
    return arg;
}

static void run_thread(void *(*fn)(void *), void *arg)
{
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, fn, arg), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
}

static void exits_with_tasks(int main_has_tasks)
{
    struct rel_pat mine;
    pgs_task *t = NULL;
    struct rel_snap before, after;
    char why[4096];
    int err;

    if (main_has_tasks) {
        rel_pat_init(&mine, 9, 300 * REL_KIB, 0x9999ull);
        t = rel_pat_create(&mine);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    }
    /* A thread's stack and malloc arena outlive it (glibc caches them):
     * the first thread pays for them before counting. */
    run_thread(warm, NULL);
    rel_snap_take(&before);
    run_thread(lives_and_leaves, &err);
    ck_assert_msg(err == 0, "the thread could not set up: %s",
                  strerror(err));
    rel_snap_take(&after);
    ck_assert_msg(rel_snap_diff(&before, &after, why, sizeof why) == 0,
                  "the exited thread left something behind: %s", why);

    for (int k = 0; k < NT; k++) {
        errno = 0;
        ck_assert_msg(pgs_resume(orphan[k], NULL, NULL) == -1 &&
                          errno == EPERM,
                      "resuming orphan %d: %s", k, strerror(errno));
        ck_assert_msg(pgs_task_stack_bytes(orphan[k]) == 0,
                      "orphan %d still holds %zu bytes", k,
                      pgs_task_stack_bytes(orphan[k]));
        ck_assert_int_eq(pgs_destroy(orphan[k]), 0);
    }
    if (main_has_tasks) {
        ck_assert_int_eq(rel_pat_cmd(t, &mine, REL_CMD_CHECK), 0);
        ck_assert_int_eq(rel_pat_cmd(t, &mine, REL_CMD_FINISH), 0);
        ck_assert_int_eq(pgs_state(t), PGS_DONE);
        ck_assert_int_eq(mine.bad, 0);
        ck_assert_int_eq(pgs_destroy(t), 0);
    }
}

START_TEST(test_thread_exit_releases)
{
    exits_with_tasks(0);
}
END_TEST

START_TEST(test_thread_exit_releases_main_busy)
{
    exits_with_tasks(1);
}
END_TEST

Suite *rel_thread_suite(void)
{
    Suite *s = suite_create("thread");
    TCase *tc = tcase_create("thread");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_thread_exit_releases);
    tcase_add_test(tc, test_thread_exit_releases_main_busy);
    suite_add_tcase(s, tc);
    return s;
}
