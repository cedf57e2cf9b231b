/* SPDX-License-Identifier: MIT */
/*
 * Stacks stay intact: thousands of tasks at varied depths switched in
 * scrambled order, tasks whose depth changes from one resume to the next,
 * several tasks 7 MiB deep at once, and switches made with the stack
 * pointer at the very bottom of what a task has mapped.  Every task checks
 * its whole stack pattern on every resume (core_util.c).
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <alloca.h>
#include <string.h>
#include "core_util.h"

/* Regions per thread for the loop tests: 0 = the library's default. */
static const unsigned region_counts[] = { 0, 1, 4 };

static void init_regions(unsigned regions)
{
    struct pgs_config c = { .regions = regions };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
}

/*
 * 3000 tasks: most shallow (up to 8 KiB), some medium (32 to 128 KiB), a
 * few deep (384 to 512 KiB, beyond what the library saves by copying).
 */
#define MANY 3000

static size_t pick_depth(uint64_t *rng)
{
    unsigned r = (unsigned)(core_rand(rng) % 100);
    if (r < 1)
        return (384 << 10) + core_rand(rng) % (128 << 10);
    if (r < 10)
        return (32 << 10) + core_rand(rng) % (96 << 10);
    return core_rand(rng) % (8 << 10);
}

START_TEST(many_tasks_scrambled)
{
    init_regions(region_counts[_i]);
    struct core_stask *v = calloc(MANY, sizeof *v);
    ck_assert_ptr_nonnull(v);
    uint64_t rng = 0x1234567 + (uint64_t)_i;
    size_t deep = 0;
    for (unsigned i = 0; i < MANY; i++) {
        v[i].id = i + 1;
        v[i].depth = pick_depth(&rng);
        v[i].rounds = 3;
        deep += v[i].depth > (384 << 10);
    }
    ck_assert_uint_gt(deep, 5); /* the table really has deep tasks */
    core_stasks_run(v, MANY, rng);
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.tasks, 0);
    ck_assert_uint_eq(st.stack_bytes, 0);
    ck_assert_uint_gt(st.faults, 0);
    free(v);
}
END_TEST

/*
 * Two tasks alternating in one region, at depths on either side of the
 * point where eviction stops copying (384 KiB) and other pairs.
 */
static const size_t pair_depths[][2] = {
    { 0, 0 },
    { 380 << 10, 390 << 10 },
    { 390 << 10, 0 },
    { 0, 390 << 10 },
    { 1 << 20, 8 << 10 },
    { 8 << 10, 1 << 20 },
    { 2 << 20, 2 << 20 },
    { 100 << 10, 300 << 10 },
};

START_TEST(pairs_one_region)
{
    init_regions(1);
    struct core_stask v[2] = {
        { .id = 1, .depth = pair_depths[_i][0], .rounds = 6 },
        { .id = 2, .depth = pair_depths[_i][1], .rounds = 6 },
    };
    core_stasks_run(v, 2, 77 + (uint64_t)_i);
    ck_assert_uint_eq(core_stats().stack_bytes, 0);
}
END_TEST

/*
 * Tasks whose depth changes between resumes: every round a task recurses
 * to another depth (yielding at the bottom), comes back up and yields
 * again shallow, while a pattern in its first frame must survive it all.
 */
#define VARY_TASKS 12
#define VARY_ROUNDS 4

static const size_t vary_depths[] = {
    0, 4 << 10, 64 << 10, 383 << 10, 390 << 10, 1 << 20, 2 << 20, 12 << 10,
};
#define NVARY (sizeof vary_depths / sizeof vary_depths[0])

struct vary {
    unsigned id;
    pgs_task *task;
};

static unsigned vary_sid(unsigned id, unsigned round)
{
    return id * 100 + round;
}

static size_t vary_depth(unsigned id, unsigned round)
{
    return vary_depths[(id * 3 + round * 5) % NVARY];
}

static void *fn_vary(void *arg)
{
    struct vary *v = arg;
    uint64_t base[256];
    core_fill(base, 256, (uint64_t)v->id << 40);
    for (unsigned r = 0; r < VARY_ROUNDS; r++) {
        struct core_stask s = {
            .id = vary_sid(v->id, r),
            .depth = vary_depth(v->id, r),
            .big = (int)(r & 1),
            .rounds = 1,
            .task = v->task,
        };
        core_stask_descend(&s);
        long bad = core_check(base, 256, (uint64_t)v->id << 40);
        ck_assert_msg(bad < 0, "vary task %u round %u: base word %ld", v->id,
                      r, bad);
        void *in = pgs_yield(core_stask_done(s.id));
        ck_assert_ptr_eq(in, core_stask_itag(s.id, 3));
    }
    long bad = core_check(base, 256, (uint64_t)v->id << 40);
    ck_assert_msg(bad < 0, "vary task %u at the end: base word %ld", v->id,
                  bad);
    return core_stask_done(v->id);
}

START_TEST(depth_changes)
{
    init_regions(region_counts[_i]);
    struct vary v[VARY_TASKS];
    size_t order[VARY_TASKS];
    uint64_t rng = 99 + (uint64_t)_i;
    for (unsigned i = 0; i < VARY_TASKS; i++) {
        v[i].id = i + 1;
        v[i].task = pgs_create(fn_vary, &v[i]);
        ck_assert_ptr_nonnull(v[i].task);
        order[i] = i;
    }
    for (unsigned r = 0; r < VARY_ROUNDS; r++) {
        /* Phase 1: every task goes to this round's depth and waits there. */
        core_shuffle(order, VARY_TASKS, &rng);
        for (unsigned i = 0; i < VARY_TASKS; i++) {
            struct vary *t = &v[order[i]];
            unsigned sid = vary_sid(t->id, r);
            /* The in goes to the shallow yield of the round before. */
            void *in = r ? core_stask_itag(vary_sid(t->id, r - 1), 3) : NULL;
            void *out = NULL;
            ck_assert_int_eq(pgs_resume(t->task, in, &out), 0);
            ck_assert_ptr_eq(out, core_stask_ytag(sid, 1));
        }
        /* Phase 2: every task comes back up and waits shallow. */
        core_shuffle(order, VARY_TASKS, &rng);
        for (unsigned i = 0; i < VARY_TASKS; i++) {
            struct vary *t = &v[order[i]];
            unsigned sid = vary_sid(t->id, r);
            void *out = NULL;
            ck_assert_int_eq(pgs_resume(t->task, core_stask_itag(sid, 2),
                                        &out), 0);
            ck_assert_ptr_eq(out, core_stask_done(sid));
        }
    }
    for (unsigned i = 0; i < VARY_TASKS; i++) {
        void *out = NULL;
        ck_assert_int_eq(pgs_resume(v[i].task,
                                    core_stask_itag(vary_sid(v[i].id,
                                                             VARY_ROUNDS - 1),
                                                    3),
                                    &out),
                         0);
        ck_assert_ptr_eq(out, core_stask_done(v[i].id));
        ck_assert_int_eq(pgs_destroy(v[i].task), 0);
    }
    ck_assert_uint_eq(core_stats().stack_bytes, 0);
}
END_TEST

/* Three tasks, each 7 MiB deep (4 KiB frames), alternating. */
START_TEST(deep_7mib_alternating)
{
    static const unsigned regions[] = { 1, 4 };
    init_regions(regions[_i]);
    struct core_stask v[3];
    for (unsigned i = 0; i < 3; i++)
        v[i] = (struct core_stask){
            .id = i + 1, .depth = 7 * CORE_MIB, .big = 1, .rounds = 3,
        };
    core_stasks_run(v, 3, 7);
    for (unsigned i = 0; i < 3; i++)
        ck_assert_uint_ge(v[i].frames, 7 * CORE_MIB / 4096);
    struct pgs_stats st = core_stats();
    ck_assert_uint_ge(st.stack_bytes_peak, 3 * 7 * CORE_MIB);
    ck_assert_uint_eq(st.stack_bytes, 0);
}
END_TEST

/* Growing one task to 7 MiB takes few stack faults: growth doubles. */
START_TEST(faults_to_7mib)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    struct core_stask s = { .id = 1, .depth = 7 * CORE_MIB, .big = 1,
                            .rounds = 1 };
    s.task = pgs_create(core_stask_fn, &s);
    ck_assert_ptr_nonnull(s.task);
    core_stask_resume(&s, 1); /* waits at the bottom */
    struct pgs_stats st = core_stats();
    size_t held = pgs_task_stack_bytes(s.task);
    fprintf(stderr,
            "core: growing one task to 7 MiB took %llu stack faults "
            "(task holds %zu KiB, thread %zu KiB)\n",
            (unsigned long long)st.faults, held >> 10, st.stack_bytes >> 10);
    ck_assert_uint_ge(st.faults, 1);
    ck_assert_uint_le(st.faults, 24);
    ck_assert_uint_ge(held, 7 * CORE_MIB);
    ck_assert_uint_le(held, 8 * CORE_MIB);
    ck_assert_uint_eq(held, st.stack_bytes);
    core_stask_resume(&s, 2);
    ck_assert_int_eq(pgs_destroy(s.task), 0);
}
END_TEST

/*
 * A switch pushes the outgoing task's registers after the thread already
 * names the incoming context as current.  With the stack pointer just
 * above the lowest mapped byte of the task's region, those pushes are
 * stack growth of the outgoing task all the same.  The task moves its
 * stack pointer (without touching anything) to every 8-byte offset of the
 * first 2 KiB above that bottom, and from there yields, or resumes a task
 * of the same region or of another.
 */
static pgs_task *edge_other;

static CORE_NOINLINE int edge_switch(size_t above, int how)
{
    char *bottom = core_mapped_bottom();
    char *here = __builtin_frame_address(0);
    if (here - bottom < (ptrdiff_t)(above + 256))
        return 0;
    char *p = alloca((size_t)(here - bottom) - above);
    __asm__ volatile("" ::"r"(p) : "memory");
    /* Nothing else is called down there: it would grow the stack. */
    if (how == 0)
        return pgs_yield(NULL) == NULL ? 0 : -1;
    return pgs_resume(edge_other, NULL, NULL);
}

/* Between two tries, a yield from up here gives back what the last one
 * grew (a fault grows a task by up to 1 MiB), so that the next starts
 * from a bottom that is near again. */
static void *fn_edge(void *arg)
{
    for (size_t above = 0; above < 2048; above += 8) {
        ck_assert_int_eq(edge_switch(above, (int)(uintptr_t)arg), 0);
        pgs_yield(NULL);
    }
    return NULL;
}

START_TEST(switch_at_mapped_bottom)
{
    /* _i: 0 yields; 1 resumes a task of its own region, 2 of another. */
    struct pgs_config c = { .regions = _i == 1 ? 1 : 2 };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    pgs_task *t = pgs_create(fn_edge, (void *)(uintptr_t)(_i != 0));
    edge_other = pgs_create(core_yield_forever, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(edge_other);
    while (pgs_state(t) != PGS_DONE)
        ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_int_eq(pgs_destroy(t), 0);
    ck_assert_int_eq(pgs_destroy(edge_other), 0);
}
END_TEST

/*
 * Which region a new task gets: a free region of its own while there is
 * one, the shared region 0 after that; a task created after a destroy
 * takes the destroyed task's region (free again, its scratch still in the
 * cache).  A task's region shows in its stack addresses: the same function
 * entered first thing in a task has its locals at the same address in the
 * same region, and in no other.
 */
static CORE_NOINLINE void *where(void *arg)
{
    volatile char here = 0;
    (void)arg;
    for (;;)
        pgs_yield((void *)&here);
    return NULL;
}

static void *place(pgs_task *t)
{
    void *at = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &at), 0);
    ck_assert_ptr_nonnull(at);
    return at;
}

START_TEST(new_task_takes_destroyed_place)
{
    enum { R = 4 };
    init_regions(R);
    pgs_task *t[R];
    void *at[R];
    for (int i = 0; i < R; i++) {
        t[i] = pgs_create(where, NULL);
        ck_assert_ptr_nonnull(t[i]);
        at[i] = place(t[i]);
        for (int j = 0; j < i; j++)
            ck_assert_ptr_ne(at[i], at[j]); /* spread: one per region */
    }
    ck_assert_int_eq(pgs_destroy(t[1]), 0);
    t[1] = pgs_create(where, NULL);
    ck_assert_ptr_nonnull(t[1]);
    ck_assert_ptr_eq(place(t[1]), at[1]);
    /* Every region is taken: the next task shares the last one given out,
     * region 0. */
    pgs_task *next = pgs_create(where, NULL);
    ck_assert_ptr_nonnull(next);
    ck_assert_ptr_eq(place(next), at[R - 1]);
    ck_assert_int_eq(pgs_destroy(next), 0);
    for (int i = 0; i < R; i++)
        ck_assert_int_eq(pgs_destroy(t[i]), 0);
}
END_TEST

void core_add_stacks(Suite *s)
{
    int nregions = (int)(sizeof region_counts / sizeof region_counts[0]);
    TCase *tc = core_tcase(s, "stacks");
    tcase_add_loop_test(tc, many_tasks_scrambled, 0, nregions);
    tcase_add_loop_test(tc, pairs_one_region, 0,
                        (int)(sizeof pair_depths / sizeof pair_depths[0]));
    tcase_add_loop_test(tc, depth_changes, 0, nregions);
    tcase_add_loop_test(tc, deep_7mib_alternating, 0, 2);
    tcase_add_test(tc, faults_to_7mib);
    tcase_add_loop_test(tc, switch_at_mapped_bottom, 0, 3);
    tcase_add_test(tc, new_task_takes_destroyed_place);
}
