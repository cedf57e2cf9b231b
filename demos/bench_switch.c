/* SPDX-License-Identifier: MIT */
/*
 * bench_switch: how much a task switch costs on pagedstack, next to a
 * copy-stack runtime, pthreads and Boost.Context fcontext, over the
 * scenarios of demos/bench_common.c.
 *
 *   demos/bench_switch [--quick] [--full] [--list] [--boost PROGRAM]
 *                      [--fcontext FILE] [--csv FILE] [--md FILE]
 *                      [--about TEXT] [--syscheck FILE] [--runs N]
 *                      [--ms M] [SCENARIO-PATTERN...]
 *   demos/bench_switch --count SCENARIO --iters K
 *
 * Patterns are shell globs over scenario names (--list shows them), so one
 * scenario, or a family ('rr-*-1k-*'), can be rerun alone.  fcontext
 * figures come from demos/bench_boost: with --boost it is run for each
 * scenario just before the other models, so that every row is measured
 * under the same load; --fcontext takes them from a CSV it wrote earlier.
 * Progress goes to stderr, the table to stdout at the end.
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
static FILE *csv;
static const char *boost;
static int quick_mode;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_switch [--quick] [--full] [--list] [--boost PROG]\n"
            "                    [--fcontext FILE] [--csv FILE] [--md FILE]\n"
            "                    [--about TEXT] [--syscheck FILE] [--runs N]\n"
            "                    [--ms M] [SCENARIO-PATTERN...]\n"
            "       bench_switch --count SCENARIO --iters K\n"
            "  --quick     smoke run: small scenario set, ~2 ms per timed run\n"
            "  --full      include the full-only scenarios (million)\n"
            "  --list      list the scenarios and exit\n"
            "  --boost     the demos/bench_boost program: fcontext figures\n"
            "  --fcontext  CSV written by demos/bench_boost (instead)\n"
            "  --csv/--md  also write the results as CSV / markdown\n"
            "  --about     a line for the report (how fcontext was built)\n"
            "  --syscheck  the strace cross-check run_bench.sh made (TSV)\n"
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

/* Run demos/bench_boost on the scenario (a regions- one: on its rr-
 * variant), unless this run has its fcontext figure already. */
static void run_fcontext(const struct bench_scen *s)
{
    char name[48], cmd[1024], line[1024];
    if (!boost || s->kind == BK_SHALLOW || s->kind == BK_MILLION || s->skip[0])
        return;
    bench_rr_name(s, name, sizeof name);
    if (s->kind == BK_THREADS)
        snprintf(name, sizeof name, "%s", s->name);
    if (find_entry(name, "fcontext"))
        return;
    snprintf(cmd, sizeof cmd, "'%s' --runs %d --ms %g %s '%s'", boost,
             bench_timing.runs, bench_timing.target_ns / 1e6,
             quick_mode ? "--quick" : "", name);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "bench: cannot run %s\n", boost);
        return;
    }
    while (fgets(line, sizeof line, p))
        add_fcontext_row(line);
    if (pclose(p) != 0)
        fprintf(stderr, "bench: %s failed on %s\n", boost, name);
}

static void run_scenario(const struct bench_scen *s)
{
    struct bench_result r;
    run_fcontext(s);
    if (s->skip[0]) {
        skipped(s, "all", s->skip);
        return;
    }
    switch (s->kind) {
    case BK_HOT:
    case BK_RR:
        bench_ring(&bench_pgs_ops, s, &r);
        record(s, "pagedstack", &r);
        bench_ring(&bench_copy_ops, s, &r);
        record(s, "copy-stack", &r);
        bench_ring(&bench_pthread_ops, s, &r);
        record(s, "pthread", &r);
        break;
    case BK_REGIONS:
        bench_ring(&bench_pgs_ops, s, &r);
        record(s, "pagedstack", &r);
        need_copy_rr(s);
        break;
    case BK_GROWTH:
        bench_pgs_growth(s, &r);
        record(s, "pagedstack", &r);
        bench_copy_growth(s, &r);
        record(s, "copy-stack", &r);
        break;
    case BK_CREATE:
        bench_pgs_create(s, &r);
        record(s, "pagedstack", &r);
        bench_copy_create(s, &r);
        record(s, "copy-stack", &r);
        bench_pthread_create(s, &r);
        record(s, "pthread", &r);
        break;
    case BK_THREADS:
        bench_ring_threads(&bench_pgs_ops, s, &r);
        record(s, "pagedstack", &r);
        bench_ring_threads(&bench_copy_ops, s, &r);
        record(s, "copy-stack", &r);
        break;
    case BK_SHALLOW:
        bench_pgs_shallow(s, &r);
        record(s, "pagedstack", &r);
        break;
    case BK_MILLION:
        bench_pgs_million(s, &r);
        record(s, "pagedstack", &r);
        break;
    }
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

int main(int argc, char **argv)
{
    int quick = 0, full = 0, list = 0;
    const char *fctx = NULL, *csv_path = NULL, *md_path = NULL, *count = NULL;
    const char *about = NULL, *syscheck = NULL;
    unsigned long long count_iters = 1000;
    int runs = 0;
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
    }
    if (runs > 0)
        bench_timing.runs = runs;
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

    char machine[512], conditions[768];
    double load0 = bench_load(), t0 = bench_now_ns();
    bench_machine(machine, sizeof machine);
    fprintf(stderr, "%s\n", machine);
    size_t selected = 0;
    for (size_t i = 0; i < nscen; i++)
        if (bench_selected(&scen[i], pats, npats, quick, full)) {
            run_scenario(&scen[i]);
            selected++;
        }
    if (!selected) {
        fprintf(stderr, "bench: no scenario matches (see --list)\n");
        return 2;
    }
    if (csv)
        fclose(csv);
    snprintf(conditions, sizeof conditions,
             "%s%sload average %.2f at the start, %.2f at the end "
             "(%.0f s; other processes disturb the timings); %d timed runs "
             "of ~%.0f ms per figure, median",
             about ? about : "", about ? ". " : "", load0, bench_load(),
             (bench_now_ns() - t0) / 1e9, bench_timing.runs,
             bench_timing.target_ns / 1e6);
    about = conditions;

    bench_report(stdout, 0, machine, about, syscheck, entries, nentries);
    if (md_path) {
        FILE *md = fopen(md_path, "w");
        if (!md) {
            fprintf(stderr, "bench: %s: %s\n", md_path, strerror(errno));
            return 1;
        }
        bench_report(md, 1, machine, about, syscheck, entries, nentries);
        fclose(md);
    }
    return 0;
}
