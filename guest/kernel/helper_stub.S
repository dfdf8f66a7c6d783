/* The CPL3 stub helper.c copies to its user page (HELPER_CODE_VA); boot.S's
 * helper_run enters it with RDI = dst, RCX = count, RSI = src:
 *   RDI != 0, RSI != 0   copy RCX bytes from RSI to RDI;
 *   RDI != 0, RSI == 0   zero RCX quadwords at RDI;
 *   RDI == 0             run RCX copies listed at RSI, 24 bytes each
 *                        (dst, src, length), one after another.
 * Then it reports back with SYSCALL HELPER_DONE_NR. In list mode R8 counts
 * the copies done, so when a fault on a program address ends the run
 * (helper_fault), R8 and RCX say how far it got. Position-independent and
 * never run in place; it touches no memory but the lines it is given. */
	.section .rodata
	.globl helper_stub, helper_stub_end
helper_stub:
	test	%rdi, %rdi
	jz	3f
	test	%rsi, %rsi
	jz	1f
	rep movsb
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
	rep movsb
	add	$24, %r9
	inc	%r8
	jmp	4b
2:	mov	$0x7ca7, %eax			/* HELPER_DONE_NR */
	syscall
	ud2
helper_stub_end:
	.section .note.GNU-stack, "", @progbits
