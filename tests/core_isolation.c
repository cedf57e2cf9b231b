/* SPDX-License-Identifier: MIT */
/*
 * Invariant 1: a task that goes deeper than ever before sees zeroes, never
 * a neighbour's bytes.  Task A fills a deep stack buffer with 0xAA; then
 * task B, in the same region (the thread has one), reads a buffer at the
 * same and greater depth before writing anything there: every byte must be
 * zero.  A is suspended deep, suspended shallow, finished, or destroyed
 * before B is created (its pages reused), at several depths on both sides
 * of what the library saves by copying, and within the page a task starts
 * on (where a task finishes, and the next one starts, without a system
 * call).
 */
#include "config.h"
#include <stdio.h>
#include "core_util.h"
#include "internal.h"
#include "memcheck.h"

#define V(x) ((void *)(uintptr_t)(x))
#define AA 0xaaaaaaaaaaaaaaaau

enum iso_mode {
    ISO_A_WAITS_DEEP,        /* A yields with its buffer live */
    ISO_A_WAITS_SHALLOW,     /* A returned from it, then yielded */
    ISO_A_DONE,              /* A finished */
    ISO_A_DESTROYED_DEEP,    /* A waited deep, was destroyed; B created after */
    ISO_A_DESTROYED_SHALLOW, /* A waited shallow, was destroyed; B after */
    ISO_A_DESTROYED_DONE,    /* A finished, was destroyed; B after */
    ISO_B_OLDER,             /* B existed and ran shallow before A ran */
    ISO_MODES
};

static const size_t iso_depths[] = {
    1 << 10, 16 << 10, 200 << 10, 1 << 20, 3 << 20,
};
#define NDEPTHS (sizeof iso_depths / sizeof iso_depths[0])

/* B reads this much more than A wrote: all of A's buffer, whatever the
 * small differences between their frames, and fresh pages below. */
#define B_EXTRA (32 << 10)

struct iso {
    enum iso_mode mode;
    size_t depth;
};

/* A's buffer: filled with 0xAA; when A waits deep, checked after. */
static CORE_NOINLINE void fill_aa(size_t bytes, int wait_here)
{
    volatile uint64_t buf[bytes / 8];
    for (size_t i = 0; i < bytes / 8; i++)
        buf[i] = AA;
    if (!wait_here)
        return;
    pgs_yield(V(0xa1));
    for (size_t i = 0; i < bytes / 8; i++)
        ck_assert_msg(buf[i] == AA,
                      "A's own buffer changed while it waited: word %zu of "
                      "%zu is %#llx",
                      i, bytes / 8, (unsigned long long)buf[i]);
}

/* Under ThreadSanitizer a function calls into the sanitizer on entry,
 * before its array has its place: the return address of that call is left
 * where the top of the array then lies.  That word is the reader's own. */
#if defined(__SANITIZE_THREAD__)
#define OWN_TOP 16
#else
#define OWN_TOP 0
#endif

/* B's buffer: never written; every word read must be zero (but its own
 * top, OWN_TOP, and its own first frame: on aarch64 the frames between it
 * and the array are smaller than that frame, so the array overlaps the
 * words the switch popped from it, the task's own argument and function).
 * The array is volatile, so every read really happens.
 * Reading it uninitialised is the point of the test (and memcheck is told
 * so: what it would report is exactly what the test checks). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
static CORE_NOINLINE size_t count_nonzero(size_t bytes, size_t skip_top,
                                          size_t *first, uint64_t *value)
{
    volatile uint64_t buf[bytes / 8];
    size_t bad = 0, n = (bytes - skip_top - OWN_TOP) / 8;
    struct pgs_thread *th = pgs__tls;
    const char *first_frame =
        pgs__region_of(th, th->current)->top - PGS_FIRST_FRAME_GAP;
    while (n > 0 && (const char *)&buf[n] > first_frame)
        n--;
    VALGRIND_MAKE_MEM_DEFINED((void *)buf, bytes - skip_top);
    for (size_t i = 0; i < n; i++) {
        uint64_t w = buf[i];
        if (w && !bad++) {
            *first = i;
            *value = w;
        }
    }
    return bad;
}
#pragma GCC diagnostic pop

static void *fn_a(void *arg)
{
    struct iso *c = arg;
    int deep = c->mode == ISO_A_WAITS_DEEP || c->mode == ISO_A_DESTROYED_DEEP;
    fill_aa(c->depth, deep);
    if (c->mode == ISO_A_WAITS_SHALLOW || c->mode == ISO_A_DESTROYED_SHALLOW)
        pgs_yield(V(0xa2));
    return V(0xa3);
}

static void *fn_b(void *arg)
{
    struct iso *c = arg;
    /* A B that ran before has its own old frames (its yield) just below
     * where it continues: those bytes are its own, not A's. */
    size_t skip = 0;
    if (c->mode == ISO_B_OLDER) {
        pgs_yield(V(0xb1));
        skip = 4 << 10;
    }
    size_t bytes = c->depth + B_EXTRA, first = 0;
    uint64_t value = 0;
    size_t bad = count_nonzero(bytes, skip, &first, &value);
    ck_assert_msg(bad == 0,
                  "B (mode %d, depth %zu) sees %zu nonzero words of %zu in "
                  "stack it never wrote; the first, word %zu from the "
                  "bottom, is %#llx",
                  (int)c->mode, c->depth, bad, bytes / 8, first,
                  (unsigned long long)value);
    return V(0xb2);
}

START_TEST(deeper_sees_zeroes)
{
    struct iso c = { .mode = (enum iso_mode)(_i / (int)NDEPTHS),
                     .depth = iso_depths[_i % (int)NDEPTHS] };
    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    void *out = NULL;
    pgs_task *b = NULL;
    if (c.mode == ISO_B_OLDER) {
        b = pgs_create(fn_b, &c);
        ck_assert_int_eq(pgs_resume(b, NULL, &out), 0);
        ck_assert_ptr_eq(out, V(0xb1));
    }

    pgs_task *a = pgs_create(fn_a, &c);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(pgs_resume(a, NULL, &out), 0);
    switch (c.mode) {
    case ISO_A_WAITS_DEEP:
    case ISO_A_DESTROYED_DEEP:
        ck_assert_ptr_eq(out, V(0xa1));
        ck_assert_uint_ge(pgs_task_stack_bytes(a), c.depth);
        break;
    case ISO_A_WAITS_SHALLOW:
    case ISO_A_DESTROYED_SHALLOW:
        ck_assert_ptr_eq(out, V(0xa2));
        break;
    default:
        ck_assert_ptr_eq(out, V(0xa3));
        break;
    }
    ck_assert_uint_ge(core_stats().stack_bytes_peak, c.depth);
    if (c.mode == ISO_A_DESTROYED_DEEP || c.mode == ISO_A_DESTROYED_SHALLOW ||
        c.mode == ISO_A_DESTROYED_DONE) {
        ck_assert_int_eq(pgs_destroy(a), 0);
        a = NULL;
    }

    if (!b)
        b = pgs_create(fn_b, &c);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(pgs_resume(b, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0xb2));
    ck_assert_int_eq(pgs_state(b), PGS_DONE);
    ck_assert_int_eq(pgs_destroy(b), 0);

    if (a && pgs_state(a) == PGS_SUSPENDED) {
        /* A's own bytes are still its own (checked in fill_aa). */
        ck_assert_int_eq(pgs_resume(a, NULL, &out), 0);
        ck_assert_ptr_eq(out, V(0xa3));
    }
    if (a)
        ck_assert_int_eq(pgs_destroy(a), 0);
    ck_assert_uint_eq(core_stats().stack_bytes, 0);
}
END_TEST

/*
 * The same with many tasks: each of 64 tasks fills a buffer at a depth of
 * its own with a byte of its own and waits there; then a fresh task goes
 * deeper than all of them and must see only zeroes.
 */
static CORE_NOINLINE void fill_byte_and_wait(size_t bytes, unsigned char c)
{
    volatile unsigned char buf[bytes];
    for (size_t i = 0; i < bytes; i++)
        buf[i] = c;
    pgs_yield(NULL);
    for (size_t i = 0; i < bytes; i += 61)
        ck_assert_uint_eq(buf[i], c);
}

static void *fn_fill_byte(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    fill_byte_and_wait((k % 16 + 1) * (24 << 10), (unsigned char)(k + 1));
    return NULL;
}

static void *fn_zero_check(void *arg)
{
    size_t bytes = (size_t)(uintptr_t)arg, first = 0;
    uint64_t value = 0;
    size_t bad = count_nonzero(bytes, 0, &first, &value);
    ck_assert_msg(bad == 0, "%zu nonzero words; first %zu = %#llx", bad,
                  first, (unsigned long long)value);
    return V(1);
}

START_TEST(deeper_sees_zeroes_many)
{
    struct pgs_config cfg = { .regions = (unsigned)_i };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    pgs_task *v[64];
    for (uintptr_t k = 0; k < 64; k++) {
        v[k] = pgs_create(fn_fill_byte, (void *)k);
        ck_assert_int_eq(pgs_resume(v[k], NULL, NULL), 0);
    }
    for (int round = 0; round < 2; round++) {
        /* One zero-checker per region (tasks are spread over regions). */
        for (int j = 0; j < _i; j++) {
            pgs_task *z = pgs_create(fn_zero_check, (void *)(uintptr_t)(
                                         (16 * (24 << 10)) + B_EXTRA));
            void *out = NULL;
            ck_assert_int_eq(pgs_resume(z, NULL, &out), 0);
            ck_assert_ptr_eq(out, V(1));
            ck_assert_int_eq(pgs_destroy(z), 0);
        }
        if (round == 0)
            for (int k = 0; k < 64; k += 2) { /* half finish */
                ck_assert_int_eq(pgs_resume(v[k], NULL, NULL), 0);
                ck_assert_int_eq(pgs_state(v[k]), PGS_DONE);
            }
    }
    for (int k = 0; k < 64; k++) {
        if (pgs_state(v[k]) == PGS_SUSPENDED)
            ck_assert_int_eq(pgs_resume(v[k], NULL, NULL), 0);
        ck_assert_int_eq(pgs_destroy(v[k]), 0);
    }
}
END_TEST

/*
 * The scratch clear reads a region up from the bottom for the lowest byte
 * anyone left there and clears only from that byte up: a single byte left
 * anywhere below a task must be found.  Task A leaves one nonzero byte at
 * a depth swept through the signal headroom and past it (a step of 97
 * bytes meets every offset in a block of the scan), then finishes or
 * waits; B, new in the same region, must see only zeroes below it.
 */
static CORE_NOINLINE void leave_byte(size_t below)
{
    volatile unsigned char buf[below + 16];
    buf[0] = 0x5a; /* its lowest byte; the rest is never written */
    (void)buf;
}

static void *fn_leave_byte(void *arg)
{
    const size_t *below = arg;
    leave_byte(below[0]);
    if (below[1])
        pgs_yield(V(0xa1));
    return V(0xa3);
}

START_TEST(stray_byte_cleared)
{
    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    for (size_t below = 0; below < (24 << 10); below += 97) {
        size_t arg[2] = { below, (size_t)_i };
        void *out = NULL;
        pgs_task *a = pgs_create(fn_leave_byte, arg);
        ck_assert_int_eq(pgs_resume(a, NULL, &out), 0);
        ck_assert_ptr_eq(out, V(_i ? 0xa1 : 0xa3));
        pgs_task *b = pgs_create(fn_zero_check, V(32 << 10));
        ck_assert_int_eq(pgs_resume(b, NULL, &out), 0);
        ck_assert_ptr_eq(out, V(1));
        ck_assert_int_eq(pgs_destroy(b), 0);
        if (_i) {
            ck_assert_int_eq(pgs_resume(a, NULL, &out), 0);
            ck_assert_ptr_eq(out, V(0xa3));
        }
        ck_assert_int_eq(pgs_destroy(a), 0);
    }
}
END_TEST

/*
 * The same just below a copied task's stack pointer, where the clear ends
 * (on no particular boundary): B waits, saved by copying; A, new in its
 * region, leaves one byte `k` bytes below where B's stack pointer will be;
 * B is shown again and reads below its stack pointer: zeroes only.  B
 * waits some way down from the function that reads, so that the reader's
 * own frame stays well above B's old stack pointer.
 */
static CORE_NOINLINE void byte_at(char *at)
{
    char *here = __builtin_frame_address(0);
    size_t n = (size_t)(here - at) + 256;
    volatile char buf[n];
    ck_assert(at >= (char *)buf && at < (char *)buf + n);
    buf[at - (char *)buf] = 0x5a;
    (void)buf;
}

static void *fn_byte_at(void *arg)
{
    byte_at(arg);
    return NULL;
}

/* The same, but the writer then waits in the region, so that B's coming
 * back evicts it: the switch of one saved copy for another.  It waits
 * once before, at the same depth, so that it has its copy buffer already
 * (the switch that needs none of the general path's work). */
static void *fn_byte_at_wait(void *arg)
{
    pgs_yield(NULL);
    byte_at(arg);
    pgs_yield(NULL);
    return NULL;
}

static CORE_NOINLINE void wait_down(size_t n)
{
    volatile char pad[n];
    pad[0] = 1;
    pgs_yield(NULL);
    /* pad lives on (so the yield is no tail call), and nothing is called
     * here: the bytes below B's stack pointer must stay as shown. */
    __asm__ volatile("" : : "r"(pad) : "memory");
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
static CORE_NOINLINE void zeroes_below(const char *sp, size_t len,
                                       size_t room)
{
    volatile char buf[room];
    const char *lo = sp - len;
    ck_assert(lo >= (char *)buf && sp <= (char *)buf + room);
    VALGRIND_MAKE_MEM_DEFINED((void *)lo, len);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(buf[lo + i - (char *)buf] == 0,
                      "byte %zu below the stack pointer it was shown at "
                      "is %#x", len - i, (unsigned)(unsigned char)
                      buf[lo + i - (char *)buf]);
}
#pragma GCC diagnostic pop

static void *fn_wait_check(void *arg)
{
    wait_down((size_t)(uintptr_t)arg);
    zeroes_below(pgs_self()->sp, 512, 8 << 10);
    return V(2);
}

/* _i: 0, the writer A has finished when B comes back; 1, A waits. */
START_TEST(below_copied_sp_cleared)
{
    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    for (size_t k = 1; k <= 300; k++) {
        void *out = NULL;
        /* B's stack pointer at every 16-byte offset in a block. */
        pgs_task *b = pgs_create(fn_wait_check, V(1024 + 16 * (k % 8)));
        ck_assert_int_eq(pgs_resume(b, NULL, NULL), 0);
        char *sp = b->sp;
        pgs_task *a = pgs_create(_i ? fn_byte_at_wait : fn_byte_at, sp - k);
        ck_assert_int_eq(pgs_resume(a, NULL, NULL), 0);
        if (_i) { /* another task evicts A; A writes and waits */
            pgs_task *c = pgs_create(core_yield_forever, NULL);
            ck_assert_int_eq(pgs_resume(c, NULL, NULL), 0);
            ck_assert_int_eq(pgs_resume(a, NULL, NULL), 0);
            ck_assert_int_eq(pgs_destroy(c), 0);
        }
        ck_assert_int_eq(pgs_state(a), _i ? PGS_SUSPENDED : PGS_DONE);
        ck_assert_int_eq(pgs_resume(b, NULL, &out), 0);
        ck_assert_ptr_eq(out, V(2));
        if (_i)
            ck_assert_int_eq(pgs_resume(a, NULL, NULL), 0);
        ck_assert_int_eq(pgs_destroy(a), 0);
        ck_assert_int_eq(pgs_destroy(b), 0);
    }
}
END_TEST

void core_add_isolation(Suite *s)
{
    TCase *tc = core_tcase(s, "isolation");
    tcase_add_loop_test(tc, deeper_sees_zeroes, 0, ISO_MODES * (int)NDEPTHS);
    tcase_add_loop_test(tc, deeper_sees_zeroes_many, 1, 5);
    tcase_add_loop_test(tc, stray_byte_cleared, 0, 2);
    tcase_add_loop_test(tc, below_copied_sp_cleared, 0, 2);
}
