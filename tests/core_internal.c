/* SPDX-License-Identifier: MIT */
/*
 * White-box tests of lib/internal.h: the page arithmetic, the extent free
 * list, the pool's pages, the diagnostics formatter, where an evicted task
 * keeps its stack, and the bookkeeping identity that every memory figure
 * rests on:
 *
 *   pages allocated in the memfd == held_pages
 *   held bytes == what the tasks hold + the scratch of empty regions
 */
/* pgs_assert survives NDEBUG: this file is built with it. */
#define NDEBUG 1
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core_util.h"
#include "internal.h"

#define V(x) ((void *)(uintptr_t)(x))

START_TEST(cover_arithmetic)
{
    /* Arithmetic only: nothing is touched there. */
    char *space = (char *)((uintptr_t)1 << 40);
    struct pgs_region r = { .base = space, .top = space + 8 * PGS_PAGE };
    uintptr_t top = (uintptr_t)r.top, base = (uintptr_t)r.base;
    ck_assert_uint_eq(pgs__cover(&r, top), 0);
    ck_assert_uint_eq(pgs__cover(&r, top + 12345), 0);
    ck_assert_uint_eq(pgs__cover(&r, top - 1), 1);
    ck_assert_uint_eq(pgs__cover(&r, top - PGS_PAGE), 1);
    ck_assert_uint_eq(pgs__cover(&r, top - PGS_PAGE - 1), 2);
    ck_assert_uint_eq(pgs__cover(&r, top - 3 * PGS_PAGE + 7), 3);
    ck_assert_uint_eq(pgs__cover(&r, base + 1), 8);
    ck_assert_uint_eq(pgs__cover(&r, base), 8);
    ck_assert_uint_eq(pgs__cover(&r, base - 1), 8);
    ck_assert_uint_eq(pgs__cover(&r, 0), 8);

    ck_assert_uint_eq(pgs__round_up(0, 4096), 0);
    ck_assert_uint_eq(pgs__round_up(1, 4096), 4096);
    ck_assert_uint_eq(pgs__round_up(4096, 4096), 4096);
    ck_assert_uint_eq(pgs__round_up(4097, 16), 4112);
}
END_TEST

START_TEST(extent_reuse)
{
    struct pgs_thread th;
    memset(&th, 0, sizeof th);
    th.size = PGS_DEFAULT_STACK;
    th.pool_size = PGS_POOL_FILE_SIZE;
    size_t s[200];
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(pgs__extent_get(&th, &s[i]), 0);
        ck_assert_uint_eq(s[i], i); /* fresh extents: the next index */
    }
    pgs__extent_put(&th, 1);
    ck_assert_int_eq(pgs__extent_get(&th, &s[3]), 0);
    ck_assert_uint_eq(s[3], 1); /* a given-back extent first */
    pgs__extent_put(&th, 0);
    pgs__extent_put(&th, 2);
    ck_assert_int_eq(pgs__extent_get(&th, &s[4]), 0);
    ck_assert_uint_eq(s[4], 2); /* last in, first out */
    ck_assert_int_eq(pgs__extent_get(&th, &s[5]), 0);
    ck_assert_uint_eq(s[5], 0);
    ck_assert_int_eq(pgs__extent_get(&th, &s[6]), 0);
    ck_assert_uint_eq(s[6], 3); /* free list empty: a new one */
    /* Past the free list's first capacity: all distinct, and all can be
     * given back (the list always has room). */
    for (size_t i = 7; i < 200; i++) {
        ck_assert_int_eq(pgs__extent_get(&th, &s[i]), 0);
        ck_assert_uint_eq(s[i], i - 3);
    }
    ck_assert_uint_eq(th.extents_used, 197);
    ck_assert_uint_ge(th.free_cap, th.extents_used);
    for (size_t i = 0; i < 197; i++)
        pgs__extent_put(&th, i);
    ck_assert_uint_eq(th.nfree, 197);
    ck_assert_int_eq(pgs__extent_get(&th, &s[0]), 0);
    ck_assert_uint_eq(s[0], 196);
    free(th.free_extents);
}
END_TEST

START_TEST(extent_offsets)
{
    struct pgs_thread th;
    memset(&th, 0, sizeof th);
    th.size = 8 << 20;
    ck_assert_int_eq(pgs__extent_offset(&th, 0, 0), (8 << 20) - PGS_PAGE);
    ck_assert_int_eq(pgs__extent_offset(&th, 0, (8 << 20) / PGS_PAGE - 1), 0);
    ck_assert_int_eq(pgs__extent_offset(&th, 2, 3),
                     2 * (8 << 20) + (8 << 20) - 4 * PGS_PAGE);
    /* A region address and its extent offset keep the same distance from
     * the top: contiguous pages, one mmap. */
    ck_assert_int_eq(pgs__extent_offset(&th, 5, 10) -
                         pgs__extent_offset(&th, 5, 11),
                     PGS_PAGE);
}
END_TEST

static size_t memfd_bytes(void)
{
    struct stat st;
    ck_assert_int_eq(fstat(pgs__tls->fd, &st), 0);
    return (size_t)st.st_blocks * 512;
}

START_TEST(pool_pages)
{
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    struct pgs_thread *th = pgs__tls;
    ck_assert_int_ge(th->fd, 0);
    ck_assert_uint_eq(memfd_bytes(), 0);
    size_t extent;
    ck_assert_int_eq(pgs__extent_get(th, &extent), 0);
    int over = -1;
    ck_assert_int_eq(pgs__extent_grow(th, extent, 0, 8,
                                      pgs__limit(th, 0), &over),
                     0);
    ck_assert_int_eq(over, 0);
    pgs__note_peak(th); /* callers note the peak where no switch is half done */
    ck_assert_uint_eq(th->held_pages, 8);
    ck_assert_uint_eq(memfd_bytes(), 8 * PGS_PAGE);
    /* Fresh pages read as zero: write into one, give it back, grow again. */
    char page[4096];
    memset(page, 0x5a, sizeof page);
    ck_assert_int_eq(pwrite(th->fd, page, sizeof page,
                            pgs__extent_offset(th, extent, 7)),
                     (ssize_t)sizeof page);
    ck_assert_int_eq(pgs__extent_trim(th, extent, 8, 4), 0);
    ck_assert_uint_eq(th->held_pages, 4);
    ck_assert_uint_eq(memfd_bytes(), 4 * PGS_PAGE);
    ck_assert_int_eq(pgs__extent_grow(th, extent, 4, 8,
                                      pgs__limit(th, 0), &over),
                     0);
    ck_assert_int_eq(pread(th->fd, page, sizeof page,
                           pgs__extent_offset(th, extent, 7)),
                     (ssize_t)sizeof page);
    for (size_t i = 0; i < sizeof page; i++)
        ck_assert_int_eq(page[i], 0);
    ck_assert_int_eq(pgs__extent_trim(th, extent, 8, 0), 0);
    ck_assert_uint_eq(th->held_pages, 0);
    ck_assert_uint_eq(memfd_bytes(), 0);
    pgs__extent_put(th, extent);
    ck_assert_uint_ge(th->peak_bytes, 8 * PGS_PAGE);
}
END_TEST

START_TEST(pool_cap)
{
    struct pgs_config cfg = { .max_stack_bytes = 16 * PGS_PAGE };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    struct pgs_thread *th = pgs__tls;
    size_t extent;
    ck_assert_int_eq(pgs__extent_get(th, &extent), 0);
    int over = 0;
    ck_assert_int_eq(pgs__extent_grow(th, extent, 0, 16,
                                      pgs__limit(th, 0), &over),
                     0);
    errno = 0;
    ck_assert_int_eq(
        pgs__extent_grow(th, extent, 16, 17, pgs__limit(th, 0), &over), -1);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(over, 1);
    ck_assert_uint_eq(th->held_pages, 16);
    ck_assert_uint_eq(memfd_bytes(), 16 * PGS_PAGE);
    ck_assert_int_eq(pgs__extent_trim(th, extent, 16, 0), 0);
    pgs__extent_put(th, extent);
}
END_TEST

START_TEST(message_format)
{
    struct pgs_msg m = { .len = 0 };
    pgs__msg_dec(&m, 0);
    pgs__msg_str(&m, " ");
    pgs__msg_dec(&m, 18446744073709551615u);
    pgs__msg_str(&m, " ");
    pgs__msg_hex(&m, 0);
    pgs__msg_str(&m, " ");
    pgs__msg_hex(&m, 0xdeadbeefu);
    m.buf[m.len] = '\0';
    ck_assert_str_eq(m.buf, "0 18446744073709551615 0x0 0xdeadbeef");

    pgs_task *t = pgs_create((pgs_fn)(uintptr_t)1, NULL);
    ck_assert_ptr_nonnull(t);
    char want[128];
    m.len = 0;
    pgs__msg_task(&m, t);
    m.buf[m.len] = '\0';
    snprintf(want, sizeof want, "%#lx", (unsigned long)(uintptr_t)t);
    ck_assert_str_eq(m.buf, want);
    ck_assert_int_eq(pgs_set_name(t, "net/rx"), 0);
    m.len = 0;
    pgs__msg_task(&m, t);
    m.buf[m.len] = '\0';
    snprintf(want, sizeof want, "\"net/rx\" (%#lx)",
             (unsigned long)(uintptr_t)t);
    ck_assert_str_eq(m.buf, want);
    ck_assert_int_eq(pgs_destroy(t), 0);

    /* The buffer never overflows. */
    m.len = 0;
    for (int i = 0; i < 100; i++)
        pgs__msg_str(&m, "0123456789");
    pgs__msg_dec(&m, 12345);
    pgs__msg_hex(&m, 0xffff);
    ck_assert_uint_lt(m.len, sizeof m.buf);
}
END_TEST

/* Where a task's stack is once another task took its region. */
static CORE_NOINLINE long wait_at(size_t bytes)
{
    volatile char pad[1000];
    pad[0] = 1;
    if (bytes > sizeof pad)
        return wait_at(bytes - sizeof pad - 24) + pad[0];
    pgs_yield(V(1));
    return pad[0];
}

static void *fn_wait_at(void *arg)
{
    wait_at((size_t)(uintptr_t)arg);
    return V(2);
}

/* pgs_assert: one line naming the file, the line and the invariant, then
 * death by SIGSEGV.  This file is built with NDEBUG, which must not
 * matter. */
static void child_assert(void *arg)
{
    int two = (int)(uintptr_t)arg;
    pgs_assert(two + two == 5, "two and two make five");
}

START_TEST(assert_reports)
{
    struct core_child c;
    core_run_child(child_assert, V(2), &c);
    ck_assert_msg(core_child_segv(&c), "status %#x", c.status);
    ck_assert_msg(strstr(c.err, "pagedstack: ") == c.err &&
                      strstr(c.err, "core_internal.c:") &&
                      strstr(c.err, ": invariant broken: two and two make "
                                    "five\n"),
                  "stderr: %s", c.err);
}
END_TEST

/* A task that takes itself out of its region, then yields: the yield finds
 * the region's occupant is not the running task. */
static void *unshown_fn(void *arg)
{
    pgs__region_of(pgs__tls, pgs_self())->occupant = NULL;
    pgs_yield(NULL);
    return arg;
}

/* A waiting task that says it keeps its pages in an extent it does not
 * have: its destroy finds its home disagrees with where its stack is. */
static void child_broken_home(void *arg)
{
    pgs_task *t = pgs_create(arg ? unshown_fn : core_yield_forever, NULL);
    if (!t || pgs_resume(t, NULL, NULL) != 0)
        _exit(3);
    if (arg)
        _exit(4); /* the yield should have died */
    pgs__region_of(pgs__tls, t)->occupant = NULL;
    t->home = PGS_HOME_EXTENT;
    t->extent = PGS_NO_EXTENT;
    pgs_destroy(t);
}

START_TEST(assert_region_invariants)
{
    static const char *const what[] = {
        "a task's home says where its stack is",
        "a running task is its region's occupant",
    };
    struct core_child c;
    core_run_child(child_broken_home, V(_i), &c);
    ck_assert_msg(core_child_segv(&c), "status %#x", c.status);
    ck_assert_msg(strstr(c.err, what[_i]) != NULL, "stderr: %s", c.err);
}
END_TEST

START_TEST(homes)
{
    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    struct pgs_thread *th = pgs__tls;
    struct pgs_region *r = &th->regions[0];
    pgs_task *shallow = pgs_create(fn_wait_at, V(8 << 10));
    pgs_task *deep = pgs_create(fn_wait_at, V(600 << 10));
    ck_assert_int_eq(shallow->home, PGS_HOME_NONE);
    ck_assert_ptr_null(r->occupant);

    ck_assert_int_eq(pgs_resume(shallow, NULL, NULL), 0);
    ck_assert_int_eq(shallow->home, PGS_HOME_REGION);
    ck_assert_ptr_eq(r->occupant, shallow);
    ck_assert_uint_ge(r->mapped * PGS_PAGE, 8 << 10);
    /* Every page from the saved sp up is shown. */
    ck_assert_uint_ge(r->mapped, pgs__cover(r, (uintptr_t)shallow->sp));

    ck_assert_int_eq(pgs_resume(deep, NULL, NULL), 0);
    ck_assert_ptr_eq(r->occupant, deep);
    ck_assert_int_eq(shallow->home, PGS_HOME_COPY);
    ck_assert_uint_ge(shallow->buflen, 8 << 10);
    ck_assert_uint_le(shallow->buflen, 16 << 10);
    ck_assert_uint_ge(shallow->bufcap, shallow->buflen);
    ck_assert_uint_eq(pgs_task_stack_bytes(shallow), shallow->bufcap);
    ck_assert_uint_eq(shallow->buflen,
                      (uintptr_t)r->top - (uintptr_t)shallow->sp);

    ck_assert_int_eq(pgs_resume(shallow, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(shallow), PGS_DONE);
    ck_assert_ptr_eq(r->occupant, NULL); /* a finished task leaves */
    ck_assert_int_eq(deep->home, PGS_HOME_EXTENT);
    ck_assert_uint_ne(deep->extent, PGS_NO_EXTENT);
    ck_assert_uint_ne(deep->extent, r->extent);
    /* It kept its live stack and the headroom below, no more. */
    size_t live = pgs__cover(r, (uintptr_t)deep->sp - th->headroom);
    ck_assert_uint_eq(deep->pages, live);
    ck_assert_uint_eq(pgs_task_stack_bytes(deep), live * PGS_PAGE);
    ck_assert_uint_eq(shallow->home, PGS_HOME_NONE);
    ck_assert_ptr_null(shallow->buf);

    ck_assert_int_eq(pgs_resume(deep, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(deep), PGS_DONE);
    ck_assert_int_eq(pgs_destroy(shallow), 0);
    ck_assert_int_eq(pgs_destroy(deep), 0);
    ck_assert_uint_eq(th->copy_bytes, 0);
    ck_assert_uint_eq(th->unstarted, 0);
}
END_TEST

/*
 * The bookkeeping identity, after every step of a pseudo-random run:
 * tasks resumed to new depths (each checking its stack), created, finished
 * and destroyed.
 */
#define WALKERS 16
#define STEPS 400

struct walker {
    unsigned id;
    unsigned round;
    size_t next_depth;
    pgs_task *task;
};

static unsigned walk_sid(const struct walker *w)
{
    return w->id * 1000 + w->round;
}

static void *fn_walker(void *arg)
{
    struct walker *w = arg;
    for (;;) {
        struct core_stask s = { .id = walk_sid(w), .depth = w->next_depth,
                                .rounds = 1, .task = w->task };
        core_stask_descend(&s); /* yields at the bottom */
        if (w->next_depth == (size_t)-1)
            return V(w->id);
        w->round++;
    }
}

static const size_t walk_depths[] = {
    0, 2 << 10, 20 << 10, 100 << 10, 380 << 10, 400 << 10, 1 << 20, 2 << 20,
};

static void check_books(const char *when, int step)
{
    struct pgs_thread *th = pgs__tls;
    size_t tasks_bytes = 0, n = 0, copies = 0;
    for (pgs_task *t = th->list; t; t = t->next) {
        tasks_bytes += pgs_task_stack_bytes(t);
        copies += t->bufcap;
        n++;
    }
    size_t scratch = 0;
    for (unsigned i = 0; i < th->nregions; i++)
        if (!th->regions[i].occupant)
            scratch += th->regions[i].mapped * PGS_PAGE;
    ck_assert_uint_eq(n, th->tasks);
    ck_assert_uint_eq(copies, th->copy_bytes);
    ck_assert_msg(pgs__held_bytes(th) == tasks_bytes + scratch,
                  "%s, step %d: held %zu != tasks %zu + scratch %zu", when,
                  step, pgs__held_bytes(th), tasks_bytes, scratch);
    ck_assert_msg(memfd_bytes() == th->held_pages * PGS_PAGE,
                  "%s, step %d: memfd holds %zu bytes, books say %zu pages",
                  when, step, memfd_bytes(), th->held_pages);
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.stack_bytes, tasks_bytes);
    ck_assert_uint_eq(st.pool_bytes, th->held_pages * PGS_PAGE);
}

START_TEST(books_balance)
{
    struct pgs_config cfg = { .regions = (unsigned)_i };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    static struct walker w[WALKERS];
    uint64_t rng = 4242 + (uint64_t)_i;
    unsigned next_id = 1;
    memset(w, 0, sizeof w);
    for (int step = 0; step < STEPS; step++) {
        struct walker *x = &w[core_rand(&rng) % WALKERS];
        unsigned op = (unsigned)(core_rand(&rng) % 10);
        int state = x->task ? pgs_state(x->task) : -1;
        if (!x->task) {
            *x = (struct walker){ .id = next_id++ };
            x->task = pgs_create(fn_walker, x);
            ck_assert_ptr_nonnull(x->task);
        } else if (op < 7 && state != PGS_DONE) {
            /* To a new depth: the task comes up from the old one (the in
             * goes to its yield there) and waits at the bottom again. */
            void *in = state == PGS_CREATED ? NULL
                                            : core_stask_itag(walk_sid(x), 2);
            x->next_depth = walk_depths[core_rand(&rng) % 8];
            void *out = NULL;
            ck_assert_int_eq(pgs_resume(x->task, in, &out), 0);
            ck_assert_ptr_eq(out, core_stask_ytag(walk_sid(x), 1));
        } else if (op < 9) {
            ck_assert_int_eq(pgs_destroy(x->task), 0);
            x->task = NULL;
        } else if (state == PGS_SUSPENDED) {
            x->next_depth = (size_t)-1;
            void *out = NULL;
            ck_assert_int_eq(pgs_resume(x->task,
                                        core_stask_itag(walk_sid(x), 2),
                                        &out), 0);
            ck_assert_ptr_eq(out, V(x->id));
            ck_assert_int_eq(pgs_state(x->task), PGS_DONE);
        }
        check_books("random run", step);
    }
    for (int i = 0; i < WALKERS; i++)
        if (w[i].task)
            ck_assert_int_eq(pgs_destroy(w[i].task), 0);
    check_books("all destroyed", STEPS);
    ck_assert_uint_eq(core_stats().stack_bytes, 0);
}
END_TEST

/*
 * The scratch clear, with each vector loop the CPU offers (_i: none, and
 * each pgs__fast_scan value up to this CPU's): one nonzero byte anywhere in two pages below an end on
 * no particular boundary is found (the clear starts at its 128-byte line,
 * or at the part line just below the end if it lies there), everything
 * below the end is zero afterwards, and nothing at or above the end is
 * touched.
 */
START_TEST(scan_finds_every_byte)
{
    if (_i > pgs__fast_scan())
        return; /* this CPU has no such loop */
    enum { SPAN = 2 * 4096, END = SPAN - 40 };
    static unsigned char mem[SPAN + 128] __attribute__((aligned(4096)));
    struct pgs_thread th;
    memset(&th, 0, sizeof th);
    th.fast_scan = _i;
    char *bottom = (char *)mem, *end = bottom + END;
    char *lines = bottom + (END & ~127);
    for (size_t at = 0; at < END; at++) {
        mem[at] = (unsigned char)(at % 255 + 1);
        memset(mem + END, 0xee, sizeof mem - END);
        char *dirty = pgs__scratch_clear(&th, bottom, end);
        if (_i == 0)
            ck_assert_ptr_null(dirty);
        else if (at < (size_t)(lines - bottom))
            ck_assert_ptr_eq(dirty, bottom + (at & ~(size_t)127));
        else
            ck_assert_ptr_eq(dirty, lines);
        ck_assert_msg(mem[at] == 0, "scan %d: byte %zu left", _i, at);
        for (size_t k = END; k < sizeof mem; k++)
            ck_assert_uint_eq(mem[k], 0xee);
    }
    for (size_t k = 0; k < END; k++)
        ck_assert_uint_eq(mem[k], 0);
    ck_assert_uint_eq(th.scan_bytes, (uint64_t)END * END);
}
END_TEST

void core_add_internal(Suite *s)
{
    TCase *tc = core_tcase(s, "internal");
    tcase_add_test(tc, cover_arithmetic);
    tcase_add_test(tc, extent_reuse);
    tcase_add_test(tc, extent_offsets);
    tcase_add_test(tc, pool_pages);
    tcase_add_test(tc, pool_cap);
    tcase_add_test(tc, message_format);
    tcase_add_test(tc, homes);
    tcase_add_test(tc, assert_reports);
    tcase_add_loop_test(tc, assert_region_invariants, 0, 2);
    tcase_add_loop_test(tc, books_balance, 1, 5);
    tcase_add_loop_test(tc, scan_finds_every_byte, 0, 3);
}
