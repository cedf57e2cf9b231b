/* SPDX-License-Identifier: MIT */
/* The commands of demos/bench (main.c), one per experiment. */
#ifndef DEMO_BENCH_H
#define DEMO_BENCH_H

#include "harness.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* This program, as the parent runs it again for every cell. */
extern const char *bench_self;

int switch_main(int argc, char **argv);   /* switch/switch.c */
int switch_cell(int argc, char **argv);
int memory_main(int argc, char **argv);   /* memory/memory.c */
int memory_cell(int argc, char **argv);
int report_main(int argc, char **argv);   /* harness/report.c */

/* n tasks of model m waiting at depth bytes of live stack: the memory
 * they cost (cgroup, system, Shmem, VmRSS, VmPTE, mappings), as a row.
 * The switch benchmark's memory scenarios and the memory comparison's
 * cells are both this.  With w, a workload of the comparison instead. */
struct work;
void memory_figures(const struct model *m, long n, size_t depth,
                    struct row *r);

#ifdef __cplusplus
}
#endif

#endif
