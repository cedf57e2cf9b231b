/* SPDX-License-Identifier: MIT */
/*
 * A stack fault interrupts an instruction half done, and the handler
 * resumes it: the result must be exactly what it would have been without
 * the fault.  On x86-64, string instructions that fault mid-way (rep stos,
 * rep movs) must write every element once, and a call or push whose store
 * faults must leave rsp where it belongs; on aarch64, a multi-register
 * store across the mapped bottom must land whole, and a pre-indexed store
 * (its push) must leave sp where it belongs.  Natively the hardware
 * guarantees this; under valgrind the library corrects what valgrind
 * reports (lib/valgrind.c), and these tests are what `make check-valgrind`
 * holds it to.
 */
#include "config.h"
#include <stdint.h>
#include <string.h>
#include "core_util.h"
#include "memcheck.h"

/* Run fn(arg) in a task, which must finish in one resume. */
static void run_once(pgs_fn fn, void *arg)
{
    pgs_task *t = pgs_create(fn, arg);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    ck_assert_int_eq(pgs_destroy(t), 0);
}

#define SPAN 12000 /* bytes written, most of them below the mapped part */

static unsigned char src[SPAN];

/* After store instruction `op` wrote len bytes at dst, faulting on the
 * way (the fault count was `faults` before): every byte holds what it
 * stored (from `from`, or 0x5a where it filled), though it now lies below
 * the stack pointer again, and the byte below was not written (the stack
 * there is fresh). */
static void check_written(int op, uint64_t faults, const unsigned char *dst,
                          size_t len, const unsigned char *from)
{
    ck_assert_uint_gt(core_stats().faults, faults); /* it did fault */
    VALGRIND_MAKE_MEM_DEFINED(dst - 1, len + 1);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(dst[i] == (from ? from[i] : 0x5a),
                      "op %d: byte %zu of %zu is %#x", op, i, len, dst[i]);
    ck_assert_uint_eq(dst[-1], 0);
}

#if defined(__x86_64__)
enum op { STOSB, STOSQ, MOVSB, MOVSQ, BACKWARD_STOSB, OPS };

/* Run the instruction with rsp just below everything it writes, so that
 * the writes are stack growth, and nothing else may touch the stack
 * meanwhile: no call, no memory operand. */
#define ON_LOW_STACK(insn) \
    "mov %%rsp, %%rbx\n\tmov %[sp], %%rsp\n\t" insn "\n\tmov %%rbx, %%rsp"

/* Fill [b - SPAN + 2000, b + 2000) in one instruction, where b is the
 * mapped bottom: forward, the first store faults; backward, the
 * instruction starts in mapped stack and faults half-way. */
static void *string_op(void *arg)
{
    enum op op = (enum op)(uintptr_t)arg;
    uintptr_t b = (uintptr_t)core_mapped_bottom();
    unsigned char *dst = (unsigned char *)(b + 2000 - SPAN);
    uintptr_t sp = ((uintptr_t)dst - 256) & ~(uintptr_t)15;
    uint64_t faults = core_stats().faults;
    void *d = dst;
    const void *s = src;
    unsigned long n;
    switch (op) {
    case STOSB:
        n = SPAN;
        __asm__ volatile(ON_LOW_STACK("rep stosb")
                         : "+D"(d), "+c"(n)
                         : "a"(0x5a), [sp] "r"(sp)
                         : "rbx", "memory");
        break;
    case STOSQ:
        n = SPAN / 8;
        __asm__ volatile(ON_LOW_STACK("rep stosq")
                         : "+D"(d), "+c"(n)
                         : "a"(0x5a5a5a5a5a5a5a5aULL), [sp] "r"(sp)
                         : "rbx", "memory");
        break;
    case MOVSB:
        n = SPAN;
        __asm__ volatile(ON_LOW_STACK("rep movsb")
                         : "+D"(d), "+S"(s), "+c"(n)
                         : [sp] "r"(sp)
                         : "rbx", "memory");
        break;
    case MOVSQ:
        n = SPAN / 8;
        __asm__ volatile(ON_LOW_STACK("rep movsq")
                         : "+D"(d), "+S"(s), "+c"(n)
                         : [sp] "r"(sp)
                         : "rbx", "memory");
        break;
    case BACKWARD_STOSB:
        d = dst + SPAN - 1;
        n = SPAN;
        __asm__ volatile(ON_LOW_STACK("std\n\trep stosb\n\tcld")
                         : "+D"(d), "+c"(n)
                         : "a"(0x5a), [sp] "r"(sp)
                         : "rbx", "memory", "cc");
        break;
    }
    ck_assert_uint_eq(n, 0);
    int copy = op == MOVSB || op == MOVSQ;
    check_written(op, faults, dst, SPAN, copy ? src : NULL);
    return NULL;
}

/* The stack pointer a call whose return address is the first store below
 * the mapped part (kind 0), or a push likewise (kind 1), leaves behind
 * once it has run from sp: sp exactly. */
static const char *const push_kind[2] = { "call", "push" };

static uintptr_t push_probe(int kind, uintptr_t sp)
{
    uintptr_t after;
    if (kind == 0)
        __asm__ volatile("mov %%rsp, %%rbx\n\t"
                         "mov %1, %%rsp\n\t"
                         "call 1f\n\t"
                         "jmp 2f\n"
                         "1:\tret\n"
                         "2:\tmov %%rsp, %0\n\t"
                         "mov %%rbx, %%rsp"
                         : "=r"(after)
                         : "r"(sp)
                         : "rbx", "memory");
    else
        __asm__ volatile("mov %%rsp, %%rbx\n\t"
                         "mov %1, %%rsp\n\t"
                         "push %%rbx\n\t"
                         "pop %%rax\n\t"
                         "mov %%rsp, %0\n\t"
                         "mov %%rbx, %%rsp"
                         : "=r"(after)
                         : "r"(sp)
                         : "rax", "rbx", "memory");
    return after;
}

#elif defined(__aarch64__)
enum op { STP_Q, ST1_X4, OPS };

/* One store of 32 (stp of two q registers) or 64 bytes (st1 of four),
 * half of it below the mapped bottom b, with sp below it all: the store
 * faults and must land whole when it runs again. */
static void *string_op(void *arg)
{
    enum op op = (enum op)(uintptr_t)arg;
    size_t len = op == STP_Q ? 32 : 64;
    uintptr_t b = (uintptr_t)core_mapped_bottom();
    unsigned char *dst = (unsigned char *)(b - len / 2);
    uintptr_t sp = ((uintptr_t)dst - 256) & ~(uintptr_t)15;
    uint64_t faults = core_stats().faults;
    if (op == STP_Q)
        __asm__ volatile("mov x9, sp\n\t"
                         "mov sp, %[sp]\n\t"
                         "ldp q0, q1, [%[s]]\n\t"
                         "stp q0, q1, [%[d]]\n\t"
                         "mov sp, x9"
                         :
                         : [sp] "r"(sp), [s] "r"(src), [d] "r"(dst)
                         : "x9", "v0", "v1", "memory");
    else
        __asm__ volatile("mov x9, sp\n\t"
                         "mov sp, %[sp]\n\t"
                         "ld1 {v0.16b, v1.16b, v2.16b, v3.16b}, [%[s]]\n\t"
                         "st1 {v0.16b, v1.16b, v2.16b, v3.16b}, [%[d]]\n\t"
                         "mov sp, x9"
                         :
                         : [sp] "r"(sp), [s] "r"(src), [d] "r"(dst)
                         : "x9", "v0", "v1", "v2", "v3", "memory");
    check_written(op, faults, dst, len, src);
    return NULL;
}

/* The same with a pre-indexed store pair (the frame record a function
 * pushes: kind 0), then a single pre-indexed store (kind 1). */
static const char *const push_kind[2] = { "stp", "str" };

static uintptr_t push_probe(int kind, uintptr_t sp)
{
    uintptr_t after;
    if (kind == 0)
        __asm__ volatile("mov x9, sp\n\t"
                         "mov sp, %1\n\t"
                         "stp x29, x30, [sp, #-16]!\n\t"
                         "ldp x29, x30, [sp], #16\n\t"
                         "mov %0, sp\n\t"
                         "mov sp, x9"
                         : "=r"(after)
                         : "r"(sp)
                         : "x9", "memory");
    else
        __asm__ volatile("mov x9, sp\n\t"
                         "mov sp, %1\n\t"
                         "str x9, [sp, #-16]!\n\t"
                         "ldr x10, [sp], #16\n\t"
                         "mov %0, sp\n\t"
                         "mov sp, x9"
                         : "=r"(after)
                         : "r"(sp)
                         : "x9", "x10", "memory");
    return after;
}
#endif

/* Each kind of push_probe, from the mapped bottom: it faults, and the stack
 * pointer comes back exactly. */
static void *push_op(void *arg)
{
    (void)arg;
    for (int kind = 0; kind < 2; kind++) {
        uintptr_t sp = (uintptr_t)core_mapped_bottom();
        uint64_t faults = core_stats().faults;
        uintptr_t after = push_probe(kind, sp);
        ck_assert_uint_gt(core_stats().faults, faults);
        ck_assert_msg(after == sp, "%s: the stack pointer came back %+ld "
                      "bytes off", push_kind[kind], (long)(after - sp));
    }
    return NULL;
}

START_TEST(string_instructions_resume_exactly)
{
    for (size_t i = 0; i < SPAN; i++)
        src[i] = (unsigned char)(i * 7 + 1);
    run_once(string_op, (void *)(uintptr_t)_i);
}
END_TEST

START_TEST(push_and_call_resume_exactly)
{
    run_once(push_op, NULL);
}
END_TEST

void core_add_resume(Suite *s)
{
    TCase *tc = core_tcase(s, "resume");
    tcase_add_loop_test(tc, string_instructions_resume_exactly, 0, OPS);
    tcase_add_test(tc, push_and_call_resume_exactly);
}
