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
    out->stack_bytes = th->held_pages * PGS_PAGE;
    out->stack_bytes_peak = th->peak_pages * PGS_PAGE;
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
    return t && t->th ? t->pages * PGS_PAGE : 0;
}
