/* SPDX-License-Identifier: MIT */
/*
 * The SIGSEGV handler the library passes every fault that is not its own
 * to: the one installed before the library, or the latest one the program
 * installed since (the library's sigaction records it here instead of
 * replacing the library's handler).
 *
 * The fault handler of any thread reads it while the program may be
 * installing another, so it is published, not shared: a writer fills the
 * next of a few slots and then advances the generation; a reader copies
 * the slot of the generation it saw and keeps the copy unless the writers
 * went round the slots meanwhile.  Readers never wait for a writer, so a
 * fault that interrupts an install (in this thread or another) still
 * reads a whole action.  Writers are serialised by pgs__sig_lock.
 */
#include "config.h"
#include <string.h>
#include "internal.h"

#define SLOTS 4u

static struct sigaction slot[SLOTS];
static unsigned long generation;  /* slot[generation % SLOTS] is current */
static int active;                /* the library's handler is installed */

unsigned long pgs__chain_read(struct sigaction *out)
{
    for (;;) {
        unsigned long g = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
        memcpy(out, &slot[g % SLOTS], sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        /* The slot copied is rewritten only by the writer of generation
         * g + SLOTS, which starts once g + SLOTS - 1 is published. */
        if (__atomic_load_n(&generation, __ATOMIC_RELAXED) - g < SLOTS - 1)
            return g;
    }
}

/* The caller holds pgs__sig_lock. */
void pgs__chain_write(const struct sigaction *sa)
{
    unsigned long g = __atomic_load_n(&generation, __ATOMIC_RELAXED);
    memcpy(&slot[(g + 1) % SLOTS], sa, sizeof *sa);
    __atomic_store_n(&generation, g + 1, __ATOMIC_RELEASE);
}

void pgs__chain_activate(void)
{
    __atomic_store_n(&active, 1, __ATOMIC_RELEASE);
}

int pgs__chain_active(void)
{
    return __atomic_load_n(&active, __ATOMIC_ACQUIRE);
}

/* sigaction(SIGSEGV) once the library's handler is installed (the caller
 * holds pgs__sig_lock): old gets the handler recorded so far, and act, if
 * any, becomes the one faults are passed to. */
void pgs__chain_swap(const struct sigaction *act, struct sigaction *old)
{
    pgs__chain_read(old);
    if (act)
        pgs__chain_write(act);
}

/* SA_RESETHAND: after one delivery the program's disposition is the
 * default, unless the program installed another handler meanwhile (the
 * generation moved on). */
void pgs__chain_reset(unsigned long seen)
{
    sigset_t saved;
    pgs__sig_lock(&saved);
    if (__atomic_load_n(&generation, __ATOMIC_RELAXED) == seen) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        pgs__chain_write(&dfl);
    }
    pgs__sig_unlock(&saved);
}
