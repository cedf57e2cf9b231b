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
 * exact whatever happened before.  It runs on every switch through a
 * shared region, over most of a page, so its vector loop is the widest the
 * CPU runs well (pgs__first_dirty, arch.h).
 */
#include "config.h"
#include <string.h>
#include "internal.h"

/* Zero [bottom, end) of a region's mapped pages (bottom page-aligned).
 * Returns the lowest line that held anything, or NULL if that is not
 * known: without a vector loop the scan is no faster than the clear, so
 * it just clears. */
char *pgs__scratch_clear(struct pgs_thread *th, char *bottom, char *end)
{
    th->scan_bytes += (uint64_t)(end - bottom);
    char *dirty = NULL;
    char *lines = (char *)((uintptr_t)end & ~(uintptr_t)127);
    if (th->fast_scan)
        bottom = dirty = pgs__first_dirty(th->fast_scan, bottom, lines);
    memset(bottom, 0, (size_t)(end - bottom));
    return dirty;
}
