/* SPDX-License-Identifier: MIT */
/* The C side of the assembly context switch (asm/switch_<arch>.S). */
#ifndef PGS_SWITCH_H
#define PGS_SWITCH_H

#include <stddef.h>
#include <stdint.h>
#include "../asm/frame.h"

/* The frame the switch saves, as C sees it (layout: asm/frame.h). */
#if defined(__x86_64__)
struct pgs_frame {
    uint32_t mxcsr;
    uint16_t fpucw;
    uint16_t pad;
    uint64_t r15, r14, r13, r12, rbx, rbp;
    void *rip;
};
_Static_assert(offsetof(struct pgs_frame, mxcsr) == PGS_FRAME_MXCSR, "frame");
_Static_assert(offsetof(struct pgs_frame, fpucw) == PGS_FRAME_FPUCW, "frame");
_Static_assert(offsetof(struct pgs_frame, r15) == PGS_FRAME_R15, "frame");
_Static_assert(offsetof(struct pgs_frame, r14) == PGS_FRAME_R14, "frame");
_Static_assert(offsetof(struct pgs_frame, r13) == PGS_FRAME_R13, "frame");
_Static_assert(offsetof(struct pgs_frame, r12) == PGS_FRAME_R12, "frame");
_Static_assert(offsetof(struct pgs_frame, rbx) == PGS_FRAME_RBX, "frame");
_Static_assert(offsetof(struct pgs_frame, rbp) == PGS_FRAME_RBP, "frame");
_Static_assert(offsetof(struct pgs_frame, rip) == PGS_FRAME_RIP, "frame");
#elif defined(__aarch64__)
struct pgs_frame {
    uint64_t x[10];            /* x19 .. x28 */
    void *fp;                  /* x29 */
    void *lr;                  /* x30 */
    uint64_t d[8];             /* d8 .. d15, as bits */
    uint64_t fpcr;
    uint64_t pad;
};
_Static_assert(offsetof(struct pgs_frame, x[0]) == PGS_FRAME_X19, "frame");
_Static_assert(offsetof(struct pgs_frame, x[2]) == PGS_FRAME_X21, "frame");
_Static_assert(offsetof(struct pgs_frame, x[4]) == PGS_FRAME_X23, "frame");
_Static_assert(offsetof(struct pgs_frame, x[6]) == PGS_FRAME_X25, "frame");
_Static_assert(offsetof(struct pgs_frame, x[8]) == PGS_FRAME_X27, "frame");
_Static_assert(offsetof(struct pgs_frame, fp) == PGS_FRAME_FP, "frame");
_Static_assert(offsetof(struct pgs_frame, lr) == PGS_FRAME_LR, "frame");
_Static_assert(offsetof(struct pgs_frame, d[0]) == PGS_FRAME_D8, "frame");
_Static_assert(offsetof(struct pgs_frame, d[2]) == PGS_FRAME_D10, "frame");
_Static_assert(offsetof(struct pgs_frame, d[4]) == PGS_FRAME_D12, "frame");
_Static_assert(offsetof(struct pgs_frame, d[6]) == PGS_FRAME_D14, "frame");
_Static_assert(offsetof(struct pgs_frame, fpcr) == PGS_FRAME_FPCR, "frame");
#endif
_Static_assert(sizeof(struct pgs_frame) == PGS_FRAME_SIZE, "frame");
_Static_assert(PGS_FRAME_SIZE % 16 == 0, "frames keep sp 16-byte aligned");

/* Where to continue, and the value the continued context's pending switch
 * call returns.  Returned in two registers (rax:rdx, x0:x1). */
struct pgs_jump {
    void *sp;
    void *value;
};

/* Save the running context into *save_sp and continue the one at to_sp,
 * whose pending switch call returns `value`.  Returns, when this context is
 * continued, the value it is handed then. */
void *pgs__switch(void **save_sp, void *to_sp, void *value);

/* Save the running context into *save_sp, call prepare(arg) on the switch
 * stack (16-byte aligned top), and continue the context prepare names,
 * handing it the value prepare gives. */
void *pgs__switch_via(void **save_sp, void *arg,
                      struct pgs_jump (*prepare)(void *), void *switch_stack);

/* The same two, declared to return int, so that functions returning int
 * can tail-call them (pgs_resume). */
int pgs__switch_int(void **save_sp, void *to_sp, void *value);
int pgs__switch_via_int(void **save_sp, void *arg,
                        struct pgs_jump (*prepare)(void *), void *switch_stack);

/* Bytes between a stack's top and the stack pointer of a first frame built
 * by pgs__frame_init: the frame, and 16 bytes that keep the stack pointer
 * 16-byte aligned once the frame is popped. */
#define PGS_FIRST_FRAME_GAP (16 + PGS_FRAME_SIZE)

/* Where a first frame built by pgs__frame_init returns to. */
void pgs__task_entry(void);

/*
 * Build a first frame just below stack_top (which must be 16-byte aligned)
 * so that switching to the returned stack pointer calls fn(arg) on that
 * stack.  fn must never return.  The floating-point modes are the ones a
 * program starts with; the frame pointer is zero, so that frame-pointer
 * walks end at the task's entry.
 */
static inline void *pgs__frame_init(void *stack_top, void (*fn)(void *),
                                    void *arg)
{
    struct pgs_frame *f =
        (struct pgs_frame *)((char *)stack_top - PGS_FIRST_FRAME_GAP);
#if defined(__x86_64__)
    *f = (struct pgs_frame){
        .mxcsr = 0x1f80, /* all exceptions masked, round to nearest */
        .fpucw = 0x037f, /* the same for x87, extended precision */
        .r12 = (uint64_t)(uintptr_t)arg,
        .r13 = (uint64_t)(uintptr_t)fn,
        .rip = (void *)pgs__task_entry,
    };
#elif defined(__aarch64__)
    *f = (struct pgs_frame){
        .x = { [0] = (uint64_t)(uintptr_t)arg, /* x19 */
               [1] = (uint64_t)(uintptr_t)fn }, /* x20 */
        .lr = (void *)pgs__task_entry,
        .fpcr = 0, /* round to nearest, no traps, no flush to zero */
    };
#endif
    return f;
}

#endif
