/*
 * Tasks: creation, the resume/yield protocol, and the switch between them.
 *
 * A switch whose target already shows in its region (or that goes back to
 * the thread's own stack) is a plain register switch.  Anything else goes
 * through pgs__switch_via, which saves the outgoing context, moves to the
 * switch stack and calls pgs__prepare (remap.c) there to change what the
 * region shows before the incoming context is restored.
 */
#include "config.h"
#include <string.h>
#include "internal.h"
#include "switch.h"
#include "sys.h"

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

void pgs__task_main(void *arg)
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
     * room for it (tasks created but not yet run count one page each).
     * No extent yet: a task gets stack memory when it first runs. */
    if (th->cap_bytes && pgs__held_bytes(th) + (th->reserved_pages + 1) *
                                                   PGS_PAGE > th->cap_bytes) {
        errno = ENOMEM;
        return NULL;
    }
    pgs_task *t = pgs__malloc(sizeof *t);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->slot = PGS_NO_SLOT;
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
    if (pgs__unhome(th, t) != 0)
        return -1;
    if (t->state == PGS_CREATED)
        th->reserved_pages--;
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
