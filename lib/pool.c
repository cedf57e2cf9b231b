/* SPDX-License-Identifier: MIT */
/*
 * The page pool: stack memory lives in one memfd per thread.  Every task
 * owns one extent of the file, stack_size bytes long, laid out like the
 * region (offset o in the extent backs address base + o), so a task's pages
 * always have contiguous offsets and one mmap shows them all.  File space
 * costs nothing until a page is allocated in it, so extents are free.
 *
 * Pages are allocated with fallocate (which zeroes them, and fails cleanly
 * instead of the process dying later when memory runs out) and given back
 * by punching holes, which returns them to the OS at once.  The invariant
 * that keeps stacks private: every page of an extent beyond the pages its
 * holder (a region or an evicted task) counts is a hole, so whatever a task
 * grows into reads as zero and no task ever sees bytes another left behind.
 */
#include "config.h"
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/resource.h>
#include "internal.h"
#include "sys.h"

/* The memfd's size: whole extents, within RLIMIT_FSIZE.  A file sized or
 * grown past that limit raises SIGXFSZ, which kills the process (systemd
 * units and CI sandboxes often set one); within it, extents past the end
 * are simply not handed out, and a task that needs one fails like any
 * exhaustion (ENOMEM). */
static off_t pool_file_size(const struct pgs_thread *th)
{
    off_t size = PGS_POOL_FILE_SIZE;
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)size)
        size = (off_t)rl.rlim_cur;
    return size / (off_t)th->size * (off_t)th->size;
}

/* fallocate, made again when a pending signal interrupts it: shmem then
 * returns EINTR (having undone what it allocated), which is no reason for
 * a task to die or a resume to fail.  A macro, so that the injector names
 * the caller. */
#define FALLOCATE(...)                                                       \
    ({                                                                       \
        int rc_;                                                             \
        while ((rc_ = pgs__fallocate(__VA_ARGS__)) != 0 && errno == EINTR)   \
            ;                                                                \
        rc_;                                                                 \
    })

int pgs__pool_open(struct pgs_thread *th)
{
    th->pool_size = pool_file_size(th);
    if (th->pool_size == 0) {
        errno = ENOMEM; /* not even one task's stack may be stored */
        return -1;
    }
    th->fd = pgs__memfd("pagedstack");
    if (th->fd < 0)
        return -1;
    if (pgs__ftruncate(th->fd, th->pool_size) != 0) {
        int e = errno;
        close(th->fd);
        th->fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

void pgs__pool_close(struct pgs_thread *th)
{
    if (th->fd >= 0)
        close(th->fd);
    th->fd = -1;
    free(th->free_extents);
    th->free_extents = NULL;
    th->nfree = th->free_cap = 0;
}

/* Hand out an extent.  No system call: a new one is just the next index.
 * The free list always has room for every extent ever handed out, so that
 * giving one back can never fail. */
int pgs__extent_get(struct pgs_thread *th, size_t *extent)
{
    if (th->nfree > 0) {
        *extent = th->free_extents[--th->nfree];
        return 0;
    }
    if ((off_t)((th->extents_used + 1) * th->size) > th->pool_size) {
        errno = ENOMEM;
        return -1;
    }
    if (th->extents_used == th->free_cap) {
        size_t cap = th->free_cap ? th->free_cap * 2 : 64;
        size_t *n = pgs__realloc(th->free_extents, cap * sizeof *n);
        if (!n)
            return -1;
        th->free_extents = n;
        th->free_cap = cap;
    }
    *extent = th->extents_used++;
    return 0;
}

/* Take an extent back.  It must hold no pages (all holes). */
void pgs__extent_put(struct pgs_thread *th, size_t extent)
{
    th->free_extents[th->nfree++] = extent;
}

/* File offset of the page that is page_from_top pages below the top of
 * `extent` (0 = the topmost page). */
off_t pgs__extent_offset(const struct pgs_thread *th, size_t extent,
                         size_t page_from_top)
{
    return (off_t)(extent * th->size + th->size -
                   (page_from_top + 1) * PGS_PAGE);
}

/*
 * The room creation and growth leave under the cap so that the tasks that
 * exist (`tasks` of them: th->tasks, or one more for a create) can always
 * be switched: showing a task again needs its signal headroom.  Only a
 * region that several tasks share ever shows one task after another, and
 * that is region 0 alone (every other region keeps its one task for life,
 * and a task shown again there finds its pages as it left them); a new
 * task goes there when no other region is free.
 */
size_t pgs__margin(const struct pgs_thread *th, size_t tasks)
{
    unsigned users = th->regions[0].users;
    if (tasks > th->tasks && !th->free_region)
        users++;
    return users > 1 ? th->start_bytes : 0;
}

/* Allocate pages [have, want) of `extent`, zeroed, if the thread then
 * holds at most `limit` bytes (pgs__limit).  Fails with ENOMEM, setting
 * *over_cap when the limit is what refused.  Async-signal-safe: the fault
 * path uses it. */
int pgs__extent_grow(struct pgs_thread *th, size_t extent, size_t have,
                     size_t want, size_t limit, int *over_cap)
{
    size_t add = want - have;
    *over_cap = 0;
    if (pgs__sat_add(pgs__held_bytes(th), add * PGS_PAGE) > limit) {
        *over_cap = 1;
        errno = ENOMEM;
        return -1;
    }
    off_t off = pgs__extent_offset(th, extent, want - 1);
    if (FALLOCATE(th->fd, 0, off, (off_t)(add * PGS_PAGE)) != 0) {
        /* Whatever part was allocated must not stay behind as a non-hole
         * beyond the extent's pages. */
        int e = errno;
        FALLOCATE(th->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
                  (off_t)(add * PGS_PAGE));
        errno = (e == ENOSPC || e == EFBIG) ? ENOMEM : e;
        return -1;
    }
    th->held_pages += add;
    return 0;
}

/* Give back pages [keep, have) of `extent`: the memory returns to the
 * OS and the file space reads as zero again.  The pages may still be mapped
 * somewhere; the caller unmaps them.  On failure nothing changed. */
int pgs__extent_trim(struct pgs_thread *th, size_t extent, size_t have,
                     size_t keep)
{
    if (have <= keep)
        return 0;
    size_t drop = have - keep;
    if (FALLOCATE(th->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  pgs__extent_offset(th, extent, have - 1),
                  (off_t)(drop * PGS_PAGE)) != 0)
        return -1;
    th->held_pages -= drop;
    return 0;
}
