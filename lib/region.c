/*
 * Regions: the shared stack areas tasks run in.  One PROT_NONE reservation
 * holds every region of a thread, each with an inaccessible guard zone
 * below it.  A region shows at most one task at a time: its occupant's
 * pages at the top, mapped from the task's extent of the pool, and nothing
 * (PROT_NONE) below them.
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
    th->reserve_len = n * (PGS_GUARD + th->size);
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
        r->base = th->reserve + i * (PGS_GUARD + th->size) + PGS_GUARD;
        r->top = r->base + th->size;
        r->occupant = NULL;
        r->mapped = 0;
    }
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
 * Map t's pages from from_page (counted from the top) down to the bottom of
 * what it holds: one mmap, because the extent's offsets are contiguous.
 * MAP_FIXED replaces whatever the region showed there.  With populate the
 * page tables are filled at once (for pages about to be touched).
 */
int pgs__region_map(struct pgs_thread *th, pgs_task *t, size_t from_page,
                    int populate)
{
    struct pgs_region *r = pgs__region_of(th, t);
    size_t n = t->pages - from_page;
    if (n == 0)
        return 0;
    char *at = r->top - t->pages * PGS_PAGE;
    void *p = pgs__mmap(at, n * PGS_PAGE, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_FIXED | (populate ? MAP_POPULATE : 0),
                        th->fd, pgs__page_offset(th, t, t->pages - 1));
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
 * After a remap the page tables of the region are empty, and every page the
 * incoming task touches would take a (kernel) page fault.  Fill them in for
 * the pages around its stack pointer, which it touches first: the headroom
 * below and a few pages above.  Only a hint: failure costs speed, not
 * correctness.
 */
void pgs__region_populate(struct pgs_thread *th, pgs_task *t)
{
    struct pgs_region *r = pgs__region_of(th, t);
    uintptr_t sp = (uintptr_t)t->sp;
    size_t lo = pgs__cover(r, sp - th->headroom);
    size_t hi = pgs__cover(r, sp + 4 * PGS_PAGE);
    if (lo > t->pages)
        lo = t->pages;
    if (hi >= lo)
        return;
    int e = errno;
    pgs__madvise(r->top - lo * PGS_PAGE, (lo - hi) * PGS_PAGE,
                 MADV_POPULATE_WRITE);
    errno = e;
}

/*
 * Pages a task keeps while another task occupies its region.  Nothing below
 * its saved stack pointer is live, so a shallow task keeps only the pages
 * its live stack spans, which is what makes a waiting task cost a page.  A
 * deep task also keeps the headroom, so that switching between deep tasks
 * does not give pages back and take them again on every switch.
 */
size_t pgs__keep_pages(struct pgs_thread *th, const pgs_task *t)
{
    const struct pgs_region *r = pgs__region_of(th, t);
    size_t live = pgs__cover(r, (uintptr_t)t->sp);
    size_t keep = live;
    if (live > th->headroom / PGS_PAGE)
        keep = pgs__cover(r, (uintptr_t)t->sp - th->headroom);
    return keep < t->pages ? keep : t->pages;
}
