/* SPDX-License-Identifier: MIT */
/*
 * The memory comparison: what a waiting task really costs, on pagedstack
 * and on the usual alternatives, measured from outside.
 *
 *   demos/bench memory [--quick] [--csv FILE] [--ns 1000,10000,...]
 *                      [--models a,b] [--works a,b] [--fcontext PROGRAM]
 *                      [--max-seconds S] [--cell-timeout S]
 *
 * Every cell (model, workload, N) in a child process of its own; the
 * method and why a cell may not run: demos/memory/README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "model.h"

struct work {
    const char *name;
    size_t live, call, deep;
};

static const struct work works[] = {
    { "shallow-1K", KiB, 0, 0 },
    { "live-64K", 64 * KiB, 0, 0 },
    { "call-512K", KiB, 512 * KiB, 0 },
    { "deep-1pct-4M", KiB, 0, 4 * MiB },
};
#define NWORKS 4
#define GiB (1024.0 * 1024 * 1024)

static const char *const cols[] = {
    "model", "workload", "n", "made", "status", "per_task_bytes", "d_used",
    "d_used_create", "d_used_end", "d_shmem", "d_cg", "d_rss", "d_pte",
    "d_ptables", "d_kstack", "d_maps", "pgs_stack", "pgs_pool",
    "pgs_faults", "pgs_remaps", "create_s", "round_s", "finish_s",
    "wall_s", "corrupt", NULL
};

static void delta(struct row *r, const char *key, long long a, long long b)
{
    row_num(r, key, a < 0 || b < 0 ? NAN : (double)(a - b));
}

/* Why a create failed: at vm.max_map_count, out of memory, or else. */
static void failed(struct row *r, const char *what, int err)
{
    long maps = mem_count_maps(), max = mem_read_long("/proc/sys/vm/max_map_count");
    int at_max = max > 0 && maps >= max - 8;
    row_set(r, "status", at_max ? "mapcount" : err == ENOMEM ? "enomem"
                         : err == EAGAIN ? "eagain" : "error");
    row_note(r, "%s: %s (%ld maps, vm.max_map_count %ld)", what,
             strerror(err), maps, max);
}

/* The cell: n tasks of m running j (see the top of this file). */
static void cell(const struct model *m, struct job *j, long n,
                 double budget, double reserve, struct row *r)
{
    struct mem_snap s0, s1, s2, s3;
    void **t = calloc((size_t)n, sizeof *t);
    long made = 0, round = 0, maps0;
    double t0, t1, t2 = NAN, t3 = NAN;
    row_set(r, "status", "ok");
    if (!t || (m->init && m->init(j) != 0))
        return failed(r, "setup", errno);
    for (long i = 0; i < n; i++) /* the demo's own array, not the tasks' */
        t[i] = NULL;
    maps0 = mem_count_maps();
    mem_snap_take(&s0);
    t0 = mem_now();
    for (; made < n; made++) {
        if (made % 1024 == 1023 && mem_snap_take(&s1) == 0 &&
            (s1.used - s0.used > budget || s1.avail < reserve)) {
            row_set(r, "status", "budget");
            row_note(r, "stopped at %ld tasks: the system's used memory grew "
                     "by %.1f GiB, %.1f GiB available", made,
                     (s1.used - s0.used) / GiB, s1.avail / GiB);
            break;
        }
        if (!(t[made] = m->create(j)) || m->resume(t[made]) != 0) {
            failed(r, "create and first resume", errno);
            break;
        }
        if (made % 4096 == 4095) /* how far it got, should it be killed */
            fprintf(stderr, "made %ld in %.1f s\n", made + 1, mem_now() - t0);
    }
    t1 = mem_now();
    mem_snap_take(&s1);
    s2 = s3 = s1;
    for (; made == n && round < n && m->resume(t[round]) == 0; round++)
        ;
    if (made == n)
        t2 = mem_now(), mem_snap_take(&s2);
    row_num(r, "d_maps", (double)(mem_count_maps() - maps0));
    if (m->stats)
        m->stats(r);
    for (long i = 0; round == n && i < n; i++)
        if (m->resume(t[i]) != 0 || j->finished != i + 1 ||
            m->destroy(t[i]) != 0) {
            row_set(r, "status", "error");
            row_note(r, "task %ld did not finish", i);
            break;
        }
    if (round == n)
        t3 = mem_now(), mem_snap_take(&s3);
    if (job_corrupt && !strcmp(row_str(r, "status"), "ok")) {
        row_set(r, "status", "corrupt");
        row_note(r, "%ld tasks found their stack bytes changed", job_corrupt);
    }
    row_num(r, "made", (double)made);
    row_num(r, "corrupt", (double)job_corrupt);
    row_num(r, "create_s", t1 - t0);
    row_num(r, "round_s", t2 - t1);
    row_num(r, "finish_s", t3 - t2);
    delta(r, "d_used", s2.used, s0.used);
    delta(r, "d_used_create", s1.used, s0.used);
    delta(r, "d_used_end", s3.used, s0.used);
    delta(r, "d_shmem", s2.shmem, s0.shmem);
    delta(r, "d_cg", s2.cgroup, s0.cgroup);
    delta(r, "d_rss", s2.rss, s0.rss);
    delta(r, "d_pte", s2.pte, s0.pte);
    delta(r, "d_ptables", s2.pagetables, s0.pagetables);
    delta(r, "d_kstack", s2.kstack, s0.kstack);
    /* The cgroup's charge where it can be read, else the system's. */
    double all = s0.cgroup >= 0 ? (double)(s2.cgroup - s0.cgroup)
                                : (double)(s2.used - s0.used);
    row_num(r, "per_task_bytes", made ? all / (double)made : NAN);
}

void memory_figures(const struct model *m, long n, size_t depth,
                    struct row *r)
{
    struct job j = { .depth = depth, .check = 1, .waits = 2 };
    cell(m, &j, n, 16 * GiB, 2 * GiB, r);
    row_set(r, "bytes", "%s", row_str(r, "per_task_bytes"));
    row_set(r, "maps", "%s", row_str(r, "d_maps"));
    if (!r->note[0])
        row_note(r, "%ld tasks at %zu B: memory cgroup %s B per task; "
                 "Shmem %+.0f B, VmRSS %+.0f B per task; kernel mappings "
                 "%+.0f", n, depth, row_str(r, "per_task_bytes"),
                 row_get(r, "d_shmem") / n, row_get(r, "d_rss") / n,
                 row_get(r, "d_maps"));
}

/* bench cell memory MODEL WORKLOAD N BUDGET RESERVE */
int memory_cell(int argc, char **argv)
{
    const struct model *m = argc > 4 ? model_find(argv[0]) : NULL;
    const struct work *w = NULL;
    struct row r;
    for (int i = 0; m && i < NWORKS; i++)
        w = strcmp(works[i].name, argv[1]) ? w : &works[i];
    if (!w)
        return 2;
    long n = atol(argv[2]);
    struct job j = { .depth = w->live + JOB_FRAMES, .check = 1, .waits = 2,
                     .call = w->call, .deep = w->deep, .deep_every = 100 };
    size_t need = w->deep > w->call ? w->deep : w->call > w->live ? w->call
                                                                   : w->live;
    row_clear(&r);
    if (need + 16 * KiB > m->stack_max) {
        row_set(&r, "status", "overflow");
        row_note(&r, "overflow: needs %zu KiB of stack, has %zu KiB",
                 need >> 10, m->stack_max >> 10);
    } else
        cell(m, &j, n, atof(argv[3]), atof(argv[4]), &r);
    row_print(stdout, &r);
    _exit(0); /* threads may still be parked: leave at once */
}

/* ---- the parent: which cells to run ------------------------------------ */

static struct {
    double budget, reserve, cell_timeout, skip_seconds, max_seconds;
    const char *fcontext;
} o = { 16 * GiB, 2 * GiB, 60, 50, 0, NULL };

static int is(const struct row *r, const char *key, const char *v)
{
    return !strcmp(row_str(r, key), v);
}

/*
 * Whether cell c can run now: 0 run it, 1 put it off to the second pass,
 * -1 not run (c says why).  Not run: its model hit a hard limit (map
 * count, threads) at this N or below; the same cell failed at a smaller
 * N; or its memory or time, extrapolated from the N before (time with 30%
 * to spare, N capped at the tasks the model can have: two kernel mappings
 * per guarded stack, a pid per thread), would pass the budget, 50 s, or
 * what is left of the run's time.
 */
static int plan(struct row *c, const struct row *all, int nr, double elapsed,
                double defer_over)
{
    const struct row *prev = NULL;
    const char *model = row_str(c, "model");
    double n = row_get(c, "n"), reach = n;
    for (int i = 0; i < nr; i++) {
        const struct row *r = &all[i];
        if (r == c || !is(r, "model", model) || row_get(r, "n") > n)
            continue;
        if (is(r, "status", "mapcount") || is(r, "status", "eagain")) {
            row_set(c, "status", "skipped");
            row_note(c, "skipped: %s at %s tasks already", row_str(r, "status"),
                     row_str(r, "made"));
            return -1;
        }
        if (is(r, "workload", row_str(c, "workload")) && row_get(r, "n") < n &&
            (!prev || row_get(r, "n") > row_get(prev, "n")))
            prev = r;
    }
    if (!prev || is(prev, "status", "pending"))
        return prev != NULL;
    if (!is(prev, "status", "ok")) {
        row_set(c, "status", is(prev, "status", "overflow") ? "overflow"
                                                            : "skipped");
        row_note(c, "%s at N = %s", row_str(prev, "status"), row_str(prev, "n"));
        return -1;
    }
    if (strstr("mmap-8M threads fcontext", model))
        reach = fmin(n, (double)mem_read_long("/proc/sys/vm/max_map_count") / 2);
    if (!strcmp(model, "threads"))
        reach = fmin(reach, (double)mem_read_long("/proc/sys/kernel/pid_max"));
    double pn = row_get(prev, "n"), t = 1.3 * row_get(prev, "wall_s") * reach / pn;
    double need = fmax(row_get(prev, "d_used"), fmax(row_get(prev, "d_cg"),
                       row_get(prev, "d_used_create"))) / pn * reach;
    if (need > o.budget)
        row_note(c, "skipped: would need ~%.1f GiB", need / GiB);
    else if (t > o.skip_seconds ||
             (o.max_seconds > 0 && elapsed + t > o.max_seconds))
        row_note(c, "skipped: would take ~%.0f s (%.0f s a cell, %.0f s in "
                 "all)", t, o.skip_seconds, o.max_seconds);
    else
        return t > defer_over;
    row_set(c, "status", "skipped");
    return -1;
}

static void run(struct row *c)
{
    char budget[32], reserve[32], model[20], work[20], n[20];
    const char *prog = is(c, "model", "fcontext") ? o.fcontext : bench_self;
    snprintf(budget, sizeof budget, "%.0f", o.budget);
    snprintf(reserve, sizeof reserve, "%.0f", o.reserve);
    snprintf(model, sizeof model, "%s", row_str(c, "model"));
    snprintf(work, sizeof work, "%s", row_str(c, "workload"));
    snprintf(n, sizeof n, "%s", row_str(c, "n"));
    char *argv[] = { (char *)prog, "cell", "memory", model, work, n, budget,
                     reserve, NULL };
    cell_spawn(argv, o.cell_timeout, 1, c);
    row_set(c, "model", "%s", model); /* the child's row has the figures */
    row_set(c, "workload", "%s", work);
    row_set(c, "n", "%s", n);
}

int memory_main(int argc, char **argv)
{
    static struct row res[8 * 8 * NWORKS];
    char list[128] = "pagedstack threads mmap-8M malloc-128K copy-stack",
         wl[128] = "shallow-1K live-64K call-512K deep-1pct-4M",
         ns[128] = "1000 10000 100000 1000000", *save;
    const char *csv = NULL; /* written at the end: a stopped run leaves
                               the last one */
    FILE *f;
    int nr = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--quick"))
            strcpy(ns, "1000"), o.cell_timeout = 20, o.skip_seconds = 15;
        else if (!strcmp(a, "--csv") && ++i)
            csv = v;
        else if (!strcmp(a, "--fcontext") && ++i)
            strcat(list, " fcontext"), o.fcontext = v;
        else if ((!strcmp(a, "--ns") || !strcmp(a, "--models") ||
                  !strcmp(a, "--works")) && ++i)
            snprintf(a[2] == 'n' ? ns : a[2] == 'm' ? list : wl, 128, "%s", v);
        else if (!strcmp(a, "--max-seconds") && ++i)
            o.max_seconds = atof(v);
        else if (!strcmp(a, "--cell-timeout") && ++i)
            o.cell_timeout = atof(v);
        else {
            fprintf(stderr, "bench memory: unknown option %s\n", a);
            return 2;
        }
    }
    for (char *n = strtok_r(ns, " ,", &save); n; n = strtok_r(NULL, " ,", &save))
        for (char *m = list; *m; m += strcspn(m, " ,"), m += strspn(m, " ,"))
            for (char *w = wl; *w; w += strcspn(w, " ,"), w += strspn(w, " ,")) {
                row_clear(&res[nr]);
                row_set(&res[nr], "model", "%.*s", (int)strcspn(m, " ,"), m);
                row_set(&res[nr], "workload", "%.*s", (int)strcspn(w, " ,"), w);
                row_set(&res[nr], "n", "%s", n);
                row_set(&res[nr++], "status", "pending");
            }
    double start = mem_now();
    /* In order of N, so that each cell is planned from the N before it;
     * the first pass puts off the cells expected to take over 15 s, so
     * that a slow cell at 100k cannot crowd out a cheap one at 1M. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nr; i++) {
            struct row *c = &res[i];
            int p = is(c, "status", "pending")
                        ? plan(c, res, nr, mem_now() - start, pass ? 1e9 : 15)
                        : 2;
            if (p == 0)
                run(c);
            if (p <= 0)
                fprintf(stderr, "[%5.0fs] N=%-8s %-11s %-13s %-9s %s B/task "
                        "%s\n", mem_now() - start, row_str(c, "n"),
                        row_str(c, "model"), row_str(c, "workload"),
                        row_str(c, "status"), row_str(c, "per_task_bytes"),
                        c->note);
        }
    if (!csv)
        return 0;
    if (!(f = fopen(csv, "w")))
        return perror(csv), 1;
    csv_header(f, cols);
    for (int i = 0; i < nr; i++)
        csv_row(f, cols, &res[i]);
    return fclose(f) != 0;
}
