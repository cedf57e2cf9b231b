/* SPDX-License-Identifier: MIT */
/*
 * Running under valgrind: the state a SIGSEGV handler sees is not always
 * the state the hardware would report, and the stack fault handler
 * resumes the faulting instruction, so the difference matters.  See
 * valgrind.c.  Without valgrind's header both calls are empty; the
 * corrections are x86-64's, and elsewhere the probe refuses valgrind.
 */
#ifndef PGS_VALGRIND_H
#define PGS_VALGRIND_H

#include <stdint.h>
#include <ucontext.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
/* Before the handler is installed: find out (once per process) which of
 * the known differences this valgrind has.  -1 with errno EPERM, after
 * a message, when stack faults cannot be resumed safely.  Natively 0.
 * Also sets pgs__valgrind. */
int pgs__vg_probe(void);
/* Whether valgrind runs the process, set by pgs__vg_probe before the
 * first thread of tasks starts.  A client request costs a few cycles even
 * natively (its marker is a chain of rotates), and the switch path would
 * make several on every task it creates and shows (track.h). */
extern int pgs__valgrind;
#endif
#if defined(HAVE_VALGRIND_VALGRIND_H) && defined(__x86_64__)
/* A stack fault at `addr` was served; correct the context before the
 * faulting instruction runs again. */
void pgs__vg_fault_served(ucontext_t *uc, uintptr_t addr);
#else
static inline void pgs__vg_fault_served(ucontext_t *uc, uintptr_t addr)
{
    (void)uc, (void)addr;
}
#endif
#ifndef HAVE_VALGRIND_VALGRIND_H
static inline int pgs__vg_probe(void)
{
    return 0;
}
#endif

#endif
