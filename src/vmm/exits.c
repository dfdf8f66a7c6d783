/* Port and MMIO exits: the vCPU thread hands each access to the device that
 * owns the address. Accesses nobody owns read as all ones and writes are
 * dropped, as on a bus with nothing attached; a guest probing hardware that is
 * not there must never stop the VMM. */
#include <linux/kvm.h>
#include <string.h>

#include "vmm/vmm_internal.h"

static void pio_byte(struct vcpu *v, uint16_t port, bool write, uint8_t *val)
{
	struct vmm *vm = v->vm;
	if (port >= PORT_COM1 && port < PORT_COM1 + 8) {
		if (write)
			serial_write(&vm->com1, (uint16_t)(port - PORT_COM1), *val);
		else
			*val = serial_read(&vm->com1, (uint16_t)(port - PORT_COM1));
		return;
	}
	if (port == PORT_I8042_DATA || port == PORT_I8042_CMD) {
		if (!write)
			*val = i8042_read(&vm->kbd, port);
		else if (i8042_write(&vm->kbd, port, *val))
			vmm_stop(vm, VMM_STOP_RESET_I8042, v->index,
				 "guest reset through the i8042 (0xfe to port 0x64)");
		return;
	}
	if (acpi_pm_io(v, port, write, val))
		return;
	if (!write)
		*val = 0xff;
}

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
	if (write && run->io.port == VMM_EXIT_PORT) {
		uint32_t status = 0;
		for (uint32_t b = 0; b < size; b++)
			status |= (uint32_t)data[b] << (8 * b);
		pthread_mutex_lock(&v->vm->stop_lock);
		if (v->vm->stop.reason == VMM_STOP_NONE)
			v->vm->stop.exit_status = (int)status;
		pthread_mutex_unlock(&v->vm->stop_lock);
		vmm_stop(v->vm, VMM_STOP_GUEST_EXIT, v->index, "the program exited with status %u", status);
		return;
	}
	if (write && run->io.port == VMM_LOG_PORT && size == 1) {
		guest_log_write(&v->vm->guest_log, data, count); /* a whole `rep outsb` at once */
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		/* Wider accesses are split into byte accesses at consecutive ports, as
		 * an 8-bit ISA bus does. */
		for (uint32_t b = 0; b < size; b++)
			pio_byte(v, (uint16_t)(run->io.port + b), write, &data[i * size + b]);
	}
}

void exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : sizeof(run->mmio.data);
	if (mmio_bus_access(v->vm, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write))
		return;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
}
