/* SPDX-License-Identifier: MIT */
/*
 * Run one cell in a child process and read back its row.  The parent must
 * survive whatever the child does: crash, hang, print nothing, or be
 * killed by the OOM killer.  So the child's output comes through pipes, a
 * deadline is kept with poll and SIGKILL, and its fate read from waitpid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

/* Append what fd has to buf (keeping the first len-1 bytes); 0 at EOF. */
static int drain(int fd, char *buf, size_t len, size_t *have)
{
    char tmp[4096];
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r <= 0)
        return r < 0 && (errno == EINTR || errno == EAGAIN);
    size_t take = len - 1 - *have < (size_t)r ? len - 1 - *have : (size_t)r;
    memcpy(buf + *have, tmp, take);
    *have += take;
    buf[*have] = '\0';
    return 1;
}

/* Wait until the memory charge stops moving (at most a second). */
static void settle(void)
{
    long long prev = -1;
    for (int i = 0, stable = 0; i < 50 && stable < 3; i++) {
        struct mem_snap s;
        usleep(20000);
        mem_snap_take(&s);
        long long v = s.cgroup >= 0 ? s.cgroup : s.used;
        stable = prev >= 0 && llabs(v - prev) < 64 * 1024 ? stable + 1 : 0;
        prev = v;
    }
}

void cell_spawn(char *const argv[], double timeout_s, int wait_settle,
                struct row *r)
{
    static char out[16384], err[4096];
    size_t nout = 0, nerr = 0;
    int po[2], pe[2], st = 0, open_o = 1, open_e = 1, late = 0;
    out[0] = err[0] = '\0';
    row_clear(r);
    row_set(r, "status", "error");
    if (wait_settle)
        settle();
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        row_note(r, "pipe: %s", strerror(errno));
        return;
    }
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
            int n = 0;
            while (argv[n])
                n++;
            char *wrapped[n + 2];
            wrapped[0] = (char *)emu;
            memcpy(wrapped + 1, argv, (size_t)(n + 1) * sizeof argv[0]);
            execvp(emu, wrapped);
        } else
            execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    while (pid > 0 && (open_o || open_e)) {
        double left = start + timeout_s - mem_now();
        struct pollfd fds[2] = { { open_o ? po[0] : -1, POLLIN, 0 },
                                 { open_e ? pe[0] : -1, POLLIN, 0 } };
        if (left <= 0) {
            late = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(fds, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            break;
        if (open_o && fds[0].revents)
            open_o = drain(po[0], out, sizeof out, &nout);
        if (open_e && fds[1].revents)
            open_e = drain(pe[0], err, sizeof err, &nerr);
    }
    close(po[0]);
    close(pe[0]);
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    /* The first lines of stderr, on one line, say why a cell failed. */
    for (char *p = err; *p; p++)
        *p = *p == '\n' ? '|' : *p;
    err[300 < nerr ? 300 : nerr] = '\0';
    const char *row = strstr(out, "ROW ");
    if (pid < 0)
        row_note(r, "fork: %s", strerror(errno));
    else if (late) {
        row_set(r, "status", "timeout");
        row_note(r, "timeout: killed after %.0f s%s; %s", timeout_s,
                 row ? ", after all tasks were created" : "", err);
    } else if (WIFSIGNALED(st)) {
        row_set(r, "status", "crash");
        row_note(r, "CRASHED: killed by signal %d (%s) %s", WTERMSIG(st),
                 strsignal(WTERMSIG(st)), err);
    } else if (row) {
        row_parse(row, r);
    } else {
        row_note(r, "exit status %d, no result %s",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1, err);
    }
    row_num(r, "wall_s", mem_now() - start);
}
