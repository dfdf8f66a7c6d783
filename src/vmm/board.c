/* The board every VM has: the port devices vmm_create puts on the port bus
 * before anything else is registered. Adding one is its own file (with its
 * xxx_attach) and a line here. */
#include "vmm/vmm_internal.h"

static int (*const board_devices[])(struct vmm *vm, struct carve_err *err) = {
	i8042_attach,        /* 0x60, 0x64: keyboard (Ctrl-Alt-Del) and reset */
	serial_attach,       /* 0x3f8-0x3ff: COM1, the console */
	acpi_pm_attach,      /* 0x600-0x602: the FADT's sleep and reset registers */
	exit_port_attach,    /* 0xf4: the carve kernel's exit status */
	guest_log_attach,    /* 0xf5: lines for the enclave's event log */
	console_port_attach, /* 0xf6: the console's bulk path (records in guest memory) */
	selflock_attach,     /* 0x680-0x6df: the guest's sub-page lock device */
};

int board_attach(struct vmm *vm, struct carve_err *err)
{
	for (size_t i = 0; i < sizeof(board_devices) / sizeof(board_devices[0]); i++)
		if (board_devices[i](vm, err) < 0)
			return -1;
	return 0;
}
