/* SPDX-License-Identifier: MIT */
/*
 * Memory as the system sees it, for the memory demos.  Every figure is read
 * from outside the library (procfs, the cgroup files), never from it, so
 * that the demos can check what the library says about itself.
 */
#ifndef MEM_MEASURE_H
#define MEM_MEASURE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One reading, in bytes.  A figure that could not be read is -1. */
struct mem_snap {
    long long used;       /* /proc/meminfo MemTotal - MemAvailable */
    long long avail;      /* /proc/meminfo MemAvailable */
    long long shmem;      /* /proc/meminfo Shmem (memfd and tmpfs pages) */
    long long pagetables; /* /proc/meminfo PageTables (all processes) */
    long long kstack;     /* /proc/meminfo KernelStack (all threads) */
    long long cgroup;     /* the cgroup's charge (mem_cgroup_file) */
    long long rss;        /* /proc/self/status VmRSS */
    long long pte;        /* /proc/self/status VmPTE (this process's page tables) */
};

/* Take a reading.  Returns 0, or -1 if /proc/meminfo could not be read. */
int mem_snap_take(struct mem_snap *s);

/* MemTotal - MemAvailable and MemAvailable alone, cheaply (one read of
 * /proc/meminfo).  Returns 0 or -1. */
int mem_used_avail(long long *used, long long *avail);

/* The file the cgroup figure comes from: cgroup v2 memory.current of this
 * process's cgroup, or v1 memory.usage_in_bytes of its memory cgroup.  NULL
 * if neither can be read. */
const char *mem_cgroup_file(void);

/* b bytes for people: "812 B", "1.5 KiB", "3.20 GiB" (into buf, returned). */
char *mem_fmt(char *buf, size_t len, double b);

/* Seconds on the monotonic clock. */
double mem_now(void);

/* The number in a one-number file such as /proc/sys/vm/max_map_count, or
 * -1 if it cannot be read. */
long mem_read_long(const char *path);

#ifdef __cplusplus
}
#endif

#endif
