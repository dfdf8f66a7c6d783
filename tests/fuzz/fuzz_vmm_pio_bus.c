/* libFuzzer target: the port bus with the board's devices (COM1, i8042, the
 * ACPI registers, the exit and log ports) driven by a guest's port accesses,
 * as exits.c hands them over. Each input record is 4 bytes: port low byte
 * (the high byte picks one of the board's ranges or a stray one), size
 * (1, 2 or 4), direction, and a value byte repeated. Nothing may be read or
 * written outside the access, whatever the port, size or device. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/vmm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drop_line(void *ctx, const char *line)
{
	(void)ctx;
	assert(strlen(line) <= GUEST_LOG_LINE_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t bases[] = {0x0000, 0x0060, 0x03f0, 0x0600, 0x00f0, 0xfff0};
	struct vmm_config cfg = {.ncpus = 1, .console_out = -1, .console_in = -1, .guest_log = drop_line};
	struct carve_err err = {0};
	struct vmm *vm = vmm_alloc_board(&cfg, &err);
	assert(vm);
	for (size_t i = 0; i + 4 <= size; i += 4) {
		uint16_t port = (uint16_t)(bases[(data[i + 1] >> 4) % 6] + data[i]);
		static const uint32_t sizes[] = {1, 2, 4, 1};
		uint32_t len = sizes[data[i + 1] & 3];
		bool write = data[i + 2] & 1;
		uint8_t buf[8];
		memset(buf, data[i + 3], sizeof(buf));
		buf[4] = buf[5] = buf[6] = buf[7] = 0xa5; /* canaries past the widest access */
		(void)pio_bus_access(vm, 0, port, buf, len, write);
		assert(buf[4] == 0xa5 && buf[5] == 0xa5 && buf[6] == 0xa5 && buf[7] == 0xa5);
	}
	vmm_destroy(vm);
	return 0;
}
