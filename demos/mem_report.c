/* SPDX-License-Identifier: MIT */
/*
 * Writing the memory comparison's results: the markdown tables (stdout and
 * demos/results/memory.md), the CSV for gnuplot, and the facts about the
 * machine that the figures depend on.
 */
#define _GNU_SOURCE
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "mem_driver.h"
#include "mem_measure.h"
#include "mem_work.h"

void mem_machine_read(struct mem_machine *mm)
{
    struct utsname u;
    memset(mm, 0, sizeof *mm);
    if (uname(&u) == 0)
        snprintf(mm->kernel, sizeof mm->kernel, "%s %s", u.sysname, u.release);
    mm->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct mem_snap s;
    mem_snap_take(&s);
    mm->memtotal = s.used + s.avail;
    mm->max_map_count = mem_read_long("/proc/sys/vm/max_map_count");
    mm->pid_max = mem_read_long("/proc/sys/kernel/pid_max");
    mm->threads_max = mem_read_long("/proc/sys/kernel/threads-max");
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f || !fgets(mm->thp, sizeof mm->thp, f))
        snprintf(mm->thp, sizeof mm->thp, "unknown");
    if (f)
        fclose(f);
    mm->thp[strcspn(mm->thp, "\n")] = '\0';
    const char *cg = mem_cgroup_file();
    snprintf(mm->cgroup, sizeof mm->cgroup, "%s", cg ? cg : "none readable");
    struct rlimit rl;
    mm->stack_rlimit = getrlimit(RLIMIT_STACK, &rl) == 0 &&
                               rl.rlim_cur != RLIM_INFINITY
                           ? (long long)rl.rlim_cur
                           : -1;
    snprintf(mm->libc, sizeof mm->libc, "glibc %s", gnu_get_libc_version());
    f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(mm->loadavg, sizeof mm->loadavg, f))
        snprintf(mm->loadavg, sizeof mm->loadavg, "unknown");
    if (f)
        fclose(f);
    mm->loadavg[strcspn(mm->loadavg, "\n")] = '\0';
}

int mem_primary_cgroup;

long long mem_primary(const struct mem_result *r)
{
    return mem_primary_cgroup && r->d_cg != -1 ? r->d_cg : r->d_used;
}

const char *mem_primary_name(void)
{
    return mem_primary_cgroup ? "cgroup" : "system used";
}

/* Formatting.  Every function returns its buffer. */
static char *fmt_n(char *b, size_t len, long n)
{
    if (n >= 1000000 && n % 1000000 == 0)
        snprintf(b, len, "%ldM", n / 1000000);
    else if (n >= 1000 && n % 1000 == 0)
        snprintf(b, len, "%ldk", n / 1000);
    else
        snprintf(b, len, "%ld", n);
    return b;
}

static char *fmt_bytes(char *b, size_t len, long long v)
{
    if (v == -1)
        return snprintf(b, len, "n/a"), b;
    return mem_fmt(b, len, (double)v);
}

static char *fmt_time(char *b, size_t len, double s)
{
    if (s < 0)
        snprintf(b, len, "—");
    else if (s < 1e-6)
        snprintf(b, len, "%.0f ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(b, len, "%.1f µs", s * 1e6);
    else if (s < 1)
        snprintf(b, len, "%.1f ms", s * 1e3);
    else
        snprintf(b, len, "%.2f s", s);
    return b;
}

/* Were figures measured (all tasks, or up to a failure)? */
static int measured(const struct mem_result *r)
{
    return r->ran && r->made > 0 &&
           strcmp(r->status, "timeout") && strcmp(r->status, "crash");
}

/* A cell's outcome in one or two words, for the summaries. */
static const char *short_status(const struct mem_result *r)
{
    if (!strcmp(r->status, "mapcount"))
        return "map count";
    if (!strcmp(r->status, "eagain"))
        return "EAGAIN";
    if (!strcmp(r->status, "enomem"))
        return "ENOMEM";
    return r->status;
}

void mem_report_table(FILE *f, const struct mem_result *r, int nr)
{
    fprintf(f, "| workload | model | N | status | per task (%s) "
               "| cgroup Δ | system used Δ | Shmem Δ | VmRSS Δ | VmPTE Δ "
               "| pgs pool | create all | round, per task | note |\n",
            mem_primary_name());
    fprintf(f, "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for (int w = 0; w < mem_nworks; w++)
        for (int m = 0; m < mem_nmodels; m++)
            for (int i = 0; i < nr; i++) {
                const struct mem_result *c = &r[i];
                if (c->work != w || c->model != m)
                    continue;
                char n[32], a[32], b[32], d[32], e[32], g[32], h[32], k[32],
                    t1[32], t2[32];
                fprintf(f, "| %s | %s | %s | %s |", mem_works[w].name,
                        mem_model_infos[m].name, fmt_n(n, sizeof n, c->n),
                        c->status);
                if (measured(c)) {
                    fprintf(f, " %s | %s | %s | %s | %s | %s | %s | %s | %s |",
                            fmt_bytes(b, sizeof b, mem_primary(c) / c->made),
                            fmt_bytes(e, sizeof e, c->d_cg),
                            fmt_bytes(a, sizeof a, c->d_used),
                            fmt_bytes(d, sizeof d, c->d_shmem),
                            fmt_bytes(g, sizeof g, c->d_rss),
                            fmt_bytes(h, sizeof h, c->d_pte),
                            c->pgs_pool >= 0 ? fmt_bytes(k, sizeof k, c->pgs_pool)
                                             : "",
                            fmt_time(t1, sizeof t1, c->create_s),
                            c->round_s >= 0
                                ? fmt_time(t2, sizeof t2, c->round_s / (double)c->n)
                                : "—");
                } else {
                    fprintf(f, " — | — | — | — | — | — | | — | — |");
                }
                char note[sizeof c->note];
                snprintf(note, sizeof note, "%s", c->note);
                for (char *p = note; *p; p++) /* keep the table intact */
                    if (*p == '|')
                        *p = '/';
                if (measured(c) && c->made < c->n && !strstr(note, "stopped at"))
                    fprintf(f, " figures at %ld tasks; %s", c->made, note);
                else
                    fprintf(f, " %s", note);
                /* Say so when the system-wide figure was disturbed by
                 * other processes (it disagrees with the cgroup's). */
                if (measured(c) && c->d_cg != -1) {
                    long long off = c->d_used - c->d_cg;
                    long long tol = (16LL << 20) + llabs(c->d_cg) / 10;
                    if (llabs(off) > tol)
                        fprintf(f, "%ssystem figure off by %s",
                                note[0] ? "; " : "",
                                fmt_bytes(a, sizeof a, off));
                }
                fprintf(f, " |\n");
            }
}

static const struct mem_result *find(const struct mem_result *r, int nr,
                                     int m, int w, long n)
{
    for (int i = 0; i < nr; i++)
        if (r[i].model == m && r[i].work == w && r[i].n == n)
            return &r[i];
    return NULL;
}

/* Was any cell run at N = n? */
static int find_n(const struct mem_result *r, int nr, long n)
{
    for (int i = 0; i < nr; i++)
        if (r[i].n == n)
            return 1;
    return 0;
}

void mem_report_summary(FILE *f, const struct mem_result *r, int nr,
                        long at_n)
{
    char n[32], a[32], t[32];
    /* Memory per task at one N, where every model can go. */
    fprintf(f, "Memory per task (%s Δ / N) at N = %s:\n\n| model |",
            mem_primary_name(), fmt_n(n, sizeof n, at_n));
    for (int w = 0; w < mem_nworks; w++)
        fprintf(f, " %s |", mem_works[w].name);
    fprintf(f, "\n|---|");
    for (int w = 0; w < mem_nworks; w++)
        fprintf(f, "--:|");
    fprintf(f, "\n");
    for (int m = 0; m < mem_nmodels; m++) {
        fprintf(f, "| %s |", mem_model_infos[m].name);
        for (int w = 0; w < mem_nworks; w++) {
            const struct mem_result *c = find(r, nr, m, w, at_n);
            if (!c)
                fprintf(f, " |");
            else if (!strcmp(c->status, "ok"))
                fprintf(f, " %s |", fmt_bytes(a, sizeof a, mem_primary(c) / c->n));
            else
                fprintf(f, " %s |", short_status(c));
        }
        fprintf(f, "\n");
    }

    /* Time of one round at the same N. */
    fprintf(f, "\nOne round (resume every task once, it waits again), per "
               "task, at N = %s:\n\n| model |", n);
    for (int w = 0; w < mem_nworks; w++)
        fprintf(f, " %s |", mem_works[w].name);
    fprintf(f, "\n|---|");
    for (int w = 0; w < mem_nworks; w++)
        fprintf(f, "--:|");
    fprintf(f, "\n");
    for (int m = 0; m < mem_nmodels; m++) {
        fprintf(f, "| %s |", mem_model_infos[m].name);
        for (int w = 0; w < mem_nworks; w++) {
            const struct mem_result *c = find(r, nr, m, w, at_n);
            if (!c)
                fprintf(f, " |");
            else if (!strcmp(c->status, "ok"))
                fprintf(f, " %s |",
                        fmt_time(t, sizeof t, c->round_s / (double)c->n));
            else
                fprintf(f, " %s |", short_status(c));
        }
        fprintf(f, "\n");
    }

    /* The largest N each model ran completely, and its cost there. */
    fprintf(f, "\nLargest N run completely, and memory per task there "
               "(what stopped the next N: see the full table):\n\n| model |");
    for (int w = 0; w < mem_nworks; w++)
        fprintf(f, " %s |", mem_works[w].name);
    fprintf(f, "\n|---|");
    for (int w = 0; w < mem_nworks; w++)
        fprintf(f, "--:|");
    fprintf(f, "\n");
    for (int m = 0; m < mem_nmodels; m++) {
        fprintf(f, "| %s |", mem_model_infos[m].name);
        for (int w = 0; w < mem_nworks; w++) {
            const struct mem_result *best = NULL, *first = NULL;
            for (int i = 0; i < nr; i++) {
                if (r[i].model != m || r[i].work != w)
                    continue;
                if (!first)
                    first = &r[i];
                if (!strcmp(r[i].status, "ok") && (!best || r[i].n > best->n))
                    best = &r[i];
            }
            if (best)
                fprintf(f, " %s @ %s |",
                        fmt_bytes(a, sizeof a, mem_primary(best) / best->n),
                        fmt_n(n, sizeof n, best->n));
            else
                fprintf(f, " %s |", first ? short_status(first) : "");
        }
        fprintf(f, "\n");
    }
}

/* A CSV field: quoted, with quotes doubled. */
static void csv_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void mem_report_csv(FILE *f, const struct mem_result *r, int nr)
{
    fprintf(f, "model,workload,n,made,status,primary,per_task_bytes,used_bytes,"
               "used_after_create,used_after_finish,shmem_bytes,cgroup_bytes,"
               "rss_bytes,pte_bytes,pagetables_bytes,kernelstack_bytes,"
               "pgs_stack_bytes,pgs_pool_bytes,pgs_faults,pgs_remaps,"
               "create_s,round_s,round_ns_per_task,wall_s,corrupt,note\n");
    /* By workload, model and N, so that each line of the chart is a run
     * of consecutive rows. */
    for (int w = 0; w < mem_nworks; w++)
    for (int m = 0; m < mem_nmodels; m++)
    for (int i = 0; i < nr; i++) {
        const struct mem_result *c = &r[i];
        if (c->work != w || c->model != m)
            continue;
        int ok = measured(c);
        fprintf(f, "%s,%s,%ld,%ld,%s,", mem_model_infos[c->model].name,
                mem_works[c->work].name, c->n, c->made, c->status);
        fprintf(f, "%s,", mem_primary_cgroup && c->d_cg != -1 ? "cgroup" : "system");
        if (ok)
            fprintf(f, "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,",
                    mem_primary(c) / c->made, c->d_used, c->d_used_create,
                    c->d_used_end, c->d_shmem, c->d_cg, c->d_rss, c->d_pte,
                    c->d_ptables, c->d_kstack);
        else
            fprintf(f, ",,,,,,,,,,");
        if (ok && c->pgs_pool >= 0)
            fprintf(f, "%lld,%lld,%lld,%lld,", c->pgs_stack, c->pgs_pool,
                    c->pgs_faults, c->pgs_remaps);
        else
            fprintf(f, ",,,,");
        if (ok)
            fprintf(f, "%.6f,", c->create_s);
        else
            fprintf(f, ",");
        if (ok && c->round_s >= 0)
            fprintf(f, "%.6f,%.1f,", c->round_s, c->round_s / (double)c->n * 1e9);
        else
            fprintf(f, ",,");
        if (c->ran)
            fprintf(f, "%.3f,%ld,", c->wall_s, c->corrupt);
        else
            fprintf(f, ",,");
        csv_str(f, c->note);
        fputc('\n', f);
    }
}

void mem_report_md(FILE *f, const struct mem_result *r, int nr,
                   const struct mem_machine *mm, double budget,
                   double cell_timeout, double skip_seconds, double total_s,
                   const char *cmdline)
{
    char a[32], b[32];
    fprintf(f,
"# Memory per waiting task: pagedstack against the usual ways\n"
"\n"
"Written by `demos/compare_memory` (run by `demos/run_memory.sh`; this run: "
"%s, %.0f s in all).  The same tasks run on six models; each cell (one "
"model, one workload, one N) runs in a fresh process.  The chart is "
"`memory.png` / `memory.svg`, the raw figures `memory.csv`.\n\n",
            cmdline, total_s);

    fprintf(f, "## Models\n\n");
    for (int m = 0; m < mem_nmodels; m++)
        fprintf(f, "%d. **%s**: %s\n", m + 1, mem_model_infos[m].name,
                mem_model_infos[m].what);
    fprintf(f, "\n## Workloads\n\n");
    for (int w = 0; w < mem_nworks; w++)
        fprintf(f, "- **%s** (%s): %s.\n", mem_works[w].name, mem_works[w].id,
                mem_works[w].what);
    fprintf(f,
"\nEvery byte a task puts on its stack is written (a model cannot look "
"cheaper by leaving pages untouched) and read back after every switch "
"(status `corrupt` if any byte changed).\n\n");

    fprintf(f,
"## How each figure is measured\n"
"\n"
"In the child, in this order: set up the model's fixed state and the demo's "
"own array of N handles (not counted); **reading 0**; create every task and "
"run it until it waits (*create all*); **reading 1**; resume every task "
"once, so that it checks its stack and waits again (*round*; the table "
"gives it per task: one switch in and one out); **reading 2**; run every "
"task to its end (and free it: pagedstack, threads and copy-stack); "
"**reading 3**.  Memory figures are reading 2 minus reading 0 (the CSV also "
"has reading 1 and 3): everything the N parked tasks cost, fixed costs of "
"the model included.  **per task** is the primary figure divided by N; the "
"primary figure of this run is **%s**.\n\n",
            mem_primary_name());
    fprintf(f,
"- **cgroup Δ**%s: growth of the charge of the memory cgroup the cell's "
"process is in, read from `%s` (cgroup v2 `memory.current`, or v1 "
"`memory.usage_in_bytes`).  It counts what the demo's own processes cost "
"and nothing else: anonymous pages, memfd/shmem pages (charged to the "
"process that first touched them) and kernel memory (page tables, thread "
"kernel stacks, slab; checked here: in the threads cells it is VmRSS + "
"VmPTE + KernelStack + about 6 KiB of slab per thread).  Charges are "
"batched per CPU, so it is exact to a few hundred KiB.\n"
"- **system used Δ**%s: growth of `MemTotal - MemAvailable` from "
"`/proc/meminfo`.  It too counts every page wherever it lives, but for the "
"whole machine, and on the 2-CPU VM this demo was written on it is "
"disturbed two ways: other sessions build and test on the same machine "
"(it drifted by ±25 MiB over 30 idle seconds), and the kernel (6.x) counts "
"pages waiting on its per-CPU free lists as used (`/proc/zoneinfo` showed "
"per-CPU lists allowed up to 200 MiB): a 20 MiB allocation moved it by 0, "
"and 200 MiB freed still showed as 90 MiB used seconds later.  So it is "
"shown as a cross-check, exact only to tens or hundreds of MiB; the note column says "
"when it disagrees with the cgroup's figure by more than 16 MiB + 10%%.\n"
"- **Shmem Δ**: growth of `Shmem` in `/proc/meminfo`: memfd pages, where "
"pagedstack's page pool lives, mapped or not.  System-wide, so other "
"processes' memfd and tmpfs pages move it too (tens of MiB when other "
"pagedstack programs run meanwhile).\n"
"- **VmRSS Δ** and **VmPTE Δ**: growth of those lines of "
"`/proc/self/status`.  VmRSS counts only pages mapped into the process now: "
"it misses pagedstack's pool pages that are not mapped (every waiting deep "
"task's) and all kernel memory (page tables, thread kernel stacks); VmPTE "
"is this process's page tables alone.\n"
"- **pgs pool**: pagedstack's own `pgs_stats().pool_bytes` (what its memfd "
"holds from the OS), to compare with Shmem Δ.  Its saved copies of shallow "
"tasks are malloc'd and show in VmRSS instead.\n"
"- **create all**, **round**: `CLOCK_MONOTONIC` around the loops.  Page "
"faults cost about 20 µs each on this VM, so every model's times are "
"dominated by the pages it touches; compare times within one run.\n\n",
            mem_primary_cgroup ? " (primary)" : "", mm->cgroup,
            mem_primary_cgroup ? "" : " (primary)");
    fprintf(f,
"Limits: a cell stops creating tasks (status `budget`) if the system's used "
"memory grows past %s or MemAvailable falls under 2 GiB.  Before running a "
"cell, the parent extrapolates its memory and time from the same model and "
"workload at the previous N (time with a 30%% margin, and N capped at the "
"model's known limit: vm.max_map_count / 2 for guarded stacks and threads, "
"kernel.pid_max for threads) and skips it (`skipped`, saying why) if it "
"would need more than %s or %.0f s; a model that hit a hard limit in one "
"workload is not run at that N or above in the others.  Cells expected to "
"take more than 15 s run after all the others, in a second pass, as long "
"as the run's time budget lasts.  A cell running "
"longer than %.0f s is killed (`timeout`).  A cell that cannot run says "
"why: `overflow` (the workload needs more stack than the model's fixed "
"stack; not run, since malloc'd stacks have no guard page and would "
"silently overwrite other memory), `mapcount` (mmap or mprotect failed at "
"vm.max_map_count), `eagain` (pthread_create refused), `crash` (the child "
"died by a signal), `corrupt` (a task found its stack bytes changed).  Where "
"a limit stopped a cell, its figures are those at the tasks it reached.\n\n",
            mem_fmt(a, sizeof a, budget), mem_fmt(b, sizeof b, budget),
            skip_seconds, cell_timeout);

    fprintf(f, "## Machine\n\n");
    fprintf(f, "%s, %ld CPUs, %s RAM; %s; "
               "vm.max_map_count %ld, kernel.pid_max %ld, "
               "kernel.threads-max %ld; RLIMIT_STACK %s; transparent huge "
               "pages: `%s`.  `/proc/loadavg` at the end of the run: `%s` "
               "(other work shares the CPUs; times vary with it).\n\n",
            mm->kernel, mm->cpus, mem_fmt(a, sizeof a, (double)mm->memtotal),
            mm->libc, mm->max_map_count, mm->pid_max, mm->threads_max,
            mm->stack_rlimit >= 0 ? mem_fmt(b, sizeof b, (double)mm->stack_rlimit)
                                  : "unlimited",
            mm->thp, mm->loadavg);

    /* The summary at N = 10k, where every model can go, if it ran. */
    long at = 10000;
    if (!find_n(r, nr, at))
        at = nr ? r[0].n : 0;
    fprintf(f, "## Summary\n\n");
    mem_report_summary(f, r, nr, at);
    fprintf(f, "\n![memory per task](memory.png)\n\n");
    fprintf(f, "## All cells\n\n");
    mem_report_table(f, r, nr);
}
