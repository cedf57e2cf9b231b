/* SPDX-License-Identifier: MIT */
/*
 * The API contract of include/pagedstack.h for tasks: the errno values of
 * pgs_create, pgs_resume, pgs_yield, pgs_destroy, pgs_state and pgs_stats,
 * values in and out, states, pgs_self, nesting, names.  Thread setup and
 * the errors of running out are in core_setup.c, errors that need a
 * second thread in core_threads.c, the cap in core_memory.c.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "core_util.h"

#define V(x) ((void *)(uintptr_t)(x))

/* ---- pgs_create ------------------------------------------------------ */

START_TEST(create_null_fn)
{
    errno = 0;
    ck_assert_ptr_null(pgs_create(NULL, V(1)));
    ck_assert_int_eq(errno, EINVAL);
    /* Nothing was created. */
    ck_assert_uint_eq(core_stats().tasks, 0);
}
END_TEST

START_TEST(create_initialises_thread)
{
    pgs_task *t = pgs_create(core_return_arg, V(7));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_state(t), PGS_CREATED);
    ck_assert_uint_eq(core_stats().tasks, 1);
    /* pgs_create did the thread's setup: a second one is refused. */
    errno = 0;
    ck_assert_int_eq(pgs_thread_init(NULL), -1);
    ck_assert_int_eq(errno, EBUSY);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(7));
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

/* ---- pgs_resume ------------------------------------------------------ */

START_TEST(resume_null)
{
    errno = 0;
    ck_assert_int_eq(pgs_resume(NULL, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(resume_done)
{
    pgs_task *t = pgs_create(core_return_arg, V(3));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    void *out = V(99);
    errno = 0;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_eq(out, V(99)); /* untouched */
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    ck_assert_ptr_null(pgs_self());
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

static void *fn_resume_self(void *arg)
{
    pgs_task *me = pgs_self();
    ck_assert_ptr_nonnull(me);
    errno = 0;
    ck_assert_int_eq(pgs_resume(me, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_eq(pgs_self(), me);
    ck_assert_int_eq(pgs_state(me), PGS_RUNNING);
    /* Nor can a task destroy itself. */
    errno = 0;
    ck_assert_int_eq(pgs_destroy(me), -1);
    ck_assert_int_eq(errno, EBUSY);
    ck_assert_int_eq(pgs_state(me), PGS_RUNNING);
    pgs_yield(V(0x51));
    return V(0x52);
}

START_TEST(resume_self)
{
    pgs_task *t = pgs_create(fn_resume_self, NULL);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0x51));
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0x52));
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

/* A resumes B; B tries to resume and destroy A, which is up the chain. */
static pgs_task *chain_a, *chain_b;

static void *fn_chain_b(void *arg)
{
    ck_assert_int_eq(pgs_state(chain_a), PGS_RUNNING);
    errno = 0;
    ck_assert_int_eq(pgs_resume(chain_a, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(pgs_destroy(chain_a), -1);
    ck_assert_int_eq(errno, EBUSY);
    ck_assert_int_eq(pgs_state(chain_a), PGS_RUNNING);
    ck_assert_ptr_eq(pgs_self(), chain_b);
    return V(0xb0);
}

static void *fn_chain_a(void *arg)
{
    pgs_task *b = chain_b = pgs_create(fn_chain_b, NULL);
    ck_assert_ptr_nonnull(b);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(b, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0xb0));
    ck_assert_ptr_eq(pgs_self(), chain_a);
    ck_assert_int_eq(pgs_destroy(b), 0);
    return V(0xa0);
}

START_TEST(resume_up_the_chain)
{
    chain_a = pgs_create(fn_chain_a, NULL);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(chain_a, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0xa0));
    ck_assert_int_eq(pgs_destroy(chain_a), 0);
    ck_assert_uint_eq(core_stats().tasks, 0);
}
END_TEST

/* ---- pgs_yield ------------------------------------------------------- */

START_TEST(yield_outside_task)
{
    /* Before the thread was ever initialised... */
    errno = 0;
    ck_assert_ptr_null(pgs_yield(V(5)));
    ck_assert_int_eq(errno, EPERM);
    /* ...and after, on the thread's own stack. */
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    errno = 0;
    ck_assert_ptr_null(pgs_yield(V(5)));
    ck_assert_int_eq(errno, EPERM);
    pgs_task *t = pgs_create(core_yield_forever, V(1));
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    errno = 0;
    ck_assert_ptr_null(pgs_yield(V(5)));
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(pgs_state(t), PGS_SUSPENDED);
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

/* ---- pgs_destroy ----------------------------------------------------- */

START_TEST(destroy_null)
{
    errno = 0;
    ck_assert_int_eq(pgs_destroy(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(destroy_every_state)
{
    pgs_task *created = pgs_create(core_yield_forever, NULL);
    pgs_task *suspended = pgs_create(core_yield_forever, NULL);
    pgs_task *done = pgs_create(core_return_arg, NULL);
    ck_assert_int_eq(pgs_resume(suspended, NULL, NULL), 0);
    ck_assert_int_eq(pgs_resume(done, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(created), PGS_CREATED);
    ck_assert_int_eq(pgs_state(suspended), PGS_SUSPENDED);
    ck_assert_int_eq(pgs_state(done), PGS_DONE);
    ck_assert_uint_eq(core_stats().tasks, 3);
    ck_assert_int_eq(pgs_destroy(suspended), 0);
    ck_assert_uint_eq(core_stats().tasks, 2);
    ck_assert_int_eq(pgs_destroy(created), 0);
    ck_assert_uint_eq(core_stats().tasks, 1);
    ck_assert_int_eq(pgs_destroy(done), 0);
    ck_assert_uint_eq(core_stats().tasks, 0);
    ck_assert_uint_eq(core_stats().stack_bytes, 0);
}
END_TEST

/* ---- pgs_state, pgs_stats -------------------------------------------- */

START_TEST(state_null)
{
    errno = 0;
    ck_assert_int_eq(pgs_state(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(stats_null)
{
    errno = 0;
    ck_assert_int_eq(pgs_stats(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(stats_before_init)
{
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.tasks, 0);
    ck_assert_uint_eq(st.stack_bytes, 0);
    ck_assert_uint_eq(st.stack_bytes_peak, 0);
    ck_assert_uint_eq(st.pool_bytes, 0);
    ck_assert_uint_eq(st.faults, 0);
    ck_assert_uint_eq(st.remaps, 0);
}
END_TEST

/* ---- values, states, pgs_self ----------------------------------------- */

static pgs_task *values_task;

static void *fn_values(void *arg)
{
    ck_assert_ptr_eq(arg, V(0xa1));
    ck_assert_ptr_eq(pgs_self(), values_task);
    ck_assert_int_eq(pgs_state(values_task), PGS_RUNNING);
    ck_assert_ptr_eq(pgs_yield(V(0x11)), V(0x22));
    ck_assert_int_eq(pgs_state(values_task), PGS_RUNNING);
    ck_assert_ptr_eq(pgs_yield(V(0x33)), V(0x44));
    ck_assert_ptr_null(pgs_yield(NULL));
    ck_assert_ptr_eq(pgs_yield(V(0x66)), V(0x77));
    return V(0x55);
}

START_TEST(values_and_states)
{
    ck_assert_ptr_null(pgs_self());
    values_task = pgs_create(fn_values, V(0xa1));
    pgs_task *t = values_task;
    ck_assert_int_eq(pgs_state(t), PGS_CREATED);
    ck_assert_uint_eq(pgs_task_stack_bytes(t), 0);
    void *out = NULL;
    /* The in of the first resume is ignored: the task gets its arg. */
    ck_assert_int_eq(pgs_resume(t, V(0xdead), &out), 0);
    ck_assert_ptr_eq(out, V(0x11));
    ck_assert_int_eq(pgs_state(t), PGS_SUSPENDED);
    ck_assert_ptr_null(pgs_self());
    ck_assert_uint_gt(pgs_task_stack_bytes(t), 0);
    ck_assert_int_eq(pgs_resume(t, V(0x22), &out), 0);
    ck_assert_ptr_eq(out, V(0x33));
    /* A yielded NULL is stored too. */
    ck_assert_int_eq(pgs_resume(t, V(0x44), &out), 0);
    ck_assert_ptr_null(out);
    /* out may be NULL: the yielded value is dropped. */
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(t), PGS_SUSPENDED);
    out = NULL;
    ck_assert_int_eq(pgs_resume(t, V(0x77), &out), 0);
    ck_assert_ptr_eq(out, V(0x55));
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    ck_assert_uint_eq(pgs_task_stack_bytes(t), 0);
    ck_assert_ptr_null(pgs_self());
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

START_TEST(return_with_out_null)
{
    pgs_task *t = pgs_create(core_return_arg, V(9));
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

/*
 * Nesting: main resumes A; A resumes B; B yields to A, not to main.  A
 * yielding leaves B suspended; main may then resume B itself, and B's yield
 * goes to main.
 */
static pgs_task *nest_a, *nest_b;

static void *fn_nest_b(void *arg)
{
    ck_assert_ptr_eq(pgs_self(), nest_b);
    ck_assert_int_eq(pgs_state(nest_a), PGS_RUNNING); /* up the chain */
    ck_assert_ptr_eq(pgs_yield(V(10)), V(35));       /* from main */
    ck_assert_ptr_eq(pgs_self(), nest_b);
    ck_assert_ptr_eq(pgs_yield(V(36)), V(40));       /* from A */
    ck_assert_int_eq(pgs_state(nest_a), PGS_RUNNING);
    return V(50);
}

static void *fn_nest_a(void *arg)
{
    nest_b = pgs_create(fn_nest_b, NULL);
    ck_assert_ptr_nonnull(nest_b);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(nest_b, V(1), &out), 0);
    ck_assert_ptr_eq(out, V(10));
    ck_assert_ptr_eq(pgs_self(), nest_a);
    ck_assert_int_eq(pgs_state(nest_b), PGS_SUSPENDED);
    ck_assert_ptr_eq(pgs_yield(V(20)), V(30));
    ck_assert_int_eq(pgs_resume(nest_b, V(40), &out), 0);
    ck_assert_ptr_eq(out, V(50));
    ck_assert_int_eq(pgs_state(nest_b), PGS_DONE);
    ck_assert_ptr_eq(pgs_self(), nest_a);
    ck_assert_int_eq(pgs_destroy(nest_b), 0);
    return V(60);
}

START_TEST(nesting)
{
    nest_a = pgs_create(fn_nest_a, NULL);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(nest_a, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(20)); /* A's value, not B's */
    ck_assert_int_eq(pgs_state(nest_a), PGS_SUSPENDED);
    ck_assert_int_eq(pgs_state(nest_b), PGS_SUSPENDED);
    ck_assert_int_eq(pgs_resume(nest_b, V(35), &out), 0);
    ck_assert_ptr_eq(out, V(36)); /* B yields to main now */
    ck_assert_ptr_null(pgs_self());
    ck_assert_int_eq(pgs_resume(nest_a, V(30), &out), 0);
    ck_assert_ptr_eq(out, V(60));
    ck_assert_int_eq(pgs_state(nest_a), PGS_DONE);
    ck_assert_int_eq(pgs_destroy(nest_a), 0);
    ck_assert_uint_eq(core_stats().tasks, 0);
}
END_TEST

/*
 * A chain of nested tasks, each holding a pattern in its frame: task i
 * creates and resumes task i+1; the innermost yields, and every level
 * passes the value up one step at a time.  With more levels than regions,
 * a resumer's stack is evicted while its callee runs, and must come back
 * intact when the callee yields to it.
 */
#define NEST_LEVELS 24

struct nest {
    int level;
    pgs_task *self;
};

static void *fn_nest_level(void *arg)
{
    struct nest *n = arg;
    uint64_t w[1024]; /* 8 KiB of pattern */
    core_fill(w, 1024, 0x1000u * (uint64_t)n->level);
    ck_assert_ptr_eq(pgs_self(), n->self);
    for (int round = 0; round < 3; round++) {
        uintptr_t v;
        if (n->level == NEST_LEVELS - 1) {
            v = 1000 * (uintptr_t)round;
        } else {
            static struct nest kids[NEST_LEVELS];
            struct nest *k = &kids[n->level + 1];
            if (round == 0) {
                k->level = n->level + 1;
                k->self = pgs_create(fn_nest_level, k);
                ck_assert_ptr_nonnull(k->self);
            }
            void *out = NULL;
            ck_assert_int_eq(pgs_resume(k->self, NULL, &out), 0);
            ck_assert_ptr_eq(pgs_self(), n->self);
            v = (uintptr_t)out + 1;
            ck_assert_uint_eq(v, 1000 * (uintptr_t)round +
                                     (uintptr_t)(NEST_LEVELS - 1 - n->level));
            if (round == 2) {
                ck_assert_int_eq(pgs_state(k->self), PGS_DONE);
                ck_assert_int_eq(pgs_destroy(k->self), 0);
            }
        }
        long bad = core_check(w, 1024, 0x1000u * (uint64_t)n->level);
        ck_assert_msg(bad < 0, "level %d word %ld corrupted", n->level, bad);
        if (round < 2)
            pgs_yield(V(v));
        else
            return V(v);
    }
    return NULL;
}

START_TEST(nesting_deep_chain)
{
    struct pgs_config c = { .regions = (unsigned)_i };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    struct nest top = { 0, NULL };
    top.self = pgs_create(fn_nest_level, &top);
    for (int round = 0; round < 3; round++) {
        void *out = NULL;
        ck_assert_int_eq(pgs_resume(top.self, NULL, &out), 0);
        ck_assert_uint_eq((uintptr_t)out,
                          1000 * (uintptr_t)round + NEST_LEVELS - 1);
    }
    ck_assert_int_eq(pgs_state(top.self), PGS_DONE);
    ck_assert_int_eq(pgs_destroy(top.self), 0);
    ck_assert_uint_eq(core_stats().tasks, 0);
}
END_TEST

/* ---- names ------------------------------------------------------------ */

START_TEST(names)
{
    pgs_task *t = pgs_create(core_return_arg, NULL);
    ck_assert_str_eq(pgs_name(t), "");
    ck_assert_str_eq(pgs_name(NULL), "");
    ck_assert_int_eq(pgs_set_name(t, "worker-1"), 0);
    ck_assert_str_eq(pgs_name(t), "worker-1");
    /* The name is copied. */
    char buf[64];
    strcpy(buf, "mutable");
    ck_assert_int_eq(pgs_set_name(t, buf), 0);
    buf[0] = 'X';
    ck_assert_str_eq(pgs_name(t), "mutable");
    /* At most 31 bytes are kept. */
    const char *longname = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
    ck_assert_int_eq(pgs_set_name(t, longname), 0);
    ck_assert_uint_eq(strlen(pgs_name(t)), 31);
    ck_assert_int_eq(strncmp(pgs_name(t), longname, 31), 0);
    ck_assert_int_eq(pgs_set_name(t, "0123456789abcdef0123456789abcde"), 0);
    ck_assert_str_eq(pgs_name(t), "0123456789abcdef0123456789abcde");
    /* A shorter name replaces a longer one entirely. */
    ck_assert_int_eq(pgs_set_name(t, "ab"), 0);
    ck_assert_str_eq(pgs_name(t), "ab");
    /* NULL clears. */
    ck_assert_int_eq(pgs_set_name(t, NULL), 0);
    ck_assert_str_eq(pgs_name(t), "");
    errno = 0;
    ck_assert_int_eq(pgs_set_name(NULL, "x"), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* The name survives running and finishing. */
    ck_assert_int_eq(pgs_set_name(t, "runner"), 0);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_str_eq(pgs_name(t), "runner");
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

START_TEST(task_stack_bytes_edges)
{
    ck_assert_uint_eq(pgs_task_stack_bytes(NULL), 0);
    pgs_task *t = pgs_create(core_yield_forever, NULL);
    ck_assert_uint_eq(pgs_task_stack_bytes(t), 0);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_uint_gt(pgs_task_stack_bytes(t), 0);
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

void core_add_api(Suite *s)
{
    TCase *tc = core_tcase(s, "api");
    tcase_add_test(tc, create_null_fn);
    tcase_add_test(tc, create_initialises_thread);
    tcase_add_test(tc, resume_null);
    tcase_add_test(tc, resume_done);
    tcase_add_test(tc, resume_self);
    tcase_add_test(tc, resume_up_the_chain);
    tcase_add_test(tc, yield_outside_task);
    tcase_add_test(tc, destroy_null);
    tcase_add_test(tc, destroy_every_state);
    tcase_add_test(tc, state_null);
    tcase_add_test(tc, stats_null);
    tcase_add_test(tc, stats_before_init);
    tcase_add_test(tc, values_and_states);
    tcase_add_test(tc, return_with_out_null);
    tcase_add_test(tc, nesting);
    tcase_add_loop_test(tc, nesting_deep_chain, 1, 5);
    tcase_add_test(tc, names);
    tcase_add_test(tc, task_stack_bytes_edges);
}
