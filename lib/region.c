/* SPDX-License-Identifier: MIT */
/*
 * Regions: the shared stack areas tasks run in.  One PROT_NONE reservation
 * holds every region of a thread, each with an inaccessible guard zone
 * below it.  A region shows one extent of the pool at a time, at its top,
 * and nothing (PROT_NONE) below it; remap.c decides which.
 */
#include "config.h"
#include "internal.h"
#include "sys.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int pgs__regions_reserve(struct pgs_thread *th)
{
    size_t n = th->nregions;
    th->regions = pgs__malloc(n * sizeof *th->regions);
    if (!th->regions)
        return -1;
    /* A frame larger than the guard that a task pushes without probing
     * each page (code built without -fstack-clash-protection) skips the
     * guard: below it must lie nothing that anyone uses, or the frame
     * lands in another region's live stack or in the library's own
     * stacks.  Address space is free, so the guard is as large as the
     * region: any frame up to the region's size that overflows faults
     * in the guard and is reported as that task's overflow. */
    th->guard = th->size > PGS_GUARD ? th->size : PGS_GUARD;
    th->reserve_len = n * (th->guard + th->size);
    th->reserve = pgs__mmap(NULL, th->reserve_len, PROT_NONE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (th->reserve == MAP_FAILED) {
        int e = errno;
        free(th->regions);
        th->regions = NULL;
        th->reserve = NULL;
        errno = e;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct pgs_region *r = &th->regions[i];
        r->base = th->reserve + i * (th->guard + th->size) + th->guard;
        r->top = r->base + th->size;
        r->occupant = NULL;
        r->extent = PGS_NO_EXTENT;
        r->mapped = 0;
        r->shadow = 0;
        r->users = 0;
        r->clean_scans = 0;
        /* Every region but the shared one is free, lowest first. */
        r->next_free = i + 1 < n ? (unsigned)i + 1 : 0;
    }
    th->free_region = n > 1 ? 1 : 0;
    return 0;
}

void pgs__regions_release(struct pgs_thread *th)
{
    if (th->reserve)
        munmap(th->reserve, th->reserve_len);
    th->reserve = NULL;
    free(th->regions);
    th->regions = NULL;
}

/*
 * Show pages [from_page, to_page) (counted from the top) of `extent`
 * in r: one mmap, because an extent's offsets are contiguous.  MAP_FIXED
 * replaces whatever r showed there.  With populate the page tables are
 * filled at once (for pages about to be touched).
 */
int pgs__region_map(struct pgs_thread *th, struct pgs_region *r,
                    size_t extent, size_t from_page, size_t to_page,
                    int populate)
{
    if (to_page <= from_page)
        return 0;
    void *p = pgs__mmap(r->top - to_page * PGS_PAGE,
                        (to_page - from_page) * PGS_PAGE,
                        PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_FIXED | (populate ? MAP_POPULATE : 0),
                        th->fd, pgs__extent_offset(th, extent, to_page - 1));
    return p == MAP_FAILED ? -1 : 0;
}

/* Make pages [from_page, to_page) from the top of r inaccessible again. */
int pgs__region_clear(struct pgs_region *r, size_t from_page, size_t to_page)
{
    if (to_page <= from_page)
        return 0;
    void *p = pgs__mmap(r->top - to_page * PGS_PAGE,
                        (to_page - from_page) * PGS_PAGE, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
                        -1, 0);
    return p == MAP_FAILED ? -1 : 0;
}

/*
 * Extend what r shows of its extent down to `want` pages: allocate the new
 * pages (zeroed) and map them populated, since they are about to be used.
 * Growth leaves the switch margin under the cap (pgs__limit).
 * Async-signal-safe: the fault path grows the running task with it.  On
 * failure r is unchanged; *over_cap tells whether the cap refused.
 */
int pgs__region_grow(struct pgs_thread *th, struct pgs_region *r,
                     size_t want, int *over_cap)
{
    *over_cap = 0;
    if (want <= r->mapped)
        return 0;
    if (pgs__extent_grow(th, r->extent, r->mapped, want,
                         pgs__limit(th, pgs__margin(th, th->tasks)),
                         over_cap) != 0)
        return -1;
    if (pgs__region_map(th, r, r->extent, r->mapped, want, 1) != 0) {
        int e = errno;
        pgs__extent_trim(th, r->extent, want, r->mapped);
        errno = e;
        return -1;
    }
    r->mapped = want;
    return 0;
}

/*
 * After a remap the page tables of the region are empty, and every page the
 * incoming task touches takes a kernel page fault, which on a VM is about as
 * dear as a whole remap.  Filling a page table entry in advance costs a
 * fraction of that, but so does tearing it down again at the next remap,
 * so only the pages the task touches first are filled: the saved frame at
 * its stack pointer and the frames just above it.  The headroom below stays
 * mapped but unfilled: the kernel can still push a signal frame there.
 * Only a hint: failure costs speed, not correctness.
 */
void pgs__region_populate(struct pgs_thread *th, struct pgs_region *r,
                          uintptr_t sp)
{
    size_t lo = pgs__cover(r, sp - PGS_REDZONE);
    /* pgs__cover counts the page holding the address: the page holding
     * the highest byte to fill is pages [hi, lo) too. */
    size_t hi = pgs__cover(r, sp + PGS_POPULATE_ABOVE);
    hi = hi ? hi - 1 : 0;
    if (lo > r->mapped)
        lo = r->mapped;
    if (hi >= lo)
        return;
    int e = errno;
    pgs__madvise(r->top - lo * PGS_PAGE, (lo - hi) * PGS_PAGE,
                 MADV_POPULATE_WRITE);
    errno = e;
}
