/* Port and MMIO exits: the vCPU thread hands each access to its bus, and the
 * bus to the device that owns the address (pio_bus.c, mmio_bus.c). Accesses
 * nobody owns read as all ones and writes are dropped, as on a bus with
 * nothing attached; a guest probing hardware that is not there must never
 * stop the VMM. */
#include <linux/kvm.h>
#include <string.h>

#include "vmm/vmm_internal.h"

void exit_pio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t size = run->io.size, count = run->io.count;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	/* KVM describes the data area; check it lies inside the run page anyway. */
	uint64_t need = (uint64_t)run->io.data_offset + (uint64_t)size * count;
	if ((size != 1 && size != 2 && size != 4) || need > (uint64_t)v->vm->kvm.run_size) {
		vmm_stop(v->vm, VMM_STOP_HOST_ERROR, v->index, "malformed port I/O exit");
		return;
	}
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	/* A string instruction (rep outsb) brings `count` accesses at once. */
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *item = &data[i * size];
		if (!pio_bus_access(v->vm, v->index, run->io.port, item, size, write) && !write)
			memset(item, 0xff, size);
	}
}

void exit_mmio(struct vcpu *v)
{
	/* Guest RAM mapped read-only for sub-page protection, not a device. */
	if (!subpage_exit(v))
		exit_mmio_bus(v);
}

void exit_mmio_bus(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : sizeof(run->mmio.data);
	if (mmio_bus_access(v->vm, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write))
		return;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
}
