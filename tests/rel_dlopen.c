/* SPDX-License-Identifier: MIT */
/*
 * The library cannot be unloaded while its SIGSEGV handler is installed:
 * the shared object is linked -z nodelete, so dlclose leaves it mapped,
 * and a task whose stack grows after dlclose is still served.
 *
 * This loads the installed-style shared library from the build tree
 * (PGS_SO_PATH) and calls it only through dlsym'ed pointers; the copy of
 * the library linked into this program is never called in that process.
 */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "rel.h"

#ifndef PGS_SO_PATH
#define PGS_SO_PATH ".libs/libpagedstack.so"
#endif

static pgs_task *(*create_)(pgs_fn, void *);
static int (*resume_)(pgs_task *, void *, void **);
static void *(*yield_)(void *);
static int (*destroy_)(pgs_task *);
static int (*state_)(const pgs_task *);

static REL_NOINLINE long dig(size_t depth, uint64_t seed, unsigned level)
{
    volatile uint64_t buf[500];
    rel_fill(buf, 500, seed, 3, level);
    long bad = depth > sizeof buf ? dig(depth - sizeof buf, seed, level + 1)
                                  : 0;
    return bad + rel_check(buf, 500, seed, 3, level);
}

static void *digger(void *arg)
{
    long *bad = arg;
    *bad += dig(256 * REL_KIB, 1, 0);
    yield_(NULL);
    /* After dlclose: deeper than ever, so the handler must grow us. */
    *bad += dig(2 * REL_MIB, 2, 0);
    return NULL;
}

static void child(void *arg)
{
    (void)arg;
    void *h = dlopen(PGS_SO_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return;
    }
    create_ = (pgs_task * (*)(pgs_fn, void *)) dlsym(h, "pgs_create");
    resume_ = (int (*)(pgs_task *, void *, void **))dlsym(h, "pgs_resume");
    yield_ = (void *(*)(void *))dlsym(h, "pgs_yield");
    destroy_ = (int (*)(pgs_task *))dlsym(h, "pgs_destroy");
    state_ = (int (*)(const pgs_task *))dlsym(h, "pgs_state");
    if (!create_ || !resume_ || !yield_ || !destroy_ || !state_) {
        printf("dlsym: %s\n", dlerror());
        return;
    }
    long bad = 0;
    pgs_task *t = create_(digger, &bad);
    if (!t || resume_(t, NULL, NULL) != 0) {
        printf("first run failed\n");
        return;
    }
    int closed = dlclose(h);
    void *again = dlopen(PGS_SO_PATH, RTLD_NOW | RTLD_NOLOAD);
    printf("dlclose=%d still-loaded=%d\n", closed, again != NULL);
    if (resume_(t, NULL, NULL) != 0 || state_(t) != PGS_DONE) {
        printf("second run failed\n");
        return;
    }
    printf("after dlclose: bad=%ld destroy=%d\n", bad, destroy_(t));
}

START_TEST(test_dlclose_keeps_handler)
{
    static struct rel_result res;
    char st[64];
    ck_assert_msg(access(PGS_SO_PATH, R_OK) == 0,
                  "%s is missing: build the library first", PGS_SO_PATH);
    ck_assert_int_eq(rel_run(child, NULL, 0, 30, &res), 0);
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "a growth fault after dlclose: %s (out %.200s; err %.300s)",
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
    ck_assert_msg(strstr(res.out, "dlclose=0 still-loaded=1"),
                  "dlclose must leave the library loaded: %.200s", res.out);
    ck_assert_msg(strstr(res.out, "after dlclose: bad=0 destroy=0"),
                  "the task after dlclose: %.200s", res.out);
}
END_TEST

Suite *rel_dlopen_suite(void)
{
    Suite *s = suite_create("dlopen");
    TCase *tc = tcase_create("dlopen");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_dlclose_keeps_handler);
    suite_add_tcase(s, tc);
    return s;
}
