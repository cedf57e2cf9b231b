/* SPDX-License-Identifier: MIT */
/*
 * Memory figures from procfs and the cgroup files.  Files
 * are read with open/read into a buffer on the caller's stack: no stdio,
 * no malloc, so that a reading does not itself change the heap it measures.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

/* Read a small file into buf (NUL-terminated); its length, or -1. */
static long slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    ssize_t r;
    if (fd < 0)
        return -1;
    while (got + 1 < len && (r = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    buf[got] = '\0';
    return (long)got;
}

/* The value of "key:   123 kB" in a procfs text, in bytes; -1 if absent. */
static long long field_kb(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, klen) == 0 && p[klen] == ':')
            return strtoll(p + klen + 1, NULL, 10) * 1024;
    return -1;
}

/* cgroup v2: "0::/path" in /proc/self/cgroup, memory.current under the
 * unified mount (or at its root inside a cgroup namespace); v1: the line
 * of the memory controller, memory.usage_in_bytes. */
const char *mem_cgroup_file(void)
{
    static char path[512];
    static int state; /* 0 unknown, 1 found, -1 none */
    char buf[4096], b[64];
    if (state)
        return state > 0 ? path : NULL;
    state = 1;
    snprintf(path, sizeof path, "/sys/fs/cgroup/memory.current");
    if (slurp(path, b, sizeof b) > 0)
        return path;
    if (slurp("/proc/self/cgroup", buf, sizeof buf) > 0)
        for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
            char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2)
                continue;
            *c2 = '\0';
            const char *cg = strcmp(c2 + 1, "/") ? c2 + 1 : "";
            static const char *const v2[] = { "", "/unified" };
            for (int i = 0; i < 2 && c1[1] == '\0'; i++) {
                snprintf(path, sizeof path, "/sys/fs/cgroup%s%s/"
                         "memory.current", v2[i], cg);
                if (slurp(path, b, sizeof b) > 0)
                    return path;
            }
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/"
                     "memory.usage_in_bytes", cg);
            if (strstr(c1 + 1, "memory") && slurp(path, b, sizeof b) > 0)
                return path;
        }
    state = -1;
    return NULL;
}

int mem_snap_take(struct mem_snap *s)
{
    char buf[8192];
    const char *cg = mem_cgroup_file();
    *s = (struct mem_snap){ -1, -1, -1, -1, -1, -1, -1, -1 };
    if (slurp("/proc/meminfo", buf, sizeof buf) <= 0)
        return -1;
    s->avail = field_kb(buf, "MemAvailable");
    s->used = field_kb(buf, "MemTotal") - s->avail;
    s->shmem = field_kb(buf, "Shmem");
    s->pagetables = field_kb(buf, "PageTables");
    s->kstack = field_kb(buf, "KernelStack");
    if (slurp("/proc/self/status", buf, sizeof buf) > 0) {
        s->rss = field_kb(buf, "VmRSS");
        s->pte = field_kb(buf, "VmPTE");
    }
    if (cg && slurp(cg, buf, 64) > 0)
        s->cgroup = strtoll(buf, NULL, 10);
    return 0;
}

long mem_count_maps(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    char buf[65536];
    long lines = 0;
    ssize_t r;
    if (fd < 0)
        return -1;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

char *mem_fmt(char *buf, size_t len, double b)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while ((b >= 1024 || b <= -1024) && u < 4) {
        b /= 1024;
        u++;
    }
    double a = b < 0 ? -b : b;
    snprintf(buf, len, u == 0 ? "%.0f %s" : a < 10 ? "%.2f %s"
                               : a < 100 ? "%.1f %s" : "%.0f %s", b, unit[u]);
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
    char buf[64];
    return slurp(path, buf, sizeof buf) > 0 ? strtol(buf, NULL, 10) : -1;
}
