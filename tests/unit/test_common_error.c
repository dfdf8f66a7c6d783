/* carve_err: the first error is kept, outer layers add context in front of
 * it, and no message ever runs past its buffer. The codes: nitro-cli's
 * E00..E60 and carve's own from E70, with nothing between. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/error.h"
/* cli_report_error turns a code into the "[ Exx ]" line and the exit status;
 * it is the CLI's (not in libcarve), so its source is compiled in here. */
#include "../../src/cli/output.c"

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

static const struct {
	int code;
	const char *text, *name;
} own_codes[] = {
	{E70_KVM_UNAVAILABLE, "E70", "KvmUnavailable"},
	{E71_KVM_CAPABILITY_MISSING, "E71", "KvmCapabilityMissing"},
	{E72_GUEST_MEMORY, "E72", "GuestMemoryError"},
	{E73_VCPU_SETUP, "E73", "VcpuSetupError"},
	{E74_DEVICE_SETUP, "E74", "DeviceSetupError"},
	{E75_GUEST_KERNEL_LOAD, "E75", "GuestKernelLoadError"},
	{E76_GUEST_CRASH, "E76", "GuestCrash"},
};

/* Each of carve's codes parses, has its name and an explanation, and is
 * its own number (the exit status). */
static void own_codes_parse_and_name(void **state)
{
	(void)state;
	assert_int_equal(sizeof(own_codes) / sizeof(own_codes[0]), CARVE_CODE_COUNT - CARVE_CODE_FIRST_OWN);
	for (size_t i = 0; i < sizeof(own_codes) / sizeof(own_codes[0]); i++) {
		int c = own_codes[i].code;
		assert_int_equal(c, CARVE_CODE_FIRST_OWN + (int)i);
		assert_int_equal(carve_code_parse(own_codes[i].text), c);
		assert_int_equal(carve_code_parse(own_codes[i].text + 1), c);
		assert_true(carve_code_valid(c));
		assert_string_equal(carve_code_name(c), own_codes[i].name);
		const char *x = carve_code_explanation(c);
		assert_non_null(x);
		assert_true(strlen(x) > 40);
	}
	assert_int_equal(carve_code_parse("e75"), E75_GUEST_KERNEL_LOAD);
}

/* E61..E69 are nitro-cli's to grow into: not codes, whatever asks. */
static void gap_is_not_codes(void **state)
{
	(void)state;
	for (int c = E60_EIF_SIGNING + 1; c < CARVE_CODE_FIRST_OWN; c++) {
		char text[16];
		snprintf(text, sizeof(text), "E%02d", c);
		assert_int_equal(carve_code_parse(text), -1);
		assert_false(carve_code_valid(c));
		assert_null(carve_code_name(c));
		assert_null(carve_code_explanation(c));
		struct carve_err err = {0};
		carve_fail(&err, c, "x");
		assert_int_equal(err.code, E00_UNSPECIFIED);
	}
	assert_int_equal(carve_code_parse("E77"), -1);
	assert_null(carve_code_name(CARVE_CODE_COUNT));
	assert_null(carve_code_name(-1));
	assert_int_equal(carve_code_parse("E-1"), -1);
}

/* Every code there is has a name and an explanation: a table entry added
 * without its text would print "(null)". */
static void every_code_has_text(void **state)
{
	(void)state;
	int n = 0;
	for (int c = 0; c < CARVE_CODE_COUNT; c++) {
		if (!carve_code_valid(c))
			continue;
		n++;
		assert_non_null(carve_code_name(c));
		assert_non_null(carve_code_explanation(c));
	}
	assert_int_equal(n, 61 + 7);
}

/* What cli_report_error wrote on stderr, and the status it returned. */
static int report(int code, const char *msg, char *out, size_t cap)
{
	struct carve_err err = {0};
	carve_fail(&err, code, "%s", msg);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	FILE *f = tmpfile();
	assert_non_null(f);
	dup2(fileno(f), STDERR_FILENO);
	int status = cli_report_error(&err);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
	return status;
}

/* The exit status is the code's number; carve's codes point to 'carve
 * explain', not to AWS's page, which does not list them. */
static void own_codes_exit_status(void **state)
{
	(void)state;
	char out[2048], want[64];
	for (size_t i = 0; i < sizeof(own_codes) / sizeof(own_codes[0]); i++) {
		assert_int_equal(report(own_codes[i].code, "what failed", out, sizeof(out)),
				 own_codes[i].code);
		snprintf(want, sizeof(want), "[ %s ] %s. what failed\n", own_codes[i].text,
			 own_codes[i].name);
		if (strncmp(out, want, strlen(want)) != 0)
			fail_msg("stderr '%s' does not start with '%s'", out, want);
		assert_non_null(strstr(out, "carve explain --error-code"));
		assert_null(strstr(out, "docs.aws.amazon.com"));
	}
	assert_int_equal(report(E35_EIF_PARSING, "bad", out, sizeof(out)), 35);
	assert_non_null(strstr(out, "cli-errors.html#E35"));
	assert_int_equal(report(E00_UNSPECIFIED, "bad", out, sizeof(out)), 1);
}

/* nitro-cli names a file holding the failure for a support ticket:
 * <logs>/err<Utc::now().to_rfc3339()>.log (aws-nitro-enclaves-cli v1.5.0
 * src/common/mod.rs:324-325, the line at :387). */
static void error_log_is_written_and_named(void **state)
{
	(void)state;
	char dir[] = "/tmp/carve-errlog.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char logs[64];
	snprintf(logs, sizeof(logs), "%s/logs", dir);
	setenv("NITRO_CLI_LOGS_PATH", logs, 1);
	cli_action = "run-enclave";
	char out[2048];
	assert_int_equal(report(E19_FILE_OPERATION, "File: 'x', failing operation: 'Open'", out, sizeof(out)),
			 19);
	unsetenv("NITRO_CLI_LOGS_PATH");
	const char *line =
		strstr(out, "\n\nIf you open a support ticket, please provide the error log found at \"");
	assert_non_null(line);
	const char *path = strchr(line, '"') + 1;
	size_t len = strcspn(path, "\"");
	char file[512];
	assert_true(len < sizeof(file));
	memcpy(file, path, len);
	file[len] = '\0';
	/* <logs>/err2024-05-01T12:34:56[.fff[fff[fff]]]+00:00.log */
	regex_t re;
	assert_int_equal(
		regcomp(&re,
			"^/tmp/carve-errlog\\.[^/]*/logs/err[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
			"(\\.[0-9]{3}|\\.[0-9]{6}|\\.[0-9]{9})?\\+00:00\\.log$",
			REG_EXTENDED | REG_NOSUB),
		0);
	int match = regexec(&re, file, 0, NULL, 0);
	regfree(&re);
	if (match != 0)
		fail_msg("error log '%s' is not named as nitro-cli names it", file);
	FILE *f = fopen(file, "r");
	assert_non_null(f);
	char body[1024];
	size_t n = fread(body, 1, sizeof(body) - 1, f);
	body[n] = '\0';
	fclose(f);
	assert_non_null(strstr(body, "  Action: run-enclave\n"));
	assert_non_null(strstr(body, "File: 'x', failing operation: 'Open'"));
	unlink(file);
	rmdir(logs);
	rmdir(dir);
	/* Without a logs directory (carve, no variable) no file is named. */
	assert_int_equal(report(E19_FILE_OPERATION, "again", out, sizeof(out)), 19);
	assert_null(strstr(out, "support ticket"));
}

/* nitro-cli's explain texts (v1.5.0 src/common/document_errors.rs:367-554):
 * E00..E56 and E60, matched on the exact string, its words as they are. */
static void nitro_explanations(void **state)
{
	(void)state;
	char code[16];
	for (int c = 0; c <= 60; c++) {
		snprintf(code, sizeof(code), "E%02d", c);
		const char *text = nitro_cli_explanation(code);
		if (c >= 57 && c <= 59)
			assert_null(text); /* no arm there: "No such error code" */
		else
			assert_non_null(text);
	}
	/* document_errors.rs:477-478 and :430-431 (a newline and a tab). */
	assert_string_equal(
		nitro_cli_explanation("E35"),
		"EIF file parsing error. Such errors appear when attempting to fill a memory region "
		"with a section of the EIF file, but reading the entire section fails. This might "
		"indicate that the required hugepages are not available.");
	assert_string_equal(
		nitro_cli_explanation("E20"),
		"Invalid CPU configuration. Such error appears when the user supplies the same CPU ID "
		"multiple times.\n\tExample: `nitro-cli run-enclave --cpu-ids 1 1 --memory 80 "
		"--eif-path /path/to/my/eif`. In this case, CPU ID `1` has been selected twice.");
	/* :383, its spelling kept ("apears"). */
	assert_non_null(strstr(nitro_cli_explanation("E04"), "Such error apears when"));
	const char *not_codes[] = {"e35", "35", "E035", "E3", "E61", "E70", "E99", "", "E3x", NULL};
	for (int i = 0; not_codes[i]; i++)
		assert_null(nitro_cli_explanation(not_codes[i]));
	assert_null(nitro_cli_explanation(NULL));
}

int main(void)
{
	/* The messages checked here are carve's, not nitro-cli's: no error
	 * log, whatever the caller's environment holds. */
	unsetenv("NITRO_CLI_LOGS_PATH");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_error_wins),
		cmocka_unit_test(context_goes_in_front),
		cmocka_unit_test(context_without_error_is_nothing),
		cmocka_unit_test(context_is_cut_to_fit),
		cmocka_unit_test(codes_parse),
		cmocka_unit_test(own_codes_parse_and_name),
		cmocka_unit_test(gap_is_not_codes),
		cmocka_unit_test(every_code_has_text),
		cmocka_unit_test(own_codes_exit_status),
		cmocka_unit_test(error_log_is_written_and_named),
		cmocka_unit_test(nitro_explanations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
