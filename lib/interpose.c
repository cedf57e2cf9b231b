/* SPDX-License-Identifier: MIT */
/*
 * The program's signal functions, interposed: every handler installed in
 * the process runs on the thread's alternate signal stack.
 *
 * A handler that runs on a task's stack needs its frame written below the
 * task's stack pointer, and a task can always reach the bottom of what is
 * mapped without faulting: a signal arriving then cannot be delivered (the
 * kernel turns it into a SIGSEGV with si_code SI_KERNEL) and is lost.  So,
 * as the JVM's signal-chaining library does, the library defines
 * sigaction, signal, bsd_signal, sysv_signal, sigset and sigaltstack
 * itself, calls the real ones (realsig.c), and adds SA_ONSTACK to every
 * handler.  Handlers installed before the library (or
 * past it) get SA_ONSTACK when its fault handler is installed
 * (pgs__onstack_all).  The program never sees the flag it did not ask
 * for: oldact reports the action as the program gave it.
 *
 * For SIGSEGV, once the library's fault handler is installed, a new
 * handler does not replace it: it becomes the handler faults that are not
 * stack growth are passed to (fault.c), and oldact reports the handler
 * that was there before it, never the library's own.
 *
 * sigaltstack: a thread that runs tasks keeps an alternate stack of at
 * least its configured size; disabling it or installing a smaller one is
 * refused with EPERM and a message.
 *
 * Where these definitions are not the ones the program calls (the
 * library opened with dlopen after the program bound its own calls), the
 * library still works: pgs_create's periodic check notices a SIGSEGV
 * handler that replaced its own.
 */
#include "config.h"
#include <string.h>
#include "internal.h"
#include "sys.h"

#define PGS_INTERPOSE __attribute__((visibility("default")))

/* Signals whose handler got SA_ONSTACK from us (bit n for signal n). */
static uint64_t onstack_added;

static int is_handler(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) ||
           (sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN);
}

/* Install act for sig (under the lock) with SA_ONSTACK added; old gets
 * the previous action as the program gave it. */
static int install_onstack(int sig, const struct sigaction *act,
                           struct sigaction *old)
{
    uint64_t bit = (uint64_t)1 << (sig - 1);
    struct sigaction use;
    int added = 0;
    if (act) {
        use = *act;
        if (is_handler(act) && !(act->sa_flags & SA_ONSTACK)) {
            use.sa_flags |= SA_ONSTACK;
            added = 1;
        }
    }
    int r = pgs__real_sigaction(sig, act ? &use : NULL, old);
    if (r != 0)
        return r;
    if (old && (onstack_added & bit))
        old->sa_flags &= ~SA_ONSTACK;
    if (act)
        onstack_added = added ? onstack_added | bit : onstack_added & ~bit;
    return 0;
}

/* An action read from the kernel, as the program gave it (the caller
 * holds the lock). */
void pgs__onstack_strip(int sig, struct sigaction *sa)
{
    if (onstack_added & ((uint64_t)1 << (sig - 1)))
        sa->sa_flags &= ~SA_ONSTACK;
}

/* Give every handler installed so far SA_ONSTACK (the caller holds the
 * lock).  SIGSEGV is the library's own. */
void pgs__onstack_all(void)
{
    for (int sig = 1; sig < NSIG && sig <= 64; sig++) {
        struct sigaction cur;
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV ||
            pgs__sigaction_get(sig, &cur) != 0)
            continue; /* (libc's own signals say EINVAL) */
        if (is_handler(&cur) && !(cur.sa_flags & SA_ONSTACK))
            install_onstack(sig, &cur, NULL);
    }
}

PGS_INTERPOSE int sigaction(int sig, const struct sigaction *act,
                            struct sigaction *oldact)
{
    if (sig <= 0 || sig > 64)
        return pgs__real_sigaction(sig, act, oldact);
    /* The caller's memory is read and written outside the lock. */
    struct sigaction in, out;
    if (act)
        in = *act;
    sigset_t saved;
    pgs__sig_lock(&saved);
    int r = 0;
    if (sig == SIGSEGV && pgs__chain_active())
        pgs__chain_swap(act ? &in : NULL, &out);
    else
        r = install_onstack(sig, act ? &in : NULL, &out);
    pgs__sig_unlock(&saved);
    if (r == 0 && oldact)
        *oldact = out;
    return r;
}

/* signal() as glibc defines it (BSD semantics: the handler stays, the
 * signal is blocked while it runs, system calls restart). */
static sighandler_t install_simple(int sig, sighandler_t h, int flags,
                                   int block_self)
{
    if (h == SIG_ERR || sig <= 0 || sig >= NSIG) {
        errno = EINVAL;
        return SIG_ERR;
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    if (block_self)
        sigaddset(&sa.sa_mask, sig);
    sa.sa_flags = flags;
    if (sigaction(sig, &sa, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

PGS_INTERPOSE sighandler_t signal(int sig, sighandler_t h)
{
    return install_simple(sig, h, SA_RESTART, 1);
}

/* (Declared by <signal.h> only for X/Open.) */
sighandler_t bsd_signal(int sig, sighandler_t h);

PGS_INTERPOSE sighandler_t bsd_signal(int sig, sighandler_t h)
{
    return install_simple(sig, h, SA_RESTART, 1);
}

/* System V semantics: one delivery, then the default; not blocked while
 * the handler runs.  (What signal() is under strict ISO C compilation.) */
PGS_INTERPOSE sighandler_t sysv_signal(int sig, sighandler_t h)
{
    return install_simple(sig, h, SA_RESETHAND | SA_NODEFER, 0);
}

PGS_INTERPOSE sighandler_t __sysv_signal(int sig, sighandler_t h)
{
    return install_simple(sig, h, SA_RESETHAND | SA_NODEFER, 0);
}

/* sigset(3) as glibc defines it, with SIG_HOLD. */
PGS_INTERPOSE sighandler_t sigset(int sig, sighandler_t disp)
{
    if (sig <= 0 || sig >= NSIG) {
        errno = EINVAL;
        return SIG_ERR;
    }
    sigset_t one, was;
    sigemptyset(&one);
    sigaddset(&one, sig);
    struct sigaction old;
    if (disp == SIG_HOLD) {
        if (sigprocmask(SIG_BLOCK, &one, &was) != 0)
            return SIG_ERR;
        if (sigismember(&was, sig))
            return SIG_HOLD;
        if (sigaction(sig, NULL, &old) != 0)
            return SIG_ERR;
        return old.sa_handler;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = disp;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old) != 0 ||
        sigprocmask(SIG_UNBLOCK, &one, &was) != 0)
        return SIG_ERR;
    return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
}

PGS_INTERPOSE int sigaltstack(const stack_t *ss, stack_t *old)
{
    struct pgs_thread *th = pgs__tls;
    if (ss && th) {
        stack_t in = *ss;
        if ((in.ss_flags & SS_DISABLE) || in.ss_size < th->sigstack_size) {
            struct pgs_msg m = { .len = 0 };
            pgs__msg_str(&m, "pagedstack: sigaltstack refused: this thread "
                             "runs tasks, and every signal handler runs on "
                             "its alternate signal stack, which must stay "
                             "at least ");
            pgs__msg_dec(&m, th->sigstack_size);
            pgs__msg_str(&m, " bytes\n");
            pgs__msg_emit(&m);
            errno = EPERM;
            return -1;
        }
        int r = pgs__real_sigaltstack(&in, old);
        if (r == 0)
            th->own_altstack = 0; /* the program's now: leave it there */
        return r;
    }
    return pgs__real_sigaltstack(ss, old);
}
