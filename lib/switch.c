/* SPDX-License-Identifier: MIT */
/*
 * The slow switch: one that must change what a region shows before the
 * incoming context can run.  pgs_resume, pgs_yield and a finishing task
 * state what they want as one request (struct pgs_switch); the assembly
 * switch saves the outgoing context, moves to the switch stack and calls
 * pgs__prepare with the request there, which has it carried out:
 *
 *   leave:    the outgoing task gives back what it no longer needs (a
 *             finished one all of it);
 *   show:     the incoming task's region is made to show it (remap.c);
 *   roll back: if that fails, a resume goes back to its resumer with an
 *             error (a yield or a finish cannot: the process dies);
 *   deliver:  a yield's or finish's output is stored for the resumer.
 *
 * A switch whose target already shows is a plain register switch
 * (task.c), and never comes here; nor does a resume from the thread's own
 * stack, which shows the target first (pgs__show_task) and then switches
 * plainly.
 */
#include "config.h"
#include "internal.h"
#include "switch.h"
#include "track.h"

static __attribute__((noreturn)) void die_switch(const pgs_task *from,
                                                 const pgs_task *to)
{
    struct pgs_msg m = { .len = 0 };
    pgs__msg_str(&m, "pagedstack: cannot switch from task ");
    pgs__msg_task(&m, from);
    pgs__msg_str(&m, " to ");
    if (to)
        pgs__msg_task(&m, to);
    else
        pgs__msg_str(&m, "the thread's own stack");
    pgs__msg_str(&m, ": out of memory for stack pages\n");
    pgs__die(&m);
}

/* The outgoing task: a finished one leaves its region; one that yields
 * far shallower than it has been gives back what lies below its stack
 * pointer. */
static void leave(struct pgs_thread *th, const struct pgs_switch *sw)
{
    pgs_task *from = sw->from;
    if (sw->kind == PGS_SWITCH_FINISH)
        pgs__release_finished(th, from);
    if (sw->kind != PGS_SWITCH_YIELD)
        return;
    struct pgs_region *r = pgs__region_of(th, from);
    if (r->occupant == from && pgs__sp_in(r, from->sp))
        pgs__region_trim(th, r,
                         pgs__cover(r, (uintptr_t)from->sp - th->headroom),
                         PGS_TRIM_SLACK);
}

/* Make the incoming task's region show it; a new task gets its first
 * frame, whose return runs pgs__task_main.  -1 with errno if it cannot be
 * shown.  On the switch stack, or on the thread's own stack (a resume
 * from there: pgs_resume). */
int pgs__show_task(struct pgs_thread *th, pgs_task *to)
{
    struct pgs_region *r = pgs__region_of(th, to);
    if (r->occupant != to && pgs__show(th, r, to) != 0)
        return -1;
    if (!to->sp)
        to->sp = pgs__frame_init(r->top, pgs__task_main, to);
    pgs__note_peak(th);
    return 0;
}

/* The incoming task cannot be shown.  A resume fails: back to the
 * resumer, whose pgs_resume returns -1 with errno set by pgs__show; if it
 * was evicted from the same region, it is shown again.  A yield or a
 * finish has no one to return an error to. */
static struct pgs_jump roll_back(struct pgs_thread *th,
                                 const struct pgs_switch *sw)
{
    pgs_task *from = sw->from, *to = sw->to;
    if (sw->kind != PGS_SWITCH_RESUME)
        die_switch(from, to);
    int e = errno;
    th->current = from; /* first: see pgs_yield */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pgs__set_state(to, sw->was);
    if (from && pgs__region_of(th, from)->occupant != from &&
        pgs__show(th, pgs__region_of(th, from), from) != 0)
        die_switch(from, to);
    errno = e;
    return (struct pgs_jump){ from ? from->sp : th->main_sp,
                              (void *)(intptr_t)-1 };
}

/* A yield or a finish: the resumer's stack is in place now, so the output
 * can be stored where its pgs_resume asked. */
static void deliver(const struct pgs_switch *sw)
{
    if (sw->kind != PGS_SWITCH_RESUME && sw->from->out)
        *sw->from->out = sw->out;
}

/* On the switch stack, between two contexts: carry the request out and
 * say which context to continue and what its pending switch returns. */
struct pgs_jump pgs__prepare(void *arg)
{
    const struct pgs_switch *sw = arg;
    struct pgs_thread *th = sw->th;
    leave(th, sw);
    if (sw->to && pgs__show_task(th, sw->to) != 0)
        return roll_back(th, sw);
    if (!sw->to)
        pgs__note_peak(th);
    deliver(sw);
    return (struct pgs_jump){ sw->to ? sw->to->sp : th->main_sp, sw->value };
}

/*
 * Make the switch the request *sw (pgs__switch_request) asks for.  Returns,
 * when this context is continued, the value it is handed then: for a
 * resume 0, or -1 if the task could not be shown.  Tail calls, so that
 * the context continues directly in its caller (see PGS_SWITCH_RETURN).
 */
int pgs__switch_resume(struct pgs_switch *sw)
{
    struct pgs_thread *th = sw->th;
    void **save = pgs__saved_sp(th, sw->from);
#if PGS_TRACK_SWITCHES
    /* The switch was announced before the switch stack found out whether
     * the task can be shown; if not, this context never left and the
     * sanitizers must hear that it is back (else they would go on taking
     * the thread for the task, and at its exit finish the task's fiber
     * instead of the thread's). */
    pgs_task *self = sw->from;
    pgs_track_switch(th, sw->to, 0);
    int rc = pgs__switch_via_int(save, sw, pgs__prepare, sw);
    pgs_track_arrived(th);
    if (rc != 0) {
        pgs_track_switch(th, self, 0);
        pgs_track_arrived(th);
    }
    return rc;
#else
    return pgs__switch_via_int(save, sw, pgs__prepare, sw);
#endif
}

void *pgs__switch_leave(struct pgs_switch *sw)
{
    /* Not sw->th once the switch is back: by then other work on the
     * switch stack (pgs__on_switch_stack) may have written over *sw. */
    struct pgs_thread *th = sw->th;
    PGS_SWITCH_RETURN(void *, th, sw->to, sw->kind == PGS_SWITCH_FINISH,
                      pgs__switch_via(&sw->from->sp, sw, pgs__prepare, sw));
}

/* A new task's first frame returns here (pgs__frame_init): run the task,
 * then finish, handing the resumer its result. */
void pgs__task_main(void *arg)
{
    pgs_task *t = arg;
    pgs_track_arrived(t->th);
    void *r = t->fn(t->arg);
    struct pgs_thread *th = t->th;
    th->current = t->resumer; /* first: see pgs_yield */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pgs__set_state(t, PGS_DONE);
    /* Most tasks finish on the pages they started on, with nothing to give
     * back, and their resumer shows: then t leaves its region here, and
     * a plain switch continues the resumer (whose pgs_resume returns 0). */
    pgs_task *to = t->resumer;
    if (pgs_fast((!to || pgs__region_of(th, to)->occupant == to) &&
                 pgs__release_is_plain(th, t))) {
        if (t->out)
            *t->out = r;
        pgs_track_switch(th, to, 1);
        pgs__release_finished(th, t);
        pgs__note_peak(th);
        pgs__switch(&t->sp, to ? to->sp : th->main_sp, NULL);
        __builtin_unreachable();
    }
    /* The resumer's pgs_resume returns 0. */
    struct pgs_switch *sw = pgs__switch_request(th);
    *sw = (struct pgs_switch){ .th = th, .from = t, .to = t->resumer,
                               .out = r, .kind = PGS_SWITCH_FINISH };
    pgs__switch_leave(sw);
    __builtin_unreachable();
}

/*
 * Run fn(th, arg) on the switch stack and come back: a switch from the
 * running context to itself through the switch stack.  The running
 * context's stack pointer is saved where a switch would save it, so fn may
 * evict the running task from its region, as long as it shows it again.
 */
struct pgs_call {
    void (*fn)(struct pgs_thread *, void *);
    struct pgs_thread *th;
    void *arg;
};

static struct pgs_jump call_trampoline(void *p)
{
    struct pgs_call c = *(struct pgs_call *)p; /* p may move with the region */
    c.fn(c.th, c.arg);
    pgs_task *self = c.th->current;
    return (struct pgs_jump){ self ? self->sp : c.th->main_sp, NULL };
}

void pgs__on_switch_stack(struct pgs_thread *th,
                          void (*fn)(struct pgs_thread *, void *), void *arg)
{
    struct pgs_call c = { fn, th, arg };
    pgs_task *self = th->current;
    pgs__switch_via(self ? &self->sp : &th->main_sp, &c, call_trampoline,
                    th->switch_top);
}
