/* carve sign-eif --eif-path P --signing-certificate PEM --private-key PEM
 *
 * Failures follow nitro-cli's sign_eif (v1.5.0 src/lib.rs:297-350): every one
 * is EIFSigningError (E60). A certificate or key it cannot read is first
 * named on its own line, "Could not read signing info: ...", then "Failed to
 * create EifSigner"; an image it cannot sign (missing, damaged) is "Failed to
 * sign image". */
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <time.h>

#include "carve/crypto.h"
#include "cli/cli.h"

/* What nitro-cli's SignKeyData::new reads: the certificate, then the key. */
static int read_signing_info(const char *cert_path, const char *key_path, struct carve_err *err)
{
	X509 *cert = cert_load_pem_file(cert_path, NULL, NULL, err);
	if (!cert)
		return -1;
	X509_free(cert);
	EVP_PKEY *key = key_load_private_pem(key_path, err);
	if (!key)
		return -1;
	EVP_PKEY_free(key);
	return 0;
}

int cmd_sign_eif(int argc, char **argv, struct carve_err *err)
{
	const char *path = NULL, *cert = NULL, *key = NULL;
	/* nitro-cli's relations (src/lib.rs:865-884): the key pair requires
	 * each other; --eif-path is not the parser's to require. */
	const struct cli_arg args[] = {
		{"eif-path", ARG_STRING, false, &path, "the image to sign"},
		{"signing-certificate", ARG_STRING, false, &cert, "PEM certificate",
		 .requires = "private-key"},
		{"private-key", ARG_STRING, false, &key, "PEM EC private key of the certificate",
		 .requires = "signing-certificate"},
		{0},
	};
	int parsed = cli_parse("sign-eif", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	/* SignEifArgs::new_with (src/common/commands_parser.rs:280, :444-451). */
	if (!path)
		return carve_fail(err, E01_MISSING_ARGUMENT, "`eif-path` argument not found");
	/* Neither: nitro-cli has no signer to make (src/lib.rs:299-315). */
	if (!cert)
		return carve_fail(err, E60_EIF_SIGNING,
				  "Failed to create EifSigner: sign-eif needs --signing-certificate and "
				  "--private-key");
	struct carve_err info_err = {0};
	if (read_signing_info(cert, key, &info_err) < 0) {
		fprintf(stderr, "Could not read signing info: %s\n", info_err.msg);
		return carve_fail(err, E60_EIF_SIGNING,
				  "Failed to create EifSigner: the signing info could not be read (%s)",
				  info_err.msg);
	}
	struct eif_measurements m;
	if (eif_sign_file(path, cert, key, time(NULL), &m, err) < 0) {
		err->code = E60_EIF_SIGNING;
		return carve_err_context(err, "Failed to sign image: ");
	}
	fprintf(stderr, "Enclave Image successfully signed.\n");
	json_object *out = json_object_new_object();
	json_object_object_add(out, "Measurements", cli_measurements_json(&m));
	cli_print_json(out);
	json_object_put(out);
	return 0;
}
