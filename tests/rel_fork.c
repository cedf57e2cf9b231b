/* SPDX-License-Identifier: MIT */
/*
 * fork() with tasks around: from inside a task and from the thread's own
 * stack, while other tasks are suspended shallow (saved by copying), deep
 * (more than 384 KiB: their own extent) and resident in regions, with one
 * region and with four.
 *
 * In the child, the forking task runs on, and every task resumes with its
 * own copy of its stack: the child checks every frame, then writes its own
 * patterns into all of them and far below.  The parent waits for the child
 * and then checks that none of its stacks changed.  posix_spawn and
 * system() from a task just work.
 */
#include "config.h"
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "rel.h"

extern char **environ;

#define NT 6

struct scenario {
    const char *name;
    unsigned regions;
    int from_task;          /* fork from inside a task, else from main */
    size_t forker_depth;
};

static const struct scenario scenarios[] = {
    { "1 region, fork in a shallow task", 1, 1, 100 * REL_KIB },
    { "1 region, fork in a deep task", 1, 1, 600 * REL_KIB },
    { "1 region, fork on the thread's stack", 1, 0, 0 },
    { "4 regions, fork in a shallow task", 4, 1, 100 * REL_KIB },
    { "4 regions, fork in a deep task", 4, 1, 600 * REL_KIB },
    { "4 regions, fork on the thread's stack", 4, 0, 0 },
};

static struct rel_pat pat[NT + 1];
static pgs_task *task[NT + 1];
static int ntask;
static pid_t forked = -1;

static const size_t depths[NT] = {
    20 * REL_KIB,  150 * REL_KIB, 600 * REL_KIB,
    1 * REL_MIB,   300 * REL_KIB, 64 * REL_KIB,
};

static void say(const char *who, const char *what, long v)
{
    printf("%s: %s %ld\n", who, what, v);
}

/* In the child: every task, checked, then rewritten with the child's own
 * patterns, checked again and finished. */
static long child_side(void)
{
    long bad = 0;
    for (int k = 0; k < ntask; k++) {
        struct rel_pat *p = &pat[k];
        if (pgs_state(task[k]) != PGS_SUSPENDED) {
            say("child", "task not suspended", k);
            bad++;
            continue;
        }
        if (rel_pat_cmd(task[k], p, REL_CMD_CHECK) != 0) {
            say("child", "cannot resume task", k);
            bad++;
            continue;
        }
        p->next_seed = 0xc41d000ull + (uint64_t)k;
        p->scribble = 512 * REL_KIB;
        if (rel_pat_cmd(task[k], p, REL_CMD_REFILL) != 0 ||
            rel_pat_cmd(task[k], p, REL_CMD_SCRIBBLE) != 0 ||
            rel_pat_cmd(task[k], p, REL_CMD_CHECK) != 0 ||
            rel_pat_cmd(task[k], p, REL_CMD_FINISH) != 0 ||
            pgs_state(task[k]) != PGS_DONE) {
            say("child", "task failed", k);
            bad++;
        }
        bad += p->bad;
        pgs_destroy(task[k]);
    }
    return bad;
}

static long parent_side(void)
{
    long bad = 0;
    for (int k = 0; k < ntask; k++) {
        struct rel_pat *p = &pat[k];
        if (rel_pat_cmd(task[k], p, REL_CMD_CHECK) != 0 ||
            rel_pat_cmd(task[k], p, REL_CMD_FINISH) != 0 ||
            pgs_state(task[k]) != PGS_DONE) {
            say("parent", "task failed", k);
            bad++;
        }
        if (p->bad)
            say("parent", "words changed in task", k);
        bad += p->bad;
        pgs_destroy(task[k]);
    }
    return bad;
}

/* Runs at the bottom of the forking task. */
static void fork_here(struct rel_pat *p)
{
    forked = fork();
    if (forked == 0) {
        /* The child writes deep into the forking task's stack at once. */
        p->bad += rel_scribble(2 * REL_MIB, 0xc41dull);
    }
}

static void child(void *arg)
{
    const struct scenario *sc = arg;
    struct pgs_config cfg = { .regions = sc->regions };
    if (pgs_thread_init(&cfg) != 0) {
        printf("init: %s\n", strerror(errno));
        return;
    }
    ntask = 0;
    for (int k = 0; k < NT; k++) {
        rel_pat_init(&pat[k], (unsigned)k + 1, depths[k],
                     0xabc000ull + (uint64_t)k);
        task[k] = rel_pat_create(&pat[k]);
        if (!task[k] || pgs_resume(task[k], NULL, NULL) != 0) {
            printf("setup: %s\n", strerror(errno));
            return;
        }
        ntask++;
    }
    if (sc->from_task) {
        int k = ntask;
        rel_pat_init(&pat[k], 77, sc->forker_depth, 0xf0f0ull);
        pat[k].hook = fork_here;
        task[k] = rel_pat_create(&pat[k]);
        if (!task[k] || pgs_resume(task[k], NULL, NULL) != 0 ||
            rel_pat_cmd(task[k], &pat[k], REL_CMD_HOOK) != 0) {
            printf("forking task: %s\n", strerror(errno));
            return;
        }
        ntask++;
    } else {
        forked = fork();
    }
    if (forked < 0) {
        printf("fork: %s\n", strerror(errno));
        return;
    }
    if (forked == 0) {
        long bad = child_side();
        printf("child done: bad %ld\n", bad);
        fflush(stdout);
        _exit(bad ? 1 : 0);
    }
    int st;
    waitpid(forked, &st, 0);
    printf("child status %d\n", st);
    long bad = parent_side();
    printf("parent done: bad %ld\n", bad);
    if (pgs_thread_fini() != 0)
        printf("fini: %s\n", strerror(errno));
}

START_TEST(test_fork_keeps_stacks_apart)
{
    static struct rel_result res;
    const struct scenario *sc = &scenarios[_i];
    char st[64];
    ck_assert_int_eq(rel_run(child, (void *)sc, 0, 60, &res), 0);
    ck_assert_msg(WIFEXITED(rel_status(&res)) &&
                      WEXITSTATUS(rel_status(&res)) == 0,
                  "%s: %s (out %.300s; err %.300s)", sc->name,
                  rel_status_str(rel_status(&res), st, sizeof st), res.out,
                  res.err);
    ck_assert_msg(strstr(res.out, "child done: bad 0\n") &&
                      strstr(res.out, "child status 0\n"),
                  "%s: in the child, a task lost its stack: %.400s (err "
                  "%.300s)", sc->name, res.out, res.err);
    ck_assert_msg(strstr(res.out, "parent done: bad 0\n"),
                  "%s: the child changed the parent's stacks: %.400s",
                  sc->name, res.out);
    ck_assert_int_eq(rel_diag_lines(res.err), 0);
}
END_TEST

/* ---- posix_spawn and system() from a task ------------------------------------ */

static void *spawner(void *arg)
{
    int *out = arg;
    volatile uint64_t frame[2000];
    rel_fill(frame, 2000, 0x5ba11ull, 1, 0);
    out[0] = system("true");
    pid_t pid;
    char *argv[] = { "true", NULL };
    out[1] = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
    int st = -1;
    if (out[1] == 0 && waitpid(pid, &st, 0) != pid)
        st = -1;
    out[2] = st;
    out[3] = (int)rel_check(frame, 2000, 0x5ba11ull, 1, 0);
    return NULL;
}

START_TEST(test_spawn_and_system_in_task)
{
    int out[4] = { -1, -1, -1, -1 };
    pgs_task *t = pgs_create(spawner, out);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    ck_assert_msg(out[0] == 0, "system(\"true\") in a task: %d", out[0]);
    ck_assert_msg(out[1] == 0 && out[2] == 0,
                  "posix_spawn in a task: %d, status %d", out[1], out[2]);
    ck_assert_int_eq(out[3], 0);
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

Suite *rel_fork_suite(void)
{
    Suite *s = suite_create("fork");
    TCase *tc = tcase_create("fork");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_fork_keeps_stacks_apart, 0,
                        (int)(sizeof scenarios / sizeof scenarios[0]));
    tcase_add_test(tc, test_spawn_and_system_in_task);
    suite_add_tcase(s, tc);
    return s;
}
