/* Device interrupt vectors: each stub saves the registers the C ABI may
 * clobber, calls its handler (virtio.c's virtio_irq, kbd.c's kbd_irq) and
 * returns with IRETQ. They arrive in user mode or during cpu_idle's HLT,
 * never elsewhere in the kernel (interrupts are off there). Entry leaves
 * RSP = 8 mod 16; nine pushes realign it. */
.macro IRQ_STUB name, handler
	.globl \name
\name:
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
	call	\handler
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
.endm

	.text
	IRQ_STUB virtio_irq_stub, virtio_irq
	IRQ_STUB kbd_irq_stub, kbd_irq
	.section .note.GNU-stack, "", @progbits
