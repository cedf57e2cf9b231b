/* SPDX-License-Identifier: MIT */
/*
 * The demos' harness: what every measurement shares.  A cell (one model on
 * one scenario) runs in a child process of its own and reports one row of
 * named figures; the parent gathers the rows into a CSV file, and the
 * report writer (report.c) turns CSV files into the tables the README and
 * demos/results show.  Memory is read from outside the library (procfs,
 * the memory cgroup), so that the figures check what the library says.
 */
#ifndef DEMO_HARNESS_H
#define DEMO_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* ---- rows: named figures, as a child prints them and a CSV holds them */

#define ROW_FIELDS 40
struct row {
    int n;
    char key[ROW_FIELDS][20];
    char val[ROW_FIELDS][48];
    char note[400];
};

void row_clear(struct row *r);
void row_set(struct row *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void row_num(struct row *r, const char *key, double v);
#define row_note(r, ...) row_set(r, "note", __VA_ARGS__)
/* The value of key: "" (row_str) or NAN (row_get) when it has none. */
const char *row_str(const struct row *r, const char *key);
double row_get(const struct row *r, const char *key);
/* A cell's one line on stdout: "ROW key=value ... note=free text" (values
 * with no space: figures and status words). */
void row_print(FILE *f, const struct row *r);
int row_parse(const char *line, struct row *r);
/* A CSV file: a header of keys, then a line a row (the note quoted). */
void csv_header(FILE *f, const char *const *cols);
void csv_row(FILE *f, const char *const *cols, const struct row *r);
/* Every row of a CSV file, its fields named by the header; the count, or
 * -1 if it cannot be read. */
long csv_load(const char *path, struct row **rows);

/* ---- cells ---------------------------------------------------------- */

/* Run argv (argv[0] a path) as a child for at most timeout_s seconds.  *r
 * gets the row of its ROW line, or status crash, timeout or error and why
 * (with its first lines of stderr).  With settle, first wait until the
 * memory the last child held is given back (the kernel frees page tables
 * after an RCU grace period, which would come off the next cell). */
void cell_spawn(char *const argv[], double timeout_s, int settle,
                struct row *r);

/* ---- memory as the system sees it (measure.c) ------------------------ */

struct mem_snap {         /* bytes; -1 where it could not be read */
    long long used;       /* /proc/meminfo MemTotal - MemAvailable */
    long long avail;      /* MemAvailable */
    long long shmem;      /* Shmem (memfd pages: pagedstack's pool) */
    long long pagetables; /* PageTables, all processes */
    long long kstack;     /* KernelStack, all threads */
    long long cgroup;     /* the memory cgroup's charge */
    long long rss;        /* /proc/self/status VmRSS */
    long long pte;        /* VmPTE: this process's page tables */
};
int mem_snap_take(struct mem_snap *s);
/* cgroup v2 memory.current or v1 memory.usage_in_bytes of this process's
 * cgroup, or NULL if neither can be read. */
const char *mem_cgroup_file(void);
char *mem_fmt(char *buf, size_t len, double bytes); /* "1.5 KiB" */
double mem_now(void);                               /* monotonic seconds */
long mem_read_long(const char *path);
long mem_count_maps(void); /* kernel mappings: lines of /proc/self/maps */

/* ---- timing (timing.c) ---------------------------------------------- */

/* Each timed run lasts about target_ns (or is `fixed` units); a
 * measurement is the median of `runs` timed runs. */
struct timing {
    double target_ns;
    int runs;
    uint64_t fixed;
};
extern struct timing timing;

/* What the library counted so far: stack faults, remaps, system calls. */
typedef void counters_fn(double out[3]);

/*
 * Time run(ctx, k), per unit of k, after a warm-up of `warm` units: with
 * fixed 0, calibrate k so that a run lasts about the target; else every
 * run is `fixed` units.  The process's CPU time (user + system: its system
 * calls and page faults count, other processes' work does not), or with
 * wall the wall clock.  Sets ns, spread, iters, minflt and, given
 * counters, faults, remaps and syscalls per unit.  Returns 0 or -1.
 */
int time_runs(int (*run)(void *ctx, uint64_t k), void *ctx, uint64_t warm,
              uint64_t fixed, int wall, counters_fn *counters,
              struct row *r);

/* ---- the commands of demos/bench (main.c) --------------------------- */

extern const char *bench_self; /* this program, run again for every cell */
int switch_main(int argc, char **argv);   /* switch/switch.c */
int switch_cell(int argc, char **argv);
int memory_main(int argc, char **argv);   /* memory/memory.c */
int memory_cell(int argc, char **argv);
int report_main(int argc, char **argv);   /* harness/report.c */
/* n tasks of model m waiting at depth bytes of live stack: the memory
 * they cost, as the memory comparison's cells measure it. */
struct model;
void memory_figures(const struct model *m, long n, size_t depth,
                    struct row *r);

#ifdef __cplusplus
}
#endif

#endif
