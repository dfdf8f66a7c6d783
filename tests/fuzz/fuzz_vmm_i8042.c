/* libFuzzer target: the i8042 controller and keyboard driven by a guest's
 * port accesses. Each input byte pair is one access: the first byte picks
 * read or write and the port (and sometimes a host Ctrl-Alt-Del press), the
 * second is the value written. The device must never read or write outside
 * its queue and must keep its count within the queue's size. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/vmm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void pulse(void *ctx) { (*(int *)ctx)++; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct i8042 k;
	int pulses = 0;
	i8042_init(&k, pulse, &pulses);
	for (size_t i = 0; i + 1 < size; i += 2) {
		uint8_t op = data[i], val = data[i + 1];
		uint16_t port = (op & 1) ? PORT_I8042_CMD : PORT_I8042_DATA;
		if ((op & 0x0e) == 0x0e)
			(void)i8042_press_ctrl_alt_del(&k);
		else if (op & 2)
			(void)i8042_write(&k, port, val);
		else
			(void)i8042_read(&k, port);
		assert(k.count <= sizeof(k.out) && k.head < sizeof(k.out));
	}
	i8042_destroy(&k);
	return 0;
}
