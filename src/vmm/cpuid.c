/* CPUID policy: what KVM supports, filtered to what carve promises a guest.
 *
 * - topology: one package of ncpus cores, one thread each; the APIC ID is the
 *   vCPU index (leaves 1, 4, 0xB, 0x1F, 0x80000008);
 * - paravirtual features (leaf 0x40000001): only the allow-list
 *   KVM_PV_ALLOWED. KVM_CAP_ENFORCE_PV_FEATURE_CPUID is enabled on every vCPU
 *   (vcpu.c), so a guest touching a PV MSR it was not given gets #GP instead of
 *   a feature we never meant to offer (reference/kvm-features.md §4);
 * - no performance-monitoring promises (leaf 0xA zeroed).
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
			carve_fail(err, E29_IOCTL_FAILURE, "KVM_GET_SUPPORTED_CPUID failed: %s",
				   strerror(e));
			return NULL;
		}
	}
	carve_fail(err, E29_IOCTL_FAILURE, "KVM_GET_SUPPORTED_CPUID returned too many entries");
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

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base, int index, int ncpus)
{
	size_t sz = sizeof(*base) + base->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return NULL;
	memcpy(c, base, sz);
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
		case 0xa:
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			topology_leaf(e, apic, n);
			break;
		case KVM_CPUID_FEATURES:
			e->eax &= KVM_PV_ALLOWED;
			e->edx = 0; /* no KVM_HINTS_REALTIME: vCPUs are not dedicated */
			break;
		case 0x80000008:
			e->ecx = (bits_for(n) << 12) | ((n - 1) & 0xff);
			break;
		default:
			break;
		}
	}
	return c;
}
