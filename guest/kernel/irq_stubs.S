/* Device interrupt vectors: each stub saves the registers the C ABI may
 * clobber and calls its handler (virtio.c's virtio_irq, kbd.c's kbd_irq)
 * through irq_call (smp.c: the big kernel lock), then returns with IRETQ.
 * They arrive in user mode, during cpu_idle's HLT or during a helper run,
 * never elsewhere in the kernel (interrupts are off there); from CPL3 GS is
 * swapped in and out. Entry leaves RSP = 8 mod 16; nine pushes realign it. */
.macro IRQ_STUB name, handler
	.globl \name
\name:
	testb	$3, 8(%rsp)
	jz	1f
	swapgs
1:	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	cld
	lea	\handler(%rip), %rdi
	call	irq_call
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	testb	$3, 8(%rsp)
	jz	2f
	swapgs
2:	iretq
.endm

	.text
	IRQ_STUB virtio_irq_stub, virtio_irq
	IRQ_STUB kbd_irq_stub, kbd_irq
	.section .note.GNU-stack, "", @progbits
