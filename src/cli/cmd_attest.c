/* carve attest --eif-path P --output FILE [--nonce HEX] [--user-data HEX]
 *              [--public-key FILE] [--debug-mode]
 *
 * The attestation document an enclave of image P would get from its NSM for
 * one Attestation request: PCR0/1/2 (and PCR8 when signed) from the image,
 * PCRs 0..15 locked, signed by a fresh leaf from carve's CA in the state
 * directory. With --debug-mode every PCR is zero, as AWS does for debug
 * enclaves. The module id is derived from PCR0 ("i-carve-enc<16 hex>") so
 * the same image gives the same id.
 * Errors: E35/E59 for a damaged or badly signed image, E03 for bad flags or
 * an oversize field, E19 for files and the state directory. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carve/eif.h"
#include "carve/nsm.h"
#include "carve/pki.h"
#include "carve/util.h"
#include "cli/cli.h"

/* Where the measurements come from: the image, fully checked (CRC and, when
 * signed, the signature), as run-enclave would check it before booting. */
static int image_measurements(const char *path, struct eif_measurements *m, struct carve_err *err)
{
	struct eif_image img;
	struct eif_report rep;
	if (eif_open(&img, path, err) < 0)
		return -1;
	if (eif_verify(&img, time(NULL), true, &rep, err) < 0) {
		eif_close(&img);
		return -1;
	}
	int rc = 0;
	if (!rep.crc_ok)
		rc = carve_fail(err, E35_EIF_PARSING, "'%s' fails its CRC check; the image is damaged", path);
	else if (rep.is_signed && !rep.signature_ok)
		rc = carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "'%s': %s", path, rep.signature_problem);
	else
		*m = rep.m;
	eif_report_free(&rep);
	eif_close(&img);
	return rc;
}

/* An optional hex flag into buf; *len -1 when the flag is absent. */
static int hex_flag(const char *name, const char *hex, uint8_t *buf, long *len, struct carve_err *err)
{
	*len = -1;
	if (!hex)
		return 0;
	if ((*len = hex_decode(hex, buf, NSM_USER_FIELD_MAX)) < 0)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "'--%s' must be an even number of hex digits, at most %d bytes", name,
				  NSM_USER_FIELD_MAX);
	return 0;
}

int cmd_attest(int argc, char **argv, struct carve_err *err)
{
	const char *eif_path = NULL, *output = NULL, *nonce_hex = NULL, *user_hex = NULL, *pubkey_path = NULL;
	bool debug = false;
	const struct cli_arg args[] = {
		{"eif-path", ARG_STRING, true, &eif_path, "the enclave image"},
		{"output", ARG_STRING, true, &output, "where to write the document (COSE_Sign1)"},
		{"nonce", ARG_STRING, false, &nonce_hex, "nonce, hex, at most 1024 bytes"},
		{"user-data", ARG_STRING, false, &user_hex, "user data, hex, at most 1024 bytes"},
		{"public-key", ARG_STRING, false, &pubkey_path,
		 "file whose bytes become public_key (1..1024)"},
		{"debug-mode", ARG_FLAG, false, &debug, "attest as a debug-mode enclave (all-zero PCRs)"},
		{0},
	};
	int parsed = cli_parse("attest", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	uint8_t nonce[NSM_USER_FIELD_MAX], user[NSM_USER_FIELD_MAX], *pubkey = NULL;
	long nonce_len, user_len;
	size_t pubkey_len = 0;
	if (hex_flag("nonce", nonce_hex, nonce, &nonce_len, err) < 0 ||
	    hex_flag("user-data", user_hex, user, &user_len, err) < 0)
		return -1;
	if (pubkey_path) {
		if (file_read_all(pubkey_path, NSM_USER_FIELD_MAX, &pubkey, &pubkey_len, E03_INVALID_ARGUMENT,
				  err) < 0)
			return -1;
		if (pubkey_len == 0) {
			free(pubkey);
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "'%s' is empty; a public key is "
					  "1 to %d bytes",
					  pubkey_path, NSM_USER_FIELD_MAX);
		}
	}
	struct eif_measurements m;
	struct pki pki;
	int rc = -1;
	if (image_measurements(eif_path, &m, err) < 0) {
		free(pubkey);
		return -1;
	}
	if (pki_open(&pki, pki_state_dir(), time(NULL), err) < 0) {
		free(pubkey);
		return -1;
	}
	char module_id[64], pcr0_hex[2 * PCR_LEN + 1];
	hex_encode(m.pcr0, PCR_LEN, pcr0_hex);
	snprintf(module_id, sizeof(module_id), "i-carve-enc%.16s", pcr0_hex);
	struct nsm_config cfg = {
		.module_id = module_id,
		.pcr0 = m.pcr0,
		.pcr1 = m.pcr1,
		.pcr2 = m.pcr2,
		.pcr8 = m.has_pcr8 ? m.pcr8 : NULL,
		.debug_mode = debug,
		.pki = &pki,
	};
	uint8_t *doc = NULL;
	size_t doc_len = 0;
	if (nsm_attest_once(&cfg, user_len >= 0 ? user : NULL, user_len > 0 ? (size_t)user_len : 0,
			    nonce_len >= 0 ? nonce : NULL, nonce_len > 0 ? (size_t)nonce_len : 0, pubkey,
			    pubkey_len, &doc, &doc_len, err) == 0 &&
	    file_write_atomic(output, doc, doc_len, err) == 0) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Document", json_object_new_string(output));
		json_object_object_add(o, "Bytes", json_object_new_int64((int64_t)doc_len));
		json_object_object_add(o, "ModuleId", json_object_new_string(module_id));
		json_object_object_add(o, "DebugMode", json_object_new_boolean(debug));
		cli_print_json(o);
		json_object_put(o);
		rc = 0;
	}
	free(doc);
	free(pubkey);
	pki_free(&pki);
	return rc;
}
