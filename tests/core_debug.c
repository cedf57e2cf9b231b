/* SPDX-License-Identifier: MIT */
/*
 * Debugging: pgs_backtrace of suspended tasks wherever their stacks are
 * (shown in the region, copied aside, or in their own unmapped pages),
 * taken from the thread's own stack and from another task of the same
 * region; its errors; and pgs_stats_print.
 */
#define _GNU_SOURCE
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core_util.h"
#include "internal.h"

/* The three functions a suspended task must show, innermost first.  Not
 * static, so that their names are plain in every symbol table. */
void dbg_level3(size_t deep);
void dbg_level2(size_t deep);
void dbg_level1(size_t deep);

__attribute__((noinline)) void dbg_level3(size_t deep)
{
    volatile char pad[256];
    pad[0] = 1;
    pgs_yield(NULL);
    pad[1] = pad[0];
}

__attribute__((noinline)) void dbg_level2(size_t deep)
{
    dbg_level3(deep);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void dbg_level1(size_t deep)
{
    /* A deep task puts its depth below the three frames' caller, so that
     * its stack is too deep to be copied and keeps its own pages. */
    volatile char *big = deep ? __builtin_alloca(deep) : NULL;
    if (big)
        for (size_t i = 0; i < deep; i += 4096)
            big[i] = 1;
    dbg_level2(deep);
    __asm__ volatile("" ::: "memory");
}

static void *three_deep(void *arg)
{
    dbg_level1((size_t)arg);
    return NULL;
}

static void *shallow(void *arg)
{
    volatile char b[512];
    b[0] = 1;
    pgs_yield(NULL);
    return (void *)(long)b[0];
}

/* What fn(f) printed, as a string to free. */
static char *printed(int (*fn)(void *, FILE *), void *arg, int *rc)
{
    char **text = calloc(1, sizeof *text); /* not a local: see below */
    size_t len = 0;
    ck_assert_ptr_nonnull(text);
    /* open_memstream keeps the address it is given until fclose; a heap
     * cell keeps compilers from taking the result for a local's address. */
    FILE *f = open_memstream(text, &len);
    ck_assert_ptr_nonnull(f);
    *rc = fn(arg, f);
    fclose(f);
    char *out = *text;
    free(text);
    return out;
}

static int do_backtrace_print(void *t, FILE *f)
{
    return pgs_backtrace_print(t, f);
}

static int do_stats_print(void *unused, FILE *f)
{
    return pgs_stats_print(f);
}

static char *print_backtrace(pgs_task *t, int *n)
{
    return printed(do_backtrace_print, t, n);
}

/* The three functions appear, innermost first, and the ips agree. */
static void check_three(pgs_task *t)
{
    void *ips[32];
    int n = pgs_backtrace(t, ips, 32);
    ck_assert_int_ge(n, 4);
    int m;
    char *text = print_backtrace(t, &m);
    ck_assert_int_eq(m, n);
    char *a = strstr(text, "dbg_level3"), *b = strstr(text, "dbg_level2");
    char *c = strstr(text, "dbg_level1"), *d = strstr(text, "three_deep");
    ck_assert_msg(a && b && c && d && a < b && b < c && c < d,
                  "backtrace does not show the three functions in order:\n%s",
                  text);
    ck_assert_ptr_nonnull(strstr(text, "\"dbg\""));
    /* ips[0] is where the task continues: inside dbg_level3. */
    char *first = strstr(text, "#0 ");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_eq(strstr(first, "dbg_level3"), a);
    free(text);
}

/* Where the task's stack is when its backtrace is taken: 0 shown in its
 * region, 1 copied aside, 2 in its own pages, 3 copied and the backtrace
 * taken from inside another task of the same region. */
static void *from_task(void *arg)
{
    check_three(arg);
    return NULL;
}

START_TEST(backtrace_three_calls_deep)
{
    static const int want_home[] = { PGS_HOME_REGION, PGS_HOME_COPY,
                                     PGS_HOME_EXTENT, PGS_HOME_COPY };
    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    size_t deep = _i == 2 ? (size_t)600 << 10 : 0;
    pgs_task *t = pgs_create(three_deep, (void *)deep);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_set_name(t, "dbg"), 0);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    pgs_task *other = NULL;
    if (_i >= 1) { /* another task takes the region */
        other = pgs_create(shallow, NULL);
        ck_assert_int_eq(pgs_resume(other, NULL, NULL), 0);
    }
    ck_assert_int_eq(t->home, want_home[_i]);
    if (_i == 3) {
        pgs_task *probe = pgs_create(from_task, t);
        ck_assert_int_eq(pgs_resume(probe, NULL, NULL), 0);
        ck_assert_int_eq(pgs_state(probe), PGS_DONE);
        pgs_destroy(probe);
    } else {
        check_three(t);
    }
    /* Taking the backtrace disturbed nothing: both tasks run on. */
    if (other) {
        ck_assert_int_eq(pgs_resume(other, NULL, NULL), 0);
        ck_assert_int_eq(pgs_state(other), PGS_DONE);
        pgs_destroy(other);
    }
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    pgs_destroy(t);
}
END_TEST

/* A chain longer than pgs_backtrace_print prints: 100 calls deep. */
void dbg_recurse(int left);
__attribute__((noinline)) void dbg_recurse(int left)
{
    if (left > 0)
        dbg_recurse(left - 1);
    else
        pgs_yield(NULL);
    __asm__ volatile("" ::: "memory");
}

static void *hundred_deep(void *arg)
{
    dbg_recurse(100);
    return NULL;
}

/* A backtrace cut at the print limit says so on a line of its own. */
START_TEST(backtrace_print_marks_the_cut)
{
    pgs_task *t = pgs_create(hundred_deep, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    int n;
    char *text = print_backtrace(t, &n);
    ck_assert_int_eq(n, 64);
    ck_assert_msg(strstr(text, "  #63 ") && !strstr(text, "  #64 "),
                  "expected frames #0 to #63:\n%s", text);
    ck_assert_msg(strstr(text, "  ... more frames not printed (at most 64 are)\n"),
                  "the cut is not marked:\n%s", text);
    free(text);
    /* A chain within the limit has no mark. */
    pgs_task *s = pgs_create(three_deep, NULL);
    ck_assert_int_eq(pgs_resume(s, NULL, NULL), 0);
    text = print_backtrace(s, &n);
    ck_assert_ptr_null(strstr(text, "more frames"));
    free(text);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_int_eq(pgs_resume(s, NULL, NULL), 0);
    pgs_destroy(t);
    pgs_destroy(s);
}
END_TEST

static void *backtrace_self(void *arg)
{
    void *ips[8];
    errno = 0;
    ck_assert_int_eq(pgs_backtrace(pgs_self(), ips, 8), -1);
    ck_assert_int_eq(errno, EBUSY);
    return NULL;
}

static void *other_thread(void *arg)
{
    void *ips[8];
    errno = 0;
    int rc = pgs_backtrace(arg, ips, 8);
    return (void *)(long)(rc == -1 && errno == EPERM);
}

START_TEST(backtrace_errors)
{
    void *ips[8];
    pgs_task *t = pgs_create(three_deep, NULL);
    ck_assert_ptr_nonnull(t);
    errno = 0;
    ck_assert_int_eq(pgs_backtrace(NULL, ips, 8), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pgs_backtrace(t, NULL, 8), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pgs_backtrace(t, ips, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pgs_backtrace_print(t, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* Never ran: no frames. */
    ck_assert_int_eq(pgs_backtrace(t, ips, 8), 0);
    pgs_task *self = pgs_create(backtrace_self, NULL);
    ck_assert_int_eq(pgs_resume(self, NULL, NULL), 0);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    pthread_t p;
    void *ok;
    ck_assert_int_eq(pthread_create(&p, NULL, other_thread, t), 0);
    ck_assert_int_eq(pthread_join(p, &ok), 0);
    ck_assert_ptr_eq(ok, (void *)1L);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    /* Done: no frames. */
    ck_assert_int_eq(pgs_backtrace(t, ips, 8), 0);
    pgs_destroy(t);
    pgs_destroy(self);
}
END_TEST

START_TEST(stats_print_for_people)
{
    pgs_task *t = pgs_create(three_deep, (void *)((size_t)600 << 10));
    ck_assert_ptr_nonnull(t);
    pgs_set_name(t, "the-deep-one");
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    int rc;
    char *text = printed(do_stats_print, NULL, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(strstr(text, "tasks          1") &&
                      strstr(text, "from the OS") &&
                      strstr(text, "deepest stack each task has used") &&
                      strstr(text, "\"the-deep-one\" suspended, went "),
                  "unexpected statistics:\n%s", text);
    free(text);
    errno = 0;
    ck_assert_int_eq(pgs_stats_print(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    pgs_resume(t, NULL, NULL);
    pgs_destroy(t);
}
END_TEST

void core_add_debug(Suite *s)
{
    TCase *tc = tcase_create("debug");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, backtrace_three_calls_deep, 0, 4);
    tcase_add_test(tc, backtrace_errors);
    tcase_add_test(tc, backtrace_print_marks_the_cut);
    tcase_add_test(tc, stats_print_for_people);
    suite_add_tcase(s, tc);
}
