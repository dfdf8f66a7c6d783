/* CPUID policy: what KVM supports, filtered to what carve promises a guest.
 *
 * - topology: one package of ncpus cores, one thread each; the APIC ID is the
 *   vCPU index (leaves 1, 4, 0xB, 0x1F, 0x80000008);
 * - paravirtual features (leaf 0x40000001): only the allow-list
 *   KVM_PV_ALLOWED. KVM_CAP_ENFORCE_PV_FEATURE_CPUID is enabled on every vCPU
 *   (vcpu.c), so a guest touching a PV MSR it was not given gets #GP instead of
 *   a feature we never meant to offer (Linux Documentation/virt/kvm/api.rst, KVM_CAP_ENFORCE_PV_FEATURE_CPUID);
 * - no performance-monitoring promises (leaf 0xA zeroed);
 * - the "baseline" template additionally hides VEX/EVEX-encoded extensions
 *   (AVX*, BMI1/2, FMA, F16C), the XSAVE family and CMPXCHG16B, so guests fall
 *   back to x86-64 v1 code paths. It exists for hosts whose KVM emulates guest
 *   kernel code and cannot run those instructions there (PVM, DESIGN.md); on
 *   hardware virtualization the default template is right.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_internal.h"

#define CPUID_1_ECX_PDCM (1u << 15)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define KVM_CPUID_FEATURES 0x40000001u

struct kvm_cpuid2 *cpuid_supported(int sys_fd, struct carve_err *err)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		if (!c) {
			carve_fail(err, E00_UNSPECIFIED, "out of memory");
			return NULL;
		}
		c->nent = n;
		if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		int e = errno;
		free(c);
		if (e != E2BIG) {
			carve_fail(err, E73_VCPU_SETUP, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(e));
			return NULL;
		}
	}
	carve_fail(err, E73_VCPU_SETUP, "KVM_GET_SUPPORTED_CPUID returned too many entries");
	return NULL;
}

static uint32_t bits_for(uint32_t n)
{
	uint32_t b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

static void topology_leaf(struct kvm_cpuid_entry2 *e, uint32_t apic, uint32_t ncpus)
{
	/* Level 0 is SMT (1 thread per core), level 1 is core, then none. */
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1u << 8) | 0;
		break;
	case 1:
		e->eax = bits_for(ncpus);
		e->ebx = ncpus;
		e->ecx = (2u << 8) | 1;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index & 0xff;
		break;
	}
	e->edx = apic;
}

/* CPUID.1:ECX: FMA 12, CX16 13, XSAVE 26, OSXSAVE 27, AVX 28, F16C 29. */
#define BASELINE_HIDE_1_ECX ((1u << 12) | (1u << 13) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29))
/* CPUID.7.0:EBX: BMI1 3, AVX2 5, BMI2 8, AVX-512 16,17,21,26,27,28,30,31. */
#define BASELINE_HIDE_7_EBX                                                                      \
	((1u << 3) | (1u << 5) | (1u << 8) | (1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | \
	 (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31))
/* CPUID.7.0:ECX: AVX-512 VBMI 1, VBMI2 6, VAES 9, VPCLMULQDQ 10, VNNI 11,
 * BITALG 12, VPOPCNTDQ 14. */
#define BASELINE_HIDE_7_ECX \
	((1u << 1) | (1u << 6) | (1u << 9) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 14))
/* CPUID.7.0:EDX: AVX-512 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, FP16 23, AMX 22,24,25. */
#define BASELINE_HIDE_7_EDX \
	((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25))
/* CPUID.0x80000001:ECX: XOP 11, FMA4 16, TBM 21. */
#define BASELINE_HIDE_81_ECX ((1u << 11) | (1u << 16) | (1u << 21))

static void baseline(struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 1: e->ecx &= ~BASELINE_HIDE_1_ECX; break;
	case 7:
		if (e->index == 0) {
			e->ebx &= ~BASELINE_HIDE_7_EBX;
			e->ecx &= ~BASELINE_HIDE_7_ECX;
			e->edx &= ~BASELINE_HIDE_7_EDX;
		} else {
			e->eax = e->ebx = e->ecx = e->edx = 0; /* AVX-VNNI, BF16, ... */
		}
		break;
	case 0xd: /* XSAVE state enumeration: nothing without XSAVE */
	case 0x14: e->eax = e->ebx = e->ecx = e->edx = 0; break;
	case 0x80000001: e->ecx &= ~BASELINE_HIDE_81_ECX; break;
	default: break;
	}
}

static bool has_entry(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return true;
	return false;
}

/* Leaf 0xB (and 0x1F when present) must enumerate the SMT and core levels and
 * a terminating level: KVM reports only the subleaves the host's own CPUID
 * has, which under some hypervisors is just subleaf 0 with type 0. */
static void add_topology_subleaves(struct kvm_cpuid2 *c, uint32_t fn)
{
	if (!has_entry(c, fn, 0))
		return;
	for (uint32_t idx = 1; idx <= 2; idx++)
		if (!has_entry(c, fn, idx))
			c->entries[c->nent++] = (struct kvm_cpuid_entry2){
				.function = fn, .index = idx, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX};
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base, int index, int ncpus,
				  enum vmm_cpu_template tmpl)
{
	size_t sz = sizeof(*base) + base->nent * sizeof(struct kvm_cpuid_entry2);
	/* Room for the topology subleaves this may add. */
	struct kvm_cpuid2 *c = malloc(sz + 4 * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return NULL;
	memcpy(c, base, sz);
	add_topology_subleaves(c, 0xb);
	add_topology_subleaves(c, 0x1f);
	uint32_t apic = (uint32_t)index, n = (uint32_t)ncpus;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (apic << 24) | ((n > 255 ? 255 : n) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			e->ecx &= ~CPUID_1_ECX_PDCM; /* no perf-capabilities MSR promised */
			if (n > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 4: {
			/* Intel deterministic cache parameters: cores per package, and
			 * which caches are shared (level 3 by all cores). */
			uint32_t level = (e->eax >> 5) & 7;
			uint32_t sharing = level >= 3 ? n - 1 : 0;
			uint32_t cores = n > 64 ? 63 : n - 1;
			if ((e->eax & 0x1f) != 0)
				e->eax = (e->eax & 0x3fff) | ((sharing & 0xfff) << 14) | (cores << 26);
			break;
		}
		case 0xa: e->eax = e->ebx = e->ecx = e->edx = 0; break;
		case 0xb:
		case 0x1f: topology_leaf(e, apic, n); break;
		case KVM_CPUID_FEATURES:
			e->eax &= KVM_PV_ALLOWED;
			e->edx = 0; /* no KVM_HINTS_REALTIME: vCPUs are not dedicated */
			break;
		case 0x80000008: e->ecx = (bits_for(n) << 12) | ((n - 1) & 0xff); break;
		default: break;
		}
		if (tmpl == VMM_CPU_BASELINE)
			baseline(e);
	}
	return c;
}
