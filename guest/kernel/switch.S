/* Task switching (sched.c, task.c).
 *
 * switch_to(save_ksp, next_ksp): saves the callee-saved registers on this
 * task's kernel stack and its RSP in *save_ksp, then resumes the task whose
 * saved RSP is next_ksp. Everything else a task needs (CR3, RSP0, FS base,
 * FPU) sched.c switches around this call.
 *
 * A new task's stack (task.c) holds zeroed callee-saved registers and the
 * address of task_start, above which its user registers (a struct
 * trap_frame) sit at the top of the stack: its first switch_to "returns"
 * into task_start, which leaves for user mode the way every trap does. */
	.text
	.globl switch_to
switch_to:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, (%rdi)
	mov	%rsi, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret

	.globl task_start
task_start:
	call	sched_tail
	mov	%rsp, %rdi
	call	task_first_run
	jmp	user_exit
	.section .note.GNU-stack, "", @progbits
