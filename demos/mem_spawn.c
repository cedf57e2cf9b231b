/* SPDX-License-Identifier: MIT */
/*
 * Run one cell's child process and read back its RESULT line.  The parent
 * must survive whatever the child does: crash, hang, print nothing, or be
 * killed by the OOM killer.  So the child runs with its output on pipes, a
 * deadline enforced with poll and SIGKILL, and its fate read from waitpid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mem_driver.h"
#include "mem_measure.h"

/* Parse the "key=value ..." pairs of a RESULT line into r. */
static void parse_result(const char *line, struct mem_result *r)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", line);
    char *p = buf;
    while (p && *p) {
        while (*p == ' ')
            p++;
        char *eq = strchr(p, '=');
        if (!eq)
            break;
        *eq = '\0';
        const char *key = p, *val = eq + 1;
        if (!strcmp(key, "note")) { /* the rest of the line */
            char *nl = strchr(val, '\n');
            if (nl)
                *nl = '\0';
            snprintf(r->note, sizeof r->note, "%s", val);
            break;
        }
        p = strchr(val, ' ');
        if (p)
            *p++ = '\0';
#define LL(name) if (!strcmp(key, #name)) r->name = strtoll(val, NULL, 10); else
#define DBL(name) if (!strcmp(key, #name)) r->name = strtod(val, NULL); else
        if (!strcmp(key, "status"))
            snprintf(r->status, sizeof r->status, "%s", val);
        else if (!strcmp(key, "made"))
            r->made = strtol(val, NULL, 10);
        else if (!strcmp(key, "corrupt"))
            r->corrupt = strtol(val, NULL, 10);
        else if (!strcmp(key, "pgs_stack"))
            r->pgs_stack = strtoll(val, NULL, 10);
        else if (!strcmp(key, "pgs_pool"))
            r->pgs_pool = strtoll(val, NULL, 10);
        else if (!strcmp(key, "pgs_faults"))
            r->pgs_faults = strtoll(val, NULL, 10);
        else if (!strcmp(key, "pgs_remaps"))
            r->pgs_remaps = strtoll(val, NULL, 10);
        else
            LL(d_used) LL(d_used_create) LL(d_used_end) LL(d_shmem) LL(d_cg)
            LL(d_rss) LL(d_pte) LL(d_ptables) LL(d_kstack)
            DBL(create_s) DBL(round_s) DBL(finish_s) {}
#undef LL
#undef DBL
    }
}

/* Append what is readable on fd to buf (keeping the first len-1 bytes).
 * Returns 0 at end of file. */
static int drain(int fd, char *buf, size_t len, size_t *have)
{
    char tmp[4096];
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (r == 0)
        return 0;
    size_t room = len - 1 - *have;
    size_t take = (size_t)r < room ? (size_t)r : room;
    memcpy(buf + *have, tmp, take);
    *have += take;
    buf[*have] = '\0';
    return 1;
}

/* The first few lines of s, joined with " | ", into out. */
static void first_lines(const char *s, char *out, size_t len, int lines)
{
    size_t o = 0;
    out[0] = '\0';
    for (int l = 0; l < lines && *s; l++) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        int w = snprintf(out + o, len - o, "%s%.*s", l ? " | " : "", (int)n, s);
        if (w < 0 || (size_t)w >= len - o)
            break;
        o += (size_t)w;
        s += n + (nl != NULL);
    }
}

/* Wait until the memory of the last child is all given back:
 * the kernel frees page tables (and so uncharges them) after an RCU grace
 * period, tens of milliseconds after waitpid returns, which would otherwise
 * come off the next cell's figures (4 MiB for 1,000 separate stacks). */
static void settle(void)
{
    long long prev = -1;
    int stable = 0;
    for (int i = 0; i < 50 && stable < 3; i++) {
        usleep(20000);
        struct mem_snap s;
        mem_snap_take(&s);
        long long v = s.cgroup >= 0 ? s.cgroup : s.used;
        stable = prev >= 0 && llabs(v - prev) < 64 * 1024 ? stable + 1 : 0;
        prev = v;
    }
}

void mem_spawn(char *const argv[], double timeout_s, struct mem_result *r)
{
    static char out[8192], err[8192];
    size_t nout = 0, nerr = 0;
    int po[2], pe[2];
    out[0] = err[0] = '\0';
    r->ran = 1;
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        snprintf(r->status, sizeof r->status, "error");
        snprintf(r->note, sizeof r->note, "pipe: %s", strerror(errno));
        return;
    }
    settle(); /* after the previous cell, or whatever ran before */
    fflush(NULL);
    double start = mem_now();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        /* Under user-mode emulation (make check-aarch64 names the
         * emulator in PGS_EMULATOR) the cell, a program of the emulated
         * architecture, runs under the emulator too: without binfmt_misc
         * the kernel cannot start it. */
        const char *emu = getenv("PGS_EMULATOR");
        if (emu && *emu) {
            char *wrapped[64] = { (char *)emu };
            for (int i = 0; argv[i] && i < 62; i++)
                wrapped[i + 1] = argv[i];
            execvp(emu, wrapped);
        } else
            execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        snprintf(r->status, sizeof r->status, "error");
        snprintf(r->note, sizeof r->note, "fork: %s", strerror(errno));
        close(po[0]);
        close(pe[0]);
        return;
    }
    int open_o = 1, open_e = 1, timed_out = 0;
    while (open_o || open_e) {
        double left = start + timeout_s - mem_now();
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd fds[2] = { { open_o ? po[0] : -1, POLLIN, 0 },
                                 { open_e ? pe[0] : -1, POLLIN, 0 } };
        int k = poll(fds, 2, (int)(left * 1000) + 1);
        if (k < 0 && errno != EINTR)
            break;
        if (open_o && fds[0].revents)
            open_o = drain(po[0], out, sizeof out, &nout);
        if (open_e && fds[1].revents)
            open_e = drain(pe[0], err, sizeof err, &nerr);
    }
    close(po[0]);
    close(pe[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    r->wall_s = mem_now() - start;

    const char *line = strstr(out, "RESULT ");
    char errlines[300];
    first_lines(err, errlines, sizeof errlines, 3);
    if (timed_out) {
        /* How far it got: the last progress line, if any. */
        const char *p = out, *last = NULL;
        while ((p = strstr(p, "PROGRESS made=")))
            last = p++;
        char got[80] = "";
        if (line)
            snprintf(got, sizeof got, ", after all tasks were created");
        else if (last)
            snprintf(got, sizeof got, ", %ld tasks created by then",
                     strtol(last + 14, NULL, 10));
        snprintf(r->status, sizeof r->status, "timeout");
        snprintf(r->note, sizeof r->note,
                 "timeout: killed after %.0f s%s%s%s", timeout_s, got,
                 errlines[0] ? "; stderr: " : "", errlines);
    } else if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        snprintf(r->status, sizeof r->status, "crash");
        snprintf(r->note, sizeof r->note, "crash: killed by signal %d (%s)%s%s",
                 sig, strsignal(sig), errlines[0] ? "; stderr: " : "",
                 errlines);
    } else if (line) {
        parse_result(line + 7, r);
    } else {
        snprintf(r->status, sizeof r->status, "error");
        snprintf(r->note, sizeof r->note, "exit status %d, no result%s%s",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                 errlines[0] ? "; stderr: " : "", errlines);
    }
}
