/* SPDX-License-Identifier: MIT */
/*
 * bench_switch: how much a task switch costs on pagedstack, next to a
 * copy-stack runtime, pthreads and Boost.Context fcontext, over the
 * scenarios of demos/bench_common.c.
 *
 *   demos/bench_switch [--quick] [--full] [--list] [--boost PROGRAM]
 *                      [--fcontext FILE] [--csv FILE] [--md FILE]
 *                      [--about TEXT] [--syscheck FILE] [--before FILE]
 *                      [--runs N] [--ms M] [--rounds R]
 *                      [SCENARIO-PATTERN...]
 *   demos/bench_switch --count SCENARIO --iters K
 *
 * Patterns are shell globs over scenario names (--list shows them), so one
 * scenario, or a family ('rr-*-1k-*'), can be rerun alone.  Every figure is
 * the median of R rounds that interleave the models of a scenario (see
 * run_group).  fcontext figures come from demos/bench_boost: with --boost
 * it is run in each round, in turn with the other models; --fcontext takes
 * them from a CSV it wrote earlier.  --before names the CSV of an earlier
 * run, for the goals' before/after table.  Progress goes to stderr, the
 * table to stdout at the end.
 * demos/run_bench.sh runs the whole thing, Boost part included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bench_models.h"

#define MAX_SCEN 256
#define MAX_ENTRIES 2048

static struct bench_scen scen[MAX_SCEN];
static size_t nscen;
static struct bench_entry entries[MAX_ENTRIES];
static size_t nentries;
static struct bench_entry before[MAX_ENTRIES];
static size_t nbefore;
static FILE *csv;
static const char *boost;
static int quick_mode;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_switch [--quick] [--full] [--list] [--boost PROG]\n"
            "                    [--fcontext FILE] [--csv FILE] [--md FILE]\n"
            "                    [--about TEXT] [--syscheck FILE] [--before FILE]\n"
            "                    [--runs N] [--ms M] [--rounds R]\n"
            "                    [SCENARIO-PATTERN...]\n"
            "       bench_switch --count SCENARIO --iters K\n"
            "  --quick     smoke run: small scenario set, ~2 ms per timed run\n"
            "  --full      include the full-only scenarios (million)\n"
            "  --list      list the scenarios and exit\n"
            "  --boost     the demos/bench_boost program: fcontext figures\n"
            "  --fcontext  CSV written by demos/bench_boost (instead)\n"
            "  --csv/--md  also write the results as CSV / markdown\n"
            "  --about     a line for the report (how fcontext was built)\n"
            "  --syscheck  the strace cross-check run_bench.sh made (TSV)\n"
            "  --before    CSV of an earlier run: the goals before and after\n"
            "  --runs/--ms timed runs per measurement, and ms per timed run\n"
            "  --rounds    measurements per figure, interleaving the models\n"
            "  --count     run K round trips (creates) on pagedstack, print\n"
            "              the library's counts (for a check under strace)\n");
}

static struct bench_entry *add_entry(const struct bench_scen *s,
                                     const char *model,
                                     const struct bench_result *r)
{
    if (nentries >= MAX_ENTRIES)
        return NULL;
    struct bench_entry *e = &entries[nentries++];
    e->s = s;
    snprintf(e->model, sizeof e->model, "%s", model);
    e->r = *r;
    return e;
}

static const struct bench_entry *find_entry(const char *scen_name,
                                            const char *model)
{
    for (size_t i = 0; i < nentries; i++)
        if (strcmp(entries[i].s->name, scen_name) == 0 &&
            strcmp(entries[i].model, model) == 0)
            return &entries[i];
    return NULL;
}

static void record(const struct bench_scen *s, const char *model,
                   const struct bench_result *r)
{
    add_entry(s, model, r);
    bench_progress(s->name, model, r);
    if (csv) {
        bench_csv_row(csv, s, model, r);
        fflush(csv);
    }
}

static void skipped(const struct bench_scen *s, const char *model,
                    const char *why)
{
    struct bench_result r;
    bench_result_init(&r);
    snprintf(r.note, sizeof r.note, "%s", why);
    record(s, model, &r);
}

/* The copy-stack figure of a round-robin, measured once per run. */
static void need_copy_rr(const struct bench_scen *s)
{
    char name[48];
    bench_rr_name(s, name, sizeof name);
    const struct bench_scen *rr = bench_find(scen, nscen, name);
    if (!rr || find_entry(name, "copy-stack"))
        return;
    struct bench_result r;
    bench_ring(&bench_copy_ops, rr, &r);
    record(rr, "copy-stack", &r);
}

static void add_fcontext_row(char *line)
{
    struct bench_row row;
    if (bench_csv_parse(line, &row) != 0)
        return;
    const struct bench_scen *s = bench_find(scen, nscen, row.scen);
    if (!s || find_entry(row.scen, row.model))
        return;
    add_entry(s, row.model, &row.r);
    if (csv)
        bench_csv_row(csv, s, row.model, &row.r);
}

/* One fcontext measurement of s: demos/bench_boost run on it now. */
static void run_fcontext(const struct bench_scen *s, struct bench_result *r)
{
    char cmd[1024], line[1024];
    struct bench_row row;
    bench_result_init(r);
    snprintf(r->note, sizeof r->note, "demos/bench_boost gave no figure");
    snprintf(cmd, sizeof cmd, "'%s' --runs %d --ms %g %s '%s'", boost,
             bench_timing.runs, bench_timing.target_ns / 1e6,
             quick_mode ? "--quick" : "", s->name);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "bench: cannot run %s\n", boost);
        return;
    }
    while (fgets(line, sizeof line, p))
        if (bench_csv_parse(line, &row) == 0 && strcmp(row.scen, s->name) == 0)
            *r = row.r;
    if (pclose(p) != 0)
        fprintf(stderr, "bench: %s failed on %s\n", boost, s->name);
}

/* The models, and which of them run each kind of scenario. */
enum { M_FCTX, M_PGS, M_COPY, M_PTHREAD, M_COUNT };
static const char *const model_name[M_COUNT] = { "fcontext", "pagedstack",
                                                 "copy-stack", "pthread" };

static unsigned models_of(const struct bench_scen *s)
{
    unsigned fc = boost ? 1u << M_FCTX : 0, pgs = 1u << M_PGS;
    unsigned copy = 1u << M_COPY, pt = 1u << M_PTHREAD;
    switch (s->kind) {
    case BK_HOT:
    case BK_RR:
    case BK_CREATE:
        return fc | pgs | copy | pt;
    case BK_GROWTH:
    case BK_THREADS:
        return fc | pgs | copy;
    case BK_CLIFF:
        return pgs | copy;
    default:
        return pgs;
    }
}

/* One measurement of one model on s, in a child process. */
static void measure_once(const struct bench_scen *s, int model,
                         struct bench_result *r)
{
    static const struct bench_ring_ops *const ring[M_COUNT] = {
        NULL, &bench_pgs_ops, &bench_copy_ops, &bench_pthread_ops
    };
    if (model == M_FCTX) {
        run_fcontext(s, r);
        return;
    }
    switch (s->kind) {
    case BK_THREADS:
        bench_ring_threads(ring[model], s, r);
        return;
    case BK_GROWTH:
        (model == M_PGS ? bench_pgs_growth : bench_copy_growth)(s, r);
        return;
    case BK_CREATE:
        (model == M_PGS    ? bench_pgs_create
         : model == M_COPY ? bench_copy_create
                           : bench_pthread_create)(s, r);
        return;
    case BK_SHALLOW:
        bench_pgs_shallow(s, r);
        return;
    case BK_MILLION:
        bench_pgs_million(s, r);
        return;
    case BK_MEMORY:
        bench_pgs_memory(s, r);
        return;
    default:
        bench_ring(ring[model], s, r);
    }
}

static int cmp_ns(const void *a, const void *b)
{
    const struct bench_result *x = a, *y = b;
    return x->ns < y->ns ? -1 : x->ns > y->ns;
}

static int cmp_bytes(const void *a, const void *b)
{
    const struct bench_result *x = a, *y = b;
    return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

/* The rounds of one model on one scenario, as one result: the round with
 * the median time (its counters, which do not vary, come with it), the
 * median memory figure, and the spread of the rounds.  A round that
 * failed makes the whole a failure. */
static void combine(struct bench_result *v, int n, struct bench_result *out)
{
    for (int i = 0; i < n; i++)
        if (!v[i].ok) {
            *out = v[i];
            return;
        }
    qsort(v, (size_t)n, sizeof *v, cmp_bytes);
    double bytes = v[n / 2].bytes;
    qsort(v, (size_t)n, sizeof *v, cmp_ns);
    *out = v[n / 2];
    out->bytes = bytes;
    if (n > 1 && out->ns > 0)
        out->spread = (v[n - 1].ns - v[0].ns) / out->ns;
}

/* Memory and the one-off checks are measured once (memory: three times);
 * times in bench_timing.rounds rounds, at most three where every round
 * pages in a quarter of a gigabyte or more per model (100 x 4 MiB). */
static int rounds_of(const struct bench_scen *s)
{
    int few = bench_timing.rounds < 3 ? bench_timing.rounds : 3;
    if (s->kind == BK_SHALLOW || s->kind == BK_MILLION)
        return 1;
    if (s->kind == BK_MEMORY || (double)s->n * (double)s->depth >= 256e6)
        return few;
    return bench_timing.rounds;
}

#define MAX_ROUNDS 15

struct cell {
    const struct bench_scen *s;
    int model;
    int n;
    struct bench_result r[MAX_ROUNDS];
};

/*
 * Measure the scenarios g[0..ng) on every model that runs them, in rounds:
 * each round measures every (scenario, model) cell once, starting one cell
 * further each round, so that a disturbance of the machine falls on all
 * the models of a row (and on both thread counts of a threads pair), not
 * on the one measured while it lasted.
 */
static void run_group(const struct bench_scen *const *g, int ng)
{
    static struct cell cells[4 * M_COUNT];
    int nc = 0, rounds = 1;
    for (int i = 0; i < ng; i++) {
        const struct bench_scen *s = g[i];
        if (s->skip[0]) {
            skipped(s, "all", s->skip);
            continue;
        }
        for (int m = 0; m < M_COUNT && nc < 4 * M_COUNT; m++) {
            if (!(models_of(s) & (1u << m)))
                continue;
            if (m == M_FCTX && find_entry(s->name, "fcontext"))
                continue; /* loaded with --fcontext */
            cells[nc++] = (struct cell){ .s = s, .model = m };
        }
        if (rounds_of(s) > rounds)
            rounds = rounds_of(s);
    }
    if (rounds > MAX_ROUNDS)
        rounds = MAX_ROUNDS;
    for (int k = 0; k < rounds; k++)
        for (int j = 0; j < nc; j++) {
            struct cell *c = &cells[(j + k) % nc];
            /* A model that could not run the scenario (or failed) is not
             * tried again. */
            if (c->n >= rounds_of(c->s) || (c->n && !c->r[0].ok))
                continue;
            measure_once(c->s, c->model, &c->r[c->n++]);
        }
    for (int j = 0; j < nc; j++) {
        struct bench_result r;
        combine(cells[j].r, cells[j].n, &r);
        record(cells[j].s, model_name[cells[j].model], &r);
    }
    for (int i = 0; i < ng; i++)
        if (g[i]->kind == BK_REGIONS)
            need_copy_rr(g[i]);
}

/* Rows of a CSV that demos/bench_boost wrote become entries (and CSV
 * rows) of this run. */
static void load_fcontext(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench: cannot read %s: %s (no fcontext ratios)\n",
                path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof line, f))
        add_fcontext_row(line);
    fclose(f);
}

/* The rows of an earlier run's CSV, for the before/after table. */
static void load_before(const char *path)
{
    char line[1024];
    struct bench_row row;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench: cannot read %s: %s (no before/after)\n",
                path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof line, f) && nbefore < MAX_ENTRIES) {
        const struct bench_scen *s;
        if (bench_csv_parse(line, &row) != 0 ||
            !(s = bench_find(scen, nscen, row.scen)))
            continue;
        struct bench_entry *e = &before[nbefore++];
        e->s = s;
        snprintf(e->model, sizeof e->model, "%s", row.model);
        e->r = row.r;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    int quick = 0, full = 0, list = 0;
    const char *fctx = NULL, *csv_path = NULL, *md_path = NULL, *count = NULL;
    const char *about = NULL, *syscheck = NULL, *before_path = NULL;
    unsigned long long count_iters = 1000;
    int runs = 0, rounds = 0;
    double ms = 0;
    char *pats[64];
    int npats = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0)
            quick = 1;
        else if (strcmp(a, "--full") == 0)
            full = 1;
        else if (strcmp(a, "--list") == 0)
            list = 1;
        else if (strcmp(a, "--boost") == 0 && v)
            boost = argv[++i];
        else if (strcmp(a, "--fcontext") == 0 && v)
            fctx = argv[++i];
        else if (strcmp(a, "--csv") == 0 && v)
            csv_path = argv[++i];
        else if (strcmp(a, "--syscheck") == 0 && v)
            syscheck = argv[++i];
        else if (strcmp(a, "--about") == 0 && v)
            about = argv[++i];
        else if (strcmp(a, "--md") == 0 && v)
            md_path = argv[++i];
        else if (strcmp(a, "--count") == 0 && v)
            count = argv[++i];
        else if (strcmp(a, "--iters") == 0 && v)
            count_iters = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--runs") == 0 && v)
            runs = atoi(argv[++i]);
        else if (strcmp(a, "--rounds") == 0 && v)
            rounds = atoi(argv[++i]);
        else if (strcmp(a, "--before") == 0 && v)
            before_path = argv[++i];
        else if (strcmp(a, "--ms") == 0 && v)
            ms = atof(argv[++i]);
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            usage(stderr);
            return 2;
        } else if (npats < 64)
            pats[npats++] = argv[i];
    }

    nscen = bench_scenarios(scen, MAX_SCEN);
    if (list) {
        for (size_t i = 0; i < nscen; i++)
            printf("%-28s%s%s%s\n", scen[i].name,
                   scen[i].quick ? " [quick]" : "",
                   scen[i].full_only ? " [full only]" : "",
                   scen[i].skip[0] ? " [skipped: too big]" : "");
        return 0;
    }
    if (count) {
        const struct bench_scen *s = bench_find(scen, nscen, count);
        if (!s || !(s->kind == BK_RR || s->kind == BK_REGIONS ||
                    s->kind == BK_HOT || s->kind == BK_CREATE)) {
            fprintf(stderr, "bench: --count needs a hot, rr-, regions- or "
                            "create scenario\n");
            return 2;
        }
        return bench_pgs_count(s, count_iters) == 0 ? 0 : 1;
    }

    quick_mode = quick;
    if (quick) {
        bench_timing.target_ns = 2e6;
        bench_timing.runs = 3;
        bench_timing.rounds = 2;
    }
    if (runs > 0)
        bench_timing.runs = runs;
    if (rounds > 0)
        bench_timing.rounds = rounds;
    if (ms > 0)
        bench_timing.target_ns = ms * 1e6;

    if (csv_path) {
        csv = fopen(csv_path, "w");
        if (!csv) {
            fprintf(stderr, "bench: %s: %s\n", csv_path, strerror(errno));
            return 1;
        }
        bench_csv_header(csv);
    }
    if (fctx)
        load_fcontext(fctx);
    if (before_path)
        load_before(before_path);

    char machine[512], conditions[768];
    double load0 = bench_load(), t0 = bench_now_ns();
    bench_machine(machine, sizeof machine);
    fprintf(stderr, "%s\n", machine);
    size_t selected = 0;
    for (size_t i = 0; i < nscen;) {
        /* A scenario, or the selected ones of its group. */
        const struct bench_scen *g[8];
        int ng = 0;
        size_t j = i;
        do {
            if (bench_selected(&scen[j], pats, npats, quick, full) && ng < 8)
                g[ng++] = &scen[j];
            j++;
        } while (j < nscen && scen[i].group &&
                 scen[j].group == scen[i].group);
        i = j;
        if (ng) {
            run_group(g, ng);
            selected += (size_t)ng;
        }
    }
    if (!selected) {
        fprintf(stderr, "bench: no scenario matches (see --list)\n");
        return 2;
    }
    if (csv)
        fclose(csv);
    snprintf(conditions, sizeof conditions,
             "%s%sload average %.2f at the start, %.2f at the end "
             "(%.0f s; other processes disturb the timings); each figure "
             "is the median of %d rounds that interleave the models, each "
             "round the median of %d timed runs of ~%.0f ms, timed in the "
             "process's CPU time (user + system; the wall clock for the "
             "thread pairs)",
             about ? about : "", about ? ". " : "", load0, bench_load(),
             (bench_now_ns() - t0) / 1e9, bench_timing.rounds,
             bench_timing.runs, bench_timing.target_ns / 1e6);
    about = conditions;

    bench_report(stdout, 0, machine, about, syscheck, entries, nentries,
                 before, nbefore);
    if (md_path) {
        FILE *md = fopen(md_path, "w");
        if (!md) {
            fprintf(stderr, "bench: %s: %s\n", md_path, strerror(errno));
            return 1;
        }
        bench_report(md, 1, machine, about, syscheck, entries, nentries,
                     before, nbefore);
        fclose(md);
    }
    return 0;
}
