/* The CPL3 stub helper.c copies to its user page (HELPER_CODE_VA); boot.S's
 * helper_run enters it with RDI = dst, RCX = count, RSI = src:
 *   RDI != 0, RSI != 0   copy RCX bytes from RSI to RDI;
 *   RDI != 0, RSI == 0   zero RCX quadwords at RDI;
 *   RDI == 0             run RCX copies listed at RSI, 24 bytes each
 *                        (dst, src, length), one after another.
 * Then it reports back with SYSCALL HELPER_DONE_NR. In list mode R8 counts
 * the copies done, so when a fault on a program address ends the run
 * (helper_fault), R8 and the bytes the copy had left, RCX * R11 + RDX (see
 * COPY), say how far it got. Position-independent and never run in place;
 * it touches no memory but the lines it is given, and no stack. */

/* RCX bytes from RSI to RDI: quadwords, then the last 0-7 bytes. Where
 * string moves are emulated one element at a time (QEMU's TCG, which runs
 * the test bed) a byte move costs as much as a quadword one: 8 times the
 * work of this. While a MOVS runs, RCX * R11 + RDX is what is left. */
.macro COPY
	mov	%rcx, %rdx
	and	$7, %edx
	shr	$3, %rcx
	mov	$8, %r11d
	rep movsq
	mov	%rdx, %rcx
	mov	$1, %r11d
	xor	%edx, %edx
	rep movsb
.endm

	.section .rodata
	.globl helper_stub, helper_stub_end
helper_stub:
	test	%rdi, %rdi
	jz	3f
	test	%rsi, %rsi
	jz	1f
	COPY
	jmp	2f
1:	xor	%eax, %eax
	rep stosq
	jmp	2f
3:	mov	%rsi, %r9
	mov	%rcx, %r10
	xor	%r8d, %r8d
4:	cmp	%r10, %r8
	jae	2f
	mov	(%r9), %rdi
	mov	8(%r9), %rsi
	mov	16(%r9), %rcx
	COPY
	add	$24, %r9
	inc	%r8
	jmp	4b
2:	mov	$0x7ca7, %eax			/* HELPER_DONE_NR */
	syscall
	ud2
helper_stub_end:
	.section .note.GNU-stack, "", @progbits
