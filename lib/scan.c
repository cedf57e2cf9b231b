/* SPDX-License-Identifier: MIT */
/*
 * The scratch clear: zeroing what earlier occupants of a region left below
 * the stack pointer of the task it shows next.
 *
 * Whoever ran in a region may have written anywhere in its mapped pages,
 * and only the bytes themselves can tell how deep.  But below the lowest
 * line anyone wrote, the pages hold zeros already (pages come zeroed, and
 * every clear leaves zeros): find that line by reading, which is about
 * twice as fast as writing and leaves the zero lines clean in the cache,
 * and clear only from there.  The scan reads every byte it passes, so it is
 * exact whatever happened before.
 *
 * It runs on every switch through a shared region, over most of a page, so
 * it is written for the widest loads the CPU offers.
 */
#include "config.h"
#include <immintrin.h>
#include <string.h>
#include "internal.h"

/* The line the scan reports: the clear starts at a multiple of it. */
#define LINE ((size_t)128)
/* Bytes the wide scan tests at once before it looks for the line. */
#define BLOCK ((size_t)512)

/*
 * With 64-byte loads a block takes one test: two loads a cycle and no
 * branch between them, which on the CPUs measured reads a clean page in
 * about half the time of the 32-byte loop below.  p and end are 128-byte
 * aligned: the first 128-byte line at or above p with a non-zero byte, or
 * end.
 */
__attribute__((target("avx512f"))) static char *first_dirty_512(char *p,
                                                                char *end)
{
    for (; p + BLOCK <= end; p += BLOCK) {
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
    /* The line within the block that held something, or the lines after
     * the last whole block. */
    for (; p < end; p += LINE) {
        const __m512i *v = (const __m512i *)p;
        __m512i a = _mm512_or_si512(_mm512_load_si512(v),
                                    _mm512_load_si512(v + 1));
        if (_mm512_test_epi64_mask(a, a))
            break;
    }
    return p;
}

/* The same with 32-byte loads. */
__attribute__((target("avx2"))) static char *first_dirty_256(char *p,
                                                            char *end)
{
    for (; p < end; p += LINE) {
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

/*
 * The scan the CPU runs fastest.  64-byte loads only where they cost the
 * rest of the program nothing: on AMD's CPUs; some of Intel's lower their
 * clock for a while after any 512-bit instruction (the C library avoids
 * them there too).  Without AVX2 the scan is no faster than the clear.
 */
int pgs__scan_choose(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_is("amd"))
        return PGS_SCAN_512;
    if (__builtin_cpu_supports("avx2"))
        return PGS_SCAN_256;
    return PGS_SCAN_NONE;
}

/* Zero [bottom, end) of a region's mapped pages (bottom page-aligned).
 * Returns the lowest line that held anything, or NULL if that is not
 * known: without a vector scan, the whole range is just cleared. */
char *pgs__scratch_clear(struct pgs_thread *th, char *bottom, char *end)
{
    th->scan_bytes += (uint64_t)(end - bottom);
    char *lines = (char *)((uintptr_t)end & ~(uintptr_t)(LINE - 1));
    char *dirty = NULL;
    if (th->scan == PGS_SCAN_512)
        bottom = dirty = first_dirty_512(bottom, lines);
    else if (th->scan == PGS_SCAN_256)
        bottom = dirty = first_dirty_256(bottom, lines);
    memset(bottom, 0, (size_t)(end - bottom));
    return dirty;
}
