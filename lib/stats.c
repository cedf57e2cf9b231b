/* SPDX-License-Identifier: MIT */
/* Figures: what the thread's tasks hold, and what the pool really holds. */
#include "config.h"
#include <string.h>
#include <sys/stat.h>
#include "internal.h"

PGS_EXPORT int pgs_stats(struct pgs_stats *out)
{
    if (!out) {
        errno = EINVAL;
        return -1;
    }
    memset(out, 0, sizeof *out);
    struct pgs_thread *th = pgs__tls;
    if (!th)
        return 0;
    out->tasks = th->tasks;
    /* Scratch pages of a region without an occupant belong to no task;
     * they still count in pool_bytes. */
    size_t scratch = 0;
    for (unsigned i = 0; i < th->nregions; i++)
        if (!th->regions[i].occupant)
            scratch += th->regions[i].mapped;
    out->stack_bytes = pgs__held_bytes(th) - scratch * PGS_PAGE;
    out->stack_bytes_peak = th->peak_bytes;
    /* Ask the kernel rather than trust our own count: the blocks the memfd
     * occupies are all the memory the pool holds, mapped or not. */
    struct stat st;
    if (fstat(th->fd, &st) == 0)
        out->pool_bytes = (size_t)st.st_blocks * 512;
    out->faults = th->faults;
    out->remaps = th->remaps;
    return 0;
}

PGS_EXPORT size_t pgs_task_stack_bytes(const pgs_task *t)
{
    /* Only the owning thread can read the figure: its regions change with
     * every switch and are freed when it exits.  Elsewhere: 0. */
    if (!t || __atomic_load_n(&t->th, __ATOMIC_RELAXED) != pgs__tls ||
        !pgs__tls)
        return 0;
    size_t b = t->bufcap;
    if (t->home == PGS_HOME_REGION)
        b += pgs__region_of(t->th, t)->mapped * PGS_PAGE;
    else if (t->home == PGS_HOME_EXTENT)
        b += t->pages * PGS_PAGE;
    return b;
}

static void print_bytes(FILE *f, size_t b)
{
    if (b >= (size_t)10 << 20)
        fprintf(f, "%zu MiB", b >> 20);
    else if (b >= (size_t)10 << 10)
        fprintf(f, "%zu KiB", b >> 10);
    else
        fprintf(f, "%zu B", b);
}

PGS_EXPORT int pgs_stats_print(FILE *f)
{
    static const char *const states[] = { "created", "running", "suspended",
                                          "done" };
    struct pgs_stats s;
    if (!f) {
        errno = EINVAL;
        return -1;
    }
    pgs_stats(&s);
    struct pgs_thread *th = pgs__tls;
    fprintf(f, "pagedstack statistics of this thread\n");
    fprintf(f, "  tasks          %zu\n", s.tasks);
    fprintf(f, "  stack memory   ");
    print_bytes(f, s.stack_bytes);
    fprintf(f, " held by tasks now (pages and saved copies), ");
    print_bytes(f, s.stack_bytes_peak);
    fprintf(f, " at peak\n  pool           ");
    print_bytes(f, s.pool_bytes);
    fprintf(f, " from the OS (memfd blocks, mapped or not)\n");
    fprintf(f, "  stack faults   %llu\n", (unsigned long long)s.faults);
    fprintf(f, "  remaps         %llu\n", (unsigned long long)s.remaps);
    if (!th || !th->list)
        return 0;

    /* How deep tasks have gone: a histogram of their high-water marks in
     * powers of two pages (mapped stack, with the signal headroom below
     * the stack pointer), and the deepest few by name. */
    enum { BUCKETS = 24, DEEPEST = 5 };
    size_t hist[BUCKETS] = { 0 };
    const pgs_task *deep[DEEPEST] = { NULL };
    for (const pgs_task *t = th->list; t; t = t->next) {
        size_t p = t->peak_pages, b = 0;
        while (b + 1 < BUCKETS && ((size_t)1 << b) < p)
            b++;
        hist[b]++;
        for (int i = 0; i < DEEPEST; i++) {
            if (!deep[i] || t->peak_pages > deep[i]->peak_pages) {
                memmove(&deep[i + 1], &deep[i],
                        (DEEPEST - 1 - i) * sizeof deep[0]);
                deep[i] = t;
                break;
            }
        }
    }
    fprintf(f, "  deepest stack each task has used (with signal headroom):\n");
    for (int b = 0; b < BUCKETS; b++) {
        if (!hist[b])
            continue;
        fprintf(f, "    up to %8zu KiB  %zu tasks\n",
                ((size_t)1 << b) * PGS_PAGE >> 10, hist[b]);
    }
    fprintf(f, "  deepest tasks:\n");
    for (int i = 0; i < DEEPEST && deep[i]; i++) {
        fprintf(f, "    %p \"%s\" %s, went ", (const void *)deep[i],
                deep[i]->name, states[deep[i]->state]);
        print_bytes(f, deep[i]->peak_pages * PGS_PAGE);
        fprintf(f, " deep, holds ");
        print_bytes(f, pgs_task_stack_bytes(deep[i]));
        fprintf(f, " now\n");
    }
    return 0;
}
