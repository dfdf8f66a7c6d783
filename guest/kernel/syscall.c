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
#include "cpu.h"
#include "selflock.h"
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
			cpu_nx = true;
		}
	}
	wrmsr(MSR_EFER, efer);
	/* STAR: kernel CS 0x10 (SS 0x18); user base 0x23, so SYSRET would use
	 * SS 0x2b and CS 0x33, the GDT order gdt.c keeps. */
	wrmsr(MSR_STAR, (0x23ull << 48) | (0x10ull << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_FMASK, FMASK_BITS);
}

static int64_t dispatch(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
			uint64_t nr)
{
	if (nr < NR_MAX && table[nr])
		return table[nr](a0, a1, a2, a3, a4, a5);
	if (nr == HELPER_DONE_NR && current->in_helper)
		helper_resume();
	if (nr >= SYS_CARVE_TEST_FIRST && nr <= SYS_CARVE_TEST_LAST)
		return selflock_test_syscall(nr, a0, a1, a2, a3);
	if (boot_opts.debug && (nr >= NR_MAX || !(logged[nr / 8] & (1 << (nr % 8))))) {
		if (nr < NR_MAX)
			logged[nr / 8] |= (uint8_t)(1 << (nr % 8));
		kdebug("unimplemented system call %lu (args %lx %lx %lx); returning ENOSYS\n", nr, a0, a1,
		       a2);
	}
	return -ENOSYS;
}

#define MSG_NOSIGNAL 0x4000

/* A write to a pipe or socket with no reader raises SIGPIPE too, unless
 * send's flags say MSG_NOSIGNAL. */
static bool wants_sigpipe(const struct trap_frame *tf)
{
	switch (tf->error) {
	case 1:  /* write */
	case 18: /* pwrite64 */
	case 20: /* writev */
	case 40: /* sendfile */ return true;
	case 44: /* sendto */ return !(tf->r10 & MSG_NOSIGNAL);
	case 46: /* sendmsg */ return !(tf->rdx & MSG_NOSIGNAL);
	default: return false;
	}
}

/* From boot.S with the caller's registers in tf (its system-call number in
 * RAX, the arguments in RDI, RSI, RDX, R10, R8, R9). */
void syscall_handler(struct trap_frame *tf)
{
	kernel_enter(tf);
	if (current->in_helper && tf->rax == HELPER_DONE_NR)
		helper_resume(); /* helper.c's stub is done: back below its frame */
	cputime_kernel();
	current->tf = tf;
	tf->error = tf->rax; /* the number, for a restart (signal.c) */
	tf->rax = (uint64_t)dispatch(tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9, tf->rax);
	fds_release_held();
	if (boot_opts.strace)
		kprintf("[%d] %lu(%lx, %lx, %lx, %lx) = %ld\n", current->tid, tf->error, tf->rdi, tf->rsi,
			tf->rdx, tf->r10, (int64_t)tf->rax);
	if ((int64_t)tf->rax == -EPIPE && wants_sigpipe(tf))
		signal_send(curproc, current, SIGPIPE, curproc->pid);
	sched_event(); /* what it did may be what another task waits for */
	cputime_user();
	return_to_user(tf);
}
