/* The virtio interrupt vector: saves the registers the C ABI may clobber,
 * calls virtio_irq (virtio.c) and returns with IRETQ. It can arrive in user
 * mode or during cpu_idle's HLT, never elsewhere in the kernel (interrupts
 * are off there). Entry leaves RSP = 8 mod 16; nine pushes realign it. */
	.text
	.globl virtio_irq_stub
virtio_irq_stub:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	cld
	call	virtio_irq
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq
	.section .note.GNU-stack, "", @progbits
