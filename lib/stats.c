/* Figures: what the thread's tasks hold, and what the pool really holds. */
#include "config.h"
#include <string.h>
#include <sys/stat.h>
#include "internal.h"

PGS_EXPORT int pgs_stats(struct pgs_stats *out)
{
    if (!out) {
        errno = EINVAL;
        return -1;
    }
    memset(out, 0, sizeof *out);
    struct pgs_thread *th = pgs__tls;
    if (!th)
        return 0;
    out->tasks = th->tasks;
    /* Scratch pages of a region without an occupant belong to no task;
     * they still count in pool_bytes. */
    size_t scratch = 0;
    for (unsigned i = 0; i < th->nregions; i++)
        if (!th->regions[i].occupant)
            scratch += th->regions[i].mapped;
    out->stack_bytes = pgs__held_bytes(th) - scratch * PGS_PAGE;
    out->stack_bytes_peak = th->peak_bytes;
    /* Ask the kernel rather than trust our own count: the blocks the memfd
     * occupies are all the memory the pool holds, mapped or not. */
    struct stat st;
    if (fstat(th->fd, &st) == 0)
        out->pool_bytes = (size_t)st.st_blocks * 512;
    out->faults = th->faults;
    out->remaps = th->remaps;
    return 0;
}

PGS_EXPORT size_t pgs_task_stack_bytes(const pgs_task *t)
{
    if (!t || !t->th)
        return 0;
    size_t b = t->bufcap;
    if (t->home == PGS_HOME_REGION)
        b += pgs__region_of(t->th, t)->mapped * PGS_PAGE;
    else if (t->home == PGS_HOME_EXTENT)
        b += t->pages * PGS_PAGE;
    return b;
}
