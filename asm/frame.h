/* SPDX-License-Identifier: MIT */
/*
 * The saved frame of a switched-out context, shared by the assembly switch
 * and the C code that builds a task's first frame.  One header, so the two
 * can never disagree; lib/switch.h checks the C view with static asserts.
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
#ifndef PGS_ASM_FRAME_H
#define PGS_ASM_FRAME_H

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

#endif
