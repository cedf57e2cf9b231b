/* SPDX-License-Identifier: MIT */
/* Timed runs of an operation: calibration, medians, and what they cost. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include "harness.h"

struct timing timing = { 20e6, 3, 0 };

/* One thread's scenarios are timed in the CPU time of the whole process
 * (user and system, a pthread model's workers included), so that what
 * other processes of a shared machine take does not count; the two-thread
 * ones on the wall clock, since one thread waiting on the other's locks is
 * what they measure. */
static double clock_ns(int wall)
{
    struct timespec ts;
    clock_gettime(wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double minflt(void)
{
    struct rusage u;
    return getrusage(RUSAGE_THREAD, &u) == 0 ? (double)u.ru_minflt : -1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int time_runs(int (*run)(void *, uint64_t), void *ctx, uint64_t warm,
              uint64_t fixed, int wall, counters_fn *counters, struct row *r)
{
    double c0[3] = { 0 }, c1[3] = { 0 }, v[64], t = 0;
    uint64_t total = 0, k = 1;
    int runs = timing.runs > 64 ? 64 : timing.runs < 1 ? 1 : timing.runs;
    fixed = timing.fixed ? timing.fixed : fixed;
    if (warm && run(ctx, warm) != 0)
        return -1;
    if (counters)
        counters(c0);
    double m0 = minflt();
    while (!fixed) { /* calibrate: a run of k lasts about the target */
        double t0 = clock_ns(wall);
        if (run(ctx, k) != 0)
            return -1;
        t = clock_ns(wall) - t0;
        total += k;
        if (t >= timing.target_ns / 8 || k >= ((uint64_t)1 << 40)) {
            fixed = (uint64_t)((double)k * timing.target_ns / (t > 1 ? t : 1));
            fixed += !fixed;
            break;
        }
        k *= t < timing.target_ns / 800 ? 32 : 4;
    }
    for (int i = 0; i < runs; i++) {
        double t0 = clock_ns(wall);
        if (run(ctx, fixed) != 0)
            return -1;
        v[i] = (clock_ns(wall) - t0) / (double)fixed;
        total += fixed;
    }
    qsort(v, (size_t)runs, sizeof *v, cmp);
    double med = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
    row_num(r, "ns", med);
    row_num(r, "spread", (v[runs - 1] - v[0]) / med);
    row_num(r, "iters", (double)fixed);
    row_num(r, "minflt", (minflt() - m0) / (double)total);
    if (counters) {
        counters(c1);
        row_num(r, "faults", (c1[0] - c0[0]) / (double)total);
        row_num(r, "remaps", (c1[1] - c0[1]) / (double)total);
        row_num(r, "syscalls", (c1[2] - c0[2]) / (double)total);
    }
    return 0;
}
