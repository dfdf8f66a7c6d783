/* The 8250 UART as Linux's driver and a polling guest use it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(transmit_and_thre_irq),
		cmocka_unit_test(receive_fifo),
		cmocka_unit_test(divisor_loopback_and_masks),
		cmocka_unit_test(closed_console_keeps_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
