/* SPDX-License-Identifier: MIT */
/*
 * Context switch for AArch64 (AAPCS64, Linux, ELF).
 *
 * A context is the saved stack pointer of a suspended flow of control; its
 * callee-saved registers (x19-x28, the frame pointer x29, the link register
 * x30, d8-d15) and FPCR sit on its own stack in the frame described in
 * frame.h.  Caller-saved registers need no saving: the switch is an
 * ordinary function call to the C code around it.  The two entry points
 * and their contract are those of switch_x86_64.S:
 *
 *   void *pgs__switch(void **save_sp, void *to_sp, void *value);
 *   void *pgs__switch_via(void **save_sp, void *arg,
 *                         struct pgs_jump (*prepare)(void *arg),
 *                         void *switch_stack);
 *   pgs__task_entry: where a new task's first frame returns to.
 *
 * A switch hands the context it continues a value: that context's own
 * pending switch call returns it (in x0).  pgs__switch_via moves to the
 * thread's switch stack once the outgoing context is saved, calls prepare
 * there (it remaps the region, so nothing may run on it meanwhile), and
 * continues whatever {stack pointer, value} prepare returns in x0:x1.
 *
 * Both switches leave through ret to the incoming context's x30.  ret, not
 * br: a br to a return address would need a BTI landing pad there, and
 * return addresses have none; ret is exempt from branch target
 * identification.
 */
#include "frame.h"

/* Indirect calls land on `bti c` when the code is built for BTI; it is a
 * hint (a no-op) on processors without it. */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define PGS_BTI_C bti c
#else
#define PGS_BTI_C
#endif

	.text

/* Save the running context's frame and store its stack pointer in [x0]. */
.macro SAVE_FRAME
	sub	sp, sp, #PGS_FRAME_SIZE		/* room for the frame          */
	.cfi_adjust_cfa_offset PGS_FRAME_SIZE
	stp	x19, x20, [sp, #PGS_FRAME_X19]	/* callee-saved registers      */
	stp	x21, x22, [sp, #PGS_FRAME_X21]
	stp	x23, x24, [sp, #PGS_FRAME_X23]
	stp	x25, x26, [sp, #PGS_FRAME_X25]
	stp	x27, x28, [sp, #PGS_FRAME_X27]
	stp	x29, x30, [sp, #PGS_FRAME_FP]	/* frame pointer, return addr  */
	stp	d8, d9, [sp, #PGS_FRAME_D8]	/* callee-saved FP/SIMD halves */
	stp	d10, d11, [sp, #PGS_FRAME_D10]
	stp	d12, d13, [sp, #PGS_FRAME_D12]
	stp	d14, d15, [sp, #PGS_FRAME_D14]
	mrs	x9, fpcr			/* rounding mode, traps, FZ/DN */
	str	x9, [sp, #PGS_FRAME_FPCR]
	mov	x9, sp
	str	x9, [x0]			/* publish the saved context   */
.endm

	.globl	pgs__switch
	.hidden	pgs__switch
	.type	pgs__switch, %function
	.globl	pgs__switch_int
	.hidden	pgs__switch_int
	.type	pgs__switch_int, %function
	.p2align 4
pgs__switch:
pgs__switch_int:			/* the same, for callers returning int */
	.cfi_startproc
	PGS_BTI_C
	SAVE_FRAME
	mov	sp, x1				/* adopt the incoming stack    */
	mov	x0, x2				/* the value it is handed      */
	b	.Lrestore			/* and load its frame          */
	.cfi_endproc
	.size	pgs__switch, .-pgs__switch
	.size	pgs__switch_int, .-pgs__switch_int

	.globl	pgs__switch_via
	.hidden	pgs__switch_via
	.type	pgs__switch_via, %function
	.globl	pgs__switch_via_int
	.hidden	pgs__switch_via_int
	.type	pgs__switch_via_int, %function
	.p2align 4
pgs__switch_via:
pgs__switch_via_int:			/* the same, for callers returning int */
	.cfi_startproc
	PGS_BTI_C
	SAVE_FRAME
	mov	sp, x3				/* leave the region: switch stack */
	.cfi_def_cfa sp, 0
	.cfi_undefined x30			/* unwinders stop here         */
	mov	x0, x1				/* prepare(arg)                */
	blr	x2				/* remaps; returns {sp, value} */
	mov	sp, x0				/* adopt the stack it chose    */
	mov	x0, x1				/* and hand it the value       */
/*
 * From here (pgs__switch branches here too) sp is the incoming context's
 * frame: the notes say where its registers and return address are, so
 * that a profiler's unwinder stopping in between finds the incoming
 * context's caller.
 */
.Lrestore:
	.cfi_def_cfa sp, PGS_FRAME_SIZE
	.cfi_offset x19, PGS_FRAME_X19 - PGS_FRAME_SIZE
	.cfi_offset x20, PGS_FRAME_X19 + 8 - PGS_FRAME_SIZE
	.cfi_offset x21, PGS_FRAME_X21 - PGS_FRAME_SIZE
	.cfi_offset x22, PGS_FRAME_X21 + 8 - PGS_FRAME_SIZE
	.cfi_offset x23, PGS_FRAME_X23 - PGS_FRAME_SIZE
	.cfi_offset x24, PGS_FRAME_X23 + 8 - PGS_FRAME_SIZE
	.cfi_offset x25, PGS_FRAME_X25 - PGS_FRAME_SIZE
	.cfi_offset x26, PGS_FRAME_X25 + 8 - PGS_FRAME_SIZE
	.cfi_offset x27, PGS_FRAME_X27 - PGS_FRAME_SIZE
	.cfi_offset x28, PGS_FRAME_X27 + 8 - PGS_FRAME_SIZE
	.cfi_offset x29, PGS_FRAME_FP - PGS_FRAME_SIZE
	.cfi_offset x30, PGS_FRAME_LR - PGS_FRAME_SIZE
	.cfi_offset d8, PGS_FRAME_D8 - PGS_FRAME_SIZE
	.cfi_offset d9, PGS_FRAME_D8 + 8 - PGS_FRAME_SIZE
	.cfi_offset d10, PGS_FRAME_D10 - PGS_FRAME_SIZE
	.cfi_offset d11, PGS_FRAME_D10 + 8 - PGS_FRAME_SIZE
	.cfi_offset d12, PGS_FRAME_D12 - PGS_FRAME_SIZE
	.cfi_offset d13, PGS_FRAME_D12 + 8 - PGS_FRAME_SIZE
	.cfi_offset d14, PGS_FRAME_D14 - PGS_FRAME_SIZE
	.cfi_offset d15, PGS_FRAME_D14 + 8 - PGS_FRAME_SIZE
	ldr	x9, [sp, #PGS_FRAME_FPCR]	/* restore the FP modes        */
	msr	fpcr, x9
	ldp	d8, d9, [sp, #PGS_FRAME_D8]	/* callee-saved registers      */
	ldp	d10, d11, [sp, #PGS_FRAME_D10]
	ldp	d12, d13, [sp, #PGS_FRAME_D12]
	ldp	d14, d15, [sp, #PGS_FRAME_D14]
	ldp	x19, x20, [sp, #PGS_FRAME_X19]
	ldp	x21, x22, [sp, #PGS_FRAME_X21]
	ldp	x23, x24, [sp, #PGS_FRAME_X23]
	ldp	x25, x26, [sp, #PGS_FRAME_X25]
	ldp	x27, x28, [sp, #PGS_FRAME_X27]
	ldp	x29, x30, [sp, #PGS_FRAME_FP]	/* its frame pointer and where */
	.cfi_restore x19			/* it continues                */
	.cfi_restore x20
	.cfi_restore x21
	.cfi_restore x22
	.cfi_restore x23
	.cfi_restore x24
	.cfi_restore x25
	.cfi_restore x26
	.cfi_restore x27
	.cfi_restore x28
	.cfi_restore x29
	.cfi_restore x30
	.cfi_restore d8
	.cfi_restore d9
	.cfi_restore d10
	.cfi_restore d11
	.cfi_restore d12
	.cfi_restore d13
	.cfi_restore d14
	.cfi_restore d15
	add	sp, sp, #PGS_FRAME_SIZE		/* drop the frame              */
	.cfi_def_cfa_offset 0
	ret					/* continue it (see above)     */
	.cfi_endproc
	.size	pgs__switch_via, .-pgs__switch_via
	.size	pgs__switch_via_int, .-pgs__switch_via_int

/*
 * A new task's first frame "returns" here with x19 = argument and
 * x20 = function (see pgs__frame_init); sp is 16-byte aligned.  The
 * function never returns: it finishes by switching away.  There is no
 * caller to unwind into, so the return address is marked undefined and
 * backtraces end cleanly at the task's entry.  Reached by ret, never by
 * an indirect branch, so it needs no landing pad.
 */
	.globl	pgs__task_entry
	.hidden	pgs__task_entry
	.type	pgs__task_entry, %function
	.p2align 4
pgs__task_entry:
	.cfi_startproc
	.cfi_undefined x30
	mov	x0, x19				/* the argument                */
	blr	x20				/* run; never comes back       */
	brk	#0x3e8				/* trap if it ever does        */
	.cfi_endproc
	.size	pgs__task_entry, .-pgs__task_entry

	.section .note.GNU-stack,"",%progbits

/*
 * When the library is built for branch protection, every object must say
 * so, or the linker drops the marking of the whole shared object.  BTI:
 * every indirect call target here starts with `bti c`.  PAC: the switch
 * signs nothing itself, and the return addresses of the C functions
 * around it are signed and checked by those functions against the same
 * stack pointer, which a switch puts back exactly.
 */
#if (defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT) || \
    (defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT)
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define PGS_GNU_PROPERTY_BTI 1
#else
#define PGS_GNU_PROPERTY_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#define PGS_GNU_PROPERTY_PAC 2
#else
#define PGS_GNU_PROPERTY_PAC 0
#endif
	.section .note.gnu.property,"a"
	.p2align 3
	.long	4				/* name size ("GNU")           */
	.long	16				/* descriptor size             */
	.long	5				/* NT_GNU_PROPERTY_TYPE_0      */
	.asciz	"GNU"
	.long	0xc0000000			/* AARCH64_FEATURE_1_AND       */
	.long	4				/* its data size               */
	.long	PGS_GNU_PROPERTY_BTI | PGS_GNU_PROPERTY_PAC
	.p2align 3
#endif
