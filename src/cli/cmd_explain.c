/* carve explain --error-code Exx: as nitro-cli, the explanation goes to
 * stderr and the command succeeds, whatever the code (aws-nitro-enclaves-cli
 * v1.5.0 src/main.rs:296-304 returns after explain_error, which only
 * eprintln!s, src/common/document_errors.rs:367-554). */
#include <stdio.h>

#include "carve/paths.h"
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
	const char *nitro = nitro_cli_explanation(code_text);
	if (nitro) {
		fprintf(stderr, "%s\n", nitro);
		return 0;
	}
	if (carve_invoked_as_nitro_cli()) {
		/* nitro-cli's answer to any other text, E57..E59 included. */
		fprintf(stderr, "No such error code %s\n", code_text);
		return 0;
	}
	/* As carve: its own codes (E70 and up) and the three nitro-cli uses but
	 * does not explain (E57..E59) get carve's words; "e35" and "35" are
	 * carve's spellings of E35. */
	int code = carve_code_parse(code_text);
	if (code < 0) {
		fprintf(stderr, "No such error code %s\n", code_text);
		return 0;
	}
	char canonical[16];
	snprintf(canonical, sizeof(canonical), "E%02d", code);
	nitro = nitro_cli_explanation(canonical);
	if (nitro)
		fprintf(stderr, "%s\n", nitro);
	else
		fprintf(stderr, "%s. %s\n", carve_code_name(code), carve_code_explanation(code));
	return 0;
}
