/* The 8250 UART as Linux's driver and a polling guest use it; the host side's
 * transmit batching; string port I/O (rep outsb) reaching it through the
 * PIO exit path; the carve console port's records joining its output. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm/vmm_internal.h"

struct irq_log {
	int level;
	int changes;
};

static void on_irq(void *ctx, int level)
{
	struct irq_log *l = ctx;
	l->level = level;
	l->changes++;
}

static void transmit_and_thre_irq(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct serial s;
	struct irq_log irq = {0};
	serial_init(&s, p[1], -1, on_irq, &irq);
	assert_int_equal(serial_read(&s, 5) & 0x60, 0x60); /* THRE | TEMT */
	assert_int_equal(serial_read(&s, 2) & 0x0f, 0x01); /* no interrupt */
	serial_write(&s, 0, 'h');
	serial_write(&s, 0, 'i');
	char buf[4] = {0};
	assert_int_equal(read(p[0], buf, 2), 2);
	assert_string_equal(buf, "hi");
	assert_int_equal(irq.changes, 0); /* IER still 0 */
	serial_write(&s, 1, 0x02);        /* enable THRI: fires at once */
	assert_int_equal(irq.level, 1);
	assert_int_equal(serial_read(&s, 2) & 0x0f, 0x02); /* THRE pending... */
	assert_int_equal(irq.level, 0);                    /* ...and reading IIR acks it */
	assert_int_equal(serial_read(&s, 2) & 0x0f, 0x01);
	serial_write(&s, 0, '!'); /* each transmit re-arms THRE */
	assert_int_equal(irq.level, 1);
	serial_write(&s, 1, 0x00); /* disabling the interrupt drops the line */
	assert_int_equal(irq.level, 0);
	serial_destroy(&s);
	close(p[0]);
	close(p[1]);
}

static void receive_fifo(void **state)
{
	(void)state;
	struct serial s;
	struct irq_log irq = {0};
	serial_init(&s, -1, -1, on_irq, &irq);
	serial_write(&s, 1, 0x01); /* RDI */
	assert_int_equal(irq.level, 0);
	uint8_t data[100];
	memset(data, 'x', sizeof(data));
	data[0] = 'a';
	assert_int_equal(serial_receive(&s, data, 100), 64); /* FIFO holds 64 */
	assert_int_equal(irq.level, 1);
	assert_int_equal(serial_read(&s, 5) & 1, 1); /* data ready */
	assert_int_equal(serial_read(&s, 2) & 0x0f, 0x04);
	assert_int_equal(serial_read(&s, 0), 'a');
	for (int i = 1; i < 64; i++)
		assert_int_equal(serial_read(&s, 0), 'x');
	assert_int_equal(serial_read(&s, 5) & 1, 0);
	assert_int_equal(irq.level, 0);
	assert_int_equal(serial_read(&s, 0), 0); /* empty reads 0, no underflow */
	serial_destroy(&s);
}

static void divisor_loopback_and_masks(void **state)
{
	(void)state;
	struct serial s;
	serial_init(&s, -1, -1, NULL, NULL);
	serial_write(&s, 3, 0x83); /* DLAB */
	serial_write(&s, 0, 0x01);
	serial_write(&s, 1, 0x00);
	assert_int_equal(serial_read(&s, 0), 0x01);
	assert_int_equal(serial_read(&s, 1), 0x00);
	serial_write(&s, 3, 0x03);
	serial_write(&s, 1, 0xff);
	assert_int_equal(serial_read(&s, 1), 0x0f); /* IER has 4 bits */
	serial_write(&s, 4, 0xff);
	assert_int_equal(serial_read(&s, 4), 0x1f);
	serial_write(&s, 0, 'L'); /* loopback: transmit comes back as receive */
	assert_int_equal(serial_read(&s, 0), 'L');
	serial_write(&s, 4, 0x1a);                         /* LOOP | OUT2 | RTS, as Linux's autoconfig */
	assert_int_equal(serial_read(&s, 6) & 0xf0, 0x90); /* DCD | CTS */
	serial_write(&s, 4, 0x00);
	assert_int_equal(serial_read(&s, 6) & 0xb0, 0xb0); /* no loop: DCD, DSR, CTS */
	serial_write(&s, 7, 0x5a);
	assert_int_equal(serial_read(&s, 7), 0x5a);
	serial_write(&s, 5, 0x00); /* LSR is read-only */
	assert_int_equal(serial_read(&s, 5) & 0x60, 0x60);
	assert_int_equal(serial_read(&s, 9), 0xff); /* outside the 8 registers */
	serial_destroy(&s);
}

static void closed_console_keeps_running(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	struct serial s;
	serial_init(&s, p[1], -1, NULL, NULL);
	/* EPIPE must not stop anything (the CLI process ignores SIGPIPE too). */
	signal(SIGPIPE, SIG_IGN);
	serial_write(&s, 0, 'x');
	serial_write(&s, 0, 'y');
	assert_int_equal(s.out_fd, -1);
	serial_destroy(&s);
	close(p[1]);
}

static void count_kick(void *ctx) { ++*(int *)ctx; }

static uint8_t pattern(int i) { return (uint8_t)(i * 7 + i / 251); }

/* Reads what is in the pipe now (its read end non-blocking). */
static int drain(int fd, uint8_t *buf, int cap)
{
	int got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)(cap - got));
		if (n <= 0) {
			assert_true(n == 0 || errno == EAGAIN);
			return got;
		}
		got += (int)n;
	}
}

static void batched_transmit_keeps_order(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	struct serial s;
	struct irq_log irq = {0};
	int kicks = 0;
	serial_init(&s, p[1], -1, on_irq, &irq);
	serial_batch(&s, count_kick, &kicks);
	enum { N = 10000 };
	static uint8_t got[N + 16];
	serial_write(&s, 1, 0x02); /* THRI: the guest's view must not change */
	assert_int_equal(serial_read(&s, 2) & 0x0f, 0x02);
	serial_write(&s, 0, pattern(0));
	assert_int_equal(kicks, 1);                        /* the owner is told once... */
	assert_int_equal(drain(p[0], got, N), 0);          /* ...and nothing went out yet */
	assert_int_equal(serial_read(&s, 5) & 0x60, 0x60); /* THRE | TEMT all the same */
	assert_int_equal(irq.level, 1);                    /* and THRE re-armed */
	serial_flush(&s);
	assert_int_equal(drain(p[0], got, N), 1);
	assert_int_equal(got[0], pattern(0));
	/* 9,999 more: full batches go out by themselves, each new batch kicks. */
	for (int i = 1; i < N; i++)
		serial_write(&s, 0, pattern(i));
	int first = drain(p[0], got + 1, N);
	assert_int_equal(first, 2 * SERIAL_TX_BATCH);
	assert_int_equal(kicks, 1 + 3);
	serial_batch(&s, NULL, NULL); /* ending batching flushes the rest */
	assert_int_equal(drain(p[0], got + 1 + first, N), N - 1 - first);
	for (int i = 0; i < N; i++)
		assert_int_equal(got[i], pattern(i));
	/* Unbatched again: each byte at once. */
	serial_write(&s, 0, 'z');
	assert_int_equal(drain(p[0], got, N), 1);
	assert_int_equal(got[0], 'z');
	assert_int_equal(kicks, 4);
	serial_destroy(&s);
	close(p[0]);
	close(p[1]);
}

static void batched_console_that_went_away(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	struct serial s;
	int kicks = 0;
	serial_init(&s, p[1], -1, NULL, NULL);
	serial_batch(&s, count_kick, &kicks);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < SERIAL_TX_BATCH + 10; i++)
		serial_write(&s, 0, 'x');
	assert_int_equal(s.out_fd, -1); /* the full batch failed: dropped from then on */
	serial_flush(&s);
	serial_batch(&s, NULL, NULL);
	serial_destroy(&s);
	close(p[1]);
}

/* A PIO exit as KVM presents it: the data in the run page at data_offset. */
static struct vcpu *pio_vcpu(struct vmm *vm, int console_fd)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	assert_non_null(v);
	v->vm = vm;
	v->run = calloc(1, 4096);
	assert_non_null(v->run);
	vm->kvm.run_size = 4096;
	vm->com1.out_fd = console_fd;
	return v;
}

static void string_out_reaches_the_uart_in_order(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	struct vmm_config cfg = {.ncpus = 1, .console_out = p[1], .console_in = -1};
	struct carve_err err = {0};
	struct vmm *vm = vmm_alloc_board(&cfg, &err);
	assert_non_null(vm);
	struct vcpu *v = pio_vcpu(vm, p[1]);
	struct kvm_run *run = v->run;
	/* rep outsb of 1,000 bytes to THR, as one exit with count 1000. */
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_OUT;
	run->io.size = 1;
	run->io.port = PORT_COM1;
	run->io.count = 1000;
	run->io.data_offset = 2048;
	uint8_t *data = (uint8_t *)run + 2048;
	for (int i = 0; i < 1000; i++)
		data[i] = pattern(i);
	exit_pio(v);
	uint8_t got[1100];
	assert_int_equal(drain(p[0], got, sizeof(got)), 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(got[i], pattern(i));
	assert_false(atomic_load(&vm->stopping));
	/* rep insb from LSR: every item read, each THRE | TEMT. */
	run->io.direction = KVM_EXIT_IO_IN;
	run->io.port = PORT_COM1 + 5;
	run->io.count = 8;
	memset(data, 0, 8);
	exit_pio(v);
	for (int i = 0; i < 8; i++)
		assert_int_equal(data[i] & 0x60, 0x60);
	/* Data that would run past the run page stops the VM, touching nothing. */
	run->io.direction = KVM_EXIT_IO_OUT;
	run->io.port = PORT_COM1;
	run->io.count = 2049;
	exit_pio(v);
	assert_true(atomic_load(&vm->stopping));
	assert_int_equal(vm->stop.reason, VMM_STOP_HOST_ERROR);
	assert_int_equal(drain(p[0], got, sizeof(got)), 0);
	free(v->run);
	free(v);
	vmm_destroy(vm);
	close(p[0]);
	close(p[1]);
}

static void bad_pio_sizes_stop_the_vm(void **state)
{
	(void)state;
	static const uint32_t sizes[] = {0, 3, 8};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct vmm_config cfg = {.ncpus = 1, .console_out = -1, .console_in = -1};
		struct carve_err err = {0};
		struct vmm *vm = vmm_alloc_board(&cfg, &err);
		assert_non_null(vm);
		struct vcpu *v = pio_vcpu(vm, -1);
		v->run->io.direction = KVM_EXIT_IO_OUT;
		v->run->io.size = (uint8_t)sizes[k];
		v->run->io.port = PORT_COM1;
		v->run->io.count = 1;
		v->run->io.data_offset = 64;
		exit_pio(v);
		assert_int_equal(vm->stop.reason, VMM_STOP_HOST_ERROR);
		free(v->run);
		free(v);
		vmm_destroy(vm);
	}
	/* A 4-byte item whose data would end one byte past the run page. */
	struct vmm_config cfg = {.ncpus = 1, .console_out = -1, .console_in = -1};
	struct carve_err err = {0};
	struct vmm *vm = vmm_alloc_board(&cfg, &err);
	assert_non_null(vm);
	struct vcpu *v = pio_vcpu(vm, -1);
	v->run->io.direction = KVM_EXIT_IO_IN;
	v->run->io.size = 4;
	v->run->io.port = PORT_COM1;
	v->run->io.count = 1;
	v->run->io.data_offset = 4093;
	exit_pio(v);
	assert_int_equal(vm->stop.reason, VMM_STOP_HOST_ERROR);
	free(v->run);
	free(v);
	vmm_destroy(vm);
}

static void put_record(struct vmm *vm, uint64_t gpa, uint32_t len, const char *text)
{
	assert_int_equal(gm_write(&vm->mem, gpa, &len, 4), 0);
	if (text)
		assert_int_equal(gm_write(&vm->mem, gpa + 4, text, strlen(text)), 0);
}

static void out32(struct vmm *vm, uint16_t port, uint32_t v)
{
	assert_true(pio_bus_access(vm, 0, port, &v, 4, true));
}

static void console_port_records(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	struct vmm_config cfg = {.ncpus = 1, .console_out = p[1], .console_in = -1};
	struct carve_err err = {0};
	struct vmm *vm = vmm_alloc_board(&cfg, &err);
	assert_non_null(vm);
	assert_int_equal(gm_layout(&vm->mem, 64 * VMM_MIB, &err), 0);
	assert_int_equal(gm_map(&vm->mem, false, &err), 0);
	uint64_t end = gm_low_end(&vm->mem);
	/* Present: a 32-bit read gives the magic; narrower reads do not. */
	uint32_t v = 0;
	assert_true(pio_bus_access(vm, 0, VMM_CONSOLE_PORT, &v, 4, false));
	assert_int_equal(v, VMM_CONSOLE_PORT_MAGIC);
	uint8_t b = 0;
	assert_true(pio_bus_access(vm, 0, VMM_CONSOLE_PORT, &b, 1, false));
	assert_int_equal(b, 0xff);
	/* A record goes out whole. */
	uint8_t got[64];
	put_record(vm, 0x10000, 5, "hello");
	out32(vm, VMM_CONSOLE_PORT, 0x10000);
	assert_int_equal(drain(p[0], got, sizeof(got)), 5);
	assert_memory_equal(got, "hello", 5);
	/* In order with COM1's bytes, batched or not. */
	int kicks = 0;
	serial_batch(&vm->com1, count_kick, &kicks);
	uint8_t a = 'a', d = 'd';
	assert_true(pio_bus_access(vm, 0, PORT_COM1, &a, 1, true));
	put_record(vm, 0x20000, 2, "bc");
	out32(vm, VMM_CONSOLE_PORT, 0x20000);
	assert_true(pio_bus_access(vm, 0, PORT_COM1, &d, 1, true));
	assert_int_equal(drain(p[0], got, sizeof(got)), 0);
	serial_batch(&vm->com1, NULL, NULL);
	assert_int_equal(drain(p[0], got, sizeof(got)), 4);
	assert_memory_equal(got, "abcd", 4);
	/* Dropped whole: too long, running past RAM, the length itself past
	 * RAM, an address beyond RAM, a write narrower than 32 bits. */
	put_record(vm, 0x30000, VMM_CONSOLE_PORT_MAX + 1, NULL);
	out32(vm, VMM_CONSOLE_PORT, 0x30000);
	put_record(vm, end - 8, 5, NULL);
	out32(vm, VMM_CONSOLE_PORT, (uint32_t)(end - 8));
	out32(vm, VMM_CONSOLE_PORT, (uint32_t)(end - 2));
	out32(vm, VMM_CONSOLE_PORT, 0xfffffff0u);
	uint8_t narrow = 0x10;
	assert_true(pio_bus_access(vm, 0, VMM_CONSOLE_PORT, &narrow, 1, true));
	assert_int_equal(drain(p[0], got, sizeof(got)), 0);
	/* A record that ends exactly at the end of RAM is whole. */
	put_record(vm, end - 7, 3, "xyz");
	out32(vm, VMM_CONSOLE_PORT, (uint32_t)(end - 7));
	assert_int_equal(drain(p[0], got, sizeof(got)), 3);
	assert_memory_equal(got, "xyz", 3);
	vmm_destroy(vm);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(transmit_and_thre_irq),
		cmocka_unit_test(receive_fifo),
		cmocka_unit_test(divisor_loopback_and_masks),
		cmocka_unit_test(closed_console_keeps_running),
		cmocka_unit_test(batched_transmit_keeps_order),
		cmocka_unit_test(batched_console_that_went_away),
		cmocka_unit_test(string_out_reaches_the_uart_in_order),
		cmocka_unit_test(bad_pio_sizes_stop_the_vm),
		cmocka_unit_test(console_port_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
