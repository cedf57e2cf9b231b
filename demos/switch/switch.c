/* SPDX-License-Identifier: MIT */
/*
 * The switch benchmark: how much a task switch costs on pagedstack, next
 * to Boost.Context fcontext, a copy-stack runtime and threads.
 *
 *   demos/bench switch [--quick] [--full] [--list] [--csv FILE]
 *                      [--fcontext PROGRAM] [--rounds R] [--runs N] [--ms M]
 *                      [SCENARIO-PATTERN...]
 *
 * A round trip is one resume and the yield that ends it; with several
 * tasks the scheduler resumes them round-robin, so each round trip brings
 * another task in.  Every figure is the median of R rounds that interleave
 * the models: each round measures every (scenario, model) cell of a group
 * once, starting one cell further each round, so that a disturbance of
 * the machine falls on all of them alike.  Each measurement is a cell in a
 * child process of its own (harness/cell.c), timed in CPU time
 * (harness/timing.c).  Patterns are shell globs over scenario names
 * (--list).  The rows go to the CSV file; `demos/bench report switch`
 * makes the tables.  demos/run_bench.sh runs it all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "model.h"
#include "bench.h"

enum { K_RING, K_THREADS, K_GROWTH, K_CREATE, K_MEMORY, K_SHALLOW };

struct scen {
    char name[64];
    int kind;
    size_t n, depth, spike;
    int whole, threads, group, full_only, quick;
    unsigned regions;
    const char *models; /* the models that run it */
};

static const char *const cols[] = {
    "scenario", "model", "tasks", "depth", "variant", "regions", "threads",
    "ns", "faults", "remaps", "syscalls", "live", "bytes", "iters", "spread",
    "minflt", "maps", "create_sys", "lib_sys", "status", NULL
};

#define ALL "fcontext pagedstack copy-stack threads"
#define MAX_SCEN 160
static struct scen scen[MAX_SCEN];
static int nscen;

static void size_name(size_t b, char *out)
{
    if (b >= MiB && b % MiB == 0)
        sprintf(out, "%zum", b / MiB);
    else if (b >= KiB && b % KiB == 0)
        sprintf(out, "%zuk", b / KiB);
    else
        sprintf(out, "%zu", b);
}

static struct scen *add(int kind, const char *prefix, size_t n, size_t depth,
                        int whole, const char *list)
{
    struct scen *s = &scen[nscen++];
    char nn[24], dd[24];
    *s = (struct scen){ .kind = kind, .n = n, .depth = depth,
                        .whole = whole, .models = list };
    if (n >= 1000 && n % 1000 == 0)
        sprintf(nn, "%zuk", n / 1000);
    else
        sprintf(nn, "%zu", n);
    size_name(depth, dd);
    snprintf(s->name, sizeof s->name, "%s%s-%s-%s", prefix, nn, dd,
             whole ? "whole" : "top");
    return s;
}

static void scenarios(void)
{
    static const size_t counts[] = { 2, 100, 10000 };
    static const size_t depths[] = { 128, KiB, 4 * KiB, 64 * KiB, MiB,
                                     4 * MiB };
    static const char *const quick[] = {
        "hot", "rr-2-1k-top", "rr-2-1m-top", "rr-100-64k-whole",
        "rr-10k-1k-top", "regions-1-2-1k-top", "regions-1-2-1m-top",
        "growth-7m", "create", "threads-1-100-1k-top", "threads-2-100-1k-top",
        "cliff-0-100-1k-top", "cliff-64k-100-1k-top", "shallow-after-deep"
    };
    char prefix[24];
    struct scen *s = add(K_RING, "", 1, 128, 0, ALL);
    strcpy(s->name, "hot");
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < 3; i++)
            for (int d = 0; d < 6; d++)
                /* 10k tasks x 1 MiB would hold 10 GiB per model. */
                if (counts[i] * depths[d] <= ((size_t)2 << 30))
                    add(K_RING, "rr-", counts[i], depths[d], w, ALL);
    /* pagedstack by pgs_config.regions: the round-robins at 1 and 64 KiB,
     * and two deep tasks that alternate. */
    for (unsigned r = 1; r <= 16; r *= r == 4 ? 4 : 2)
        for (int i = 0; i < 3; i++)
            for (int d = 0; d < 4; d++) {
                static const size_t rd[] = { KiB, 64 * KiB, MiB, 4 * MiB };
                if (d >= 2 && counts[i] != 2)
                    continue;
                snprintf(prefix, sizeof prefix, "regions-%u-", r);
                add(K_RING, prefix, counts[i], rd[d], 0, "pagedstack")
                    ->regions = r;
            }
    s = add(K_GROWTH, "", 1, 7 * MiB, 0, "fcontext pagedstack copy-stack");
    strcpy(s->name, "growth-7m");
    s = add(K_CREATE, "", 1, 0, 0, ALL);
    strcpy(s->name, "create");
    /* One thread and two, shallow and deep tasks: each pair is measured in
     * the same rounds. */
    int group = 0;
    for (int d = 0; d < 2; d++)
        for (int w = 0; w < 2; w++, group++)
            for (int t = 1; t <= 2; t++) {
                snprintf(prefix, sizeof prefix, "threads-%d-", t);
                s = add(K_THREADS, prefix, 100, d ? MiB : KiB, w,
                        "fcontext pagedstack copy-stack");
                s->threads = t;
                s->group = group + 1;
            }
    /* No cliff: the first of 100 shallow tasks went 64 KiB deep once,
     * against the same without that; default regions and one region. */
    for (int r = 0; r < 2; r++, group++)
        for (int spike = 0; spike < 2; spike++) {
            snprintf(prefix, sizeof prefix, "cliff-%s%s-", r ? "r1-" : "",
                     spike ? "64k" : "0");
            s = add(K_RING, prefix, 100, KiB, 0, "pagedstack copy-stack");
            s->spike = spike ? 64 * KiB : 0;
            s->regions = (unsigned)r;
            s->group = group + 1;
        }
    s = add(K_MEMORY, "", 100000, KiB, 0, "pagedstack");
    strcpy(s->name, "memory-100k-1k");
    s = add(K_SHALLOW, "", 2, MiB, 0, "pagedstack");
    strcpy(s->name, "shallow-after-deep");
    s->regions = 1;
    s = add(K_MEMORY, "", 1000000, 700, 0, "pagedstack");
    strcpy(s->name, "million");
    s->full_only = 1;
    for (int i = 0; i < nscen; i++)
        for (size_t q = 0; q < sizeof quick / sizeof *quick; q++)
            scen[i].quick |= !strcmp(quick[q], scen[i].name);
}

static const struct scen *find(const char *name)
{
    for (int i = 0; i < nscen; i++)
        if (!strcmp(scen[i].name, name))
            return &scen[i];
    return NULL;
}

/* ---- the child: one cell ------------------------------------------------ */

struct ring {
    const struct model *m;
    struct job j;
    void **t;
    size_t n, pos;
};

static void fail(struct row *r, const struct model *m, const char *what)
{
    row_set(r, "status", "error");
    row_note(r, "LIBRARY ERROR: %s %s: %s", m->name, what, strerror(errno));
}

static int ring_run(void *p, uint64_t k)
{
    struct ring *g = p;
    return g->m->ring(g->t, g->n, &g->pos, k);
}

static void ring_free(struct ring *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->t[i] && g->m->destroy(g->t[i]) != 0)
            errno = EIO;
    if (g->m->fini)
        g->m->fini();
    free(g->t);
}

/* Create s->n tasks and run each once, down to its depth. */
static int ring_setup(struct ring *g, const struct scen *s, struct row *r)
{
    g->j = (struct job){ .depth = s->depth, .whole = s->whole,
                         .spike = s->spike, .regions = s->regions,
                         .stack = s->depth + s->spike + 64 * KiB };
    g->n = g->pos = 0;
    if (!(g->t = calloc(s->n, sizeof *g->t)))
        return -1;
    if (g->m->init && g->m->init(&g->j) != 0) {
        fail(r, g->m, "init");
        return -1;
    }
    for (; g->n < s->n; g->n++)
        if (!(g->t[g->n] = g->m->create(&g->j)) ||
            g->m->resume(g->t[g->n]) != 0) {
            fail(r, g->m, "create and first resume");
            ring_free(g);
            return -1;
        }
    return 0;
}

struct par {
    const struct model *m;
    const struct scen *s;
    pthread_barrier_t *bar;
    struct row r;
    double live;
};

static void *par_main(void *p)
{
    struct par *c = p;
    struct ring g = { .m = c->m };
    int ok = ring_setup(&g, c->s, &c->r) == 0;
    pthread_barrier_wait(c->bar); /* all set up */
    if (ok && time_runs(ring_run, &g, g.n, 0, c->s->threads > 0,
                        c->m->counters, &c->r) == 0)
        row_set(&c->r, "status", "ok");
    pthread_barrier_wait(c->bar); /* all measured */
    if (ok && c->m->held)
        c->live = c->m->held(g.t[0]);
    if (ok)
        ring_free(&g);
    return NULL;
}

/* Rings in s->threads threads at once (1 for a plain ring, run in a
 * thread too: every model starts each cell in a fresh thread).  ns is
 * the mean over the threads; the system call counter is process-wide,
 * so each thread's figure saw every thread's calls. */
static void rings(const struct model *m, const struct scen *s, struct row *r)
{
    int n = s->threads > 0 ? s->threads : 1;
    struct par p[2];
    pthread_t th[2];
    pthread_barrier_t bar;
    double ns = 0, sys = 0;
    pthread_barrier_init(&bar, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        p[i] = (struct par){ .m = m, .s = s, .bar = &bar };
        pthread_create(&th[i], NULL, par_main, &p[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < n; i++) {
        ns += row_get(&p[i].r, "ns") / n;
        sys += row_get(&p[i].r, "syscalls") / n / n;
        if (strcmp(row_str(&p[i].r, "status"), "ok")) {
            *r = p[i].r;
            return;
        }
    }
    *r = p[0].r;
    row_num(r, "ns", ns);
    row_num(r, "syscalls", sys);
    if (m->held && strcmp(m->name, "pagedstack")) /* copy-stack's bytes */
        row_num(r, "live", p[0].live);
}

/* Per task: create, first resume (it finishes at once, or grows and
 * waits), destroy. */
static int op_run(void *p, uint64_t k)
{
    struct ring *g = p;
    for (; k; k--) {
        void *t = g->m->create(&g->j);
        if (!t || g->m->resume(t) != 0 || g->m->destroy(t) != 0)
            return -1;
    }
    return 0;
}

static void ops(const struct model *m, const struct scen *s, struct row *r)
{
    struct ring g = { .m = m };
    g.j = (struct job){ .finish = s->kind == K_CREATE,
                        .grow = s->depth > JOB_FRAMES ? s->depth - JOB_FRAMES : 0 };
    if (m->init && m->init(&g.j) != 0)
        return fail(r, m, "init");
    if (time_runs(op_run, &g, 1, s->kind == K_GROWTH, 0, m->counters, r))
        return fail(r, m, "create, resume or destroy");
    row_set(r, "status", "ok");
    if (s->kind == K_CREATE && m->counters) {
        /* pgs_create alone: the goal is that it makes no system call. */
        enum { N = 4096 };
        static void *t[N];
        double c0[3], c1[3];
        m->counters(c0);
        for (int i = 0; i < N; i++)
            if (!(t[i] = m->create(&g.j)))
                return fail(r, m, "create");
        m->counters(c1);
        for (int i = 0; i < N; i++)
            m->destroy(t[i]);
        row_num(r, "create_sys", (c1[2] - c0[2]) / N);
    }
    if (m->fini)
        m->fini();
}

/* A task went 1 MiB deep and now waits shallow, while another task runs
 * in its region (regions = 1): the stack bytes it holds. */
static void shallow_after_deep(const struct model *m, const struct scen *s,
                               struct row *r)
{
    struct job deep = { .grow = s->depth, .regions = s->regions };
    struct job flat = { .depth = 128 };
    void *a, *b;
    if ((m->init && m->init(&deep)) || !(a = m->create(&deep)) ||
        !(b = m->create(&flat)) || m->resume(a) || m->resume(b))
        return fail(r, m, "create or resume");
    double other = m->held(a);
    if (m->resume(a) || m->resume(b))
        return fail(r, m, "resume");
    row_num(r, "bytes", other);
    row_set(r, "status", "ok");
    row_note(r, "went %zu KiB deep; holds %.0f B after another task ran in "
             "its region, %.0f B a round later", s->depth >> 10, other,
             m->held(a));
}

/* --count K: K round trips (creates) on pagedstack, and what the library
 * counted, for run_bench.sh's check under strace. */
static int count(const struct scen *s, uint64_t k)
{
    const struct model *m = model_find("pagedstack");
    struct ring g = { .m = m };
    struct row r;
    double c0[3], c1[3];
    row_clear(&r);
    if (s->kind == K_CREATE) {
        void **t = calloc(k, sizeof *t);
        m->counters(c0);
        for (uint64_t i = 0; t && i < k; i++)
            t[i] = m->create(&g.j);
        m->counters(c1);
    } else {
        if (ring_setup(&g, s, &r) != 0 || ring_run(&g, s->n) != 0)
            return 1;
        m->counters(c0);
        if (ring_run(&g, k) != 0)
            return 1;
        m->counters(c1);
    }
    printf("count %s: %llu: library syscalls %.0f (%.4f each)\n", s->name,
           (unsigned long long)k, c1[2] - c0[2], (c1[2] - c0[2]) / (double)k);
    return 0;
}

int switch_cell(int argc, char **argv)
{
    const struct scen *s;
    const struct model *m;
    struct row r;
    scenarios();
    if (argc < 2 || !(s = find(argv[0])))
        return 2;
    if (argc > 2 && !strcmp(argv[1], "--count"))
        return count(s, strtoull(argv[2], NULL, 10));
    if (!(m = model_find(argv[1])))
        return 2;
    for (int i = 2; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--runs"))
            timing.runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ms"))
            timing.target_ns = atof(argv[i + 1]) * 1e6;
    row_clear(&r);
    row_set(&r, "status", "error");
    if (!strcmp(m->name, "threads") && s->n > 1000)
        row_note(&r, "not run: %zu threads (the model runs up to 1000)",
                 s->n);
#if defined(__SANITIZE_THREAD__)
    else if (s->n > 8000) /* ThreadSanitizer keeps 8128 fibers */
        row_note(&r, "not run: %zu tasks under ThreadSanitizer", s->n);
#endif
    else if (s->kind == K_RING || s->kind == K_THREADS)
        rings(m, s, &r);
    else if (s->kind == K_GROWTH || s->kind == K_CREATE)
        ops(m, s, &r);
    else if (s->kind == K_SHALLOW)
        shallow_after_deep(m, s, &r);
    else
        memory_figures(m, s->n, s->depth, &r);
    row_print(stdout, &r);
    return 0;
}

/* ---- the parent: rounds ------------------------------------------------- */

static const char *fcontext;
static FILE *csv;
static double t_start;

struct cell {
    const struct scen *s;
    char model[16];
    int n;
    struct row r[15];
};

static int cmp_ns(const void *a, const void *b)
{
    double x = row_get(a, "ns"), y = row_get(b, "ns");
    return x < y ? -1 : x > y;
}

static void measure(struct cell *c)
{
    char runs[16], ms[32];
    snprintf(runs, sizeof runs, "%d", timing.runs);
    snprintf(ms, sizeof ms, "%g", timing.target_ns / 1e6);
    char *argv[] = { (char *)(strcmp(c->model, "fcontext") ? bench_self
                                                           : fcontext),
                     "cell", "switch", (char *)c->s->name, c->model,
                     "--runs", runs, "--ms", ms, NULL };
    cell_spawn(argv, 240, 0, &c->r[c->n++]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The rounds as one row: the round with the median time (its counters,
 * which do not vary, come with it), the median of the memory figure, and
 * the spread of the times.  A failed round makes the whole a failure. */
static void record(struct cell *c)
{
    struct row *v = c->r, out;
    double bytes[15];
    for (int i = 0; i < c->n; i++)
        if (strcmp(row_str(&v[i], "status"), "ok")) {
            v[0] = v[i];
            c->n = 1;
        }
    for (int i = 0; i < c->n; i++)
        bytes[i] = row_get(&v[i], "bytes");
    qsort(bytes, (size_t)c->n, sizeof *bytes, cmp_double);
    qsort(v, (size_t)c->n, sizeof *v, cmp_ns);
    out = v[c->n / 2];
    if (c->n > 1) {
        row_num(&out, "spread", (row_get(&v[c->n - 1], "ns") -
                                 row_get(&v[0], "ns")) / row_get(&out, "ns"));
        row_num(&out, "bytes", bytes[c->n / 2]);
    }
    row_set(&out, "scenario", "%s", c->s->name);
    row_set(&out, "model", "%s", c->model);
    row_set(&out, "tasks", "%zu", c->s->n);
    row_set(&out, "depth", "%zu", c->s->depth);
    row_set(&out, "variant", c->s->whole ? "whole" : "top");
    row_set(&out, "regions", "%u", c->s->regions);
    row_set(&out, "threads", "%d", c->s->threads);
    fprintf(stderr, "[%5.0fs] %-26s %-11s %10s ns %s %s\n", mem_now() - t_start,
            c->s->name, c->model, row_str(&out, "ns"), row_str(&out, "status"),
            out.note);
    if (csv)
        csv_row(csv, cols, &out);
}

/* Memory and the one-off checks are measured once (memory: at most three
 * times), times in R rounds, at most three where a round pages in a
 * quarter of a gigabyte or more per model. */
static int rounds_of(const struct scen *s, int rounds)
{
    int few = rounds < 3 ? rounds : 3;
    if (s->kind == K_SHALLOW || s->full_only)
        return 1;
    if (s->kind == K_MEMORY || (double)s->n * (double)s->depth >= 256e6)
        return few;
    return rounds > 15 ? 15 : rounds;
}

static void run_group(const struct scen *const *g, int ng, int rounds)
{
    static struct cell cells[16];
    int nc = 0, most = 1;
    for (int i = 0; i < ng; i++) {
        char list[64], *save;
        snprintf(list, sizeof list, "%s", g[i]->models);
        for (char *m = strtok_r(list, " ", &save); m && nc < 16;
             m = strtok_r(NULL, " ", &save))
            if (strcmp(m, "fcontext") || fcontext) {
                cells[nc] = (struct cell){ .s = g[i] };
                snprintf(cells[nc++].model, sizeof cells[0].model, "%s", m);
            }
        if (rounds_of(g[i], rounds) > most)
            most = rounds_of(g[i], rounds);
    }
    for (int k = 0; k < most; k++)
        for (int j = 0; j < nc; j++) {
            struct cell *c = &cells[(j + k) % nc];
            /* A cell that failed (or cannot run) is not tried again. */
            if (c->n < rounds_of(c->s, rounds) &&
                (!c->n || !strcmp(row_str(&c->r[0], "status"), "ok")))
                measure(c);
        }
    for (int j = 0; j < nc; j++)
        record(&cells[j]);
}

int switch_main(int argc, char **argv)
{
    int quick = 0, full = 0, rounds = 5, npats = 0;
    char *pats[64];
    scenarios();
    t_start = mem_now();
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick"))
            quick = 1;
        else if (!strcmp(a, "--full"))
            full = 1;
        else if (!strcmp(a, "--list")) {
            for (int k = 0; k < nscen; k++)
                printf("%-26s %s%s\n", scen[k].name,
                       scen[k].quick ? "[quick] " : "",
                       scen[k].full_only ? "[full only]" : "");
            return 0;
        } else if (v && !strcmp(a, "--csv") && ++i) {
            if (!(csv = fopen(v, "w"))) {
                perror(v);
                return 1;
            }
            csv_header(csv, cols);
        } else if (v && !strcmp(a, "--fcontext") && ++i)
            fcontext = v;
        else if (v && !strcmp(a, "--rounds") && ++i)
            rounds = atoi(v);
        else if (v && !strcmp(a, "--runs") && ++i)
            timing.runs = atoi(v);
        else if (v && !strcmp(a, "--ms") && ++i)
            timing.target_ns = atof(v) * 1e6;
        else if (a[0] == '-') {
            fprintf(stderr, "bench switch: unknown option %s\n", a);
            return 2;
        } else if (npats < 64)
            pats[npats++] = argv[i];
    }
    if (quick) {
        timing.target_ns = 2e6;
        rounds = 2;
    }
    int selected = 0;
    for (int i = 0; i < nscen;) {
        const struct scen *g[4];
        int ng = 0, j = i;
        do { /* a scenario, or the selected ones of its group */
            int take = npats ? 0 : quick ? scen[j].quick
                                         : !scen[j].full_only || full;
            for (int p = 0; p < npats; p++)
                take |= fnmatch(pats[p], scen[j].name, 0) == 0;
            if (take && ng < 4)
                g[ng++] = &scen[j];
            j++;
        } while (j < nscen && scen[i].group && scen[j].group == scen[i].group);
        i = j;
        if (ng)
            run_group(g, ng, rounds);
        selected += ng;
    }
    if (csv)
        fclose(csv);
    if (!selected)
        fprintf(stderr, "bench switch: no scenario matches (see --list)\n");
    return selected ? 0 : 2;
}
