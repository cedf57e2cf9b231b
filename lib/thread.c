/* SPDX-License-Identifier: MIT */
/*
 * Per-thread setup and teardown: the regions, the pool, the alternate
 * signal stack (the fault handler runs there, because the faulting stack is
 * by definition not mapped) and the switch stack (remaps run there, never
 * on the region being remapped).
 */
#include "config.h"
#include <pthread.h>
#include <string.h>
#include "internal.h"
#include "sys.h"
#include "track.h"

__thread struct pgs_thread *pgs__tls
    __attribute__((tls_model("initial-exec")));

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static int exit_key_err;

static void thread_release(struct pgs_thread *th);

/* At thread exit: release what the thread held.  Its tasks, if any are
 * left, lose their stacks; they become orphans that can only be destroyed
 * (pgs_resume says EPERM). */
static void thread_exit(void *arg)
{
    struct pgs_thread *th = arg;
    for (pgs_task *t = th->list; t; t = t->next) {
        __atomic_store_n(&t->th, NULL, __ATOMIC_RELAXED); /* see stats.c */
        t->home = PGS_HOME_NONE;
        t->pages = 0;
        free(t->buf);
        t->buf = NULL;
        t->bufcap = t->buflen = 0;
    }
    thread_release(th);
}

static void exit_key_create(void)
{
    exit_key_err = pthread_key_create(&exit_key, thread_exit);
}

/* The alternate signal stack and the switch stack share one mapping:
 *   [guard][alternate signal stack][guard][switch stack]
 * Keep a user's alternate stack if it is already large enough. */
static int stacks_create(struct pgs_thread *th)
{
    size_t g = PGS_PAGE, alt_len = th->sigstack_size;
    th->stacks_len = g + alt_len + g + PGS_SWITCH_STACK_SIZE;
    th->stacks = pgs__mmap(NULL, th->stacks_len, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (th->stacks == MAP_FAILED) {
        th->stacks = NULL;
        return -1;
    }
    char *alt = th->stacks + g;
    char *sw = alt + alt_len + g;
    if (pgs__mprotect(alt, alt_len, PROT_READ | PROT_WRITE) != 0 ||
        pgs__mprotect(sw, PGS_SWITCH_STACK_SIZE, PROT_READ | PROT_WRITE) != 0)
        return -1;
    th->switch_top = sw + PGS_SWITCH_STACK_SIZE;

    stack_t cur;
    if (pgs__sigaltstack(NULL, &cur) != 0)
        return -1;
    th->old_altstack = cur;
    if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= alt_len)
        return 0;
    stack_t ss = { .ss_sp = alt, .ss_size = alt_len, .ss_flags = 0 };
    if (pgs__sigaltstack(&ss, NULL) != 0)
        return -1;
    th->own_altstack = 1;
    return 0;
}

static void stacks_destroy(struct pgs_thread *th)
{
    if (th->own_altstack) {
        /* Put back what the thread had; if it had none, disable ours. */
        stack_t old = th->old_altstack;
        if (old.ss_flags & SS_DISABLE)
            old = (stack_t){ .ss_flags = SS_DISABLE };
        pgs__real_sigaltstack(&old, NULL);
        th->own_altstack = 0;
    }
    if (th->stacks)
        munmap(th->stacks, th->stacks_len);
    th->stacks = NULL;
}

/* The descriptors of destroyed tasks kept for reuse (task.c). */
static void spares_free(struct pgs_thread *th)
{
    while (th->spare) {
        pgs_task *t = th->spare;
        pgs_track_spare_take(t);
        th->spare = t->next;
        free(t);
    }
    th->nspare = 0;
}

static void thread_release(struct pgs_thread *th)
{
    if (pgs__tls == th)
        pgs__tls = NULL;
    pgs__fork_unlink(th);
    pgs_track_thread_fini(th);
    spares_free(th);
    pgs__regions_release(th);
    pgs__pool_close(th);
    stacks_destroy(th);
    free(th);
}

/* The default number of regions is a cache size, not a promise: where the
 * address space is limited (RLIMIT_AS), take half as many as fit, leaving
 * the rest to the program, rather than fail.  A configured number is
 * taken exactly or not at all. */
static int regions_reserve(struct pgs_thread *th, unsigned configured)
{
    int shrunk = 0;
    while (pgs__regions_reserve(th) != 0) {
        if (configured || th->nregions == 1)
            return -1;
        th->nregions /= 2;
        shrunk = 1;
    }
    if (!shrunk || th->nregions == 1)
        return 0;
    pgs__regions_release(th);
    th->nregions /= 2;
    return pgs__regions_reserve(th);
}

static int config_check(const struct pgs_config *c)
{
    if (c->stack_size &&
        (c->stack_size < PGS_MIN_STACK || c->stack_size > PGS_MAX_STACK))
        return -1;
    if (c->regions > PGS_MAX_REGIONS)
        return -1;
    if (c->max_stack_bytes && c->max_stack_bytes < PGS_PAGE)
        return -1;
    if (c->signal_stack_size && (c->signal_stack_size < PGS_SIGSTACK_MIN ||
                                 c->signal_stack_size > PGS_SIGSTACK_MAX))
        return -1;
    return 0;
}

static int sigsegv_blocked(void)
{
    sigset_t s;
    return pgs__sigmask_get(&s) == 0 &&
           sigismember(&s, SIGSEGV) == 1;
}

/* Stack growth needs our SIGSEGV handler and SIGSEGV unblocked: say EPERM
 * if either is not so. */
int pgs__thread_unsafe(void)
{
    if (sigsegv_blocked() || !pgs__handler_ours()) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

PGS_EXPORT int pgs_thread_init(const struct pgs_config *cfg)
{
    static const struct pgs_config defaults;
    if (pgs__tls) {
        errno = EBUSY;
        return -1;
    }
    if (!cfg)
        cfg = &defaults;
    pgs__page_init();
    if (config_check(cfg) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (sigsegv_blocked()) {
        errno = EPERM;
        return -1;
    }
    pthread_once(&exit_key_once, exit_key_create);
    if (exit_key_err) {
        errno = ENOMEM;
        return -1;
    }
    if (pgs__process_init() != 0) {
        errno = EPERM;
        return -1;
    }

    struct pgs_thread *th = pgs__malloc(sizeof *th);
    if (!th)
        return -1;
    memset(th, 0, sizeof *th);
    th->fd = -1;
    th->size = pgs__round_up(cfg->stack_size ? cfg->stack_size
                                             : PGS_DEFAULT_STACK, PGS_PAGE);
    th->region_pages = th->size >> PGS_PAGE_SHIFT;
    th->nregions = cfg->regions ? cfg->regions : PGS_DEFAULT_REGIONS;
    th->cap_bytes = cfg->max_stack_bytes;
    th->sigstack_size = pgs__round_up(cfg->signal_stack_size
                                          ? cfg->signal_stack_size
                                          : PGS_SIGSTACK_DEFAULT, PGS_PAGE);
    th->copy_max = PGS_COPY_MAX;
    th->fast_scan = pgs__fast_scan();
    /* Every signal handler of a thread that runs tasks runs on its
     * alternate signal stack (the library adds SA_ONSTACK to each), so no
     * signal frame is ever written below a task's stack pointer: a task
     * needs only the red zone mapped below it.  Every switch through a
     * shared region scans what lies below the incoming task's stack
     * pointer, so this is kept to the minimum. */
    th->headroom = PGS_REDZONE;
    /* But a handler installed behind the library's back (through a direct
     * reference to libc's sigaction) still pushes its frame on the task's
     * stack; when the kernel finds no room for it, the fault handler maps
     * this much below the stack pointer (fault.c). */
    long sigstk = sysconf(_SC_SIGSTKSZ);
    th->sigframe = (size_t)(sigstk > 0 ? sigstk : SIGSTKSZ) + PGS_REDZONE;
#if defined(__SANITIZE_ADDRESS__)
    /* Under AddressSanitizer every frame carries redzones, and the
     * library's own switch path (pgs_yield and the sanitizer's fiber
     * hooks) runs on the task's stack with several times its native
     * frames: keep the room such a frame needs mapped below the stack
     * pointer, so that a switch never grows the stack it leaves. */
    th->headroom = th->sigframe;
#endif
    /* What a task needs to start: pgs__frame_init's frame and the headroom
     * below it, and a page for rounding. */
    th->start_bytes = pgs__round_up(PGS_FIRST_FRAME_GAP + th->headroom,
                                    PGS_PAGE) + PGS_PAGE;
    /* A cap must hold one task's first pages and the room kept to switch
     * it back in (pgs_create's test for the first task); a smaller one
     * would accept the thread and then refuse every create. */
    if (th->cap_bytes && th->cap_bytes < 2 * th->start_bytes) {
        free(th);
        errno = EINVAL;
        return -1;
    }

    if (pgs__pool_open(th) != 0 || regions_reserve(th, cfg->regions) != 0 ||
        stacks_create(th) != 0 || pthread_setspecific(exit_key, th) != 0) {
        /* Whatever refused (memory, descriptors, address space), the
         * thread cannot get the resources it needs: ENOMEM. */
        thread_release(th);
        errno = ENOMEM;
        return -1;
    }
    pgs_track_thread_init(th);
    pgs__fork_link(th);
    pgs__tls = th;
    return 0;
}

PGS_EXPORT int pgs_thread_fini(void)
{
    struct pgs_thread *th = pgs__tls;
    if (!th) {
        errno = EPERM;
        return -1;
    }
    if (th->tasks || th->current) {
        errno = EBUSY;
        return -1;
    }
    pthread_setspecific(exit_key, NULL);
    thread_release(th);
    return 0;
}

struct pgs_thread *pgs__thread_get(void)
{
    if (pgs_fast(pgs__tls))
        return pgs__tls;
    if (pgs_thread_init(NULL) != 0)
        return NULL;
    return pgs__tls;
}
