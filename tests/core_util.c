/* SPDX-License-Identifier: MIT */
/* Helpers shared by the core tests: see core_util.h. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core_util.h"
#include "emulation.h"
#include "internal.h"
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

TCase *core_tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, CORE_TIMEOUT);
    suite_add_tcase(s, tc);
    return tc;
}

uint64_t core_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1du;
}

void core_shuffle(size_t *a, size_t n, uint64_t *state)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(core_rand(state) % i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

uint64_t core_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

void core_fill(uint64_t *w, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        w[i] = core_mix(seed + i);
}

long core_check(const uint64_t *w, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (w[i] != core_mix(seed + i))
            return (long)i;
    return -1;
}

/* ---- the pattern task ------------------------------------------------ */

/* One frame of the recursion: its pattern, and the frame above it, so the
 * bottom can walk the whole stack.  These pointers point into the task's
 * own stack and are only followed by the task itself. */
struct link {
    const struct link *up;
    unsigned level;
    size_t words;
    uint64_t *w;
};

static uint64_t frame_seed(const struct core_stask *s, unsigned level,
                           unsigned round)
{
    return core_mix(((uint64_t)s->id << 32) ^ ((uint64_t)level << 8) ^
                    round) & ~(uint64_t)0xffffff;
}

static void check_chain(struct core_stask *s, const struct link *l,
                        unsigned round, const char *when)
{
    for (; l; l = l->up) {
        long bad = core_check(l->w, l->words, frame_seed(s, l->level, round));
        ck_assert_msg(bad < 0,
                      "task %u (depth %zu): frame %u of %zu, word %ld "
                      "corrupted %s round %u",
                      s->id, s->depth, l->level, s->frames, bad, when, round);
    }
}

static void rewrite_chain(struct core_stask *s, const struct link *l,
                          unsigned round)
{
    for (; l; l = l->up)
        core_fill(l->w, l->words, frame_seed(s, l->level, round));
}

static void bottom(struct core_stask *s, const struct link *l)
{
    for (unsigned r = 1; r <= s->rounds; r++) {
        void *in = pgs_yield(core_stask_ytag(s->id, r));
        ck_assert_ptr_eq(in, core_stask_itag(s->id, r + 1));
        ck_assert_ptr_eq(pgs_self(), s->task);
        ck_assert_int_eq(pgs_state(s->task), PGS_RUNNING);
        check_chain(s, l, r - 1, "after resume");
        rewrite_chain(s, l, r);
    }
}

/* The recursion, in two frame sizes.  The check after the recursive call
 * keeps it from being a tail call. */
#define DEFINE_DESCEND(name, WORDS)                                         \
    static CORE_NOINLINE void name(struct core_stask *s,                    \
                                   const struct link *up, size_t left,      \
                                   unsigned level)                          \
    {                                                                       \
        uint64_t w[WORDS];                                                  \
        struct link l = { up, level, WORDS, w };                            \
        core_fill(w, WORDS, frame_seed(s, level, 0));                       \
        if (left > sizeof w) {                                              \
            name(s, &l, left - sizeof w, level + 1);                        \
        } else {                                                            \
            s->frames = level + 1;                                          \
            bottom(s, &l);                                                  \
        }                                                                   \
        long bad = core_check(w, WORDS, frame_seed(s, level, s->rounds));   \
        ck_assert_msg(bad < 0,                                              \
                      "task %u: frame %u word %ld corrupted on the way up", \
                      s->id, level, bad);                                   \
        __asm__ volatile("" ::"r"(w) : "memory");                           \
    }

DEFINE_DESCEND(descend_small, 1024 / 8 - 8)
DEFINE_DESCEND(descend_big, 4096 / 8 - 8)

void core_stask_descend(struct core_stask *s)
{
    if (s->big)
        descend_big(s, NULL, s->depth, 0);
    else
        descend_small(s, NULL, s->depth, 0);
}

void *core_stask_fn(void *arg)
{
    struct core_stask *s = arg;
    ck_assert_ptr_eq(pgs_self(), s->task);
    core_stask_descend(s);
    return core_stask_done(s->id);
}

void core_stask_resume(struct core_stask *s, unsigned k)
{
    void *out = (void *)1;
    int rc = pgs_resume(s->task, core_stask_itag(s->id, k), &out);
    ck_assert_msg(rc == 0, "resume %u of task %u (depth %zu) failed: %s", k,
                  s->id, s->depth, strerror(errno));
    ck_assert_ptr_null(pgs_self());
    if (k <= s->rounds) {
        ck_assert_ptr_eq(out, core_stask_ytag(s->id, k));
        ck_assert_int_eq(pgs_state(s->task), PGS_SUSPENDED);
    } else {
        ck_assert_ptr_eq(out, core_stask_done(s->id));
        ck_assert_int_eq(pgs_state(s->task), PGS_DONE);
    }
}

void core_stasks_run(struct core_stask *v, size_t n, uint64_t seed)
{
    size_t *order = malloc(n * sizeof *order);
    ck_assert_ptr_nonnull(order);
    unsigned rounds = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].task = pgs_create(core_stask_fn, &v[i]);
        ck_assert_msg(v[i].task != NULL, "create %zu: %s", i,
                      strerror(errno));
        ck_assert_int_eq(pgs_state(v[i].task), PGS_CREATED);
        order[i] = i;
        if (v[i].rounds > rounds)
            rounds = v[i].rounds;
    }
    for (unsigned k = 1; k <= rounds + 1; k++) {
        core_shuffle(order, n, &seed);
        for (size_t i = 0; i < n; i++) {
            struct core_stask *s = &v[order[i]];
            if (k <= s->rounds + 1)
                core_stask_resume(s, k);
        }
    }
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(pgs_state(v[i].task), PGS_DONE);
        ck_assert_int_eq(pgs_destroy(v[i].task), 0);
        v[i].task = NULL;
    }
    free(order);
}

/* ---- small task functions ----------------------------------------- */

void *core_yield_forever(void *arg)
{
    for (;;)
        pgs_yield(arg);
    return NULL;
}

void *core_return_arg(void *arg)
{
    return arg;
}

/* ---- recursion helpers ---------------------------------------------- */

CORE_NOINLINE long core_recurse(size_t bytes)
{
    volatile char buf[1024 - 64];
    buf[0] = (char)bytes;
    buf[sizeof buf - 1] = 1;
    long r = bytes > sizeof buf + 64 ? core_recurse(bytes - sizeof buf - 64)
                                     : 0;
    return r + buf[0] + buf[sizeof buf - 1];
}

#if defined(__SANITIZE_ADDRESS__)
/* The distance between two frames of a 1 KiB recursion. */
static CORE_NOINLINE size_t frame_probe(const char *above)
{
    volatile char buf[1024 - 64];
    buf[0] = 1;
    char *here = __builtin_frame_address(0);
    if (!above)
        return frame_probe(here) + buf[0] - 1;
    return (size_t)(above - here) + buf[0] - 1;
}

size_t core_depth(size_t bytes)
{
    size_t frame = frame_probe(NULL);
    return frame > 1024 ? bytes / frame * 1024 : bytes;
}
#else
size_t core_depth(size_t bytes)
{
    return bytes;
}
#endif

static volatile long never = -1;

CORE_NOINLINE long core_runaway(long n)
{
    volatile char buf[2048];
    buf[0] = (char)n;
    buf[sizeof buf - 1] = (char)n;
    if (n == never)
        return 0;
    return core_runaway(n + 1) + buf[0] + buf[sizeof buf - 1];
}

/* ---- processes ------------------------------------------------------- */

void core_no_core_dumps(void)
{
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
}

void core_run_child(void (*fn)(void *), void *arg, struct core_child *c)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        if (dup2(p[1], STDERR_FILENO) < 0)
            _exit(120);
        close(p[1]);
        core_no_core_dumps();
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    c->errlen = 0;
    for (;;) {
        char tmp[4096];
        ssize_t n = read(p[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t room = sizeof c->err - 1 - c->errlen;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(c->err + c->errlen, tmp, take);
        c->errlen += take;
    }
    c->err[c->errlen] = '\0';
    emu_strip(c->err, &c->errlen);
    close(p[0]);
    while (waitpid(pid, &c->status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
}

int core_child_segv(const struct core_child *c)
{
    return WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGSEGV;
}

long core_maps_lines(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    long n = 0;
    int ch;
    while ((ch = getc(f)) != EOF)
        if (ch == '\n')
            n++;
    fclose(f);
    return n;
}

char *core_mapped_bottom(void)
{
    struct pgs_thread *th = pgs__tls;
    ck_assert_ptr_nonnull(th);
    ck_assert_ptr_nonnull(th->current);
    struct pgs_region *r = pgs__region_of(th, th->current);
    return r->top - r->mapped * PGS_PAGE;
}

void *core_tsan_fiber(void)
{
#if defined(__SANITIZE_THREAD__)
    return __tsan_get_current_fiber();
#else
    return NULL;
#endif
}

struct pgs_stats core_stats(void)
{
    struct pgs_stats st;
    memset(&st, 0xff, sizeof st);
    ck_assert_int_eq(pgs_stats(&st), 0);
    return st;
}
