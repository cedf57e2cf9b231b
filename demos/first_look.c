/* SPDX-License-Identifier: MIT */
/*
 * first_look: what pagedstack is for, in one run.
 *
 *   demos/first_look [TASKS]
 *
 * Creates TASKS (default 100,000) tasks that may each use an 8 MiB stack:
 * 5 of them recurse 4 MiB deep and wait there, every other one waits with
 * about 1 KiB of live stack.  Then it prints what they cost: first as
 * the library counts it (pgs_stats), then as the system sees it from
 * outside (procfs, and the cgroup's charge when it can be read).  Then it
 * runs every task to its end, destroys them all and shows the memory going
 * back.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pagedstack.h"
#include "harness.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define STACK (8 * MiB)   /* what every task may use */
#define LIVE (1 * KiB)    /* what a shallow task uses while it waits */
#define DEEP (4 * MiB)    /* how deep the deep ones go */
#define NDEEP 5
#define FRAME (16 * KiB)  /* stack per level of the deep recursion */

static long bad; /* tasks that found their stack changed: must stay 0 */

/* Wait with `live` bytes of our own on the stack, and check them after. */
static void wait_with(size_t live, unsigned char mark)
{
    unsigned char *p = alloca(live);
    memset(p, mark, live);
    pgs_yield(NULL);
    for (size_t i = 0; i < live; i++)
        if (p[i] != mark) {
            bad++;
            break;
        }
}

/* Go `depth` bytes deep, FRAME at a time, and wait at the bottom. */
static void dig(size_t depth, unsigned char mark)
{
    volatile unsigned char frame[FRAME];
    memset((void *)frame, mark, sizeof frame);
    if (depth > FRAME)
        dig(depth - FRAME, mark);
    else
        wait_with(LIVE, mark);
    if (frame[0] != mark || frame[FRAME - 1] != mark)
        bad++;
}

static void *shallow(void *arg)
{
    wait_with(LIVE, (unsigned char)(uintptr_t)arg);
    return arg;
}

static void *deep(void *arg)
{
    dig(DEEP, (unsigned char)(uintptr_t)arg);
    return arg;
}

static char *fmt(double b)
{
    static char ring[8][32];
    static int next;
    char *s = ring[next++ % 8];
    return mem_fmt(s, 32, b);
}

static char *grew(long long after, long long before)
{
    static char ring[8][40];
    static int next;
    char *s = ring[next++ % 8];
    if (after < 0 || before < 0)
        snprintf(s, 40, "n/a");
    else
        snprintf(s, 40, "%s%s", after >= before ? "+" : "-",
                 fmt((double)llabs(after - before)));
    return s;
}

/* n with thousands separators. */
static char *num(long n)
{
    static char ring[4][32];
    static int next;
    char *s = ring[next++ % 4], tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%ld", n), o = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            s[o++] = ',';
        s[o++] = tmp[i];
    }
    s[o] = '\0';
    return s;
}

static void fail(const char *what)
{
    perror(what);
    exit(1);
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    if (total <= NDEEP) {
        fprintf(stderr, "usage: %s [TASKS], TASKS > %d\n", argv[0], NDEEP);
        return 2;
    }
    long n = total - NDEEP; /* the shallow ones */
    pgs_task **t = calloc((size_t)total, sizeof *t);
    if (!t)
        fail("calloc");
    struct pgs_config cfg = { .stack_size = STACK };
    if (pgs_thread_init(&cfg) != 0)
        fail("pgs_thread_init");

    const char *cg = mem_cgroup_file();
    struct mem_snap s0, s1, s2;
    mem_snap_take(&s0);
    long long ram = s0.used + s0.avail;

    printf("pagedstack first look: %s tasks, each allowed %s of stack\n",
           num(total), fmt(STACK));
    printf("(%s of stack in all, on a machine with %s of RAM)\n\n",
           fmt((double)STACK * (double)total), fmt((double)ram));

    /* Create every task and run it until it waits. */
    double t0 = mem_now();
    for (long i = 0; i < total; i++) {
        int is_deep = i % (n / NDEEP + 1) == 0 && i / (n / NDEEP + 1) < NDEEP;
        t[i] = pgs_create(is_deep ? deep : shallow, (void *)(uintptr_t)(i + 1));
        if (!t[i])
            fail("pgs_create");
        if (is_deep)
            pgs_set_name(t[i], "deep");
        if (pgs_resume(t[i], NULL, NULL) != 0)
            fail("pgs_resume");
    }
    double t1 = mem_now();
    mem_snap_take(&s1);
    struct pgs_stats st;
    pgs_stats(&st);

    long long held = cg ? s1.cgroup - s0.cgroup : s1.used - s0.used;
    printf("All %s tasks are waiting (created and run in %.2f s): %s with "
           "%s of live stack, %d at %s deep.\n\n",
           num(total), t1 - t0, num(n), fmt(LIVE), NDEEP, fmt(DEEP));
    printf("What the library counts (pgs_stats):\n");
    printf("  stack_bytes  %10s   stack the tasks hold, mapped or not\n",
           fmt((double)st.stack_bytes));
    printf("  pool_bytes   %10s   pages its memfd page pool holds from the OS\n",
           fmt((double)st.pool_bytes));
    printf("  faults       %10s   stack page faults it handled\n",
           num((long)st.faults));
    printf("  remaps       %10s   switches that made a region show another task:\n"
           "                            a shallow task's bytes copied, or a deep one's\n"
           "                            pages remapped (one per task here: each one\n"
           "                            was run until it waited, in turn)\n",
           num((long)st.remaps));
    printf("  per task     %10s\n\n", fmt((double)st.stack_bytes / (double)total));

    printf("What the system counts (growth since before the first task):\n");
    if (cg)
        printf("  cgroup charge            %10s   %s of this process's cgroup\n",
               grew(s1.cgroup, s0.cgroup), strrchr(cg, '/') + 1);
    else
        printf("  cgroup charge                   n/a   (no readable memory.current)\n");
    printf("  MemTotal - MemAvailable  %10s   the whole machine's used memory\n",
           grew(s1.used, s0.used));
    printf("  Shmem                    %10s   memfd pages, mapped or not\n",
           grew(s1.shmem, s0.shmem));
    printf("  VmRSS                    %10s   pages mapped in this process now\n",
           grew(s1.rss, s0.rss));
    printf("  per task                 %10s   (%s / %s tasks)\n\n",
           fmt((double)held / (double)total), cg ? "cgroup" : "system", num(total));

    printf("Every task may use %s, yet all %s together hold %s: %s a task.\n",
           fmt(STACK), num(total), fmt((double)held),
           fmt((double)held / (double)total));
    printf("VmRSS misses the deep tasks' pages (in the memfd pool, unmapped while others\n"
           "run); the cgroup charge, Shmem and pool_bytes count them.  MemTotal - MemAvailable\n"
           "is the whole machine's and lags (per-CPU free lists): off by up to hundreds of MiB.\n\n");

    /* Run every task to its end and destroy it. */
    double t2 = mem_now();
    for (long i = 0; i < total; i++) {
        void *out = NULL;
        if (pgs_resume(t[i], NULL, &out) != 0 || pgs_state(t[i]) != PGS_DONE ||
            out != (void *)(uintptr_t)(i + 1))
            fail("pgs_resume (to the end)");
        if (pgs_destroy(t[i]) != 0)
            fail("pgs_destroy");
    }
    double t3 = mem_now();
    mem_snap_take(&s2);
    pgs_stats(&st);
    printf("Finished: ran all %s tasks to their end and destroyed them in %.2f s.\n",
           num(total), t3 - t2);
    long long before = cg ? s1.cgroup - s0.cgroup : s1.used - s0.used;
    long long after = cg ? s2.cgroup - s0.cgroup : s2.used - s0.used;
    printf("  given back: %s of the %s (%s); still held: %s, Shmem %s, VmRSS %s\n"
           "  pgs_stats: %zu tasks, stack_bytes %s, pool_bytes %s (kept for reuse)\n",
           fmt((double)(before - after)), fmt((double)before),
           cg ? "cgroup" : "system", grew(after, 0), grew(s2.shmem, s0.shmem),
           grew(s2.rss, s0.rss), st.tasks, fmt((double)st.stack_bytes),
           fmt((double)st.pool_bytes));
    if (bad) {
        printf("ERROR: %s tasks found their stack changed while they waited\n",
               num(bad));
        return 1;
    }
    printf("Every task found its stack as it left it.\n");
    free(t);
    return 0;
}
