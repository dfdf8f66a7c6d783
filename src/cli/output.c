/* How carve prints: JSON results on stdout (pretty, like serde_json's
 * to_string_pretty that nitro-cli uses), errors on stderr in nitro-cli's
 * "[ Exx ]" form with the E-code as exit status. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>

#include "carve/util.h"
#include "cli/cli.h"

void cli_print_json(struct json_object *obj)
{
	/* serde_json prints an empty array as "[]"; json-c as "[\n]". */
	if (json_object_is_type(obj, json_type_array) && json_object_array_length(obj) == 0) {
		printf("[]\n");
		fflush(stdout);
		return;
	}
	const char *text = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	printf("%s\n", text);
	fflush(stdout);
}

int cli_report_error(const struct carve_err *err)
{
	int code = carve_code_valid(err->code) ? err->code : E00_UNSPECIFIED;
	fprintf(stderr, "[ E%02d ] %s. %s\n\n", code, carve_code_name(code),
		err->msg[0] ? err->msg : carve_code_explanation(code));
	/* AWS's page lists nitro-cli's codes only; carve's own are explained here. */
	if (code >= CARVE_CODE_FIRST_OWN)
		fprintf(stderr, "For more details, run 'carve explain --error-code E%02d'\n", code);
	else
		fprintf(stderr,
			"For more details, run 'carve explain --error-code E%02d' or visit "
			"https://docs.aws.amazon.com/enclaves/latest/user/cli-errors.html#E%02d\n",
			code, code);
	/* E00 would exit 0; an unspecified failure must still fail. */
	return code ? code : 1;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

struct json_object *cli_measurements_json(const struct eif_measurements *m)
{
	char hex[2 * PCR_LEN + 1];
	json_object *o = json_object_new_object();
	/* nitro-cli prints the Rust Debug form of its hasher here. */
	json_object_object_add(o, "HashAlgorithm", json_object_new_string("Sha384 { ... }"));
	hex_encode(m->pcr0, PCR_LEN, hex);
	json_object_object_add(o, "PCR0", json_object_new_string(hex));
	hex_encode(m->pcr1, PCR_LEN, hex);
	json_object_object_add(o, "PCR1", json_object_new_string(hex));
	hex_encode(m->pcr2, PCR_LEN, hex);
	json_object_object_add(o, "PCR2", json_object_new_string(hex));
	if (m->has_pcr8) {
		hex_encode(m->pcr8, PCR_LEN, hex);
		json_object_object_add(o, "PCR8", json_object_new_string(hex));
	}
	return o;
}
