/* SPDX-License-Identifier: MIT */
/*
 * Regions as a cache of resident tasks: a task with a region of its own is
 * never copied or remapped, the tasks beyond the regions share region 0, a
 * region is free again once its task is done or destroyed, and what a task
 * left in a region is never visible to the task that gets the region next.
 * Checked with the library's own counters and state, never with times.
 */
#include "config.h"
#include <alloca.h>
#include <string.h>
#include "core_util.h"
#include "internal.h"
#include "memcheck.h"

static void init_regions(unsigned regions)
{
    struct pgs_config c = { .regions = regions };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
}

static uint64_t remaps(void)
{
    struct pgs_stats st;
    ck_assert_int_eq(pgs_stats(&st), 0);
    return st.remaps;
}

/* A task that keeps `arg` bytes live (a local array it checks) and
 * yields forever. */
static CORE_NOINLINE void *live_bytes(void *arg)
{
    size_t n = (size_t)(uintptr_t)arg;
    volatile unsigned char *a = alloca(n);
    for (size_t i = 0; i < n; i++)
        a[i] = (unsigned char)(i * 7 + 1);
    for (;;) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != (unsigned char)(i * 7 + 1))
                return NULL;
        pgs_yield((void *)1);
    }
}

/*
 * R regions, R tasks: every task has a region to itself, shows from its
 * first resume on and is never evicted, copied or remapped again.  Then
 * three more tasks: all three share region 0 with the task there, and each
 * round costs exactly the four switches of region 0.
 */
START_TEST(resident_never_copied)
{
    enum { R = 8, EXTRA = 3, ROUNDS = 50 };
    init_regions(R);
    struct pgs_thread *th = pgs__tls;
    pgs_task *t[R + EXTRA];
    for (int i = 0; i < R; i++) {
        t[i] = pgs_create(live_bytes, (void *)(uintptr_t)(1024 + 512 * i));
        ck_assert_ptr_nonnull(t[i]);
    }
    uint64_t before = remaps();
    for (int k = 0; k < ROUNDS; k++)
        for (int i = 0; i < R; i++) {
            void *out = NULL;
            ck_assert_int_eq(pgs_resume(t[i], NULL, &out), 0);
            ck_assert_ptr_eq(out, (void *)1);
        }
    /* One remap each: the first showing of a new task. */
    ck_assert_uint_eq(remaps() - before, R);
    for (int i = 0; i < R; i++) {
        ck_assert_int_eq(t[i]->home, PGS_HOME_REGION);
        ck_assert_ptr_eq(th->regions[t[i]->region].occupant, t[i]);
        ck_assert_ptr_null(t[i]->buf); /* never copied aside */
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(t[i]->region, t[j]->region);
    }

    for (int i = R; i < R + EXTRA; i++) {
        t[i] = pgs_create(live_bytes, (void *)(uintptr_t)2048);
        ck_assert_ptr_nonnull(t[i]);
        ck_assert_uint_eq(t[i]->region, 0);
    }
    unsigned shared = 0;
    for (int i = 0; i < R; i++)
        shared += t[i]->region == 0;
    ck_assert_uint_eq(shared, 1);
    for (int i = 0; i < R + EXTRA; i++) /* first round: starts the extras */
        ck_assert_int_eq(pgs_resume(t[i], NULL, NULL), 0);
    before = remaps();
    for (int k = 0; k < ROUNDS; k++)
        for (int i = 0; i < R + EXTRA; i++) {
            void *out = NULL;
            ck_assert_int_eq(pgs_resume(t[i], NULL, &out), 0);
            ck_assert_ptr_eq(out, (void *)1);
        }
    ck_assert_uint_eq(remaps() - before, (uint64_t)ROUNDS * (EXTRA + 1));
    for (int i = 0; i < R + EXTRA; i++)
        if (t[i]->region != 0)
            ck_assert_ptr_null(t[i]->buf);
    for (int i = 0; i < R + EXTRA; i++)
        ck_assert_int_eq(pgs_destroy(t[i]), 0);
}
END_TEST

/* A done task gives its region back before it is destroyed: the next task
 * created gets it, and the tasks still waiting are not disturbed. */
START_TEST(region_free_at_finish)
{
    enum { R = 4 };
    init_regions(R);
    pgs_task *t[R];
    for (int i = 0; i < R; i++) {
        t[i] = pgs_create(i == 1 ? core_return_arg : core_yield_forever,
                          NULL);
        ck_assert_ptr_nonnull(t[i]);
    }
    for (int i = 0; i < R; i++)
        ck_assert_int_eq(pgs_resume(t[i], NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(t[1]), PGS_DONE);
    unsigned freed = t[1]->region;
    ck_assert_uint_ne(freed, 0);
    pgs_task *n = pgs_create(core_yield_forever, NULL);
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_eq(n->region, freed);
    ck_assert_int_eq(pgs_resume(n, NULL, NULL), 0);
    /* Destroying the done task does not free the region a second time:
     * the next task shares region 0. */
    ck_assert_int_eq(pgs_destroy(t[1]), 0);
    pgs_task *m = pgs_create(core_yield_forever, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->region, 0);
    ck_assert_int_eq(pgs_destroy(m), 0);
    ck_assert_int_eq(pgs_destroy(n), 0);
    for (int i = 0; i < R; i++)
        if (i != 1)
            ck_assert_int_eq(pgs_destroy(t[i]), 0);
}
END_TEST

/*
 * A region taken back from a task (it finished, or it was destroyed while
 * waiting, or before it ever ran) leaves nothing the next task can see:
 * every byte the next task can reach below its stack pointer is zero,
 * although the first task wrote a pattern 64 KiB deep there.
 */
#define SECRET_DEPTH (64 << 10)

static CORE_NOINLINE void scribble(size_t n)
{
    volatile unsigned char *a = alloca(n);
    for (size_t i = 0; i < n; i++)
        a[i] = 0xa5;
}

static void *writer(void *arg)
{
    scribble(SECRET_DEPTH);
    if (arg)
        pgs_yield(NULL); /* waits shallow, its deep scratch still mapped */
    return NULL;
}

/* Counts the non-zero bytes between the bottom of what its region maps
 * and its own red zone, calling nothing that could write there.  Its own
 * first frame is left out: on aarch64 it reaches below the stack pointer
 * once popped, and pgs_create wrote all of it, so no byte of another task
 * can be there. */
static CORE_NOINLINE void *reader(void *arg)
{
    struct pgs_thread *th = pgs__tls;
    struct pgs_region *rg = pgs__region_of(th, th->current);
    const char *p = rg->top - rg->mapped * PGS_PAGE, *sp;
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#endif
    const char *end = sp - PGS_REDZONE;
    if (end > rg->top - PGS_FIRST_FRAME_GAP)
        end = rg->top - PGS_FIRST_FRAME_GAP;
    /* Below the stack pointer, which memcheck takes for unaddressable:
     * reading it is the point. */
    VALGRIND_MAKE_MEM_DEFINED(p, (size_t)(end - p));
    size_t dirty = 0;
    for (; p < end; p++)
        dirty += *p != 0;
    *(size_t *)arg = dirty;
    return NULL;
}

START_TEST(taken_back_region_clean)
{
    /* _i: 0 the writer finished, 1 it was destroyed while waiting. */
    init_regions(4);
    pgs_task *w = pgs_create(writer, (void *)(uintptr_t)_i);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(pgs_resume(w, NULL, NULL), 0);
    unsigned region = w->region;
    if (_i)
        ck_assert_int_eq(pgs_destroy(w), 0);
    size_t dirty = 1;
    pgs_task *r = pgs_create(reader, &dirty);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->region, region);
    ck_assert_int_eq(pgs_resume(r, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(r), PGS_DONE);
    ck_assert_uint_eq(dirty, 0);
    ck_assert_int_eq(pgs_destroy(r), 0);
    if (!_i)
        ck_assert_int_eq(pgs_destroy(w), 0);
}
END_TEST

/*
 * No cliff: after one task of a shared region went 64 KiB deep once and
 * came back, the later shallow switches of that region scan no more than
 * they did before (after a few), and the region maps what it did before.
 */
static volatile int dive_once;

static CORE_NOINLINE void *shallow_or_once_deep(void *arg)
{
    for (;;) {
        if (arg && dive_once) {
            dive_once = 0;
            scribble(64 << 10);
        }
        pgs_yield(NULL);
    }
    return NULL;
}

static uint64_t scan_per_round(pgs_task **t, int n, int rounds)
{
    uint64_t before = pgs__tls->scan_bytes;
    for (int k = 0; k < rounds; k++)
        for (int i = 0; i < n; i++)
            ck_assert_int_eq(pgs_resume(t[i], NULL, NULL), 0);
    return (pgs__tls->scan_bytes - before) / (uint64_t)rounds;
}

START_TEST(no_cliff_after_deep)
{
    enum { N = 4, ROUNDS = 20 };
    init_regions(1);
    pgs_task *t[N];
    for (int i = 0; i < N; i++) {
        t[i] = pgs_create(shallow_or_once_deep, (void *)(uintptr_t)(i == 1));
        ck_assert_ptr_nonnull(t[i]);
    }
    struct pgs_region *r = &pgs__tls->regions[0];
    scan_per_round(t, N, 2);
    uint64_t before = scan_per_round(t, N, ROUNDS);
    size_t mapped = r->mapped;
    ck_assert_uint_gt(before, 0);
    dive_once = 1;
    scan_per_round(t, N, 1);
    ck_assert_int_eq(dive_once, 0);
    ck_assert_uint_ge(r->mapped, 16); /* the dive's scratch is still there */
    scan_per_round(t, N, ROUNDS); /* a few long scans, then the trim */
    uint64_t after = scan_per_round(t, N, ROUNDS);
    ck_assert_uint_le(after, before);
    ck_assert_uint_eq(r->mapped, mapped);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pgs_destroy(t[i]), 0);
}
END_TEST

void core_add_regions(Suite *s)
{
    TCase *tc = tcase_create("regions");
    tcase_set_timeout(tc, CORE_TIMEOUT);
    tcase_add_test(tc, resident_never_copied);
    tcase_add_test(tc, region_free_at_finish);
    tcase_add_loop_test(tc, taken_back_region_clean, 0, 2);
    tcase_add_test(tc, no_cliff_after_deep);
    suite_add_tcase(s, tc);
}
