/* SPDX-License-Identifier: MIT */
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
#include "track.h"

/*
 * Return what a switch hands back.  Normally a tail call, so that the
 * context continues directly in its caller; the sanitizers need to hear
 * when a switch has arrived, so their builds call and then return.
 */
#if PGS_TRACK_SWITCHES
#define SWITCH_RETURN(type, th, to, leaving, call)                           \
    do {                                                                     \
        pgs_track_switch((th), (to), (leaving));                             \
        type v_ = (call);                                                    \
        pgs_track_arrived(th);                                               \
        return v_;                                                           \
    } while (0)
#else
#define SWITCH_RETURN(type, th, to, leaving, call) return (call)
#endif

/* Where a context's stack pointer is kept while it is switched out. */
static inline void **saved_sp(struct pgs_thread *th, pgs_task *t)
{
    return t ? &t->sp : &th->main_sp;
}

/* Whether `to` (NULL: the thread's own stack) can be continued with a plain
 * register switch: its stack is in place. */
static inline int shows(struct pgs_thread *th, const pgs_task *to)
{
    return !to || pgs__region_of(th, to)->occupant == to;
}

/* The switch that leaves a finishing or yielding task for its resumer when
 * the resumer's stack is not in place, or the task has finished. */
static void *leave_via(struct pgs_thread *th, pgs_task *self, void *out)
{
    th->sw_from = self;
    th->sw_to = self->resumer;
    th->sw_value = NULL; /* the resumer's pgs_resume returns 0 */
    th->sw_out = out;
    th->sw_resume = 0;
    SWITCH_RETURN(void *, th, self->resumer, self->state == PGS_DONE,
                  pgs__switch_via(&self->sp, th, pgs__prepare,
                                  th->switch_top));
}

void pgs__task_main(void *arg)
{
    pgs_task *t = arg;
    pgs_track_arrived(t->th);
    void *r = t->fn(t->arg);
    struct pgs_thread *th = t->th;
    th->current = t->resumer; /* first: see pgs_yield */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pgs__set_state(t, PGS_DONE);
    leave_via(th, t, r);
    __builtin_unreachable();
}

/* A descriptor, uninitialised: a spare one if the thread keeps any. */
static pgs_task *task_alloc(struct pgs_thread *th)
{
    pgs_task *t = th->spare;
    if (t) {
        pgs_track_spare_take(t);
        th->spare = t->next;
        th->nspare--;
        return t;
    }
    return pgs__malloc(sizeof *t);
}

/* Give back the descriptor of a task of th: kept for the next create, up
 * to PGS_SPARE_TASKS of them. */
static void task_free(struct pgs_thread *th, pgs_task *t)
{
#if PGS_SPARE_TASKS
    if (th->nspare < PGS_SPARE_TASKS) {
        pgs__set_state(t, PGS_STATE_SPARE);
        t->next = th->spare;
        th->spare = t;
        th->nspare++;
        pgs_track_spare_put(t);
        return;
    }
#endif
    (void)th;
    free(t);
}

void pgs__spare_release(struct pgs_thread *th)
{
    while (th->spare) {
        pgs_task *t = th->spare;
        pgs_track_spare_take(t);
        th->spare = t->next;
        free(t);
    }
    th->nspare = 0;
}

PGS_EXPORT pgs_task *pgs_create(pgs_fn fn, void *arg)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    struct pgs_thread *th = pgs__tls;
    if (pgs_slow(!th) && !(th = pgs__thread_get()))
        return NULL;
    /* If the SIGSEGV handler has been replaced, or SIGSEGV is blocked, the
     * first stack fault would kill the process with no word of why.  The
     * check takes two system calls, so it is made on the thread's first
     * create and then on every PGS_CHECK_EVERY-th. */
    if (pgs_slow(th->creates++ % PGS_CHECK_EVERY == 0) &&
        pgs__thread_unsafe() != 0)
        return NULL;
    /* No memory yet: a task gets stack pages when it first runs.  But it
     * will need its first pages then, as will every task created and not
     * yet run; refuse now if the cap has no room for them (beyond the
     * margin kept for switching). */
    if (th->cap_bytes &&
        pgs__held_bytes(th) + (th->unstarted + 1) * th->start_bytes >
            pgs__limit(th, pgs__margin(th, th->tasks + 1))) {
        errno = ENOMEM;
        return NULL;
    }
    pgs_task *t = task_alloc(th);
    if (!t)
        return NULL;
    /* Field by field: zeroing the whole descriptor first (rep stos) costs
     * more than the rest of pgs_create.  Every field of struct pgs_task
     * is set here (the TSan fiber by pgs_track_task_create). */
    t->sp = NULL;
    t->th = th;
    t->resumer = NULL;
    t->out = NULL;
    t->fn = fn;
    t->arg = arg;
    pgs__set_state(t, PGS_CREATED);
    t->home = PGS_HOME_NONE;
    t->region = 0; /* placed below, once nothing can fail */
    t->extent = PGS_NO_EXTENT;
    t->pages = 0;
    t->peak_pages = 0;
    t->buf = NULL;
    t->buflen = 0;
    t->bufcap = 0;
    t->prev = NULL;
    t->name[0] = '\0';
    if (pgs_track_task_create(t) != 0) {
        task_free(th, t);
        errno = ENOMEM;
        return NULL;
    }
    t->region = pgs__region_take(th);
    t->next = th->list;
    if (th->list)
        th->list->prev = t;
    th->list = t;
    th->tasks++;
    th->unstarted++;
    return t;
}

PGS_EXPORT int pgs_resume(pgs_task *t, void *in, void **out)
{
    if (!t || t->state == PGS_STATE_SPARE) {
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
    t->out = out;
    pgs__set_state(t, PGS_RUNNING);
    th->current = t;
    /* Both switches are tail calls: when t yields or returns, this
     * context continues in our caller, and the switch's value (0, or -1
     * with errno set if t could not be shown) is our return value. */
    if (pgs_fast(shows(th, t)))
        SWITCH_RETURN(int, th, t, 0,
                      pgs__switch_int(saved_sp(th, self), t->sp, in));
    th->sw_from = self;
    th->sw_to = t;
    th->sw_value = in;
    th->sw_resume = 1;
    th->sw_was = was;
#if PGS_TRACK_SWITCHES
    /* The switch was announced before the switch stack found out whether
     * t can be shown; if not, this context never left and the sanitizers
     * must hear that it is back (else they would go on taking the thread
     * for t, and at its exit finish t's fiber instead of the thread). */
    pgs_track_switch(th, t, 0);
    int rc = pgs__switch_via_int(saved_sp(th, self), th, pgs__prepare,
                                 th->switch_top);
    pgs_track_arrived(th);
    if (rc != 0) {
        pgs_track_switch(th, self, 0);
        pgs_track_arrived(th);
    }
    return rc;
#else
    return pgs__switch_via_int(saved_sp(th, self), th, pgs__prepare,
                               th->switch_top);
#endif
}

PGS_EXPORT void *pgs_yield(void *out)
{
    struct pgs_thread *th = pgs__tls;
    pgs_task *self = th ? th->current : NULL;
    if (pgs_slow(!self)) {
        errno = EPERM;
        return NULL;
    }
    pgs_task *to = self->resumer;
    /* A signal handler may look at pgs_self() and its state at any point:
     * the task it names must always be one that is running, so the
     * current task changes before this one's state does. */
    th->current = to;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pgs__set_state(self, PGS_SUSPENDED);
    /* A task that comes back from deep calls and waits gives back what
     * lies far below its stack pointer; the slow path does that. */
    struct pgs_region *r = pgs__region_of(th, self);
    pgs_assert(r->occupant == self, "a running task is its region's occupant");
    char *here = __builtin_frame_address(0);
    int trim = pgs__sp_in(r, here) &&
               r->mapped > pgs__cover(r, (uintptr_t)here - th->headroom) +
                               PGS_TRIM_SLACK;
    /* The value handed back to this context when it is resumed is the in
     * of that pgs_resume: our return value (tail calls again). */
    if (pgs_fast(!trim && shows(th, to))) {
        if (self->out)
            *self->out = out; /* the resumer's stack is in place */
        SWITCH_RETURN(void *, th, to, 0,
                      pgs__switch(&self->sp, to ? to->sp : th->main_sp, NULL));
    }
    return leave_via(th, self, out);
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
    return __atomic_load_n(&t->state, __ATOMIC_RELAXED); /* any thread */
}

PGS_EXPORT int pgs_destroy(pgs_task *t)
{
    if (!t || t->state == PGS_STATE_SPARE) { /* NULL, or destroyed already */
        errno = EINVAL;
        return -1;
    }
    struct pgs_thread *th = t->th;
    if (th && th->forked_away) { /* a thread a fork left behind */
        free(t->buf);
        th = NULL;
    }
    if (!th) { /* its thread has exited and took the pages with it */
        pgs_track_task_destroy(t);
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
    /* A done task left its region when it finished. */
    if (t->state != PGS_DONE)
        pgs__region_leave(th, t);
    if (t->state == PGS_CREATED)
        th->unstarted--;
    pgs__task_unlink(th, t);
    pgs_track_task_destroy(t);
    task_free(th, t);
    return 0;
}

void pgs__task_unlink(struct pgs_thread *th, pgs_task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        th->list = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    th->tasks--;
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
