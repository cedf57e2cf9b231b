/* SPDX-License-Identifier: MIT */
/*
 * Everything in lib/ that differs between the architectures the library
 * runs on, in one place: the red zone, the registers of an interrupted
 * context, the plain store ThreadSanitizer must not see, a spin-wait's
 * pause, the scratch scan's vector loop, and how a saved switch frame
 * becomes a context for libunwind.  The switch itself is
 * asm/switch_<arch>.S, its frame asm/frame.h and lib/switch.h.  The page size is not here: it is the
 * kernel's choice, not the architecture's (pgs__page, read at startup).
 */
#ifndef PGS_ARCH_H
#define PGS_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define PGS_ARCH_NAME "x86-64"

/* Bytes below the stack pointer that the ABI lets a function use without
 * moving it (System V: 128). */
#define PGS_REDZONE ((size_t)128)

static inline uintptr_t pgs__uc_sp(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
}

static inline uintptr_t pgs__uc_pc(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

/* A 32-bit store that is atomic and that no sanitizer instruments. */
static inline void pgs__store_plain(int *p, int v)
{
    __asm__ volatile("movl %1, %0" : "=m"(*p) : "r"(v));
}

/* In a spin-wait loop: let the other hyperthread run. */
static inline void pgs__cpu_relax(void)
{
    __builtin_ia32_pause();
}

/*
 * The scratch scan's vector loop: 0 for none, 1 for 32-byte loads (AVX2),
 * 2 for 64-byte loads (AVX-512).  The wide loads only where they cost the
 * rest of the program nothing: on AMD's CPUs; some of Intel's lower their
 * clock for a while after any 512-bit instruction (the C library avoids
 * them there too).  Without AVX2 the scan is no faster than the clear it
 * saves.
 */
static inline int pgs__fast_scan(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_is("amd"))
        return 2;
    return __builtin_cpu_supports("avx2") ? 1 : 0; /* a flag's bit, not 1 */
}

/* p and end 128-byte aligned: the first 128-byte line at or above p with
 * a non-zero byte, or end. */
__attribute__((target("avx2"))) static inline char *
pgs__first_dirty_256(char *p, char *end)
{
    for (; p < end; p += 128) {
        const __m256i *v = (const __m256i *)p;
        __m256i o = _mm256_or_si256(
            _mm256_or_si256(_mm256_load_si256(v), _mm256_load_si256(v + 1)),
            _mm256_or_si256(_mm256_load_si256(v + 2),
                            _mm256_load_si256(v + 3)));
        if (!_mm256_testz_si256(o, o))
            break;
    }
    return p;
}

/* The same with 64-byte loads, one test per 512-byte block (two loads a
 * cycle and no branch between them: on the CPUs measured it reads a clean
 * page in about half the time), then the line within the block. */
__attribute__((target("avx512f"))) static inline char *
pgs__first_dirty_512(char *p, char *end)
{
    for (; p + 512 <= end; p += 512) {
        const __m512i *v = (const __m512i *)p;
        /* 0xfe: a | b | c. */
        __m512i a = _mm512_ternarylogic_epi64(_mm512_load_si512(v),
                                              _mm512_load_si512(v + 1),
                                              _mm512_load_si512(v + 2), 0xfe);
        __m512i b = _mm512_ternarylogic_epi64(_mm512_load_si512(v + 3),
                                              _mm512_load_si512(v + 4),
                                              _mm512_load_si512(v + 5), 0xfe);
        __m512i c = _mm512_or_si512(_mm512_load_si512(v + 6),
                                    _mm512_load_si512(v + 7));
        a = _mm512_ternarylogic_epi64(a, b, c, 0xfe);
        if (_mm512_test_epi64_mask(a, a))
            break;
    }
    for (; p < end; p += 128) {
        const __m512i *v = (const __m512i *)p;
        __m512i a = _mm512_or_si512(_mm512_load_si512(v),
                                    _mm512_load_si512(v + 1));
        if (_mm512_test_epi64_mask(a, a))
            break;
    }
    return p;
}

/* The loop pgs__fast_scan chose (how: 1 or 2). */
static inline char *pgs__first_dirty(int how, char *p, char *end)
{
    return how == 2 ? pgs__first_dirty_512(p, end)
                    : pgs__first_dirty_256(p, end);
}

/* Fill the machine context mc (a ucontext_t's uc_mcontext, or libunwind's
 * copy of one) from switch frame f, as the context stood when it called
 * the switch: its return address, its stack pointer above the frame, and
 * the callee-saved registers the frame holds. */
#define PGS_MCONTEXT_FROM_FRAME(mc, f)                                       \
    do {                                                                     \
        greg_t *g_ = (mc).gregs;                                             \
        g_[REG_RIP] = (greg_t)(f)->rip;                                      \
        g_[REG_RSP] = (greg_t)((const char *)(f) + sizeof *(f));             \
        g_[REG_RBX] = (greg_t)(f)->rbx;                                      \
        g_[REG_RBP] = (greg_t)(f)->rbp;                                      \
        g_[REG_R12] = (greg_t)(f)->r12;                                      \
        g_[REG_R13] = (greg_t)(f)->r13;                                      \
        g_[REG_R14] = (greg_t)(f)->r14;                                      \
        g_[REG_R15] = (greg_t)(f)->r15;                                      \
    } while (0)

#elif defined(__aarch64__)
#include <arm_neon.h>

#define PGS_ARCH_NAME "aarch64"

/* AAPCS64 has no red zone: nothing below sp may be relied on. */
#define PGS_REDZONE ((size_t)0)

static inline uintptr_t pgs__uc_sp(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.sp;
}

static inline uintptr_t pgs__uc_pc(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.pc;
}

static inline void pgs__store_plain(int *p, int v)
{
    __asm__ volatile("str %w1, %0" : "=m"(*p) : "r"(v));
}

static inline void pgs__cpu_relax(void)
{
    __asm__ volatile("yield" ::: "memory");
}

/* Advanced SIMD is part of every AArch64 Linux system. */
static inline int pgs__fast_scan(void)
{
    return 1;
}

static inline char *pgs__first_dirty(int how, char *p, char *end)
{
    (void)how;
    for (; p < end; p += 128) {
        const uint64_t *q = (const uint64_t *)p;
        uint64x2_t o = vorrq_u64(
            vorrq_u64(vorrq_u64(vld1q_u64(q), vld1q_u64(q + 2)),
                      vorrq_u64(vld1q_u64(q + 4), vld1q_u64(q + 6))),
            vorrq_u64(vorrq_u64(vld1q_u64(q + 8), vld1q_u64(q + 10)),
                      vorrq_u64(vld1q_u64(q + 12), vld1q_u64(q + 14))));
        if (vmaxvq_u32(vreinterpretq_u32_u64(o)))
            break;
    }
    return p;
}

/* libunwind's context on aarch64 has the kernel's layout: regs[0..30],
 * sp, pc. */
#define PGS_MCONTEXT_FROM_FRAME(mc, f)                                       \
    do {                                                                     \
        for (int i_ = 0; i_ < 10; i_++)                                      \
            (mc).regs[19 + i_] = (f)->x[i_];                                 \
        (mc).regs[29] = (uint64_t)(uintptr_t)(f)->fp;                        \
        (mc).regs[30] = (uint64_t)(uintptr_t)(f)->lr;                        \
        (mc).sp = (uint64_t)(uintptr_t)((const char *)(f) + sizeof *(f));    \
        (mc).pc = (uint64_t)(uintptr_t)(f)->lr;                              \
    } while (0)

#else
#error "pagedstack runs on x86-64 and aarch64 Linux only"
#endif

#endif
