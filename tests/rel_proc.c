/* SPDX-License-Identifier: MIT */
/*
 * Running a piece of a test in a child process, and looking at what it
 * left behind: its wait status, its stdout and stderr, and (for the
 * fault-injection loops) which failure point the injector hit in each
 * process, even in a process that died.
 *
 * That last part needs care.  The injector keeps its state (the point and
 * call site that failed) in static variables of lib/sys.c, and a process
 * that dies by SIGSEGV takes them along.  So a traced run is ptraced with
 * PTRACE_O_TRACEEXIT: every process of the run (the child and whatever it
 * forks) stops on its way out, still with its memory, and we read the two
 * variables there.  Their addresses are found once, in this process, by
 * making the injector record sentinel values and searching our own data
 * segment for them; the children are forks of this process, so the
 * addresses are the same there.  If ptrace is not allowed, deaths are
 * reported without their failure point.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sys.h"
#include "emulation.h"
#include "rel.h"
#include "memcheck.h"

/* ---- where the injector keeps its state --------------------------------- */

extern char __data_start[], _end[];

static int located;          /* 0: not tried, 1: found, -1: not found */
static uintptr_t site_addr;  /* &failed_site in lib/sys.c */
static uintptr_t point_addr; /* &failed_point */

static const char sentinel_a[] = "rel-sentinel-a";
static const char sentinel_b[] = "rel-sentinel-b";

/* Addresses in our data segment holding `v` (8-byte words, or 4-byte ints
 * if !wide) that are in cand[] (or anywhere, if *n == 0 and first).  The
 * scan reads every word of the segment, AddressSanitizer's redzones
 * between globals included, so it is not instrumented. */
__attribute__((no_sanitize_address))
static void filter(uintptr_t *cand, size_t *n, size_t cap, int first,
                   int wide, int64_t v)
{
    if (first) {
        *n = 0;
        size_t step = wide ? 8 : 4;
        uintptr_t lo = ((uintptr_t)__data_start + step - 1) & ~(step - 1);
        /* The scan reads every word, padding and all: not an error. */
        VALGRIND_DISABLE_ERROR_REPORTING;
        for (uintptr_t a = lo; a + step <= (uintptr_t)_end; a += step) {
            int64_t x = wide ? *(int64_t *)a : *(int32_t *)a;
            if (x == v && *n < cap)
                cand[(*n)++] = a;
        }
        VALGRIND_ENABLE_ERROR_REPORTING;
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        int64_t x = wide ? *(int64_t *)cand[i] : *(int32_t *)cand[i];
        if (x == v)
            cand[k++] = cand[i];
    }
    *n = k;
}

static void locate_injector(void)
{
    static uintptr_t sc[64], pc[4096];
    size_t ns = 0, np = 0;
    if (located)
        return;
    located = -1;
    /* Three recorded failures with different points and sites, then the
     * disarmed state: only the injector's own variables follow all four. */
    pgs__inject_arm(1);
    pgs__inject(PGS_FP_MADVISE, sentinel_a);
    filter(sc, &ns, 64, 1, 1, (int64_t)(uintptr_t)sentinel_a);
    filter(pc, &np, 4096, 1, 0, PGS_FP_MADVISE);
    pgs__inject_arm(1);
    pgs__inject(PGS_FP_SIGALTSTACK, sentinel_b);
    filter(sc, &ns, 64, 0, 1, (int64_t)(uintptr_t)sentinel_b);
    filter(pc, &np, 4096, 0, 0, PGS_FP_SIGALTSTACK);
    pgs__inject_arm(1);
    pgs__inject(PGS_FP_MEMFD, sentinel_a);
    filter(sc, &ns, 64, 0, 1, (int64_t)(uintptr_t)sentinel_a);
    filter(pc, &np, 4096, 0, 0, PGS_FP_MEMFD);
    pgs__inject_arm(0);
    filter(sc, &ns, 64, 0, 1, 0);
    filter(pc, &np, 4096, 0, 0, -1);
    if (ns == 1 && np == 1) {
        site_addr = sc[0];
        point_addr = pc[0];
        located = 1;
    }
}

/* Read the injector's state in a traced process stopped at its exit. */
static void read_injector(struct rel_proc *p)
{
    if (located != 1)
        return;
    errno = 0;
    long site = ptrace(PTRACE_PEEKDATA, p->pid, (void *)site_addr, NULL);
    if (errno)
        return;
    long word = ptrace(PTRACE_PEEKDATA, p->pid, (void *)point_addr, NULL);
    if (errno)
        return;
    p->point = (int32_t)(uint32_t)(unsigned long)word;
    /* The site is a string literal in the test binary, the same address in
     * every process of the run. */
    p->site = (const char *)site;
    p->have_inject = 1;
}

/* ---- running the child --------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct rel_proc *proc_of(struct rel_result *r, pid_t pid, int add)
{
    for (int i = 0; i < r->nprocs; i++)
        if (r->procs[i].pid == pid)
            return &r->procs[i];
    if (!add || r->nprocs == REL_MAX_PROCS)
        return NULL;
    struct rel_proc *p = &r->procs[r->nprocs++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->point = -1;
    p->traced = 1;
    return p;
}

static int all_ended(const struct rel_result *r)
{
    for (int i = 0; i < r->nprocs; i++)
        if (!r->procs[i].ended)
            return 0;
    return 1;
}

/* Read what is available from fd into buf; close and -1 it at EOF. */
static void drain(int *fd, char *buf, size_t cap, size_t *len)
{
    char tmp[4096];
    ssize_t n = read(*fd, tmp, sizeof tmp);
    if (n > 0) {
        size_t k = (size_t)n;
        if (k > cap - 1 - *len)
            k = cap - 1 - *len;
        memcpy(buf + *len, tmp, k);
        *len += k;
        buf[*len] = '\0';
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

static void handle_stop(struct rel_result *r, pid_t w, int st)
{
    int sig = WSTOPSIG(st);
    int event = st >> 16;
    struct rel_proc *p = proc_of(r, w, 1);
    if (event == PTRACE_EVENT_EXIT) {
        if (p)
            read_injector(p);
        ptrace(PTRACE_CONT, w, NULL, NULL);
    } else if (event == PTRACE_EVENT_FORK) {
        unsigned long child = 0;
        ptrace(PTRACE_GETEVENTMSG, w, NULL, &child);
        proc_of(r, (pid_t)child, 1);
        ptrace(PTRACE_CONT, w, NULL, NULL);
    } else if (sig == SIGSTOP || sig == SIGTRAP) {
        /* A new process's attach stop, or our own stop: not the child's
         * business. */
        ptrace(PTRACE_CONT, w, NULL, NULL);
    } else {
        ptrace(PTRACE_CONT, w, NULL, (void *)(long)sig);
    }
}

int rel_run(void (*fn)(void *), void *arg, unsigned flags, int timeout_s,
            struct rel_result *res)
{
    /* Check's own convention for slow runs (valgrind, sanitizers). */
    const char *mult = getenv("CK_TIMEOUT_MULTIPLIER");
    if (mult && atoi(mult) > 1)
        timeout_s *= atoi(mult);

    int po[2], pe[2], ps[2], p3[2] = { -1, -1 };
    memset(res, 0, sizeof *res);
    if (flags & REL_TRACE)
        locate_injector();
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
        pipe2(ps, O_CLOEXEC) != 0 ||
        ((flags & REL_ERR2) && pipe2(p3, O_CLOEXEC) != 0))
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        if (flags & REL_ERR2) {
            dup2(p3[1], 3);
            close(p3[0]);
            if (p3[1] != 3)
                close(p3[1]);
        }
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        close(ps[0]);
        setvbuf(stdout, NULL, _IONBF, 0);
        setvbuf(stderr, NULL, _IONBF, 0);
        struct rlimit nocore = { 0, 0 };
        setrlimit(RLIMIT_CORE, &nocore);
        char traced = 'N';
        if ((flags & REL_TRACE) && ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
            traced = 'T';
        if (write(ps[1], &traced, 1) != 1)
            _exit(120);
        close(ps[1]);
        if (traced == 'T')
            raise(SIGSTOP); /* wait for the tracer to set its options */
        alarm((unsigned)timeout_s);
        fn(arg);
        _exit(0);
    }
    close(po[1]);
    close(pe[1]);
    close(ps[1]);
    if (flags & REL_ERR2)
        close(p3[1]);
    char traced = 'N';
    if (read(ps[0], &traced, 1) != 1)
        traced = 'N';
    close(ps[0]);

    res->nprocs = 1;
    res->procs[0].pid = pid;
    res->procs[0].point = -1;
    res->procs[0].traced = traced == 'T';
    if (traced == 'T') {
        int st;
        if (waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st)) {
            ptrace(PTRACE_SETOPTIONS, pid, NULL,
                   (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEFORK |
                                  PTRACE_O_EXITKILL));
            ptrace(PTRACE_CONT, pid, NULL, NULL);
        }
    }

    double deadline = now() + timeout_s + 5;
    int fo = po[0], fe = pe[0], f3 = p3[0];
    while (!all_ended(res)) {
        struct pollfd pf[3] = { { fo, POLLIN, 0 }, { fe, POLLIN, 0 },
                                { f3, POLLIN, 0 } };
        if (poll(pf, 3, 10) > 0) {
            if (fo >= 0 && (pf[0].revents & (POLLIN | POLLHUP)))
                drain(&fo, res->out, sizeof res->out, &res->outlen);
            if (fe >= 0 && (pf[1].revents & (POLLIN | POLLHUP)))
                drain(&fe, res->err, sizeof res->err, &res->errlen);
            if (f3 >= 0 && (pf[2].revents & (POLLIN | POLLHUP)))
                drain(&f3, res->err2, sizeof res->err2, &res->err2len);
        }
        for (;;) {
            int st;
            pid_t w = waitpid(traced == 'T' ? -1 : pid, &st,
                              WNOHANG | __WALL);
            if (w <= 0)
                break;
            if (WIFSTOPPED(st)) {
                handle_stop(res, w, st);
                continue;
            }
            struct rel_proc *p = proc_of(res, w, 0);
            if (p) {
                p->status = st;
                p->ended = 1;
            }
        }
        if (now() > deadline) {
            res->timed_out = 1;
            for (int i = 0; i < res->nprocs; i++)
                if (!res->procs[i].ended)
                    kill(res->procs[i].pid, SIGKILL);
            deadline = now() + 5;
        }
    }
    /* Whatever the processes wrote is in the pipes now, unless something
     * they started still holds them open: read for a short while only. */
    double stop = now() + 2;
    while ((fo >= 0 || fe >= 0 || f3 >= 0) && now() < stop) {
        struct pollfd pf[3] = { { fo, POLLIN, 0 }, { fe, POLLIN, 0 },
                                { f3, POLLIN, 0 } };
        if (poll(pf, 3, 50) <= 0)
            continue;
        if (fo >= 0 && pf[0].revents)
            drain(&fo, res->out, sizeof res->out, &res->outlen);
        if (fe >= 0 && pf[1].revents)
            drain(&fe, res->err, sizeof res->err, &res->errlen);
        if (f3 >= 0 && pf[2].revents)
            drain(&f3, res->err2, sizeof res->err2, &res->err2len);
    }
    emu_strip(res->err, &res->errlen);
    emu_strip(res->err2, &res->err2len);
    if (fo >= 0)
        close(fo);
    if (fe >= 0)
        close(fe);
    if (f3 >= 0)
        close(f3);
    return 0;
}

int rel_status(const struct rel_result *res)
{
    return res->procs[0].status;
}

int rel_died_by(const struct rel_result *res, int sig)
{
    int st = res->procs[0].status;
    return res->procs[0].ended && WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

/* A diagnostic line of the library; the indented lines that follow one (a
 * backtrace's frames, and the line that says it was cut) belong to it. */
static int is_diag(const char *line)
{
    return strncmp(line, "pagedstack:", 11) == 0 &&
           strncmp(line, "pagedstack:   ", 14) != 0;
}

int rel_diag_lines(const char *err)
{
    int n = 0;
    for (const char *l = err; l && *l;) {
        if (is_diag(l))
            n++;
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return n;
}

void rel_first_diag(const char *err, char *buf, size_t len)
{
    buf[0] = '\0';
    for (const char *l = err; l && *l;) {
        if (is_diag(l)) {
            size_t n = strcspn(l, "\n");
            if (n >= len)
                n = len - 1;
            memcpy(buf, l, n);
            buf[n] = '\0';
            return;
        }
        l = strchr(l, '\n');
        if (l)
            l++;
    }
}

const char *rel_status_str(int st, char *buf, size_t len)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by %s%s", strsignal(WTERMSIG(st)),
                 WCOREDUMP(st) ? " (core)" : "");
    else
        snprintf(buf, len, "status 0x%x", st);
    return buf;
}

/* ---- /proc snapshots ------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/*
 * Under AddressSanitizer malloc's memory is the sanitizer's allocator space
 * (0x600000000000 to 0x640000000000 on x86-64 Linux), every mapping has
 * shadow memory, and the sanitizer keeps bookkeeping of its own in
 * private read-write mappings that it makes when it needs them (some on a
 * thread's first fiber switch) and keeps.  Like the heap, not ours to
 * count.  What the library maps still counts: its stack pages are mappings
 * of its memfd, and its region reservation and its signal and switch
 * stacks each have inaccessible lines (PROT_NONE, guard pages).
 */
static int sanitizer_owned(const char *range, const char *perms,
                           const char *path)
{
    unsigned long lo, hi;
    size_t scale, offset;
    if (sscanf(range, "%lx-%lx", &lo, &hi) != 2)
        return 0;
    __asan_get_shadow_mapping(&scale, &offset);
    size_t shadow_end = offset + (0x800000000000ul >> scale);
    return (lo >= 0x600000000000ul && hi <= 0x640000000000ul) ||
           (lo >= offset && hi <= shadow_end) ||
           (path[0] == '\0' && strcmp(perms, "rw-p") == 0);
}
#elif defined(__SANITIZE_THREAD__)
/*
 * ThreadSanitizer's shadow and metadata are private read-write mappings
 * without a name, made when it needs them.  Between 0x600000000000 and
 * 0x7c0000000000 it keeps every thread's or fiber's (every task's) trace
 * memory, and its heap; it reserves that range and maps it piece by piece,
 * so the lines there come and go.  The library's mappings lie elsewhere
 * and still count, as under ASan above.
 */
static int sanitizer_owned(const char *range, const char *perms,
                           const char *path)
{
    unsigned long lo, hi;
    if (sscanf(range, "%lx-%lx", &lo, &hi) != 2)
        return 0;
    return (lo >= 0x600000000000ul && hi <= 0x7c0000000000ul) ||
           (path[0] == '\0' && strcmp(perms, "rw-p") == 0);
}
#else
static int sanitizer_owned(const char *range, const char *perms,
                           const char *path)
{
    (void)range, (void)perms, (void)path;
    return 0;
}
#endif

void rel_snap_take(struct rel_snap *s)
{
    memset(s, 0, sizeof *s);
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[65536];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof buf - 1 &&
               (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
            len += (size_t)n;
        buf[len] = '\0';
        close(fd);
        size_t out = 0;
        for (char *l = buf; *l;) {
            char *nl = strchr(l, '\n');
            if (nl)
                *nl = '\0';
            char range[64], perms[8], path[256] = "";
            /* malloc's heap comes and goes with brk as it likes: not ours
             * to count.  Under valgrind, neither are the anonymous
             * mappings: valgrind maps and unmaps its own (translations,
             * shadow memory, stacks) at any time, so only the pool's
             * memfd is compared there. */
            if (sscanf(l, "%63s %7s %*s %*s %*s %255[^\n]", range, perms,
                       path) >= 2 && strcmp(path, "[heap]") != 0 &&
                !sanitizer_owned(range, perms, path) &&
                (!RUNNING_ON_VALGRIND || strstr(path, "memfd:pagedstack"))) {
                s->nmaps++;
                int k = snprintf(s->maps + out, sizeof s->maps - out,
                                 "%s %s %s\n", range, perms, path);
                if (k > 0 && (size_t)k < sizeof s->maps - out)
                    out += (size_t)k;
            }
            if (!nl)
                break;
            l = nl + 1;
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        size_t out = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
                continue;
            char path[300], target[256];
            snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
            ssize_t n = readlink(path, target, sizeof target - 1);
            target[n > 0 ? n : 0] = '\0';
            s->nfds++;
            int k = snprintf(s->fds + out, sizeof s->fds - out, "%s -> %s\n",
                             e->d_name, target);
            if (k > 0 && (size_t)k < sizeof s->fds - out)
                out += (size_t)k;
        }
        closedir(d);
    }
}

/* Lines of a that are not in b, into why. */
static void missing_lines(const char *a, const char *b, const char *tag,
                          char *why, size_t len)
{
    for (const char *l = a; *l;) {
        size_t n = strcspn(l, "\n");
        int found = 0;
        for (const char *m = b; *m;) {
            size_t k = strcspn(m, "\n");
            if (k == n && memcmp(l, m, n) == 0) {
                found = 1;
                break;
            }
            m += k + (m[k] == '\n');
        }
        if (!found) {
            size_t used = strlen(why);
            if (used + n + 8 < len)
                snprintf(why + used, len - used, "%s %.*s; ", tag, (int)n, l);
        }
        l += n + (l[n] == '\n');
    }
}

int rel_snap_diff(const struct rel_snap *b, const struct rel_snap *a,
                  char *why, size_t len)
{
    why[0] = '\0';
    if (b->nfds == a->nfds && b->nmaps == a->nmaps &&
        !strstr(a->maps, "memfd:pagedstack") ==
            !strstr(b->maps, "memfd:pagedstack"))
        return 0;
    snprintf(why, len, "fds %d -> %d, maps %d -> %d: ", b->nfds, a->nfds,
             b->nmaps, a->nmaps);
    missing_lines(a->fds, b->fds, "+fd", why, len);
    missing_lines(b->fds, a->fds, "-fd", why, len);
    missing_lines(a->maps, b->maps, "+map", why, len);
    missing_lines(b->maps, a->maps, "-map", why, len);
    return -1;
}

int rel_find_pool_fd(void)
{
    int found = -1;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], target[256];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strstr(target, "memfd:pagedstack") && found < 0)
            found = atoi(e->d_name);
    }
    closedir(d);
    return found;
}
