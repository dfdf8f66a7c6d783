/* carve attestation-root [--output FILE]
 *
 * Prints (or writes) the PEM root certificate of carve's local attestation
 * CA, creating the CA in the state directory on first use. Verifiers pin
 * this certificate the way they pin AWS_NitroEnclaves_Root-G1. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carve/pki.h"
#include "carve/util.h"
#include "cli/cli.h"

static int write_output(const char *path, const char *data, size_t len, struct carve_err *err)
{
	if (!path) {
		fwrite(data, 1, len, stdout);
		fflush(stdout);
		return 0;
	}
	return file_write_atomic(path, data, len, err);
}

int cmd_attestation_root(int argc, char **argv, struct carve_err *err)
{
	const char *output = NULL;
	const struct cli_arg args[] = {
		{"output", ARG_STRING, false, &output, "write the PEM here instead of stdout"},
		{0},
	};
	int parsed = cli_parse("attestation-root", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	struct pki pki;
	if (pki_open(&pki, pki_state_dir(), time(NULL), err) < 0)
		return -1;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	int rc = -1;
	if (!bio || PEM_write_bio_X509(bio, pki.root.cert) != 1 || (len = BIO_get_mem_data(bio, &pem)) <= 0)
		carve_fail(err, E00_UNSPECIFIED, "could not encode the root certificate");
	else
		rc = write_output(output, pem, (size_t)len, err);
	BIO_free(bio);
	pki_free(&pki);
	return rc;
}
