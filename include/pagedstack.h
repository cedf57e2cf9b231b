/* SPDX-License-Identifier: MIT */
/*
 * pagedstack: coroutines on demand-paged stack regions that a thread's
 * tasks share.
 *
 * Every thread that runs tasks reserves stack regions (128 of 8 MiB by
 * default), and a task may use all of its region.  The regions are a cache
 * of resident tasks: a new task takes a free region of its own while there
 * is one, and a switch to it changes only registers; the tasks created
 * while every region is taken share region 0, at the same addresses.
 * Physical pages exist only where a task really touched its stack: the
 * first touch of a page raises a SIGSEGV that the library handles on the
 * thread's alternate signal stack by giving the running task more pages.
 * When region 0 must show another task, a shallow task's live bytes are
 * copied aside (and the incoming task's copied in), and a deep task's pages
 * are remapped with one mmap, whatever its depth.
 *
 * THE ONE RULE: a pointer to a variable on a task's stack is meaningless to
 * every other task, and to the thread's own code outside that task.  All
 * tasks of a region live at the same addresses; while task A is switched
 * out, A's stack addresses show another task's stack (or nothing).  Never
 * hand the address of a stack variable to another task, to another thread,
 * or to anything that uses it after the task has yielded (a queue, a timer,
 * an event loop).  Put shared data on the heap.  Passing a stack pointer
 * down into functions the task itself calls is, of course, fine.
 *
 * Threads: every thread that creates tasks gets its own regions and page
 * pool.  A task belongs to the thread that created it and may only be
 * resumed or destroyed there.  pgs_state and pgs_name only read, and may
 * be called from any thread; pgs_task_stack_bytes answers only on the
 * owning thread (0 elsewhere).
 *
 * Errors: functions that can fail return -1 (or NULL) and set errno; the
 * values each function can set are listed with it.  pgs_self, pgs_name and
 * pgs_task_stack_bytes cannot fail and leave errno alone (NULL, "" and 0
 * are answers, not errors).  Running out of stack inside a task
 * (overflowing the region, or hitting max_stack_bytes while growing) cannot
 * be returned to anyone: the library prints one line naming the task, the
 * limit and the fault address on stderr, with a backtrace, and the process
 * dies by SIGSEGV, as with any stack overflow.
 *
 * Signals: the library installs a process-wide SIGSEGV handler (once, on the
 * first pgs_thread_init or pgs_create) and a per-thread alternate signal
 * stack (256 KiB unless pgs_config.signal_stack_size says otherwise).
 * Faults that are not stack growth of a running task go to the program's
 * SIGSEGV handler, installed before or after the library (the latest one;
 * sigaction records one installed after without replacing the library's,
 * and reports the one before it as oldact), or kill the process as they
 * would have without the library.  After a stack overflow or exhaustion
 * report, that handler gets the fault too, then the process dies by
 * SIGSEGV.  While the library's handler works, every signal but the
 * synchronous ones (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS)
 * waits.  Every signal handler runs on the alternate stack,
 * never on a task's stack: the library defines sigaction, signal,
 * bsd_signal, sysv_signal, sigset and sigaltstack, adds SA_ONSTACK to every
 * handler (and, when it starts, to those installed before it), and in a
 * thread that runs tasks refuses (EPERM) to disable that stack or to
 * replace it by a smaller one.  Do not block SIGSEGV in a thread that runs
 * tasks.  Under gdb, say `handle SIGSEGV nostop noprint pass`.
 */
#ifndef PAGEDSTACK_H
#define PAGEDSTACK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PGS_BUILDING_LIBRARY)
#define PGS_EXPORT __attribute__((visibility("default")))
#else
#define PGS_EXPORT
#endif

/* A task: created by pgs_create, freed by pgs_destroy. */
typedef struct pgs_task pgs_task;

/* The function a task runs; its return value is the task's last output. */
typedef void *(*pgs_fn)(void *arg);

/* Per-thread configuration, given to pgs_thread_init.  Zero fields take
 * their defaults. */
struct pgs_config {
    /* Maximum stack of every task, which is also the size of each of the
     * thread's shared regions.  Rounded up to whole pages.  0 = 8 MiB;
     * otherwise from 64 KiB to 64 GiB (outside that, EINVAL). */
    size_t stack_size;
    /* Regions per thread (at most 1024): a cache of resident tasks.  A new
     * task takes a region of its own while one is free, and keeps it for
     * life (until it finishes or is destroyed); a switch to a task with a
     * region of its own is a plain register switch, never a copy or a
     * remap.  The tasks created while every region is taken share region
     * 0, where shallow tasks take turns by copying their live bytes and
     * deep ones by remapping their pages.  Each region costs address space
     * (its size plus a guard below it) and, while its task lives, one
     * kernel mapping and the pages the task keeps mapped: its live stack
     * and the ABI's red zone below it (128 bytes on x86-64, none on
     * aarch64): a page or two for a shallow task.
     * 0 = 128, fewer if the address space is limited (RLIMIT_AS).  1 =
     * every task in one region (strict isolation, see the README). */
    unsigned regions;
    /* Cap on the stack memory all of this thread's tasks may hold together
     * (pgs_stats' stack_bytes).  A task that grows past it dies of stack
     * exhaustion.  Creating and growing tasks leave room under it for one
     * task's first pages (8 KiB) once tasks share region 0, so
     * that the tasks that exist can always be switched.  A cap too small for
     * one task (its first pages and that room: 16 KiB) is EINVAL.
     * 0 = no cap. */
    size_t max_stack_bytes;
    /* Size of the thread's alternate signal stack, on which every signal
     * handler runs in a thread that runs tasks (the library's fault
     * handler, and every handler of the program's: a signal frame is never
     * written on a task's stack).  Rounded up to whole pages; 64 KiB to
     * 1 GiB.  0 = 256 KiB.  An alternate stack the thread already has is
     * kept if it is at least this large; pages never touched cost
     * nothing. */
    size_t signal_stack_size;
};

/* The life of a task.  PGS_RUNNING also covers tasks that are waiting for
 * a task they resumed to yield (they are up the current resume chain). */
enum pgs_state { PGS_CREATED, PGS_RUNNING, PGS_SUSPENDED, PGS_DONE };

/* Figures for the calling thread (pgs_stats). */
struct pgs_stats {
    size_t   tasks;            /* live (not destroyed) tasks */
    size_t   stack_bytes;      /* stack memory held now by those tasks, mapped or not */
    size_t   stack_bytes_peak; /* the highest stack_bytes has been */
    size_t   pool_bytes;       /* all memory the thread's page pool holds from the OS,
                                  mapped or not (what the kernel reports for it) */
    uint64_t faults;           /* stack faults handled (SIGSEGVs that grew a task) */
    uint64_t remaps;           /* switches that made a region show another task
                                  (by remapping, or by copying a shallow task's
                                  stack out and the next one's in) */
};

/*
 * Set up the calling thread to run tasks.  Optional: pgs_create does it with
 * the defaults.  Call it before the thread's first task; cfg may be NULL.
 * Returns 0, or -1 with errno:
 *   EBUSY   the thread is already initialised
 *   EINVAL  a configuration value is out of range
 *   ENOMEM  the address space, memory or memfd could not be had
 *   EPERM   the SIGSEGV handler could not be installed, or SIGSEGV is
 *           blocked in this thread, or the process runs under valgrind
 *           without --vex-iropt-register-updates=allregs-at-mem-access
 *           (a message on stderr says so)
 * On failure nothing is left allocated.
 */
PGS_EXPORT int pgs_thread_init(const struct pgs_config *cfg);

/*
 * Release the calling thread's regions, pool and signal stack.  A thread
 * that exits releases them by itself; call this to release them earlier.
 * Returns 0, or -1 with errno:
 *   EBUSY   the thread still has live (not destroyed) tasks, or a task is
 *           running
 *   EPERM   the thread was never initialised
 */
PGS_EXPORT int pgs_thread_fini(void);

/*
 * Create a task that will run fn(arg) when first resumed.  Costs no system
 * call and no stack page: pages arrive as the task touches its stack.
 * Initialises the thread with the defaults if it was not.  Returns the task,
 * or NULL with errno:
 *   EINVAL  fn is NULL
 *   ENOMEM  no memory for the descriptor, or the thread's max_stack_bytes
 *           leaves no room for the new task's first pages (its first
 *           frame and the red zone, once every task created and not
 *           yet run has had its own) beside the room kept for switching
 *   EPERM   stack faults could no longer reach the library: SIGSEGV is
 *           blocked in this thread, or the library's SIGSEGV handler was
 *           replaced past its sigaction (a program that bound libc's
 *           sigaction before the library was loaded with dlopen; a handler
 *           installed through the library's sigaction never replaces it).
 *           Checked on the thread's first create and then on every 1024th
 *           (the check costs two system calls, and creating a task
 *           otherwise costs none).
 *   and any errno of pgs_thread_init.
 */
PGS_EXPORT pgs_task *pgs_create(pgs_fn fn, void *arg);

/*
 * Run t until it calls pgs_yield(v) (then *out = v and t is SUSPENDED) or
 * returns r (then *out = r and t is DONE).  in becomes the return value of
 * the pgs_yield that suspended t; it is ignored on the first resume.  out
 * may be NULL.  May be called from inside a task (nesting): t then yields
 * back to that task.  Returns 0, or -1 with errno:
 *   EINVAL  t is NULL, DONE, running, or up the current resume chain, or
 *           was destroyed (seen while the thread keeps its descriptor for
 *           reuse; a task used after pgs_destroy is otherwise undefined)
 *   EPERM   t belongs to another thread (or to a thread that has exited)
 *   ENOMEM  the pages t needs to start or continue could not be mapped
 *           (t is left as it was)
 */
PGS_EXPORT int pgs_resume(pgs_task *t, void *in, void **out);

/*
 * Inside a task: suspend it and return to whoever resumed it, handing it
 * out.  Returns the in of the pgs_resume that continues the task.  Outside
 * a task returns NULL with errno EPERM.
 */
PGS_EXPORT void *pgs_yield(void *out);

/* The running task, or NULL on a thread's own stack. */
PGS_EXPORT pgs_task *pgs_self(void);

/* t's state (enum pgs_state), or -1 with errno EINVAL if t is NULL. */
PGS_EXPORT int pgs_state(const pgs_task *t);

/*
 * Free a task that is not running (CREATED, SUSPENDED or DONE) and give its
 * stack pages back to the pool.  A suspended task is simply dropped: its
 * stack is not unwound.  After it t is invalid, as memory after free:
 * using it is undefined, except that destroying or resuming it again says
 * EINVAL while the thread keeps the descriptor for reuse (until a create
 * takes it).  Returns 0, or -1 with errno:
 *   EINVAL  t is NULL, or was destroyed already (seen as above)
 *   EBUSY   t is running or up the current resume chain
 *   EPERM   t belongs to another, live, thread
 *   ENOMEM  the pages of t could not be given back to the system (the
 *           kernel refused to punch holes in the pool); t is unchanged
 *           and may be destroyed again later
 */
PGS_EXPORT int pgs_destroy(pgs_task *t);

/* Fill *out with the calling thread's figures.  Returns 0, or -1 with errno
 * EINVAL if out is NULL.  A thread that never ran a task reports zeroes. */
PGS_EXPORT int pgs_stats(struct pgs_stats *out);

/* Stack memory t holds now, in bytes (0 for NULL, CREATED or DONE, and
 * when called from a thread other than t's: the figure changes with every
 * switch of that thread, and its exit frees what it is read from). */
PGS_EXPORT size_t pgs_task_stack_bytes(const pgs_task *t);

/*
 * Give t a name, shown in every diagnostic about it.  The name is copied
 * (at most 31 bytes are kept).  Returns 0, or -1 with errno EINVAL if t is
 * NULL.  name may be NULL to clear it.
 */
PGS_EXPORT int pgs_set_name(pgs_task *t, const char *name);

/* t's name, or "" if it has none (or t is NULL). */
PGS_EXPORT const char *pgs_name(const pgs_task *t);

/*
 * The return addresses of task t's suspended call chain, innermost first:
 * ips[0] is where t continues when resumed (in the function that called
 * pgs_yield, or pgs_resume for a task waiting on another).  Works whether
 * t's stack is mapped, copied aside or unmapped: t is shown in its region
 * for a moment and unwound with libunwind from the registers saved when it
 * was switched out; the calling task is not disturbed.  Returns the number
 * of addresses stored (at most max, and at most 128; 0 for a task that
 * never ran or is done), or -1 with errno:
 *   EINVAL  t or ips is NULL, or max < 0
 *   EPERM   t belongs to another thread
 *   EBUSY   t is the calling task (use backtrace(3))
 *   ENOMEM  t's stack could not be shown (no memory)
 */
PGS_EXPORT int pgs_backtrace(pgs_task *t, void **ips, int max);

/* Print a header line for t and its backtrace with function names to f,
 * one frame a line, at most 64 frames (a longer chain ends with a line
 * saying that more frames were not printed).  Returns the number of frames
 * printed, or -1 with errno as for pgs_backtrace (EINVAL also if f is
 * NULL). */
PGS_EXPORT int pgs_backtrace_print(pgs_task *t, FILE *f);

/* Print the calling thread's figures for humans to f: tasks, stack memory
 * held now and at peak, what the pool holds from the OS (counting pages not
 * mapped anywhere), faults, remaps, and how deep tasks have gone (a
 * histogram of their high-water marks, and the deepest tasks by name), so
 * that users learn how much stack their tasks really need.  Returns 0, or
 * -1 with errno EINVAL if f is NULL. */
PGS_EXPORT int pgs_stats_print(FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* PAGEDSTACK_H */
