/* The MMIO bus: virtio-mmio slots, one device each. A device registers and
 * gets the next slot; MMIO exits inside a slot go to its device on the vCPU
 * thread; queue notifications go straight from KVM to the device's kick
 * eventfds (KVM_IOEVENTFD), and the device interrupts through KVM_IRQFD, so
 * the data path never stops a vCPU in user space (the vhost model). */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_internal.h"

static int next_slot(struct vmm *vm, const char *what, struct vmm_mmio_slot *out, struct carve_err *err)
{
	if (vm->kernel_loaded)
		return carve_fail(err, E74_DEVICE_SETUP,
				  "%s registered after the kernel was loaded: the "
				  "ACPI tables are already written",
				  what);
	if (mmio_slot_at(vm->nmmio, out) < 0)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "no virtio-mmio slot left for %s: a VM has %d "
				  "(GSIs 5-23)",
				  what, VMM_MMIO_SLOTS);
	return 0;
}

static int bind_eventfds(struct vmm *vm, const struct vmm_mmio_slot *s, const struct vmm_mmio_device *d,
			 struct carve_err *err)
{
	for (int q = 0; q < d->nkicks; q++) {
		struct kvm_ioeventfd io = {
			.datamatch = (uint64_t)q,
			.addr = s->base + d->notify_offset,
			.len = 4,
			.fd = d->kick_fds[q],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(vm->kvm.vm_fd, KVM_IOEVENTFD, &io) < 0)
			return carve_fail(err, E74_DEVICE_SETUP, "KVM_IOEVENTFD for %s queue %d failed: %s",
					  d->name, q, strerror(errno));
	}
	if (d->irq_fd >= 0) {
		struct kvm_irqfd irq = {.fd = (uint32_t)d->irq_fd, .gsi = s->gsi};
		if (ioctl(vm->kvm.vm_fd, KVM_IRQFD, &irq) < 0)
			return carve_fail(err, E74_DEVICE_SETUP, "KVM_IRQFD for %s (GSI %u) failed: %s",
					  d->name, s->gsi, strerror(errno));
	}
	return 0;
}

int vmm_add_mmio_device(struct vmm *vm, const struct vmm_mmio_device *dev, struct vmm_mmio_slot *placed,
			struct carve_err *err)
{
	const char *name = dev->name ? dev->name : "a device";
	struct vmm_mmio_slot s;
	if (next_slot(vm, name, &s, err) < 0)
		return -1;
	if (!dev->read || !dev->write || dev->nkicks < 0 || dev->nkicks > VMM_MMIO_MAX_QUEUES ||
	    dev->notify_offset + 4 > s.size)
		return carve_fail(err, E03_INVALID_ARGUMENT, "%s is misdescribed to the MMIO bus", name);
	if (bind_eventfds(vm, &s, dev, err) < 0)
		return -1;
	vm->mmio_dev[vm->nmmio] = *dev;
	s.dev = &vm->mmio_dev[vm->nmmio];
	vm->mmio[vm->nmmio++] = s;
	if (placed)
		*placed = s;
	return 0;
}

int vmm_announce_mmio_slot(struct vmm *vm, struct carve_err *err)
{
	struct vmm_mmio_slot s;
	if (next_slot(vm, "an announced slot", &s, err) < 0)
		return -1;
	vm->mmio[vm->nmmio++] = s;
	return 0;
}

void vmm_mmio_cmdline(const struct vmm *vm, char *out, size_t len)
{
	size_t used = 0;
	if (len)
		out[0] = '\0';
	for (int i = 0; i < vm->nmmio && used < len; i++) {
		const struct vmm_mmio_slot *s = &vm->mmio[i];
		if (!s->dev)
			continue;
		int n = snprintf(out + used, len - used, "%svirtio_mmio.device=4K@0x%llx:%u", used ? " " : "",
				 (unsigned long long)s->base, s->gsi);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	/* The lock device goes with the carve kernel's devices (docs/vmm.md). */
	if (used && used < len)
		snprintf(out + used, len - used, " %s", VMM_SELFLOCK_CMDLINE);
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
