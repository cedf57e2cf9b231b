/* SPDX-License-Identifier: MIT */
/*
 * The report writer: CSV files of rows into the markdown tables that
 * demos/results and the README show, and the echo chart's data.
 *
 *   demos/bench report switch|memory|echo CSV [--before CSV]
 *                      [--goals demos/switch/goals.csv] [--about TEXT]
 *                      [--chart FILE]
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "model.h"

static struct row *R;
static long NR;

/* The scenario a figure comes from: the row's own, the round-robin a
 * regions- scenario varies, the one-thread half of a threads pair, the
 * no-spike half of a cliff pair, or the one the table relates rows to
 * (which is also where a model without a row of its own is looked up). */
enum ref { SAME, RR, ONE, NOSPIKE, TABLE };
static enum ref table_ref;

static void ref_name(enum ref ref, const char *scen, char *out, size_t len)
{
    const char *p;
    ref = ref == TABLE ? table_ref : ref;
    snprintf(out, len, "%s", scen);
    if (ref == RR && !strncmp(scen, "regions-", 8) && (p = strchr(scen + 8, '-')))
        snprintf(out, len, "rr-%s", p + 1);
    else if (ref == ONE && !strncmp(scen, "threads-", 8))
        out[8] = '1';
    else if (ref == NOSPIKE && (p = strstr(scen, "64k-")))
        snprintf(out + (p - scen), len - (size_t)(p - scen), "0-%s", p + 4);
}

static const struct row *find(const struct row *rows, long n,
                              const char *scen, const char *model)
{
    for (long i = 0; i < n; i++)
        if (!strcmp(row_str(&rows[i], "scenario"), scen) &&
            !strcmp(row_str(&rows[i], "model"), model))
            return &rows[i];
    return NULL;
}

/* A figure of a row that was measured; NAN if not. */
static double fig(const struct row *r, const char *field)
{
    const char *st;
    if (!r)
        return NAN;
    st = row_str(r, "status");
    /* Older files have no status: a row without a time was not measured. */
    if (st[0] ? strcmp(st, "ok") != 0 : isnan(row_get(r, "ns")))
        return NAN;
    return row_get(r, field);
}

static const char *num(char *buf, double v, int noisy)
{
    if (isnan(v))
        return "-";
    snprintf(buf, 32, fabs(v) >= 100 || v == floor(v) ? "%.0f%s"
                      : fabs(v) < 0.01 ? "%.2g%s" : fabs(v) < 10 ? "%.2f%s"
                                                                : "%.1f%s",
             v, noisy ? "~" : "");
    return buf;
}

struct col {
    const char *head, *model, *field;
    enum ref ref;
    const char *over; /* ratio: this model's figure over over's */
    enum ref over_ref;
};

static double col_value(const struct col *c, const char *scen, int *noisy)
{
    char a[64], b[64];
    ref_name(c->ref, scen, a, sizeof a);
    const struct row *r = find(R, NR, a, c->model);
    if (!r) { /* a model that does not vary here: the related scenario's */
        ref_name(table_ref, scen, a, sizeof a);
        r = find(R, NR, a, c->model);
    }
    double v = fig(r, c->field);
    *noisy = !c->over && !strcmp(c->field, "ns") && fig(r, "spread") > 0.5;
    if (!c->over)
        return v;
    ref_name(c->over_ref == SAME && !find(R, NR, scen, c->over) ? TABLE
                                                               : c->over_ref,
             scen, b, sizeof b);
    return v / fig(find(R, NR, b, c->over), c->field);
}

static int matches(const char *globs, const char *s)
{
    char g[128], *save;
    snprintf(g, sizeof g, "%s", globs);
    for (char *w = strtok_r(g, " ", &save); w; w = strtok_r(NULL, " ", &save))
        if (!fnmatch(w, s, 0))
            return 1;
    return 0;
}

/* One table: a row for every scenario matching globs that the model of
 * the first column has a row for, in the CSV's order, and a column for
 * every figure that any of them has. */
static void table(const char *title, const char *globs, enum ref ref,
                  const struct col *cols)
{
    char buf[32];
    int noisy = 0, show[32] = { 1 }, nc = 0;
    table_ref = ref;
    for (const struct col *c = cols + 1; c->head; c++)
        for (long i = 0, k = ++nc; i < NR && !show[k] &&
                                   (ref != SAME || c->over_ref != TABLE); i++)
            show[k] = !strcmp(row_str(&R[i], "model"), cols[1].model) &&
                      matches(globs, row_str(&R[i], "scenario")) &&
                      !isnan(col_value(c, row_str(&R[i], "scenario"), &noisy));
    printf("### %s\n\n|", title);
    for (int k = 0; k <= nc; k++)
        printf(show[k] ? " %s |" : "", cols[k].head);
    printf("\n|---|");
    for (int k = 1; k <= nc; k++)
        printf(show[k] ? "---:|" : "");
    printf("\n");
    for (long i = 0; i < NR; i++) {
        const char *s = row_str(&R[i], "scenario");
        if (strcmp(row_str(&R[i], "model"), cols[1].model) || !matches(globs, s))
            continue;
        printf("| %s |", s);
        for (int k = 1; k <= nc; k++) {
            double v = col_value(&cols[k], s, &noisy);
            printf(show[k] ? " %s |" : "", num(buf, v, noisy));
        }
        printf("\n");
    }
    printf("\n");
}

#define FIRST { "scenario", "", "", SAME, NULL, SAME }
#define END { NULL, NULL, NULL, SAME, NULL, SAME }
#define NS(head, model) { head, model, "ns", SAME, NULL, SAME }
#define FIG(head, model, f) { head, model, f, SAME, NULL, SAME }
#define RATIO(head, a, b) { head, a, "ns", SAME, b, SAME }
#define PGS_COUNTS FIG("faults", "pagedstack", "faults"), \
    FIG("remaps", "pagedstack", "remaps"), FIG("sys", "pagedstack", "syscalls")

/* ---- the goals of issue 12 ---------------------------------------------- */

/* A goal's figure in R, as goals.csv names it (older result files name
 * the mappings live and pgs_create's system calls bytes). */
static double goal_value(const struct row *g)
{
    static const char *const refs[] = { "same", "rr", "one", "nospike" };
    const char *field = row_str(g, "field"), *over = row_str(g, "over");
    struct col c = { "", row_str(g, "model"), field, SAME, over[0] ? over
                                                                   : NULL, SAME };
    int noisy;
    for (int k = 0; k < 4; k++)
        c.over_ref = strcmp(row_str(g, "ref"), refs[k]) ? c.over_ref
                                                        : (enum ref)k;
    double v = col_value(&c, row_str(g, "scenario"), &noisy);
    c.field = !strcmp(field, "maps") ? "live"
              : !strcmp(field, "create_sys") ? "bytes" : field;
    return isnan(v) ? col_value(&c, row_str(g, "scenario"), &noisy) : v;
}

/* The goals (goals.csv) in this run and, with before, in an earlier run. */
static void goal_table(const char *path, const char *before)
{
    struct row *now = R, *b = NULL, *g = NULL;
    long nnow = NR, nb = before ? csv_load(before, &b) : -1;
    long ng = path ? csv_load(path, &g) : -1;
    char x[32], y[32];
    printf("### Goals (issue 12)\n\nRatios of medians measured in the same "
           "rounds of one run (pagedstack's time over the other model's; vs "
           "1 thread and no cliff: a model over itself)%s%s.\n\n| goal | "
           "target | %snow | status |\n|---|---:|%s---:|---:|\n",
           nb > 0 ? "; before: " : "", nb > 0 ? before : "",
           nb > 0 ? "before | " : "", nb > 0 ? "---:|" : "");
    for (long i = 0; i < ng; i++) {
        double v = goal_value(&g[i]), w = NAN, limit = row_get(&g[i], "limit");
        if (nb > 0) {
            R = b, NR = nb;
            w = goal_value(&g[i]);
            R = now, NR = nnow;
        }
        printf("| %s | %s |%s%s%s %s | %s |\n", row_str(&g[i], "goal"),
               row_str(&g[i], "target"), nb > 0 ? " " : "",
               nb > 0 ? num(x, w, 0) : "", nb > 0 ? " |" : "", num(y, v, 0),
               isnan(limit) ? "" : isnan(v) ? "not measured"
               : v <= limit ? "met" : "NOT met");
    }
    printf("%s\n", ng < 0 ? "(--goals names demos/switch/goals.csv)\n" : "");
    free(b);
    free(g);
}

static void switch_report(void)
{
    static const struct col time[] = {
        FIRST, NS("pagedstack", "pagedstack"), PGS_COUNTS,
        FIG("minflt", "pagedstack", "minflt"), NS("fcontext", "fcontext"),
        FIG("fctx minflt", "fcontext", "minflt"),
        NS("copy-stack", "copy-stack"), NS("threads", "threads"),
        FIG("copy-stack live", "copy-stack", "live"),
        RATIO("pgs/fctx", "pagedstack", "fcontext"),
        RATIO("pgs/copy", "pagedstack", "copy-stack"),
        { "pgs vs default / 1 thread / no spike", "pagedstack", "ns", SAME,
          "pagedstack", TABLE }, END
    };
    static const struct col memory[] = {
        FIRST, FIG("bytes", "pagedstack", "bytes"),
        FIG("kernel mappings", "pagedstack", "maps"), END
    };
    static const struct col sys[] = {
        FIRST, FIG("strace -f -c", "strace", "syscalls"),
        FIG("library count", "strace", "lib_sys"), END
    };
    table("Round trips (ns per resume + yield; ~: rounds differ by more "
          "than half the median)", "hot rr-*", SAME, time);
    table("pagedstack by pgs_config.regions (ns per round trip; the other "
          "models: the round-robin above)", "regions-*", RR, time);
    table("Per task: create + first resume + destroy, growth to 7 MiB (ns)",
          "growth-* create", SAME, time);
    table("1 vs 2 threads (ns per round trip, per thread, wall clock)",
          "threads-*", ONE, time);
    table("No cliff (ns per round trip)", "cliff-*", NOSPIKE, time);
    table("Memory (pagedstack): bytes per waiting task, all included "
          "(shallow-after-deep: what the task holds)",
          "memory-* million shallow-*", SAME, memory);
    table("System calls per round trip: strace -f -c against the library's "
          "count", "*", SAME, sys);
}

/* ---- memory ------------------------------------------------------------- */

static const char *const mem_models[] = { "pagedstack", "threads", "mmap-8M",
    "malloc-128K", "copy-stack", "fcontext", NULL };
static const char *const works[] = { "shallow-1K", "live-64K", "call-512K",
    "deep-1pct-4M", NULL };

static void mem_cell_text(const struct row *r, const char *field, double div,
                          int time, char *out)
{
    double v = row_get(r, field) / div;
    if (strcmp(row_str(r, "status"), "ok"))
        snprintf(out, 48, "%s", row_str(r, "status"));
    else if (time)
        snprintf(out, 48, v < 1e-6 ? "%.0f ns" : "%.1f us", v < 1e-6 ? v * 1e9
                                                                   : v * 1e6);
    else
        mem_fmt(out, 48, v);
}

/* Rows: models; columns: workloads; the cells at n tasks. */
static void pivot(const char *title, const char *n, const char *field,
                  int per_task_time)
{
    char buf[48];
    int found = 0;
    for (long i = 0; i < NR; i++)
        found |= !strcmp(row_str(&R[i], "n"), n);
    if (!found)
        return;
    printf("### %s at N = %s\n\n| model |", title, n);
    for (int w = 0; works[w]; w++)
        printf(" %s |", works[w]);
    printf("\n|---|---:|---:|---:|---:|\n");
    for (int m = 0; mem_models[m]; m++) {
        int any = 0;
        for (long i = 0; i < NR; i++)
            any |= !strcmp(row_str(&R[i], "model"), mem_models[m]);
        if (!any)
            continue;
        printf("| %s |", mem_models[m]);
        for (int w = 0; works[w]; w++) {
            const struct row *r = NULL;
            for (long i = 0; i < NR; i++)
                if (!strcmp(row_str(&R[i], "model"), mem_models[m]) &&
                    !strcmp(row_str(&R[i], "workload"), works[w]) &&
                    !strcmp(row_str(&R[i], "n"), n))
                    r = &R[i];
            if (r)
                mem_cell_text(r, field, per_task_time ? atof(n) : 1,
                              per_task_time, buf);
            printf(" %s |", r ? buf : "-");
        }
        printf("\n");
    }
    printf("\n");
}

static void memory_report(void)
{
    const char *n = "1000"; /* 10000 where the run went that far */
    for (long i = 0; i < NR; i++)
        n = strcmp(row_str(&R[i], "n"), "10000") ? n : "10000";
    pivot("Memory per waiting task (cgroup charge / N)", n, "per_task_bytes",
          0);
    pivot("One round (resume every task once), per task", n, "round_s", 1);
    pivot("Memory per waiting task (cgroup charge / N)", "1000000",
          "per_task_bytes", 0);
    printf("Every cell's figures are in memory.csv; the cells that did not "
           "run, or stopped early:\n\n");
    for (long i = 0; i < NR; i++)
        if (strcmp(row_str(&R[i], "status"), "ok"))
            printf("- %s, %s, N = %s: %s\n", row_str(&R[i], "model"),
                   row_str(&R[i], "workload"), row_str(&R[i], "n"), R[i].note);
}

/* ---- echo --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of field over the runs of model at n connections. */
static double median(const char *model, const char *n, const char *field)
{
    double v[64];
    int k = 0;
    for (long i = 0; i < NR && k < 64; i++)
        if (!strcmp(row_str(&R[i], "model"), model) &&
            !strcmp(row_str(&R[i], "connections"), n))
            v[k++] = row_get(&R[i], field);
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    return k ? v[(k - 1) / 2] : NAN;
}

/* Medians per model and N; with chart, the chart's data too: a line a
 * model, requests/s, p99 and cgroup KiB per connection at each N. */
static void echo_report(const char *chart)
{
    static const char *const f[] = { "req_per_s", "p50_us", "p99_us",
        "cgroup_per_conn", "server_own_per_conn", "refused", "failed" };
    static const char *const m[] = { "pagedstack", "threads-8M",
                                     "threads-64K" };
    FILE *c = chart ? fopen(chart, "w") : NULL;
    char ns[8][16], buf[32];
    int nn = 0;
    for (long i = 0; i < NR && nn < 8; i++) {
        int seen = 0;
        for (int k = 0; k < nn; k++)
            seen |= !strcmp(ns[k], row_str(&R[i], "connections"));
        if (!seen)
            snprintf(ns[nn++], 16, "%s", row_str(&R[i], "connections"));
    }
    printf("| model | N | req/s | p50 us | p99 us | cgroup/conn KiB | "
           "server/conn KiB | refused | failed |\n|---|---|---:|---:|---:|"
           "---:|---:|---:|---:|\n");
    for (int k = 0; k < nn; k++)
        for (int j = 0; j < 3; j++) {
            printf("| %s | %s |", m[j], ns[k]);
            for (int x = 0; x < 7; x++)
                printf(" %s |", num(buf, median(m[j], ns[k], f[x]) /
                                       (x == 3 || x == 4 ? 1024 : 1), 0));
            printf("\n");
        }
    for (int j = 0; c && j < 3; j++) {
        fprintf(c, "%s", m[j]);
        for (int x = 0; x < 4; x += x ? 1 : 2)
            for (int k = 0; k < nn; k++)
                fprintf(c, " %g", median(m[j], ns[k], f[x]) /
                                      (x == 3 ? 1024 : 1));
        fprintf(c, "\n");
    }
    if (c)
        fclose(c);
    printf("\n");
}

int report_main(int argc, char **argv)
{
    const char *before = NULL, *about = "", *chart = NULL, *goals = NULL;
    const char *kind = argc > 0 ? argv[0] : "";
    int sw = !strcmp(kind, "switch"), mem = !strcmp(kind, "memory");
    if ((!sw && !mem && strcmp(kind, "echo")) || argc < 2 ||
        (NR = csv_load(argv[1], &R)) < 0) {
        fprintf(stderr, "usage: bench report switch|memory|echo CSV "
                        "[--before CSV] [--goals CSV] [--about TEXT] [--chart FILE]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--before"))
            before = argv[i + 1];
        else if (!strcmp(argv[i], "--about"))
            about = argv[i + 1];
        else if (!strcmp(argv[i], "--chart"))
            chart = argv[i + 1];
        else if (!strcmp(argv[i], "--goals"))
            goals = argv[i + 1];
    printf("## %s\n\n%s\n\n", sw ? "pagedstack switch benchmark"
           : mem ? "Memory per waiting task"
                 : "Echo server: pagedstack + libuv against threads", about);
    for (int m = 0; models[m] && !strcmp(kind, "switch"); m++)
        printf("- **%s**: %s\n%s", models[m]->name, models[m]->about,
               models[m + 1] ? "" : "- **fcontext**: Boost.Context\n\n");
    if (sw) {
        switch_report();
        goal_table(goals, before);
    } else if (mem)
        memory_report();
    else
        echo_report(chart);
    for (long i = 0; i < NR && sw; i++)
        if (R[i].note[0] && strcmp(row_str(&R[i], "status"), "ok"))
            printf("- %s / %s: %s\n", row_str(&R[i], "scenario"),
                   row_str(&R[i], "model"), R[i].note);
    free(R);
    return 0;
}
