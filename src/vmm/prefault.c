/* KVM_PRE_FAULT_MEMORY: KVM builds the guest's stage-2 mappings (EPT/NPT) of
 * all RAM before the first vCPU runs, so the guest's first touch of each page
 * does not exit to KVM. Our memory is already populated on the host side
 * (memory.c), so this is cheap, and what it mapped is reported for the
 * enclave's event log. */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "vmm/vmm_internal.h"

#ifndef KVM_PRE_FAULT_MEMORY
/* Linux 6.10 uapi, absent from older headers. */
struct kvm_pre_fault_memory {
	uint64_t gpa;
	uint64_t size;
	uint64_t flags;
	uint64_t padding[5];
};
#define KVM_PRE_FAULT_MEMORY _IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#endif

int vcpu_prefault(struct vcpu *v, const struct guest_mem *gm, struct vmm_prefault_report *r)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r->offered = true;
	for (int i = 0; i < gm->nregions; i++) {
		struct kvm_pre_fault_memory pf = {.gpa = gm->regions[i].gpa, .size = gm->regions[i].size};
		r->ranges[r->nranges].gpa = pf.gpa;
		r->ranges[r->nranges].size = pf.size;
		r->nranges++;
		/* KVM advances gpa/size as it goes and may stop early. */
		while (pf.size) {
			uint64_t before = pf.size;
			if (ioctl(v->fd, KVM_PRE_FAULT_MEMORY, &pf) < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				r->errno_value = errno;
				return -1;
			}
			r->bytes += before - pf.size;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	return 0;
}

const struct vmm_prefault_report *vmm_prefault(const struct vmm *vm) { return &vm->prefault; }

void vmm_prefault_describe(const struct vmm_prefault_report *r, char *buf, size_t len)
{
	if (!len)
		return;
	if (!r->offered) {
		snprintf(buf, len,
			 "KVM_PRE_FAULT_MEMORY not offered by this KVM; guest pages are mapped on first use");
		return;
	}
	size_t n = (size_t)snprintf(buf, len, "KVM_PRE_FAULT_MEMORY %s",
				    r->errno_value ? "stopped after" : "mapped");
	for (int i = 0; i < r->nranges && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s0x%" PRIx64 "-0x%" PRIx64, i ? "," : " ",
				      r->ranges[i].gpa, r->ranges[i].gpa + r->ranges[i].size - 1);
	if (n < len && r->errno_value)
		snprintf(buf + n, len - n, " (%" PRIu64 " MiB done): %s; the rest is mapped on first use",
			 r->bytes >> 20, strerror(r->errno_value));
	else if (n < len)
		snprintf(buf + n, len - n, " (%" PRIu64 " MiB) in %.1f ms", r->bytes >> 20, r->ms);
}
