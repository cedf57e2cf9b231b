/* SPDX-License-Identifier: MIT */
/*
 * compare_memory: what a waiting task really costs, on pagedstack and on
 * the usual alternatives, measured from outside.
 *
 *   demos/compare_memory [--quick] [--out DIR] [--ns 1000,10000,...]
 *                        [--models a,b] [--works a,b] [--budget-gib G]
 *                        [--cell-timeout S] [--skip-seconds S] [--max-seconds S]
 *                        [--primary auto|cgroup|system] [--about TEXT]
 *
 * The same workloads (mem_work.c: tasks waiting with 1 KiB or 64 KiB of
 * live stack, after a 512 KiB call, or 1% of them 4 MiB deep) run on six
 * models:
 *   1 pagedstack      this library, public API, default 8 MiB per task
 *   2 threads         one POSIX thread per task, default attributes
 *   3 mmap-8M         8 MiB mmap'd stack + PROT_NONE guard, pgs__switch
 *   4 malloc-128K     128 KiB malloc'd stack (libco's default), pgs__switch
 *   5 copy-stack      one shared 8 MiB stack, live bytes copied out to an
 *                     exact-size buffer and back on every switch (libco
 *                     share-stack, libaco), on pgs__switch
 *   6 boost-fcontext  Boost.Context fcontext, protected_fixedsize_stack of
 *                     8 MiB (demos/mem_boost, built by run_memory.sh when
 *                     libboost-context-dev is installed; skipped if not)
 * for N = 1k, 10k, 100k and 1M tasks (--quick: 1k only).
 *
 * Every cell (model x workload x N) runs in a fresh child process: this
 * program re-executed with --cell for models 1 and 2, demos/mem_switched
 * (linked with the internal library, for pgs__switch) for 3-5,
 * demos/mem_boost for 6.  The child (mem_cell.c) takes reading 0 right
 * before creating the tasks, creates and runs each until it waits, takes
 * reading 1, resumes every task once, takes reading 2, then finishes them.
 *
 * How each figure is measured (reading 2 minus reading 0):
 *   cgroup       the charge of the process's memory cgroup: memory.current
 *                (v2) or memory.usage_in_bytes (v1), wherever
 *                /proc/self/cgroup says it is.  Counts anonymous, memfd
 *                and kernel memory (page tables, thread kernel stacks) of
 *                the demo's own processes only.  The primary figure when
 *                readable (--primary auto): see below.
 *   system used  MemTotal - MemAvailable from /proc/meminfo.  Counts the
 *                same for the whole machine, so it moves with everything
 *                else that runs, and on 6.x kernels it misses allocations
 *                served from per-CPU free lists (tens of MiB, up to 200 MiB
 *                per CPU here).  Exact to tens or hundreds of MiB: a
 *                cross-check, and the primary figure only where no
 *                cgroup file is readable.
 *   Shmem        /proc/meminfo Shmem: memfd pages (pagedstack's pool).
 *   VmRSS, VmPTE /proc/self/status.  VmRSS misses pool pages that are not
 *                mapped (pagedstack's waiting deep tasks) and all kernel
 *                memory; VmPTE is this process's page tables.
 *   pgs pool     pgs_stats().pool_bytes, pagedstack's own account.
 *   times        CLOCK_MONOTONIC around the create loop and the round.
 * Memory per task is the primary figure divided by N.
 *
 * Where a model cannot go, the cell says why instead of crashing the
 * comparison: a fixed stack too small for the workload ("overflow", not
 * run), mmap failing at vm.max_map_count ("mapcount"), pthread_create
 * failing ("eagain"), the memory budget (16 GiB of growth, or under 2 GiB
 * available: "budget"; and cells whose memory or time, extrapolated from
 * the previous N, would exceed the budget or the time limit are
 * "skipped"), the per-cell time limit ("timeout"), a crash ("crash", with
 * the signal and the child's first lines of stderr).
 *
 * With --out DIR it writes DIR/memory.csv and DIR/memory.md (the tables
 * and this description); demos/plot_memory.gp draws the chart from the CSV.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mem_cell.h"
#include "mem_driver.h"
#include "mem_measure.h"
#include "mem_work.h"

const struct mem_model_info mem_model_infos[] = {
    { "pagedstack", "pagedstack",
      "this library through its public API: every task may use 8 MiB (the "
      "default region); stack pages come on demand from a memfd pool, "
      "shallow tasks are saved by copying their live bytes",
      EXE_SELF, LIM_NONE },
    { "threads", "POSIX threads",
      "one POSIX thread per task with default attributes (8 MiB stack from "
      "RLIMIT_STACK, guard page); a waiting task blocks on its own "
      "semaphore, and resuming it is a post plus a wait for it to park again",
      EXE_SELF, LIM_THREADS },
    { "mmap-8M", "mmap 8 MiB + guard",
      "a separate 8 MiB stack per task from mmap with a PROT_NONE guard page "
      "(two kernel mappings per task), switched with pgs__switch",
      EXE_SWITCHED, LIM_MAPS },
    { "malloc-128K", "malloc 128 KiB",
      "a separate 128 KiB stack per task from malloc, no guard (libco's "
      "default), switched with pgs__switch",
      EXE_SWITCHED, LIM_NONE },
    { "copy-stack", "copy-stack",
      "one shared 8 MiB stack; on every switch the task's live bytes are "
      "copied out to a malloc'd buffer of exactly that size and back in "
      "(libco share-stack, libaco), switched with pgs__switch",
      EXE_SWITCHED, LIM_NONE },
    { "boost-fcontext", "Boost fcontext",
      "Boost.Context make_fcontext/jump_fcontext with a "
      "protected_fixedsize_stack of 8 MiB (mmap + guard page), in "
      "demos/mem_boost.cpp",
      EXE_BOOST, LIM_MAPS },
};
const int mem_nmodels = (int)(sizeof mem_model_infos / sizeof mem_model_infos[0]);

#define GiB (1024.0 * 1024 * 1024)

struct options {
    int quick;
    const char *out;
    long ns[8];
    int nns;
    int use_model[8];
    int use_work[8];
    double budget, reserve, cell_timeout, skip_seconds, max_seconds;
    const char *primary;
    const char *about;
};

static char exe_self[PATH_MAX], exe_switched[PATH_MAX], exe_boost[PATH_MAX];

/* A program next to this one (or next to the libtool wrapper, if this is
 * the real binary in .libs/).  Returns 0 if it exists. */
static int sibling(char *out, const char *name)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", exe_self);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if (snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX &&
        access(out, X_OK) == 0)
        return 0;
    if (strlen(dir) >= 6 && !strcmp(dir + strlen(dir) - 6, "/.libs")) {
        dir[strlen(dir) - 6] = '\0';
        if (snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX &&
            access(out, X_OK) == 0)
            return 0;
    }
    out[0] = '\0';
    return -1;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--quick] [--out DIR] [--ns N,N,...] [--models M,M,...]\n"
            "       [--works a,b,c,d] [--budget-gib G] [--cell-timeout S]\n"
            "       [--skip-seconds S]\n"
            "       [--max-seconds S] [--primary auto|cgroup|system]\n"
            "       [--about 'what is measured, for the report']\n", prog);
    exit(2);
}

/* Mark the names of a comma-separated list in use[]; -1 if one is unknown. */
static int pick(char *list, int *use, int n, int is_model)
{
    memset(use, 0, sizeof(int) * (size_t)n);
    for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) {
        int found = 0;
        for (int i = 0; i < n; i++) {
            const char *name = is_model ? mem_model_infos[i].name : mem_works[i].name;
            if (!strcmp(s, name) || (!is_model && !strcmp(s, mem_works[i].id)))
                use[i] = found = 1;
        }
        if (!found) {
            fprintf(stderr, "unknown %s: %s\n", is_model ? "model" : "workload", s);
            return -1;
        }
    }
    return 0;
}

static void parse(int argc, char **argv, struct options *o)
{
    *o = (struct options){ .budget = 16 * GiB, .reserve = 2 * GiB,
                           .cell_timeout = 60, .skip_seconds = 50 };
    long def[] = { 1000, 10000, 100000, 1000000 };
    memcpy(o->ns, def, sizeof def);
    o->nns = 4;
    for (int i = 0; i < 8; i++)
        o->use_model[i] = o->use_work[i] = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) {
            o->quick = 1;
            o->ns[0] = 1000;
            o->nns = 1;
            o->cell_timeout = 20;
            o->skip_seconds = 15;
            continue;
        }
        if (!v)
            usage(argv[0]);
        i++;
        if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--ns")) {
            o->nns = 0;
            for (char *s = strtok(v, ","); s && o->nns < 8; s = strtok(NULL, ","))
                o->ns[o->nns++] = strtol(s, NULL, 10);
        } else if (!strcmp(a, "--models")) {
            if (pick(v, o->use_model, mem_nmodels, 1))
                usage(argv[0]);
        } else if (!strcmp(a, "--works")) {
            if (pick(v, o->use_work, mem_nworks, 0))
                usage(argv[0]);
        } else if (!strcmp(a, "--budget-gib"))
            o->budget = strtod(v, NULL) * GiB;
        else if (!strcmp(a, "--cell-timeout"))
            o->cell_timeout = strtod(v, NULL);
        else if (!strcmp(a, "--skip-seconds"))
            o->skip_seconds = strtod(v, NULL);
        else if (!strcmp(a, "--max-seconds"))
            o->max_seconds = strtod(v, NULL);
        else if (!strcmp(a, "--about"))
            o->about = v;
        else if (!strcmp(a, "--primary") &&
                 (!strcmp(v, "auto") || !strcmp(v, "cgroup") || !strcmp(v, "system")))
            o->primary = v;
        else
            usage(argv[0]);
    }
}

static const struct mem_result *previous(const struct mem_result *r, int nr,
                                         int m, int w, long n)
{
    const struct mem_result *best = NULL;
    for (int i = 0; i < nr; i++)
        if (r[i].model == m && r[i].work == w && r[i].n < n &&
            (!best || r[i].n > best->n))
            best = &r[i];
    return best;
}

static void skip(struct mem_result *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void skip(struct mem_result *c, const char *fmt, ...)
{
    va_list ap;
    snprintf(c->status, sizeof c->status, "skipped");
    va_start(ap, fmt);
    vsnprintf(c->note, sizeof c->note, fmt, ap);
    va_end(ap);
}

/* The most tasks model m can have on this machine, as far as is known in
 * advance (LONG_MAX: no known limit). */
static long reachable(int m)
{
    long maps = mem_read_long("/proc/sys/vm/max_map_count");
    long pids = mem_read_long("/proc/sys/kernel/pid_max");
    long most = LONG_MAX;
    if (mem_model_infos[m].limit != LIM_NONE && maps > 0)
        most = maps / 2;
    if (mem_model_infos[m].limit == LIM_THREADS && pids > 0 && pids < most)
        most = pids;
    return most;
}

/* Is this status a limit of the model (not of the workload)? */
static int hard_limit(const char *status)
{
    return !strcmp(status, "mapcount") || !strcmp(status, "eagain") ||
           !strcmp(status, "enomem");
}

/*
 * Decide whether cell c can run; 0 if it can.  A cell is skipped when the
 * same model already hit a hard limit (map count, threads) at this N or
 * below in any workload; when the same model and workload already failed
 * at a smaller N; or when its memory or time, extrapolated from the same
 * model and workload at the previous N (time with a margin of 30%, for
 * work that grows faster than N), would pass the budget, the skip limit or
 * what is left of the run's time.  Returns 1 to put the cell off to a
 * later pass: its previous N has not been decided, or it would take more
 * than defer_over seconds.
 */
static int plan(struct mem_result *c, const struct mem_result *r, int nr,
                const struct options *o, double elapsed, double defer_over)
{
    char a[32], b[32], d[32];
    for (int i = 0; i < nr; i++)
        if (&r[i] != c && r[i].model == c->model && r[i].n <= c->n &&
            hard_limit(r[i].status)) {
            skip(c, "skipped: %s at %ld tasks already (N=%ld, %s)",
                 r[i].status, r[i].made, r[i].n, mem_works[r[i].work].name);
            return -1;
        }
    const struct mem_result *prev = previous(r, nr, c->model, c->work, c->n);
    if (!prev)
        return 0;
    if (!strcmp(prev->status, "pending"))
        return 1;
    if (!strcmp(prev->status, "skipped")) {
        skip(c, "%s", prev->note);
        return -1;
    }
    if (!strcmp(prev->status, "overflow")) {
        snprintf(c->status, sizeof c->status, "overflow");
        snprintf(c->note, sizeof c->note, "%s", prev->note);
        return -1;
    }
    if (strcmp(prev->status, "ok")) {
        skip(c, "skipped: already %s at N=%ld", prev->status, prev->n);
        return -1;
    }
    long long most = prev->d_used;
    if (prev->d_used_create > most)
        most = prev->d_used_create;
    if (prev->d_cg > most)
        most = prev->d_cg;
    long n = c->n < reachable(c->model) ? c->n : reachable(c->model);
    double per = (double)most / (double)prev->n;
    double need = per * (double)n;
    if (need > o->budget) {
        skip(c, "skipped: would need ~%s (%s per task at N=%ld), budget %s",
             mem_fmt(a, sizeof a, need), mem_fmt(b, sizeof b, per), prev->n,
             mem_fmt(d, sizeof d, o->budget));
        return -1;
    }
    double t = 1.3 * prev->wall_s * (double)n / (double)prev->n;
    if (t > defer_over && t <= o->skip_seconds)
        return 1;
    if (t > o->skip_seconds) {
        skip(c, "skipped: would take ~%.0f s (%.1f s at N=%ld), over the "
             "demo's %.0f s per cell", t, prev->wall_s, prev->n, o->skip_seconds);
        return -1;
    }
    if (o->max_seconds > 0 && elapsed + t > o->max_seconds) {
        skip(c, "skipped: would take ~%.0f s, past the run's %.0f s budget",
             t, o->max_seconds);
        return -1;
    }
    return 0;
}

static void run(struct mem_result *c, const struct options *o)
{
    const struct mem_model_info *mi = &mem_model_infos[c->model];
    const char *exe = mi->exe == EXE_SELF ? exe_self
                    : mi->exe == EXE_SWITCHED ? exe_switched : exe_boost;
    if (!exe[0]) {
        if (mi->exe == EXE_BOOST &&
            access("/usr/include/boost/context/detail/fcontext.hpp", R_OK) != 0)
            skip(c, "skipped: libboost-context-dev not installed");
        else
            skip(c, "skipped: %s not built%s",
                 mi->exe == EXE_BOOST ? "demos/mem_boost" : "demos/mem_switched",
                 mi->exe == EXE_BOOST ? " (demos/run_memory.sh builds it)" : "");
        return;
    }
    char n[32], budget[32], reserve[32];
    snprintf(n, sizeof n, "%ld", c->n);
    snprintf(budget, sizeof budget, "%.0f", o->budget);
    snprintf(reserve, sizeof reserve, "%.0f", o->reserve);
    char *argv[] = { (char *)exe, "--cell", (char *)mi->name,
                     (char *)mem_works[c->work].id, n, budget, reserve, NULL };
    mem_spawn(argv, o->cell_timeout, c);
}

static void progress(const struct mem_result *c, double elapsed)
{
    char a[32], b[32];
    printf("[%5.1fs] N=%-8ld %-15s %-13s %-9s", elapsed, c->n,
           mem_model_infos[c->model].name, mem_works[c->work].name, c->status);
    if (!strcmp(c->status, "ok"))
        printf(" %s %s (%s/task)  create %.1f ms  round %.0f ns/task",
               mem_primary_name(), mem_fmt(a, sizeof a, (double)mem_primary(c)),
               mem_fmt(b, sizeof b, (double)mem_primary(c) / (double)c->n),
               c->create_s * 1e3, c->round_s / (double)c->n * 1e9);
    else
        printf(" %s", c->note);
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (mem_cell_wanted(argc, argv)) {
        static const struct mem_model *const models[] = {
            &mem_model_pgs, &mem_model_threads, NULL
        };
        return mem_cell_main(models, argc, argv);
    }
    /* The command line as given, for the report (parsing splits lists). */
    char cmd[512] = "`compare_memory";
    for (int i = 1; i < argc; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", argv[i]);
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "`");
    struct options o;
    parse(argc, argv, &o);

    ssize_t len = readlink("/proc/self/exe", exe_self, sizeof exe_self - 1);
    if (len <= 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    exe_self[len] = '\0';
    mem_primary_cgroup = mem_cgroup_file() != NULL;
    if (o.primary && strcmp(o.primary, "auto"))
        mem_primary_cgroup = !strcmp(o.primary, "cgroup");
    sibling(exe_switched, "mem_switched");
    sibling(exe_boost, "mem_boost");

    static struct mem_result res[8 * 8 * 8];
    int nr = 0;
    double start = mem_now();
    printf("compare_memory: %d models x %d workloads, N =",
           mem_nmodels, mem_nworks);
    for (int i = 0; i < o.nns; i++)
        printf(" %ld", o.ns[i]);
    printf("; memory per task from the %s figure\n", mem_primary_name());

    /* Every cell, in order of N, so that each can be planned from the cell
     * of the same model and workload at the N before it.  Two passes: the
     * first runs the cells expected to take at most 15 s and puts the
     * others off; the second runs those with what is left of the run's
     * time.  So a slow cell at 100k cannot crowd out a cheap one at 1M. */
    for (int k = 0; k < o.nns; k++)
        for (int m = 0; m < mem_nmodels; m++)
            for (int w = 0; w < mem_nworks; w++) {
                if (!o.use_model[m] || !o.use_work[w])
                    continue;
                res[nr++] = (struct mem_result){ .model = m, .work = w,
                    .n = o.ns[k], .status = "pending", .pgs_stack = -1,
                    .pgs_pool = -1, .pgs_faults = -1, .pgs_remaps = -1,
                    .d_cg = -1 };
            }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nr; i++) {
            struct mem_result *c = &res[i];
            if (strcmp(c->status, "pending"))
                continue;
            int p = plan(c, res, nr, &o, mem_now() - start,
                         pass == 0 ? 15 : o.skip_seconds);
            if (p > 0 && pass == 0)
                continue;
            if (p > 0) { /* cannot happen: N order decides the N before */
                skip(c, "skipped: not planned");
            } else if (p == 0) {
                snprintf(c->status, sizeof c->status, "error");
                run(c, &o);
            }
            progress(c, mem_now() - start);
        }
    double total = mem_now() - start;

    printf("\n");
    mem_report_summary(stdout, res, nr, o.ns[o.nns > 1 ? 1 : 0]);
    printf("\n");
    mem_report_table(stdout, res, nr);
    printf("\ncompare_memory: %d cells in %.1f s\n", nr, total);

    if (o.out) {
        char path[PATH_MAX];
        struct mem_machine mm;
        mem_machine_read(&mm);
        snprintf(path, sizeof path, "%s/memory.csv", o.out);
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "%s: %s\n", path, strerror(errno));
            return 1;
        }
        mem_report_csv(f, res, nr);
        fclose(f);
        snprintf(path, sizeof path, "%s/memory.md", o.out);
        f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "%s: %s\n", path, strerror(errno));
            return 1;
        }
        mem_report_md(f, res, nr, &mm, o.budget, o.cell_timeout,
                      o.skip_seconds, total, o.about ? o.about : cmd);
        fclose(f);
        printf("compare_memory: wrote %s/memory.csv and %s/memory.md\n",
               o.out, o.out);
    }
    return 0;
}
