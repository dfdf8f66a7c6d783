/* Entry from the VMM, the trap and system-call entry stubs, and the way into
 * user mode.
 *
 * The VMM enters _start at its physical address in 64-bit mode with RSI = the
 * zero page and the first 4 GiB identity-mapped. We load our own page tables
 * (built at assembly time, so no emulated loop runs at boot): the same 4 GiB
 * at PHYS_BASE (the direct map) and at 0 (only until we run high), and the
 * first GiB again at KERNEL_VBASE where the kernel is linked.
 *
 * Return to user mode is always IRETQ: SYSRET cannot run in KVM's emulator on
 * PVM hosts (DESIGN.md), and IRETQ is correct everywhere. */
#define KERNEL_VBASE 0xffffffff80000000
#define PG_PRESENT_RW 0x3
#define PG_LARGE 0x83
#define PG_LARGE_UC 0x9b	/* + PWT|PCD for the 32-bit MMIO hole */
#define KSTACK_SIZE 65536
#define SYSCALL_VECTOR 0x80	/* a trap frame's vector for a system call (no gate has it) */
/* struct cpu's fields (cpu.h), reached through GS in the kernel. */
#define CPU_USER_RSP 8
#define CPU_KSTACK_CUR 16
#define CPU_HELPER_KSP 24
#define CPU_TSS_RSP0_PTR 32
/* A trap frame's CS: after the vector and error code (entry), or after the
 * 15 saved registers too (exit). */
#define TF_CS_ENTRY 24
#define TF_CS_SAVED 144

	.section .text.boot, "ax"
	.code64
	.globl _start
_start:
	cli
	cld
	mov	%rsi, %r12			/* zero page, physical */
	lea	boot_pml4(%rip), %rax		/* running at physical addresses here */
	mov	%rax, %cr3
	movabs	$1f, %rax
	jmp	*%rax
1:	lea	kstack_top(%rip), %rsp
	xor	%ebp, %ebp
	mov	%r12, %rdi
	call	kmain
2:	cli
	hlt
	jmp	2b

/* gdt_load(desc): loads the GDT, reloads the segments and the task
 * register. GS is left alone: its base is the CPU's data (smp.c). */
	.text
	.globl gdt_load
gdt_load:
	lgdt	(%rdi)
	mov	$0x18, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	xor	%eax, %eax
	mov	%ax, %fs
	mov	$0x40, %ax
	ltr	%ax
	pop	%rax
	pushq	$0x10
	push	%rax
	lretq

/* ---- traps: one stub per vector builds a struct trap_frame ---- */
.macro TRAP_NOERR vec
	.globl trap_stub_\vec
trap_stub_\vec:
	pushq	$0
	pushq	$\vec
	jmp	trap_common
.endm
.macro TRAP_ERR vec
	.globl trap_stub_\vec
trap_stub_\vec:
	pushq	$\vec
	jmp	trap_common
.endm

.macro SAVE_REGS
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
.endm
.macro RESTORE_REGS
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
.endm

TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR 8
TRAP_NOERR 9
TRAP_ERR 10
TRAP_ERR 11
TRAP_ERR 12
TRAP_ERR 13

/* #PF. A fault at exactly LSTAR is a SYSCALL that stayed at CPL3 (PVM hosts,
 * see syscall.c): it takes the short path below, not the general one. The
 * comparison is a sign-extended 32-bit immediate (the kernel code model). */
	.globl trap_stub_14
trap_stub_14:
	cmpq	$syscall_entry, 8(%rsp)
	je	1f
	pushq	$14
	jmp	trap_common
1:	mov	%rcx, 8(%rsp)			/* return to the instruction after SYSCALL */
	and	$0x3c7fd7, %r11			/* SYSRET's RFLAGS rule */
	or	$2, %r11
	mov	%r11, 24(%rsp)
	pushq	$SYSCALL_VECTOR			/* the error code stays: a trap frame */
	swapgs					/* from CPL3: the kernel's GS */
	jmp	syscall_common
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR 17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR 21
TRAP_NOERR 64	/* LAPIC timer */
TRAP_NOERR 241	/* IPI: look at the scheduler (smp.c) */
TRAP_NOERR 242	/* IPI: TLB shootdown */
TRAP_NOERR 255	/* spurious */

/* From CPL3 (a program, or helper.c's stub) GS holds the program's base:
 * SWAPGS in, and SWAPGS back out just before IRETQ to CPL3.
 *
 * In the kernel GS is the kernel's, except in the windows between
 * SYSCALL and its SWAPGS and between the SWAPGS and IRETQ on the way out,
 * where interrupts are off. An interrupt there (an emulated SVM that
 * delivers one regardless of IF, as the hardware-KVM bed's QEMU does with
 * two L1 CPUs) would run with the program's GS: a trap from CPL0 reads
 * the GS base (as Linux's paranoid entry does), swaps if it is not a kernel
 * address, and swaps back on its way out (RBX, callee-saved, remembers). */
trap_common:
	testb	$3, TF_CS_ENTRY(%rsp)
	jz	2f
	swapgs
	SAVE_REGS
	jmp	3f
2:	SAVE_REGS
	xor	%ebx, %ebx
	mov	$0xc0000101, %ecx		/* MSR_GS_BASE */
	rdmsr
	test	%edx, %edx
	js	3f				/* the kernel's: the usual case */
	swapgs
	mov	$1, %ebx
3:	mov	%rsp, %rdi
	call	trap_dispatch
	.globl	user_exit
user_exit:					/* also a new task's way out (switch.S) */
	mov	%rsp, %rdi
	call	kernel_exit			/* the lock, on a return to user mode */
	testb	$3, TF_CS_SAVED(%rsp)
	jnz	2f
	test	%ebx, %ebx			/* to CPL0: only from trap_common, RBX its flag */
	jz	1f
	swapgs
1:	RESTORE_REGS
	add	$16, %rsp
	iretq
2:	RESTORE_REGS
	add	$16, %rsp
	swapgs
	iretq

/* ---- SYSCALL: IF, TF, DF and AC are masked by MSR_FMASK on entry, so the
 * user RSP can be parked in the CPU's data until it is on the stack.
 * Both entries build a whole struct trap_frame (idt.c's layout, vector
 * SYSCALL_VECTOR) on the task's kernel stack: clone copies it to the child
 * and a signal handler's frame saves it, so every register must be there. */
	.globl syscall_entry
syscall_entry:
	swapgs
	mov	%rsp, %gs:CPU_USER_RSP
	mov	%gs:CPU_KSTACK_CUR, %rsp	/* the task's stack top, or below a helper_run */
	pushq	$0x2b				/* user SS */
	pushq	%gs:CPU_USER_RSP
	push	%r11				/* user RFLAGS */
	pushq	$0x33				/* user CS */
	push	%rcx				/* user RIP */
	pushq	$0				/* error code */
	pushq	$SYSCALL_VECTOR
syscall_common:
	SAVE_REGS
	mov	%rsp, %rdi
	call	syscall_handler
	jmp	user_exit

/* enter_user_on(rip, rsp, kstack_top): entry into a new program image
 * (boot, execve), all registers zero, on the task's empty kernel stack
 * (execve never returns). */
	.globl enter_user_on
enter_user_on:
	mov	%rdx, %rsp
	pushq	$0x2b
	push	%rsi
	pushq	$0x202				/* IF set */
	pushq	$0x33
	push	%rdi
	xor	%eax, %eax
	mov	%ax, %ds
	mov	%ax, %es
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%ebp, %ebp
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	swapgs
	iretq

/* helper_run(dst, count, src): runs the stub (helper.c) at CPL3 and
 * returns when its SYSCALL arrives (helper_resume). Traps and system calls
 * during the run must land below this frame, so RSP0 and the SYSCALL stack
 * are moved down to here for its duration. */
	.globl helper_run
helper_run:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	pushq	%gs:CPU_KSTACK_CUR		/* the task's, put back by helper_resume */
	sub	$8, %rsp
	mov	%rsp, %gs:CPU_HELPER_KSP
	mov	%rsp, %gs:CPU_KSTACK_CUR
	mov	%gs:CPU_TSS_RSP0_PTR, %rax
	mov	%rsp, (%rax)
	mov	%rsi, %rcx
	mov	%rdx, %rsi
	pushq	$0x2b
	pushq	$0
	pushq	$0x202
	pushq	$0x33
	movabs	$0x7fff80000000, %rax		/* HELPER_CODE_VA */
	push	%rax
	swapgs
	iretq

	.globl helper_resume
helper_resume:
	mov	%gs:CPU_HELPER_KSP, %rsp
	add	$8, %rsp
	pop	%rax
	mov	%rax, %gs:CPU_KSTACK_CUR
	mov	%gs:CPU_TSS_RSP0_PTR, %rdx
	mov	%rax, (%rdx)
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret

/* cpu_idle(): enables interrupts for exactly one HLT (STI's one-instruction
 * shadow closes the wake-up race), then masks them again. */
	.globl cpu_idle
cpu_idle:
	sti
	hlt
	cli
	ret

	.section .bss
	.align 4096
	.globl kstack_bottom, kstack_top
kstack_bottom:
	.space KSTACK_SIZE
kstack_top:
	.globl df_stack_top
	.space 8192
df_stack_top:

/* ---- AP start-up (smp.c): the real-mode trampoline, copied to 0x10000
 * and entered by SIPI (CS 0x1000, IP 0). 16-bit to long mode at once (PAE,
 * CR3, EFER.LME, then PE|PG), on tables that map the low 4 GiB at 0 too, to
 * ap_entry's physical address; from there up to the kernel's addresses. */
#define TRAMP_PA 0x10000
	.section .rodata
	.code16
	.globl ap_tramp, ap_tramp_end, ap_tramp_cr3
ap_tramp:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	(ap_tramp_gdt_desc - ap_tramp)
	mov	$0x20, %eax			/* PAE */
	mov	%eax, %cr4
	mov	(ap_tramp_cr3 - ap_tramp), %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	$0x80000011, %eax		/* PG | ET | PE */
	mov	%eax, %cr0
	ljmpl	*(ap_tramp_farptr - ap_tramp)
	.align 8
ap_tramp_gdt:
	.quad 0
	.quad 0x00af9b000000ffff		/* 0x08: 64-bit code */
	.quad 0x00cf93000000ffff		/* 0x10: data */
ap_tramp_gdt_desc:
	.word 23
	.long TRAMP_PA + (ap_tramp_gdt - ap_tramp)
ap_tramp_cr3:
	.long 0
ap_tramp_farptr:
	.long ap_entry - KERNEL_VBASE
	.word 0x08
ap_tramp_end:
	.code64

	.text
ap_entry:					/* at its physical address */
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	movabs	$1f, %rax
	jmp	*%rax
1:	mov	$boot_pml4 - KERNEL_VBASE, %rax	/* the kernel's own tables */
	mov	%rax, %cr3
	mov	ap_boot_rsp(%rip), %rsp
	xor	%ebp, %ebp
	call	ap_main
2:	cli
	hlt
	jmp	2b

	.section .data
	.globl ap_boot_rsp
ap_boot_rsp:
	.quad	0

/* ---- boot page tables (reused as the kernel's own: paging.c drops the
 * identity half once we run high) ---- */
	.section .data.pagetables, "aw"
	.align 4096
	.globl boot_pml4, boot_pdpt_direct
boot_pml4:
	.quad	boot_pdpt_direct - KERNEL_VBASE + PG_PRESENT_RW		/* 0: identity, boot only */
	.fill	255, 8, 0
	.quad	boot_pdpt_direct - KERNEL_VBASE + PG_PRESENT_RW		/* 256: PHYS_BASE */
	.fill	254, 8, 0
	.quad	boot_pdpt_kernel - KERNEL_VBASE + PG_PRESENT_RW		/* 511: kernel image */
boot_pdpt_direct:
	.quad	boot_pd - KERNEL_VBASE + PG_PRESENT_RW
	.quad	boot_pd + 4096 - KERNEL_VBASE + PG_PRESENT_RW
	.quad	boot_pd + 8192 - KERNEL_VBASE + PG_PRESENT_RW
	.quad	boot_pd + 12288 - KERNEL_VBASE + PG_PRESENT_RW
	.fill	508, 8, 0
boot_pdpt_kernel:
	.fill	510, 8, 0
	.quad	boot_pd - KERNEL_VBASE + PG_PRESENT_RW			/* -2 GiB: first GiB */
	.quad	0
boot_pd:
	.set	i, 0
	.rept	1536
	.quad	(i << 21) + PG_LARGE
	.set	i, i + 1
	.endr
	.rept	512
	.quad	(i << 21) + PG_LARGE_UC
	.set	i, i + 1
	.endr
