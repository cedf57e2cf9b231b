/* SPDX-License-Identifier: MIT */
/*
 * Defects found by review and by adversarial programs (issue 13), each a
 * test that failed before its fix: limits (RLIMIT_FSIZE, a cap near
 * SIZE_MAX or too small for one task), sizes above 4 GiB, and the misuse
 * and odd stacks that the other topic files do not cover.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core_util.h"
#include "internal.h"
#include "memcheck.h"

#define STOP ((void *)1)
#define FRAME_WORDS 120

/*
 * A task that recurses `depth` bytes deep, with a pattern in every frame,
 * and waits at the bottom.  Every resume hands it what to do: STOP (go up,
 * checking every frame, and return), a task to resume before waiting
 * again, or NULL (just wait again).  What goes wrong is counted in bad.
 */
struct dive {
    size_t depth;
    uint64_t seed;
    long bad;
};

static CORE_NOINLINE void dive_down(struct dive *d, size_t left,
                                    unsigned level)
{
    uint64_t w[FRAME_WORDS];
    core_fill(w, FRAME_WORDS, d->seed + level);
    if (left > sizeof w) {
        dive_down(d, left - sizeof w, level + 1);
    } else {
        void *in = pgs_yield(NULL);
        while (in != STOP) {
            if (in && pgs_resume(in, NULL, NULL) != 0)
                d->bad += 1000;
            in = pgs_yield(NULL);
        }
    }
    if (core_check(w, FRAME_WORDS, d->seed + level) >= 0)
        d->bad++;
}

static void *dive_fn(void *arg)
{
    struct dive *d = arg;
    dive_down(d, d->depth, 0);
    return NULL;
}

/* Make a dive task and take it to its bottom. */
static pgs_task *dive_start(struct dive *d, size_t depth, uint64_t seed)
{
    d->depth = depth;
    d->seed = seed;
    d->bad = 0;
    pgs_task *t = pgs_create(dive_fn, d);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    return t;
}

/* Send STOP, see the task check its frames and finish, destroy it. */
static void dive_end(pgs_task *t, struct dive *d)
{
    ck_assert_int_eq(pgs_resume(t, STOP, NULL), 0);
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    ck_assert_int_eq(d->bad, 0);
    ck_assert_int_eq(pgs_destroy(t), 0);
}

/* ---- 1: RLIMIT_FSIZE ------------------------------------------------- */

static void fsize_limit(rlim_t bytes)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = bytes;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* Under a file-size limit the pool stays within it: no SIGXFSZ (which
 * kills the process) at the first create, or in a forked child. */
START_TEST(fsize_limit_respected)
{
    fsize_limit((rlim_t)1 << 30);
    struct pgs_config c = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    struct core_stask s[3] = {
        { .id = 1, .depth = 600 << 10, .rounds = 3 },
        { .id = 2, .depth = 600 << 10, .rounds = 3 },
        { .id = 3, .depth = 64 << 10, .rounds = 3 },
    };
    core_stasks_run(s, 3, 7);
    struct dive d;
    pgs_task *t = dive_start(&d, 200 << 10, 11);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct core_stask cs = { .id = 4, .depth = 600 << 10, .rounds = 2 };
        core_stasks_run(&cs, 1, 8);
        _exit(d.bad == 0 && pgs_resume(t, STOP, NULL) == 0 && d.bad == 0
                  ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "the forked child ended with status %#x", st);
    dive_end(t, &d);
}
END_TEST

/* Past the limit, a task that needs an extent of its own fails like any
 * exhaustion (ENOMEM), and the others go on. */
START_TEST(fsize_limit_exhausted)
{
    fsize_limit((rlim_t)3 * PGS_DEFAULT_STACK + PGS_PAGE);
    struct pgs_config c = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    enum { N = 5 };
    struct dive d[N];
    pgs_task *t[N];
    int started = 0;
    for (int i = 0; i < N; i++) {
        d[i] = (struct dive){ .depth = 600 << 10, .seed = 100u + (unsigned)i };
        t[i] = pgs_create(dive_fn, &d[i]);
        ck_assert_ptr_nonnull(t[i]);
        errno = 0;
        if (pgs_resume(t[i], NULL, NULL) == 0) {
            started++;
            continue;
        }
        /* Three extents: the region's and two evicted tasks'. */
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_int_eq(pgs_state(t[i]), PGS_CREATED);
    }
    ck_assert_int_eq(started, 3);
    for (int i = 0; i < started; i++)
        dive_end(t[i], &d[i]);
    for (int i = started; i < N; i++) {
        ck_assert_int_eq(pgs_resume(t[i], NULL, NULL), 0);
        dive_end(t[i], &d[i]);
    }
}
END_TEST

/* ---- 2: the cap near SIZE_MAX, and a cap too small for one task ------ */

START_TEST(cap_too_small_for_one_task)
{
    static const size_t caps[] = { 4096, 8192, 12 << 10 };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        struct pgs_config c = { .max_stack_bytes = caps[i] };
        errno = 0;
        ck_assert_int_eq(pgs_thread_init(&c), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    /* The smallest cap accepted runs a task. */
    struct pgs_config c = { .max_stack_bytes = 64 << 10 };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    struct dive d;
    dive_end(dive_start(&d, 8 << 10, 3), &d);
}
END_TEST

/* With max_stack_bytes = SIZE_MAX (no limit in effect), one region: a
 * shallow task resumes a deep one, which yields back, and the other way
 * round.  Adding the copy's size to the limit must not wrap. */
START_TEST(cap_size_max_switches)
{
    struct pgs_config c = { .regions = 1, .max_stack_bytes = SIZE_MAX };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    struct dive deep, shallow;
    pgs_task *a = dive_start(&deep, 600 << 10, 21);
    pgs_task *b = dive_start(&shallow, 2 << 10, 22);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pgs_resume(b, a, NULL), 0);
        ck_assert_int_eq(pgs_resume(a, b, NULL), 0);
    }
    dive_end(a, &deep);
    dive_end(b, &shallow);
}
END_TEST

/* ---- 3: sizes above 4 GiB -------------------------------------------- */

/* A copy buffer larger than 4 GiB keeps its size (the descriptor's sizes
 * were 32-bit).  Untouched, the buffer costs only address space. */
START_TEST(copy_buffer_above_4gib)
{
    if (RUNNING_ON_VALGRIND)
        return; /* valgrind's allocator refuses such a block */
    ck_assert_int_eq(pgs_thread_init(NULL), 0);
    struct pgs_thread *th = pgs__tls;
    pgs_task *t = pgs_create(core_return_arg, NULL);
    ck_assert_ptr_nonnull(t);
    size_t cap = ((size_t)4 << 30) + 4096, before = th->copy_bytes;
    ck_assert_int_eq(pgs__copy_buffer(th, t, cap), 0);
    ck_assert_uint_eq(t->bufcap, cap);
    ck_assert_uint_eq(th->copy_bytes, before + cap);
    ck_assert_uint_eq(pgs_task_stack_bytes(t), cap);
    ck_assert_int_eq(pgs_destroy(t), 0);
    ck_assert_uint_eq(th->copy_bytes, before);
}
END_TEST

/* ---- 10: destroying twice ------------------------------------------- */

/* A descriptor kept for reuse is marked: destroying or resuming it again
 * says EINVAL, and the next two creates get two descriptors.  (Under
 * AddressSanitizer descriptors are freed at once, and the second destroy
 * is its report: nothing to test here.) */
START_TEST(destroy_twice)
{
#if !defined(__SANITIZE_ADDRESS__)
    /* Destroyed when created, suspended, done. */
    for (int state = 0; state < 3; state++) {
        pgs_task *t = pgs_create(state == 2 ? core_return_arg
                                            : core_yield_forever, NULL);
        ck_assert_ptr_nonnull(t);
        if (state >= 1)
            ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
        ck_assert_int_eq(pgs_state(t), state == 0   ? PGS_CREATED
                                       : state == 1 ? PGS_SUSPENDED
                                                    : PGS_DONE);
        ck_assert_int_eq(pgs_destroy(t), 0);
        errno = 0;
        ck_assert_int_eq(pgs_destroy(t), -1);
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_int_eq(pgs_resume(t, NULL, NULL), -1);
        ck_assert_int_eq(errno, EINVAL);
        pgs_task *a = pgs_create(core_return_arg, NULL);
        pgs_task *b = pgs_create(core_return_arg, NULL);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_ptr_ne(a, b);
        ck_assert_int_eq(pgs_destroy(a), 0);
        ck_assert_int_eq(pgs_destroy(b), 0);
    }
    ck_assert_uint_eq(core_stats().tasks, 0);
#endif
}
END_TEST

/* ---- 6: yielding while on a stack of the task's own ----------------- */

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define OWN_STACK (256 << 10)

/* A task that, from deep in its region, moves to a stack of its own with
 * swapcontext and yields there, then comes back and checks its frames. */
struct wander {
    struct dive d;          /* its frames in the region */
    char *stack;            /* the stack it moves to */
    ucontext_t in_region, away;
    long away_bad;
};

static struct wander *W;

static void away_fn(void)
{
    uint64_t w[FRAME_WORDS];
    core_fill(w, FRAME_WORDS, 0xabcdef);
    for (int i = 0; i < 3; i++)
        pgs_yield(NULL);
    if (core_check(w, FRAME_WORDS, 0xabcdef) >= 0)
        W->away_bad++;
    swapcontext(&W->away, &W->in_region);
}

static CORE_NOINLINE void wander_down(struct wander *m, size_t left,
                                      unsigned level)
{
    uint64_t w[FRAME_WORDS];
    core_fill(w, FRAME_WORDS, m->d.seed + level);
    if (left > sizeof w) {
        wander_down(m, left - sizeof w, level + 1);
    } else {
        ck_assert_int_eq(getcontext(&m->away), 0);
        m->away.uc_stack.ss_sp = m->stack;
        m->away.uc_stack.ss_size = OWN_STACK;
        m->away.uc_link = NULL;
        makecontext(&m->away, away_fn, 0);
        ck_assert_int_eq(swapcontext(&m->in_region, &m->away), 0);
    }
    if (core_check(w, FRAME_WORDS, m->d.seed + level) >= 0)
        m->d.bad++;
}

static void *wander_fn(void *arg)
{
    struct wander *m = arg;
    wander_down(m, m->d.depth, 0);
    return NULL;
}

/* Map a stack of OWN_STACK bytes 64 MiB above or below [lo, hi). */
static char *stack_near(char *lo, char *hi, int above)
{
    for (size_t away = (size_t)64 << 20; away < ((size_t)1 << 34);
         away *= 2) {
        char *at = above ? hi + away : lo - away - OWN_STACK;
        char *p = mmap(at, OWN_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
                       0);
        if (p == at)
            return p;
        if (p != MAP_FAILED)
            munmap(p, OWN_STACK);
    }
    ck_abort_msg("no room for a stack %s the regions",
                 above ? "above" : "below");
    return NULL;
}

/* Layouts: the stack above or below the regions, the task's frames in
 * the region shallow (saved by copying if they were all) or deep.  While
 * it waits, other tasks of its region run and go deep. */
START_TEST(yield_on_own_stack)
{
    int above = _i & 1, deep = _i & 2;
    struct pgs_config c = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    struct pgs_thread *th = pgs__tls;
    static struct wander m;
    memset(&m, 0, sizeof m);
    W = &m;
    m.stack = stack_near(th->reserve, th->reserve + th->reserve_len, above);
    m.d.depth = deep ? 600 << 10 : 8 << 10;
    m.d.seed = 77;
    pgs_task *t = pgs_create(wander_fn, &m);
    ck_assert_ptr_nonnull(t);
    struct dive other;
    pgs_task *o = NULL;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
        if (i == 3)
            break;
        ck_assert_int_eq(pgs_state(t), PGS_SUSPENDED);
        /* It holds what it had mapped (growth doubles), not the region. */
        ck_assert_uint_le(pgs_task_stack_bytes(t),
                          2 * m.d.depth + (256 << 10));
        /* Another task takes the region, deep then shallow. */
        if (o)
            dive_end(o, &other);
        o = dive_start(&other, i == 1 ? 8 << 10 : 700 << 10, 50u + (unsigned)i);
    }
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    ck_assert_int_eq(m.d.bad, 0);
    ck_assert_int_eq(m.away_bad, 0);
    ck_assert_int_eq(pgs_destroy(t), 0);
    dive_end(o, &other);
    munmap(m.stack, OWN_STACK);
}
END_TEST

/* ---- 5: a frame larger than the guard ------------------------------- */

/*
 * One frame, not probed page by page (code built without
 * -fstack-clash-protection), that goes `past` bytes below the bottom of
 * the task's region: the stack pointer moves there and the frame's first
 * store is at it.
 */
static CORE_NOINLINE void huge_frame(size_t past)
{
    struct pgs_thread *th = pgs__tls;
    char *to = pgs__region_of(th, th->current)->base - past;
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %%rcx\n\t"
                     "mov %0, %%rsp\n\t"
                     "movq $0x5a5a5a5a, (%%rsp)\n\t"
                     "mov %%rcx, %%rsp"
                     :
                     : "r"(to)
                     : "rcx", "memory");
#elif defined(__aarch64__)
    __asm__ volatile("mov x9, sp\n\t"
                     "mov sp, %0\n\t"
                     "mov w10, #0x5a5a\n\t"
                     "str x10, [sp]\n\t"
                     "mov sp, x9"
                     :
                     : "r"(to)
                     : "x9", "x10", "memory");
#endif
}

static void *huge_fn(void *arg)
{
    huge_frame((size_t)arg);
    return NULL;
}

/* The child: tasks that keep a secret high in region 0 (and in region 1
 * when the task that overflows is in region 0); the task in region _i
 * overflows by a frame 1 MiB + 256 bytes past its region (beyond the old
 * fixed guard). */
static void overflow_child(void *arg)
{
    int in = (int)(intptr_t)arg;
    struct pgs_config c = { .regions = 2 };
    if (pgs_thread_init(&c) != 0)
        _exit(2);
    struct dive d[2];
    pgs_task *t[2];
    /* The first task takes region 1, the ones after it share region 0. */
    pgs_task *big = NULL;
    if (in == 1)
        big = pgs_create(huge_fn, (void *)(PGS_GUARD + 256));
    for (int i = 0; i < 2; i++) {
        d[i] = (struct dive){ .depth = 2 << 10, .seed = 300u + (unsigned)i };
        t[i] = pgs_create(dive_fn, &d[i]);
        if (!t[i] || pgs_resume(t[i], NULL, NULL) != 0)
            _exit(3);
    }
    if (in == 0)
        big = pgs_create(huge_fn, (void *)(PGS_GUARD + 256));
    if (!big || big->region != (unsigned)in)
        _exit(8);
    pgs_set_name(big, "huge");
    if (!big || pgs_resume(big, NULL, NULL) != 0)
        _exit(4);
    /* The frame went nowhere that reports it. */
    for (int i = 0; i < 2; i++)
        if (pgs_resume(t[i], STOP, NULL) != 0 || d[i].bad)
            _exit(5);
    _exit(6);
}

START_TEST(overflow_by_huge_frame)
{
    if (RUNNING_ON_VALGRIND)
        return; /* valgrind takes a jump of the stack pointer for a switch */
    struct core_child ch;
    core_run_child(overflow_child, (void *)(intptr_t)_i, &ch);
    ck_assert_msg(core_child_segv(&ch) &&
                      strstr(ch.err, "stack overflow in task \"huge\""),
                  "region %d: status %#x, stderr: %s", _i, ch.status, ch.err);
}
END_TEST

/* ---- 8: a forked child and the other threads' stacks ----------------- */

#define SECRET_OLD 0x01d5ec2e7ull
#define SECRET_NEW 0x2ee5ec2e7ull

static struct {
    sem_t go, done;
    volatile uint64_t *volatile secret;
    pgs_task *task;
} F;

static void *secret_task(void *arg)
{
    (void)arg;
    volatile uint64_t secret = SECRET_OLD;
    F.secret = &secret;
    pgs_yield(NULL);
    secret = SECRET_NEW;
    pgs_yield(NULL);
    F.secret = NULL;
    return NULL;
}

/* Another thread: its task holds the secret; on each go it resumes it. */
static void *secret_thread(void *arg)
{
    (void)arg;
    F.task = pgs_create(secret_task, NULL);
    ck_assert_ptr_nonnull(F.task);
    ck_assert_int_eq(pgs_resume(F.task, NULL, NULL), 0);
    sem_post(&F.done);
    sem_wait(&F.go);
    ck_assert_int_eq(pgs_resume(F.task, NULL, NULL), 0); /* changes it */
    sem_post(&F.done);
    sem_wait(&F.go);
    ck_assert_int_eq(pgs_resume(F.task, NULL, NULL), 0);
    ck_assert_int_eq(pgs_destroy(F.task), 0);
    return NULL;
}

/* The child never sees what the other thread's task puts on its stack
 * after the fork: the other thread's region is gone from the child.  The
 * task itself can only be destroyed there. */
START_TEST(fork_releases_other_threads)
{
    ck_assert_int_eq(sem_init(&F.go, 0, 0), 0);
    ck_assert_int_eq(sem_init(&F.done, 0, 0), 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, secret_thread, NULL), 0);
    sem_wait(&F.done);
    int p[2], q[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(pipe(q), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char c;
        if (read(p[0], &c, 1) != 1)
            _exit(10);
        /* Read the secret's address without faulting: write(2) says
         * EFAULT if nothing is mapped there. */
        uint64_t seen = 0;
        if (write(q[1], (const void *)F.secret, sizeof seen) ==
            (ssize_t)sizeof seen) {
            if (read(q[0], &seen, sizeof seen) != (ssize_t)sizeof seen)
                _exit(11);
            if (seen == SECRET_NEW)
                _exit(12);
        } else if (errno != EFAULT) {
            _exit(13);
        }
        errno = 0;
        if (pgs_resume(F.task, NULL, NULL) != -1 || errno != EPERM)
            _exit(14);
        if (pgs_destroy(F.task) != 0)
            _exit(15);
        _exit(0);
    }
    sem_post(&F.go);
    sem_wait(&F.done); /* the secret is SECRET_NEW in the parent now */
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    sem_post(&F.go);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "the child ended with status %#x (12: it saw the other "
                  "thread's new secret; 15: it could not destroy its task)",
                  st);
}
END_TEST

/* ---- 9: reading a task from another thread -------------------------- */

static pgs_task *watched;
static int watch_stop;

/* Reads what the header allows from any thread, as fast as it can. */
static void *watcher(void *arg)
{
    long *reads = arg;
    while (!__atomic_load_n(&watch_stop, __ATOMIC_ACQUIRE)) {
        pgs_task *t = __atomic_load_n(&watched, __ATOMIC_ACQUIRE);
        int st = pgs_state(t);
        ck_assert_int_ge(st, PGS_CREATED);
        ck_assert_int_le(st, PGS_DONE);
        ck_assert_uint_eq(pgs_task_stack_bytes(t), 0); /* not its task */
        (*reads)++;
    }
    return NULL;
}

/* The owner: its task takes turns with another of its region (so its
 * stack moves), then the thread exits with the task alive, freeing its
 * regions while the watcher reads on. */
static void *owner(void *arg)
{
    pgs_task *t = arg;
    struct pgs_config c = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    t = pgs_create(core_yield_forever, NULL);
    pgs_task *other = pgs_create(core_yield_forever, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(other);
    __atomic_store_n(&watched, t, __ATOMIC_RELEASE);
    for (int i = 0; i < 2000; i++) {
        ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
        ck_assert_int_eq(pgs_resume(other, NULL, NULL), 0);
    }
    ck_assert_int_eq(pgs_destroy(other), 0);
    return t;
}

/* pgs_state from any thread is no data race (ThreadSanitizer's build is
 * the judge); pgs_task_stack_bytes elsewhere than on the owner says 0 and
 * reads nothing its owner's exit frees (AddressSanitizer's build). */
START_TEST(read_from_other_thread)
{
    pgs_task *first = pgs_create(core_return_arg, NULL); /* something to */
    ck_assert_ptr_nonnull(first);                         /* watch first */
    watched = first;
    long reads = 0;
    pthread_t w, o;
    ck_assert_int_eq(pthread_create(&w, NULL, watcher, &reads), 0);
    ck_assert_int_eq(pthread_create(&o, NULL, owner, NULL), 0);
    void *t;
    ck_assert_int_eq(pthread_join(o, &t), 0);
    /* The owner has exited: the watcher goes on reading the orphan. */
    for (int i = 0; i < 1000; i++)
        sched_yield();
    __atomic_store_n(&watch_stop, 1, __ATOMIC_RELEASE);
    ck_assert_int_eq(pthread_join(w, NULL), 0);
    ck_assert_int_gt(reads, 0);
    ck_assert_int_eq(pgs_state(t), PGS_SUSPENDED);
    ck_assert_int_eq(pgs_destroy(t), 0);
    ck_assert_int_eq(pgs_destroy(first), 0);
}
END_TEST

/* ---- 12: under AddressSanitizer, only reachable shadow is reset ----- */

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

/* A switch resets the shadow of what the incoming task can reach, not of
 * the whole region: a byte poisoned far below every task's stack stays
 * poisoned through switches of shallow and deep tasks.  (Resetting the
 * whole region made a switch cost 57 native ones at 8 MiB.)  Only the
 * AddressSanitizer build has a shadow to look at. */
START_TEST(asan_reset_follows_live_stack)
{
#if defined(__SANITIZE_ADDRESS__)
    struct pgs_config c = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&c), 0);
    struct pgs_region *r = &pgs__tls->regions[0];
    char *far = r->base + PGS_PAGE;
    __asan_poison_memory_region(far, 64);
    struct dive a, b, d;
    pgs_task *ta = dive_start(&a, 2 << 10, 1);
    pgs_task *tb = dive_start(&b, 3 << 10, 2);
    pgs_task *td = dive_start(&d, 700 << 10, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pgs_resume(ta, NULL, NULL), 0);
        ck_assert_int_eq(pgs_resume(td, NULL, NULL), 0);
        ck_assert_int_eq(pgs_resume(tb, NULL, NULL), 0);
    }
    ck_assert_msg(__asan_address_is_poisoned(far),
                  "a switch reset the shadow 8 MiB below any stack");
    dive_end(ta, &a);
    dive_end(tb, &b);
    dive_end(td, &d);
    __asan_unpoison_memory_region(far, 64);
#endif
}
END_TEST

void core_add_defects(Suite *s)
{
    TCase *tc = core_tcase(s, "defects");
    tcase_add_test(tc, fsize_limit_respected);
    tcase_add_test(tc, fsize_limit_exhausted);
    tcase_add_test(tc, cap_too_small_for_one_task);
    tcase_add_test(tc, cap_size_max_switches);
    tcase_add_test(tc, copy_buffer_above_4gib);
    tcase_add_test(tc, destroy_twice);
    tcase_add_loop_test(tc, yield_on_own_stack, 0, 4);
    tcase_add_loop_test(tc, overflow_by_huge_frame, 0, 2);
    tcase_add_test(tc, fork_releases_other_threads);
    tcase_add_test(tc, read_from_other_thread);
    tcase_add_test(tc, asan_reset_follows_live_stack);
}
