/* libFuzzer target: the flag parser every command uses, over any argv (the
 * input split at NUL bytes into words). It must take or refuse each line
 * without reading outside it, and a refusal must be one whole clap-shaped
 * message: "error: " first, the help hint last, never cut. The table is
 * run-enclave's shape: lists, flags, conflicts, requires, unless. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The parser is the CLI's (not in libcarve): compiled in, with the command
 * table --help looks in. */
#include "../../src/cli/arg_errors.c"
#include "../../src/cli/args.c"

const struct cli_command cli_commands[] = {{"run-enclave", NULL, "fuzz", NULL}, {NULL, NULL, NULL, NULL}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	/* Exact-size words, so reading past one is caught. */
	char *argv[64];
	int argc = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size && argc < 64; i++) {
		if (i < size && data[i] != 0)
			continue;
		argv[argc] = malloc(i - start + 1);
		if (!argv[argc])
			break;
		memcpy(argv[argc], data + start, i - start);
		argv[argc][i - start] = '\0';
		argc++;
		start = i + 1;
	}
	const char *count = NULL, *memory = NULL, *config = NULL, *cert = NULL, *key = NULL;
	struct cli_list ids = {0};
	bool debug = false;
	const struct cli_arg args[] = {
		{"cpu-ids", ARG_STRING_LIST, false, &ids, "", .conflicts = "cpu-count config",
		 .unless = "cpu-count config"},
		{"cpu-count", ARG_STRING, false, &count, "", .conflicts = "cpu-ids config",
		 .unless = "cpu-ids config"},
		{"memory", ARG_STRING, true, &memory, "", .unless = "config"},
		{"debug-mode", ARG_FLAG, false, &debug, "", .conflicts = "config"},
		{"config", ARG_STRING, false, &config, "", .value_name = "json-config"},
		{"signing-certificate", ARG_STRING, false, &cert, "", .requires = "private-key"},
		{"private-key", ARG_STRING, false, &key, "", .requires = "signing-certificate"},
		{0},
	};
	struct carve_err err = {0};
	int rc = cli_parse("run-enclave", args, argc, argv, &err);
	if (rc < 0 && err.code == CLI_USAGE_ERROR) {
		size_t len = strnlen(err.msg, sizeof(err.msg));
		static const char tail[] = "For more information, try '--help'.";
		if (len >= sizeof(err.msg) || strncmp(err.msg, "error: ", 7) != 0 || len < sizeof(tail) - 1 ||
		    strcmp(err.msg + len - (sizeof(tail) - 1), tail) != 0)
			__builtin_trap();
	}
	if (rc == CLI_PARSED && !config && (!memory || (!count == !ids.count)))
		__builtin_trap(); /* a required flag let through */
	cli_list_free(&ids);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
