/* SPDX-License-Identifier: MIT */
/*
 * The operations of the fault-injection loops, as the child process runs
 * them: setup (disarmed), the armed operation, and recovery, in which
 * every task that existed before the operation is resumed and its stack
 * checked, a new task is created and run, everything is destroyed, the
 * thread is finalised and /proc/self/fd and /proc/self/maps are compared
 * with what they were before the library was first called.
 *
 * The child reports on stdout, one line per fact, for rel_inject.c:
 *   RUN pid role phase rc errno point site   after the armed operation
 *   BAD pid text                             a check that failed
 *   NOTE pid text                            worth knowing, not wrong
 *   DONE pid                                 recovery finished
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sys.h"
#include "rel_inject.h"
#include "memcheck.h"

#define NT 8

/* Everything the child knows; a static, so that fork copies it. */
static struct {
    const struct inj_op *op;
    long n;
    struct rel_snap base;       /* before the library was called */
    struct rel_snap pre;        /* before the operation (thread) */
    struct rel_pat pat[NT];
    pgs_task *t[NT];
    int nt;
    long point;                 /* what the armed operation hit */
    const char *site;
    const char *role;           /* "-", or "parent" / "child" (fork) */
    const char *phase;          /* "-", or "prepare" (fork: before it) */
    /* fork */
    long pre_point;
    const char *pre_site;
    pid_t child;
    /* thread */
    int th_rc, th_err;
    struct rel_pat th_pat[3];
    pgs_task *th_t[3];
} C;

static void warm_malloc(size_t n);

/* ---- reporting ------------------------------------------------------------ */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(STDOUT_FILENO, buf, (size_t)n);
    (void)w;
}

#define BAD(...) say("BAD %d " __VA_ARGS__, (int)getpid())
#define BAD_ARGS(fmt, ...) say("BAD %d " fmt, (int)getpid(), __VA_ARGS__)
#define NOTE_ARGS(fmt, ...) say("NOTE %d " fmt, (int)getpid(), __VA_ARGS__)

/* Setup must work: without it the run means nothing. */
static void need(int ok, const char *what)
{
    if (!ok) {
        say("BAD %d setup failed: %s (%s)", (int)getpid(), what,
            strerror(errno));
        _exit(3);
    }
}

/* ---- tasks ------------------------------------------------------------------ */

static void init_thread(unsigned regions)
{
    struct pgs_config cfg = { .regions = regions };
    need(pgs_thread_init(&cfg) == 0, "pgs_thread_init");
}

/* Prepare pattern task k (not created yet). */
static int prep(size_t depth)
{
    int k = C.nt++;
    rel_pat_init(&C.pat[k], (unsigned)k + 1, depth,
                 0x1234567800000000ull + (uint64_t)k * 7919);
    return k;
}

static int add(size_t depth, const char *name)
{
    int k = prep(depth);
    C.t[k] = rel_pat_create(&C.pat[k]);
    need(C.t[k] != NULL, "pgs_create");
    pgs_set_name(C.t[k], name);
    return k;
}

static void start(int k)
{
    need(pgs_resume(C.t[k], NULL, NULL) == 0, "first pgs_resume");
    need(C.pat[k].at_bottom || C.pat[k].lazy, "task reached its bottom");
}

/* Check task k's stack, finish it (checking on the way up), destroy it. */
static void finish(int k)
{
    pgs_task *t = C.t[k];
    struct rel_pat *p = &C.pat[k];
    if (!t)
        return;
    if (pgs_state(t) == PGS_CREATED && pgs_resume(t, NULL, NULL) != 0)
        BAD_ARGS("task %s cannot start after the operation: %s",
                 pgs_name(t), strerror(errno));
    if (pgs_state(t) == PGS_SUSPENDED && p->lazy && !p->at_bottom &&
        pgs_resume(t, NULL, NULL) != 0)
        BAD_ARGS("task %s cannot go on: %s", pgs_name(t), strerror(errno));
    if (pgs_state(t) == PGS_SUSPENDED) {
        if (rel_pat_cmd(t, p, REL_CMD_CHECK) != 0)
            BAD_ARGS("task %s cannot be resumed after the operation: %s",
                     pgs_name(t), strerror(errno));
        else if (rel_pat_cmd(t, p, REL_CMD_FINISH) != 0)
            BAD_ARGS("task %s cannot finish: %s", pgs_name(t),
                     strerror(errno));
    }
    if (pgs_state(t) != PGS_DONE)
        BAD_ARGS("task %s is in state %d, not done", pgs_name(t),
                 pgs_state(t));
    if (p->bad)
        BAD_ARGS("task %s found %ld words of its stack changed", pgs_name(t),
                 p->bad);
    if (pgs_destroy(t) != 0)
        BAD_ARGS("pgs_destroy(%s) failed after the operation: %s",
                 pgs_name(t), strerror(errno));
    C.t[k] = NULL;
}

static void finish_all(void)
{
    for (int k = 0; k < C.nt; k++)
        finish(k);
}

/* A new task still works: deep enough to need growth and a remap. */
static void fresh(size_t depth)
{
    struct rel_pat p;
    rel_pat_init(&p, 99, depth, 0xfeedull);
    pgs_task *t = rel_pat_create(&p);
    if (!t) {
        BAD_ARGS("a new task cannot be created after the operation: %s",
                 strerror(errno));
        return;
    }
    if (pgs_resume(t, NULL, NULL) != 0 ||
        rel_pat_cmd(t, &p, REL_CMD_CHECK) != 0 ||
        rel_pat_cmd(t, &p, REL_CMD_FINISH) != 0)
        BAD_ARGS("a new task cannot run after the operation: %s",
                 strerror(errno));
    if (p.bad || pgs_state(t) != PGS_DONE)
        BAD_ARGS("a new task went wrong (bad %ld, state %d)", p.bad,
                 pgs_state(t));
    pgs_destroy(t);
}

/* Finalise the thread and compare the process with how it started. */
static void end(void)
{
    char why[2048];
    struct rel_snap now;
    if (pgs_thread_fini() != 0)
        BAD_ARGS("pgs_thread_fini: %s", strerror(errno));
    rel_snap_take(&now);
    if (rel_snap_diff(&C.base, &now, why, sizeof why) != 0)
        BAD_ARGS("leak after pgs_thread_fini: %s", why);
}

static void recover_common(void)
{
    finish_all();
    fresh(64 * REL_KIB);
    fresh(600 * REL_KIB);
    end();
}

/* ---- init ------------------------------------------------------------------- */

static void setup_none(void)
{
}

static int run_init(void)
{
    struct pgs_config cfg = { .regions = 2 };
    return pgs_thread_init(&cfg);
}

static void recover_init(int rc, int err)
{
    char why[2048];
    struct rel_snap now;
    (void)err;
    if (rc != 0) {
        rel_snap_take(&now);
        if (rel_snap_diff(&C.base, &now, why, sizeof why) != 0)
            BAD_ARGS("a failed pgs_thread_init left something: %s", why);
        struct pgs_config cfg = { .regions = 2 };
        if (pgs_thread_init(&cfg) != 0) {
            if (C.point == PGS_FP_SIGACTION && errno == EPERM) {
                NOTE_ARGS("%s", "the handler could not be installed: the "
                          "library stays unusable in this process");
                return;
            }
            BAD_ARGS("pgs_thread_init fails again once disarmed: %s",
                     strerror(errno));
            return;
        }
    }
    recover_common();
}

/* ---- create ----------------------------------------------------------------- */

static int created_k = -1;

static void setup_create_first(void)
{
    created_k = prep(200 * REL_KIB);
}

static void setup_create(void)
{
    init_thread(1);
    start(add(100 * REL_KIB, "shallow"));
    start(add(600 * REL_KIB, "deep"));
    created_k = prep(200 * REL_KIB);
}

static int run_create(void)
{
    C.t[created_k] = rel_pat_create(&C.pat[created_k]);
    return C.t[created_k] ? 0 : -1;
}

static void recover_create(int rc, int err)
{
    (void)err;
    if (rc != 0) {
        C.t[created_k] = rel_pat_create(&C.pat[created_k]);
        if (!C.t[created_k]) {
            if (C.point == PGS_FP_SIGACTION && errno == EPERM) {
                NOTE_ARGS("%s", "the handler could not be installed: the "
                          "library stays unusable in this process");
                return;
            }
            BAD_ARGS("pgs_create fails again once disarmed: %s",
                     strerror(errno));
            return;
        }
    }
    pgs_set_name(C.t[created_k], "new");
    recover_common();
}

/* ---- first resume ------------------------------------------------------------ */

static void setup_resume_empty(void)
{
    init_thread(2);
    created_k = add(32 * REL_KIB, "new");
}

static void setup_resume_busy(void)
{
    init_thread(1);
    start(add(600 * REL_KIB, "deep"));    /* evicted: takes its extent */
    start(add(100 * REL_KIB, "shallow")); /* resident */
    created_k = add(32 * REL_KIB, "new");
}

static int run_start(void)
{
    return pgs_resume(C.t[created_k], NULL, NULL);
}

static void recover_start(int rc, int err)
{
    (void)err;
    pgs_task *t = C.t[created_k];
    if (rc != 0 && pgs_state(t) != PGS_CREATED)
        BAD_ARGS("a failed first resume left the task in state %d",
                 pgs_state(t));
    recover_common();
}

/* ---- growth ------------------------------------------------------------------ */

static int grow_k;

static void setup_growth(void)
{
    init_thread(2);
    grow_k = prep(REL_MIB);
    C.pat[grow_k].lazy = 1;
    C.t[grow_k] = rel_pat_create(&C.pat[grow_k]);
    need(C.t[grow_k] != NULL, "pgs_create");
    pgs_set_name(C.t[grow_k], "growth");
    start(grow_k);                      /* yields before recursing */
    start(add(64 * REL_KIB, "other"));  /* in the other region */
}

static int run_growth(void)
{
    /* The task recurses 1 MiB deep: its stack grows in the fault handler. */
    return pgs_resume(C.t[grow_k], NULL, NULL);
}

static void recover_plain(int rc, int err)
{
    (void)rc;
    (void)err;
    recover_common();
}

/* ---- switches ------------------------------------------------------------------ */

static int switch_k;

static void setup_switch_copy(void)
{
    init_thread(1);
    switch_k = add(150 * REL_KIB, "a");
    start(switch_k);
    start(add(150 * REL_KIB, "b")); /* a is saved by copying */
}

static void setup_switch_extent(void)
{
    init_thread(1);
    switch_k = add(600 * REL_KIB, "a");
    start(switch_k);
    start(add(700 * REL_KIB, "b")); /* a takes its extent away */
}

static int run_switch(void)
{
    return rel_pat_cmd(C.t[switch_k], &C.pat[switch_k], REL_CMD_CHECK);
}

static void recover_switch(int rc, int err)
{
    (void)err;
    if (rc != 0 && pgs_state(C.t[switch_k]) != PGS_SUSPENDED)
        BAD_ARGS("a failed resume left the task in state %d",
                 pgs_state(C.t[switch_k]));
    recover_common();
}

/* A task resumes another of its region, which yields back to it: the
 * switch back cannot report an error to anyone. */
static int inner_k, outer_k;

static void nested_hook(struct rel_pat *p)
{
    if (rel_pat_cmd(C.t[inner_k], &C.pat[inner_k], REL_CMD_CHECK) != 0)
        p->hook_result = -errno;
    else
        p->hook_result = 0;
}

static void setup_switch_nested(void)
{
    init_thread(1);
    inner_k = add(150 * REL_KIB, "inner");
    start(inner_k);
    outer_k = add(150 * REL_KIB, "outer");
    C.pat[outer_k].hook = nested_hook;
    start(outer_k);
}

/* The same, the inner task deep: when it yields it takes its extent, and
 * the outer one needs fresh pages on the way back. */
static void setup_switch_nested_deep(void)
{
    init_thread(1);
    inner_k = add(600 * REL_KIB, "inner");
    start(inner_k);
    outer_k = add(150 * REL_KIB, "outer");
    C.pat[outer_k].hook = nested_hook;
    start(outer_k);
}

static int run_switch_nested(void)
{
    if (rel_pat_cmd(C.t[outer_k], &C.pat[outer_k], REL_CMD_HOOK) != 0)
        return -1;
    if (C.pat[outer_k].hook_result) {
        errno = (int)-C.pat[outer_k].hook_result;
        return -1;
    }
    return 0;
}

/* ---- finish ---------------------------------------------------------------------- */

static int fin_k;

static void setup_finish(void)
{
    init_thread(1);
    fin_k = add(700 * REL_KIB, "deep");
    start(fin_k);
}

static int run_finish(void)
{
    /* The task returns: its deep pages stay behind as scratch, trimmed. */
    return rel_pat_cmd(C.t[fin_k], &C.pat[fin_k], REL_CMD_FINISH);
}

/* ---- yield after deep calls: the pages below are given back --------------------- */

static int trim_k;

static void setup_trim(void)
{
    init_thread(2);
    trim_k = add(16 * REL_KIB, "comes-back");
    C.pat[trim_k].scribble = REL_MIB;
    start(trim_k);
}

static int run_trim(void)
{
    /* 1 MiB deeper and back, then a yield 16 KiB deep: the region gives
     * back the pages below. */
    return rel_pat_cmd(C.t[trim_k], &C.pat[trim_k], REL_CMD_SCRIBBLE);
}

static void recover_trim(int rc, int err)
{
    (void)err;
    /* The task goes as deep again: the pages it gave back (or kept) must
     * serve it. */
    if (rc == 0 &&
        rel_pat_cmd(C.t[trim_k], &C.pat[trim_k], REL_CMD_SCRIBBLE) != 0)
        BAD_ARGS("the task cannot go deep again: %s", strerror(errno));
    recover_common();
}

/* ---- backtrace of a suspended task ------------------------------------------------ */

static int bt_k;

/* libunwind keeps a pipe and a cache mapping from its first unwind on:
 * let it have them before counting. */
static void warm_unwind(void)
{
    void *ips[8];
    init_thread(1);
    int w = add(16 * REL_KIB, "warm-up");
    start(w);
    need(pgs_backtrace(C.t[w], ips, 8) > 0, "pgs_backtrace");
    finish(w);
    need(pgs_thread_fini() == 0, "pgs_thread_fini");
    rel_snap_take(&C.base);
}

static void setup_backtrace(void)
{
    warm_unwind();
    init_thread(1);
    bt_k = add(600 * REL_KIB, "traced"); /* will take its extent */
    start(bt_k);
    start(add(100 * REL_KIB, "resident"));
}

/* The backtrace taken from inside a task of the same region: the caller
 * leaves the region for a moment and must come back intact. */
static void backtrace_hook(struct rel_pat *p)
{
    void *ips[64];
    int n = pgs_backtrace(C.t[inner_k], ips, 64);
    p->hook_result = n > 0 ? 0 : n == 0 ? -EINVAL : -errno;
}

static void setup_backtrace_inside(void)
{
    warm_unwind();
    init_thread(1);
    inner_k = add(600 * REL_KIB, "traced"); /* will take its extent */
    start(inner_k);
    outer_k = add(100 * REL_KIB, "caller");
    C.pat[outer_k].hook = backtrace_hook;
    start(outer_k);
}

static int run_backtrace(void)
{
    void *ips[64];
    /* Shows the task in its region for a moment, then the resident one
     * again. */
    int n = pgs_backtrace(C.t[bt_k], ips, 64);
    if (n == 0) {
        errno = 0;
        return -1;
    }
    return n < 0 ? -1 : 0;
}

/* ---- destroy --------------------------------------------------------------------- */

static int order[4];

static void setup_destroy(void)
{
    init_thread(1);
    int cp = add(100 * REL_KIB, "copied");
    start(cp);
    int ex = add(600 * REL_KIB, "extent");
    start(ex);                           /* "copied" saved by copying */
    int re = add(700 * REL_KIB, "resident");
    start(re);                           /* "extent" takes its extent */
    int nr = add(32 * REL_KIB, "never-run");
    order[0] = re;
    order[1] = ex;
    order[2] = cp;
    order[3] = nr;
}

static int run_destroy(void)
{
    for (int i = 0; i < 4; i++) {
        if (pgs_destroy(C.t[order[i]]) != 0)
            return -1;
        C.t[order[i]] = NULL;
    }
    return 0;
}

/* ---- thread exit ------------------------------------------------------------------ */

/* Through a volatile pointer, or the compiler drops malloc/free pairs. */
static void *volatile sink;

static void warm_malloc(size_t n)
{
    sink = malloc(n);
    free(sink);
}

static void *warm(void *arg)
{
    /* The first thread of a process costs a malloc arena and a cached
     * stack that outlive it; pay for them before counting. */
    warm_malloc(1000);
    warm_malloc(100000);
    return arg;
}

static void warm_thread(void)
{
    pthread_t th;
    need(pthread_create(&th, NULL, warm, NULL) == 0, "pthread_create");
    pthread_join(th, NULL);
}

static void *worker(void *arg)
{
    static const size_t depth[3] = { 50 * REL_KIB, 600 * REL_KIB,
                                     32 * REL_KIB };
    struct pgs_config cfg = { .regions = 2 };
    (void)arg;
    if (pgs_thread_init(&cfg) != 0)
        goto fail;
    for (int k = 0; k < 3; k++) {
        rel_pat_init(&C.th_pat[k], 50u + (unsigned)k, depth[k], 0x77ull);
        C.th_t[k] = rel_pat_create(&C.th_pat[k]);
        if (!C.th_t[k])
            goto fail;
    }
    /* Two of them run; the third stays created.  All are left alive. */
    for (int k = 0; k < 2; k++)
        if (pgs_resume(C.th_t[k], NULL, NULL) != 0)
            goto fail;
    return NULL;
fail:
    C.th_rc = -1;
    C.th_err = errno;
    return NULL;
}

static void setup_thread(void)
{
    warm_thread();
    rel_snap_take(&C.base);
    init_thread(1);
    start(add(100 * REL_KIB, "shallow"));
    start(add(600 * REL_KIB, "deep"));
    warm_thread();
    rel_snap_take(&C.pre);
}

static int run_thread(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, worker, NULL) != 0)
        return -2;
    pthread_join(th, NULL);
    errno = C.th_err;
    return C.th_rc;
}

static void recover_thread(int rc, int err)
{
    char why[2048];
    struct rel_snap now;
    (void)rc;
    (void)err;
    rel_snap_take(&now);
    if (rel_snap_diff(&C.pre, &now, why, sizeof why) != 0)
        BAD_ARGS("the exited thread left something behind: %s", why);
    for (int k = 0; k < 3; k++) {
        pgs_task *t = C.th_t[k];
        if (!t)
            continue;
        errno = 0;
        if (pgs_resume(t, NULL, NULL) != -1 || errno != EPERM)
            BAD_ARGS("resuming an orphan gave %s, not EPERM",
                     strerror(errno));
        if (pgs_task_stack_bytes(t) != 0)
            BAD_ARGS("an orphan still holds %zu bytes",
                     pgs_task_stack_bytes(t));
        if (pgs_destroy(t) != 0)
            BAD_ARGS("pgs_destroy of an orphan: %s", strerror(errno));
    }
    recover_common();
}

/* ---- fork ------------------------------------------------------------------------- */

static int fork_k;
static int atfork_done;

/* Registered before the library's own handlers, so that this prepare
 * handler runs after the library's: it sees whether the library's
 * preparation hit the injection.  Its two stores are atomic because of
 * ThreadSanitizer: it counts every task as a thread, so in the child it
 * takes the fork for one of a multithreaded process and from then on
 * ignores every synchronisation of the forking task (the child handlers
 * run after that).  The release with which the library orders what the
 * forking task did before the fork comes before this handler, so a plain
 * store here would look unordered with the reads made by the thread's
 * own stack in the child. */
static void note_prepare(void)
{
    __atomic_store_n(&C.pre_point, pgs__inject_arm_point(), __ATOMIC_RELAXED);
    __atomic_store_n(&C.pre_site, pgs__inject_site(), __ATOMIC_RELAXED);
}

/* And this child handler runs before the library's: from here on, what
 * the child writes on stderr goes to fd 3, so that each process's
 * diagnostics can be told apart. */
static void child_stderr(void)
{
    dup2(3, STDERR_FILENO);
}

static void fork_hook(struct rel_pat *p)
{
    C.pre_point = -1;
    C.pre_site = NULL;
    pgs__inject_arm(C.n);
    pid_t pid = fork();
    int e = errno;
    C.point = pgs__inject_arm_point();
    C.site = pgs__inject_site();
    pgs__inject_arm(0);
    C.child = pid;
    C.role = pid == 0 ? "child" : "parent";
    if (C.point >= 0 &&
        C.point == __atomic_load_n(&C.pre_point, __ATOMIC_RELAXED) &&
        C.site == __atomic_load_n(&C.pre_site, __ATOMIC_RELAXED))
        C.phase = "prepare";
    p->hook_result = pid < 0 ? -e : 0;
    /* The child writes its own pattern deep into the forking task's stack
     * at once, while the parent may be reading its own. */
    if (pid == 0)
        p->bad += rel_scribble(REL_MIB, 0xc41dull);
}

static void setup_fork(void)
{
    if (!atfork_done)
        pthread_atfork(note_prepare, NULL, child_stderr);
    atfork_done = 1;
    init_thread(2);
    start(add(100 * REL_KIB, "shallow"));  /* region 0, then copied */
    start(add(700 * REL_KIB, "deep"));     /* region 1, then its extent */
    start(add(200 * REL_KIB, "resident")); /* region 0 */
    fork_k = add(450 * REL_KIB, "forker"); /* region 1 */
    C.pat[fork_k].hook = fork_hook;
    start(fork_k);
}

static int run_fork(void)
{
    if (rel_pat_cmd(C.t[fork_k], &C.pat[fork_k], REL_CMD_HOOK) != 0)
        return -1;
    if (C.pat[fork_k].hook_result) {
        errno = (int)-C.pat[fork_k].hook_result;
        return -1;
    }
    return 0;
}

static void recover_fork(int rc, int err)
{
    (void)err;
    if (rc != 0)
        return;
    if (C.child == 0) {
        /* Every pre-fork task resumes with its own copy of its stack,
         * unless the preparation could not copy it (then it is an orphan
         * here, which pgs_resume reports as EPERM). */
        int injected = C.point >= 0 ||
                       __atomic_load_n(&C.pre_point, __ATOMIC_RELAXED) >= 0;
        for (int k = 0; k < C.nt; k++) {
            pgs_task *t = C.t[k];
            if (rel_pat_cmd(t, &C.pat[k], REL_CMD_CHECK) != 0) {
                if (errno == EPERM && injected && k != fork_k) {
                    NOTE_ARGS("task %s is an orphan in the child",
                              pgs_name(t));
                    pgs_destroy(t);
                    C.t[k] = NULL;
                    continue;
                }
                BAD_ARGS("child: task %s cannot be resumed: %s", pgs_name(t),
                         strerror(errno));
                continue;
            }
            /* Write the child's own patterns into its copies. */
            C.pat[k].next_seed = 0xc0ffeeull + (uint64_t)k;
            C.pat[k].scribble = 256 * REL_KIB;
            if (rel_pat_cmd(t, &C.pat[k], REL_CMD_REFILL) != 0 ||
                rel_pat_cmd(t, &C.pat[k], REL_CMD_SCRIBBLE) != 0)
                BAD_ARGS("child: task %s: %s", pgs_name(t), strerror(errno));
        }
        recover_common();
        return;
    }
    /* The parent looks at its stacks only once the child has finished
     * writing into its own. */
    int st;
    waitpid(C.child, &st, 0);
    recover_common();
}

/* ---- recycle: no secret crosses from one task to the next --------------------------- */

struct secret {
    uint64_t value;
    size_t bytes;
    long bad;       /* the owner's own words changed */
    long hits;      /* words of the secret another task saw */
    int scanned;
};

static struct secret sec_a, scan_b;
static pgs_task *ta, *tb;

static REL_NOINLINE void secret_hold(struct secret *s)
{
    size_t n = s->bytes / 8;
    volatile uint64_t buf[n];
    for (size_t i = 0; i < n; i++)
        buf[i] = s->value;
    pgs_yield(NULL);
    for (size_t i = 0; i < n; i++)
        s->bad += buf[i] != s->value;
}

static void *secret_main(void *arg)
{
    secret_hold(arg);
    return NULL;
}

/* Reads 300 KiB of stack it never wrote. */
static REL_NOINLINE long scan_stack(uint64_t secret)
{
    volatile uint64_t buf[300 * REL_KIB / 8];
    volatile uint64_t *p = buf;
    __asm__ volatile("" : "+r"(p)); /* the compiler cannot know it is unset */
    VALGRIND_MAKE_MEM_DEFINED((void *)buf, sizeof buf); /* nor memcheck */
    long hits = 0;
    for (size_t i = 0; i < 300 * REL_KIB / 8; i++)
        hits += p[i] == secret;
    return hits;
}

static void *scan_main(void *arg)
{
    struct secret *s = arg;
    s->hits += scan_stack(s->value);
    s->scanned = 1;
    pgs_yield(NULL);
    s->hits += scan_stack(s->value);
    return NULL;
}

static void setup_recycle(size_t bytes)
{
    init_thread(1);
    sec_a.value = 0x5ec7e75ec7e7a000ull ^ (uint64_t)getpid();
    sec_a.bytes = bytes;
    scan_b.value = sec_a.value;
    ta = pgs_create(secret_main, &sec_a);
    need(ta != NULL, "pgs_create");
    need(pgs_resume(ta, NULL, NULL) == 0, "pgs_resume");
}

static void setup_recycle_destroyed(void)
{
    setup_recycle(200 * REL_KIB);
}

static void setup_recycle_suspended(void)
{
    setup_recycle(200 * REL_KIB);
}

static void setup_recycle_deep(void)
{
    setup_recycle(500 * REL_KIB);
}

static int run_recycle_destroyed(void)
{
    if (pgs_destroy(ta) != 0)
        return -1;
    ta = NULL;
    if (!(tb = pgs_create(scan_main, &scan_b)))
        return -1;
    return pgs_resume(tb, NULL, NULL);
}

static int run_recycle_suspended(void)
{
    if (!(tb = pgs_create(scan_main, &scan_b)))
        return -1;
    return pgs_resume(tb, NULL, NULL);
}

static void recover_recycle(int rc, int err)
{
    (void)rc;
    (void)err;
    if (ta && !strcmp(C.op->name, "recycle-destroyed")) {
        if (pgs_destroy(ta) != 0)
            BAD_ARGS("pgs_destroy: %s", strerror(errno));
        ta = NULL;
    }
    if (!tb && !(tb = pgs_create(scan_main, &scan_b)))
        BAD_ARGS("pgs_create: %s", strerror(errno));
    if (tb && pgs_state(tb) == PGS_CREATED && pgs_resume(tb, NULL, NULL) != 0)
        BAD_ARGS("pgs_resume: %s", strerror(errno));
    /* The owner comes back (if alive), then the scanner scans again. */
    if (ta && (pgs_resume(ta, NULL, NULL) != 0 || sec_a.bad))
        BAD_ARGS("the secret's owner lost its stack (%ld words)", sec_a.bad);
    if (tb && pgs_resume(tb, NULL, NULL) != 0)
        BAD_ARGS("pgs_resume: %s", strerror(errno));
    if (scan_b.hits)
        BAD_ARGS("a new task saw %ld words of another task's secret",
                 scan_b.hits);
    if (!scan_b.scanned)
        BAD("the scanner never ran");
    if (ta)
        pgs_destroy(ta);
    if (tb)
        pgs_destroy(tb);
    fresh(64 * REL_KIB);
    end();
}

/* ---- the table --------------------------------------------------------------------- */

const struct inj_op rel_inj_ops[] = {
    { "init", "pgs_thread_init (the process's first: installs the handler)",
      0, { ENOMEM, EPERM }, setup_none, run_init, recover_init, 0, 0 },
    { "create-first", "pgs_create on a thread never initialised",
      0, { ENOMEM, EPERM }, setup_create_first, run_create, recover_create,
      0, 0 },
    { "create", "pgs_create with tasks suspended (copied and resident)",
      0, { ENOMEM, EPERM }, setup_create, run_create, recover_create, 0, 0 },
    { "resume-empty", "first pgs_resume of a task, thread has no stacks yet",
      1, { ENOMEM }, setup_resume_empty, run_start, recover_start, 0, 0 },
    { "resume-busy", "first pgs_resume evicting a resident task (1 region)",
      1, { ENOMEM }, setup_resume_busy, run_start, recover_start, 0, 0 },
    { "growth", "pgs_resume of a task that recurses 1 MiB deep",
      1, { 0 }, setup_growth, run_growth, recover_plain, 0, 0 },
    { "switch-copy", "pgs_resume of a 150 KiB task saved by copying",
      1, { ENOMEM }, setup_switch_copy, run_switch, recover_switch, 0, 0 },
    { "switch-extent", "pgs_resume of a 600 KiB task that took its extent",
      1, { ENOMEM }, setup_switch_extent, run_switch, recover_switch, 0, 0 },
    { "switch-nested", "a task resumes another of its region, which yields",
      1, { ENOMEM }, setup_switch_nested, run_switch_nested, recover_plain,
      0, 0 },
    { "finish", "a 700 KiB resident task returns",
      1, { 0 }, setup_finish, run_finish, recover_plain, 0, 0 },
    { "yield-trim", "a task goes 1 MiB deeper, comes back, yields shallow",
      1, { ENOMEM }, setup_trim, run_trim, recover_trim, 0, 0 },
    { "backtrace", "pgs_backtrace of a 600 KiB task evicted to its extent",
      1, { ENOMEM }, setup_backtrace, run_backtrace, recover_plain, 0, 0 },
    { "backtrace-inside", "a task takes the backtrace of a 600 KiB task of "
      "its region",
      1, { ENOMEM }, setup_backtrace_inside, run_switch_nested, recover_plain,
      0, 0 },
    { "destroy", "pgs_destroy: resident 700 KiB, extent, copied, never run",
      0, { ENOMEM }, setup_destroy, run_destroy, recover_plain, 0, 0 },
    { "thread", "a pthread inits, creates and runs tasks, exits with them",
      1, { ENOMEM, EPERM }, setup_thread, run_thread, recover_thread, 0, 0 },
    { "fork", "fork() in a task; others copied, resident, deep",
      1, { 0 }, setup_fork, run_fork, recover_fork, 1, 0 },
    { "recycle-destroyed", "destroy a task holding a secret, scan a new one",
      1, { ENOMEM }, setup_recycle_destroyed, run_recycle_destroyed,
      recover_recycle, 0, 0 },
    { "recycle-suspended", "a new task scans while the secret's owner waits",
      1, { ENOMEM }, setup_recycle_suspended, run_recycle_suspended,
      recover_recycle, 0, 0 },
    { "recycle-deep", "the same, the owner 500 KiB deep (extent)",
      1, { ENOMEM }, setup_recycle_deep, run_recycle_suspended,
      recover_recycle, 0, 0 },
    /* A pending signal interrupts shmem's fallocate with EINTR: retried
     * in the fault path, on a yield, in a resume. */
    { "growth-eintr", "as growth, an injected fallocate says EINTR",
      1, { 0 }, setup_growth, run_growth, recover_plain, 0, 1 },
    { "nested-eintr", "a deep task yields to the shallow one that resumed "
      "it (1 region), an injected fallocate says EINTR",
      1, { ENOMEM }, setup_switch_nested_deep, run_switch_nested,
      recover_plain, 0, 1 },
    { "resume-eintr", "as resume-empty, an injected fallocate says EINTR",
      1, { ENOMEM }, setup_resume_empty, run_start, recover_start, 0, 1 },
};
const int rel_inj_nops = sizeof rel_inj_ops / sizeof rel_inj_ops[0];

/* ---- the child ------------------------------------------------------------------------ */

void rel_inj_child(void *arg)
{
    const struct inj_job *job = arg;
    memset(&C, 0, sizeof C);
    C.op = &rel_inj_ops[job->op];
    C.n = job->n;
    C.role = "-";
    C.phase = "-";
    C.point = -1;
    C.pre_point = -1;
    /* Settle malloc's thresholds before counting mappings. */
    warm_malloc(4 * REL_MIB);
    warm_malloc(700 * REL_KIB);
    rel_snap_take(&C.base);

    C.op->setup();
    pgs__inject_eintr(C.op->eintr);
    if (!C.op->arms_itself)
        pgs__inject_arm(C.n);
    int rc = C.op->run();
    int e = errno;
    if (!C.op->arms_itself) {
        C.point = pgs__inject_arm_point();
        C.site = pgs__inject_site();
        pgs__inject_arm(0);
    }
    say("RUN %d %s %s %d %d %ld %s", (int)getpid(), C.role, C.phase, rc,
        rc ? e : 0, C.point, C.site ? C.site : "-");
    C.op->recover(rc, e);
    say("DONE %d", (int)getpid());
}
