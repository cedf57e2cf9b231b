/* SPDX-License-Identifier: MIT */
/*
 * The parent side of the memory comparison: the models it knows, the
 * result of one cell as read back from the child, and the two jobs split
 * out of compare_memory.c (running a child, writing the report).
 */
#ifndef MEM_DRIVER_H
#define MEM_DRIVER_H

#include <stdio.h>

/* Which program runs a model's cells. */
enum mem_exe { EXE_SELF, EXE_SWITCHED, EXE_BOOST };

/* A hard limit on how many tasks a model can have, known in advance. */
enum mem_limit {
    LIM_NONE,
    LIM_MAPS,     /* two kernel mappings per task: vm.max_map_count / 2 */
    LIM_THREADS   /* the same, and one kernel thread (pid) per task */
};

struct mem_model_info {
    const char *name;   /* as in the CSV and on the child's command line */
    const char *label;  /* for the table */
    const char *what;   /* how it is built, one line */
    enum mem_exe exe;
    enum mem_limit limit;
};

extern const struct mem_model_info mem_model_infos[];
extern const int mem_nmodels;

/* One cell, as the child reported it (or as the parent decided it). */
struct mem_result {
    int model, work;
    long n, made;
    int ran;                /* a child was run */
    char status[16];        /* ok, overflow, mapcount, eagain, enomem,
                               budget, timeout, crash, corrupt, error,
                               skipped */
    char note[400];
    double create_s, round_s, finish_s, wall_s;
    long long d_used, d_used_create, d_used_end, d_shmem, d_cg, d_rss,
        d_pte, d_ptables, d_kstack;
    long long pgs_stack, pgs_pool, pgs_faults, pgs_remaps; /* -1: not pagedstack */
    long corrupt;
};

/* Which figure the summaries, the per-task column and the chart use: the
 * cgroup's charge (1) or the system's used memory (0).  See memory.md. */
extern int mem_primary_cgroup;
long long mem_primary(const struct mem_result *r);
const char *mem_primary_name(void);

/* Run argv (argv[0] is the program's path) as a child, for at most
 * timeout_s seconds, and fill r from its RESULT line, or with why it has
 * none (crash, timeout, exit status, and the first lines of its stderr). */
void mem_spawn(char *const argv[], double timeout_s, struct mem_result *r);

/* Facts about this machine that bear on the figures, for the report. */
struct mem_machine {
    char kernel[160];
    long cpus;
    long long memtotal;
    long max_map_count, pid_max, threads_max;
    char thp[64];
    char cgroup[512];
    long long stack_rlimit;
    char libc[32];
    char loadavg[64];    /* /proc/loadavg when the report was written */
};
void mem_machine_read(struct mem_machine *mm);

/* The table, for people (markdown), on f. */
void mem_report_table(FILE *f, const struct mem_result *r, int nr);
/* The summary: memory per task by model and workload at one N, and at
 * the largest N each model reached. */
void mem_report_summary(FILE *f, const struct mem_result *r, int nr,
                        long at_n);
void mem_report_csv(FILE *f, const struct mem_result *r, int nr);
/* demos/results/memory.md: how each figure is measured, the machine, the
 * summary, the chart and the full table. */
void mem_report_md(FILE *f, const struct mem_result *r, int nr,
                   const struct mem_machine *mm, double budget,
                   double cell_timeout, double skip_seconds, double total_s,
                   const char *cmdline);

#endif
