/* carve_err: the first error is kept, outer layers add context in front of
 * it, and no message ever runs past its buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "carve/error.h"

static void first_error_wins(void **state)
{
	(void)state;
	struct carve_err err = {0};
	assert_int_equal(carve_fail(&err, E35_EIF_PARSING, "inner: %d", 1), -1);
	carve_fail(&err, E00_UNSPECIFIED, "outer");
	assert_int_equal(err.code, E35_EIF_PARSING);
	assert_string_equal(err.msg, "inner: 1");
}

static void context_goes_in_front(void **state)
{
	(void)state;
	struct carve_err err = {0};
	carve_fail(&err, E29_IOCTL_FAILURE, "KVM_IRQFD failed: %s", "EBUSY");
	assert_int_equal(carve_err_context(&err, "building the VM (%s): ", "devices"), -1);
	assert_int_equal(err.code, E29_IOCTL_FAILURE);
	assert_string_equal(err.msg, "building the VM (devices): KVM_IRQFD failed: EBUSY");
}

static void context_without_error_is_nothing(void **state)
{
	(void)state;
	struct carve_err err = {0};
	carve_err_context(&err, "step: ");
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
}

static void context_is_cut_to_fit(void **state)
{
	(void)state;
	struct carve_err err = {0};
	char longer[2 * CARVE_ERR_MSG_MAX];
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	carve_fail(&err, E00_UNSPECIFIED, "%s", longer);
	assert_int_equal(strlen(err.msg), CARVE_ERR_MSG_MAX - 1);
	carve_err_context(&err, "%s", longer);
	assert_int_equal(strlen(err.msg), CARVE_ERR_MSG_MAX - 1);
	carve_err_clear(&err);
	carve_fail(&err, E03_INVALID_ARGUMENT, "short");
	carve_err_context(&err, "%.*s", CARVE_ERR_MSG_MAX - 3, longer);
	assert_int_equal(strlen(err.msg), CARVE_ERR_MSG_MAX - 1);
	assert_memory_equal(err.msg + CARVE_ERR_MSG_MAX - 3, "sh", 2);
}

static void codes_parse(void **state)
{
	(void)state;
	assert_int_equal(carve_code_parse("E35"), 35);
	assert_int_equal(carve_code_parse("e07"), 7);
	assert_int_equal(carve_code_parse("E99"), -1);
	assert_string_equal(carve_code_name(E35_EIF_PARSING), "EifParsingError");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_error_wins),
		cmocka_unit_test(context_goes_in_front),
		cmocka_unit_test(context_without_error_is_nothing),
		cmocka_unit_test(context_is_cut_to_fit),
		cmocka_unit_test(codes_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
