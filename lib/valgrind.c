/* SPDX-License-Identifier: MIT */
/*
 * Stack faults under valgrind.
 *
 * The stack fault handler maps the missing page and returns, so the
 * faulting instruction runs again; that only works if the context the
 * handler saw is the one the hardware would have reported.  Valgrind
 * (3.19, at least) moves some registers before the access that faults:
 *
 *   rep stos / rep movs / ...  one iteration is counted (rcx decremented)
 *                              before its access; the retried instruction
 *                              stops one element short;
 *   call / push                rsp already points at the slot being
 *                              written; the retried instruction pushes
 *                              again, 8 bytes lower, and the caller's
 *                              frame is off by 8 when it returns.
 *
 * Both would corrupt a task's stack silently.  Rather than trusting a
 * version number, the first handler installation in a process under
 * valgrind runs each kind of instruction into an inaccessible page and
 * looks at what happened; the handler then undoes only the differences
 * that were seen.
 *
 * Worse, by default valgrind keeps only rsp, rbp and rip exact at a memory
 * access: any other register written shortly before may still hold an
 * older value in the context, and no handler can know which.  Only
 * `--vex-iropt-register-updates=allregs-at-mem-access` (or
 * `allregs-at-each-insn`) makes resuming a faulting instruction safe.
 * The probe tries that too, and without it the library refuses to start
 * (EPERM, after a message naming the option) instead of corrupting
 * stacks.  Natively, RUNNING_ON_VALGRIND is false and nothing here runs.
 */
#include "config.h"

#if defined(HAVE_VALGRIND_VALGRIND_H) && defined(__x86_64__)
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <valgrind/valgrind.h>
#include "internal.h"
#include "sys.h"
#include "valgrind.h"

enum { EARLY_REP = 1, EARLY_PUSH = 2 };
static int early;   /* written once, before the stack handler exists */
static int refused; /* the registers are not exact at faults */

/* The probe's pages: [no access][read-write][no access]. */
static char *probe;
static struct sigaction probe_prev;
static int probing_rdi; /* the faulting store is through rdi */
static int rdi_stale;

#define PROBE_ALTSTACK (64 * 1024)

static void probe_fault(int sig, siginfo_t *si, void *ucv)
{
    char *a = si->si_addr;
    ucontext_t *uc = ucv;
    (void)sig;
    if (probe && a >= probe && a < probe + 3 * PGS_PAGE) {
        if (probing_rdi && uc->uc_mcontext.gregs[REG_RDI] != (greg_t)a) {
            /* The retried store would go wherever the stale rdi points. */
            rdi_stale = 1;
            uc->uc_mcontext.gregs[REG_RDI] = (greg_t)a;
        }
        char *page = (char *)((uintptr_t)a & ~(uintptr_t)(PGS_PAGE - 1));
        if (mprotect(page, PGS_PAGE, PROT_READ | PROT_WRITE) == 0)
            return;
    }
    /* Not the probe's: let whoever was there before have it. */
    pgs__real_sigaction(SIGSEGV, &probe_prev, NULL);
}

/* A register written just before a store that faults, and again just
 * after (which is what lets valgrind drop the first write): does the
 * handler see its new value?  rdi moves from the middle page's last word
 * to the third page's first. */
static int registers_stale(void)
{
    char *p = probe + 2 * PGS_PAGE - 8;
    probing_rdi = 1;
    __asm__ volatile("add $8, %0\n\t"
                     "movq $7, (%0)\n\t"
                     "add $8, %0"
                     : "+D"(p)
                     :
                     : "memory");
    probing_rdi = 0;
    return rdi_stale;
}

/* rep stosb across the end of the middle page: did the last byte land? */
static int rep_is_early(void)
{
    char *dst = probe + 2 * PGS_PAGE - 16;
    unsigned long n = 32;
    __asm__ volatile("rep stosb"
                     : "+D"(dst), "+c"(n)
                     : "a"(0xab)
                     : "memory");
    return (unsigned char)probe[2 * PGS_PAGE + 15] != 0xab;
}

/* A call whose return address goes into the first page: does rsp come
 * back where it was? */
static int push_is_early(void)
{
    char *sp = probe + PGS_PAGE;
    uintptr_t after;
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "mov %1, %%rsp\n\t"
                     "call 1f\n\t"
                     "jmp 2f\n"
                     "1:\tret\n"
                     "2:\tmov %%rsp, %0\n\t"
                     "mov %%rbx, %%rsp"
                     : "=r"(after)
                     : "r"(sp)
                     : "rbx", "memory");
    return after != (uintptr_t)sp;
}

static void probe_all(void)
{
    size_t len = 3 * PGS_PAGE + PROBE_ALTSTACK;
    char *m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return;
    char *alt = m + 3 * PGS_PAGE;
    if (mprotect(m + PGS_PAGE, PGS_PAGE, PROT_READ | PROT_WRITE) != 0 ||
        mprotect(alt, PROBE_ALTSTACK, PROT_READ | PROT_WRITE) != 0) {
        munmap(m, len);
        return;
    }
    stack_t ss = { .ss_sp = alt, .ss_size = PROBE_ALTSTACK }, old_ss;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = probe_fault;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    if (pgs__real_sigaltstack(&ss, &old_ss) != 0) {
        munmap(m, len);
        return;
    }
    if (pgs__real_sigaction(SIGSEGV, &sa, &probe_prev) == 0) {
        probe = m;
        /* The probe's accesses to inaccessible pages are on purpose, and
         * its stack is not the thread's. */
        VALGRIND_DISABLE_ERROR_REPORTING;
        unsigned id = VALGRIND_STACK_REGISTER(m, m + 2 * PGS_PAGE);
        if (registers_stale())
            refused = 1;
        mprotect(m + 2 * PGS_PAGE, PGS_PAGE, PROT_NONE);
        if (rep_is_early())
            early |= EARLY_REP;
        if (push_is_early())
            early |= EARLY_PUSH;
        VALGRIND_STACK_DEREGISTER(id);
        VALGRIND_ENABLE_ERROR_REPORTING;
        probe = NULL;
        pgs__real_sigaction(SIGSEGV, &probe_prev, NULL);
    }
    pgs__real_sigaltstack(&old_ss, NULL);
    munmap(m, len);
}

int pgs__valgrind;

int pgs__vg_probe(void)
{
    static int done;
    pgs__valgrind = RUNNING_ON_VALGRIND != 0;
    if (!pgs__valgrind)
        return 0;
    if (!done) {
        done = 1;
        probe_all();
    }
    if (refused) {
        struct pgs_msg m = { .len = 0 };
        pgs__msg_str(&m, "pagedstack: under valgrind, stack growth needs "
                         "--vex-iropt-register-updates=allregs-at-mem-access"
                         " (registers are not exact at faults without it)\n");
        pgs__msg_emit(&m);
        errno = EPERM;
        return -1;
    }
    return 0;
}

/* The instruction at ip, past its prefixes: its opcode byte, and whether
 * a rep prefix came before it. */
static const unsigned char *opcode(const unsigned char *ip, int *rep)
{
    *rep = 0;
    for (int i = 0; i < 14; i++, ip++) {
        unsigned char b = *ip;
        if (b == 0xf2 || b == 0xf3)
            *rep = 1;
        else if (!((b >= 0x40 && b <= 0x4f) || /* REX */
                   b == 0x66 || b == 0x67 || b == 0x2e || b == 0x36 ||
                   b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65))
            break;
    }
    return ip;
}

void pgs__vg_fault_served(ucontext_t *uc, uintptr_t addr)
{
    if (!early)
        return;
    greg_t *g = uc->uc_mcontext.gregs;
    int rep;
    const unsigned char *op = opcode((const unsigned char *)g[REG_RIP], &rep);
    if ((early & EARLY_REP) && rep &&
        ((op[0] >= 0xa4 && op[0] <= 0xa7) || (op[0] >= 0xaa && op[0] <= 0xaf)))
        g[REG_RCX]++;
    /* call rel32, push reg, push imm, pushf, and call/push r/m (0xff /2,
     * /6): the only writes at the new rsp.  Natively the fault address is
     * rsp - 8; it equals rsp only when rsp already moved. */
    int pushes = op[0] == 0xe8 || (op[0] >= 0x50 && op[0] <= 0x57) ||
                 op[0] == 0x68 || op[0] == 0x6a || op[0] == 0x9c ||
                 (op[0] == 0xff && (((op[1] >> 3) & 7) == 2 ||
                                    ((op[1] >> 3) & 7) == 6));
    if ((early & EARLY_PUSH) && pushes && addr == (uintptr_t)g[REG_RSP])
        g[REG_RSP] += 8;
}

#elif defined(HAVE_VALGRIND_VALGRIND_H)
/*
 * On other architectures (aarch64) nothing has looked at what valgrind
 * reports at a stack fault, and resuming from a context that is not the
 * hardware's would corrupt a task's stack silently: refuse to start.
 */
#include <errno.h>
#include <valgrind/valgrind.h>
#include "internal.h"
#include "valgrind.h"

int pgs__valgrind;

int pgs__vg_probe(void)
{
    pgs__valgrind = RUNNING_ON_VALGRIND != 0;
    if (!pgs__valgrind)
        return 0;
    struct pgs_msg m = { .len = 0 };
    pgs__msg_str(&m, "pagedstack: stack growth under valgrind is supported "
                     "on x86-64 only (this is " PGS_ARCH_NAME ")\n");
    pgs__msg_emit(&m);
    errno = EPERM;
    return -1;
}
#endif
