/* Just enough of the i8042 keyboard controller for a guest to reset the
 * machine: Linux's reboot=k writes command 0xFE (pulse the reset line) to port
 * 0x64 after waiting for the input buffer to drain. There is no keyboard: the
 * status register always reads "both buffers empty" and data reads 0. */
#include "vmm/vmm_internal.h"

#define I8042_CMD_RESET 0xfe

bool i8042_io(struct vcpu *v, uint16_t port, bool write, uint8_t *val)
{
	if (port != PORT_I8042_DATA && port != PORT_I8042_CMD)
		return false;
	if (!write) {
		*val = 0;
		return true;
	}
	if (port == PORT_I8042_CMD && *val == I8042_CMD_RESET)
		vmm_stop(v->vm, VMM_STOP_RESET_I8042, v->index, "guest reset through the i8042 (0xfe to port 0x64)");
	return true;
}
