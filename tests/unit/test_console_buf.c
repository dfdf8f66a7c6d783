/* The console ring buffer: ordering, wrap-around, slow readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "enclave/console_buf.h"

static void test_reads_in_order_across_wrap(void **state)
{
	(void)state;
	struct console_buf cb;
	assert_int_equal(console_buf_init(&cb, 8), 0);
	uint64_t pos = 0, dropped;
	char out[16];
	console_buf_append(&cb, "abcde", 5);
	assert_int_equal(console_buf_read(&cb, &pos, out, 3, &dropped), 3);
	assert_memory_equal(out, "abc", 3);
	console_buf_append(&cb, "fghij", 5); /* wraps */
	size_t n = console_buf_read(&cb, &pos, out, sizeof(out), &dropped);
	assert_int_equal(dropped, 0);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "defghij", 7);
	assert_int_equal(console_buf_read(&cb, &pos, out, sizeof(out), &dropped), 0);
	console_buf_free(&cb);
}

static void test_slow_reader_skips_and_is_told(void **state)
{
	(void)state;
	struct console_buf cb;
	assert_int_equal(console_buf_init(&cb, 4), 0);
	uint64_t pos = 0, dropped;
	char out[8];
	console_buf_append(&cb, "0123456789", 10); /* more than the buffer at once */
	size_t n = console_buf_read(&cb, &pos, out, sizeof(out), &dropped);
	assert_int_equal(dropped, 6);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "6789", 4);
	/* A second reader that joins late starts where the buffer starts. */
	uint64_t late = console_buf_start(&cb);
	assert_int_equal(console_buf_read(&cb, &late, out, sizeof(out), &dropped), 4);
	assert_int_equal(dropped, 0);
	console_buf_free(&cb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_in_order_across_wrap),
		cmocka_unit_test(test_slow_reader_skips_and_is_told),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
