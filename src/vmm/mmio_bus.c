/* The virtio-mmio slots: MMIO exits inside a slot go to its device on the
 * vCPU thread; queue notifications go straight from KVM to the device's kick
 * eventfds (KVM_IOEVENTFD), and the device interrupts through KVM_IRQFD, so
 * the data path never stops a vCPU in user space (the vhost model). */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_internal.h"

int mmio_bus_setup(struct vmm *vm, const struct vmm_mmio_slot *slots, int n, struct carve_err *err)
{
	vm->nmmio = 0;
	for (int i = 0; i < n; i++) {
		const struct vmm_mmio_slot *s = &slots[i];
		vm->mmio[vm->nmmio++] = *s;
		const struct vmm_mmio_device *d = s->dev;
		if (!d)
			continue;
		if (d->nkicks < 0 || d->nkicks > VMM_MMIO_MAX_QUEUES || d->notify_offset + 4 > s->size)
			return carve_fail(err, E03_INVALID_ARGUMENT, "virtio-mmio slot %d is misdescribed", i);
		for (int q = 0; q < d->nkicks; q++) {
			struct kvm_ioeventfd io = {
				.datamatch = (uint64_t)q,
				.addr = s->base + d->notify_offset,
				.len = 4,
				.fd = d->kick_fds[q],
				.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
			};
			if (ioctl(vm->kvm.vm_fd, KVM_IOEVENTFD, &io) < 0)
				return carve_fail(err, E29_IOCTL_FAILURE,
						  "KVM_IOEVENTFD for virtio-mmio slot %d queue %d failed: %s", i, q,
						  strerror(errno));
		}
		if (d->irq_fd >= 0) {
			struct kvm_irqfd irq = {.fd = (uint32_t)d->irq_fd, .gsi = s->gsi};
			if (ioctl(vm->kvm.vm_fd, KVM_IRQFD, &irq) < 0)
				return carve_fail(err, E29_IOCTL_FAILURE,
						  "KVM_IRQFD for virtio-mmio slot %d (GSI %u) failed: %s", i, s->gsi,
						  strerror(errno));
		}
	}
	return 0;
}

bool mmio_bus_access(struct vmm *vm, uint64_t gpa, void *data, uint32_t len, bool write)
{
	for (int i = 0; i < vm->nmmio; i++) {
		const struct vmm_mmio_slot *s = &vm->mmio[i];
		if (gpa < s->base || gpa - s->base >= s->size)
			continue;
		if (!s->dev)
			return false;
		uint64_t off = gpa - s->base;
		if (len > s->size - off) { /* straddles the slot's end: refuse */
			if (!write)
				memset(data, 0xff, len);
			return true;
		}
		if (write)
			s->dev->write(s->dev->ctx, off, data, len);
		else
			s->dev->read(s->dev->ctx, off, data, len);
		return true;
	}
	return false;
}
