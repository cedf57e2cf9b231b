/* SPDX-License-Identifier: MIT */
/*
 * Internal state shared by the pieces of the library.  Nothing here is
 * part of the public API.
 *
 * A thread that runs tasks owns a pgs_thread: its regions (the shared stack
 * areas tasks run in), its page pool (a memfd in which every task owns one
 * extent of stack_size bytes, so that a task's pages always have contiguous
 * file offsets and one mmap maps them all), its alternate signal stack and
 * the switch stack on which remaps run.
 */
#ifndef PGS_INTERNAL_H
#define PGS_INTERNAL_H

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pagedstack.h"
#include "arch.h"
#include "switch.h"

/* The page size, as the kernel says (sysconf): 4 KiB on x86-64; 4, 16 or
 * 64 KiB on aarch64, chosen when the kernel was built.  Read once before
 * main (sys.c), never assumed. */
extern size_t pgs__page;
#define PGS_PAGE pgs__page
/* log2 of the page size: page counts are taken with a shift, as a division
 * by a number unknown at compile time is a slow instruction and the switch
 * path counts pages on every switch. */
extern unsigned pgs__page_shift;
#define PGS_PAGE_SHIFT pgs__page_shift
void pgs__page_init(void);
#define PGS_DEFAULT_STACK ((size_t)8 << 20)
/*
 * Regions per thread unless configured: a cache of resident tasks (see
 * pgs__region_take).  A task with a region of its own switches with a plain
 * register switch, whatever its depth; the tasks beyond share region 0.
 * Each region costs address space (its size and its guard) and, while a
 * task uses it, one mapping and the pages that task keeps mapped.  Measured
 * (demos/bench_switch, ns per round trip, 4 regions -> 128): 100 tasks at
 * 1 KiB live 329 -> 21, at 4 KiB 505 -> 41, at 1 MiB 79531 -> 21; 10k tasks
 * at 1 KiB unchanged (all but 127 share region 0).  128 covers the common
 * "a hundred connections" case; it is lowered at init if the address space
 * is limited (RLIMIT_AS).
 */
#define PGS_DEFAULT_REGIONS 128u
#define PGS_MAX_REGIONS 1024u
#define PGS_MIN_STACK ((size_t)64 << 10)
#define PGS_MAX_STACK ((size_t)64 << 30)
/* Inaccessible space below every region, at least: a fault there is an
 * overflow.  The guard is as large as the region if that is larger
 * (region.c). */
#define PGS_GUARD ((size_t)1 << 20)
/* A fault further than this below the interrupted stack pointer (less the
 * red zone, arch.h) is not growth. */
#define PGS_STRAY_SLACK ((size_t)64 << 10)
/* Growth doubles the task's pages, but adds at most this much at once. */
#define PGS_GROW_MAX_PAGES ((size_t)256)
/*
 * An evicted task whose live stack is at most this long is saved by
 * copying; a deeper one keeps its pages and is remapped.  From the
 * benchmark, two tasks alternating in one region (ns per switch, on the
 * 2-core VM this was developed on, where changing a page table entry costs
 * microseconds):
 *
 *   live stack        256 KiB  384 KiB  512 KiB  1 MiB
 *   remap, top only     12871    13328    12632  13022
 *   copy                 7609    12875    17836  42679
 *   remap, all touched 121135   175527   218751 453129
 *   copy, all touched    9000    19328    24274  58799
 *
 * A remap costs about the same at any depth, as long as the task touches
 * only its top frames; every further page it touches costs a kernel page
 * fault.  Copying wins below 384 KiB in every case.  In a multi-threaded
 * process a remap also shoots down the TLBs of the CPUs the other threads
 * ran on: 280-650 us per switch on the same machine (demos/bench_switch,
 * regions-1-2-1m-top), where copying even 4 MiB is cheaper.  The crossover
 * should follow the process; for now it is the single-threaded one.
 */
#define PGS_COPY_MAX ((size_t)384 << 10)
/* Bytes above a task's stack pointer whose pages are filled in when it is
 * mapped back (the frames it returns through first). */
#define PGS_POPULATE_ABOVE ((size_t)1024)
/* A task that suspends with more than this many pages mapped below what it
 * needs (after a deep call returned) gives them back.  Below it, keeping
 * them is cheaper than two system calls now and a fault later. */
#define PGS_TRIM_SLACK ((size_t)64)
/* pgs_create checks that faults can still reach the library on a thread's
 * first create and then this often.  The check takes two system calls
 * (about 2 us on the VM this was measured on): every 64th create, that was
 * a third of what creating, running and destroying a task cost
 * (demos/bench_switch create: 105 -> 66 ns with every 1024th). */
#define PGS_CHECK_EVERY 1024u
/*
 * The alternate signal stack: every signal handler of a thread that runs
 * tasks runs there (lib/interpose.c), the library's fault handler with its
 * report and backtrace, a profiler that unwinds, a crash reporter that
 * formats a dump.  Pages never touched cost nothing.  pgs_config's
 * signal_stack_size sets it, within these bounds.
 */
#define PGS_SIGSTACK_DEFAULT ((size_t)256 << 10)
#define PGS_SIGSTACK_MIN ((size_t)64 << 10)
#define PGS_SIGSTACK_MAX ((size_t)1 << 30)
/* Signal handlers without SA_ONSTACK run on the switch stack if they
 * arrive during a remap, so it is as large as a small thread's stack;
 * pages never touched cost nothing. */
#define PGS_SWITCH_STACK_SIZE ((size_t)1 << 20)
/* The memfd's size: file space is free until touched, so every possible
 * task extent fits (64 TiB = 8M extents of 8 MiB), unless RLIMIT_FSIZE
 * says less (pool.c). */
#define PGS_POOL_FILE_SIZE ((off_t)1 << 46)

#define pgs_fast(x) __builtin_expect(!!(x), 1)
#define pgs_slow(x) __builtin_expect(!!(x), 0)

/*
 * An invariant that guards memory (which task's bytes a region shows),
 * checked in every build: NDEBUG does not remove it.  A broken one prints
 * one line (file, line, the invariant in words) and the process dies by
 * SIGSEGV, as the library's other fatal reports do.  Async-signal-safe,
 * so the fault handler may use it; on a hot path it costs a compare and a
 * branch predicted not taken.
 */
#define pgs_assert(cond, what)                                               \
    do {                                                                     \
        if (pgs_slow(!(cond)))                                               \
            pgs__assert_fail(__FILE__, __LINE__, what);                      \
    } while (0)
__attribute__((noreturn, cold)) void pgs__assert_fail(const char *file,
                                                      int line,
                                                      const char *what);

struct pgs_thread;

/*
 * One shared region: [base, top) with PGS_GUARD inaccessible below base.
 * The region owns the extent it shows: the top `mapped` pages of the
 * region are pages [0, mapped) of `extent`, and the rest is PROT_NONE.
 * The occupant (if any) is the task whose stack those pages are; without
 * one they are scratch, whose bytes are cleared before a task sees them.
 */
struct pgs_region {
    char *base;
    char *top;
    pgs_task *occupant;
    size_t extent;             /* PGS_NO_EXTENT: shows nothing */
    size_t mapped;
    /* Pages from the top that code running here may have poisoned in
     * AddressSanitizer's shadow since its last reset (track.h): at least
     * as many as were ever mapped since. */
    size_t shadow;
    unsigned users;            /* live tasks placed here (not done) */
    unsigned clean_scans;      /* scans in a row that found the slack clean */
    unsigned next_free;        /* the thread's free list of regions */
    unsigned vg_stack;         /* valgrind's id for it (track.h) */
};

#define PGS_NO_EXTENT ((size_t)-1)

/* Where a task's stack is while it is not running. */
enum pgs_home {
    PGS_HOME_NONE,             /* never ran, or done: no stack */
    PGS_HOME_REGION,           /* its region shows it (it is the occupant) */
    PGS_HOME_COPY,             /* live bytes saved in buf */
    PGS_HOME_EXTENT            /* pages [0, pages) of its own extent */
};

/* The state of a destroyed task's descriptor kept for reuse: pgs_destroy
 * and pgs_resume of it say EINVAL (any other use is undefined, as after
 * free). */
#define PGS_STATE_SPARE 4

/* pgs_create sets every field one by one (no memset): a new field must be
 * set there too. */
struct pgs_task {
    void *sp;                  /* saved stack pointer; NULL before the first run */
    struct pgs_thread *th;     /* owner; NULL once the owning thread has exited */
    pgs_task *resumer;         /* who resumed it; NULL = the thread's own stack */
    void **out;                /* where that resume wants the task's output */
    pgs_fn fn;
    void *arg;
    int state;                 /* enum pgs_state */
    int home;                  /* enum pgs_home */
    unsigned region;           /* index of its region, fixed for life */
    /* The page array of an evicted deep task (home EXTENT): the top `pages`
     * pages of its stack are pages [0, pages) of pool extent `extent`. */
    size_t extent;
    size_t pages;
    size_t peak_pages;         /* deepest it has been, in pages */
    /* The saved live stack of an evicted shallow task (home COPY): buflen
     * bytes that belong at [top - buflen, top); bufcap allocated. */
    char *buf;
    size_t buflen;
    size_t bufcap;
    pgs_task *prev, *next;     /* the owning thread's live tasks */
#if defined(__SANITIZE_THREAD__)
    void *fiber;               /* its TSan fiber (track.h) */
#endif
    char name[32];
};

struct pgs_thread {
    /* Configuration. */
    size_t size;               /* bytes per region (= per-task stack limit) */
    size_t region_pages;
    unsigned nregions;
    size_t cap_bytes;          /* max stack memory of all tasks; 0 = no cap */
    size_t headroom;           /* bytes kept mapped below a running task's rsp */
    size_t sigframe;           /* room a kernel signal frame takes */

    /* Regions: one reservation holding every region and its guard. */
    size_t guard;              /* inaccessible bytes below each region */
    char *reserve;
    size_t reserve_len;
    struct pgs_region *regions;
    unsigned free_region;      /* a region no task uses; 0: none (region 0
                                  is the shared one, never on the list) */

    /* Page pool. */
    int fd;
    off_t pool_size;           /* the memfd's size: whole extents */
    size_t extents_used;       /* extents ever handed out */
    size_t *free_extents;      /* extents given back, all holes */
    size_t nfree;
    size_t free_cap;
    size_t held_pages;         /* pages allocated in all extents */
    size_t copy_bytes;         /* bytes of saved copies (bufcap) */
    size_t peak_bytes;         /* highest held_pages * page + copy_bytes */
    size_t unstarted;          /* tasks created but never run */
    size_t start_bytes;        /* what a task needs to start: its first
                                  frame and the headroom below, in pages */

    size_t copy_max;           /* live bytes up to which eviction copies */
    int fast_scan;             /* the scratch clear's vector loop, 0 for
                                  none (pgs__fast_scan, arch.h) */

    /* The alternate signal stack and the switch stack (one mapping). */
    size_t sigstack_size;      /* the smallest alternate stack allowed */
    char *stacks;
    size_t stacks_len;
    char *switch_top;
    stack_t old_altstack;
    int own_altstack;

    /* Switching. */
    pgs_task *current;
    void *main_sp;             /* the thread's own stack while a task runs */

    /* Fault handler. */
    volatile sig_atomic_t in_handler;

    /* For sanitizers and valgrind (track.h). */
    unsigned vg_switch_stack;
#if defined(__SANITIZE_ADDRESS__)
    void *fake_stack;
    void *main_bottom;
    size_t main_size;
#endif
#if defined(__SANITIZE_THREAD__)
    void *fiber;               /* the thread's own */
#endif

    /* Descriptors of destroyed tasks, for reuse (through ->next). */
    pgs_task *spare;
    unsigned nspare;

    /* Every initialised thread of the process (fork.c), so that a forked
     * child can release the regions and pools of the threads it lacks. */
    struct pgs_thread *all_prev, *all_next;
    int linked;
    int forked_away;           /* in a forked child: a thread left behind */

    /* Figures and bookkeeping. */
    uint64_t creates;
    size_t tasks;
    uint64_t faults;
    uint64_t remaps;
    uint64_t scan_bytes;       /* bytes the scratch clear has looked at */
    pgs_task *list;
};

/* A switch that must change what a region shows first, as one request
 * (switch.c). */
enum pgs_switch_kind {
    PGS_SWITCH_RESUME,
    PGS_SWITCH_YIELD,
    PGS_SWITCH_FINISH
};
struct pgs_switch {
    struct pgs_thread *th;
    pgs_task *from, *to;       /* NULL: the thread's own stack */
    void *value;               /* what to's pending switch call returns */
    void *out;                 /* yield, finish: stored in *from->out */
    int kind;                  /* enum pgs_switch_kind */
    int was;                   /* resume: to's state if it cannot run */
};
/* It sits at the top of the switch stack, which stays 16-byte aligned. */
_Static_assert(sizeof(struct pgs_switch) % 16 == 0, "switch request");

/* The calling thread's state.  initial-exec: the fault handler reads it,
 * and the general-dynamic model may call malloc on first access. */
extern __thread struct pgs_thread *pgs__tls
    __attribute__((tls_model("initial-exec")));

/* a + b, or SIZE_MAX if that does not fit: limits near SIZE_MAX (a cap
 * of SIZE_MAX) must not wrap to small ones. */
static inline size_t pgs__sat_add(size_t a, size_t b)
{
    size_t s;
    return __builtin_add_overflow(a, b, &s) ? (size_t)-1 : s;
}

static inline size_t pgs__round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/* Pages, counted from the top of r, needed to cover address a. */
static inline size_t pgs__cover(const struct pgs_region *r, uintptr_t a)
{
    uintptr_t base = (uintptr_t)r->base, top = (uintptr_t)r->top;
    if (a <= base)
        return (top - base) >> PGS_PAGE_SHIFT;
    if (a >= top)
        return 0;
    return (top - (a & ~(uintptr_t)(PGS_PAGE - 1))) >> PGS_PAGE_SHIFT;
}

/* Whether a task's saved stack pointer is in its region r.  It is not if
 * the task yielded while running on a stack of its own (swapcontext to
 * another stack): then every page it has mapped may be live. */
static inline int pgs__sp_in(const struct pgs_region *r, const void *sp)
{
    return (const char *)sp >= r->base && (const char *)sp < r->top;
}

/* A task's state is read from any thread (pgs_state): the owner stores it
 * atomically (relaxed: a plain store on x86-64 and aarch64). */
static inline void pgs__set_state(pgs_task *t, int state)
{
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer runs the signal handlers it deferred at its atomic
     * operations, and this one runs mid-switch (on the switch stack): a
     * plain store, atomic on both architectures, that it does not see. */
    pgs__store_plain(&t->state, state);
#else
    __atomic_store_n(&t->state, state, __ATOMIC_RELAXED);
#endif
}

/* r maps `pages` pages from now on, fewer than before: the shadow of the
 * pages it drops is reset with the rest when it next changes hands. */
static inline void pgs__region_lower(struct pgs_region *r, size_t pages)
{
    if (r->mapped > r->shadow)
        r->shadow = r->mapped;
    r->mapped = pages;
}

static inline struct pgs_region *pgs__region_of(struct pgs_thread *th,
                                                const pgs_task *t)
{
    return &th->regions[t->region];
}

/* Where a context's stack pointer is kept while it is switched out (t
 * NULL: the thread's own stack). */
static inline void **pgs__saved_sp(struct pgs_thread *th, pgs_task *t)
{
    return t ? &t->sp : &th->main_sp;
}

/* Where the next slow switch's request is made: at the top of the switch
 * stack, above the code that carries it out (switch.c).  Not on the
 * outgoing stack, which may be copied away or unmapped meanwhile (or, for
 * a finishing task under AddressSanitizer, be a fake stack the switch
 * frees); and not a local, so that the switch stays a tail call. */
static inline struct pgs_switch *pgs__switch_request(struct pgs_thread *th)
{
    return (struct pgs_switch *)th->switch_top - 1;
}

/* Take t off its thread's list of live tasks (pgs_destroy, and a forked
 * child's tasks whose stacks stayed in the parent). */
static inline void pgs__task_unlink(struct pgs_thread *th, pgs_task *t)
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

/* Whether t's home agrees with where its stack is (for pgs_assert): the
 * region that shows it, a saved copy, pages of its own extent, or nowhere
 * (it never ran, or it is done). */
static inline int pgs__home_agrees(struct pgs_thread *th, const pgs_task *t)
{
    int shown = pgs__region_of(th, t)->occupant == t;
    switch (t->home) {
    case PGS_HOME_REGION:
        return shown;
    case PGS_HOME_COPY:
        return !shown && t->buf && t->buflen && t->buflen <= t->bufcap;
    case PGS_HOME_EXTENT:
        return !shown && t->extent != PGS_NO_EXTENT;
    default:
        return !shown && (!t->sp || t->state == PGS_DONE);
    }
}

/* thread.c */
struct pgs_thread *pgs__thread_get(void); /* init with defaults if needed */
int pgs__thread_unsafe(void); /* -1 + EPERM if faults cannot reach us */

/* pool.c: extents, pages, the memfd. */
int pgs__pool_open(struct pgs_thread *th);
void pgs__pool_close(struct pgs_thread *th);
int pgs__extent_get(struct pgs_thread *th, size_t *extent);
void pgs__extent_put(struct pgs_thread *th, size_t extent);
off_t pgs__extent_offset(const struct pgs_thread *th, size_t extent,
                         size_t page_from_top);
int pgs__extent_grow(struct pgs_thread *th, size_t extent, size_t have,
                     size_t want, size_t limit, int *over_cap);
int pgs__extent_trim(struct pgs_thread *th, size_t extent, size_t have,
                     size_t keep);
size_t pgs__margin(const struct pgs_thread *th, size_t tasks);

/* The pool's figures, inline: every switch through a shared region reads
 * them. */

/* Stack memory the thread's tasks and regions hold: pages allocated in
 * extents plus saved copies. */
static inline size_t pgs__held_bytes(const struct pgs_thread *th)
{
    return th->held_pages * PGS_PAGE + th->copy_bytes;
}

/* The most stack memory the thread may hold after an allocation, leaving
 * `margin` bytes of its cap free (no limit without a cap). */
static inline size_t pgs__limit(const struct pgs_thread *th, size_t margin)
{
    if (!th->cap_bytes)
        return (size_t)-1;
    return th->cap_bytes > margin ? th->cap_bytes - margin : 0;
}

/* Record the peak; called where no switch is half done. */
static inline void pgs__note_peak(struct pgs_thread *th)
{
    size_t b = pgs__held_bytes(th);
    if (b > th->peak_bytes)
        th->peak_bytes = b;
}

/* region.c: reserving and remapping regions. */
int pgs__regions_reserve(struct pgs_thread *th);
void pgs__regions_release(struct pgs_thread *th);
int pgs__region_map(struct pgs_thread *th, struct pgs_region *r,
                    size_t extent, size_t from_page, size_t to_page,
                    int populate);
int pgs__region_clear(struct pgs_region *r, size_t from_page,
                      size_t to_page);
void pgs__region_populate(struct pgs_thread *th, struct pgs_region *r,
                          uintptr_t sp);
int pgs__region_grow(struct pgs_thread *th, struct pgs_region *r,
                     size_t want, int *over_cap);

/* scan.c: the scratch clear. */
char *pgs__scratch_clear(struct pgs_thread *th, char *bottom, char *end);

/* fault.c */
int pgs__handler_install(void); /* process.c installs it, once */
int pgs__handler_ours(void);

/* realsig.c: the real signal functions (declared in sys.h), and the lock
 * that serialises installs of handlers (taken with every signal blocked;
 * saved gets the mask to put back). */
void pgs__sig_lock(sigset_t *saved);
void pgs__sig_unlock(const sigset_t *saved);

/* interpose.c: the program's signal functions. */
void pgs__onstack_all(void);
void pgs__onstack_strip(int sig, struct sigaction *sa);

/* chain.c: the SIGSEGV handler faults that are not ours are passed to.
 * Read from any fault handler without a lock (returns its generation);
 * written under pgs__sig_lock. */
unsigned long pgs__chain_read(struct sigaction *out);
void pgs__chain_write(const struct sigaction *sa);
void pgs__chain_swap(const struct sigaction *act, struct sigaction *old);
void pgs__chain_reset(unsigned long seen);
void pgs__chain_activate(void);
int pgs__chain_active(void);

/* report.c: async-signal-safe diagnostics. */
struct pgs_msg {
    char buf[512];
    size_t len;
};
void pgs__msg_str(struct pgs_msg *m, const char *s);
void pgs__msg_dec(struct pgs_msg *m, uint64_t v);
void pgs__msg_hex(struct pgs_msg *m, uintptr_t v);
void pgs__msg_task(struct pgs_msg *m, const pgs_task *t);
void pgs__msg_emit(struct pgs_msg *m);
void pgs__backtrace_ucontext(void *uc);
__attribute__((noreturn)) void pgs__die(struct pgs_msg *m);
__attribute__((noreturn)) void pgs__die_by_segv(void);

/* switch.c: the switch through the switch stack, and what it shows. */
int pgs__show_task(struct pgs_thread *th, pgs_task *to);

/* remap.c: what a region shows. */
int pgs__show(struct pgs_thread *th, struct pgs_region *r, pgs_task *t);
void pgs__region_trim(struct pgs_thread *th, struct pgs_region *r,
                      size_t keep, size_t slack);
void pgs__release_finished(struct pgs_thread *th, pgs_task *t);
int pgs__release_is_plain(const struct pgs_thread *th, const pgs_task *t);
int pgs__unhome(struct pgs_thread *th, pgs_task *t);
unsigned pgs__region_take(struct pgs_thread *th);
void pgs__region_leave(struct pgs_thread *th, pgs_task *t);
int pgs__copy_buffer(struct pgs_thread *th, pgs_task *t, size_t cap);
void pgs__evict(struct pgs_thread *th, struct pgs_region *r);
int pgs__show_for_a_moment(struct pgs_thread *th, pgs_task *t,
                           pgs_task **before);
void pgs__show_again(struct pgs_thread *th, pgs_task *t, pgs_task *before);

/*
 * switch.c: a switch that must change what a region shows first, as one
 * request that pgs_resume, pgs_yield or a finishing task makes and the
 * switch stack carries out.
 */
int pgs__switch_resume(struct pgs_switch *sw);
void *pgs__switch_leave(struct pgs_switch *sw);
struct pgs_jump pgs__prepare(void *req);
void pgs__task_main(void *task);
void pgs__on_switch_stack(struct pgs_thread *th,
                          void (*fn)(struct pgs_thread *, void *), void *arg);

/* process.c: process-wide setup, once. */
int pgs__process_init(void);

/* fork.c */
int pgs__fork_hooks_install(void);
void pgs__fork_link(struct pgs_thread *th);
void pgs__fork_unlink(struct pgs_thread *th);

#endif
