/* The bound on guest-driven log lines: a burst per window, then silence,
 * then the count of what was left out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "carve/util.h"

#define MS 1000000ull

static void burst_then_silence_then_count(void **state)
{
	(void)state;
	struct rate_limit r;
	rate_limit_init(&r, 3, 1000);
	unsigned long dropped = 99;
	uint64_t t = 5 * MS;
	for (int i = 0; i < 3; i++) {
		assert_true(rate_limit_allow(&r, t + (uint64_t)i * MS, &dropped));
		assert_int_equal(dropped, 0);
	}
	for (int i = 0; i < 7; i++)
		assert_false(rate_limit_allow(&r, t + 500 * MS, &dropped));
	/* A new window: the first line says 7 were left out. */
	assert_true(rate_limit_allow(&r, t + 1000 * MS, &dropped));
	assert_int_equal(dropped, 7);
	assert_true(rate_limit_allow(&r, t + 1001 * MS, &dropped));
	assert_int_equal(dropped, 0);
	rate_limit_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_then_silence_then_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
