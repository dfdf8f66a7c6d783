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

/* PVH entry (Xen's HVM direct boot ABI, used by QEMU for ELF kernels):
 * 32-bit protected mode, paging off, EBX = hvm_start_info. The guest builds
 * its own identity map of 4 GiB and enters long mode; guest_main gets a NULL
 * zero page (it only greets and halts). Used by bench/vmm_boot.sh to compare
 * VMM start-up with QEMU on a guest that does almost nothing. */
	.section .text.start, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	lgdt	pvh_gdt_desc
	mov	$pvh_pd, %edi
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$21, %eax
	or	$0x83, %eax		/* present, writable, 2 MiB */
	mov	%eax, (%edi,%ecx,8)
	movl	$0, 4(%edi,%ecx,8)
	inc	%ecx
	cmp	$2048, %ecx
	jne	1b
	mov	$pvh_pdpt, %edi
	xor	%ecx, %ecx
2:	mov	%ecx, %eax
	shl	$12, %eax
	add	$pvh_pd + 3, %eax
	mov	%eax, (%edi,%ecx,8)
	movl	$0, 4(%edi,%ecx,8)
	inc	%ecx
	cmp	$4, %ecx
	jne	2b
	movl	$pvh_pdpt + 3, pvh_pml4
	movl	$0, pvh_pml4 + 4
	mov	$0x20, %eax		/* CR4.PAE */
	mov	%eax, %cr4
	mov	$pvh_pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	$0x80000011, %eax	/* PG | ET | PE */
	mov	%eax, %cr0
	ljmp	$0x08, $pvh_long
	.code64
pvh_long:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	lea	stack_top(%rip), %rsp
	xor	%edi, %edi
	call	guest_main
3:	cli
	hlt
	jmp	3b

	.section .note.Xen, "a", @note
	.align 4
	.long 4, 4, 18		/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start32

	.section .text
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
pvh_gdt_desc:
	.word 23
	.long gdt

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
pvh_pml4:
	.space 4096
pvh_pdpt:
	.space 4096
pvh_pd:
	.space 4096 * 4
	.globl ap_stacks
ap_stacks:
	.space 4096 * 9
stack:
	.space 16384
stack_top:
