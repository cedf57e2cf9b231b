/* SPDX-License-Identifier: MIT */
/*
 * The switch benchmark: what a task switch costs on pagedstack, next to
 * Boost.Context fcontext, a copy-stack runtime and threads.
 *
 *   demos/bench switch [--quick] [--full] [--list] [--csv FILE]
 *                      [--fcontext PROGRAM] [--rounds R] [--runs N] [--ms M]
 *                      [SCENARIO-PATTERN...]
 *
 * Every figure is the median of R rounds that interleave the models, each
 * measurement a cell in a child process (`demos/bench cell switch SCENARIO
 * MODEL`); demos/switch/README.md says more.
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

enum { K_RING, K_THREADS, K_GROWTH, K_CREATE, K_MEMORY, K_SHALLOW };

struct scen {
    char name[64];
    int kind, whole, threads, group, full_only, quick;
    size_t n, depth, spike;
    unsigned regions;
    const char *models; /* the models that run it */
};

static const char *const cols[] = {
    "scenario", "model", "tasks", "depth", "variant", "regions", "threads",
    "ns", "faults", "remaps", "syscalls", "live", "bytes", "iters", "spread",
    "minflt", "maps", "create_sys", "lib_sys", "status", NULL
};

#define ALL "fcontext pagedstack copy-stack threads"
static struct scen scen[160];
static int nscen;

static void size_name(char *out, size_t b, size_t k, const char *unit)
{
    if (b >= k * k && b % (k * k) == 0)
        sprintf(out, "%zu%c", b / k / k, unit[1]);
    else if (b >= k && b % k == 0)
        sprintf(out, "%zu%c", b / k, unit[0]);
    else
        sprintf(out, "%zu", b);
}

/* A scenario named PREFIX-N-DEPTH-top|whole (or name, if not NULL). */
static struct scen *add(int kind, const char *name, const char *prefix,
                        size_t n, size_t depth, int whole, const char *list)
{
    struct scen *s = &scen[nscen++];
    char nn[24], dd[24];
    *s = (struct scen){ .kind = kind, .n = n, .depth = depth,
                        .whole = whole, .models = list };
    size_name(nn, n, 1000, "kM");
    size_name(dd, depth, KiB, "km");
    snprintf(s->name, sizeof s->name, "%s%s-%s-%s", prefix, nn, dd,
             whole ? "whole" : "top");
    if (name)
        snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

static void scenarios(void)
{
    static const size_t counts[] = { 2, 100, 10000 };
    static const size_t depths[] = { 128, KiB, 4 * KiB, 64 * KiB, MiB,
                                     4 * MiB };
    static const char quick[] =
        " hot rr-2-1k-top rr-2-1m-top rr-100-64k-whole rr-10k-1k-top "
        "regions-1-2-1k-top regions-1-2-1m-top growth-7m create "
        "threads-1-100-1k-top threads-2-100-1k-top cliff-0-100-1k-top "
        "cliff-64k-100-1k-top shallow-after-deep ";
    char prefix[24], key[72];
    struct scen *s;
    add(K_RING, "hot", "", 1, 128, 0, ALL);
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < 3; i++)
            for (int d = 0; d < 6; d++) /* at most 2 GiB per model */
                if (counts[i] * depths[d] <= ((size_t)2 << 30))
                    add(K_RING, NULL, "rr-", counts[i], depths[d], w, ALL);
    /* By pgs_config.regions: the round-robins at 1 and 64 KiB, and two
     * deep tasks that alternate. */
    for (unsigned r = 1; r <= 16; r *= r == 4 ? 4 : 2)
        for (int i = 0; i < 3; i++)
            for (int d = 1; d < 6; d += d == 1 ? 2 : 1)
                if (d < 4 || counts[i] == 2) {
                    snprintf(prefix, sizeof prefix, "regions-%u-", r);
                    add(K_RING, NULL, prefix, counts[i], depths[d], 0,
                        "pagedstack")->regions = r;
                }
    add(K_GROWTH, "growth-7m", "", 1, 7 * MiB, 0,
        "fcontext pagedstack copy-stack");
    add(K_CREATE, "create", "", 1, 0, 0, ALL);
    /* One thread and two, shallow and deep tasks: pairs measured in the
     * same rounds.  With one region a deep switch remaps (the mm lock, TLB
     * flushes on the other CPU): group 7. */
    for (int g = 0; g < 5; g++)
        for (int t = 1; t <= 2; t++) {
            snprintf(prefix, sizeof prefix, "threads-%d-%s", t,
                     g == 4 ? "r1-" : "");
            s = add(K_THREADS, NULL, prefix, 100, g == 0 || g == 1 ? KiB : MiB,
                    g & 1, "fcontext pagedstack copy-stack");
            s->threads = t;
            s->regions = g == 4;
            s->group = g == 4 ? 7 : g + 1;
        }
    /* No cliff: the first of 100 shallow tasks went 64 KiB deep once,
     * against the same without; default regions and one region. */
    for (int r = 0; r < 2; r++)
        for (int spike = 0; spike < 2; spike++) {
            snprintf(prefix, sizeof prefix, "cliff-%s%s-", r ? "r1-" : "",
                     spike ? "64k" : "0");
            s = add(K_RING, NULL, prefix, 100, KiB, 0, "pagedstack copy-stack");
            s->spike = spike ? 64 * KiB : 0;
            s->regions = (unsigned)r;
            s->group = 5 + r;
        }
    add(K_MEMORY, "memory-100k-1k", "", 100000, KiB, 0, "pagedstack");
    add(K_SHALLOW, "shallow-after-deep", "", 2, MiB, 0, "pagedstack")
        ->regions = 1;
    add(K_MEMORY, "million", "", 1000000, 700, 0, "pagedstack")->full_only = 1;
    for (int i = 0; i < nscen; i++) {
        snprintf(key, sizeof key, " %.64s ", scen[i].name);
        scen[i].quick = strstr(quick, key) != NULL;
    }
}

/* ---- the child: one cell ------------------------------------------------ */

struct ring {
    const struct model *m;
    const struct scen *s;
    struct job j;
    void **t;
    size_t n, pos;
    pthread_barrier_t *bar;
    struct row r;
    double live;
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

static int ops_run(void *p, uint64_t k) /* create, first resume, destroy */
{
    struct ring *g = p;
    for (void *t; k; k--)
        if (!(t = g->m->create(&g->j)) || g->m->resume(t) || g->m->destroy(t))
            return -1;
    return 0;
}

/* One thread's ring: s->n tasks, each run once down to its depth, then
 * timed (CPU time alone, the wall clock in the threads pairs). */
static void *ring_main(void *p)
{
    struct ring *g = p;
    const struct scen *s = g->s;
    g->j = (struct job){ .depth = s->depth, .whole = s->whole,
                         .spike = s->spike, .regions = s->regions,
                         .stack = s->depth + s->spike + 64 * KiB };
    int ok = (g->t = calloc(s->n, sizeof *g->t)) &&
             (!g->m->init || g->m->init(&g->j) == 0);
    for (; ok && g->n < s->n; g->n++)
        ok = (g->t[g->n] = g->m->create(&g->j)) && !g->m->resume(g->t[g->n]);
    if (!ok)
        fail(&g->r, g->m, "init, create or first resume");
    pthread_barrier_wait(g->bar); /* all set up */
    if (ok && !time_runs(ring_run, g, g->n, 0, s->threads > 0,
                         g->m->counters, &g->r))
        row_set(&g->r, "status", "ok");
    pthread_barrier_wait(g->bar); /* all measured */
    g->live = ok && g->m->held ? g->m->held(g->t[0]) : 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->t[i])
            g->m->destroy(g->t[i]);
    if (g->m->fini)
        g->m->fini();
    free(g->t);
    return NULL;
}

/* Rings in s->threads threads at once (a plain ring in one fresh thread).
 * ns is the mean over the threads; the system call counter is
 * process-wide, so each thread's count saw every thread's calls. */
static void rings(const struct model *m, const struct scen *s, struct row *r)
{
    int n = s->threads > 0 ? s->threads : 1;
    struct ring g[2];
    pthread_t th[2];
    pthread_barrier_t bar;
    double ns = 0, sys = 0;
    pthread_barrier_init(&bar, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        g[i] = (struct ring){ .m = m, .s = s, .bar = &bar };
        pthread_create(&th[i], NULL, ring_main, &g[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    for (int i = n - 1; i >= 0; i--) {
        ns += row_get(&g[i].r, "ns") / n;
        sys += row_get(&g[i].r, "syscalls") / n / n;
        *r = g[i].r;
        if (strcmp(row_str(r, "status"), "ok"))
            return;
    }
    row_num(r, "ns", ns);
    row_num(r, "syscalls", sys);
    if (m->held && strcmp(m->name, "pagedstack")) /* copy-stack's bytes */
        row_num(r, "live", g[0].live);
}

/* Per task: create, first resume (the task returns at once, or grows
 * and waits), destroy; and for create, what pgs_create alone costs in
 * system calls (the goal is none). */
static void ops(const struct model *m, const struct scen *s, struct row *r)
{
    struct ring g = { .m = m };
    static void *t[4096];
    double c0[3], c1[3];
    g.j.finish = s->kind == K_CREATE;
    g.j.grow = s->depth > JOB_FRAMES ? s->depth - JOB_FRAMES : 0;
    if ((m->init && m->init(&g.j)) ||
        time_runs(ops_run, &g, 1, s->kind == K_GROWTH, 0, m->counters, r))
        return fail(r, m, "create, resume or destroy");
    row_set(r, "status", "ok");
    if (s->kind != K_CREATE || !m->counters)
        return;
    m->counters(c0);
    for (int i = 0; i < 4096; i++)
        if (!(t[i] = m->create(&g.j)))
            return fail(r, m, "create");
    m->counters(c1);
    row_num(r, "create_sys", (c1[2] - c0[2]) / 4096);
}

/* A task went 1 MiB deep and waits shallow while another task runs in
 * its region (regions = 1): the stack bytes it holds. */
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

/* bench cell switch SCENARIO MODEL [--runs N] [--ms M] [--fixed K] */
int switch_cell(int argc, char **argv)
{
    const struct scen *s = NULL;
    const struct model *m;
    struct row r;
    scenarios();
    for (int i = 0; i < nscen && argc > 0; i++)
        s = strcmp(scen[i].name, argv[0]) ? s : &scen[i];
    if (argc < 2 || !s || !(m = model_find(argv[1])))
        return 2;
    for (int i = 2; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--runs"))
            timing.runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ms"))
            timing.target_ns = atof(argv[i + 1]) * 1e6;
        else if (!strcmp(argv[i], "--fixed")) /* run_bench.sh's strace check */
            timing.fixed = strtoull(argv[i + 1], NULL, 10);
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

/* Rows by time, or by the memory figure where there is no time. */
static int by_figure(const void *a, const void *b)
{
    const char *k = isnan(row_get(a, "ns")) ? "bytes" : "ns";
    double x = row_get(a, k), y = row_get(b, k);
    return x < y ? -1 : x > y;
}

/* The rounds as one row: the median round (its counters, which do not
 * vary, come with it) and the spread of the times.  A failed round makes
 * the whole a failure. */
static void record(struct cell *c)
{
    struct row *v = c->r, out;
    for (int i = 0; i < c->n; i++)
        if (strcmp(row_str(&v[i], "status"), "ok")) {
            v[0] = v[i];
            c->n = 1;
        }
    qsort(v, (size_t)c->n, sizeof *v, by_figure);
    out = v[c->n / 2];
    if (c->n > 1)
        row_num(&out, "spread", (row_get(&v[c->n - 1], "ns") -
                                 row_get(&v[0], "ns")) / row_get(&out, "ns"));
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
    if (s->kind == K_SHALLOW || s->full_only)
        return 1;
    if (s->kind == K_MEMORY || (double)s->n * (double)s->depth >= 256e6)
        return rounds < 3 ? rounds : 3;
    return rounds > 15 ? 15 : rounds;
}

static void run_group(const struct scen *const *g, int ng, int rounds)
{
    static struct cell cells[16];
    char runs[16], ms[32], list[64], *save;
    int nc = 0, most = 1;
    snprintf(runs, sizeof runs, "%d", timing.runs);
    snprintf(ms, sizeof ms, "%g", timing.target_ns / 1e6);
    for (int i = 0; i < ng; i++) {
        snprintf(list, sizeof list, "%s", g[i]->models);
        for (char *m = strtok_r(list, " ", &save); m && nc < 16;
             m = strtok_r(NULL, " ", &save))
            if (strcmp(m, "fcontext") || fcontext) {
                cells[nc] = (struct cell){ .s = g[i] };
                snprintf(cells[nc++].model, sizeof cells[0].model, "%s", m);
            }
        most = rounds_of(g[i], rounds) > most ? rounds_of(g[i], rounds) : most;
    }
    for (int k = 0; k < most; k++)
        for (int j = 0; j < nc; j++) {
            struct cell *c = &cells[(j + k) % nc];
            const char *prog = strcmp(c->model, "fcontext") ? bench_self
                                                            : fcontext;
            char *argv[] = { (char *)prog, "cell", "switch", (char *)c->s->name,
                             c->model, "--runs", runs, "--ms", ms, NULL };
            /* A cell that failed (or cannot run) is not tried again. */
            if (c->n < rounds_of(c->s, rounds) &&
                (!c->n || !strcmp(row_str(&c->r[0], "status"), "ok")))
                cell_spawn(argv, 240, 0, &c->r[c->n++]);
        }
    for (int j = 0; j < nc; j++)
        record(&cells[j]);
}

int switch_main(int argc, char **argv)
{
    int quick = 0, full = 0, rounds = 5, npats = 0, selected = 0;
    char *pats[64];
    scenarios();
    t_start = mem_now();
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--quick"))
            quick = 1;
        else if (!strcmp(a, "--full"))
            full = 1;
        else if (!strcmp(a, "--list"))
            for (int k = 0; k < nscen || (exit(0), 0); k++)
                printf("%-26s %s%s\n", scen[k].name, scen[k].quick ?
                       "[quick] " : "", scen[k].full_only ? "[full only]" : "");
        else if (!strcmp(a, "--csv") && ++i && (csv = fopen(v, "w")))
            csv_header(csv, cols);
        else if (!strcmp(a, "--fcontext") && ++i)
            fcontext = v;
        else if (!strcmp(a, "--rounds") && ++i)
            rounds = atoi(v);
        else if (!strcmp(a, "--runs") && ++i)
            timing.runs = atoi(v);
        else if (!strcmp(a, "--ms") && ++i)
            timing.target_ns = atof(v) * 1e6;
        else if (a[0] == '-') {
            fprintf(stderr, "bench switch: bad option or file: %s\n", a);
            return 2;
        } else if (npats < 64)
            pats[npats++] = argv[i];
    }
    if (quick)
        timing.target_ns = 2e6, rounds = 2;
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
        } while (++j < nscen && scen[i].group && scen[j].group == scen[i].group);
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
