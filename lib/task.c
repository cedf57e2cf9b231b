/* SPDX-License-Identifier: MIT */
/*
 * Tasks: creation, resume, yield and destruction.
 *
 * A switch whose target already shows in its region (or that goes back to
 * the thread's own stack) is a plain register switch, made here.  Anything
 * else is a request to the switch stack (switch.c), which changes what the
 * region shows before the incoming context is restored.
 */
#include "config.h"
#include <string.h>
#include "internal.h"
#include "switch.h"
#include "sys.h"
#include "track.h"

/* Whether `to` (NULL: the thread's own stack) can be continued with a plain
 * register switch: its stack is in place. */
static inline int shows(struct pgs_thread *th, const pgs_task *to)
{
    return !to || pgs__region_of(th, to)->occupant == to;
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

/* t runs from now on, resumed by self (NULL: the thread's own stack). */
static inline void running(struct pgs_thread *th, pgs_task *t, pgs_task *self,
                           void **out)
{
    t->resumer = self;
    t->out = out;
    pgs__set_state(t, PGS_RUNNING);
    th->current = t;
}

/* pgs_resume from the thread's own stack of a t that does not show: that
 * stack lies outside every region, so t's is put in place right here, and
 * then the switch is a plain one. */
static __attribute__((noinline)) int
resume_from_thread(struct pgs_thread *th, pgs_task *t, void *in, void **out)
{
    if (pgs__show_task(th, t) != 0)
        return -1;
    running(th, t, NULL, out);
    PGS_SWITCH_RETURN(int, th, t, 0, pgs__switch_int(&th->main_sp, t->sp, in));
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
    int plain = shows(th, t);
    if (pgs_slow(!plain) && !self)
        return resume_from_thread(th, t, in, out);
    int was = t->state;
    running(th, t, self, out);
    /* When t yields or returns, this context continues in our caller, and
     * the switch's value (0, or -1 with errno set if t could not be shown)
     * is our return value: a tail call where the switch is a plain one. */
    if (pgs_fast(plain))
        PGS_SWITCH_RETURN(int, th, t, 0,
                      pgs__switch_int(pgs__saved_sp(th, self), t->sp, in));
    /* A task resumes t: the switch stack shows it (a request: switch.c),
     * since the task's stack could have to grow for the work, which a cap
     * could refuse. */
    struct pgs_switch *sw = pgs__switch_request(th);
    *sw = (struct pgs_switch){ .th = th, .from = self, .to = t, .value = in,
                               .kind = PGS_SWITCH_RESUME, .was = was };
    return pgs__switch_resume(sw);
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
    int trim = pgs_slow(r->mapped > PGS_TRIM_SLACK) && pgs__sp_in(r, here) &&
               r->mapped > pgs__cover(r, (uintptr_t)here - th->headroom) +
                               PGS_TRIM_SLACK;
    /* The value handed back to this context when it is resumed is the in
     * of that pgs_resume: our return value (tail calls again). */
    if (pgs_fast(!trim && shows(th, to))) {
        if (self->out)
            *self->out = out; /* the resumer's stack is in place */
        PGS_SWITCH_RETURN(void *, th, to, 0,
                      pgs__switch(&self->sp, to ? to->sp : th->main_sp, NULL));
    }
    /* The resumer's pgs_resume returns 0. */
    struct pgs_switch *sw = pgs__switch_request(th);
    *sw = (struct pgs_switch){ .th = th, .from = self, .to = to, .out = out,
                               .kind = PGS_SWITCH_YIELD };
    return pgs__switch_leave(sw);
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
