/* The port bus: devices own port ranges (kvmtool's iotrap model). The
 * board's devices register at vmm_create (board.c), others after it. A
 * range can have only one owner. */
#include <stdlib.h>
#include <string.h>

#include "vmm/vmm_internal.h"

int vmm_add_pio_device(struct vmm *vm, const struct vmm_pio_device *dev, struct carve_err *err)
{
	const char *name = dev->name ? dev->name : "a device";
	uint32_t end = (uint32_t)dev->base + dev->len;
	if (!dev->len || end > 0x10000 || !dev->read || !dev->write)
		return carve_fail(err, E03_INVALID_ARGUMENT, "%s is misdescribed to the port bus", name);
	for (int i = 0; i < vm->npio; i++) {
		const struct vmm_pio_device *o = &vm->pio[i];
		if (dev->base < (uint32_t)o->base + o->len && o->base < end)
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "%s wants ports 0x%x-0x%x, but %s holds "
					  "0x%x-0x%x",
					  name, dev->base, end - 1, o->name, o->base, o->base + o->len - 1);
	}
	if (vm->npio == vm->pio_cap) {
		int cap = vm->pio_cap ? 2 * vm->pio_cap : 8;
		struct vmm_pio_device *grown = realloc(vm->pio, (size_t)cap * sizeof(*grown));
		if (!grown)
			return carve_fail(err, E00_UNSPECIFIED, "out of memory");
		vm->pio = grown;
		vm->pio_cap = cap;
	}
	vm->pio[vm->npio++] = *dev;
	return 0;
}

static const struct vmm_pio_device *owner(const struct vmm *vm, uint16_t port)
{
	for (int i = 0; i < vm->npio; i++)
		if (port >= vm->pio[i].base && port - vm->pio[i].base < vm->pio[i].len)
			return &vm->pio[i];
	return NULL;
}

bool pio_bus_access(struct vmm *vm, int vcpu, uint16_t port, void *data, uint32_t len, bool write)
{
	const struct vmm_pio_device *d = owner(vm, port);
	if (!d)
		return false;
	uint8_t *bytes = data;
	uint32_t off = (uint32_t)(port - d->base);
	if (d->byte_wide) {
		/* An 8-bit device: byte by byte, each byte to whoever owns its
		 * port, as an ISA bus does. (Any other device takes the access
		 * whole from the port it starts at: the exit port reads a 1- to
		 * 4-byte status written to its one port.) */
		for (uint32_t b = 0; b < len; b++) {
			uint16_t p = (uint16_t)(port + b);
			const struct vmm_pio_device *o = b == 0 ? d : owner(vm, p);
			if (!o) {
				if (!write)
					bytes[b] = 0xff;
				continue;
			}
			if (write)
				o->write(o->ctx, vcpu, (uint16_t)(p - o->base), &bytes[b], 1);
			else
				o->read(o->ctx, vcpu, (uint16_t)(p - o->base), &bytes[b], 1);
		}
		return true;
	}
	if (write)
		d->write(d->ctx, vcpu, (uint16_t)off, data, len);
	else
		d->read(d->ctx, vcpu, (uint16_t)off, data, len);
	return true;
}

void pio_bus_free(struct vmm *vm)
{
	free(vm->pio);
	vm->pio = NULL;
	vm->npio = vm->pio_cap = 0;
}
