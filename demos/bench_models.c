/* SPDX-License-Identifier: MIT */
/*
 * pagedstack, copy-stack and pthread models of the switch benchmark.
 *
 * pagedstack: the public API, linked from libpagedstack-internal (whose
 * system call wrappers count every call, lib/sys.h).  "System calls" per
 * round trip are the calls the library made through those wrappers (mmap,
 * madvise, fallocate, mprotect, munmap, memfd, ftruncate, sigaltstack,
 * sigaction; not malloc) plus one rt_sigreturn per stack fault it served.
 * demos/run_bench.sh cross-checks the figure under strace.
 *
 * copy-stack: one shared 8 MiB stack per thread, as in libco's share-stack
 * mode and libaco.  Resuming a task that is not the stack's occupant copies
 * the occupant's live bytes (from its saved stack pointer to the top) into
 * its own malloc'd buffer of exactly that size (reallocated only when the
 * size changes, as libaco does; libco frees and mallocs every time), then
 * copies the incoming task's bytes back, then switches with pgs__switch.
 * The copying runs on the scheduler's stack, outside the shared one.
 *
 * pthread: the scheduler and one thread per task, handing control back and
 * forth through futexes (each side sleeps in FUTEX_WAIT until the other
 * wakes it), the classic ping-pong.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "pagedstack.h"
#include "stack_copy.h"
#include "switch.h"
#include "sys.h"
#include "bench_models.h"

/* Declared in lib/sys.h only for PGS_FAULT_INJECTION builds; the internal
 * library has it. */
unsigned long pgs__inject_calls(int point);

/* ---- pagedstack --------------------------------------------------------- */

double bench_pgs_lib_calls(void)
{
    double n = 0;
    for (int p = 0; p < PGS_FP_COUNT; p++)
        if (p != PGS_FP_MALLOC)
            n += (double)pgs__inject_calls(p);
    return n;
}

void bench_pgs_counters(double out[3])
{
    struct pgs_stats st;
    pgs_stats(&st);
    out[0] = (double)st.faults;
    out[1] = (double)st.remaps;
    out[2] = bench_pgs_lib_calls() + (double)st.faults;
}

struct pgs_ring {
    size_t n, pos;
    pgs_task **t;
    struct bench_task bt;
    struct bench_result *r;
};

BENCH_DEFINE_TASK(pgs_task_body, pgs_yield(NULL))

static void *pgs_body(void *arg)
{
    pgs_task_body(arg);
    return NULL;
}

static void pgs_fail(struct bench_result *r, const char *what, size_t i)
{
    snprintf(r->note, sizeof r->note, "LIBRARY ERROR: %s (task %zu): %s",
             what, i, strerror(errno));
    fprintf(stderr, "bench: pagedstack: %s\n", r->note);
}

static void pgs_teardown(void *p)
{
    struct pgs_ring *g = p;
    for (size_t i = 0; i < g->n; i++)
        if (g->t[i] && pgs_destroy(g->t[i]) != 0)
            pgs_fail(g->r, "pgs_destroy", i);
    if (pgs_thread_fini() != 0)
        pgs_fail(g->r, "pgs_thread_fini", 0);
    free(g->t);
    free(g);
}

/* ThreadSanitizer keeps at most 8128 threads and fibers alive, and every
 * task is a fiber there. */
#if defined(__SANITIZE_THREAD__)
#define PGS_MAX_TASKS 8000
#else
#define PGS_MAX_TASKS ((size_t)-1)
#endif

static void *pgs_setup(const struct bench_scen *s, struct bench_result *r)
{
    if (s->n > PGS_MAX_TASKS) {
        snprintf(r->note, sizeof r->note,
                 "not run: %zu tasks (ThreadSanitizer keeps up to %zu fibers)",
                 s->n, (size_t)PGS_MAX_TASKS);
        return NULL;
    }
    struct pgs_config cfg = { .regions = s->regions };
    if (pgs_thread_init(&cfg) != 0) {
        pgs_fail(r, "pgs_thread_init", 0);
        return NULL;
    }
    struct pgs_ring *g = calloc(1, sizeof *g);
    g->t = calloc(s->n, sizeof *g->t);
    if (!g || !g->t) {
        snprintf(r->note, sizeof r->note, "out of memory");
        return NULL;
    }
    g->n = s->n;
    g->r = r;
    g->bt.depth = s->depth;
    g->bt.whole = s->whole;
    g->bt.spike = s->spike;
    for (size_t i = 0; i < s->n; i++) {
        if (!(g->t[i] = pgs_create(pgs_body, &g->bt))) {
            pgs_fail(r, "pgs_create", i);
            pgs_teardown(g);
            return NULL;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        if (pgs_resume(g->t[i], NULL, NULL) != 0) {
            pgs_fail(r, "first pgs_resume", i);
            pgs_teardown(g);
            return NULL;
        }
    }
    return g;
}

static int pgs_run(void *p, uint64_t iters)
{
    struct pgs_ring *g = p;
    size_t pos = g->pos, n = g->n;
    pgs_task **t = g->t;
    for (uint64_t k = 0; k < iters; k++) {
        if (__builtin_expect(pgs_resume(t[pos], NULL, NULL) != 0, 0)) {
            pgs_fail(g->r, "pgs_resume", pos);
            return -1;
        }
        if (++pos == n)
            pos = 0;
    }
    g->pos = pos;
    return 0;
}

static void pgs_ring_counters(void *p, double out[3])
{
    (void)p;
    bench_pgs_counters(out);
}

const struct bench_ring_ops bench_pgs_ops = {
    "pagedstack", pgs_setup, pgs_run, pgs_teardown, pgs_ring_counters, NULL
};

/* Per task: create, first resume (the task finishes at once, or for
 * growth goes down to its depth and yields), destroy. */
struct pgs_op {
    struct bench_task bt;
    struct bench_result *r;
};

static int pgs_op_run(void *p, uint64_t count)
{
    struct pgs_op *o = p;
    for (uint64_t k = 0; k < count; k++) {
        pgs_task *t = pgs_create(pgs_body, &o->bt);
        if (!t) {
            pgs_fail(o->r, "pgs_create", (size_t)k);
            return -1;
        }
        if (pgs_resume(t, NULL, NULL) != 0) {
            pgs_fail(o->r, "pgs_resume", (size_t)k);
            return -1;
        }
        if (pgs_destroy(t) != 0) {
            pgs_fail(o->r, "pgs_destroy", (size_t)k);
            return -1;
        }
    }
    return 0;
}

static void pgs_op_counters(void *p, double out[3])
{
    (void)p;
    bench_pgs_counters(out);
}

struct op_call {
    const struct bench_scen *s;
    uint64_t fixed;
};

static void pgs_op_child(void *p, struct bench_result *r)
{
    struct op_call *c = p;
    struct pgs_op o = { { .depth = c->s->depth,
                          .grow = c->s->kind == BK_GROWTH,
                          .finish = c->s->kind == BK_CREATE },
                        r };
    if (pgs_thread_init(NULL) != 0) {
        pgs_fail(r, "pgs_thread_init", 0);
        return;
    }
    bench_ops(pgs_op_run, &o, c->s, r, c->fixed, pgs_op_counters);
    if (!r->ok || c->s->kind != BK_CREATE)
        return;
    /* pgs_create alone, apart from the resume: the goal is that creating
     * a task costs no system call. */
    enum { N = 4096 };
    static pgs_task *t[N];
    double before = bench_pgs_lib_calls();
    for (int i = 0; i < N; i++)
        if (!(t[i] = pgs_create(pgs_body, &o.bt))) {
            pgs_fail(r, "pgs_create", (size_t)i);
            r->ok = 0;
            return;
        }
    double calls = bench_pgs_lib_calls() - before;
    for (int i = 0; i < N; i++)
        pgs_destroy(t[i]);
    snprintf(r->note, sizeof r->note,
             "pgs_create alone: %.4f library syscalls per create "
             "(%d creates)", calls / N, N);
    r->bytes = calls / N; /* kept for the goals table */
}

void bench_pgs_create(const struct bench_scen *s, struct bench_result *r)
{
    struct op_call c = { s, 0 };
    bench_isolated(pgs_op_child, &c, r);
}

void bench_pgs_growth(const struct bench_scen *s, struct bench_result *r)
{
    struct op_call c = { s, 1 };
    bench_isolated(pgs_op_child, &c, r);
}

int bench_pgs_count(const struct bench_scen *s, uint64_t iters)
{
    struct bench_result r;
    bench_result_init(&r);
    double c0[3], c1[3];
    if (s->kind == BK_CREATE) {
        pgs_task **t = calloc(iters, sizeof *t);
        struct bench_task bt = { .finish = 1 };
        if (!t || pgs_thread_init(NULL) != 0)
            return -1;
        bench_pgs_counters(c0);
        for (uint64_t k = 0; k < iters; k++)
            if (!(t[k] = pgs_create(pgs_body, &bt))) {
                pgs_fail(&r, "pgs_create", (size_t)k);
                return -1;
            }
        bench_pgs_counters(c1);
        for (uint64_t k = 0; k < iters; k++)
            pgs_destroy(t[k]);
        free(t);
    } else {
        void *g = pgs_setup(s, &r);
        if (!g)
            return -1;
        if (pgs_run(g, s->n) != 0) /* one round, as the benchmark does */
            return -1;
        bench_pgs_counters(c0);
        if (pgs_run(g, iters) != 0)
            return -1;
        bench_pgs_counters(c1);
        pgs_teardown(g);
    }
    printf("count %s: %llu %s: library syscalls %.0f (%.4f each), "
           "stack faults %.0f, remaps %.0f\n",
           s->name, (unsigned long long)iters,
           s->kind == BK_CREATE ? "creates" : "round trips", c1[2] - c0[2],
           (c1[2] - c0[2]) / (double)iters, c1[0] - c0[0], c1[1] - c0[1]);
    return 0;
}

/* ---- copy-stack --------------------------------------------------------- */

#define CS_STACK ((size_t)8 << 20)

struct cs_task {
    void *sp;    /* saved stack pointer; NULL before the first run */
    char *buf;   /* its live bytes while another task occupies the stack */
    size_t len;
    struct bench_task *bt;
    int done;    /* its function returned: it leaves nothing to save */
};

struct cs_ring {
    size_t n, pos;
    struct cs_task *t;
    struct bench_task bt;
    char *mem;   /* guard page + shared stack */
    char *top;
    struct cs_task *occupant, *current;
    void *main_sp;
    struct bench_result *r;
};

static __thread struct cs_ring *cs_cur;

static __attribute__((noinline)) void cs_yield(void)
{
    struct cs_ring *g = cs_cur;
    pgs__switch(&g->current->sp, g->main_sp, NULL);
}

BENCH_DEFINE_TASK(cs_task_body, cs_yield())

static void cs_entry(void *arg)
{
    struct cs_task *t = arg;
    cs_task_body(t->bt);
    /* Finished: the stack is free, and the task is never resumed again. */
    t->done = 1;
    cs_cur->occupant = NULL;
    cs_yield();
}

static inline int cs_resume(struct cs_ring *g, struct cs_task *t)
{
    if (g->occupant != t) {
        struct cs_task *o = g->occupant;
        if (o) {
            size_t len = (size_t)(g->top - (char *)o->sp);
            if (len != o->len) {
                free(o->buf);
                o->buf = malloc(len);
                if (!o->buf)
                    return -1;
                o->len = len;
            }
            stack_copy(o->buf, o->sp, len);
        }
        if (t->sp)
            stack_copy(t->sp, t->buf, t->len);
        else
            t->sp = pgs__frame_init(g->top, cs_entry, t);
        g->occupant = t;
    }
    g->current = t;
    pgs__switch(&g->main_sp, t->sp, NULL);
    return 0;
}

static struct cs_ring *cs_open(const struct bench_scen *s,
                               struct bench_result *r)
{
    struct cs_ring *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->mem = mmap(NULL, CS_STACK + 4096, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                  -1, 0);
    if (g->mem == MAP_FAILED) {
        free(g);
        return NULL;
    }
    mprotect(g->mem, 4096, PROT_NONE);
    g->top = g->mem + 4096 + CS_STACK;
    g->r = r;
    g->bt.depth = s->depth;
    g->bt.whole = s->whole;
    g->bt.grow = s->kind == BK_GROWTH;
    g->bt.finish = s->kind == BK_CREATE;
    g->bt.spike = s->spike;
    cs_cur = g;
    return g;
}

static void cs_teardown(void *p)
{
    struct cs_ring *g = p;
    for (size_t i = 0; i < g->n; i++)
        free(g->t[i].buf);
    free(g->t);
    munmap(g->mem, CS_STACK + 4096);
    cs_cur = NULL;
    free(g);
}

static void *cs_setup(const struct bench_scen *s, struct bench_result *r)
{
    struct cs_ring *g = cs_open(s, r);
    if (!g || !(g->t = calloc(s->n, sizeof *g->t))) {
        snprintf(r->note, sizeof r->note, "out of memory");
        return NULL;
    }
    g->n = s->n;
    for (size_t i = 0; i < s->n; i++) {
        g->t[i].bt = &g->bt;
        if (cs_resume(g, &g->t[i]) != 0) {
            snprintf(r->note, sizeof r->note, "out of memory");
            cs_teardown(g);
            return NULL;
        }
    }
    return g;
}

static int cs_run(void *p, uint64_t iters)
{
    struct cs_ring *g = p;
    size_t pos = g->pos, n = g->n;
    for (uint64_t k = 0; k < iters; k++) {
        if (__builtin_expect(cs_resume(g, &g->t[pos]) != 0, 0)) {
            snprintf(g->r->note, sizeof g->r->note, "out of memory");
            return -1;
        }
        if (++pos == n)
            pos = 0;
    }
    g->pos = pos;
    return 0;
}

/* The live stack a task saves: from its saved stack pointer (below the
 * switch frame) to the top. */
static double cs_live(void *p)
{
    struct cs_ring *g = p;
    return g->n && g->t[0].sp ? (double)(g->top - (char *)g->t[0].sp) : -1;
}

const struct bench_ring_ops bench_copy_ops = {
    "copy-stack", cs_setup, cs_run, cs_teardown, NULL, cs_live
};

static int cs_op_run(void *p, uint64_t count)
{
    struct cs_ring *g = p;
    for (uint64_t k = 0; k < count; k++) {
        struct cs_task *t = calloc(1, sizeof *t);
        if (!t)
            return -1;
        t->bt = &g->bt;
        if (cs_resume(g, t) != 0)
            return -1;
        if (g->occupant == t) /* growth: destroyed while suspended */
            g->occupant = NULL;
        free(t->buf);
        free(t);
    }
    return 0;
}

static void cs_op_child(void *p, struct bench_result *r)
{
    struct op_call *c = p;
    struct cs_ring *g = cs_open(c->s, r);
    if (!g) {
        snprintf(r->note, sizeof r->note, "out of memory");
        return;
    }
    bench_ops(cs_op_run, g, c->s, r, c->fixed, NULL);
    if (c->s->kind == BK_GROWTH && r->ok)
        snprintf(r->note, sizeof r->note,
                 "the shared stack keeps its pages after the first growth");
    cs_teardown(g);
}

void bench_copy_create(const struct bench_scen *s, struct bench_result *r)
{
    struct op_call c = { s, 0 };
    bench_isolated(cs_op_child, &c, r);
}

void bench_copy_growth(const struct bench_scen *s, struct bench_result *r)
{
    struct op_call c = { s, 1 };
    bench_isolated(cs_op_child, &c, r);
}

/* ---- pthreads ----------------------------------------------------------- */

#define PT_MAX 1000 /* more threads than this: not run */
/* Stack beyond the live depth: the worker's own frames (far larger in a
 * ThreadSanitizer build). */
#if defined(__SANITIZE_THREAD__)
#define PT_SLACK ((size_t)4 << 20)
#else
#define PT_SLACK ((size_t)256 << 10)
#endif

struct pt_ring;

struct pt_worker {
    int go;  /* set by the scheduler to let the worker run */
    int stop;
    struct pt_ring *g;
    pthread_t th;
};

struct pt_ring {
    size_t n, pos;
    struct pt_worker *w;
    struct bench_task bt;
    int back; /* set by a worker when it yields */
};

static __thread struct pt_worker *pt_self;

static void futex_wait(int *addr, int val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(int *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void pt_yield(void)
{
    struct pt_worker *w = pt_self;
    __atomic_store_n(&w->g->back, 1, __ATOMIC_RELEASE);
    futex_wake(&w->g->back);
    while (!__atomic_load_n(&w->go, __ATOMIC_ACQUIRE))
        futex_wait(&w->go, 0);
    w->go = 0;
    if (w->stop)
        pthread_exit(NULL);
}

BENCH_DEFINE_TASK(pt_task_body, pt_yield())

static void *pt_main(void *arg)
{
    pt_self = arg;
    pt_task_body(&pt_self->g->bt);
    return NULL;
}

static void pt_wait_back(struct pt_ring *g)
{
    while (!__atomic_load_n(&g->back, __ATOMIC_ACQUIRE))
        futex_wait(&g->back, 0);
    g->back = 0;
}

static void pt_teardown(void *p)
{
    struct pt_ring *g = p;
    for (size_t i = 0; i < g->n; i++) {
        struct pt_worker *w = &g->w[i];
        if (!w->g)
            continue;
        w->stop = 1;
        __atomic_store_n(&w->go, 1, __ATOMIC_RELEASE);
        futex_wake(&w->go);
        pthread_join(w->th, NULL);
    }
    free(g->w);
    free(g);
}

static void *pt_setup(const struct bench_scen *s, struct bench_result *r)
{
    if (s->n > PT_MAX) {
        snprintf(r->note, sizeof r->note,
                 "not run: %zu threads (the model runs up to %d)", s->n,
                 PT_MAX);
        return NULL;
    }
    struct pt_ring *g = calloc(1, sizeof *g);
    if (!g || !(g->w = calloc(s->n, sizeof *g->w))) {
        snprintf(r->note, sizeof r->note, "out of memory");
        return NULL;
    }
    g->n = s->n;
    g->bt.depth = s->depth;
    g->bt.whole = s->whole;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, s->depth + PT_SLACK);
    for (size_t i = 0; i < s->n; i++) {
        struct pt_worker *w = &g->w[i];
        w->g = g;
        if (pthread_create(&w->th, &a, pt_main, w) != 0) {
            w->g = NULL;
            snprintf(r->note, sizeof r->note, "pthread_create failed at %zu",
                     i);
            pt_teardown(g);
            return NULL;
        }
        pt_wait_back(g); /* it went down to its depth and yielded */
    }
    pthread_attr_destroy(&a);
    return g;
}

static int pt_run(void *p, uint64_t iters)
{
    struct pt_ring *g = p;
    size_t pos = g->pos, n = g->n;
    for (uint64_t k = 0; k < iters; k++) {
        struct pt_worker *w = &g->w[pos];
        __atomic_store_n(&w->go, 1, __ATOMIC_RELEASE);
        futex_wake(&w->go);
        pt_wait_back(g);
        if (++pos == n)
            pos = 0;
    }
    g->pos = pos;
    return 0;
}

const struct bench_ring_ops bench_pthread_ops = {
    "pthread", pt_setup, pt_run, pt_teardown, NULL, NULL
};

/* Per task: pthread_create of a thread that returns at once, and join. */
static void *pt_nothing(void *arg)
{
    return arg;
}

static int pt_op_run(void *p, uint64_t count)
{
    struct bench_result *r = p;
    for (uint64_t k = 0; k < count; k++) {
        pthread_t t;
        if (pthread_create(&t, NULL, pt_nothing, NULL) != 0) {
            snprintf(r->note, sizeof r->note, "pthread_create failed");
            return -1;
        }
        pthread_join(t, NULL);
    }
    return 0;
}

static void pt_op_child(void *p, struct bench_result *r)
{
    struct op_call *c = p;
    bench_ops(pt_op_run, r, c->s, r, c->fixed, NULL);
    if (r->ok)
        snprintf(r->note, sizeof r->note,
                 "pthread_create + join (glibc reuses cached stacks)");
}

void bench_pthread_create(const struct bench_scen *s, struct bench_result *r)
{
    struct op_call c = { s, 0 };
    bench_isolated(pt_op_child, &c, r);
}
