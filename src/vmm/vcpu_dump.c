/* Where a guest was when someone asked (vmm_request_dump: `carve vmm` on
 * SIGQUIT): each vCPU's state and the top of its stack, printed once every
 * vCPU thread has left KVM_RUN for good, so the ioctls below never wait for
 * a running vCPU.
 *
 * A guest that hangs shows nothing on its console; these lines say which
 * instruction each vCPU sat at, whether it was halted, in user or kernel
 * mode, and which return addresses its stack held (the carve kernel has no
 * frame pointers: the stack's words are printed as they are, and a reader
 * with the kernel's symbols, tests/lib/carve_kernel.sh's symbolize, names
 * those that are code). Guest addresses are translated by KVM with the
 * vCPU's own page tables and read through gm_ptr, so a stack pointer the
 * guest broke prints "not mapped", never reads outside guest RAM. */
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_internal.h"

#define DUMP_STACK_WORDS 24

static const char *mp_state_name(uint32_t s)
{
	switch (s) {
	case KVM_MP_STATE_RUNNABLE: return "runnable";
	case KVM_MP_STATE_UNINITIALIZED: return "waiting for INIT";
	case KVM_MP_STATE_INIT_RECEIVED: return "waiting for SIPI";
	case KVM_MP_STATE_HALTED: return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED: return "SIPI received";
	default: return "other";
	}
}

/* The guest-physical address of gva in this vCPU's current address space,
 * or -1 when its page tables do not map it. */
static int64_t translate(const struct vcpu *v, uint64_t gva)
{
	struct kvm_translation t = {.linear_address = gva};
	if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return -1;
	return (int64_t)t.physical_address;
}

/* Up to n words at gva, stopping at the first page that is not mapped;
 * returns how many were read. */
static int read_words(const struct vcpu *v, uint64_t gva, uint64_t *out, int n)
{
	int got = 0;
	while (got < n) {
		uint64_t at = gva + (uint64_t)got * 8;
		int64_t gpa = translate(v, at);
		/* A word that straddles a page is not read (stacks are 8-aligned). */
		const void *p = gpa < 0 || (at & 0xfff) > 0xff8 ? NULL
								: gm_ptr(&v->vm->mem, (uint64_t)gpa, 8);
		if (!p)
			break;
		memcpy(&out[got++], p, 8);
	}
	return got;
}

void vcpu_dump(const struct vcpu *v, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_mp_state mp = {0};
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "vmm: vCPU %d: its registers cannot be read\n", v->index);
		return;
	}
	bool have_mp = ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0;
	fprintf(f, "vmm: vCPU %d: %s, rip 0x%llx cpl %u rflags 0x%llx rsp 0x%llx cr3 0x%llx cr2 0x%llx\n",
		v->index, have_mp ? mp_state_name(mp.mp_state) : "state unknown", (unsigned long long)r.rip,
		s.cs.selector & 3u, (unsigned long long)r.rflags, (unsigned long long)r.rsp,
		(unsigned long long)s.cr3, (unsigned long long)s.cr2);
	fprintf(f,
		"vmm: vCPU %d: rax 0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx rsi 0x%llx rdi 0x%llx rbp 0x%llx\n",
		v->index, (unsigned long long)r.rax, (unsigned long long)r.rbx, (unsigned long long)r.rcx,
		(unsigned long long)r.rdx, (unsigned long long)r.rsi, (unsigned long long)r.rdi,
		(unsigned long long)r.rbp);
	fprintf(f,
		"vmm: vCPU %d: r8 0x%llx r9 0x%llx r10 0x%llx r11 0x%llx r12 0x%llx r13 0x%llx r14 0x%llx r15 0x%llx\n",
		v->index, (unsigned long long)r.r8, (unsigned long long)r.r9, (unsigned long long)r.r10,
		(unsigned long long)r.r11, (unsigned long long)r.r12, (unsigned long long)r.r13,
		(unsigned long long)r.r14, (unsigned long long)r.r15);
	/* Before paging (a vCPU still waiting for SIPI) there is no stack. */
	if (!(s.cr0 & 0x80000000ull)) {
		fprintf(f, "vmm: vCPU %d: stack: not read (paging is off)\n", v->index);
		return;
	}
	uint64_t words[DUMP_STACK_WORDS];
	int n = read_words(v, r.rsp, words, DUMP_STACK_WORDS);
	if (!n) {
		fprintf(f, "vmm: vCPU %d: stack: not mapped\n", v->index);
		return;
	}
	fprintf(f, "vmm: vCPU %d: stack:", v->index);
	for (int i = 0; i < n; i++)
		fprintf(f, " 0x%llx", (unsigned long long)words[i]);
	fputc('\n', f);
}
