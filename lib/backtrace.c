/* SPDX-License-Identifier: MIT */
/*
 * Backtraces of suspended tasks.  A suspended task's stack may be copied
 * aside or unmapped, so neither a debugger nor backtrace(3) can see it.
 * pgs_backtrace shows the task in its region for a moment (from the switch
 * stack, so that even the caller's own region can be borrowed), unwinds it
 * with libunwind from the registers its switch saved, and puts back what
 * the region showed before.
 */
#include "config.h"
#include <string.h>
#include <ucontext.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include "internal.h"

#define PGS_NAME_MAX 128
#define PGS_BT_MAX 128 /* frames a backtrace reports at most */

/* Room for the gdb helper (gdb/pagedstack-gdb.py) to receive a backtrace
 * without allocating in the process it has stopped. */
void *pgs__gdb_ips[PGS_BT_MAX] __attribute__((used));

struct walk {
    pgs_task *t;
    void **ips;
    char (*names)[PGS_NAME_MAX]; /* optional: symbol of each frame */
    unsigned long *offs;
    int max;
    int n;
    int err;
};

/* Unwind from a frame saved by the switch (asm/frame.h). */
static int unwind_frame(const struct pgs_frame *f, struct walk *w)
{
    unw_context_t ctx;
    unw_cursor_t c;
    memset(&ctx, 0, sizeof ctx);
    PGS_MCONTEXT_FROM_FRAME(ctx.uc_mcontext, f);
    if (unw_init_local(&c, &ctx) != 0)
        return 0;
    int n = 0;
    while (n < w->max) {
        unw_word_t ip, off = 0;
        if (unw_get_reg(&c, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        w->ips[n] = (void *)ip;
        if (w->names) {
            if (unw_get_proc_name(&c, w->names[n], PGS_NAME_MAX, &off) != 0)
                strcpy(w->names[n], "??");
            w->offs[n] = (unsigned long)off;
        }
        n++;
        if (unw_step(&c) <= 0)
            break;
    }
    return n;
}

/* On the switch stack.  The caller's stack may be what the region stops
 * showing while t is shown, so nothing there is touched until it shows
 * again: the request is copied in first, the results gathered here. */
static void walk_on_switch_stack(struct pgs_thread *th, void *arg)
{
    struct walk req = *(struct walk *)arg;
    void *ips[PGS_BT_MAX];
    char names[PGS_BT_MAX][PGS_NAME_MAX];
    unsigned long offs[PGS_BT_MAX];
    struct walk w = { .t = req.t, .ips = ips, .names = req.names ? names : NULL,
                      .offs = offs,
                      .max = req.max < PGS_BT_MAX ? req.max : PGS_BT_MAX };
    pgs_task *before;
    int err = 0;
    if (pgs__show_for_a_moment(th, w.t, &before) != 0)
        err = errno;
    else {
        w.n = unwind_frame(w.t->sp, &w);
        pgs__show_again(th, w.t, before);
    }
    /* The caller's stack shows again. */
    struct walk *out = arg;
    out->err = err;
    out->n = w.n;
    memcpy(req.ips, ips, (size_t)w.n * sizeof ips[0]);
    if (req.names) {
        memcpy(req.names, names, (size_t)w.n * sizeof names[0]);
        memcpy(req.offs, offs, (size_t)w.n * sizeof offs[0]);
    }
}

static int backtrace_walk(struct walk *w)
{
    pgs_task *t = w->t;
    if (!t || !w->ips || w->max < 0) {
        errno = EINVAL;
        return -1;
    }
    struct pgs_thread *th = pgs__tls;
    if (!th || t->th != th) {
        errno = EPERM;
        return -1;
    }
    if (t == th->current) {
        errno = EBUSY; /* running: backtrace(3) sees it */
        return -1;
    }
    if (!t->sp || t->state == PGS_DONE || w->max == 0)
        return 0; /* never ran, or finished: no frames */
    pgs__on_switch_stack(th, walk_on_switch_stack, w);
    if (w->err) {
        errno = w->err;
        return -1;
    }
    return w->n;
}

PGS_EXPORT int pgs_backtrace(pgs_task *t, void **ips, int max)
{
    struct walk w = { .t = t, .ips = ips, .max = max };
    return backtrace_walk(&w);
}

PGS_EXPORT int pgs_backtrace_print(pgs_task *t, FILE *f)
{
    static const char *const states[] = { "created", "running", "suspended",
                                          "done" };
    /* Frames printed; one more is unwound to know whether the chain was
     * cut, and a cut chain says so on a last line. */
    enum { MAX = 64 };
    void *ips[MAX + 1];
    char names[MAX + 1][PGS_NAME_MAX];
    unsigned long offs[MAX + 1];
    if (!f) {
        errno = EINVAL;
        return -1;
    }
    struct walk w = { .t = t, .ips = ips, .names = names, .offs = offs,
                      .max = MAX + 1 };
    int n = backtrace_walk(&w);
    if (n < 0)
        return -1;
    fprintf(f, "task %p \"%s\" (%s, %zu bytes of stack):\n", (void *)t,
            t->name, states[t->state], pgs_task_stack_bytes(t));
    int shown = n > MAX ? MAX : n;
    for (int i = 0; i < shown; i++)
        fprintf(f, "  #%d %p %s+0x%lx\n", i, ips[i], names[i], offs[i]);
    if (n > MAX)
        fprintf(f, "  ... more frames not printed (at most %d are)\n", MAX);
    return shown;
}
