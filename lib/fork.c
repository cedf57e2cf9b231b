/* SPDX-License-Identifier: MIT */
/*
 * fork(): the child inherits the pool's memfd and every region's MAP_SHARED
 * mapping of it, so without care parent and child would write the same
 * stack pages.  The forking thread therefore makes its stacks private
 * before the fork:
 *
 *  - every task resident in a region (except the one calling fork) and
 *    every task evicted with its own pages is saved as a copy on the heap,
 *    which fork duplicates copy-on-write like any other memory;
 *  - the region the forking task runs on is turned into private anonymous
 *    memory with the same bytes (from the switch stack, since the task is
 *    running on it).
 *
 * After the fork the parent maps that region from its memfd again.  The
 * child opens a memfd of its own, moves its copy of the running region into
 * it and drops the scratch of the other regions.  So in the child the
 * forking task runs on, and every other task of the forking thread resumes
 * with its own copy of its stack.  The regions, pools and stacks of the
 * other threads (which do not exist in the child) are released in the
 * child: their memfd mappings would otherwise go on showing in the child
 * whatever those threads later put on their stacks.  Their tasks become
 * orphans that can only be destroyed, as those of an exited thread.
 *
 * A task whose copy could not be made (no memory) becomes an orphan in the
 * child: pgs_resume says EPERM there, as for a task of an exited thread.
 */
#include "config.h"
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include "internal.h"
#include "sys.h"
#include "track.h"

/* Copy the live stack of an evicted deep task out of its extent. */
static int extent_to_copy(struct pgs_thread *th, pgs_task *t)
{
    struct pgs_region *r = pgs__region_of(th, t);
    size_t live = (size_t)(r->top - (char *)t->sp);
    if (pgs__copy_buffer(th, t, pgs__round_up(live, 16)) != 0)
        return -1;
    char *b = t->buf;
    off_t off = (off_t)(t->extent * th->size +
                        (size_t)((char *)t->sp - r->base));
    for (size_t done = 0; done < live;) {
        ssize_t n = pread(th->fd, b + done, live - done, off + (off_t)done);
        if (n <= 0 && errno != EINTR)
            return -1;
        if (n > 0)
            done += (size_t)n;
    }
    t->buflen = live;
    if (pgs__extent_trim(th, t->extent, t->pages, 0) == 0)
        pgs__extent_put(th, t->extent);
    /* else the extent's pages leak until the thread exits; never reused */
    t->extent = PGS_NO_EXTENT;
    t->pages = 0;
    t->home = PGS_HOME_COPY;
    return 0;
}

/* The region the forking task runs on, made private or shared again. */
static struct pgs_region *running_region(struct pgs_thread *th)
{
    return th->current ? pgs__region_of(th, th->current) : NULL;
}

static void die_fork(const char *what)
{
    struct pgs_msg m = { .len = 0 };
    pgs__msg_str(&m, "pagedstack: fork: ");
    pgs__msg_str(&m, what);
    pgs__msg_str(&m, "\n");
    pgs__die(&m);
}

/* On the switch stack: replace r's shared pages by anonymous ones holding
 * the same bytes. */
static void make_private(struct pgs_thread *th, void *arg)
{
    struct pgs_region *r = arg;
    size_t len = r->mapped * PGS_PAGE;
    char *at = r->top - len;
    char *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tmp == MAP_FAILED)
        die_fork("no memory to make the running stack private");
    pgs_track_region_reset(r);
    memcpy(tmp, at, len);
    if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED)
        die_fork("cannot make the running stack private");
}

/* On the switch stack: write r's (private) bytes into extent r->extent of
 * th's memfd and map them shared again. */
static void make_shared(struct pgs_thread *th, void *arg)
{
    struct pgs_region *r = arg;
    size_t len = r->mapped * PGS_PAGE;
    char *at = r->top - len;
    off_t off = pgs__extent_offset(th, r->extent, r->mapped - 1);
    pgs_track_region_reset(r); /* whole pages are copied, garbage and all */
    for (size_t done = 0; done < len;) {
        ssize_t n = pwrite(th->fd, at + done, len - done, off + (off_t)done);
        if (n <= 0 && errno != EINTR)
            die_fork("cannot write the running stack back to the pool");
        if (n > 0)
            done += (size_t)n;
    }
    if (pgs__region_map(th, r, r->extent, 0, r->mapped, 1) != 0)
        die_fork("cannot map the running stack from the pool again");
}

static void prepare(struct pgs_thread *th)
{
    struct pgs_region *run = running_region(th);
    for (unsigned i = 0; i < th->nregions; i++) {
        struct pgs_region *r = &th->regions[i];
        if (r != run && r->occupant)
            pgs__evict(th, r);
    }
    /* Scratch and evictions may have left stale pages shown; the child
     * drops them anyway, the parent keeps them (they are hidden or
     * scratch, as after any switch). */
    /* A task waiting on a stack of its own (outside its region) cannot be
     * saved as a copy of its live bytes: in the child it is lost. */
    for (pgs_task *t = th->list; t; t = t->next)
        if (t->home == PGS_HOME_EXTENT &&
            pgs__sp_in(pgs__region_of(th, t), t->sp))
            extent_to_copy(th, t);
    if (run && run->mapped)
        pgs__on_switch_stack(th, make_private, run);
}

static void in_parent(struct pgs_thread *th)
{
    struct pgs_region *run = running_region(th);
    if (run && run->mapped)
        pgs__on_switch_stack(th, make_shared, run);
}

/* In the child: a pool of its own. */
static void child_pool(struct pgs_thread *th, struct pgs_region *run)
{
    int old = th->fd;
    if (pgs__pool_open(th) != 0)
        die_fork("the child cannot open a stack pool of its own");
    close(old);
    th->held_pages = 0;
    for (unsigned i = 0; i < th->nregions; i++) {
        struct pgs_region *r = &th->regions[i];
        if (r == run || r->extent == PGS_NO_EXTENT)
            continue;
        if (pgs__region_clear(r, 0, r->mapped) != 0)
            die_fork("the child cannot drop the parent's stack pages");
        pgs__extent_put(th, r->extent);
        r->extent = PGS_NO_EXTENT;
        pgs__region_lower(r, 0);
    }
    if (run && run->mapped) {
        int over_cap;
        size_t keep = run->mapped;
        if (pgs__extent_grow(th, run->extent, 0, keep, (size_t)-1,
                             &over_cap) != 0)
            die_fork("the child has no memory for the running stack");
        make_shared(th, run);
    }
}

static void child_pool_trampoline(struct pgs_thread *th, void *r)
{
    child_pool(th, r);
}

static void in_child(struct pgs_thread *th)
{
    /* Tasks whose stacks are still in the parent's memfd are lost. */
    for (pgs_task *t = th->list, *next; t; t = next) {
        next = t->next;
        if (t->home != PGS_HOME_EXTENT)
            continue;
        pgs__task_unlink(th, t);
        if (t->state == PGS_CREATED)
            th->unstarted--;
        t->th = NULL;
        t->home = PGS_HOME_NONE;
        t->extent = PGS_NO_EXTENT;
        t->pages = 0;
    }
    struct pgs_region *run = running_region(th);
    if (run && run->mapped)
        pgs__on_switch_stack(th, child_pool_trampoline, run);
    else
        child_pool(th, NULL);
}

/* Every initialised thread, for the child to release those it lacks.  The
 * lock is held across the fork, so that no thread is half linked then.  A
 * spin lock on an atomic, not a mutex: the child gives it back, and
 * ThreadSanitizer does not see a mutex's unlock in the fork handlers (it
 * then reports the next lock as a double lock). */
static int all_lock;
static struct pgs_thread *all;

static void all_take(void)
{
    while (__atomic_exchange_n(&all_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void all_give(void)
{
    __atomic_store_n(&all_lock, 0, __ATOMIC_RELEASE);
}

void pgs__fork_link(struct pgs_thread *th)
{
    all_take();
    th->all_prev = NULL;
    th->all_next = all;
    if (all)
        all->all_prev = th;
    all = th;
    th->linked = 1;
    all_give();
}

void pgs__fork_unlink(struct pgs_thread *th)
{
    if (!th->linked)
        return;
    all_take();
    if (th->all_prev)
        th->all_prev->all_next = th->all_next;
    else
        all = th->all_next;
    if (th->all_next)
        th->all_next->all_prev = th->all_prev;
    th->linked = 0;
    all_give();
}

/* In the child: release what a thread that is not there held.  Only its
 * own mappings and descriptor: its task list may have been half changed
 * when the fork came, so it is not walked; pgs_destroy frees its tasks
 * (forked_away), and the descriptor stays for them to find. */
static void release_left_behind(struct pgs_thread *th)
{
    if (th->reserve)
        munmap(th->reserve, th->reserve_len);
    th->reserve = NULL;
    if (th->stacks)
        munmap(th->stacks, th->stacks_len);
    th->stacks = NULL;
    if (th->fd >= 0)
        close(th->fd);
    th->fd = -1;
    for (unsigned i = 0; i < th->nregions; i++) {
        th->regions[i].occupant = NULL;
        th->regions[i].extent = PGS_NO_EXTENT;
        th->regions[i].mapped = 0;
    }
    th->forked_away = 1;
    th->linked = 0;
}

/* The hooks, for the calling thread's state (other threads' is theirs:
 * only the forking thread goes on in the child). */
static void hook(void (*step)(struct pgs_thread *th))
{
    struct pgs_thread *th = pgs__tls;
    if (!th)
        return;
    pgs_track_fork_begin(th);
    step(th);
    pgs_track_fork_end();
}

static void before_fork(void)
{
    all_take();
    hook(prepare);
}

static void after_fork_parent(void)
{
    hook(in_parent);
    all_give();
}

static void after_fork_child(void)
{
    struct pgs_thread *self = pgs__tls;
    for (struct pgs_thread *th = all, *next; th; th = next) {
        next = th->all_next;
        if (th != self)
            release_left_behind(th);
    }
    all = self;
    if (self)
        self->all_prev = self->all_next = NULL;
    all_give();
    hook(in_child);
}

int pgs__fork_hooks_install(void)
{
    return pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
