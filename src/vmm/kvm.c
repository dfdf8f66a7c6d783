/* /dev/kvm: the API version, every capability the VMM relies on, the VM fd and
 * its memory slots. A host that lacks something fails here, naming it, rather
 * than with an obscure ioctl error later. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "carve/util.h"
#include "vmm/vmm_internal.h"

#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236 /* Linux 6.10 */
#endif

/* Capabilities used unconditionally, and why. */
static const struct {
	int cap;
	const char *name;
	const char *why;
} required_caps[] = {
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest memory from a host mapping"},
	{KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "the TSS pages KVM needs on Intel"},
	{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel LAPIC, IOAPIC and PIC"},
	{KVM_CAP_PIT2, "KVM_CAP_PIT2", "the in-kernel PIT used for timer calibration"},
	{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "KVM_GET_SUPPORTED_CPUID and KVM_SET_CPUID2"},
	{KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "application processors started by INIT/SIPI"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs without races"},
	{KVM_CAP_ENFORCE_PV_FEATURE_CPUID, "KVM_CAP_ENFORCE_PV_FEATURE_CPUID",
	 "refusing paravirtual features the guest was not given"},
};

int kvm_check_caps(kvm_cap_fn check, void *ctx, int ncpus, int nslots, struct carve_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++)
		if (check(ctx, required_caps[i].cap) <= 0)
			return carve_fail(err, E71_KVM_CAPABILITY_MISSING,
					  "this host's KVM lacks %s (needed for %s); use a newer kernel "
					  "or a host with hardware virtualization",
					  required_caps[i].name, required_caps[i].why);
	/* KVM_CAP_MAX_VCPUS may be absent on old kernels: NR_VCPUS is then the limit. */
	int max = check(ctx, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = check(ctx, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4; /* documented default when neither cap exists */
	if (ncpus > max)
		return carve_fail(err, E22_INSUFFICIENT_CPUS,
				  "KVM supports at most %d vCPUs per VM (KVM_CAP_MAX_VCPUS); %d requested",
				  max, ncpus);
	int slots = check(ctx, KVM_CAP_NR_MEMSLOTS);
	if (slots <= 0)
		slots = 32; /* KVM's historical minimum */
	if (nslots > slots)
		return carve_fail(err, E71_KVM_CAPABILITY_MISSING,
				  "KVM offers %d memory slots (KVM_CAP_NR_MEMSLOTS); %d needed", slots,
				  nslots);
	return 0;
}

static int vm_check(void *ctx, int cap)
{
	const struct kvm_handle *k = ctx;
	/* Asking the VM fd gives the per-VM answer (it can differ from /dev/kvm's). */
	int r = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

int kvm_open(struct kvm_handle *k, int ncpus, int nslots, struct carve_err *err)
{
	k->sys_fd = k->vm_fd = -1;
	k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0)
		return carve_fail(err, E70_KVM_UNAVAILABLE,
				  "cannot open /dev/kvm: %s; carve needs KVM (load kvm_intel or "
				  "kvm_amd, and give this user access to /dev/kvm)",
				  strerror(errno));
	int ver = ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
	if (ver < 0) {
		int e = errno;
		kvm_close(k);
		return carve_fail(err, E70_KVM_UNAVAILABLE,
				  "/dev/kvm is not KVM: KVM_GET_API_VERSION failed: %s", strerror(e));
	}
	if (ver != KVM_API_VERSION) {
		kvm_close(k);
		return carve_fail(err, E70_KVM_UNAVAILABLE, "/dev/kvm speaks API version %d; carve needs %d",
				  ver, KVM_API_VERSION);
	}
	do {
		k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	} while (k->vm_fd < 0 && errno == EINTR);
	if (k->vm_fd < 0) {
		int e = errno;
		kvm_close(k);
		return carve_fail(err, E70_KVM_UNAVAILABLE, "KVM_CREATE_VM failed: %s", strerror(e));
	}
	if (kvm_check_caps(vm_check, k, ncpus, nslots, err) < 0) {
		kvm_close(k);
		return -1;
	}
	k->pre_fault = vm_check(k, KVM_CAP_PRE_FAULT_MEMORY) > 0;
	k->run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size < (int)sizeof(struct kvm_run)) {
		kvm_close(k);
		return carve_fail(err, E73_VCPU_SETUP, "KVM_GET_VCPU_MMAP_SIZE failed");
	}
	return 0;
}

void kvm_close(struct kvm_handle *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	k->vm_fd = k->sys_fd = -1;
}
