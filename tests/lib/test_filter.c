/* One cmocka case by name: every unit-test binary links this, and with
 * CARVE_TEST_CASE=<name or glob> in its environment it runs only the cases
 * that match (tests/README.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

static void __attribute__((constructor)) filter_from_environment(void)
{
	const char *only = getenv("CARVE_TEST_CASE");
	if (only && *only)
		cmocka_set_test_filter(only);
}
