/* SPDX-License-Identifier: MIT */
/*
 * The SIGSEGV handler: grows the running task, reports overflow and
 * exhaustion, and passes every other fault on unchanged.
 *
 * A fault is ours only when the kernel raised it (si_code > 0) inside the
 * calling thread's regions while one of its tasks runs (or is switching
 * out: see on_stack).  Everything else goes to the program's handler
 * (chain.c: the one installed before the library, or the latest one the
 * program installed since), or, if that is the default, kills the process
 * exactly as it would have died without us.  A fault that is ours but
 * fatal (overflow, exhaustion) is reported, given to the program's
 * handler too, and the process dies by SIGSEGV.
 *
 * Runs on the thread's alternate signal stack and must stay
 * async-signal-safe: no malloc, no stdio, no locks; errno is preserved.
 */
#include "config.h"
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include "internal.h"
#include "sys.h"
#include "track.h"
#include "valgrind.h"

static void on_segv(int sig, siginfo_t *si, void *uc);

/* The signals that the handler's own work can raise: they cannot wait. */
static const int synchronous[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP,
                                   SIGSYS };

/* Install the handler (once per process: process.c). */
int pgs__handler_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    /* Every other signal waits while the handler works: a handler that
     * interrupted it and left with siglongjmp would leave a grow half
     * done.  SA_NODEFER: a fault inside the handler itself must reach it
     * again (to be reported), not kill the process silently. */
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof synchronous / sizeof synchronous[0]; i++)
        sigdelset(&sa.sa_mask, synchronous[i]);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    struct sigaction old;
    sigset_t saved;
    pgs__sig_lock(&saved);
    /* The handler to pass faults to is published before ours is
     * installed: a fault in another thread at that moment finds it. */
    int r = pgs__sigaction_get(SIGSEGV, &old);
    if (r == 0) {
        pgs__onstack_strip(SIGSEGV, &old);
        pgs__chain_write(&old);
        r = pgs__sigaction(SIGSEGV, &sa, NULL);
    }
    if (r == 0) {
        pgs__chain_activate();
        /* Handlers installed before the library run on the alternate
         * signal stack from now on, as every later one will. */
        pgs__onstack_all();
    }
    int e = errno;
    pgs__sig_unlock(&saved);
    errno = e;
    return r;
}

/* Whether the installed SIGSEGV handler is still ours. */
int pgs__handler_ours(void)
{
    struct sigaction cur;
    if (pgs__sigaction_get(SIGSEGV, &cur) != 0)
        return 0;
    return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv;
}

static void set_default(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    pgs__real_sigaction(sig, &dfl, NULL);
}

/* Whether sa is a function to call (not SIG_DFL or SIG_IGN). */
static int is_function(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) ||
           (sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN);
}

/* Call handler p as the kernel would have: with the interrupted code's
 * mask, p's own sa_mask, and sig unless SA_NODEFER; then put back the
 * fault handler's. */
static void call(const struct sigaction *p, int sig, siginfo_t *si,
                 ucontext_t *uc)
{
    sigset_t mask = uc->uc_sigmask, saved;
    sigorset(&mask, &mask, &p->sa_mask);
    if (!(p->sa_flags & SA_NODEFER))
        sigaddset(&mask, sig);
    pthread_sigmask(SIG_SETMASK, &mask, &saved);
    if (p->sa_flags & SA_SIGINFO)
        p->sa_sigaction(sig, si, uc);
    else
        p->sa_handler(sig);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/*
 * Hand a fault that is not ours to whoever would have had it.  For the
 * default action: restore it and let the faulting instruction run again,
 * so the process dies by SIGSEGV with a core as if we were not there; a
 * signal that some process sent is sent again, with its original siginfo.
 */
static void pass_on(int sig, siginfo_t *si, ucontext_t *uc)
{
    struct sigaction p;
    unsigned long gen = pgs__chain_read(&p);
    if (!is_function(&p)) {
        if (p.sa_handler == SIG_IGN && si->si_code <= 0)
            return; /* a sent SIGSEGV that the program ignores */
        set_default(sig);
        if (si->si_code <= 0)
            syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid),
                    sig, si);
        return;
    }
    if (p.sa_flags & SA_RESETHAND)
        pgs__chain_reset(gen); /* one delivery, then the default */
    call(&p, sig, si, uc);
}

/* A fault we own but cannot serve: after the report, the handler faults
 * are passed to gets it too (a crash reporter writes its dump), then the
 * process dies by SIGSEGV, whether or not the instruction would fault
 * again (it would not after an SI_KERNEL fault: the lost signal frame). */
static void fatal(struct pgs_msg *m, siginfo_t *si, ucontext_t *uc)
{
    pgs__msg_emit(m);
    pgs__backtrace_ucontext(uc);
    struct sigaction p;
    pgs__chain_read(&p);
    if (is_function(&p))
        call(&p, SIGSEGV, si, uc);
    pgs__die_by_segv();
}

static void report(const char *what, const pgs_task *t, uintptr_t addr,
                   const char *limit, uint64_t limit_bytes, siginfo_t *si,
                   ucontext_t *uc)
{
    struct pgs_msg m = { .len = 0 };
    pgs__msg_str(&m, "pagedstack: ");
    pgs__msg_str(&m, what);
    pgs__msg_str(&m, " in task ");
    pgs__msg_task(&m, t);
    pgs__msg_str(&m, " at address ");
    pgs__msg_hex(&m, addr);
    pgs__msg_str(&m, ": ");
    pgs__msg_str(&m, limit);
    if (limit_bytes) {
        pgs__msg_str(&m, " ");
        pgs__msg_dec(&m, limit_bytes);
        pgs__msg_str(&m, " bytes");
    }
    if (t && t->th) {
        pgs__msg_str(&m, " (task holds ");
        pgs__msg_dec(&m, pgs__region_of(t->th, t)->mapped);
        pgs__msg_str(&m, " pages)");
    }
    pgs__msg_str(&m, "\n");
    fatal(&m, si, uc);
}

/*
 * Give the running task t the top `need` pages of its region (it has
 * fewer).  Grows by doubling, up to PGS_GROW_MAX_PAGES at once, so that
 * reaching depth D takes O(log D) faults.  Returns 1 when the task can go
 * on, 0 after a fatal report.
 */
static int grow(struct pgs_thread *th, pgs_task *t, size_t need,
                uintptr_t addr, siginfo_t *si, ucontext_t *uc)
{
    struct pgs_region *r = pgs__region_of(th, t);
    pgs_assert(r->occupant == t, "a task grows in the region that shows it");
    size_t have = r->mapped;
    size_t want = have + (have < PGS_GROW_MAX_PAGES ? have : PGS_GROW_MAX_PAGES);
    if (want < need)
        want = need;
    if (want > th->region_pages)
        want = th->region_pages;
    /* If the cap leaves room for what is needed but not for doubling,
     * take what is needed. */
    if (pgs__held_bytes(th) + (want - have) * PGS_PAGE >
        pgs__limit(th, pgs__margin(th, th->tasks)))
        want = need;

    int over_cap;
    if (pgs__region_grow(th, r, want, &over_cap) != 0) {
        if (over_cap)
            report("stack memory exhausted", t, addr,
                   "the thread's max_stack_bytes is", th->cap_bytes, si, uc);
        /* (less the room kept for switching: see pgs_thread_init) */
        else
            report("stack memory exhausted", t, addr,
                   "the system refused memory for stack pages", 0, si, uc);
        return 0;
    }
    pgs_assert(r->mapped >= need, "a grown task's pages cover its stack");
    if (r->mapped > t->peak_pages)
        t->peak_pages = r->mapped;
    pgs__note_peak(th);
    th->faults++;
    return 1;
}

/*
 * The task whose stack the interrupted code runs on, or NULL.  Normally the
 * running task; but a switch names the incoming context as current before
 * the outgoing one has saved its registers (so that a signal handler never
 * sees a task that is not running as pgs_self), and the last pushes of the
 * outgoing task (the switch's frame, a sanitizer's switch hook) may still
 * grow its stack.  A stack pointer inside a region means the code runs on
 * the stack that region shows.
 */
static pgs_task *on_stack(struct pgs_thread *th, uintptr_t rsp)
{
    uintptr_t lo = (uintptr_t)th->reserve;
    if (rsp >= lo && rsp < lo + th->reserve_len) {
        /* Regions lie at a fixed stride, each above its guard. */
        uintptr_t stride = (uintptr_t)th->regions[0].top - lo;
        struct pgs_region *r = &th->regions[(rsp - lo) / stride];
        if (rsp >= (uintptr_t)r->base && r->occupant)
            return r->occupant;
    }
    return th->current;
}

/* Returns 1 if the fault was ours and the task can go on, 0 if it is not
 * ours.  Ours but fatal: reports, and the process dies (fatal). */
static int serve(struct pgs_thread *th, pgs_task *t, siginfo_t *si,
                 ucontext_t *uc)
{
    struct pgs_region *r = pgs__region_of(th, t);
    uintptr_t base = (uintptr_t)r->base, top = (uintptr_t)r->top;
    uintptr_t rsp = pgs__uc_sp(uc);
    uintptr_t addr = (uintptr_t)si->si_addr;
    int rsp_in = rsp >= base && rsp < top;

    if (si->si_code == SI_KERNEL) {
        /* The kernel could not push a signal frame below rsp (or this is a
         * general-protection fault, which looks the same).  Mapping room
         * for a frame below rsp fixes the first; if it is already mapped,
         * the fault is not ours. */
        if (!rsp_in)
            return 0;
        size_t need = pgs__cover(r, rsp - th->sigframe);
        if (need <= r->mapped)
            return 0;
        grow(th, t, need, rsp, si, uc);
        return 1;
    }

    if (addr >= base - th->guard && addr < base) {
        report("stack overflow", t, addr, "every task's stack is limited to",
               th->size, si, uc);
        return 1;
    }
    if (addr < (uintptr_t)th->reserve ||
        addr >= (uintptr_t)th->reserve + th->reserve_len)
        return 0; /* outside this thread's regions */
    if (addr < base || addr >= top) {
        report("access to another region", t, addr,
               "a task may only use its own stack, and this address is in "
               "another region of the thread",
               0, si, uc);
        return 1;
    }
    if (addr >= top - r->mapped * PGS_PAGE)
        return 0; /* already mapped: growth cannot be the answer */
    if (rsp_in && addr + PGS_REDZONE + PGS_STRAY_SLACK < rsp) {
        report("access far below the stack pointer", t, addr,
               "not stack growth: a pointer into another task's stack?",
               0, si, uc);
        return 1;
    }
    uintptr_t low = addr;
    if (rsp_in && rsp - PGS_REDZONE < low)
        low = rsp - PGS_REDZONE;
    size_t need = pgs__cover(r, low > base + th->headroom
                                    ? low - th->headroom : base);
    if (grow(th, t, need, addr, si, uc))
        pgs__vg_fault_served(uc, addr);
    return 1;
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    struct pgs_thread *th = pgs__tls;
    if (th && th->in_handler) {
        /* A fault while serving a fault: never loop. */
        struct pgs_msg m = { .len = 0 };
        pgs__msg_str(&m, "pagedstack: fault at ");
        pgs__msg_hex(&m, (uintptr_t)si->si_addr);
        pgs__msg_str(&m, " inside the stack fault handler; giving up\n");
        pgs__msg_emit(&m);
        pgs__die_by_segv();
    }
    if (th && si->si_code > 0 && th->stacks) {
        /* The guard pages of the library's own stacks: the alternate
         * signal stack (a handler that used it all) or the switch stack (a
         * signal handler without SA_ONSTACK that arrived during a remap
         * and used more than it has). */
        uintptr_t a = (uintptr_t)si->si_addr, s = (uintptr_t)th->stacks;
        uintptr_t sw_guard = s + PGS_PAGE + th->sigstack_size;
        if ((a >= s && a < s + PGS_PAGE) ||
            (a >= sw_guard && a < sw_guard + PGS_PAGE)) {
            struct pgs_msg m = { .len = 0 };
            pgs__msg_str(&m, "pagedstack: overflow of the library's ");
            pgs__msg_str(&m, a < sw_guard ? "alternate signal stack ("
                                          : "switch stack (");
            pgs__msg_dec(&m, a < sw_guard ? th->sigstack_size
                                          : PGS_SWITCH_STACK_SIZE);
            pgs__msg_str(&m, " bytes: a signal handler used more) at "
                             "address ");
            pgs__msg_hex(&m, a);
            pgs__msg_str(&m, "\n");
            pgs__msg_emit(&m);
            pgs__die_by_segv();
        }
    }
    ucontext_t *uc = ucv;
    pgs_task *t = NULL;
    if (th && si->si_code > 0)
        t = on_stack(th, pgs__uc_sp(uc));
    if (t) {
        th->in_handler = 1;
        int ours = serve(th, t, si, uc);
        th->in_handler = 0;
        pgs_track_fault_done(th);
        if (ours) {
            errno = saved_errno;
            return;
        }
    }
    pass_on(sig, si, uc);
    errno = saved_errno;
}
