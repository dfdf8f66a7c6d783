/* The carve console port (VMM_CONSOLE_PORT, include/carve/vmm.h): a record
 * in guest memory per exit, where COM1 costs an exit per byte (KVM hands a
 * REP OUTSB to user space one byte at a time). The bytes join COM1's
 * output (serial_transmit_bulk), so the two paths keep one order.
 *
 * The record's address and length come from the guest: the length is read
 * through gm_ptr, checked against VMM_CONSOLE_PORT_MAX, and the bytes are
 * reached through gm_ptr again, which refuses anything not wholly inside one
 * RAM region. A bad record is dropped whole: the console is output only, and
 * the guest gets nothing back to act on. */
#include <string.h>

#include "vmm/vmm_internal.h"

static void port_read(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len)
{
	(void)ctx, (void)vcpu;
	uint32_t magic = VMM_CONSOLE_PORT_MAGIC;
	memset(data, 0xff, len);
	if (off == 0 && len == 4)
		memcpy(data, &magic, 4);
}

static void port_write(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len)
{
	struct vmm *vm = ctx;
	(void)vcpu;
	if (off != 0 || len != 4)
		return;
	uint32_t gpa;
	memcpy(&gpa, data, 4);
	uint32_t n;
	if (gm_read(&vm->mem, gpa, &n, sizeof(n)) < 0 || n > VMM_CONSOLE_PORT_MAX)
		return;
	const uint8_t *bytes = gm_ptr(&vm->mem, (uint64_t)gpa + sizeof(n), n);
	if (bytes)
		serial_transmit_bulk(&vm->com1, bytes, n);
}

int console_port_attach(struct vmm *vm, struct carve_err *err)
{
	struct vmm_pio_device d = {
		.name = "carve console port",
		.base = VMM_CONSOLE_PORT,
		.len = 1,
		.read = port_read,
		.write = port_write,
		.ctx = vm,
	};
	return vmm_add_pio_device(vm, &d, err);
}
