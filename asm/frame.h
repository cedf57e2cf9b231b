/* SPDX-License-Identifier: MIT */
/*
 * The saved frame of a switched-out context, shared by the assembly switch
 * of each architecture and the C code that builds a task's first frame.
 * One header, so the two can never disagree; lib/switch.h checks the C
 * view with static asserts.
 */
#ifndef PGS_ASM_FRAME_H
#define PGS_ASM_FRAME_H

#if defined(__x86_64__)
/*
 * x86-64 System V (asm/switch_x86_64.S):
 *
 *   saved sp ->  +0   MXCSR (4 bytes), x87 control word (2 bytes), pad (2)
 *                +8   r15
 *               +16   r14
 *               +24   r13
 *               +32   r12
 *               +40   rbx
 *               +48   rbp
 *               +56   return address (where the context continues)
 *               +64   the context's stack before the switch was called
 */
#define PGS_FRAME_MXCSR 0
#define PGS_FRAME_FPUCW 4
#define PGS_FRAME_R15   8
#define PGS_FRAME_R14   16
#define PGS_FRAME_R13   24
#define PGS_FRAME_R12   32
#define PGS_FRAME_RBX   40
#define PGS_FRAME_RBP   48
#define PGS_FRAME_RIP   56
#define PGS_FRAME_SIZE  64

#elif defined(__aarch64__)
/*
 * AArch64, AAPCS64 (asm/switch_aarch64.S).  Pairs, so that each is one
 * stp/ldp; the size keeps sp 16-byte aligned, as the ABI requires at
 * every access through sp.
 *
 *   saved sp ->  +0   x19, x20
 *               +16   x21, x22
 *               +32   x23, x24
 *               +48   x25, x26
 *               +64   x27, x28
 *               +80   x29 (frame pointer), x30 (lr: where the context
 *                     continues)
 *               +96   d8, d9   (low halves of v8-v15: the callee-saved
 *              +112   d10, d11  part of the vector registers)
 *              +128   d12, d13
 *              +144   d14, d15
 *              +160   FPCR (8 bytes), pad (8)
 *              +176   the context's stack before the switch was called
 */
#define PGS_FRAME_X19   0
#define PGS_FRAME_X21   16
#define PGS_FRAME_X23   32
#define PGS_FRAME_X25   48
#define PGS_FRAME_X27   64
#define PGS_FRAME_FP    80
#define PGS_FRAME_LR    88
#define PGS_FRAME_D8    96
#define PGS_FRAME_D10   112
#define PGS_FRAME_D12   128
#define PGS_FRAME_D14   144
#define PGS_FRAME_FPCR  160
#define PGS_FRAME_SIZE  176

#else
#error "pagedstack: no context switch for this architecture (x86-64 and aarch64 have one)"
#endif

#endif
