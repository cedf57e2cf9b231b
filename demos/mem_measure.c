/* SPDX-License-Identifier: MIT */
/*
 * Reading memory figures from procfs and the cgroup files.  Files are read
 * with open/read into a buffer on the caller's stack: no stdio, no malloc,
 * so that taking a reading does not itself change the heap being measured.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mem_measure.h"

/* Read a whole small file into buf (NUL-terminated).  Returns its length,
 * or -1. */
static long read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t r = read(fd, buf + got, len - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (long)got;
}

/* The value of "key:   123 kB" in a procfs text, in bytes; -1 if absent. */
static long long field_kb(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':')
            return strtoll(p + klen + 1, NULL, 10) * 1024;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

int mem_used_avail(long long *used, long long *avail)
{
    char buf[8192];
    if (read_file("/proc/meminfo", buf, sizeof buf) <= 0)
        return -1;
    long long total = field_kb(buf, "MemTotal");
    long long av = field_kb(buf, "MemAvailable");
    if (total < 0 || av < 0)
        return -1;
    *used = total - av;
    *avail = av;
    return 0;
}

/* Find the cgroup charge file once.  cgroup v2: "0::/path" in
 * /proc/self/cgroup, file memory.current under the unified mount (at
 * /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems).  v1: the
 * line naming the memory controller, file memory.usage_in_bytes. */
static char cg_path[512];
static int cg_state; /* 0 unknown, 1 found, -1 none */

static int readable(const char *path)
{
    char b[64];
    return read_file(path, b, sizeof b) > 0;
}

const char *mem_cgroup_file(void)
{
    if (cg_state)
        return cg_state > 0 ? cg_path : NULL;
    cg_state = -1;
    if (readable("/sys/fs/cgroup/memory.current")) {
        /* A cgroup namespace (containers): our cgroup is the root. */
        snprintf(cg_path, sizeof cg_path, "/sys/fs/cgroup/memory.current");
        cg_state = 1;
        return cg_path;
    }
    char buf[4096];
    if (read_file("/proc/self/cgroup", buf, sizeof buf) <= 0)
        return NULL;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctrl = c1 + 1, *path = c2 + 1;
        if (*ctrl == '\0') { /* v2 */
            const char *mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
            for (int i = 0; i < 2; i++) {
                snprintf(cg_path, sizeof cg_path, "%s%s/memory.current",
                         mounts[i], strcmp(path, "/") ? path : "");
                if (readable(cg_path)) {
                    cg_state = 1;
                    return cg_path;
                }
            }
        } else if (strstr(ctrl, "memory")) { /* v1 */
            snprintf(cg_path, sizeof cg_path,
                     "/sys/fs/cgroup/memory%s/memory.usage_in_bytes",
                     strcmp(path, "/") ? path : "");
            if (readable(cg_path)) {
                cg_state = 1;
                return cg_path;
            }
        }
    }
    return NULL;
}

int mem_snap_take(struct mem_snap *s)
{
    char buf[8192];
    *s = (struct mem_snap){ -1, -1, -1, -1, -1, -1, -1, -1 };
    if (read_file("/proc/meminfo", buf, sizeof buf) <= 0)
        return -1;
    long long total = field_kb(buf, "MemTotal");
    s->avail = field_kb(buf, "MemAvailable");
    s->used = total - s->avail;
    s->shmem = field_kb(buf, "Shmem");
    s->pagetables = field_kb(buf, "PageTables");
    s->kstack = field_kb(buf, "KernelStack");
    if (read_file("/proc/self/status", buf, sizeof buf) > 0) {
        s->rss = field_kb(buf, "VmRSS");
        s->pte = field_kb(buf, "VmPTE");
    }
    const char *cg = mem_cgroup_file();
    if (cg && read_file(cg, buf, 64) > 0)
        s->cgroup = strtoll(buf, NULL, 10);
    return 0;
}

char *mem_fmt(char *buf, size_t len, double b)
{
    const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    double a = b < 0 ? -b : b;
    while (a >= 1024 && u < 4) {
        a /= 1024;
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%.0f B", b);
    else
        snprintf(buf, len, a < 10 ? "%.2f %s" : a < 100 ? "%.1f %s" : "%.0f %s",
                 b, unit[u]);
    return buf;
}

double mem_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long mem_read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}
