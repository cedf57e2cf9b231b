/* SPDX-License-Identifier: MIT */
/*
 * The real sigaction and sigaltstack, past the library's own definitions
 * of them (interpose.c), and the lock that serialises installs of signal
 * handlers.  Every call the library makes to either function comes here.
 *
 * The real ones are found with dlsym(RTLD_NEXT).  Where the library's
 * definitions are not the ones the program calls (the library opened with
 * dlopen), that still finds libc's.  In a program linked fully statically
 * dlsym(RTLD_NEXT) finds nothing; libc's sigaction is then reached by its
 * internal name, and sigaltstack by its system call.
 */
#include "config.h"
#include <dlfcn.h>
#include <sys/syscall.h>
#include "internal.h"
#include "sys.h"

typedef int (*sigaction_fn)(int, const struct sigaction *,
                            struct sigaction *);
typedef int (*sigaltstack_fn)(const stack_t *, stack_t *);

/* libc's name for its own sigaction: there in every glibc, shared or
 * static, for the fully static link where dlsym(RTLD_NEXT) is empty. */
extern int __sigaction(int, const struct sigaction *, struct sigaction *);

static sigaction_fn real_sigaction;
static sigaltstack_fn real_sigaltstack;

static int raw_sigaltstack(const stack_t *ss, stack_t *old)
{
    return (int)syscall(SYS_sigaltstack, ss, old);
}

/* Look the real functions up once.  Normally done by the constructor
 * below, before main; a library constructor that runs earlier and
 * installs a handler gets here first, which is fine (not in a signal
 * handler: dlsym is not async-signal-safe). */
static void resolve(void)
{
    sigaction_fn sa = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    sigaltstack_fn ss = (sigaltstack_fn)dlsym(RTLD_NEXT, "sigaltstack");
    __atomic_store_n(&real_sigaltstack, ss ? ss : raw_sigaltstack,
                     __ATOMIC_RELEASE);
    __atomic_store_n(&real_sigaction, sa ? sa : __sigaction,
                     __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void resolve_early(void)
{
    resolve();
}

int pgs__real_sigaction(int sig, const struct sigaction *sa,
                        struct sigaction *old)
{
    sigaction_fn f = __atomic_load_n(&real_sigaction, __ATOMIC_ACQUIRE);
    if (pgs_slow(!f)) {
        resolve();
        f = real_sigaction;
    }
    return f(sig, sa, old);
}

int pgs__real_sigaltstack(const stack_t *ss, stack_t *old)
{
    sigaltstack_fn f = __atomic_load_n(&real_sigaltstack, __ATOMIC_ACQUIRE);
    if (pgs_slow(!f)) {
        resolve();
        f = real_sigaltstack;
    }
    return f(ss, old);
}

/*
 * Installs of handlers are serialised, so that adding SA_ONSTACK to what
 * is installed never puts back an action another thread just replaced,
 * and the SIGSEGV handler the library passes faults to changes in one
 * piece.  The lock is taken with every signal blocked, so no handler of
 * this thread can find it held; nothing inside it touches the caller's
 * memory, so no fault can either.
 */
static int sig_lock_word;

void pgs__sig_lock(sigset_t *saved)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, saved);
    while (__atomic_exchange_n(&sig_lock_word, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&sig_lock_word, __ATOMIC_RELAXED))
            pgs__cpu_relax();
}

void pgs__sig_unlock(const sigset_t *saved)
{
    __atomic_store_n(&sig_lock_word, 0, __ATOMIC_RELEASE);
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}
