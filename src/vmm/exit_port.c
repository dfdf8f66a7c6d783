/* The carve exit port (VMM_EXIT_PORT): the carve enclave kernel writes its
 * program's exit status here, 1 to 4 bytes little-endian in one access, and
 * the VM stops with it. Reads see nothing there (0xff). */
#include <string.h>

#include "vmm/vmm_internal.h"

static void exit_read(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len)
{
	(void)ctx, (void)vcpu, (void)off;
	memset(data, 0xff, len);
}

static void exit_write(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len)
{
	struct vmm *vm = ctx;
	const uint8_t *bytes = data;
	(void)off;
	uint32_t status = 0;
	for (uint32_t b = 0; b < len && b < 4; b++)
		status |= (uint32_t)bytes[b] << (8 * b);
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop.reason == VMM_STOP_NONE)
		vm->stop.exit_status = (int)status;
	pthread_mutex_unlock(&vm->stop_lock);
	vmm_stop(vm, VMM_STOP_GUEST_EXIT, vcpu, "the program exited with status %u", status);
}

int exit_port_attach(struct vmm *vm, struct carve_err *err)
{
	struct vmm_pio_device d = {
		.name = "carve exit port",
		.base = VMM_EXIT_PORT,
		.len = 1,
		.read = exit_read,
		.write = exit_write,
		.ctx = vm,
	};
	return vmm_add_pio_device(vm, &d, err);
}
