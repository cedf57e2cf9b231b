/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics that are safe to produce inside the fault handler: messages
 * are built in a fixed buffer and written with one write(2); no stdio, no
 * malloc.  The backtrace uses libunwind's local unwinder on the faulting
 * context.  It names each frame by the object that holds it and the offset
 * in that object (what addr2line -e OBJECT takes), not by function: looking
 * up a symbol (unw_get_proc_name) allocates, and a task that overflows its
 * stack inside malloc would then hang on malloc's lock instead of dying.
 */
#include "config.h"
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <signal.h>
#include <string.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include "internal.h"
#include "sys.h"

void pgs__msg_str(struct pgs_msg *m, const char *s)
{
    while (*s && m->len < sizeof m->buf - 1)
        m->buf[m->len++] = *s++;
}

void pgs__msg_dec(struct pgs_msg *m, uint64_t v)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n > 0 && m->len < sizeof m->buf - 1)
        m->buf[m->len++] = d[--n];
}

void pgs__msg_hex(struct pgs_msg *m, uintptr_t v)
{
    char d[2 + 16];
    int n = 0;
    do {
        d[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    pgs__msg_str(m, "0x");
    while (n > 0 && m->len < sizeof m->buf - 1)
        m->buf[m->len++] = d[--n];
}

/* A task as diagnostics name it: "name" (0x...), or just the address. */
void pgs__msg_task(struct pgs_msg *m, const pgs_task *t)
{
    if (t && t->name[0]) {
        pgs__msg_str(m, "\"");
        pgs__msg_str(m, t->name);
        pgs__msg_str(m, "\" (");
        pgs__msg_hex(m, (uintptr_t)t);
        pgs__msg_str(m, ")");
    } else {
        pgs__msg_hex(m, (uintptr_t)t);
    }
}

void pgs__msg_emit(struct pgs_msg *m)
{
    size_t off = 0;
    while (off < m->len) {
        ssize_t n = write(STDERR_FILENO, m->buf + off, m->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    m->len = 0;
}

/* The loaded object that holds an address, and the address's offset in
 * it.  dl_iterate_phdr neither allocates nor blocks this thread (its lock
 * is recursive, and held by other threads only while they load or unload
 * an object). */
struct where {
    uintptr_t ip;
    const char *object;
    uintptr_t offset;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct where *w = arg;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && w->ip >= lo && w->ip < lo + ph->p_memsz) {
            const char *name = info->dlpi_name;
            w->object = name && *name ? name : program_invocation_name;
            w->offset = w->ip - (uintptr_t)info->dlpi_addr;
            return 1;
        }
    }
    return 0;
}

/* Print the call chain of the interrupted context, one frame a line, at
 * most REPORT_FRAMES of them and then a line saying that more were not
 * printed. */
enum { REPORT_FRAMES = 64 };
void pgs__backtrace_ucontext(void *uc)
{
    unw_cursor_t c;
    struct pgs_msg m = { .len = 0 };
    if (unw_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) != 0)
        return;
    for (int depth = 0;; depth++) {
        unw_word_t ip = 0;
        if (unw_get_reg(&c, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        if (depth == REPORT_FRAMES) {
            pgs__msg_str(&m, "pagedstack:   ... more frames not printed "
                             "(at most ");
            pgs__msg_dec(&m, REPORT_FRAMES);
            pgs__msg_str(&m, " are)\n");
            pgs__msg_emit(&m);
            break;
        }
        pgs__msg_str(&m, "pagedstack:   #");
        pgs__msg_dec(&m, (uint64_t)depth);
        pgs__msg_str(&m, " ");
        pgs__msg_hex(&m, (uintptr_t)ip);
        /* A caller's ip is a return address: look up the call itself. */
        struct where w = { (uintptr_t)ip - (depth > 0), NULL, 0 };
        if (dl_iterate_phdr(find_object, &w) && w.object) {
            pgs__msg_str(&m, " ");
            pgs__msg_str(&m, w.object);
            pgs__msg_str(&m, "+");
            pgs__msg_hex(&m, w.offset + (depth > 0));
        }
        pgs__msg_str(&m, "\n");
        pgs__msg_emit(&m);
        if (unw_step(&c) <= 0)
            break;
    }
}

/* Die by SIGSEGV now, with a core, whatever the handler and the mask:
 * the default action, SIGSEGV unblocked, and the signal sent to this
 * thread (delivered as the system call returns). */
void pgs__die_by_segv(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    pgs__real_sigaction(SIGSEGV, &dfl, NULL);
    sigset_t segv;
    sigemptyset(&segv);
    sigaddset(&segv, SIGSEGV);
    pthread_sigmask(SIG_UNBLOCK, &segv, NULL);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSEGV);
    _exit(128 + SIGSEGV); /* not reached */
}

/* For failures outside the fault path that cannot be returned to anyone:
 * say what happened and die by SIGSEGV. */
void pgs__die(struct pgs_msg *m)
{
    pgs__msg_emit(m);
    pgs__die_by_segv();
}

/* pgs_assert's failure: "pagedstack: FILE:LINE: invariant broken: WHAT". */
void pgs__assert_fail(const char *file, int line, const char *what)
{
    struct pgs_msg m = { .len = 0 };
    pgs__msg_str(&m, "pagedstack: ");
    pgs__msg_str(&m, file);
    pgs__msg_str(&m, ":");
    pgs__msg_dec(&m, (uint64_t)line);
    pgs__msg_str(&m, ": invariant broken: ");
    pgs__msg_str(&m, what);
    pgs__msg_str(&m, "\n");
    pgs__die(&m);
}
