/* SPDX-License-Identifier: MIT */
/*
 * Invariant 6, overflow and exhaustion are loud: the process dies by
 * SIGSEGV after one line on stderr that names the task and the limit.
 * Invariant 5, faults that are not ours are passed on unchanged: a NULL
 * write in a task kills the process by plain SIGSEGV, and the library says
 * nothing.
 *
 * Each case is tested twice: as a Check test that expects SIGSEGV, and in a
 * child of our own whose stderr we read.
 */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core_util.h"

#define V(x) ((void *)(uintptr_t)(x))

static void *fn_runaway(void *arg)
{
    return V(core_runaway(0));
}

static void *fn_recurse(void *arg)
{
    return V(core_recurse((size_t)(uintptr_t)arg));
}

static void *fn_null_write(void *arg)
{
    int *volatile p = NULL;
    core_recurse(64 << 10); /* some stack first: a task that really ran */
    *(volatile int *)p = 1;
    return V(1);
}

static void *fn_raise(void *arg)
{
    raise(SIGSEGV);
    return V(1);
}

/* What each crash runs, in the test's child or in ours. */
enum crash {
    CRASH_OVERFLOW,        /* unbounded recursion, 8 MiB stack */
    CRASH_OVERFLOW_SMALL,  /* unbounded recursion, 64 KiB stack */
    CRASH_EXHAUSTED,       /* 2 MiB deep with max_stack_bytes = 1 MiB */
    CRASH_NULL_WRITE,      /* NULL write inside a task */
    CRASH_NULL_WRITE_MAIN, /* NULL write on the thread's stack, tasks live */
    CRASH_RAISE,           /* raise(SIGSEGV) inside a task */
    CRASH_COUNT
};

static const char *const crash_names[CRASH_COUNT] = {
    "runaway-task", "small-runaway", "hungry-task", "null-writer",
    "bystander", "raiser",
};

static void crash_run(enum crash what)
{
    struct pgs_config cfg = { 0 };
    pgs_fn fn = fn_runaway;
    void *arg = NULL;
    switch (what) {
    case CRASH_OVERFLOW_SMALL:
        cfg.stack_size = 64 << 10;
        break;
    case CRASH_EXHAUSTED:
        cfg.max_stack_bytes = CORE_MIB;
        fn = fn_recurse;
        arg = V(2 * CORE_MIB);
        break;
    case CRASH_NULL_WRITE:
        fn = fn_null_write;
        break;
    case CRASH_NULL_WRITE_MAIN:
        fn = fn_recurse;
        arg = V(100 << 10);
        break;
    case CRASH_RAISE:
        fn = fn_raise;
        break;
    default:
        break;
    }
    if (pgs_thread_init(&cfg) != 0)
        _exit(90);
    pgs_task *t = pgs_create(fn, arg);
    if (!t || pgs_set_name(t, crash_names[what]) != 0)
        _exit(91);
    if (pgs_resume(t, NULL, NULL) != 0)
        _exit(92);
    if (what == CRASH_NULL_WRITE_MAIN) {
        pgs_task *u = pgs_create(fn_recurse, V(300 << 10));
        if (!u || pgs_resume(t, NULL, NULL) == 0)
            _exit(93); /* t is done: must be refused */
        int *volatile p = NULL;
        *(volatile int *)p = 1;
    }
    _exit(94); /* survived */
}

/* As Check tests: the test's child must die by SIGSEGV. */
START_TEST(crash_raises_sigsegv)
{
    core_no_core_dumps();
    crash_run((enum crash)_i);
}
END_TEST

static void child_crash(void *arg)
{
    crash_run((enum crash)(uintptr_t)arg);
}

static int count_lines_with(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *hit = strstr(p, needle);
        if (hit && hit < p + len)
            n++;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

/* The same, in our own child: its fate and what it said. */
START_TEST(crash_message)
{
    enum crash what = (enum crash)_i;
    static struct core_child c;
    core_run_child(child_crash, V(what), &c);
    fprintf(stderr, "core: crash %d said: %.200s%s\n", (int)what, c.err,
            c.errlen > 200 ? "..." : "");
    ck_assert_msg(core_child_segv(&c),
                  "crash %d: status %#x, not death by SIGSEGV; stderr: %s",
                  (int)what, c.status, c.err);
    const char *name = crash_names[what];
    switch (what) {
    case CRASH_OVERFLOW:
    case CRASH_OVERFLOW_SMALL: {
        ck_assert_msg(strstr(c.err, "stack overflow") != NULL,
                      "no \"stack overflow\" in: %s", c.err);
        ck_assert_msg(strstr(c.err, name) != NULL, "no task name in: %s",
                      c.err);
        char limit[32];
        snprintf(limit, sizeof limit, " %zu ",
                 what == CRASH_OVERFLOW ? 8 * CORE_MIB : (size_t)64 << 10);
        ck_assert_msg(strstr(c.err, limit) != NULL, "no limit%sin: %s",
                      limit, c.err);
        /* One report line, naming the task (backtrace lines follow). */
        ck_assert_int_eq(count_lines_with(c.err, "stack overflow"), 1);
        ck_assert_int_eq(count_lines_with(c.err, name), 1);
        break;
    }
    case CRASH_EXHAUSTED:
        ck_assert_msg(strstr(c.err, "exhausted") != NULL,
                      "no \"exhausted\" in: %s", c.err);
        ck_assert_msg(strstr(c.err, name) != NULL, "no task name in: %s",
                      c.err);
        ck_assert_msg(strstr(c.err, "1048576") != NULL,
                      "the cap is not named in: %s", c.err);
        ck_assert_int_eq(count_lines_with(c.err, "exhausted"), 1);
        break;
    default:
        /* Not the library's fault: it says nothing at all. */
        ck_assert_msg(strstr(c.err, "pagedstack") == NULL,
                      "the library spoke about a fault not its own: %s",
                      c.err);
        ck_assert_uint_eq(c.errlen, 0);
        break;
    }
}
END_TEST

/* The message line starts with the library's prefix. */
START_TEST(overflow_line_format)
{
    static struct core_child c;
    core_run_child(child_crash, V(CRASH_OVERFLOW), &c);
    ck_assert(core_child_segv(&c));
    ck_assert_msg(strncmp(c.err, "pagedstack: ", 12) == 0,
                  "stderr does not start with the report: %s", c.err);
    const char *nl = strchr(c.err, '\n');
    ck_assert_ptr_nonnull(nl);
    const char *addr = strstr(c.err, "0x");
    ck_assert_msg(addr && addr < nl, "no address on the report line: %s",
                  c.err);
}
END_TEST

/* A runaway recursion has far more than 64 frames: the report prints 64
 * and says that the rest were not printed. */
START_TEST(overflow_report_marks_the_cut)
{
    static struct core_child c;
    core_run_child(child_crash, V(CRASH_OVERFLOW), &c);
    ck_assert(core_child_segv(&c));
    ck_assert_int_eq(count_lines_with(c.err, "pagedstack:   #"), 64);
    ck_assert_msg(strstr(c.err, "pagedstack:   #63 ") != NULL,
                  "no frame #63 in: %s", c.err);
    ck_assert_int_eq(count_lines_with(c.err, "pagedstack:   ... more frames "
                                             "not printed (at most 64 are)"), 1);
}
END_TEST

void core_add_crashes(Suite *s)
{
    TCase *tc = core_tcase(s, "crashes");
    tcase_add_loop_test_raise_signal(tc, crash_raises_sigsegv, SIGSEGV, 0,
                                     CRASH_COUNT);
    tcase_add_loop_test(tc, crash_message, 0, CRASH_COUNT);
    tcase_add_test(tc, overflow_line_format);
    tcase_add_test(tc, overflow_report_marks_the_cut);
}
