/* SPDX-License-Identifier: MIT */
/*
 * Memory: the max_stack_bytes cap (pgs_create says ENOMEM, existing tasks
 * keep working), pgs_stats figures that agree with what the tasks touched,
 * waiting tasks that give back what they no longer use, and 100,000 tasks
 * that cost neither a kernel mapping nor a page each.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core_util.h"
#include "internal.h"

#define V(x) ((void *)(uintptr_t)(x))

/* Pages kept by regions that have no occupant (white-box): they count in
 * pool_bytes but belong to no task. */
static size_t scratch_bytes(void)
{
    struct pgs_thread *th = pgs__tls;
    size_t n = 0;
    for (unsigned i = 0; th && i < th->nregions; i++)
        if (!th->regions[i].occupant)
            n += th->regions[i].mapped;
    return n * PGS_PAGE;
}

/* ---- the cap --------------------------------------------------------- */

struct cap_case {
    size_t depth;
    unsigned regions;
};

static const struct cap_case cap_cases[] = {
    { 0, 0 }, { 16 << 10, 0 }, { 64 << 10, 1 }, { 0, 1 }, { 200 << 10, 4 },
};

#define CAP_PAGES 256
#define CAP_LIMIT 100000

/* Create tasks and run each to its first yield until pgs_create refuses;
 * returns how many there are.  Creation cannot know how deep a task will
 * go (a task that grows past the cap dies of exhaustion, by design), so
 * tasks of cc's depth are started only while the cap has room for that
 * depth twice over; shallow tasks fill the rest. */
static size_t cap_fill(const struct cap_case *cc, struct core_stask *v)
{
    struct pgs_config cfg = { .regions = cc->regions,
                              .max_stack_bytes = CAP_PAGES * CORE_PAGE };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    size_t n = 0;
    for (; n < CAP_LIMIT; n++) {
        size_t depth = cc->depth;
        if (core_stats().stack_bytes + 2 * depth + (64 << 10) >
            CAP_PAGES * CORE_PAGE)
            depth = 0;
        v[n] = (struct core_stask){ .id = (unsigned)n + 1, .depth = depth,
                                    .rounds = 2 };
        errno = 0;
        v[n].task = pgs_create(core_stask_fn, &v[n]);
        if (!v[n].task)
            break;
        core_stask_resume(&v[n], 1);
    }
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_lt(n, CAP_LIMIT);
    ck_assert_uint_ge(n, 2);
    return n;
}

START_TEST(cap_create_enomem)
{
    const struct cap_case *cc = &cap_cases[_i];
    size_t cap = CAP_PAGES * CORE_PAGE;
    struct core_stask *v = calloc(CAP_LIMIT, sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t n = cap_fill(cc, v);
    struct pgs_stats st = core_stats();
    fprintf(stderr,
            "core: cap %zu KiB, tasks %zu KiB deep: %zu created before "
            "ENOMEM; stack_bytes %zu, peak %zu, pool_bytes %zu\n",
            cap >> 10, cc->depth >> 10, n, st.stack_bytes,
            st.stack_bytes_peak, st.pool_bytes);
    ck_assert_uint_eq(st.tasks, n);
    /* The refusal was for the documented reason: no room under the cap
     * for one more task's first pages beside the room kept for switching. */
    struct pgs_thread *th = pgs__tls;
    ck_assert_uint_gt(pgs__held_bytes(th) + (th->unstarted + 1) *
                                               th->start_bytes,
                      pgs__limit(th, pgs__margin(th, th->tasks + 1)));
    /* The pool itself never exceeds the cap. */
    ck_assert_uint_le(st.pool_bytes, cap);
    /* A refused create changed nothing: every task works, twice. */
    for (size_t i = 0; i < n; i++)
        core_stask_resume(&v[i], 2);
    for (size_t i = 0; i < n; i++)
        core_stask_resume(&v[i], 3);
    /* Memory given back can be had again. */
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(pgs_destroy(v[i].task), 0);
    ck_assert_uint_eq(core_stats().stack_bytes, 0);
    struct core_stask again = { .id = 1, .depth = cc->depth, .rounds = 1 };
    core_stasks_run(&again, 1, 1);
    free(v);
}
END_TEST

/* The cap is on what the tasks hold together (pgs_config): stack_bytes,
 * and its peak, never go beyond it. */
START_TEST(cap_never_exceeded)
{
    const struct cap_case *cc = &cap_cases[_i];
    size_t cap = CAP_PAGES * CORE_PAGE;
    struct core_stask *v = calloc(CAP_LIMIT, sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t n = cap_fill(cc, v);
    for (size_t i = 0; i < n; i++)
        core_stask_resume(&v[i], 2);
    struct pgs_stats st = core_stats();
    ck_assert_msg(st.stack_bytes_peak <= cap,
                  "tasks %zu KiB deep, %u regions: stack_bytes_peak %zu "
                  "exceeds max_stack_bytes %zu (stack_bytes now %zu, pool "
                  "%zu)",
                  cc->depth >> 10, cc->regions, st.stack_bytes_peak, cap,
                  st.stack_bytes, st.pool_bytes);
    free(v);
}
END_TEST

/* A cap too small for one task's first pages (its first frame and signal
 * headroom) and the room to switch it is EINVAL; one that holds exactly
 * one task and that room (with one region, where the second task would
 * need it) refuses the second at create, and leaves nothing behind. */
START_TEST(cap_too_small_to_start)
{
    struct pgs_config cfg = { .max_stack_bytes = CORE_PAGE };
    errno = 0;
    ck_assert_int_eq(pgs_thread_init(&cfg), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    cfg.max_stack_bytes = 2 * pgs__tls->start_bytes;
    cfg.regions = 1;
    ck_assert_int_eq(pgs_thread_fini(), 0);
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    pgs_task *one = pgs_create(core_yield_forever, V(1));
    ck_assert_ptr_nonnull(one);
    errno = 0;
    ck_assert_ptr_null(pgs_create(core_yield_forever, V(1)));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(pgs_destroy(one), 0);
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.tasks, 0);
    ck_assert_uint_eq(st.stack_bytes, 0);
    ck_assert_uint_eq(st.pool_bytes, 0);
    ck_assert_int_eq(pgs_thread_fini(), 0);
}
END_TEST

/* ---- figures --------------------------------------------------------- */

START_TEST(stats_one_task)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    const size_t touched = 300 << 10;
    struct core_stask s = { .id = 1, .depth = touched, .big = 1,
                            .rounds = 1 };
    s.task = pgs_create(core_stask_fn, &s);
    ck_assert_ptr_nonnull(s.task);
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.tasks, 1);
    ck_assert_uint_eq(st.stack_bytes, 0); /* no page before it runs */
    ck_assert_uint_eq(st.pool_bytes, 0);

    core_stask_resume(&s, 1); /* waits 300 KiB deep */
    st = core_stats();
    size_t task_bytes = pgs_task_stack_bytes(s.task);
    fprintf(stderr,
            "core: one task 300 KiB deep: stack_bytes %zu, task %zu, "
            "pool_bytes %zu, peak %zu, faults %llu, remaps %llu\n",
            st.stack_bytes, task_bytes, st.pool_bytes, st.stack_bytes_peak,
            (unsigned long long)st.faults, (unsigned long long)st.remaps);
    ck_assert_uint_eq(st.tasks, 1);
    ck_assert_uint_ge(st.stack_bytes, touched);
    ck_assert_uint_le(st.stack_bytes, 2 * touched + (64 << 10));
    ck_assert_uint_eq(task_bytes, st.stack_bytes);
    ck_assert_uint_eq(st.pool_bytes, st.stack_bytes);
    ck_assert_uint_ge(st.stack_bytes_peak, st.stack_bytes);
    ck_assert_uint_gt(st.faults, 0);

    core_stask_resume(&s, 2); /* finishes */
    ck_assert_uint_eq(pgs_task_stack_bytes(s.task), 0);
    ck_assert_uint_eq(core_stats().stack_bytes, 0);
    ck_assert_uint_eq(core_stats().tasks, 1);
    ck_assert_int_eq(pgs_destroy(s.task), 0);
    st = core_stats();
    fprintf(stderr, "core: after destroy: stack_bytes %zu, pool_bytes %zu "
                    "(region scratch %zu)\n",
            st.stack_bytes, st.pool_bytes, scratch_bytes());
    ck_assert_uint_eq(st.tasks, 0);
    ck_assert_uint_eq(st.stack_bytes, 0);
    ck_assert_uint_ge(st.stack_bytes_peak, touched);
    /* No task holds anything.  What the pool still has is the scratch the
     * region keeps for its next task: a few pages, not the 300 KiB. */
    ck_assert_uint_eq(st.pool_bytes, scratch_bytes());
    ck_assert_uint_le(st.pool_bytes, 32 * CORE_PAGE);
    /* And when the thread is finished there is nothing. */
    ck_assert_int_eq(pgs_thread_fini(), 0);
    st = core_stats();
    ck_assert_uint_eq(st.pool_bytes, 0);
    ck_assert_uint_eq(st.stack_bytes, 0);
}
END_TEST

/*
 * A finished task holds nothing (the header: pgs_task_stack_bytes is 0 for
 * DONE), also when it was saved by copying on the way, and a thread whose
 * tasks are all done holds no stack memory.
 */
static void *fn_yield_once(void *arg)
{
    core_recurse((size_t)(uintptr_t)arg);
    pgs_yield(V(1));
    return V(2);
}

START_TEST(done_task_holds_nothing)
{
    static const size_t depths[] = { 1 << 10, 100 << 10, 600 << 10 };
    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    size_t d = depths[_i];
    pgs_task *a = pgs_create(fn_yield_once, V(d));
    pgs_task *b = pgs_create(fn_yield_once, V(d));
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(a, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(1));
    ck_assert_int_eq(pgs_resume(b, NULL, &out), 0); /* evicts a */
    ck_assert_ptr_eq(out, V(1));
    ck_assert_uint_gt(pgs_task_stack_bytes(a), 0);
    ck_assert_int_eq(pgs_resume(a, NULL, &out), 0); /* a finishes */
    ck_assert_ptr_eq(out, V(2));
    ck_assert_int_eq(pgs_state(a), PGS_DONE);
    ck_assert_uint_eq(pgs_task_stack_bytes(a), 0);
    ck_assert_int_eq(pgs_resume(b, NULL, &out), 0); /* b too */
    ck_assert_ptr_eq(out, V(2));
    ck_assert_uint_eq(pgs_task_stack_bytes(b), 0);
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.tasks, 2);
    ck_assert_uint_eq(st.stack_bytes, 0);
    ck_assert_int_eq(pgs_destroy(a), 0);
    ck_assert_int_eq(pgs_destroy(b), 0);
}
END_TEST

/*
 * 100 tasks each go 64 KiB deep, come back, and wait shallow; resumed
 * once more after others evicted them, they wait shallow again.  A waiting
 * task holds its live stack, not its peak.
 */
#define SHRINKERS 100

static void *fn_shrinker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t base[64];
    core_fill(base, 64, (uint64_t)id << 32);
    struct core_stask s = { .id = id, .depth = 64 << 10, .rounds = 0,
                            .task = pgs_self() };
    core_stask_descend(&s);
    ck_assert_uint_ge(s.frames, 60);
    for (int r = 0; r < 2; r++) {
        pgs_yield(V(r + 1));
        ck_assert_int_lt(core_check(base, 64, (uint64_t)id << 32), 0);
    }
    return NULL;
}

START_TEST(waiting_tasks_give_back)
{
    struct pgs_config cfg = { .regions = (unsigned)_i };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    pgs_task *v[SHRINKERS];
    for (unsigned i = 0; i < SHRINKERS; i++) {
        v[i] = pgs_create(fn_shrinker, V(i + 1));
        void *out = NULL;
        ck_assert_int_eq(pgs_resume(v[i], NULL, &out), 0);
        ck_assert_ptr_eq(out, V(1));
    }
    ck_assert_uint_ge(core_stats().stack_bytes_peak, 64 << 10);
    for (unsigned i = 0; i < SHRINKERS; i++) {
        void *out = NULL;
        ck_assert_int_eq(pgs_resume(v[i], NULL, &out), 0);
        ck_assert_ptr_eq(out, V(2));
    }
    struct pgs_thread *th = pgs__tls;
    size_t checked = 0, most = 0, sum = 0;
    for (unsigned i = 0; i < SHRINKERS; i++) {
        size_t b = pgs_task_stack_bytes(v[i]);
        ck_assert_uint_gt(b, 0);
        sum += b;
        if (pgs__region_of(th, v[i])->occupant == v[i]) {
            /* Still shown in its region: holds what the region shows. */
            ck_assert_uint_le(b, 128 << 10);
            continue;
        }
        checked++;
        if (b > most)
            most = b;
        ck_assert_msg(b <= 20 << 10,
                      "task %u waits shallow but holds %zu bytes", i, b);
    }
    struct pgs_stats st = core_stats();
    fprintf(stderr,
            "core: %d tasks that went 64 KiB deep, waiting shallow: largest "
            "evicted %zu bytes; all tasks %zu, stack_bytes %zu\n",
            SHRINKERS, most, sum, st.stack_bytes);
    ck_assert_uint_ge(checked, SHRINKERS - th->nregions);
    ck_assert_uint_eq(st.stack_bytes, sum);
    for (unsigned i = 0; i < SHRINKERS; i++) {
        ck_assert_int_eq(pgs_resume(v[i], NULL, NULL), 0);
        ck_assert_int_eq(pgs_state(v[i]), PGS_DONE);
        ck_assert_int_eq(pgs_destroy(v[i]), 0);
    }
}
END_TEST

/*
 * A task that went 1 MiB deep and waits 400 KiB deep (beyond what is
 * saved by copying) keeps only its live pages when it is evicted.
 */
static CORE_NOINLINE long at_depth(size_t bytes)
{
    volatile char pad[1000];
    pad[0] = 1;
    if (bytes > sizeof pad)
        return at_depth(bytes - sizeof pad - 24) + pad[0];
    core_recurse(600 << 10); /* deeper, and back */
    pgs_yield(V(1));
    return pad[0];
}

static void *fn_deep_waiter(void *arg)
{
    at_depth(core_depth(400 << 10));
    return V(2);
}

START_TEST(evicted_deep_task_keeps_live_pages)
{
    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    pgs_task *t = pgs_create(fn_deep_waiter, NULL);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(1));
    size_t shown = pgs_task_stack_bytes(t);
    ck_assert_uint_ge(shown, 400 << 10);
    ck_assert_uint_ge(core_stats().stack_bytes_peak, 900 << 10);
    pgs_task *u = pgs_create(core_yield_forever, V(3));
    ck_assert_int_eq(pgs_resume(u, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(3));
    size_t kept = pgs_task_stack_bytes(t);
    fprintf(stderr, "core: task waiting 400 KiB deep after 1 MiB: %zu KiB "
                    "while shown, %zu KiB evicted\n",
            shown >> 10, kept >> 10);
    ck_assert_uint_ge(kept, 400 << 10);
    ck_assert_uint_le(kept, (400 << 10) + (64 << 10));
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.stack_bytes,
                      kept + pgs_task_stack_bytes(u));
    ck_assert_uint_eq(st.pool_bytes, pgs__tls->held_pages * PGS_PAGE);
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(2));
    ck_assert_int_eq(pgs_destroy(t), 0);
    ck_assert_int_eq(pgs_destroy(u), 0);
}
END_TEST

/*
 * 100,000 tasks, each resumed once and waiting shallow: /proc/self/maps
 * does not grow with them, and they cost less than a page each.
 * ThreadSanitizer keeps at most 8128 threads and fibers alive at once,
 * and there every task is a fiber with mappings of its own: 8,000 tasks
 * under it, and /proc/self/maps is not the library's to count.
 */
#if defined(__SANITIZE_THREAD__)
#define WAITING_TASKS 8000
#define MAPS_GROWTH(lines) 0
#else
#define WAITING_TASKS 100000
#define MAPS_GROWTH(lines) (lines)
#endif

START_TEST(hundred_thousand_tasks)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    pgs_task **v = malloc(WAITING_TASKS * sizeof *v);
    ck_assert_ptr_nonnull(v);
    unsigned nregions = pgs__tls->nregions;
    long before = core_maps_lines(), warm = 0;
    for (size_t i = 0; i < WAITING_TASKS; i++) {
        v[i] = pgs_create(core_yield_forever, V(i));
        ck_assert_ptr_nonnull(v[i]);
        void *out = NULL;
        ck_assert_int_eq(pgs_resume(v[i], NULL, &out), 0);
        ck_assert_ptr_eq(out, V(i));
        if (i + 1 == nregions) /* every region shows a task now */
            warm = core_maps_lines();
    }
    long after = core_maps_lines();
    struct pgs_stats st = core_stats();
    fprintf(stderr,
            "core: %d waiting tasks: /proc/self/maps %ld lines before, "
            "%ld once each of %u regions showed a task, %ld after; "
            "stack_bytes %zu (%.1f pages, %.0f bytes a task), pool_bytes "
            "%zu, remaps %llu\n",
            WAITING_TASKS, before, warm, nregions, after, st.stack_bytes,
            (double)st.stack_bytes / CORE_PAGE,
            (double)st.stack_bytes / WAITING_TASKS, st.pool_bytes,
            (unsigned long long)st.remaps);
    /* A region that shows a task splits the reservation: a line or two
     * per region, then nothing more per task. */
    ck_assert_int_le(MAPS_GROWTH(after - warm), 10);
    ck_assert_int_le(MAPS_GROWTH(after - before), 10 + 2 * (long)nregions);
    ck_assert_uint_eq(st.tasks, WAITING_TASKS);
    ck_assert_uint_le(st.stack_bytes, (size_t)WAITING_TASKS * CORE_PAGE);
    ck_assert_uint_ge(st.stack_bytes, (size_t)WAITING_TASKS * 64);
    /* Every one of them still runs. */
    for (size_t i = 0; i < WAITING_TASKS; i += 1 + i % 7) {
        void *out = NULL;
        ck_assert_int_eq(pgs_resume(v[i], NULL, &out), 0);
        ck_assert_ptr_eq(out, V(i));
    }
    ck_assert_int_le(MAPS_GROWTH(core_maps_lines() - warm), 10);
    for (size_t i = 0; i < WAITING_TASKS; i++)
        ck_assert_int_eq(pgs_destroy(v[i]), 0);
    st = core_stats();
    ck_assert_uint_eq(st.tasks, 0);
    ck_assert_uint_eq(st.stack_bytes, 0);
    ck_assert_int_le(MAPS_GROWTH(core_maps_lines() - warm), 10);
    free(v);
}
END_TEST

void core_add_memory(Suite *s)
{
    TCase *tc = core_tcase(s, "memory");
    tcase_add_loop_test(tc, cap_create_enomem, 0,
                        (int)(sizeof cap_cases / sizeof cap_cases[0]));
    tcase_add_loop_test(tc, cap_never_exceeded, 0,
                        (int)(sizeof cap_cases / sizeof cap_cases[0]));
    tcase_add_test(tc, cap_too_small_to_start);
    tcase_add_test(tc, stats_one_task);
    tcase_add_loop_test(tc, done_task_holds_nothing, 0, 3);
    tcase_add_loop_test(tc, waiting_tasks_give_back, 1, 5);
    tcase_add_test(tc, evicted_deep_task_keeps_live_pages);
    tcase_add_test(tc, hundred_thousand_tasks);
}
