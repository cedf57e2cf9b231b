/* SPDX-License-Identifier: MIT */
/*
 * Which task a region shows, and the work of changing it.  Everything here
 * runs on the switch stack (switch.c), or from pgs_destroy on a stack
 * outside the region, never on the region being changed.
 *
 * When a task must leave its region for another, it is evicted one of two
 * ways.  A shallow task (live stack up to copy_max bytes) has its live
 * bytes copied into a buffer of exactly that size, and the region keeps its
 * pages as scratch for the next task: no system call, and the waiting task
 * costs its live bytes, not a page.  A deep task takes the region's extent
 * with it (nothing is copied) and gives back the pages below its stack
 * pointer; the region then needs another extent, mapped with one mmap.
 *
 * Invariant 1 of the design: a task never sees another's bytes.  Pages a
 * region gains are zero (fresh extents, grown pages); the scratch pages a
 * region keeps are cleared below the incoming task's live stack before it
 * runs.
 */
#include "config.h"
#include <string.h>
#include "internal.h"
#include "switch.h"
#include "sys.h"
#include "track.h"

/* Pages of scratch a region keeps beyond what its occupant needs, so that a
 * task that briefly goes a little deeper does not cost a trim each time. */
#define PGS_SCRATCH_SLACK ((size_t)16)
/*
 * But every switch into a region scans its slack, which is why it must not
 * stay mapped for nothing: once this many scans in a row found the slack
 * below an incoming task clean, it is given back (two system calls, once).
 * A task that went deep once then costs the later shallow switches of its
 * region this many long scans, not a long scan each forever.
 */
#define PGS_CLEAN_SCANS 8u

static __attribute__((noreturn)) void die_unmap(const pgs_task *t)
{
    struct pgs_msg m = { .len = 0 };
    pgs__msg_str(&m, "pagedstack: cannot unmap stack pages of task ");
    pgs__msg_task(&m, t);
    pgs__msg_str(&m, ": the system refused (out of memory or map count)\n");
    pgs__die(&m);
}

/* Where a task that is not running has its stack pointer, were it shown. */
static uintptr_t entry_sp(const struct pgs_region *r, const pgs_task *t)
{
    if (t->sp)
        return (uintptr_t)t->sp;
    return (uintptr_t)r->top - PGS_FIRST_FRAME_GAP; /* pgs__frame_init */
}

/* Pages a task needs to start: its first frame and the headroom below. */
static size_t start_pages(const struct pgs_thread *th,
                          const struct pgs_region *r)
{
    return pgs__cover(r, (uintptr_t)r->top - PGS_FIRST_FRAME_GAP -
                             th->headroom);
}

/* Hide pages [keep, r->mapped) of r and give them back, if r holds more
 * than keep + slack: scratch after a deep occupant has gone, or a resident
 * task that waits shallow after a deep call. */
void pgs__region_trim(struct pgs_thread *th, struct pgs_region *r,
                      size_t keep, size_t slack)
{
    if (r->mapped <= keep + slack)
        return;
    /* Punch first: if that fails, nothing has changed and r keeps its
     * pages, mapped and counted.  Once punched, the bytes are gone, so
     * even if hiding the pages fails no one can read them. */
    if (pgs__extent_trim(th, r->extent, r->mapped, keep) != 0)
        return;
    if (pgs__region_clear(r, keep, r->mapped) != 0) {
        /* Still mapped: count them again (zeroed), so that a touch cannot
         * allocate memory no one counts.  If even that fails, they stay
         * holes that read as zero. */
        int over_cap;
        pgs__extent_grow(th, r->extent, keep, r->mapped, (size_t)-1,
                         &over_cap);
        return;
    }
    pgs__region_lower(r, keep);
}

/* Clear r's mapped pages below sp, where a task that needs `need` pages
 * will run, and count whether the slack below those pages was clean (see
 * PGS_CLEAN_SCANS). */
static void scratch_clear(struct pgs_thread *th, struct pgs_region *r,
                          size_t need, char *sp)
{
    char *dirty = pgs__scratch_clear(th, r->top - r->mapped * PGS_PAGE, sp);
    if (r->mapped > need) {
        if (!dirty || dirty >= r->top - need * PGS_PAGE)
            r->clean_scans++;
        else
            r->clean_scans = 0;
    }
}

static void free_copy(struct pgs_thread *th, pgs_task *t)
{
    if (!t->buf) /* most tasks that finish or are destroyed */
        return;
    free(t->buf);
    th->copy_bytes -= t->bufcap;
    t->buf = NULL;
    t->bufcap = t->buflen = 0;
}

/* Give t a copy buffer of exactly cap bytes, counted in the thread's
 * figures.  On failure t keeps the buffer it had. */
int pgs__copy_buffer(struct pgs_thread *th, pgs_task *t, size_t cap)
{
    char *b = pgs__realloc(t->buf, cap);
    if (!b)
        return -1;
    th->copy_bytes = th->copy_bytes - t->bufcap + cap;
    t->buf = b;
    t->bufcap = cap;
    return 0;
}

/* Copy t's live stack (its top `live` bytes) into its buffer, which holds
 * them already. */
static void copy_out(pgs_task *t, size_t live)
{
    memcpy(t->buf, t->sp, live);
    t->buflen = live;
    t->home = PGS_HOME_COPY;
}

/* Copy t's live stack out of r into t's buffer (exact size).  Fails if
 * there is no memory for the buffer, or the thread's cap has no room for
 * it (counting `allow` bytes that the switch is about to give back): t then
 * keeps its pages instead, which are counted already. */
static int save_copy(struct pgs_thread *th, struct pgs_region *r, pgs_task *t,
                     size_t allow)
{
    size_t live = (size_t)(r->top - (char *)t->sp);
    size_t cap = pgs__round_up(live, 16);
    if (cap > t->bufcap || cap * 2 < t->bufcap) {
        if (th->cap_bytes && cap > t->bufcap &&
            pgs__sat_add(pgs__held_bytes(th), cap - t->bufcap) >
                pgs__sat_add(pgs__limit(th, 0), allow))
            return -1;
        if (pgs__copy_buffer(th, t, cap) != 0)
            return -1;
    }
    copy_out(t, live);
    return 0;
}

/* Make r's occupant o leave (o is not done).  `allow`: bytes the switch
 * gives back once it is done (the incoming task's copy, under a cap). */
static void evict(struct pgs_thread *th, struct pgs_region *r, pgs_task *o,
                  size_t allow)
{
    pgs_assert(r->occupant == o && o->home == PGS_HOME_REGION,
               "the task a region shows is its occupant, at home there");
    uintptr_t sp = (uintptr_t)o->sp;
    /* A task that waits on a stack of its own keeps all it has mapped:
     * where in the region its live frames end, nothing here can tell. */
    int in = pgs__sp_in(r, o->sp);
    size_t keep = in ? pgs__cover(r, sp - th->headroom) : r->mapped;
    r->occupant = NULL;
    if (in && (size_t)((uintptr_t)r->top - sp) <= th->copy_max &&
        save_copy(th, r, o, allow) == 0) {
        pgs__region_trim(th, r, keep, PGS_SCRATCH_SLACK);
        return;
    }
    /* Deep (or no memory or room under the cap for a copy): o takes the
     * extent.  r still shows it until the caller maps something else over
     * it or clears it. */
    o->home = PGS_HOME_EXTENT;
    o->extent = r->extent;
    o->pages = r->mapped;
    if (keep < o->pages &&
        pgs__extent_trim(th, o->extent, o->pages, keep) == 0)
        o->pages = keep;
    r->extent = PGS_NO_EXTENT;
    pgs__region_lower(r, 0);
}

/* Reserve pages [have, want) of extent e (under `limit`: pgs__limit) and
 * map pages [from, want) of it in r.  On failure neither is done. */
static int map_extent(struct pgs_thread *th, struct pgs_region *r, size_t e,
                      size_t have, size_t want, size_t from, size_t limit,
                      int populate)
{
    int over_cap;
    if (want > have &&
        pgs__extent_grow(th, e, have, want, limit, &over_cap) != 0)
        return -1;
    if (from < want && pgs__region_map(th, r, e, from, want, populate) != 0) {
        int err = errno;
        pgs__extent_trim(th, e, want, have);
        errno = err;
        return -1;
    }
    return 0;
}

/* t brings its own pages (home EXTENT), `need` at least: r gives its
 * scratch back first (under a cap, t's growth may need the room), then
 * reserves what t lacks and maps t's extent. */
static int enter_extent(struct pgs_thread *th, struct pgs_region *r,
                        pgs_task *t, size_t need)
{
    if (r->extent != PGS_NO_EXTENT) {
        if (pgs__extent_trim(th, r->extent, r->mapped, 0) != 0)
            return -1;
        pgs__extent_put(th, r->extent);
        r->extent = PGS_NO_EXTENT;
        pgs__region_lower(r, 0);
    }
    size_t want = need > t->pages ? need : t->pages;
    if (map_extent(th, r, t->extent, t->pages, want, 0, pgs__limit(th, 0),
                   0) != 0)
        return -1;
    r->extent = t->extent;
    r->mapped = want;
    t->extent = PGS_NO_EXTENT;
    t->pages = 0;
    return 0;
}

/* A new task or a saved copy runs on r's scratch: r reserves an extent if
 * it has none and the pages below `need` it lacks, then maps them. */
static int enter_scratch(struct pgs_thread *th, struct pgs_region *r,
                         const pgs_task *t, size_t need)
{
    int fresh = r->extent == PGS_NO_EXTENT;
    if (fresh) {
        if (pgs__extent_get(th, &r->extent) != 0)
            return -1;
        r->mapped = 0;
    }
    if (r->mapped > need && r->clean_scans >= PGS_CLEAN_SCANS) {
        r->clean_scans = 0;
        pgs__region_trim(th, r, need, 0); /* if it fails, the scan goes on */
    }
    size_t have = r->mapped, want = need > have ? need : have;
    /* Under a cap the copy's buffer is given back once the copy is in
     * place, so the switch may count on it. */
    size_t limit = pgs__limit(th, 0);
    if (th->cap_bytes)
        limit = pgs__sat_add(limit, t->bufcap);
    /* A fresh extent must replace whatever r showed; otherwise only the
     * new pages need mapping (on most switches none). */
    if (map_extent(th, r, r->extent, have, want, fresh ? 0 : have, limit,
                   1) != 0) {
        if (fresh) {
            pgs__extent_put(th, r->extent);
            r->extent = PGS_NO_EXTENT;
        }
        return -1;
    }
    r->mapped = want;
    return 0;
}

/* Make r show t (t is not its occupant, and r has none now): reserve and
 * map the pages t needs, then put its stack in place.  `*shown` is how
 * many pages at r's top are mapped, from whatever extent; on return it
 * still is.  Returns -1 with errno (ENOMEM) if memory for t could not be
 * had; r then holds no more than before. */
static int enter(struct pgs_thread *th, struct pgs_region *r, pgs_task *t,
                 size_t *shown)
{
    uintptr_t sp = entry_sp(r, t);
    pgs_assert(pgs__home_agrees(th, t),
               "a task's home says where its stack is");
    /* Off the region (see evict), t needs the pages it brings. */
    int in = pgs__sp_in(r, (void *)sp);
    size_t need = in ? pgs__cover(r, sp - th->headroom) : 0;
    int own = t->home == PGS_HOME_EXTENT;
    if ((own ? enter_extent(th, r, t, need)
             : enter_scratch(th, r, t, need)) != 0)
        return -1;
    if (r->mapped > *shown)
        *shown = r->mapped;
    pgs_track_region_reset(r);
    if (own) {
        if (in)
            pgs__region_populate(th, r, sp);
        return 0;
    }
    /* Clear what earlier occupants left below t's live stack, then put
     * t's live stack back. */
    scratch_clear(th, r, need, (char *)sp);
    if (t->home == PGS_HOME_COPY) {
        memcpy((void *)sp, t->buf, t->buflen);
        /* The buffer is kept for the task's next eviction (and counted), but
         * under a cap a task must not hold its stack twice, as pages and as
         * a copy: that is what lets switches fit in the margin. */
        if (th->cap_bytes)
            free_copy(th, t);
    } else {
        th->unstarted--; /* its first pages are no longer promised */
    }
    return 0;
}

/* r shows t now: t is its occupant, at home there. */
static void now_shows(struct pgs_thread *th, struct pgs_region *r,
                      pgs_task *t)
{
    r->occupant = t;
    t->home = PGS_HOME_REGION;
    if (r->mapped > t->peak_pages)
        t->peak_pages = r->mapped;
    th->remaps++;
}

/*
 * The common switch through a shared region, in one piece: shallow
 * occupant o is copied out into the buffer it has, and t's saved copy goes
 * back where r's scratch covers it already, with no cap to count against
 * and nothing to trim.  What evict and enter would do, without the cases
 * that need a system call or an allocation.  Returns 0 if it did the
 * switch; -1 (nothing changed) if show's general path must.
 */
static int swap_copies(struct pgs_thread *th, struct pgs_region *r,
                       pgs_task *o, pgs_task *t)
{
    char *out = o->sp, *in = t->sp;
    if (th->cap_bytes || t->home != PGS_HOME_COPY || !pgs__sp_in(r, out))
        return -1;
    size_t live = (size_t)(r->top - out);
    size_t cap = pgs__round_up(live, 16);
    size_t keep = pgs__cover(r, (uintptr_t)out - th->headroom);
    size_t need = pgs__cover(r, (uintptr_t)in - th->headroom);
    if (live > th->copy_max || cap > o->bufcap || cap * 2 < o->bufcap ||
        r->mapped > keep + PGS_SCRATCH_SLACK || need > r->mapped ||
        (r->mapped > need && r->clean_scans >= PGS_CLEAN_SCANS))
        return -1;
    pgs_assert(r->occupant == o && o->home == PGS_HOME_REGION,
               "the task a region shows is its occupant, at home there");
    pgs_assert(pgs__home_agrees(th, t),
               "a task's home says where its stack is");
    pgs_track_region_reset(r);
    copy_out(o, live);
    scratch_clear(th, r, need, in);
    memcpy(in, t->buf, t->buflen);
    now_shows(th, r, t);
    return 0;
}

/*
 * The common start of a new task: r shows no one, and its scratch covers
 * the pages t starts on, with no cap to count against.  What enter does
 * for a new task, without the cases that need a system call.  Returns 0 if
 * r shows t now; -1 (nothing changed) if show's general path must.
 */
static int start_on_scratch(struct pgs_thread *th, struct pgs_region *r,
                            pgs_task *t)
{
    size_t need = start_pages(th, r);
    if (r->occupant || t->home != PGS_HOME_NONE || t->sp || th->cap_bytes ||
        r->extent == PGS_NO_EXTENT || need > r->mapped ||
        (r->mapped > need && r->clean_scans >= PGS_CLEAN_SCANS))
        return -1;
    pgs_track_region_reset(r);
    scratch_clear(th, r, need, r->top - PGS_FIRST_FRAME_GAP);
    th->unstarted--; /* its first pages are no longer promised */
    now_shows(th, r, t);
    return 0;
}

/* Make r show t, evicting its occupant.  On failure r shows nothing (or
 * its scratch) and errno says why. */
int pgs__show(struct pgs_thread *th, struct pgs_region *r, pgs_task *t)
{
    if (r->occupant ? swap_copies(th, r, r->occupant, t) == 0
                    : start_on_scratch(th, r, t) == 0)
        return 0;
    size_t shown = r->mapped;
    pgs_track_region_reset(r);
    if (r->occupant)
        evict(th, r, r->occupant,
              t->home == PGS_HOME_COPY && th->cap_bytes ? t->bufcap : 0);
    int rc = enter(th, r, t, &shown);
    int e = errno;
    if (shown > r->mapped) {
        if (pgs__region_clear(r, r->mapped, shown) != 0)
            die_unmap(t);
    }
    if (rc != 0) {
        errno = e;
        return -1;
    }
    uintptr_t sp = entry_sp(r, t);
    pgs_assert(!pgs__sp_in(r, (void *)sp) ||
                   pgs__cover(r, sp - th->headroom) <= r->mapped,
               "the pages a region maps cover its occupant's live stack");
    now_shows(th, r, t);
    return 0;
}

/* Evict r's occupant (for fork): afterwards r shows only its scratch, if
 * it kept any. */
void pgs__evict(struct pgs_thread *th, struct pgs_region *r)
{
    size_t shown = r->mapped;
    pgs_task *o = r->occupant;
    pgs_track_region_reset(r);
    evict(th, r, o, 0);
    if (shown > r->mapped && pgs__region_clear(r, r->mapped, shown) != 0)
        die_unmap(o);
}

/* Whether pgs__release_finished(th, t) would only update the figures: no
 * buffer to free and no page to give back.  Then it can run on t's own
 * stack as t finishes: its few small frames lie just below
 * pgs__task_main's, on the page t started on, which stays mapped. */
int pgs__release_is_plain(const struct pgs_thread *th, const pgs_task *t)
{
    const struct pgs_region *r = &th->regions[t->region];
    size_t start = start_pages(th, r);
    if (t->buf || r->mapped > start + PGS_SCRATCH_SLACK)
        return 0;
    return r->users > 1 || (!th->cap_bytes && r->mapped <= start);
}

/* A finished task leaves its region; the pages stay as scratch, and the
 * buffer its last copy used is given back. */
void pgs__release_finished(struct pgs_thread *th, pgs_task *t)
{
    struct pgs_region *r = pgs__region_of(th, t);
    r->occupant = NULL;
    t->home = PGS_HOME_NONE;
    free_copy(th, t);
    pgs__region_trim(th, r, start_pages(th, r), PGS_SCRATCH_SLACK);
    pgs__region_leave(th, t);
}

/*
 * The region for a new task.  Regions are a cache of resident tasks: a
 * task that has a region to itself is never copied or remapped, and a
 * switch to it is a plain register switch; for a deep task that costs no
 * memory at all (its pages are held whether shown or not), for a shallow
 * one the pages its region keeps mapped.  So a new task takes a free
 * region while there is one, and the rest share region 0, where shallow
 * tasks take turns by copying and deep ones by remapping.  A task stays in
 * its region for life (its stack holds pointers into it); the region is
 * free again once the task is done or destroyed.  The most recently freed
 * region is reused first: its scratch is likely still in the cache.
 */
unsigned pgs__region_take(struct pgs_thread *th)
{
    unsigned i = th->free_region;
    if (i)
        th->free_region = th->regions[i].next_free;
    th->regions[i].users++;
    return i;
}

/*
 * t (not done before) no longer uses its region, and its stack is gone
 * from it.  A region no task uses keeps only the pages a new task starts
 * on, so that creating and running one costs no system call; under a cap
 * it keeps none, since the cap is for tasks (and a hundred idle regions
 * could hold it all).
 */
void pgs__region_leave(struct pgs_thread *th, pgs_task *t)
{
    struct pgs_region *r = pgs__region_of(th, t);
    if (--r->users > 0)
        return;
    if (!r->occupant)
        pgs__region_trim(th, r, th->cap_bytes ? 0 : start_pages(th, r), 0);
    if (t->region != 0) {
        r->next_free = th->free_region;
        th->free_region = t->region;
    }
}

/* pgs_destroy's part: take t's stack out of wherever it is. */
int pgs__unhome(struct pgs_thread *th, pgs_task *t)
{
    struct pgs_region *r = pgs__region_of(th, t);
    pgs_assert(pgs__home_agrees(th, t),
               "a task's home says where its stack is");
    switch (t->home) {
    case PGS_HOME_REGION:
        /* Its pages stay in the region as scratch, cleared before any
         * other task sees them; deep scratch is given back. */
        r->occupant = NULL;
        pgs__region_trim(th, r, start_pages(th, r), PGS_SCRATCH_SLACK);
        break;
    case PGS_HOME_EXTENT:
        if (pgs__extent_trim(th, t->extent, t->pages, 0) != 0)
            return -1;
        pgs__extent_put(th, t->extent);
        t->extent = PGS_NO_EXTENT;
        t->pages = 0;
        break;
    default:
        break;
    }
    t->home = PGS_HOME_NONE;
    free_copy(th, t);
    return 0;
}

/* Make r show t for a moment (pgs_backtrace): returns the task r showed
 * before (to give back to pgs__show_again), or t itself if it already
 * showed.  -1 on failure. */
int pgs__show_for_a_moment(struct pgs_thread *th, pgs_task *t,
                           pgs_task **before)
{
    struct pgs_region *r = pgs__region_of(th, t);
    *before = r->occupant;
    if (r->occupant == t)
        return 0;
    /* pgs__show counts a remap and a task's depth; neither is the task's
     * doing here, so keep the figures as they were. */
    uint64_t remaps = th->remaps;
    size_t peak = t->peak_pages;
    int rc = pgs__show(th, r, t);
    th->remaps = remaps;
    t->peak_pages = peak;
    if (rc != 0) {
        /* pgs__show may have evicted `before` (the caller itself, if it runs
         * in this region) before t failed to map: it must show again
         * before anyone runs on it. */
        int e = errno;
        pgs__show_again(th, t, *before);
        errno = e;
    }
    return rc;
}

/* Undo pgs__show_for_a_moment: show `before` again (if it was shown). */
void pgs__show_again(struct pgs_thread *th, pgs_task *t, pgs_task *before)
{
    struct pgs_region *r = pgs__region_of(th, t);
    if (before == t || before == NULL || r->occupant == before)
        return;
    uint64_t remaps = th->remaps;
    size_t peak = before->peak_pages;
    if (pgs__show(th, r, before) != 0) {
        struct pgs_msg m = { .len = 0 };
        pgs__msg_str(&m, "pagedstack: pgs_backtrace: cannot show task ");
        pgs__msg_task(&m, before);
        pgs__msg_str(&m, " again after taking the backtrace of task ");
        pgs__msg_task(&m, t);
        pgs__msg_str(&m, ": out of memory for stack pages\n");
        pgs__die(&m);
    }
    th->remaps = remaps;
    before->peak_pages = peak;
}
