/*
 * Tasks: creation, the resume/yield protocol, and the switch between them.
 *
 * A switch whose target already shows in its region (or that goes back to
 * the thread's own stack) is a plain register switch.  Anything else goes
 * through pgs__switch_via, which saves the outgoing context, moves to the
 * switch stack and calls pgs__prepare there to remap the region before the
 * incoming context is restored.
 */
#include "config.h"
#include <string.h>
#include "internal.h"
#include "switch.h"
#include "sys.h"

static void task_main(void *arg);

/* Give up everything a finished task held: its pages and its place in its
 * region.  Runs on the switch stack, after the task's last instruction. */
static void release_finished(struct pgs_thread *th, pgs_task *t, int clear)
{
    struct pgs_region *r = pgs__region_of(th, t);
    if (clear) {
        if (pgs__region_clear(r, 0, r->mapped) != 0) {
            struct pgs_msg m = { .len = 0 };
            pgs__msg_str(&m, "pagedstack: cannot unmap the stack of finished "
                             "task ");
            pgs__msg_task(&m, t);
            pgs__msg_str(&m, ": the system refused memory\n");
            pgs__die(&m);
        }
        r->mapped = 0;
    }
    r->occupant = NULL;
    /* If the holes cannot be punched now, the task keeps its pages until
     * pgs_destroy tries again; they are never handed to anyone else. */
    pgs__pages_trim(th, t, 0);
}

/*
 * Make t's region show t: allocate what t needs around its stack pointer,
 * map its pages, trim and hide the previous occupant.  On failure nothing
 * has changed: the previous occupant still shows, fully mapped.
 */
static int show(struct pgs_thread *th, pgs_task *t)
{
    struct pgs_region *r = pgs__region_of(th, t);
    pgs_task *old = r->occupant;
    size_t want;
    if (t->sp)
        want = pgs__cover(r, (uintptr_t)t->sp - th->headroom);
    else /* first run: the first frame and the headroom below it */
        want = pgs__cover(r, (uintptr_t)r->top - 16 - PGS_FRAME_SIZE -
                                 th->headroom);
    if (want > t->pages) {
        int over_cap;
        int first = t->pages == 0 && !t->sp;
        if (pgs__pages_grow(th, t, want, &over_cap) != 0)
            return -1;
        if (first)
            th->reserved_pages--;
    }
    if (pgs__region_map(th, t, 0, 0) != 0) {
        int e = errno;
        /* MAP_FIXED may have taken the old mapping down with it. */
        if (old && pgs__region_map(th, old, 0, 0) != 0) {
            struct pgs_msg m = { .len = 0 };
            pgs__msg_str(&m, "pagedstack: cannot map the stack of task ");
            pgs__msg_task(&m, old);
            pgs__msg_str(&m, " back after a failed switch\n");
            pgs__die(&m);
        }
        errno = e;
        return -1;
    }
    /* The old occupant gives back what it does not need while it waits;
     * then everything below t's pages is hidden. */
    if (old)
        pgs__pages_trim(th, old, pgs__keep_pages(th, old));
    if (r->mapped > t->pages && pgs__region_clear(r, t->pages, r->mapped) != 0) {
        struct pgs_msg m = { .len = 0 };
        pgs__msg_str(&m, "pagedstack: cannot hide the stack of task ");
        pgs__msg_task(&m, old);
        pgs__msg_str(&m, " from task ");
        pgs__msg_task(&m, t);
        pgs__msg_str(&m, ": the system refused memory\n");
        pgs__die(&m);
    }
    r->occupant = t;
    r->mapped = t->pages;
    th->remaps++;
    return 0;
}

/* Runs on the switch stack between two contexts; returns the stack pointer
 * to continue. */
void *pgs__prepare(void *arg)
{
    struct pgs_thread *th = arg;
    pgs_task *from = th->sw_from, *to = th->sw_to;
    th->sw_err = 0;
    if (from && from->state == PGS_DONE)
        release_finished(th, from, !to || to->region != from->region);
    if (!to)
        return th->main_sp;
    struct pgs_region *r = pgs__region_of(th, to);
    if (r->occupant != to) {
        if (show(th, to) != 0) {
            th->sw_err = errno;
            th->current = from;
            if (from && from->state == PGS_DONE) {
                struct pgs_msg m = { .len = 0 };
                pgs__msg_str(&m, "pagedstack: cannot map the stack of task ");
                pgs__msg_task(&m, to);
                pgs__msg_str(&m, " to return to it: the system refused "
                                 "memory\n");
                pgs__die(&m);
            }
            return from ? from->sp : th->main_sp;
        }
        if (to->sp)
            pgs__region_populate(th, to);
    }
    if (!to->sp)
        to->sp = pgs__frame_init(r->top, task_main, to);
    return to->sp;
}

/* Leave `from` (NULL: the thread's own stack) for `to` (NULL: the same). */
static void switch_to(struct pgs_thread *th, pgs_task *from, pgs_task *to)
{
    void **save = from ? &from->sp : &th->main_sp;
    th->current = to;
    int finished = from && from->state == PGS_DONE;
    if (pgs_fast(!finished)) {
        if (!to) {
            pgs__switch(save, th->main_sp);
            return;
        }
        if (pgs_fast(pgs__region_of(th, to)->occupant == to)) {
            pgs__switch(save, to->sp);
            return;
        }
    }
    th->sw_from = from;
    th->sw_to = to;
    pgs__switch_via(save, th, pgs__prepare, th->switch_top);
}

static void task_main(void *arg)
{
    pgs_task *t = arg;
    void *r = t->fn(t->arg);
    struct pgs_thread *th = t->th;
    t->state = PGS_DONE;
    th->xfer = r;
    switch_to(th, t, t->resumer);
    __builtin_unreachable();
}

PGS_EXPORT pgs_task *pgs_create(pgs_fn fn, void *arg)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    struct pgs_thread *th = pgs__thread_get();
    if (!th)
        return NULL;
    /* A new task will need at least one page: refuse now if the cap has no
     * room for it (tasks created but not yet run count one page each). */
    if (th->cap_pages &&
        th->held_pages + th->reserved_pages + 1 > th->cap_pages) {
        errno = ENOMEM;
        return NULL;
    }
    pgs_task *t = pgs__malloc(sizeof *t);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    if (pgs__slot_get(th, &t->slot) != 0) {
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    t->th = th;
    t->fn = fn;
    t->arg = arg;
    t->state = PGS_CREATED;
    t->region = th->next_region;
    th->next_region = (th->next_region + 1) % th->nregions;
    t->next = th->list;
    if (th->list)
        th->list->prev = t;
    th->list = t;
    th->tasks++;
    th->reserved_pages++;
    return t;
}

PGS_EXPORT int pgs_resume(pgs_task *t, void *in, void **out)
{
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    struct pgs_thread *th = pgs__tls;
    if (!th || t->th != th) {
        errno = EPERM;
        return -1;
    }
    if (t->state == PGS_DONE || t->state == PGS_RUNNING) {
        errno = EINVAL;
        return -1;
    }
    pgs_task *self = th->current;
    int was = t->state;
    t->resumer = self;
    t->state = PGS_RUNNING;
    th->xfer = in;
    switch_to(th, self, t);
    if (pgs_slow(th->sw_err)) {
        errno = th->sw_err;
        th->sw_err = 0;
        t->state = was;
        return -1;
    }
    if (out)
        *out = th->xfer;
    return 0;
}

PGS_EXPORT void *pgs_yield(void *out)
{
    struct pgs_thread *th = pgs__tls;
    pgs_task *self = th ? th->current : NULL;
    if (!self) {
        errno = EPERM;
        return NULL;
    }
    self->state = PGS_SUSPENDED;
    th->xfer = out;
    switch_to(th, self, self->resumer);
    if (pgs_slow(th->sw_err)) {
        /* The resumer's stack could not be mapped back: there is no one to
         * return an error to. */
        struct pgs_msg m = { .len = 0 };
        pgs__msg_str(&m, "pagedstack: task ");
        pgs__msg_task(&m, self);
        pgs__msg_str(&m, " cannot yield: the stack of the task that resumed "
                         "it could not be mapped (the system refused "
                         "memory)\n");
        pgs__die(&m);
    }
    return th->xfer;
}

PGS_EXPORT pgs_task *pgs_self(void)
{
    struct pgs_thread *th = pgs__tls;
    return th ? th->current : NULL;
}

PGS_EXPORT int pgs_state(const pgs_task *t)
{
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    return t->state;
}

PGS_EXPORT int pgs_destroy(pgs_task *t)
{
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    struct pgs_thread *th = t->th;
    if (!th) { /* its thread has exited and took the pages with it */
        free(t);
        return 0;
    }
    if (th != pgs__tls) {
        errno = EPERM;
        return -1;
    }
    if (t->state == PGS_RUNNING) {
        errno = EBUSY;
        return -1;
    }
    struct pgs_region *r = pgs__region_of(th, t);
    if (r->occupant == t) {
        if (pgs__region_clear(r, 0, r->mapped) != 0)
            return -1;
        r->occupant = NULL;
        r->mapped = 0;
    }
    if (pgs__pages_trim(th, t, 0) != 0)
        return -1;
    if (t->state == PGS_CREATED)
        th->reserved_pages--;
    pgs__slot_put(th, t->slot);
    if (t->prev)
        t->prev->next = t->next;
    else
        th->list = t->next;
    if (t->next)
        t->next->prev = t->prev;
    th->tasks--;
    free(t);
    return 0;
}

PGS_EXPORT int pgs_set_name(pgs_task *t, const char *name)
{
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    size_t n = name ? strnlen(name, sizeof t->name - 1) : 0;
    memcpy(t->name, name ? name : "", n);
    t->name[n] = '\0';
    return 0;
}

PGS_EXPORT const char *pgs_name(const pgs_task *t)
{
    return t ? t->name : "";
}
