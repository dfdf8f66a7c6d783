/* carve pcr --input FILE | --signing-certificate PEM */
#include <json-c/json.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "carve/util.h"
#include "cli/cli.h"

int cmd_pcr(int argc, char **argv, struct carve_err *err)
{
	const char *input = NULL, *cert_path = NULL;
	const struct cli_arg args[] = {
		/* nitro-cli's order and relations (src/lib.rs:837-854). */
		{"signing-certificate", ARG_STRING, false, &cert_path,
		 "PEM certificate: its PCR8, measured over the DER encoding", .conflicts = "input",
		 .unless = "input"},
		{"input", ARG_STRING, false, &input, "file to measure: SHA384(0^48 || SHA384(file))",
		 .conflicts = "signing-certificate", .unless = "signing-certificate"},
		{0},
	};
	int parsed = cli_parse("pcr", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;

	uint8_t pcr[PCR_LEN];
	if (input) {
		if (eif_pcr_of_file(input, pcr, err) < 0)
			return -1;
	} else {
		X509 *cert = cert_load_pem_file(cert_path, NULL, NULL, err);
		if (!cert) {
			/* nitro-cli: a file it cannot open or read is E19, one that
			 * is not a PEM certificate HasherError, "Failed to
			 * deserialize .pem" (src/lib.rs:572-596). */
			if (err->code == E19_FILE_OPERATION)
				return -1;
			err->code = E57_HASHER;
			return carve_err_context(err, "Failed to deserialize .pem: ");
		}
		int rc = eif_pcr8_of_cert(cert, pcr, err);
		X509_free(cert);
		if (rc < 0)
			return -1;
	}
	char hex[2 * PCR_LEN + 1];
	hex_encode(pcr, PCR_LEN, hex);
	json_object *out = json_object_new_object();
	json_object_object_add(out, input ? "PCR" : "PCR8", json_object_new_string(hex));
	cli_print_json(out);
	json_object_put(out);
	return 0;
}
