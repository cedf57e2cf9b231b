/* SPDX-License-Identifier: MIT */
/*
 * Context switch for x86-64 System V (Linux, ELF).
 *
 * A context is the saved stack pointer of a suspended flow of control; its
 * callee-saved registers, MXCSR and x87 control word sit on its own stack in
 * the frame described in frame.h.  Caller-saved registers need no saving:
 * the switch is an ordinary function call to the C code around it.
 *
 *   void *pgs__switch(void **save_sp, void *to_sp, void *value);
 *   void *pgs__switch_via(void **save_sp, void *arg,
 *                         struct pgs_jump (*prepare)(void *arg),
 *                         void *switch_stack);
 *   pgs__task_entry: where a new task's first frame returns to.
 *
 * A switch hands the context it continues a value: that context's own
 * pending switch call returns it (in rax).  This lets pgs_resume and
 * pgs_yield tail-call the switch, so a context continues directly in the
 * user's code with its return value, and no C frame has to return after a
 * switch.
 *
 * pgs__switch_via is the remapping switch: once the outgoing context is
 * saved, nothing may run on the shared region, because prepare() is about to
 * remap it.  So it moves to the thread's switch stack first, calls prepare
 * there, and continues whatever {stack pointer, value} prepare returns (in
 * rax:rdx): normally the incoming task; the outgoing one if the remap
 * failed.
 *
 * Both switches end with an indirect jmp rather than ret: the return
 * address popped belongs to another context, so ret would always miss in
 * the return stack buffer, and a miss there costs more than a plain
 * indirect branch.
 */
#include "frame.h"

#if defined(__CET__) && (__CET__ & 1)
#define PGS_ENDBR endbr64
#else
#define PGS_ENDBR
#endif

	.text

/* Save the running context's frame and store its stack pointer in (%rdi). */
.macro SAVE_FRAME
	pushq	%rbp				/* callee-saved registers, in  */
	.cfi_adjust_cfa_offset 8
	pushq	%rbx				/* the order of frame.h, from  */
	.cfi_adjust_cfa_offset 8
	pushq	%r12				/* the top down                */
	.cfi_adjust_cfa_offset 8
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp			/* room for MXCSR and x87 CW   */
	.cfi_adjust_cfa_offset 8
	stmxcsr	PGS_FRAME_MXCSR(%rsp)		/* SSE rounding/exception mode */
	fnstcw	PGS_FRAME_FPUCW(%rsp)		/* x87 precision/rounding mode */
	movq	%rsp, (%rdi)			/* publish the saved context   */
.endm

	.globl	pgs__switch
	.hidden	pgs__switch
	.type	pgs__switch, @function
	.globl	pgs__switch_int
	.hidden	pgs__switch_int
	.type	pgs__switch_int, @function
	.p2align 4
pgs__switch:
pgs__switch_int:			/* the same, for callers returning int */
	.cfi_startproc
	PGS_ENDBR
	SAVE_FRAME
	movq	%rsi, %rsp			/* adopt the incoming stack    */
	movq	%rdx, %rax			/* the value it is handed      */
	jmp	.Lrestore			/* and load its frame          */
	.cfi_endproc
	.size	pgs__switch, .-pgs__switch
	.size	pgs__switch_int, .-pgs__switch_int

	.globl	pgs__switch_via
	.hidden	pgs__switch_via
	.type	pgs__switch_via, @function
	.globl	pgs__switch_via_int
	.hidden	pgs__switch_via_int
	.type	pgs__switch_via_int, @function
	.p2align 4
pgs__switch_via:
pgs__switch_via_int:			/* the same, for callers returning int */
	.cfi_startproc
	PGS_ENDBR
	SAVE_FRAME
	movq	%rcx, %rsp			/* leave the region: switch stack */
	.cfi_undefined rip			/* unwinders stop here         */
	movq	%rsi, %rdi			/* prepare(arg)                */
	call	*%rdx				/* remaps; returns {sp, value} */
	movq	%rax, %rsp			/* adopt the stack it chose    */
	movq	%rdx, %rax			/* and hand it the value       */
/*
 * From here (pgs__switch jumps here too) rsp is the incoming context's
 * frame: the notes say where its registers and return address are, and
 * each pop puts one back, so that a profiler's unwinder stopping in
 * between finds the incoming context's caller.
 */
.Lrestore:
	.cfi_def_cfa rsp, PGS_FRAME_SIZE
	.cfi_offset rip, -8
	.cfi_offset rbp, -16
	.cfi_offset rbx, -24
	.cfi_offset r12, -32
	.cfi_offset r13, -40
	.cfi_offset r14, -48
	.cfi_offset r15, -56
	ldmxcsr	PGS_FRAME_MXCSR(%rsp)		/* restore SSE mode            */
	fldcw	PGS_FRAME_FPUCW(%rsp)		/* restore x87 mode            */
	addq	$8, %rsp			/* drop the mode slot          */
	.cfi_adjust_cfa_offset -8
	popq	%r15				/* callee-saved registers      */
	.cfi_adjust_cfa_offset -8
	.cfi_restore r15
	popq	%r14
	.cfi_adjust_cfa_offset -8
	.cfi_restore r14
	popq	%r13
	.cfi_adjust_cfa_offset -8
	.cfi_restore r13
	popq	%r12
	.cfi_adjust_cfa_offset -8
	.cfi_restore r12
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbx
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbp
	popq	%rcx				/* where the context goes on   */
	.cfi_adjust_cfa_offset -8
	.cfi_register rip, rcx
	jmp	*%rcx				/* continue it (see above)     */
	.cfi_endproc
	.size	pgs__switch_via, .-pgs__switch_via
	.size	pgs__switch_via_int, .-pgs__switch_via_int

/*
 * A new task's first frame "returns" here with r12 = argument and
 * r13 = function (see pgs__frame_init); rsp is 16-byte aligned.  The
 * function never returns: it finishes by switching away.  There is no
 * caller to unwind into, so the return address is marked undefined and
 * backtraces end cleanly at the task's entry.
 */
	.globl	pgs__task_entry
	.hidden	pgs__task_entry
	.type	pgs__task_entry, @function
	.p2align 4
pgs__task_entry:
	.cfi_startproc
	.cfi_undefined rip
	PGS_ENDBR
	movq	%r12, %rdi			/* the argument                */
	call	*%r13				/* run; never comes back       */
	ud2					/* trap if it ever does        */
	.cfi_endproc
	.size	pgs__task_entry, .-pgs__task_entry

	.section .note.GNU-stack,"",@progbits

/*
 * Under -fcf-protection every object must say which control-flow
 * protections it supports, or the linker drops the marking of the whole
 * shared object.  Indirect branch tracking: yes (every indirect target
 * starts with endbr64).  Shadow stacks: no, and not claimed: a switch
 * leaves through a jmp, not ret, and the calls that entered it stay on the
 * shadow stack of a context that continues elsewhere.
 */
#if defined(__CET__) && (__CET__ & 1)
	.section .note.gnu.property,"a"
	.p2align 3
	.long	4				/* name size ("GNU")           */
	.long	16				/* descriptor size             */
	.long	5				/* NT_GNU_PROPERTY_TYPE_0      */
	.asciz	"GNU"
	.long	0xc0000002			/* X86_FEATURE_1_AND           */
	.long	4				/* its data size               */
	.long	1				/* IBT                         */
	.p2align 3
#endif
