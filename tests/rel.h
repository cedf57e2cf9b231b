/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the reliability suite (tests/check_reliability).
 *
 * The suite checks what happens when things go wrong around the library:
 * failing system calls (fault injection), signals of every kind, other
 * SIGSEGV handlers, fork, exec, threads that exit, dlclose, and stack bytes
 * that must never travel from one task to another.  Most tests run the
 * interesting part in a child process of their own (rel_run), because the
 * outcome being checked is often the death of a process: its status and
 * what it printed on stderr are the evidence.
 */
#ifndef REL_H
#define REL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pagedstack.h"

#define REL_NOINLINE __attribute__((noinline))
#define REL_KIB ((size_t)1024)
#define REL_MIB ((size_t)1024 * 1024)

/* ---- rel_proc.c: running a function in a child process ----------------- */

/* How a child is run. */
enum {
    REL_TRACE = 1,      /* ptrace it (and its forks) to read the injector's
                           state at each process's exit, even after a death */
    REL_ERR2 = 2,       /* give the child a second stderr on fd 3 (for
                           the processes it forks to use: rel_result.err2) */
};

/* One process of a run: the child, or a process it forked (traced runs). */
struct rel_proc {
    pid_t pid;
    int status;         /* wait status once it has ended */
    int ended;
    int traced;
    long point;         /* injector state read at its exit (traced runs): */
    const char *site;   /* point -1 / site NULL when nothing was injected */
    int have_inject;    /* whether point/site were read */
};

#define REL_MAX_PROCS 8

struct rel_result {
    int nprocs;
    struct rel_proc procs[REL_MAX_PROCS]; /* procs[0] is the child */
    char out[32768];    /* the child's stdout (and its forks') */
    size_t outlen;
    char err[32768];    /* the child's stderr (and its forks') */
    size_t errlen;
    char err2[32768];   /* fd 3 of the child (REL_ERR2) */
    size_t err2len;
    int timed_out;      /* killed after the deadline */
};

/* Run fn(arg) in a child process with stdout and stderr captured, core
 * dumps off, and alarm(timeout_s) to turn a hang into a SIGALRM death.
 * The child ends with _exit(0) when fn returns.  Returns 0, or -1 if the
 * child could not be started. */
int rel_run(void (*fn)(void *), void *arg, unsigned flags, int timeout_s,
            struct rel_result *res);

/* The child's own end: status of procs[0]. */
int rel_status(const struct rel_result *res);
/* Whether procs[0] died by signal sig. */
int rel_died_by(const struct rel_result *res, int sig);
/* Lines of stderr that are library diagnostics ("pagedstack: ...") but not
 * backtrace lines ("pagedstack:   #N ..."). */
int rel_diag_lines(const char *err);
/* The first such line, without its newline, in buf. */
void rel_first_diag(const char *err, char *buf, size_t len);
/* A short printable description of a wait status. */
const char *rel_status_str(int status, char *buf, size_t len);

/* /proc/self/fd and /proc/self/maps, for leak checks. */
struct rel_snap {
    int nfds;
    int nmaps;
    char maps[16384];   /* "start-end perms name" lines, for diffs */
    char fds[4096];     /* "fd -> target" lines */
};
void rel_snap_take(struct rel_snap *s);
/* Compare: 0 if equal; else writes a short description of the difference. */
int rel_snap_diff(const struct rel_snap *before, const struct rel_snap *after,
                  char *why, size_t len);

/* The memfd descriptor of the calling process's page pool, or -1. */
int rel_find_pool_fd(void);

/* ---- rel_pattern.c: tasks whose stacks can be checked --------------------
 *
 * A pattern task recurses until it has depth bytes of stack, each frame
 * holding a buffer filled with words derived from (seed, id, level).  At
 * the bottom it yields and then obeys commands handed to it by pgs_resume
 * (the in value): check every frame, refill every frame with another seed,
 * scribble a pattern further down and back, run a hook, or finish (unwind,
 * checking every frame on the way up).  It counts every word it finds
 * wrong in bad.  The frame pointers it records are its own, used only by
 * itself while it runs (the library's one rule).
 */
#define REL_FRAME 4000
#define REL_MAX_FRAMES 2048

enum rel_cmd {
    REL_CMD_CHECK = 1,     /* check every frame against seed */
    REL_CMD_REFILL,        /* seed = next_seed, rewrite every frame */
    REL_CMD_SCRIBBLE,      /* write scribble bytes below the bottom and back */
    REL_CMD_HOOK,          /* call hook(p) at the bottom */
    REL_CMD_FINISH,        /* unwind (checking) and return */
};

struct rel_pat {
    unsigned id;
    size_t depth;          /* bytes of stack to fill */
    int lazy;              /* yield once before recursing (first resume cheap) */
    uint64_t seed;         /* what the frames hold */
    uint64_t next_seed;    /* for REL_CMD_REFILL and REL_CMD_SCRIBBLE */
    size_t scribble;       /* bytes for REL_CMD_SCRIBBLE */
    void (*hook)(struct rel_pat *p);
    void *hook_arg;
    long hook_result;
    unsigned nframes;
    volatile uint64_t *frame[REL_MAX_FRAMES];
    long bad;              /* words found wrong so far */
    int at_bottom;
    int finished;
};

/* Set up p (id, depth, seed); the task function is rel_pat_main. */
void rel_pat_init(struct rel_pat *p, unsigned id, size_t depth, uint64_t seed);
void *rel_pat_main(void *arg);
/* Create the task (NULL with errno on failure). */
pgs_task *rel_pat_create(struct rel_pat *p);
/* Resume with a command; returns pgs_resume's result. */
int rel_pat_cmd(pgs_task *t, struct rel_pat *p, enum rel_cmd cmd);
/* Fill / check a buffer of n words as frame `level` of p with seed. */
void rel_fill(volatile uint64_t *w, size_t n, uint64_t seed, unsigned id,
              unsigned level);
long rel_check(const volatile uint64_t *w, size_t n, uint64_t seed,
               unsigned id, unsigned level);
/* Recurse `bytes` deep on the calling stack writing and checking a pattern;
 * returns the words found wrong. */
long rel_scribble(size_t bytes, uint64_t seed);
/* Recurse `depth` bytes deep on the calling stack in 8 KiB frames, touching
 * each: stack growth, and nothing else. */
long rel_grow(size_t depth);

/* ---- rel_inject.c: the fault-injection loops ----------------------------- */

/* Append one line to the coverage file (tests/injection-coverage.txt). */
void rel_cov_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start the file (main, before the suites run) and summarise it (after). */
void rel_cov_begin(void);
void rel_cov_summary(void);
/* Names for the report. */
const char *rel_point_name(long point);
const char *rel_errno_name(int e);

/* ---- the suites ---------------------------------------------------------- */
Suite *rel_inject_suite(void);
Suite *rel_signals_suite(void);
Suite *rel_sent_suite(void);
Suite *rel_handlers_suite(void);
Suite *rel_fork_suite(void);
Suite *rel_exec_suite(void);
Suite *rel_thread_suite(void);
Suite *rel_dlopen_suite(void);
Suite *rel_security_suite(void);
Suite *rel_async_suite(void);
Suite *rel_lost_suite(void);
Suite *rel_chain_suite(void);

/* Helper modes of the test program, run as `check_reliability --helper
 * NAME` (for tests that need a fresh exec or a shell's view). */
int rel_helper(const char *name);

#endif
