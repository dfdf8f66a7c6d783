/* The i8042 controller and keyboard as Linux's i8042/atkbd drivers use them,
 * and Ctrl-Alt-Del pressed by the host. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "vmm/vmm_internal.h"

static int pulses;

static void on_pulse(void *ctx)
{
	(void)ctx;
	pulses++;
}

static uint8_t status(struct i8042 *k) { return i8042_read(k, PORT_I8042_CMD); }

static uint8_t data(struct i8042 *k) { return i8042_read(k, PORT_I8042_DATA); }

/* What Linux's i8042_controller_init does with i8042.dumbkbd: flush, read
 * the CTR, write it back with the keyboard port enabled. */
static void linux_takes_controller(struct i8042 *k)
{
	while (status(k) & 0x01)
		data(k);
	i8042_write(k, PORT_I8042_CMD, 0x20);
	assert_true(status(k) & 0x01);
	uint8_t ctr = data(k);
	assert_false(status(k) & 0x01);
	i8042_write(k, PORT_I8042_CMD, 0x60);
	i8042_write(k, PORT_I8042_DATA, (uint8_t)((ctr | 0x01) & ~0x10));
}

static void controller_commands(void **state)
{
	(void)state;
	struct i8042 k;
	pulses = 0;
	i8042_init(&k, on_pulse, NULL);
	assert_int_equal(status(&k) & 0x01, 0); /* nothing to read */
	assert_true(status(&k) & 0x04);         /* system flag: POST passed */
	i8042_write(&k, PORT_I8042_CMD, 0xaa);
	assert_int_equal(data(&k), 0x55); /* self test */
	i8042_write(&k, PORT_I8042_CMD, 0xab);
	assert_int_equal(data(&k), 0x00); /* keyboard interface test */
	assert_true(status(&k) & 0x08);   /* the last write was a command */
	/* The CTR is written and read back; translation is never on. */
	i8042_write(&k, PORT_I8042_CMD, 0x60);
	i8042_write(&k, PORT_I8042_DATA, 0x65);
	assert_false(status(&k) & 0x08);
	i8042_write(&k, PORT_I8042_CMD, 0x20);
	assert_int_equal(data(&k), 0x25);
	/* Disable/enable the keyboard port. */
	i8042_write(&k, PORT_I8042_CMD, 0xad);
	i8042_write(&k, PORT_I8042_CMD, 0x20);
	assert_int_equal(data(&k) & 0x10, 0x10);
	i8042_write(&k, PORT_I8042_CMD, 0xae);
	i8042_write(&k, PORT_I8042_CMD, 0x20);
	assert_int_equal(data(&k) & 0x10, 0);
	/* An empty buffer reads the last byte again, as hardware does. */
	assert_int_equal(data(&k), 0x25 & ~0x10);
	/* Reset: 0xFE, and the output port with bit 0 low. */
	assert_false(i8042_write(&k, PORT_I8042_CMD, 0xf0));
	assert_true(i8042_write(&k, PORT_I8042_CMD, 0xfe));
	i8042_write(&k, PORT_I8042_CMD, 0xd1);
	assert_true(i8042_write(&k, PORT_I8042_DATA, 0x00));
	i8042_destroy(&k);
}

static void keyboard_commands(void **state)
{
	(void)state;
	struct i8042 k;
	i8042_init(&k, on_pulse, NULL);
	i8042_write(&k, PORT_I8042_DATA, 0xf2); /* identify */
	assert_int_equal(data(&k), 0xfa);
	assert_int_equal(data(&k), 0xab);
	assert_int_equal(data(&k), 0x83);
	i8042_write(&k, PORT_I8042_DATA, 0xed); /* LEDs, then their operand */
	assert_int_equal(data(&k), 0xfa);
	i8042_write(&k, PORT_I8042_DATA, 0x07);
	assert_int_equal(data(&k), 0xfa);
	assert_false(status(&k) & 0x01);
	i8042_write(&k, PORT_I8042_DATA, 0xf0); /* which scan code set? */
	i8042_write(&k, PORT_I8042_DATA, 0x00);
	assert_int_equal(data(&k), 0xfa);
	assert_int_equal(data(&k), 0xfa);
	assert_int_equal(data(&k), 0x02);
	i8042_write(&k, PORT_I8042_DATA, 0xee);
	assert_int_equal(data(&k), 0xee);
	i8042_write(&k, PORT_I8042_DATA, 0xff); /* reset: ACK, then self test passed */
	assert_int_equal(data(&k), 0xfa);
	assert_int_equal(data(&k), 0xaa);
	i8042_destroy(&k);
}

static void ctrl_alt_del(void **state)
{
	(void)state;
	struct i8042 k;
	pulses = 0;
	i8042_init(&k, on_pulse, NULL);
	/* No driver has taken the controller (the carve kernel): the keys would
	 * go unread, so nothing is queued and the caller stops the VM. */
	assert_int_equal(i8042_press_ctrl_alt_del(&k), -1);
	assert_false(status(&k) & 0x01);
	assert_int_equal(pulses, 0);

	linux_takes_controller(&k);
	pulses = 0;
	assert_int_equal(i8042_press_ctrl_alt_del(&k), 0);
	/* Set 2: Ctrl, Alt, Delete pressed, then released; one IRQ per byte. */
	static const uint8_t want[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};
	for (size_t i = 0; i < sizeof(want); i++) {
		assert_int_equal(pulses, (int)i + 1);
		assert_true(status(&k) & 0x01);
		assert_int_equal(data(&k), want[i]);
	}
	assert_int_equal(pulses, (int)sizeof(want));
	assert_false(status(&k) & 0x01);

	/* With its interrupt disabled in the CTR the keyboard is not heard. */
	i8042_write(&k, PORT_I8042_CMD, 0x60);
	i8042_write(&k, PORT_I8042_DATA, 0x04);
	assert_int_equal(i8042_press_ctrl_alt_del(&k), -1);
	/* A keyboard told to stop scanning (0xF5) is not either. */
	i8042_write(&k, PORT_I8042_CMD, 0x60);
	i8042_write(&k, PORT_I8042_DATA, 0x05);
	i8042_write(&k, PORT_I8042_DATA, 0xf5);
	assert_int_equal(data(&k), 0xfa);
	assert_int_equal(i8042_press_ctrl_alt_del(&k), -1);
	i8042_destroy(&k);
}

static void full_queue_drops(void **state)
{
	(void)state;
	struct i8042 k;
	i8042_init(&k, on_pulse, NULL);
	for (int i = 0; i < 40; i++)
		i8042_write(&k, PORT_I8042_DATA, 0xee); /* echo, never read */
	int n = 0;
	while (status(&k) & 0x01) {
		assert_int_equal(data(&k), 0xee);
		n++;
	}
	assert_int_equal(n, (int)sizeof(k.out));
	i8042_destroy(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(controller_commands),
		cmocka_unit_test(keyboard_commands),
		cmocka_unit_test(ctrl_alt_del),
		cmocka_unit_test(full_queue_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
