/* Which directories carve uses, under which name it was started and with
 * which variables set: nitro-cli's (aws-nitro-enclaves-cli v1.5.0) when a
 * script written for it would notice, carve's own otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/paths.h"

static const char *const vars[] = {"CARVE_SOCKETS_DIR", "NITRO_CLI_SOCKETS_PATH", "NITRO_CLI_LOGS_PATH",
				   "NITRO_CLI_ARTIFACTS", "TMPDIR"};

static int clean_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
		unsetenv(vars[i]);
	carve_set_invoked_as("carve");
	return 0;
}

static void name_from_argv0(void **state)
{
	(void)state;
	carve_set_invoked_as("/usr/bin/nitro-cli");
	assert_true(carve_invoked_as_nitro_cli());
	carve_set_invoked_as("nitro-cli");
	assert_true(carve_invoked_as_nitro_cli());
	carve_set_invoked_as("./build/bin/carve");
	assert_false(carve_invoked_as_nitro_cli());
	carve_set_invoked_as("/opt/nitro-cli/carve");
	assert_false(carve_invoked_as_nitro_cli());
	carve_set_invoked_as("nitro-cli2");
	assert_false(carve_invoked_as_nitro_cli());
	carve_set_invoked_as(NULL);
	assert_false(carve_invoked_as_nitro_cli());
}

/* src/common/mod.rs:50-53 and :534-540 get_sockets_dir_path:
 * $NITRO_CLI_SOCKETS_PATH, else /run/nitro_enclaves. carve's variable wins
 * when both are set; as carve the default stays /run/carve. */
static void sockets_dir(void **state)
{
	(void)state;
	assert_string_equal(carve_sockets_dir(), "/run/carve");
	carve_set_invoked_as("/usr/bin/nitro-cli");
	assert_string_equal(carve_sockets_dir(), "/run/nitro_enclaves");
	setenv("NITRO_CLI_SOCKETS_PATH", "/tmp/ns", 1);
	assert_string_equal(carve_sockets_dir(), "/tmp/ns");
	carve_set_invoked_as("carve");
	assert_string_equal(carve_sockets_dir(), "/tmp/ns");
	setenv("CARVE_SOCKETS_DIR", "/tmp/cs", 1);
	assert_string_equal(carve_sockets_dir(), "/tmp/cs");
	/* Empty is unset, as carve's own variables always were. */
	setenv("CARVE_SOCKETS_DIR", "", 1);
	assert_string_equal(carve_sockets_dir(), "/tmp/ns");
}

/* src/common/logger.rs:26-29 and :151-156 get_log_file_base_path:
 * $NITRO_CLI_LOGS_PATH, else /var/log/nitro_enclaves. carve started as carve
 * writes no error log unless the variable asks for one. */
static void logs_dir(void **state)
{
	(void)state;
	assert_null(carve_logs_dir());
	carve_set_invoked_as("nitro-cli");
	assert_string_equal(carve_logs_dir(), "/var/log/nitro_enclaves");
	setenv("NITRO_CLI_LOGS_PATH", "/tmp/logs", 1);
	assert_string_equal(carve_logs_dir(), "/tmp/logs");
	carve_set_invoked_as("carve");
	assert_string_equal(carve_logs_dir(), "/tmp/logs");
}

/* src/lib.rs:373-382 artifacts_path: $NITRO_CLI_ARTIFACTS is made if missing
 * (create_dir_all), and a path that cannot be made is FileOperationFailure
 * (E19). Without it carve keeps its scratch in $TMPDIR. */
static void scratch_dir(void **state)
{
	(void)state;
	struct carve_err err = {0};
	const char *dir = NULL;
	assert_int_equal(carve_scratch_dir(&dir, &err), 0);
	assert_string_equal(dir, "/tmp");
	setenv("TMPDIR", "/var/tmp", 1);
	assert_int_equal(carve_scratch_dir(&dir, &err), 0);
	assert_string_equal(dir, "/var/tmp");

	char base[] = "/tmp/carve-paths.XXXXXX";
	assert_non_null(mkdtemp(base));
	char want[256], file[256];
	snprintf(want, sizeof(want), "%s/a/b", base);
	setenv("NITRO_CLI_ARTIFACTS", want, 1);
	assert_int_equal(carve_scratch_dir(&dir, &err), 0);
	assert_string_equal(dir, want);
	struct stat st;
	assert_int_equal(stat(want, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	snprintf(file, sizeof(file), "%s/file", base);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(want, sizeof(want), "%s/file/sub", base);
	setenv("NITRO_CLI_ARTIFACTS", want, 1);
	assert_int_equal(carve_scratch_dir(&dir, &err), -1);
	assert_int_equal(err.code, E19_FILE_OPERATION);
	assert_non_null(strstr(err.msg, "Could not create artifacts path"));

	unlink(file);
	snprintf(want, sizeof(want), "%s/a/b", base);
	rmdir(want);
	snprintf(want, sizeof(want), "%s/a", base);
	rmdir(want);
	rmdir(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(name_from_argv0, clean_env),
		cmocka_unit_test_setup(sockets_dir, clean_env),
		cmocka_unit_test_setup(logs_dir, clean_env),
		cmocka_unit_test_setup(scratch_dir, clean_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
