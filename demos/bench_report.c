/* SPDX-License-Identifier: MIT */
/*
 * The switch benchmark's report: the tables, as aligned text or markdown,
 * and the project's goals, each with the figure that meets it or not.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "bench_models.h"

/* ---- a small table ------------------------------------------------------ */

#define T_COLS 12
#define T_ROWS 160
#define T_CELL 256

struct table {
    int ncol, nrow;
    const char *head[T_COLS];
    char cell[T_ROWS][T_COLS][T_CELL];
};

static void t_head(struct table *t, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    t->ncol = n;
    t->nrow = 0;
    for (int i = 0; i < n; i++)
        t->head[i] = va_arg(ap, const char *);
    va_end(ap);
}

static char *t_cell(struct table *t, int row, int col)
{
    return t->cell[row][col];
}

static int t_row(struct table *t)
{
    if (t->nrow >= T_ROWS)
        return T_ROWS - 1;
    for (int c = 0; c < T_COLS; c++)
        strcpy(t->cell[t->nrow][c], "-");
    return t->nrow++;
}

static void t_print(FILE *f, const struct table *t, int md)
{
    int w[T_COLS];
    for (int c = 0; c < t->ncol; c++) {
        w[c] = (int)strlen(t->head[c]);
        for (int r = 0; r < t->nrow; r++)
            if ((int)strlen(t->cell[r][c]) > w[c])
                w[c] = (int)strlen(t->cell[r][c]);
    }
    if (md) {
        fputc('|', f);
        for (int c = 0; c < t->ncol; c++)
            fprintf(f, " %s |", t->head[c]);
        fputs("\n|", f);
        for (int c = 0; c < t->ncol; c++)
            fputs(c ? "---:|" : "---|", f);
        fputc('\n', f);
        for (int r = 0; r < t->nrow; r++) {
            fputc('|', f);
            for (int c = 0; c < t->ncol; c++)
                fprintf(f, " %s |", t->cell[r][c]);
            fputc('\n', f);
        }
        fputc('\n', f);
        return;
    }
    for (int c = 0; c < t->ncol; c++)
        fprintf(f, c ? "  %*s" : "%-*s", w[c], t->head[c]);
    fputc('\n', f);
    for (int r = 0; r < t->nrow; r++) {
        for (int c = 0; c < t->ncol; c++)
            fprintf(f, c ? "  %*s" : "%-*s", w[c], t->cell[r][c]);
        fputc('\n', f);
    }
    fputc('\n', f);
}

/* ---- lookups and formats ------------------------------------------------ */

static const struct bench_entry *E;
static size_t NE;

static const struct bench_entry *entry(const char *scen, const char *model)
{
    for (size_t i = 0; i < NE; i++)
        if (strcmp(E[i].s->name, scen) == 0 && strcmp(E[i].model, model) == 0)
            return &E[i];
    return NULL;
}

/* The result if it was measured, else NULL. */
static const struct bench_result *res(const char *scen, const char *model)
{
    const struct bench_entry *e = entry(scen, model);
    return e && e->r.ok ? &e->r : NULL;
}

/* Whether this run measured scen itself (fcontext rows are loaded). */
static int shown(const struct bench_scen *s)
{
    for (size_t i = 0; i < NE; i++)
        if (E[i].s == s && strcmp(E[i].model, "fcontext") != 0)
            return 1;
    return 0;
}

/* A time; "~" after it when its timed runs differ by more than a quarter
 * of the median (a noisy figure). */
static void fmt_ns(char *out, const struct bench_result *r)
{
    if (!r)
        strcpy(out, "-");
    else if (r->ns < 10)
        snprintf(out, T_CELL, "%.2f", r->ns);
    else if (r->ns < 1000)
        snprintf(out, T_CELL, "%.1f", r->ns);
    else
        snprintf(out, T_CELL, "%.0f", r->ns);
    if (r && r->spread > 0.25)
        strcat(out, "~");
}

static void fmt_model(char *out, const char *scen, const char *model)
{
    const struct bench_entry *e = entry(scen, model);
    if (e && !e->r.ok && (strncmp(e->r.note, "CRASHED", 7) == 0 ||
                          strncmp(e->r.note, "HUNG", 4) == 0 ||
                          strncmp(e->r.note, "LIBRARY", 7) == 0))
        strcpy(out, "FAILED");
    else
        fmt_ns(out, e && e->r.ok ? &e->r : NULL);
}

static void fmt_count(char *out, double v)
{
    if (v < 0)
        strcpy(out, "-");
    else if (v == 0)
        strcpy(out, "0");
    else if (v < 0.01)
        snprintf(out, T_CELL, "%.4f", v);
    else
        snprintf(out, T_CELL, "%.2f", v);
}

static void fmt_ratio(char *out, const struct bench_result *a,
                      const struct bench_result *b)
{
    double v = a && b && b->ns > 0 ? a->ns / b->ns : -1;
    if (v < 0)
        strcpy(out, "-");
    else if (v >= 100)
        snprintf(out, T_CELL, "%.0f", v);
    else if (v >= 0.1)
        snprintf(out, T_CELL, "%.2f", v);
    else
        snprintf(out, T_CELL, "%.2g", v);
}

static void fmt_bytes(char *out, double b)
{
    if (b < 0)
        strcpy(out, "-");
    else if (b >= 10.0 * (1 << 20))
        snprintf(out, T_CELL, "%.0f MiB", b / (1 << 20));
    else if (b >= 10.0 * (1 << 10))
        snprintf(out, T_CELL, "%.0f KiB", b / (1 << 10));
    else
        snprintf(out, T_CELL, "%.0f B", b);
}

/* pagedstack's counters into three cells. */
static void fmt_counters(struct table *t, int row, int col,
                         const struct bench_result *p)
{
    fmt_count(t_cell(t, row, col), p ? p->faults : -1);
    fmt_count(t_cell(t, row, col + 1), p ? p->remaps : -1);
    fmt_count(t_cell(t, row, col + 2), p ? p->syscalls : -1);
}

static void heading(FILE *f, int md, const char *text)
{
    if (md)
        fprintf(f, "### %s\n\n", text);
    else
        fprintf(f, "== %s\n\n", text);
}

static void para(FILE *f, const char *text)
{
    fprintf(f, "%s\n\n", text);
}

/* ---- the sections ------------------------------------------------------- */

static struct table T;

static void round_trips(FILE *f, int md)
{
    t_head(&T, 11, "scenario", "live", "pagedstack", "faults", "remaps",
           "sys", "fcontext", "copy-stack", "pthread", "pgs/fctx",
           "pgs/copy");
    for (size_t i = 0; i < NE; i++) {
        const struct bench_scen *s = E[i].s;
        if ((s->kind != BK_HOT && s->kind != BK_RR) || s->skip[0] ||
            strcmp(E[i].model, "pagedstack") != 0)
            continue;
        const struct bench_result *p = res(s->name, "pagedstack");
        const struct bench_result *fc = res(s->name, "fcontext");
        const struct bench_result *cp = res(s->name, "copy-stack");
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", s->name);
        fmt_bytes(t_cell(&T, r, 1), cp ? cp->live : -1);
        fmt_model(t_cell(&T, r, 2), s->name, "pagedstack");
        fmt_counters(&T, r, 3, p);
        fmt_ns(t_cell(&T, r, 6), fc);
        fmt_model(t_cell(&T, r, 7), s->name, "copy-stack");
        fmt_model(t_cell(&T, r, 8), s->name, "pthread");
        fmt_ratio(t_cell(&T, r, 9), p, fc);
        fmt_ratio(t_cell(&T, r, 10), p, cp);
    }
    if (!T.nrow)
        return;
    heading(f, md, "Round trips (ns per resume + yield)");
    para(f, "One task resumed again and again (hot), or N tasks resumed "
            "round-robin by one scheduler, each waiting at the live depth "
            "in its name. top: a resumed task touches only its top frame; "
            "whole: it reads and writes every 64th byte of its live stack. "
            "live: bytes from the saved stack pointer to the top (copy-stack "
            "measures it). faults, remaps, sys: pagedstack's stack faults, "
            "remaps and system calls per round trip (one round trip = one "
            "task switch: the next task replaces the last one). "
            "A time marked ~ is noisy: its rounds differ by more than "
            "a quarter of the median.");
    t_print(f, &T, md);
}

static void regions(FILE *f, int md)
{
    t_head(&T, 11, "scenario", "regions", "pagedstack", "faults", "remaps",
           "sys", "pgs default", "fcontext", "copy-stack", "pgs/fctx",
           "pgs/copy");
    for (size_t i = 0; i < NE; i++) {
        const struct bench_scen *s = E[i].s;
        if (s->kind != BK_REGIONS || strcmp(E[i].model, "pagedstack") != 0)
            continue;
        char rr[48];
        bench_rr_name(s, rr, sizeof rr);
        const struct bench_result *p = res(s->name, "pagedstack");
        const struct bench_result *fc = res(rr, "fcontext");
        const struct bench_result *cp = res(rr, "copy-stack");
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", s->name);
        snprintf(t_cell(&T, r, 1), T_CELL, "%u", s->regions);
        fmt_model(t_cell(&T, r, 2), s->name, "pagedstack");
        fmt_counters(&T, r, 3, p);
        fmt_ns(t_cell(&T, r, 6), res(rr, "pagedstack"));
        fmt_ns(t_cell(&T, r, 7), fc);
        fmt_ns(t_cell(&T, r, 8), cp);
        fmt_ratio(t_cell(&T, r, 9), p, fc);
        fmt_ratio(t_cell(&T, r, 10), p, cp);
    }
    if (!T.nrow)
        return;
    heading(f, md, "pagedstack by pgs_config.regions (ns per round trip)");
    para(f, "The same round-robins on pagedstack with 1, 2, 4 or 16 regions "
            "per thread (each configuration in a fresh thread). pgs default: "
            "the same scenario with the library's default, from the table "
            "above; fcontext and copy-stack do not depend on regions.");
    t_print(f, &T, md);
}

static void per_task(FILE *f, int md)
{
    t_head(&T, 11, "scenario", "pagedstack", "faults", "sys", "minflt",
           "fcontext", "fctx minflt", "copy-stack", "pthread", "pgs/fctx",
           "pgs/copy");
    for (size_t i = 0; i < NE; i++) {
        const struct bench_scen *s = E[i].s;
        if ((s->kind != BK_GROWTH && s->kind != BK_CREATE) ||
            strcmp(E[i].model, "pagedstack") != 0)
            continue;
        const struct bench_result *p = res(s->name, "pagedstack");
        const struct bench_result *fc = res(s->name, "fcontext");
        const struct bench_result *cp = res(s->name, "copy-stack");
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", s->name);
        fmt_model(t_cell(&T, r, 1), s->name, "pagedstack");
        fmt_count(t_cell(&T, r, 2), p ? p->faults : -1);
        fmt_count(t_cell(&T, r, 3), p ? p->syscalls : -1);
        fmt_count(t_cell(&T, r, 4), p ? p->minflt : -1);
        fmt_ns(t_cell(&T, r, 5), fc);
        fmt_count(t_cell(&T, r, 6), fc ? fc->minflt : -1);
        fmt_model(t_cell(&T, r, 7), s->name, "copy-stack");
        fmt_model(t_cell(&T, r, 8), s->name, "pthread");
        fmt_ratio(t_cell(&T, r, 9), p, fc);
        fmt_ratio(t_cell(&T, r, 10), p, cp);
    }
    if (!T.nrow)
        return;
    heading(f, md, "Per task (ns per task)");
    para(f, "growth-7m: create a task, let it grow its stack to 7 MiB "
            "(written every 64 bytes from the top down), yield, destroy it. "
            "create: create, first resume (the task returns at once: it "
            "finishes), destroy. fcontext allocates an 8 MiB "
            "protected_fixedsize_stack per task (the limit every pagedstack "
            "task has: mmap, mprotect of the guard page, munmap); pthread: "
            "pthread_create + join of a thread that returns at once. "
            "faults, sys: pagedstack's stack faults (SIGSEGVs it served) and "
            "system calls per task; minflt: the kernel's page faults per "
            "task (getrusage), for pagedstack and fcontext alike.");
    t_print(f, &T, md);
}

/* The one-thread scenario of a two-thread one ("threads-2-..."). */
static const struct bench_result *one_thread(const struct bench_scen *s,
                                             const char *model)
{
    char one[48];
    snprintf(one, sizeof one, "threads-1-%s", strchr(s->name + 8, '-') + 1);
    return res(one, model);
}

static void threads(FILE *f, int md)
{
    t_head(&T, 11, "scenario", "pagedstack", "faults", "remaps", "sys",
           "fcontext", "copy-stack", "pgs/fctx", "pgs/copy", "pgs vs 1 thr",
           "fctx vs 1 thr");
    for (size_t i = 0; i < NE; i++) {
        const struct bench_scen *s = E[i].s;
        if (s->kind != BK_THREADS || strcmp(E[i].model, "pagedstack") != 0)
            continue;
        const struct bench_result *p = res(s->name, "pagedstack");
        const struct bench_result *fc = res(s->name, "fcontext");
        const struct bench_result *cp = res(s->name, "copy-stack");
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", s->name);
        fmt_model(t_cell(&T, r, 1), s->name, "pagedstack");
        fmt_counters(&T, r, 2, p);
        fmt_ns(t_cell(&T, r, 5), fc);
        fmt_model(t_cell(&T, r, 6), s->name, "copy-stack");
        fmt_ratio(t_cell(&T, r, 7), p, fc);
        fmt_ratio(t_cell(&T, r, 8), p, cp);
        if (s->threads > 1) {
            fmt_ratio(t_cell(&T, r, 9), p, one_thread(s, "pagedstack"));
            fmt_ratio(t_cell(&T, r, 10), fc, one_thread(s, "fcontext"));
        }
    }
    if (!T.nrow)
        return;
    heading(f, md, "1 vs 2 threads (ns per round trip, per thread)");
    para(f, "Each thread runs its own round-robin of 100 tasks, shallow "
            "(1 KiB live) or deep (1 MiB live); with 2, both run at once "
            "(on this machine's 2 CPUs, which other processes share). The "
            "one- and two-thread scenarios of a pair are measured in the "
            "same rounds. Remaps take the mm write lock and flush the TLBs "
            "of the other CPUs running the process. The system call counter "
            "is process-wide: with 2 threads the sys figure is shared out "
            "evenly between them.");
    t_print(f, &T, md);
}

/* The spike-free scenario a cliff one is compared with. */
static const struct bench_result *no_spike(const struct bench_scen *s,
                                           const char *model)
{
    char base[48];
    const char *rest = strstr(s->name, "64k-");
    if (!rest)
        return NULL;
    snprintf(base, sizeof base, "%.*s0-%s", (int)(rest - s->name), s->name,
             rest + 4);
    return res(base, model);
}

static void cliff(FILE *f, int md)
{
    t_head(&T, 8, "scenario", "regions", "pagedstack", "faults", "remaps",
           "sys", "copy-stack", "pgs vs no spike");
    for (size_t i = 0; i < NE; i++) {
        const struct bench_scen *s = E[i].s;
        if (s->kind != BK_CLIFF || strcmp(E[i].model, "pagedstack") != 0)
            continue;
        const struct bench_result *p = res(s->name, "pagedstack");
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", s->name);
        snprintf(t_cell(&T, r, 1), T_CELL, "%s",
                 s->regions ? "1" : "default");
        fmt_model(t_cell(&T, r, 2), s->name, "pagedstack");
        fmt_counters(&T, r, 3, p);
        fmt_model(t_cell(&T, r, 6), s->name, "copy-stack");
        if (s->spike)
            fmt_ratio(t_cell(&T, r, 7), p, no_spike(s, "pagedstack"));
    }
    if (!T.nrow)
        return;
    heading(f, md, "No cliff (ns per round trip)");
    para(f, "100 tasks at 1 KiB live, round-robin. cliff-64k: the first "
            "task went 64 KiB deep once (recursion, then back) before it "
            "came to wait at 1 KiB; cliff-0: the same without that. Both are "
            "measured in the same rounds; pgs vs no spike is the slowdown "
            "the one deep excursion leaves behind.");
    t_print(f, &T, md);
}

static void memory(FILE *f, int md)
{
    t_head(&T, 3, "scenario", "figure", "what");
    for (size_t i = 0; i < NE; i++) {
        const struct bench_scen *s = E[i].s;
        if ((s->kind != BK_MILLION && s->kind != BK_SHALLOW &&
             s->kind != BK_MEMORY) ||
            strcmp(E[i].model, "pagedstack") != 0)
            continue;
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", s->name);
        fmt_bytes(t_cell(&T, r, 1), E[i].r.ok ? E[i].r.bytes : -1);
        snprintf(t_cell(&T, r, 2), T_CELL, "%s",
                 s->kind == BK_MILLION
                     ? "all the process holds for them, pool included"
                 : s->kind == BK_MEMORY
                     ? "per waiting task, all included (see the notes)"
                     : "what the task holds (see the notes)");
    }
    if (!T.nrow)
        return;
    heading(f, md, "Memory (pagedstack)");
    para(f, "memory-100k-1k: 100,000 tasks waiting at 1 KiB of live stack; "
            "the figure is the growth of the memory cgroup's charge per "
            "task (pool pages mapped or not, page tables, kernel "
            "structures; the median of 3 runs). "
            "million: a million tasks waiting at ~700 B of live stack; the "
            "figure is what the process holds for them: its anonymous "
            "memory (descriptors, saved copies, malloc overhead; not the "
            "benchmark's 8 MB array of task pointers) plus the whole pool "
            "(pool_bytes, mapped or not); the MemAvailable drop says the "
            "same from the system's side when nothing else runs. "
            "shallow-after-deep: what a task that went 1 MiB deep and now "
            "waits shallow holds after another task ran in its region "
            "(pgs_task_stack_bytes, regions = 1).");
    t_print(f, &T, md);
}

/* ---- system calls: the library's count against strace ------------------ */

struct syscheck {
    char scen[48];
    double strace, lib;
    char calls[200];
};
static struct syscheck SC[8];
static int NSC;

static void syscheck_read(const char *path)
{
    char line[512];
    FILE *f = path ? fopen(path, "r") : NULL;
    NSC = 0;
    if (!f)
        return;
    while (NSC < 8 && fgets(line, sizeof line, f)) {
        struct syscheck *c = &SC[NSC];
        char *fl[5], *p = line;
        int n = 0;
        line[strcspn(line, "\n")] = '\0';
        while (n < 5 && p) {
            fl[n++] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        if (n < 5)
            continue;
        snprintf(c->scen, sizeof c->scen, "%s", fl[0]);
        c->strace = atof(fl[2]);
        c->lib = atof(fl[3]);
        snprintf(c->calls, sizeof c->calls, "%s", fl[4]);
        NSC++;
    }
    fclose(f);
}

static const struct syscheck *syscheck_of(const char *scen)
{
    for (int i = 0; i < NSC; i++)
        if (strcmp(SC[i].scen, scen) == 0 && SC[i].strace >= 0)
            return &SC[i];
    return NULL;
}

static void syscalls(FILE *f, int md)
{
    if (!NSC)
        return;
    t_head(&T, 4, "scenario", "strace -f -c", "library count",
           "by call (strace)");
    for (int i = 0; i < NSC; i++) {
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%.47s", SC[i].scen);
        fmt_count(t_cell(&T, r, 1), SC[i].strace);
        fmt_count(t_cell(&T, r, 2), SC[i].lib);
        snprintf(t_cell(&T, r, 3), T_CELL, "%s", SC[i].calls);
    }
    heading(f, md, "System calls: the library's count against strace");
    para(f, "System calls per round trip (per pgs_create for create), as "
            "strace -f -c counts them (the difference between two runs of "
            "different lengths, so that setup cancels out) and as the "
            "library's wrappers count them (plus one rt_sigreturn per stack "
            "fault). The sys columns above are the library's count.");
    t_print(f, &T, md);
}

/* ---- goals -------------------------------------------------------------- */

/* One goal of issue 12, as measured in one run: a ratio (or a count) that
 * must stay at or under its limit. */
struct goal {
    const char *what;
    const char *target;
    double limit;
    double value;       /* NAN when the run did not measure it */
    char detail[160];   /* the figures behind the value */
};

#define N_GOALS 16

static double ratio(const struct bench_result *a, const struct bench_result *b)
{
    return a && b && b->ns > 0 ? a->ns / b->ns : NAN;
}

static void set_goal(struct goal *g, int *n, const char *what,
                     const char *target, double limit, double value,
                     const char *fmt, ...)
{
    struct goal *x = &g[(*n)++];
    va_list ap;
    x->what = what;
    x->target = target;
    x->limit = limit;
    x->value = value;
    va_start(ap, fmt);
    vsnprintf(x->detail, sizeof x->detail, fmt, ap);
    va_end(ap);
}

/* pagedstack against a model on one scenario: the ratio of their times. */
static void vs_goal(struct goal *g, int *n, const char *what,
                    const char *target, double limit, const char *scen,
                    const char *model)
{
    const struct bench_result *p = res(scen, "pagedstack"), *o = res(scen, model);
    set_goal(g, n, what, target, limit, ratio(p, o), "%s: %.4g / %.4g ns",
             scen, p ? p->ns : NAN, o ? o->ns : NAN);
}

/* pagedstack on one scenario against itself on another. */
static void self_goal(struct goal *g, int *n, const char *what,
                      const char *target, double limit, const char *scen,
                      const char *base)
{
    const struct bench_result *p = res(scen, "pagedstack");
    const struct bench_result *b = res(base, "pagedstack");
    set_goal(g, n, what, target, limit, ratio(p, b), "%.4g / %.4g ns",
             p ? p->ns : NAN, b ? b->ns : NAN);
}

/* The goals, evaluated on the entries in E (with the strace cross-check
 * when they are this run's). */
static int eval_goals(struct goal *g, int this_run)
{
    int n = 0;
    static const char *const shallow[][2] = {
        { "100 tasks x 128 B: <= copy-stack", "rr-100-128-top" },
        { "100 tasks x 1 KiB: <= copy-stack", "rr-100-1k-top" },
        { "100 tasks x 4 KiB: <= copy-stack", "rr-100-4k-top" },
        { "10k tasks x 1 KiB: <= copy-stack", "rr-10k-1k-top" },
    };
    for (int i = 0; i < 4; i++)
        vs_goal(g, &n, shallow[i][0], "<= 1.0x", 1.0, shallow[i][1],
                "copy-stack");
    vs_goal(g, &n, "create + first resume + finish + destroy", "<= 1.2x copy",
            1.2, "create", "copy-stack");
    vs_goal(g, &n, "hot: one task resumed again and again", "<= 1.1x fctx",
            1.1, "hot", "fcontext");
    vs_goal(g, &n, "100 tasks x 1 MiB (deep)", "<= 0.2x copy", 0.2,
            "rr-100-1m-top", "copy-stack");
    const struct bench_result *d = res("rr-100-1m-top", "pagedstack");
    set_goal(g, &n, "100 tasks x 1 MiB: system calls per switch", "<= 2", 2,
             d ? d->syscalls : NAN, "library count, %.3g stack faults",
             d ? d->faults : NAN);
    self_goal(g, &n, "2 threads x 100 deep (1 MiB): per switch vs 1 thread",
              "<= 1.2x", 1.2, "threads-2-100-1m-top", "threads-1-100-1m-top");
    self_goal(g, &n, "2 threads x 100 shallow (1 KiB): per switch vs 1 thread",
              "<= 1.2x", 1.2, "threads-2-100-1k-top", "threads-1-100-1k-top");
    self_goal(g, &n, "no cliff: one task went 64 KiB deep once", "<= 1.1x",
              1.1, "cliff-64k-100-1k-top", "cliff-0-100-1k-top");
    self_goal(g, &n, "no cliff, regions = 1", "<= 1.1x", 1.1,
              "cliff-r1-64k-100-1k-top", "cliff-r1-0-100-1k-top");
    const struct bench_result *p = res("growth-7m", "pagedstack");
    const struct bench_result *fc = res("growth-7m", "fcontext");
    set_goal(g, &n, "grow one task to 7 MiB", "<= 1.5x fctx", 1.5,
             ratio(p, fc),
             "%.3g / %.3g ms; pgs %.0f faults %.0f sys %.0f minflt, "
             "fctx %.0f minflt", p ? p->ns / 1e6 : NAN,
             fc ? fc->ns / 1e6 : NAN, p ? p->faults : NAN,
             p ? p->syscalls : NAN, p ? p->minflt : NAN,
             fc ? fc->minflt : NAN);
    const struct bench_result *m = res("memory-100k-1k", "pagedstack");
    set_goal(g, &n, "memory per waiting task, 100k x 1 KiB, all in",
             "<= 1536 B", 1536, m ? m->bytes : NAN, "memory cgroup");
    set_goal(g, &n, "kernel mappings for 100k waiting tasks",
             "<= 1 per 50 tasks", 2000, m ? m->live : NAN,
             "lines added to /proc/self/maps");
    const struct bench_result *c = res("create", "pagedstack");
    const struct syscheck *sc = this_run ? syscheck_of("create") : NULL;
    set_goal(g, &n, "pgs_create: system calls", "0", 0,
             sc ? sc->strace : c ? c->bytes : NAN, "%s",
             sc ? "strace" : "library wrappers");
    return n;
}

/* A goal's value as the table shows it. */
static void fmt_goal(char *out, const struct goal *g)
{
    if (isnan(g->value))
        strcpy(out, "-");
    else if (g->limit >= 1000)
        snprintf(out, T_CELL, "%.0f", g->value);
    else
        snprintf(out, T_CELL, "%.3g", g->value);
}

static void goals(FILE *f, int md, const struct bench_entry *before,
                  size_t nbefore)
{
    struct goal now[N_GOALS], then[N_GOALS];
    int n = eval_goals(now, 1), unknown = 0;
    t_head(&T, 5, "goal", "target", "measured", "status", "figures");
    for (int i = 0; i < n; i++) {
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", now[i].what);
        snprintf(t_cell(&T, r, 1), T_CELL, "%s", now[i].target);
        fmt_goal(t_cell(&T, r, 2), &now[i]);
        snprintf(t_cell(&T, r, 3), T_CELL, "%s",
                 isnan(now[i].value)             ? "not measured"
                 : now[i].value <= now[i].limit ? "met"
                                                : "NOT met");
        snprintf(t_cell(&T, r, 4), T_CELL, "%s",
                 isnan(now[i].value) ? "-" : now[i].detail);
        unknown += isnan(now[i].value);
    }
    heading(f, md, "Goals (issue 12)");
    para(f, "Ratios of medians measured in the same rounds of this run "
            "(x: pagedstack's time over the other's; vs 1 thread and no "
            "cliff: pagedstack over itself). copy: the copy-stack model; "
            "fctx: Boost.Context fcontext.");
    t_print(f, &T, md);
    if (unknown)
        fprintf(f, "%d goal%s not measured in this run.\n\n", unknown,
                unknown > 1 ? "s" : "");
    if (!nbefore)
        return;
    /* The same goals on the earlier run's figures. */
    const struct bench_entry *cur = E;
    size_t ncur = NE;
    E = before;
    NE = nbefore;
    eval_goals(then, 0);
    E = cur;
    NE = ncur;
    t_head(&T, 5, "goal", "target", "before", "after", "after/before");
    for (int i = 0; i < n; i++) {
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", now[i].what);
        snprintf(t_cell(&T, r, 1), T_CELL, "%s", now[i].target);
        fmt_goal(t_cell(&T, r, 2), &then[i]);
        fmt_goal(t_cell(&T, r, 3), &now[i]);
        if (then[i].value > 0 && !isnan(now[i].value))
            snprintf(t_cell(&T, r, 4), T_CELL, "%.2f",
                     now[i].value / then[i].value);
    }
    heading(f, md, "Goals before and after");
    para(f, "before: the same benchmark on the library as it was before "
            "this work (demos/results/bench-before.csv, another run on "
            "another day's load: compare the ratios, which are each "
            "measured within one run); after: this run.");
    t_print(f, &T, md);
}

static void notes(FILE *f, int md)
{
    int any = 0;
    for (size_t i = 0; i < NE; i++) {
        const struct bench_entry *e = &E[i];
        if (!e->r.note[0] || strncmp(e->r.note, "mean of", 7) == 0 ||
            (strcmp(e->model, "fcontext") == 0 && !shown(e->s)))
            continue;
        if (!any)
            heading(f, md, "Notes, skips and failures");
        any = 1;
        const char *what = e->r.ok          ? ""
                           : e->s->skip[0] ? "skipped: "
                                           : "NOT MEASURED: ";
        fprintf(f, "%s%s / %s: %s%s\n", md ? "- " : "  ", e->s->name,
                e->model, what, e->r.note);
    }
    if (any)
        fputc('\n', f);
}

void bench_report(FILE *f, int md, const char *machine, const char *about,
                  const char *syscheck_path,
                  const struct bench_entry *e, size_t n,
                  const struct bench_entry *before, size_t nbefore)
{
    E = e;
    NE = n;
    if (md)
        fprintf(f, "## pagedstack switch benchmark\n\n");
    else
        fprintf(f, "pagedstack switch benchmark\n\n");
    fprintf(f, "%s%s\n\n", md ? "Machine: " : "machine: ", machine);
    if (about)
        fprintf(f, "%s\n\n", about);
    if (!res("hot", "fcontext"))
        para(f, "(no fcontext figures: run demos/run_bench.sh, which builds "
                "demos/bench_boost when Boost.Context is installed)");
    heading(f, md, "How each model is built");
    para(f, "pagedstack: the public API (pgs_resume, pgs_yield), linked "
            "statically from the library's own sources built as the "
            "project builds them (cc -O2 -g, configure's defaults), with "
            "system call wrappers that count (one add per call). "
            "fcontext: Boost.Context's jump_fcontext/make_fcontext from the "
            "distribution's package, c++ -O2, linked statically when the "
            "static library is there (so neither pays a PLT jump per "
            "switch); ring tasks get fixedsize_stack stacks (std::malloc, "
            "Boost's default allocator) of live depth + 64 KiB. "
            "copy-stack: no C copy-stack runtime (libaco, minicoro, libco) "
            "is packaged by Debian, so the model is written here the way "
            "libaco works: one shared stack per thread; a resume of a task "
            "that is not the stack's occupant copies the occupant's live "
            "bytes (saved stack pointer to top) out with memcpy into a "
            "buffer kept per task, and the incoming task's in, then "
            "switches registers with the same assembly switch "
            "pagedstack uses (callee-saved registers, MXCSR and x87 control "
            "word, as libaco saves them by default). It never clears what a "
            "task left below its stack pointer, so unlike pagedstack it "
            "lets a task read another's old stack bytes. pthread: one "
            "thread per task, futex hand-off.");
    round_trips(f, md);
    regions(f, md);
    per_task(f, md);
    threads(f, md);
    cliff(f, md);
    memory(f, md);
    syscheck_read(syscheck_path);
    syscalls(f, md);
    goals(f, md, before, nbefore);
    notes(f, md);
}
