/* SYSCALL entry set-up and the dispatch table. Unknown calls return -ENOSYS
 * and, with carve.debug, are logged once each.
 *
 * Two ways in. On hardware KVM, SYSCALL enters syscall_entry (boot.S) at
 * CPL0. On this project's PVM hosts, SYSCALL from CPL3 jumps to LSTAR but
 * stays at CPL3 (measured: CS still 0x33, RFLAGS already masked); the
 * kernel page at LSTAR is supervisor-only, so the fetch faults, and a user
 * page fault at exactly LSTAR is a system call: RCX and R11 hold the return
 * RIP and RFLAGS as SYSCALL left them (boot.S, trap_stub_14). Both paths end
 * in syscall_dispatch and return with IRETQ. */
#include "syscalls.h"

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define EFER_SCE 1
#define EFER_NXE (1 << 11)
/* Masked on entry: TF, IF, DF, IOPL, NT, AC (Linux masks the same). */
#define FMASK_BITS 0x47700

typedef int64_t (*sysfn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
#define NR_MAX 450

#define ENTRY(nr, name) [nr] = sys_##name,
static const sysfn table[NR_MAX] = {SYSCALL_LIST(ENTRY)};
#undef ENTRY

static uint8_t logged[NR_MAX / 8 + 1];
extern void syscall_entry(void);

void syscall_init(void)
{
	uint32_t r[4];
	uint64_t efer = rdmsr(MSR_EFER) | EFER_SCE;
	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		if (r[3] & (1u << 20)) {
			efer |= EFER_NXE;
			proc.nx = true;
		}
	}
	wrmsr(MSR_EFER, efer);
	/* STAR: kernel CS 0x10 (SS 0x18); user base 0x23, so SYSRET would use
	 * SS 0x2b and CS 0x33, the GDT order gdt.c keeps. */
	wrmsr(MSR_STAR, (0x23ull << 48) | (0x10ull << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_FMASK, FMASK_BITS);
}

int64_t syscall_dispatch(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
			 uint64_t nr)
{
	if (nr < NR_MAX && table[nr])
		return table[nr](a0, a1, a2, a3, a4, a5);
	if (nr == HELPER_DONE_NR && helper_active)
		helper_resume();
	if (boot_opts.debug && (nr >= NR_MAX || !(logged[nr / 8] & (1 << (nr % 8))))) {
		if (nr < NR_MAX)
			logged[nr / 8] |= (uint8_t)(1 << (nr % 8));
		kdebug("unimplemented system call %lu (args %lx %lx %lx); returning ENOSYS\n", nr, a0, a1,
		       a2);
	}
	return -ENOSYS;
}
