/* The port and MMIO buses: registration (overlaps refused, slots handed out
 * in order, none after the kernel), routing to the board's devices, byte
 * splitting for 8-bit devices, and what nobody owns. No KVM: a VM object
 * with no KVM fds, as the buses see it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vmm_internal.h"

static char logged[4][GUEST_LOG_LINE_MAX + 1];
static int nlogged;

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	if (nlogged < 4)
		strcpy(logged[nlogged], line);
	nlogged++;
}

static int console[2];

static struct vmm *bare_vm(void)
{
	assert_int_equal(pipe(console), 0);
	nlogged = 0;
	struct vmm_config cfg = {
		.ncpus = 1, .console_out = console[1], .console_in = -1, .guest_log = log_line};
	struct carve_err err = {0};
	struct vmm *vm = vmm_alloc_board(&cfg, &err);
	assert_non_null(vm);
	return vm;
}

static void free_vm(struct vmm *vm)
{
	vmm_destroy(vm);
	close(console[0]);
	close(console[1]);
}

static void out8(struct vmm *vm, uint16_t port, uint8_t v)
{
	assert_true(pio_bus_access(vm, 0, port, &v, 1, true));
}

static void nop_read(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len)
{
	(void)ctx, (void)vcpu, (void)off;
	memset(data, 0x5a, len);
}

static void nop_write(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len)
{
	(void)ctx, (void)vcpu, (void)off, (void)data, (void)len;
}

static void board_ports_and_overlaps(void **state)
{
	(void)state;
	struct vmm *vm = bare_vm();
	struct carve_err err = {0};
	/* COM1 is 0x3f8-0x3ff: a device wanting 0x3fc-0x403 is refused, with both named. */
	struct vmm_pio_device d = {
		.name = "intruder", .base = 0x3fc, .len = 8, .read = nop_read, .write = nop_write};
	assert_int_equal(vmm_add_pio_device(vm, &d, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	assert_non_null(strstr(err.msg, "COM1"));
	assert_non_null(strstr(err.msg, "intruder"));
	/* Past the last port, or no handlers: misdescribed. */
	d = (struct vmm_pio_device){
		.name = "wraps", .base = 0xfffe, .len = 4, .read = nop_read, .write = nop_write};
	assert_int_equal(vmm_add_pio_device(vm, &d, &err), -1);
	carve_err_clear(&err);
	d = (struct vmm_pio_device){.name = "no handlers", .base = 0x500, .len = 1};
	assert_int_equal(vmm_add_pio_device(vm, &d, &err), -1);
	/* A free range is taken, and routed. */
	d = (struct vmm_pio_device){
		.name = "free", .base = 0x500, .len = 2, .read = nop_read, .write = nop_write};
	assert_int_equal(vmm_add_pio_device(vm, &d, &err), 0);
	uint32_t v = 0;
	assert_true(pio_bus_access(vm, 0, 0x500, &v, 2, false));
	assert_int_equal(v, 0x5a5a);
	/* Nobody owns 0x80: not routed (exits.c then reads all ones). */
	uint8_t b = 0;
	assert_false(pio_bus_access(vm, 0, 0x80, &b, 1, false));
	free_vm(vm);
}

static void serial_gets_bytes_split(void **state)
{
	(void)state;
	struct vmm *vm = bare_vm();
	/* A 2-byte write at COM1+0 reaches THR (0x3f8) and IER (0x3f9) as bytes. */
	uint8_t two[2] = {'k', 0x00};
	assert_true(pio_bus_access(vm, 0, PORT_COM1, two, 2, true));
	char c = 0;
	assert_int_equal(read(console[0], &c, 1), 1);
	assert_int_equal(c, 'k');
	/* A 4-byte read at 0x3fe covers MSR, SCR, then 0x400-0x401, which nobody owns. */
	uint8_t four[4];
	assert_true(pio_bus_access(vm, 0, PORT_COM1 + 6, four, 4, false));
	assert_int_equal(four[2], 0xff);
	assert_int_equal(four[3], 0xff);
	free_vm(vm);
}

static void exit_port_takes_whole_status(void **state)
{
	(void)state;
	struct vmm *vm = bare_vm();
	uint8_t status[4] = {0x34, 0x12, 0, 0};
	assert_true(pio_bus_access(vm, 1, VMM_EXIT_PORT, status, 4, true));
	assert_int_equal(vm->stop.reason, VMM_STOP_GUEST_EXIT);
	assert_int_equal(vm->stop.exit_status, 0x1234);
	assert_int_equal(vm->stop.vcpu, 1);
	/* The log port beside it saw none of those bytes. */
	assert_int_equal(nlogged, 0);
	free_vm(vm);
}

static void board_stops_and_log(void **state)
{
	(void)state;
	struct vmm *vm = bare_vm();
	const char *line = "init: ok\n";
	for (const char *p = line; *p; p++)
		out8(vm, VMM_LOG_PORT, (uint8_t)*p);
	assert_int_equal(nlogged, 1);
	assert_string_equal(logged[0], "init: ok");
	out8(vm, PORT_ACPI_SLEEP_CTL, 0x20 | (ACPI_S5_TYPE << 2));
	assert_int_equal(vm->stop.reason, VMM_STOP_POWEROFF);
	free_vm(vm);

	vm = bare_vm();
	out8(vm, PORT_ACPI_RESET, 0x01); /* not RESET_VALUE: nothing */
	assert_int_equal(vm->stop.reason, VMM_STOP_NONE);
	out8(vm, PORT_I8042_CMD, 0xfe); /* pulse the reset line */
	assert_int_equal(vm->stop.reason, VMM_STOP_RESET_I8042);
	free_vm(vm);
}

static void mmio_slots_in_order(void **state)
{
	(void)state;
	struct vmm *vm = bare_vm();
	struct carve_err err = {0};
	struct vmm_mmio_device d = {.name = "dev",
				    .read = (void *)nop_read,
				    .write = (void *)nop_write,
				    .irq_fd = -1,
				    .notify_offset = 0x50};
	struct vmm_mmio_slot placed;
	assert_int_equal(vmm_add_mmio_device(vm, &d, &placed, &err), 0);
	assert_int_equal(placed.base, 0xd0000000ull);
	assert_int_equal(placed.gsi, 5);
	assert_int_equal(vmm_announce_mmio_slot(vm, &err), 0);
	assert_int_equal(vmm_add_mmio_device(vm, &d, &placed, &err), 0);
	assert_int_equal(placed.base, 0xd0002000ull);
	assert_int_equal(placed.gsi, 7);
	char line[256];
	vmm_mmio_cmdline(vm, line, sizeof(line));
	/* Announced-only slots have no device to list; the lock device goes
	 * with the devices. */
	assert_string_equal(line,
			    "virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0002000:7 "
			    "carve_selflock.device=0x60@0x680");
	/* A notify register outside the slot: misdescribed. */
	struct vmm_mmio_device bad = d;
	bad.notify_offset = 0x1000;
	assert_int_equal(vmm_add_mmio_device(vm, &bad, NULL, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	/* Up to 19 slots (GSIs 5-23), then a clear refusal. */
	while (vm->nmmio < VMM_MMIO_SLOTS)
		assert_int_equal(vmm_announce_mmio_slot(vm, &err), 0);
	carve_err_clear(&err); /* the first error is kept: start again */
	assert_int_equal(vmm_add_mmio_device(vm, &d, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "no virtio-mmio slot left for dev"));
	/* Nothing registers once the ACPI tables are written. */
	vm->nmmio = 0;
	vm->kernel_loaded = true;
	carve_err_clear(&err);
	assert_int_equal(vmm_add_mmio_device(vm, &d, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "after the kernel was loaded"));
	free_vm(vm);
}

static void steps_in_order(void **state)
{
	(void)state;
	struct vmm *vm = bare_vm();
	struct carve_err err = {0};
	assert_int_equal(vmm_create_vcpus(vm, &err), -1);
	assert_non_null(strstr(err.msg, "before vmm_load_kernel"));
	struct vmm_stop_info stop;
	carve_err_clear(&err);
	assert_int_equal(vmm_run(vm, &stop, &err), -1);
	assert_non_null(strstr(err.msg, "before vmm_create_vcpus"));
	free_vm(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(board_ports_and_overlaps),     cmocka_unit_test(serial_gets_bytes_split),
		cmocka_unit_test(exit_port_takes_whole_status), cmocka_unit_test(board_stops_and_log),
		cmocka_unit_test(mmio_slots_in_order),          cmocka_unit_test(steps_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
