/* SPDX-License-Identifier: MIT */
/*
 * The child side of the memory comparison: one cell, one process.
 *
 * Order of events, the same for every model:
 *   setup (fixed state, handle arrays)      not counted
 *   reading 0                                the baseline
 *   create task i and run it until it waits, for every i   "create" time
 *   reading 1                                all parked
 *   resume every task once                   "round" time
 *   reading 2                                all parked again: the figures
 *   finish every task (run it to its end; free it, most models)
 *   reading 3                                what is still held after
 * Every figure printed is a reading minus reading 0.  While creating, every
 * 1024 tasks the cell checks the system's used memory, and stops (status
 * "budget") rather than push the machine into the OOM killer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mem_cell.h"
#include "mem_measure.h"

const struct mem_work *mem_cell_work;

#define GiB (1024.0 * 1024 * 1024)

/* Lines in /proc/self/maps: the kernel mappings the process has. */
static long count_maps(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[65536];
    long lines = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

void mem_fail_errno(struct mem_fail *why, const char *what, int err)
{
    long maps = count_maps();
    long max = mem_read_long("/proc/sys/vm/max_map_count");
    if ((err == ENOMEM || err == EAGAIN) && max > 0 && maps >= max - 8) {
        why->status = "mapcount";
        snprintf(why->note, sizeof why->note,
                 "%s: %s: vm.max_map_count (%ld) reached, %ld maps",
                 what, strerror(err), max, maps);
        return;
    }
    why->status = err == ENOMEM ? "enomem" : err == EAGAIN ? "eagain" : "error";
    snprintf(why->note, sizeof why->note, "%s: %s (%ld maps)", what,
             strerror(err), maps);
}

int mem_cell_wanted(int argc, char **argv)
{
    return argc > 1 && !strcmp(argv[1], "--cell");
}

static char *human(char *buf, size_t len, double b)
{
    return mem_fmt(buf, len, b);
}

/* " key=delta" for one figure of reading s against the baseline b; -1 if
 * either is unknown. */
static void put(FILE *f, const char *key, long long s, long long b)
{
    fprintf(f, " %s=%lld", key, s < 0 || b < 0 ? -1 : s - b);
}

int mem_cell_main(const struct mem_model *const *models, int argc,
                  char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s --cell MODEL WORKLOAD N [BUDGET [RESERVE]]\n",
                argv[0]);
        return 2;
    }
    const struct mem_model *m = NULL;
    for (int i = 0; models[i]; i++)
        if (!strcmp(models[i]->name, argv[2]))
            m = models[i];
    const struct mem_work *w = mem_work_find(argv[3]);
    long n = strtol(argv[4], NULL, 10);
    long long budget = argc > 5 ? strtoll(argv[5], NULL, 10) : (long long)(16 * GiB);
    long long reserve = argc > 6 ? strtoll(argv[6], NULL, 10) : (long long)(2 * GiB);
    if (!m || !w || n <= 0) {
        fprintf(stderr, "%s: unknown model or workload, or bad N\n", argv[0]);
        return 2;
    }
    mem_cell_work = w;

    struct mem_fail why = { "ok", "" };
    long made = 0, resumed = 0;
    double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    struct mem_snap s0, s1, s2, s3;
    char stats[512] = "";
    char a[32], b[32];

    /* A fixed stack that the workload would overflow: say so and do not
     * run it (the malloc'd stacks of that model have no guard page; the
     * overflow would silently write over other memory). */
    size_t need = mem_work_need(w) + 16 * 1024;
    if (need > m->stack_size) {
        why.status = "overflow";
        snprintf(why.note, sizeof why.note, "overflow: needs %s, has %s",
                 human(a, sizeof a, (double)mem_work_need(w)),
                 human(b, sizeof b, (double)m->stack_size));
        goto report_only;
    }
    if (m->setup(n, w, &why) != 0)
        goto report_only;

    mem_snap_take(&s0);
    t0 = mem_now();
    for (long i = 0; i < n; i++) {
        if (i && i % 1024 == 0) {
            long long used, avail;
            if (mem_used_avail(&used, &avail) == 0 &&
                (used - s0.used > budget || avail < reserve)) {
                why.status = "budget";
                snprintf(why.note, sizeof why.note,
                         "stopped at %ld tasks: system memory grew by %s "
                         "(budget %s), %s still available", i,
                         human(a, sizeof a, (double)(used - s0.used)),
                         human(b, sizeof b, (double)budget),
                         mem_fmt((char[32]){ 0 }, 32, (double)avail));
                break;
            }
        }
        if (m->create(i, &why) != 0)
            break;
        made++;
        if (made % 4096 == 0) { /* for the parent, should it kill us */
            printf("PROGRESS made=%ld t=%.1f\n", made, mem_now() - t0);
            fflush(stdout);
        }
    }
    t1 = mem_now();
    mem_snap_take(&s1);
    s2 = s3 = s1;
    t2 = t3 = t1;
    if (made == n) {
        for (long i = 0; i < n; i++) {
            if (m->resume(i, &why) != 0)
                break;
            resumed++;
        }
        t2 = mem_now();
        mem_snap_take(&s2);
    }
    if (m->stats)
        m->stats(stats, sizeof stats);
    if (resumed == n) {
        for (long i = 0; i < n; i++)
            if (m->finish(i, &why) != 0)
                break;
        t3 = mem_now();
        mem_snap_take(&s3);
    }
    if (mem_corrupt && !strcmp(why.status, "ok")) {
        why.status = "corrupt";
        snprintf(why.note, sizeof why.note,
                 "%ld tasks found their stack bytes changed after a switch",
                 mem_corrupt);
    }

    printf("RESULT model=%s work=%s n=%ld made=%ld status=%s", m->name,
           w->name, n, made, why.status);
    printf(" create_s=%.6f round_s=%.6f finish_s=%.6f", t1 - t0,
           resumed == n ? t2 - t1 : -1.0, t3 > t2 ? t3 - t2 : -1.0);
    put(stdout, "d_used", s2.used, s0.used);
    put(stdout, "d_used_create", s1.used, s0.used);
    put(stdout, "d_used_end", s3.used, s0.used);
    put(stdout, "d_shmem", s2.shmem, s0.shmem);
    put(stdout, "d_cg", s2.cgroup, s0.cgroup);
    put(stdout, "d_rss", s2.rss, s0.rss);
    put(stdout, "d_pte", s2.pte, s0.pte);
    put(stdout, "d_ptables", s2.pagetables, s0.pagetables);
    put(stdout, "d_kstack", s2.kstack, s0.kstack);
    printf(" corrupt=%ld%s note=%s\n", mem_corrupt, stats, why.note);
    fflush(stdout);
    /* Threads may still be parked and tasks suspended: leave at once. */
    _exit(0);

report_only:
    printf("RESULT model=%s work=%s n=%ld made=0 status=%s note=%s\n",
           m->name, w->name, n, why.status, why.note);
    fflush(stdout);
    _exit(0);
}
