/* Device interrupt vectors: each stub saves the registers the C ABI may
 * clobber and calls its handler (virtio.c's virtio_irq<i>, one per device
 * slot; kbd.c's kbd_irq)
 * through irq_call (smp.c: the big kernel lock), then returns with IRETQ.
 * They arrive in user mode, during cpu_idle's HLT or during a helper run,
 * never elsewhere in the kernel (interrupts are off there); from CPL3 GS is
 * swapped in and out, and from CPL0 the GS base is checked as trap_common
 * checks it (boot.S). */
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
	push	%rbx
	sub	$8, %rsp			/* 11 slots: RSP 16-byte aligned */
	xor	%ebx, %ebx			/* RBX: GS swapped at entry */
	testb	$3, 96(%rsp)			/* CS */
	jnz	1f
	mov	$0xc0000101, %ecx		/* MSR_GS_BASE, as trap_common (boot.S) */
	rdmsr
	test	%edx, %edx
	js	2f
1:	swapgs
	mov	$1, %ebx
2:	cld
	lea	\handler(%rip), %rdi
	call	irq_call
	test	%ebx, %ebx
	jz	3f
	swapgs
3:	add	$8, %rsp
	pop	%rbx
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
	.irp i, 0, 1, 2, 3, 4, 5, 6, 7		/* MAX_VIRTIO_DEVS */
	IRQ_STUB virtio_irq\i\()_stub, virtio_irq\i
	.endr
	IRQ_STUB kbd_irq_stub, kbd_irq
	.section .note.GNU-stack, "", @progbits
