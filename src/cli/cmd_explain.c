/* carve explain --error-code Exx */
#include <stdio.h>

#include "cli/cli.h"

int cmd_explain(int argc, char **argv, struct carve_err *err)
{
	const char *code_text = NULL;
	const struct cli_arg args[] = {
		{"error-code", ARG_STRING, true, &code_text, "an error code such as E35"},
		{0},
	};
	int parsed = cli_parse("explain", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	int code = carve_code_parse(code_text);
	if (code < 0)
		return carve_fail(
			err, E03_INVALID_ARGUMENT,
			"'%s' is not an error code; codes are E00 to E60 (nitro-cli's) and E%02d to "
			"E%02d (carve's own)",
			code_text, CARVE_CODE_FIRST_OWN, CARVE_CODE_COUNT - 1);
	printf("E%02d %s: %s\n", code, carve_code_name(code), carve_code_explanation(code));
	return 0;
}
