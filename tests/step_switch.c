/* SPDX-License-Identifier: MIT */
/*
 * At every instruction: a signal may land anywhere, including between two
 * stores of a switch.  Rather than hope a timer hits such a spot, a child
 * is single-stepped (ptrace) through resumes and yields of every kind (plain
 * switches, remaps with copies, a nested resume, a task that finishes), and
 * after each instruction the tracer reads what pgs_self() and pgs_state()
 * would return there: if pgs_self() is a task, that task must be
 * PGS_RUNNING.
 *
 * A program of its own, for the automake harness: exit status 0 passes, 1
 * fails, and 77 reports a skip where nothing can be checked (under
 * valgrind, or where ptrace is not available: not allowed, or under
 * qemu-user).  It has no time limit of its
 * own: it ends when the stepped child has finished its switches, however
 * slow the machine or the build (a sanitizer's) is.
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include "internal.h"
#include "memcheck.h"

#define SKIP 77

static void *yielder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++)
        pgs_yield(NULL);
    return NULL;
}

static pgs_task *inner;

/* Where the stopped child is (its program counter). */
static unsigned long stopped_pc(pid_t pid)
{
    struct user_regs_struct regs;
#if defined(__x86_64__)
    if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0)
        return 0;
    return regs.rip;
#elif defined(__aarch64__)
    struct iovec io = { .iov_base = &regs, .iov_len = sizeof regs };
    if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &io) != 0)
        return 0;
    return regs.pc;
#endif
}

static void *nester(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        pgs_resume(inner, NULL, NULL);
        pgs_yield(NULL);
    }
    return NULL;
}

static void stepped_child(int fd)
{
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
        _exit(2);
    /* Two regions: a and inner share one (remaps), b has the other. */
    struct pgs_config cfg = { .regions = 2 };
    if (pgs_thread_init(&cfg) != 0)
        _exit(3);
    pgs_task *a = pgs_create(yielder, NULL);
    pgs_task *b = pgs_create(nester, NULL);
    inner = pgs_create(yielder, NULL);
    uintptr_t where[2] = { (uintptr_t)&pgs__tls, 0 };
    /* First runs (stack growth, first frames) before the stepping. */
    if (!a || !b || !inner || pgs_resume(a, NULL, NULL) != 0 ||
        pgs_resume(b, NULL, NULL) != 0 ||
        write(fd, where, sizeof where) != sizeof where)
        _exit(4);
    raise(SIGSTOP);                 /* the tracer steps from here */
    while (pgs_state(a) != PGS_DONE || pgs_state(b) != PGS_DONE) {
        if (pgs_state(a) != PGS_DONE)
            pgs_resume(a, NULL, NULL);
        if (pgs_state(b) != PGS_DONE)
            pgs_resume(b, NULL, NULL);
    }
    raise(SIGUSR2);                 /* and stops here */
    _exit(0);
}

static long peek(pid_t pid, uintptr_t a, int *ok)
{
    errno = 0;
    long v = ptrace(PTRACE_PEEKDATA, pid, (void *)a, NULL);
    if (errno)
        *ok = 0;
    return v;
}

int main(void)
{
    if (RUNNING_ON_VALGRIND) {
        /* Single-stepping a program under valgrind steps valgrind's
         * translation of it, not the program's instructions. */
        printf("SKIP: under valgrind, instructions cannot be stepped\n");
        return SKIP;
    }
    int p[2];
    if (pipe(p) != 0) {
        perror("pipe");
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(p[0]);
        stepped_child(p[1]);
    }
    close(p[1]);
    uintptr_t where[2];
    ssize_t n = read(p[0], where, sizeof where);
    close(p[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        perror("waitpid");
        return 1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
        /* Refused by the system, or by an emulator (qemu-user implements
         * no ptrace). */
        printf("SKIP: ptrace is not available here: instructions cannot "
               "be stepped\n");
        return SKIP;
    }
    if (n != (ssize_t)sizeof where || !WIFSTOPPED(st)) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        printf("FAIL: the stepped child could not start\n");
        return 1;
    }
    long steps = 0, bad = 0;
    /* Up to four distinct places where it happens, with the state seen. */
    unsigned long ips[4];
    int states[4], nips = 0;
    int ok = 1;
    while (steps < 3000000) {
        if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0 ||
            waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
            break;
        if (WSTOPSIG(st) == SIGUSR2)
            break;
        steps++;
        uintptr_t th = (uintptr_t)peek(pid, where[0], &ok);
        if (!th)
            continue;
        uintptr_t cur = (uintptr_t)peek(
            pid, th + offsetof(struct pgs_thread, current), &ok);
        if (!cur)
            continue;
        int state = (int)peek(pid, cur + offsetof(struct pgs_task, state),
                              &ok);
        if (state != PGS_RUNNING) {
            unsigned long pc = stopped_pc(pid);
            bad++;
            int seen = 0;
            for (int i = 0; i < nips; i++)
                seen |= ips[i] == pc;
            if (!seen && nips < 4) {
                ips[nips] = pc;
                states[nips++] = state;
            }
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    /* Name the places by the nearest function below them (the child is a
     * fork of this process: same addresses). */
    static const struct { const char *name; void *fn; } fns[] = {
        { "pgs_yield", (void *)pgs_yield },
        { "pgs_resume", (void *)pgs_resume },
        { "pgs__task_main", (void *)pgs__task_main },
        { "pgs__prepare", (void *)pgs__prepare },
    };
    char where_s[512] = "";
    size_t wl = 0;
    for (int k = 0; k < nips; k++) {
        const char *in = "?";
        unsigned long best = (unsigned long)-1;
        for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
            unsigned long f = (unsigned long)fns[i].fn;
            if (ips[k] >= f && ips[k] - f < best) {
                best = ips[k] - f;
                in = fns[i].name;
            }
        }
        wl += (size_t)snprintf(where_s + wl, sizeof where_s - wl,
                               " %s+%#lx (state %d);", in, best, states[k]);
    }
    printf("# single-stepped %ld instructions of switches: %ld where "
           "pgs_self() is not PGS_RUNNING:%s\n", steps, bad, where_s);
    if (!ok || steps <= 1000) {
        printf("FAIL: stepping failed after %ld steps\n", steps);
        return 1;
    }
    if (bad) {
        printf("FAIL: at %ld of %ld instructions, a signal handler would "
               "see pgs_self() return a task whose pgs_state is not "
               "PGS_RUNNING, at:%s\n", bad, steps, where_s);
        return 1;
    }
    return 0;
}
