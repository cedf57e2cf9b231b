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
            "A time marked ~ is noisy: its timed runs differ by more than "
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
    t_head(&T, 9, "scenario", "pagedstack", "faults", "sys", "fcontext",
           "copy-stack", "pthread", "pgs/fctx", "pgs/copy");
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
        fmt_ns(t_cell(&T, r, 4), fc);
        fmt_model(t_cell(&T, r, 5), s->name, "copy-stack");
        fmt_model(t_cell(&T, r, 6), s->name, "pthread");
        fmt_ratio(t_cell(&T, r, 7), p, fc);
        fmt_ratio(t_cell(&T, r, 8), p, cp);
    }
    if (!T.nrow)
        return;
    heading(f, md, "Per task (ns per task)");
    para(f, "growth-7m: create a task, let it grow its stack to 7 MiB "
            "(written every 64 bytes from the top down), yield, destroy it. "
            "create: create, first resume (the task yields at once), "
            "destroy. fcontext allocates an 8 MiB protected_fixedsize_stack "
            "per task (the limit every pagedstack task has); pthread: "
            "pthread_create + join of a thread that returns at once.");
    t_print(f, &T, md);
}

static void threads(FILE *f, int md)
{
    t_head(&T, 10, "scenario", "pagedstack", "faults", "remaps", "sys",
           "fcontext", "copy-stack", "pgs/fctx", "pgs/copy", "pgs vs 1 thr");
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
            char one[48];
            snprintf(one, sizeof one, "threads-1-%s",
                     strchr(s->name + 8, '-') + 1);
            fmt_ratio(t_cell(&T, r, 9), p, res(one, "pagedstack"));
        }
    }
    if (!T.nrow)
        return;
    heading(f, md, "1 vs 2 threads (ns per round trip, per thread)");
    para(f, "Each thread runs its own round-robin of 100 tasks; with 2, both "
            "run at once (on this machine's CPUs). Remaps take the mm write "
            "lock and flush the TLBs of the other CPUs running the process. "
            "The system call counter is process-wide: with 2 threads the "
            "sys figure is shared out evenly between them.");
    t_print(f, &T, md);
}

static void memory(FILE *f, int md)
{
    t_head(&T, 3, "scenario", "figure", "what");
    for (size_t i = 0; i < NE; i++) {
        const struct bench_scen *s = E[i].s;
        if ((s->kind != BK_MILLION && s->kind != BK_SHALLOW) ||
            strcmp(E[i].model, "pagedstack") != 0)
            continue;
        int r = t_row(&T);
        snprintf(t_cell(&T, r, 0), T_CELL, "%s", s->name);
        fmt_bytes(t_cell(&T, r, 1), E[i].r.ok ? E[i].r.bytes : -1);
        snprintf(t_cell(&T, r, 2), T_CELL, "%s",
                 s->kind == BK_MILLION
                     ? "all the process holds for them, pool included"
                     : "what the task holds (see the notes)");
    }
    if (!T.nrow)
        return;
    heading(f, md, "Memory (pagedstack)");
    para(f, "million: a million tasks waiting at ~700 B of live stack; the "
            "figure is what the process holds for them: its anonymous "
            "memory (descriptors, saved copies, malloc overhead, the "
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

static int unknown_goals;

/* One row of the goals table; goals this run did not measure are only
 * counted. */
static void goal(struct table *t, const char *what, int known, int met,
                 const char *fmt, ...)
{
    if (!known) {
        unknown_goals++;
        return;
    }
    int r = t_row(t);
    va_list ap;
    snprintf(t_cell(t, r, 0), T_CELL, "%s", what);
    va_start(ap, fmt);
    vsnprintf(t_cell(t, r, 1), T_CELL, fmt, ap);
    va_end(ap);
    snprintf(t_cell(t, r, 2), T_CELL, "%s", met ? "met" : "NOT met");
}

static void ratio_goal(struct table *t, const char *what, const char *scen,
                       const char *m1, const char *m2, double limit)
{
    const struct bench_result *a = res(scen, m1), *b = res(scen, m2);
    double v = a && b ? a->ns / b->ns : NAN;
    goal(t, what, a && b, v <= limit, "%.3gx (%s)", v, scen);
}

static void deep_goals(struct table *t, const char *prefix, const char *tag)
{
    char n1[48], n4[48], n64[48], what[T_CELL];
    for (int w = 0; w < 2; w++) {
        const char *v = w ? "whole" : "top";
        for (int d = 0; d < 2; d++) {
            snprintf(n1, sizeof n1, "%s2-%s-%s", prefix, d ? "4m" : "1m", v);
            const struct bench_result *p = res(n1, "pagedstack");
            snprintf(what, sizeof what, "2 tasks, %s, %s%s: <= 4 sys, 0 faults",
                     d ? "4 MiB" : "1 MiB", v, tag);
            goal(t, what, p != NULL,
                 p && p->syscalls <= 4 && p->faults == 0,
                 "%.2f sys, %.3f faults /switch", p ? p->syscalls : NAN,
                 p ? p->faults : NAN);
        }
    }
    /* Only where the task touches its top frames: touching the whole
     * live stack costs 64 times more at 4 MiB in every model. */
    snprintf(n4, sizeof n4, "%s2-4m-top", prefix);
    snprintf(n64, sizeof n64, "%s2-64k-top", prefix);
    const struct bench_result *a = res(n4, "pagedstack");
    const struct bench_result *b = res(n64, "pagedstack");
    snprintf(what, sizeof what, "2 tasks, top%s: 4 MiB <= 1.3x 64 KiB", tag);
    goal(t, what, a && b, a && b && a->ns <= 1.3 * b->ns, "%.3gx",
         a && b ? a->ns / b->ns : NAN);
    for (int w = 0; w < 2; w++)
        for (int d = 0; d < 2; d++) {
            const char *v = w ? "whole" : "top";
            char rr[48];
            snprintf(n1, sizeof n1, "%s2-%s-%s", prefix, d ? "4m" : "1m", v);
            snprintf(rr, sizeof rr, "rr-2-%s-%s", d ? "4m" : "1m", v);
            const struct bench_result *p = res(n1, "pagedstack");
            const struct bench_result *c = res(rr, "copy-stack");
            snprintf(what, sizeof what, "2 tasks, %s, %s%s: faster than copy",
                     d ? "4 MiB" : "1 MiB", v, tag);
            goal(t, what, p && c, p && c && p->ns < c->ns, "%.3gx copy-stack",
                 p && c ? p->ns / c->ns : NAN);
        }
}

static void goals(FILE *f, int md)
{
    t_head(&T, 3, "goal", "figure", "status");
    unknown_goals = 0;
    ratio_goal(&T, "hot round trip <= 1.5x fcontext", "hot", "pagedstack",
               "fcontext", 1.5);
    ratio_goal(&T, "10k tasks, 1 KiB, top: <= 2x copy-stack", "rr-10k-1k-top",
               "pagedstack", "copy-stack", 2);
    ratio_goal(&T, "10k tasks, 1 KiB, whole: <= 2x copy-stack",
               "rr-10k-1k-whole", "pagedstack", "copy-stack", 2);
    deep_goals(&T, "rr-", "");
    deep_goals(&T, "regions-1-", " (regions=1)");
    const struct bench_result *g = res("growth-7m", "pagedstack");
    goal(&T, "growth of one task to 7 MiB: <= 24 stack faults", g != NULL,
         g && g->faults <= 24, "%.0f faults, %.0f sys, %.2f ms",
         g ? g->faults : NAN, g ? g->syscalls : NAN, g ? g->ns / 1e6 : NAN);
    const struct bench_result *c = res("create", "pagedstack");
    const struct syscheck *sc = syscheck_of("create");
    if (sc)
        goal(&T, "create: no system call", 1, sc->strace == 0,
             "%.3f per pgs_create (strace: %s)", sc->strace, sc->calls);
    else
        goal(&T, "create: no system call", c != NULL, c && c->bytes == 0,
             "%.4f per pgs_create (library wrappers only; "
             "run_bench.sh checks with strace)", c ? c->bytes : NAN);
    ratio_goal(&T, "create + first resume + destroy: <= 2x copy-stack",
               "create", "pagedstack", "copy-stack", 2);
    const struct bench_result *m = res("million", "pagedstack");
    goal(&T, "1M waiting tasks at ~700 B: < 1 GiB", m != NULL,
         m && m->bytes < (double)(1u << 30), "%.0f MiB (pool included)",
         m ? m->bytes / (1 << 20) : NAN);
    const struct bench_result *s = res("shallow-after-deep", "pagedstack");
    goal(&T, "went 1 MiB deep, waits shallow: <= 16 KiB", s != NULL,
         s && s->bytes <= 16384, "%.0f B", s ? s->bytes : NAN);
    heading(f, md, "Goals");
    para(f, "Per switch = per round trip (see above). The 2-task goals are "
            "checked with the default configuration, where the two tasks "
            "get different regions, and with regions = 1, where every "
            "switch must change what the one region shows.");
    if (T.nrow)
        t_print(f, &T, md);
    if (unknown_goals)
        fprintf(f, "%d goal%s not measured in this run.\n\n", unknown_goals,
                unknown_goals > 1 ? "s" : "");
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
                  const struct bench_entry *e, size_t n)
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
    round_trips(f, md);
    regions(f, md);
    per_task(f, md);
    threads(f, md);
    memory(f, md);
    syscheck_read(syscheck_path);
    syscalls(f, md);
    goals(f, md);
    notes(f, md);
}
