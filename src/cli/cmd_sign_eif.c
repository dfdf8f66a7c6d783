/* carve sign-eif --eif-path P --signing-certificate PEM --private-key PEM */
#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"

int cmd_sign_eif(int argc, char **argv, struct carve_err *err)
{
	const char *path = NULL, *cert = NULL, *key = NULL;
	const struct cli_arg args[] = {
		{"eif-path", ARG_STRING, true, &path, "the image to sign"},
		{"signing-certificate", ARG_STRING, true, &cert, "PEM certificate"},
		{"private-key", ARG_STRING, true, &key, "PEM EC private key of the certificate"},
		{0},
	};
	int parsed = cli_parse("sign-eif", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	struct eif_measurements m;
	if (eif_sign_file(path, cert, key, time(NULL), &m, err) < 0)
		return -1;
	fprintf(stderr, "Enclave Image successfully signed.\n");
	json_object *out = json_object_new_object();
	json_object_object_add(out, "Measurements", cli_measurements_json(&m));
	cli_print_json(out);
	json_object_put(out);
	return 0;
}
