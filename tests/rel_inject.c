/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, SQLite style: for every operation in rel_inject_ops.c
 * and N = 1, 2, 3, ..., make the Nth failure-point call of the operation
 * fail, in a fresh child, until a run injects nothing.  Every run must end
 * one of two ways:
 *
 *  (a) the operation returns -1 (or NULL) with an errno it documents, and
 *      everything that existed before still works, with no descriptor or
 *      mapping leaked; or
 *  (b) for operations that include a stack fault or a switch that cannot
 *      report an error: the process dies by SIGSEGV after exactly one
 *      "pagedstack:" line on stderr.
 *
 * Anything else (a hang, a crash without a word, a wrong stack, a leak) is
 * a failure.  Every run is a row of the coverage table, printed at the end
 * of each loop and appended to tests/injection-coverage.txt; main()
 * summarises that file by failure point and site.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sys.h"
#include "rel_inject.h"
#include "memcheck.h"

/* The most runs one loop may take: far more than any operation makes
 * failure-point calls; reaching it means the loop never ran clean. */
#define MAX_N 400

static const char *const point_names[PGS_FP_COUNT] = {
    [PGS_FP_MEMFD] = "memfd",         [PGS_FP_FTRUNCATE] = "ftruncate",
    [PGS_FP_FALLOCATE] = "fallocate", [PGS_FP_MMAP] = "mmap",
    [PGS_FP_MPROTECT] = "mprotect",   [PGS_FP_MUNMAP] = "munmap",
    [PGS_FP_MADVISE] = "madvise",     [PGS_FP_SIGALTSTACK] = "sigaltstack",
    [PGS_FP_SIGACTION] = "sigaction", [PGS_FP_SIGMASK] = "sigmask",
    [PGS_FP_MALLOC] = "malloc",
};

const char *rel_point_name(long point)
{
    if (point < 0)
        return "none";
    if (point >= PGS_FP_COUNT || !point_names[point])
        return "?";
    return point_names[point];
}

const char *rel_errno_name(int e)
{
    static char buf[32];
    switch (e) {
    case ENOMEM: return "ENOMEM";
    case EPERM: return "EPERM";
    case EMFILE: return "EMFILE";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN";
    case ENOSPC: return "ENOSPC";
    case 0: return "0";
    default:
        snprintf(buf, sizeof buf, "errno %d", e);
        return buf;
    }
}

/* ---- the coverage file ------------------------------------------------------ */

static const char *cov_path(void)
{
    struct stat st;
    return stat("tests", &st) == 0 && S_ISDIR(st.st_mode)
               ? "tests/injection-coverage.txt"
               : "injection-coverage.txt";
}

void rel_cov_line(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int fd = open(cov_path(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || n <= 0)
        return;
    ssize_t w = write(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf);
    (void)w;
    close(fd);
}

#define ROW_FMT "%-18s %3s %-8s %-11s %-24s %s\n"

void rel_cov_begin(void)
{
    int fd = open(cov_path(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    rel_cov_line("# pagedstack fault-injection coverage "
                 "(tests/check_reliability)\n"
                 "# One row per injected run: the operation, N (the Nth "
                 "failure-point call\n# from arming fails), the process "
                 "(fork: parent, child, or prepare = before\n# the fork, in "
                 "the library's atfork handler), the failure point and "
                 "call site\n# that failed, and how the run ended.\n#\n");
    rel_cov_line("# " ROW_FMT, "operation", "N", "process", "point", "site",
                 "outcome");
}

/* The summary groups outcomes by their text without what varies from run
 * to run: addresses, task names, page counts. */
static void normalise(const char *in, char *out, size_t len)
{
    size_t k = 0;
    while (*in && k + 2 < len) {
        if (*in == '"' || *in == '(') {
            const char *close = strchr(in + 1, *in == '"' ? '"' : ')');
            if (close) {
                in = close + 1;
                continue;
            }
        }
        if (in[0] == '0' && in[1] == 'x') {
            in += 2;
            while ((*in >= '0' && *in <= '9') || (*in >= 'a' && *in <= 'f'))
                in++;
            continue;
        }
        if (*in == ' ' && k > 0 && (out[k - 1] == ' ' || in[1] == ' ' ||
                                    in[1] == ':' || in[1] == '\0')) {
            in++;
            continue;
        }
        if (*in == ':' && k > 0 && out[k - 1] == ' ')
            k--;
        out[k++] = *in++;
    }
    while (k > 0 && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
}

struct agg {
    char key[128];          /* point site */
    int runs;
    char outcomes[8][160];
    int counts[8];
    int nout;
    char ops[256];
};

void rel_cov_summary(void)
{
    static struct agg a[128];
    int na = 0, rows = 0;
    FILE *f = fopen(cov_path(), "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char op[64], n[16], proc[32], point[32], site[64], outcome[512];
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%63s %15s %31s %31s %63s %511[^\n]", op, n, proc,
                   point, site, outcome) != 6)
            continue;
        rows++;
        char key[128], norm[160];
        snprintf(key, sizeof key, "%s %s", point, site);
        normalise(outcome, norm, sizeof norm);
        int i;
        for (i = 0; i < na && strcmp(a[i].key, key); i++)
            ;
        if (i == na) {
            if (na == 128)
                continue;
            memset(&a[na], 0, sizeof a[na]);
            snprintf(a[na].key, sizeof a[na].key, "%s", key);
            na++;
        }
        a[i].runs++;
        if (!strstr(a[i].ops, op) &&
            strlen(a[i].ops) + strlen(op) + 2 < sizeof a[i].ops) {
            if (a[i].ops[0])
                strcat(a[i].ops, ",");
            strcat(a[i].ops, op);
        }
        int j;
        for (j = 0; j < a[i].nout && strcmp(a[i].outcomes[j], norm); j++)
            ;
        if (j == a[i].nout && j < 8) {
            snprintf(a[i].outcomes[j], sizeof a[i].outcomes[j], "%s", norm);
            a[i].nout++;
        }
        if (j < 8)
            a[i].counts[j]++;
    }
    fclose(f);
    rel_cov_line("\n# Summary: %d injected runs, %d distinct failure "
                 "point/site pairs.\n# point       site                     "
                 "runs  operations / outcomes\n", rows, na);
    for (int i = 0; i < na; i++) {
        char point[32], site[64];
        sscanf(a[i].key, "%31s %63s", point, site);
        rel_cov_line("# %-11s %-24s %4d  %s\n", point, site, a[i].runs,
                     a[i].ops);
        for (int j = 0; j < a[i].nout; j++)
            rel_cov_line("#   %3d x %s\n", a[i].counts[j], a[i].outcomes[j]);
    }
}

/* ---- judging one run ------------------------------------------------------------ */

struct loop {
    const struct inj_op *op;
    char table[65536];
    size_t tlen;
    char problems[8192];
    size_t plen;
    int nproblems;
    int rows;
};

static void problem(struct loop *L, long n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct loop *L, long n, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    L->nproblems++;
    if (L->plen + strlen(buf) + 64 < sizeof L->problems)
        L->plen += (size_t)snprintf(L->problems + L->plen,
                                    sizeof L->problems - L->plen,
                                    "\n  %s N=%ld: %s", L->op->name, n, buf);
}

static void row(struct loop *L, long n, const char *proc, long point,
                const char *site, const char *outcome)
{
    char num[16], line[1024];
    snprintf(num, sizeof num, "%ld", n);
    int k = snprintf(line, sizeof line, ROW_FMT, L->op->name, num, proc,
                     rel_point_name(point), site ? site : "?", outcome);
    if (k > 0 && L->tlen + (size_t)k < sizeof L->table) {
        memcpy(L->table + L->tlen, line, (size_t)k + 1);
        L->tlen += (size_t)k;
    }
    rel_cov_line("%s", line);
    L->rows++;
}

/* The child's report lines about one process. */
struct said {
    int run;                    /* a RUN line was seen */
    char role[16], phase[16], site[64];
    int rc, err;
    long point;
    int done;
};

static void parse(const char *out, pid_t pid, struct said *s, struct loop *L,
                  long n)
{
    memset(s, 0, sizeof *s);
    s->point = -1;
    for (const char *l = out; l && *l;) {
        int p;
        char rest[1024];
        if (sscanf(l, "RUN %d", &p) == 1 && p == pid &&
            sscanf(l, "RUN %d %15s %15s %d %d %ld %63s", &p, s->role,
                   s->phase, &s->rc, &s->err, &s->point, s->site) == 7)
            s->run = 1;
        if (sscanf(l, "DONE %d", &p) == 1 && p == pid)
            s->done = 1;
        if (sscanf(l, "BAD %d %1023[^\n]", &p, rest) == 2 && p == pid)
            problem(L, n, "%s", rest);
        if (sscanf(l, "NOTE %d %1023[^\n]", &p, rest) == 2 && p == pid)
            fprintf(stdout, "# %s N=%ld: note: %s\n", L->op->name, n, rest);
        l = strchr(l, '\n');
        if (l)
            l++;
    }
}

static int errno_allowed(const struct inj_op *op, int e)
{
    for (int i = 0; i < 3 && op->errnos[i]; i++)
        if (op->errnos[i] == e)
            return 1;
    return 0;
}

/* Judge run n; returns whether any process of it had a failure injected
 * (or died without telling which). */
static int judge(struct loop *L, long n, const struct rel_result *res)
{
    const struct inj_op *op = L->op;
    int injected = 0;
    char diag[300], sbuf[64];

    if (res->timed_out)
        problem(L, n, "hang: killed after the deadline");
    for (int i = 0; i < res->nprocs; i++) {
        const struct rel_proc *p = &res->procs[i];
        struct said s;
        parse(res->out, p->pid, &s, L, n);
        const char *proc = op->arms_itself ? (i == 0 ? "parent" : "child")
                                           : "-";
        long point = s.run ? s.point : (p->have_inject ? p->point : -2);
        const char *site = s.run ? (strcmp(s.site, "-") ? s.site : NULL)
                                 : p->site;
        char outcome[400];
        int st = p->status;
        /* The forked child's stderr is fd 3 of the run (child_stderr). */
        const char *err = i == 0 ? res->err : res->err2;
        rel_first_diag(err, diag, sizeof diag);

        /* A failure in the library's atfork preparation happened before
         * the fork: both processes report it; the parent's row counts. */
        int dup = 0;
        if (s.run && !strcmp(s.phase, "prepare")) {
            dup = i != 0;
            proc = "prepare";
        } else if (op->arms_itself && !s.run && i == 0 && res->nprocs == 1) {
            proc = "prepare"; /* died before there was a child */
        }
        if (!p->ended) {
            problem(L, n, "process %d never ended", (int)p->pid);
            continue;
        }
        if (op->eintr && point == PGS_FP_FALLOCATE &&
            (WIFSIGNALED(st) || s.rc != 0))
            problem(L, n, "%s: an EINTR from fallocate was not retried",
                    proc);
        if (WIFSIGNALED(st)) {
            int sig = WTERMSIG(st);
            if (sig == SIGSEGV && diag[0]) {
                snprintf(outcome, sizeof outcome, "died: %s", diag);
                if (rel_diag_lines(err) != 1)
                    problem(L, n, "%s: %d \"pagedstack:\" lines for one "
                            "death: %.300s", proc, rel_diag_lines(err), err);
            } else {
                snprintf(outcome, sizeof outcome, "%s, no message",
                         rel_status_str(st, sbuf, sizeof sbuf));
                problem(L, n, "%s died (%s) %s", proc,
                        rel_status_str(st, sbuf, sizeof sbuf),
                        sig == SIGALRM ? "after hanging"
                                       : "without a \"pagedstack:\" line");
            }
            /* The table marks the runs that fail the test. */
            const char *wrong = NULL;
            if (s.run) {
                problem(L, n, "%s died after the operation had returned "
                        "(%s): %s", proc, s.rc ? "failed" : "succeeded",
                        outcome);
                wrong = s.rc ? " [WRONG: later, after the operation failed]"
                             : " [WRONG: later, after the operation "
                               "succeeded]";
            } else if (!op->may_die && sig == SIGSEGV && diag[0]) {
                problem(L, n, "%s died inside an operation that can return "
                        "an error: %s", proc, diag);
                wrong = " [WRONG: the operation could return an error]";
            } else if (!(sig == SIGSEGV && diag[0])) {
                wrong = " [WRONG]";
            }
            if (wrong && strlen(outcome) + strlen(wrong) < sizeof outcome)
                strcat(outcome, wrong);
            if (point == -2)
                point = -1, site = "?";
            if (dup)
                continue;
            if (!s.run || point >= 0)
                injected = 1; /* a death in the operation always counts */
            row(L, n, proc, point, site, outcome);
            continue;
        }
        if (WEXITSTATUS(st) != 0)
            problem(L, n, "%s exited with status %d", proc, WEXITSTATUS(st));
        if (rel_diag_lines(err))
            problem(L, n, "%s printed a \"pagedstack:\" line but lives: "
                    "%.300s", proc, err);
        if (!s.run) {
            problem(L, n, "%s never reported on the operation", proc);
            continue;
        }
        if (!s.done)
            problem(L, n, "%s did not finish its checks", proc);
        if (s.rc != 0) {
            snprintf(outcome, sizeof outcome, "returned -1, %s%s",
                     rel_errno_name(s.err),
                     errno_allowed(op, s.err) ? ""
                                              : " [WRONG: not documented]");
            if (!errno_allowed(op, s.err))
                problem(L, n, "returned -1 with errno %s, which the "
                        "operation does not document (failed: %s in %s)",
                        rel_errno_name(s.err), rel_point_name(point),
                        site ? site : "?");
            if (point < 0)
                problem(L, n, "failed with %s although nothing was "
                        "injected", rel_errno_name(s.err));
        } else {
            snprintf(outcome, sizeof outcome, "%s",
                     point >= 0 ? "ok: the failure was absorbed" : "ok");
        }
        if (point >= 0 && !dup) {
            injected = 1;
            row(L, n, proc, point, site, outcome);
        }
    }
    return injected;
}

static struct rel_result res;
static struct loop L;

START_TEST(test_inject)
{
    memset(&L, 0, sizeof L);
    L.op = &rel_inj_ops[_i];
    /* REL_INJECT_OP=name runs one operation's loop only (for debugging). */
    const char *only = getenv("REL_INJECT_OP");
    if (only && strcmp(only, L.op->name))
        return;
    /* A tracer does not see the stops of a process under valgrind: there,
     * runs are not traced, as where ptrace is not allowed. */
    unsigned flags = REL_ERR2 | (RUNNING_ON_VALGRIND ? 0 : REL_TRACE);
    long n;
    for (n = 1; n <= MAX_N; n++) {
        struct inj_job job = { _i, n };
        ck_assert_msg(rel_run(rel_inj_child, &job, flags, 30, &res) == 0,
                      "cannot start a child: %s", strerror(errno));
        if (!res.procs[0].traced && n == 1)
            printf("# %s: ptrace is not allowed: deaths are reported "
                   "without their failure point\n", L.op->name);
        if (!judge(&L, n, &res))
            break;
    }
    if (n > MAX_N)
        problem(&L, n, "still injecting after %d runs", MAX_N);
    printf("# fault injection: %s: %s\n# %d injected runs; the run with "
           "N=%ld injected nothing\n# " ROW_FMT "%s", L.op->name, L.op->what,
           L.rows, n, "operation", "N", "process", "point", "site",
           "outcome", L.table);
    fflush(stdout);
    ck_assert_msg(L.rows > 0, "%s: no run injected anything", L.op->name);
    if (L.nproblems)
        printf("# %s: %d problem(s):%s\n", L.op->name, L.nproblems,
               L.problems);
    /* Check's messages are limited in length: the whole list is above. */
    ck_assert_msg(L.nproblems == 0, "%s: %d problem(s):%.1500s", L.op->name,
                  L.nproblems, L.problems);
}
END_TEST

Suite *rel_inject_suite(void)
{
    Suite *s = suite_create("inject");
    TCase *tc = tcase_create("inject");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_inject, 0, rel_inj_nops);
    suite_add_tcase(s, tc);
    return s;
}
