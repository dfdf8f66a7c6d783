/* Entry, exception stubs and the AP start-up trampoline of the test guest.
 * The VMM enters _start in 64-bit mode with RSI = zero page (Linux 64-bit
 * boot protocol); the guest then uses only its own GDT, stack and IDT. */
#define TRAMP_BASE 0x10000

	.section .text.start, "ax"
	.code64
	.globl _start
_start:
	cli
	lea	stack_top(%rip), %rsp
	mov	%rsi, %rdi
	lgdt	gdt_desc(%rip)
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	pushq	$0x08
	lea	1f(%rip), %rax
	push	%rax
	lretq
1:	call	guest_main
2:	cli
	hlt
	jmp	2b

/* #GP: count it and skip the 2-byte faulting instruction (RDMSR/WRMSR). */
	.globl gp_stub
gp_stub:
	push	%rax
	lock incq gp_count(%rip)
	mov	16(%rsp), %rax
	add	$2, %rax
	mov	%rax, 16(%rsp)
	pop	%rax
	add	$8, %rsp
	iretq

/* Application processors arrive here in 64-bit mode from the trampoline. */
	.globl ap_entry64
ap_entry64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$1, %eax
	lock xadd %eax, ap_stack_idx(%rip)
	inc	%eax
	shl	$12, %rax
	lea	ap_stacks(%rip), %rsp
	add	%rax, %rsp
	call	ap_main
3:	cli
	hlt
	jmp	3b

	.section .rodata
	.align 8
gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf93000000ffff	/* 0x10: data */
gdt_desc:
	.word 23
	.quad gdt

/* Real-mode trampoline, copied to TRAMP_BASE by the BSP (SIPI vector 0x10):
 * 16-bit -> long mode directly (PAE, CR3, EFER.LME, then PE|PG at once),
 * the way a minimal AP start-up does it. tramp_cr3 is patched by the BSP. */
	.section .data
	.code16
	.globl tramp_start, tramp_end, tramp_cr3
tramp_start:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	(tramp_gdt_desc - tramp_start)
	mov	$0x20, %eax
	mov	%eax, %cr4
	mov	(tramp_cr3 - tramp_start), %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	$0x80000011, %eax
	mov	%eax, %cr0
	ljmpl	*(tramp_farptr - tramp_start)
	.align 8
tramp_gdt:
	.quad 0
	.quad 0x00af9b000000ffff
	.quad 0x00cf93000000ffff
tramp_gdt_desc:
	.word 23
	.long TRAMP_BASE + (tramp_gdt - tramp_start)
tramp_cr3:
	.long 0
tramp_farptr:
	.long ap_entry64
	.word 0x08
tramp_end:
	.code64

	.section .bss
	.align 4096
	.globl ap_stacks
ap_stacks:
	.space 4096 * 9
stack:
	.space 16384
stack_top:
