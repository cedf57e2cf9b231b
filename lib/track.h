/* SPDX-License-Identifier: MIT */
/*
 * Telling sanitizers and valgrind about stacks.  Every hook is empty in a
 * normal build; the switch code calls them without conditionals of its own.
 *
 * AddressSanitizer (built with -fsanitize=address): every switch is
 * announced with __sanitizer_start_switch_fiber / _finish_switch_fiber, and
 * a region's shadow is cleared whenever it starts showing another task: the
 * previous occupant's frames left poisoned redzones at addresses where the
 * incoming task has live data.  Only the pages anyone could have poisoned
 * are cleared (the region's `shadow`, at least all it mapped since the last
 * reset), so the cost follows the live stacks, not the region's size.  A
 * program built with AddressSanitizer against this library built without
 * it needs the shadow cleared too (its frames poison redzones that the
 * library's copies and the next task would trip on): the library finds
 * ASan's runtime at run time, through a weak reference.
 *
 * ThreadSanitizer (-fsanitize=thread): every task is a TSan fiber, and the
 * switch to it is announced just before it happens.
 *
 * Valgrind: each region and the switch stack are registered as stacks, so
 * that every move of the stack pointer between them is taken as a stack
 * switch rather than a huge push or pop.  (Tasks of one region never switch
 * directly: they pass through the switch stack.)  What memcheck believes
 * about a region's bytes belongs to whichever task last ran there, so when
 * the region shows another task its mapped part is declared defined: every
 * byte of it is the task's stack or cleared.  The requests are built in
 * whenever valgrind's header was found; those made on every create, show
 * and destroy run only when valgrind runs the process, since each costs a
 * few cycles even natively (PGS_VG).
 */
#ifndef PGS_TRACK_H
#define PGS_TRACK_H

#include <pthread.h>
#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define PGS_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#else
/* Defined when the program was built with AddressSanitizer (its runtime is
 * loaded), NULL otherwise. */
extern void __asan_unpoison_memory_region(void const volatile *addr,
                                          size_t size)
    __attribute__((weak));
#endif
#if defined(__SANITIZE_THREAD__)
#define PGS_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif
#if defined(HAVE_VALGRIND_VALGRIND_H)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#include "valgrind.h"
/* The requests of the switch path, made only under valgrind (see
 * pgs__valgrind). */
#define PGS_VG(requests)                                                     \
    do {                                                                     \
        if (pgs_slow(pgs__valgrind)) {                                       \
            requests;                                                        \
        }                                                                    \
    } while (0)
#endif

/* Switches must run code after they return (the sanitizers' "finish"),
 * so resume and yield cannot tail-call the switch. */
#if defined(PGS_ASAN) || defined(PGS_TSAN)
#define PGS_TRACK_SWITCHES 1
#else
#define PGS_TRACK_SWITCHES 0
#endif

/*
 * Return what a switch hands back.  Normally a tail call, so that the
 * context continues directly in its caller; the sanitizers need to hear
 * when a switch has arrived, so their builds call and then return.
 */
#if PGS_TRACK_SWITCHES
#define PGS_SWITCH_RETURN(type, th, to, leaving, call)                       \
    do {                                                                     \
        pgs_track_switch((th), (to), (leaving));                             \
        type v_ = (call);                                                    \
        pgs_track_arrived(th);                                               \
        return v_;                                                           \
    } while (0)
#else
#define PGS_SWITCH_RETURN(type, th, to, leaving, call)                       \
    do {                                                                     \
        (void)(th); /* for the hooks only */                                 \
        return (call);                                                       \
    } while (0)
#endif

/* Descriptors of destroyed tasks a thread keeps for its next creates.
 * None under AddressSanitizer: a destroyed task's descriptor is freed at
 * once, so that its use is caught. */
#ifdef PGS_ASAN
#define PGS_SPARE_TASKS 0u
#else
#define PGS_SPARE_TASKS 64u
#endif

/* A destroyed task's descriptor goes to the spare list, where valgrind is
 * told that no one may touch it but for the link to the next (which its
 * leak check follows) and its state (which tells pgs_destroy and
 * pgs_resume that it was destroyed), or is taken from it (as from malloc:
 * undefined). */
static inline void pgs_track_spare_put(pgs_task *t)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
    PGS_VG(VALGRIND_MAKE_MEM_NOACCESS(t, sizeof *t);
           VALGRIND_MAKE_MEM_DEFINED(&t->next, sizeof t->next);
           VALGRIND_MAKE_MEM_DEFINED(&t->state, sizeof t->state));
#endif
    (void)t;
}

static inline void pgs_track_spare_take(pgs_task *t)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
    PGS_VG(VALGRIND_MAKE_MEM_UNDEFINED(t, sizeof *t);
           VALGRIND_MAKE_MEM_DEFINED(&t->next, sizeof t->next));
#endif
    (void)t;
}

static inline void pgs_track_thread_init(struct pgs_thread *th)
{
#ifdef PGS_TSAN
    th->fiber = __tsan_get_current_fiber();
#endif
#ifdef PGS_ASAN
    /* The thread's own stack, for switches back to it. */
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstack(&a, &th->main_bottom, &th->main_size);
        pthread_attr_destroy(&a);
    }
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
    for (unsigned i = 0; i < th->nregions; i++)
        th->regions[i].vg_stack = VALGRIND_STACK_REGISTER(
            th->regions[i].base, th->regions[i].top);
    th->vg_switch_stack = VALGRIND_STACK_REGISTER(
        th->switch_top - PGS_SWITCH_STACK_SIZE, th->switch_top);
#endif
    (void)th;
}

static inline void pgs_track_thread_fini(struct pgs_thread *th)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
    if (th->regions)
        for (unsigned i = 0; i < th->nregions; i++)
            VALGRIND_STACK_DEREGISTER(th->regions[i].vg_stack);
    if (th->switch_top)
        VALGRIND_STACK_DEREGISTER(th->vg_switch_stack);
#endif
    (void)th;
}

static inline int pgs_track_task_create(pgs_task *t)
{
#ifdef PGS_TSAN
    t->fiber = __tsan_create_fiber(0);
    if (!t->fiber)
        return -1;
#endif
    (void)t;
    return 0;
}

static inline void pgs_track_task_destroy(pgs_task *t)
{
#ifdef PGS_TSAN
    if (t->fiber)
        __tsan_destroy_fiber(t->fiber);
#endif
    (void)t;
}

/* Just before switching from the running context to `to` (NULL: the
 * thread's own stack).  `leaving` is set when the running task has
 * finished and will never run again. */
static inline void pgs_track_switch(struct pgs_thread *th, pgs_task *to,
                                    int leaving)
{
#ifdef PGS_ASAN
    if (to) {
        struct pgs_region *r = pgs__region_of(th, to);
        __sanitizer_start_switch_fiber(leaving ? NULL : &th->fake_stack,
                                       r->base, th->size);
    } else {
        __sanitizer_start_switch_fiber(leaving ? NULL : &th->fake_stack,
                                       th->main_bottom, th->main_size);
    }
#endif
#ifdef PGS_TSAN
    __tsan_switch_to_fiber(to ? to->fiber : th->fiber, 0);
    /* See pgs_track_fault_done. */
    __tsan_acquire(th);
#endif
    (void)th, (void)to, (void)leaving;
}

/* The stack fault handler served a fault of this thread.  ThreadSanitizer's
 * switch releases the outgoing fiber before it takes up the next one, and
 * a fault in between (the switch's own frames or pushes growing the
 * outgoing task's stack) runs the handler outside both: its writes would
 * look unordered with the next task's reads.  Every switch acquires what
 * the handler released. */
static inline void pgs_track_fault_done(struct pgs_thread *th)
{
#ifdef PGS_TSAN
    __tsan_release(th);
#endif
    (void)th;
}

#ifdef PGS_TSAN
/* ThreadSanitizer's dynamic annotations (exported by its runtime). */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#endif

/* Around the library's fork handlers.  They run inside ThreadSanitizer's
 * fork, which does not order what they do with the switches that follow
 * (in the parent, nor in the child, where TSan starts its bookkeeping
 * afresh), and they touch only the calling thread's own state, which no
 * other thread shares: TSan is told to ignore their accesses, and what
 * the forking task did before is released for the next switch to take. */
static inline void pgs_track_fork_begin(struct pgs_thread *th)
{
#ifdef PGS_TSAN
    __tsan_release(th);
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
#endif
    (void)th;
}

static inline void pgs_track_fork_end(void)
{
#ifdef PGS_TSAN
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#endif
}

/* First thing on the stack a switch arrived on. */
static inline void pgs_track_arrived(struct pgs_thread *th)
{
#ifdef PGS_ASAN
    __sanitizer_finish_switch_fiber(th->fake_stack, NULL, NULL);
#endif
    (void)th;
}

/* The region is about to show other bytes than the ones it showed, or has
 * just mapped more of them: what it maps may be read and written from the
 * switch stack (copies, clearing) and by the task it shows. */
static inline void pgs_track_region_reset(struct pgs_region *r)
{
    size_t n = r->shadow > r->mapped ? r->shadow : r->mapped;
#ifdef PGS_ASAN
    __asan_unpoison_memory_region(r->top - n * PGS_PAGE, n * PGS_PAGE);
#else
    if (__asan_unpoison_memory_region)
        __asan_unpoison_memory_region(r->top - n * PGS_PAGE, n * PGS_PAGE);
#endif
    r->shadow = r->mapped;
#ifdef HAVE_VALGRIND_VALGRIND_H
    PGS_VG(VALGRIND_MAKE_MEM_DEFINED(r->top - r->mapped * PGS_PAGE,
                                     r->mapped * PGS_PAGE));
#endif
    (void)r;
}

#endif
