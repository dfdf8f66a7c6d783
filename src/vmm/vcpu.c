/* vCPUs: creation, CPUID and MSRs, the 64-bit boot state of the boot CPU, and
 * the thread that runs each one.
 *
 * Application processors are left as KVM creates them with an in-kernel
 * irqchip: waiting for INIT/SIPI, which the guest sends through its LAPIC the
 * way Linux starts secondary CPUs. Only their CPUID, MSRs and LINT pins are set. */
#include <errno.h>
#include <linux/kvm.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "carve/confine.h"
#include "vmm/vmm_internal.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MISC_ENABLE_FAST_STRING 1ull
#define MTRR_ENABLE (1ull << 11)
#define MTRR_TYPE_WB 6ull

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 4u
#define APIC_MODE_EXTINT 7u

static int set_msrs(struct vcpu *v)
{
	/* struct kvm_msrs ends in a flexible array: give it room for two. */
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + 2 * sizeof(struct kvm_msr_entry)];
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 2;
	m.hdr.entries[0].index = MSR_IA32_MISC_ENABLE;
	m.hdr.entries[0].data = MISC_ENABLE_FAST_STRING;
	m.hdr.entries[1].index = MSR_MTRR_DEF_TYPE;
	m.hdr.entries[1].data = MTRR_ENABLE | MTRR_TYPE_WB; /* all RAM write-back */
	/* KVM_SET_MSRS returns how many it set. */
	return ioctl(v->fd, KVM_SET_MSRS, &m) == 2 ? 0 : -1;
}

static uint32_t lvt_mode(uint32_t reg, uint32_t mode) { return (reg & ~0x700u) | (mode << 8); }

/* LINT0 is the legacy PIC's ExtINT line, LINT1 NMI, as the MP spec's virtual
 * wire mode wires them. */
static int set_lint(struct vcpu *v)
{
	struct kvm_lapic_state la;
	if (ioctl(v->fd, KVM_GET_LAPIC, &la) < 0)
		return -1;
	uint32_t r0, r1;
	memcpy(&r0, la.regs + APIC_LVT0, 4);
	memcpy(&r1, la.regs + APIC_LVT1, 4);
	r0 = lvt_mode(r0, APIC_MODE_EXTINT);
	r1 = lvt_mode(r1, APIC_MODE_NMI);
	memcpy(la.regs + APIC_LVT0, &r0, 4);
	memcpy(la.regs + APIC_LVT1, &r1, 4);
	return ioctl(v->fd, KVM_SET_LAPIC, &la);
}

int vcpu_create(struct vmm *vm, int index, struct carve_err *err)
{
	struct vcpu *v = &vm->vcpus[index];
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0)
		return carve_fail(err, E73_VCPU_SETUP, "KVM_CREATE_VCPU %d failed: %s", index,
				  strerror(errno));
	v->run = mmap(NULL, (size_t)vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return carve_fail(err, E73_VCPU_SETUP, "cannot map the run area of vCPU %d: %s", index,
				  strerror(errno));
	}
	/* CPUID first: KVM decides which MSRs exist from it. */
	struct kvm_cpuid2 *c = cpuid_for_vcpu(vm->cpuid_base, index, vm->ncpus, vm->cpu_template);
	if (!c)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	int r = ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	if (r < 0)
		return carve_fail(err, E73_VCPU_SETUP, "KVM_SET_CPUID2 on vCPU %d failed: %s", index,
				  strerror(errno));
	struct kvm_enable_cap cap = {.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = {1}};
	if (ioctl(v->fd, KVM_ENABLE_CAP, &cap) < 0)
		return carve_fail(err, E73_VCPU_SETUP,
				  "enabling KVM_CAP_ENFORCE_PV_FEATURE_CPUID on vCPU %d failed: %s", index,
				  strerror(errno));
	if (set_msrs(v) < 0)
		return carve_fail(err, E73_VCPU_SETUP, "KVM_SET_MSRS on vCPU %d failed", index);
	if (set_lint(v) < 0)
		return carve_fail(err, E73_VCPU_SETUP, "setting the LAPIC LINT pins of vCPU %d failed: %s",
				  index, strerror(errno));
	return 0;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, bool code)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code ? 0 : 1,
		.s = 1,
		.l = code ? 1 : 0,
		.g = 1,
	};
}

int vcpu_setup_boot(struct vcpu *v, uint64_t entry, struct carve_err *err)
{
	struct kvm_sregs sr;
	if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		return carve_fail(err, E73_VCPU_SETUP, "KVM_GET_SREGS failed: %s", strerror(errno));
	/* Selectors match the GDT pagetables.c writes at LAYOUT_GDT. */
	sr.cs = seg(0x08, 0xb, true);
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = seg(0x10, 0x3, false);
	sr.tr = (struct kvm_segment){
		.base = 0, .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1, .s = 0};
	sr.gdt.base = LAYOUT_GDT;
	sr.gdt.limit = 4 * 8 - 1;
	sr.idt.base = LAYOUT_IDT;
	sr.idt.limit = 7;
	sr.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sr.cr3 = LAYOUT_PML4;
	sr.cr4 = CR4_PAE;
	sr.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0)
		return carve_fail(err, E73_VCPU_SETUP, "KVM_SET_SREGS failed: %s", strerror(errno));

	struct kvm_regs regs = {
		.rip = entry,
		.rsp = LAYOUT_STACK,
		.rbp = LAYOUT_STACK,
		.rsi = LAYOUT_ZERO_PAGE,
		.rflags = 0x2, /* interrupts off */
	};
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return carve_fail(err, E73_VCPU_SETUP, "KVM_SET_REGS failed: %s", strerror(errno));
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return carve_fail(err, E73_VCPU_SETUP, "KVM_SET_FPU failed: %s", strerror(errno));
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->kvm.run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

/* The instruction bytes at rip, through the guest's own page tables
 * (KVM_TRANSLATE), for the stop message; "" if unreadable. */
static void insn_bytes(struct vcpu *v, uint64_t rip, char *out, size_t cap)
{
	out[0] = 0;
	struct kvm_translation tr = {.linear_address = rip};
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return;
	uint8_t b[15];
	size_t n = sizeof(b);
	/* Stop at the page end: the next page may map elsewhere. */
	if ((tr.physical_address & 0xfff) + n > 4096)
		n = 4096 - (tr.physical_address & 0xfff);
	if (gm_read(&v->vm->mem, tr.physical_address, b, n) < 0)
		return;
	size_t o = (size_t)snprintf(out, cap, ", code");
	for (size_t i = 0; i < n && o + 4 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, " %02x", b[i]);
}

static void stop_with_regs(struct vcpu *v, enum vmm_stop_reason r, const char *what)
{
	struct kvm_regs regs;
	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0) {
		char code[64];
		insn_bytes(v, regs.rip, code, sizeof(code));
		vmm_stop(v->vm, r, v->index, "%s on vCPU %d at rip 0x%llx%s", what, v->index,
			 (unsigned long long)regs.rip, code);
	} else {
		vmm_stop(v->vm, r, v->index, "%s on vCPU %d", what, v->index);
	}
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vmm_stop(v->vm, VMM_STOP_POWEROFF, v->index, "guest shut down (KVM system event)");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vmm_stop(v->vm, VMM_STOP_RESET_ACPI, v->index, "guest reset (KVM system event)");
		break;
	default:
		vmm_stop(v->vm, VMM_STOP_SYSTEM_EVENT, v->index, "KVM system event %u (crash)",
			 v->run->system_event.type);
		break;
	}
}

/* One exit; false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO: exit_pio(v); return true;
	case KVM_EXIT_MMIO: exit_mmio(v); return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT: /* only without an in-kernel LAPIC; nothing to do */ return true;
	case KVM_EXIT_SHUTDOWN: stop_with_regs(v, VMM_STOP_TRIPLE_FAULT, "triple fault"); return false;
	case KVM_EXIT_SYSTEM_EVENT: handle_system_event(v); return false;
	case KVM_EXIT_INTERNAL_ERROR: {
		char what[96];
		snprintf(what, sizeof(what), "KVM internal error (suberror %u%s)", run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
				 ? ", instruction emulation failed"
				 : "");
		stop_with_regs(v, VMM_STOP_INTERNAL_ERROR, what);
		return false;
	}
	case KVM_EXIT_FAIL_ENTRY:
		vmm_stop(v->vm, VMM_STOP_FAIL_ENTRY, v->index,
			 "vCPU %d entry failed (hardware reason 0x%llx): invalid guest state", v->index,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		vmm_stop(v->vm, VMM_STOP_UNHANDLED_EXIT, v->index, "unhandled KVM exit %u on vCPU %d",
			 run->exit_reason, v->index);
		return false;
	}
}

void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vmm *vm = v->vm;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%d", v->index);
	pthread_setname_np(pthread_self(), name); /* for top, perf and /proc */
	if (v->pin >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(v->pin, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
			vmm_stop(vm, VMM_STOP_HOST_ERROR, v->index, "cannot pin vCPU %d to host CPU %d",
				 v->index, v->pin);
			return NULL;
		}
	}
	/* From here it only runs the guest: its allow-list (in an enclave). */
	confine_this_thread(CONFINE_VCPU_THREAD);
	vcpu_pause_register(v);
	while (!atomic_load(&vm->stopping)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* kicked (or a signal): re-check stopping, or wait
				 * while another vCPU changes memory slots */
				vcpu_pause_park(v);
				continue;
			}
			vmm_stop(vm, VMM_STOP_HOST_ERROR, v->index, "KVM_RUN on vCPU %d failed: %s", v->index,
				 strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
	vcpu_pause_leave(v);
	return NULL;
}
