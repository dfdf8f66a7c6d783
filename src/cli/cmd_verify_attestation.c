/* carve verify-attestation --document FILE [--root PEM] [--pcr N=HEX]...
 *                          [--nonce HEX]
 *
 * Verifies an attestation document as a relying party would (reference
 * AWS's attestation_process.md) and prints its decoded fields as JSON. The trusted root defaults to
 * carve's own (state directory); pass --root to pin another.
 * Exit codes: E03 bad flags, E19 unreadable files, E17 a document that does
 * not decode or has the wrong shape, E59 a bad signature, an untrusted or
 * expired chain, or a PCR / nonce that differs from the expected value. */
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carve/nsm.h"
#include "carve/pki.h"
#include "carve/util.h"
#include "cli/cli.h"

/* A COSE document from the NSM is at most 0x3000 bytes; allow headroom for
 * documents from elsewhere (the spec's payload limit is 16 KiB). */
#define DOCUMENT_MAX (32 * 1024)

static int parse_pcr(const char *text, struct nsm_expected_pcr *out, struct carve_err *err)
{
	char *end;
	const char *eq = strchr(text, '=');
	unsigned long idx = eq && eq != text ? strtoul(text, &end, 10) : NSM_MAX_PCRS;
	if (!eq || eq == text || end != eq || idx >= NSM_MAX_PCRS)
		return carve_fail(err, E03_INVALID_ARGUMENT, "'--pcr %s' is not N=HEX with N from 0 to 31",
				  text);
	if (strlen(eq + 1) != 2 * PCR_LEN || hex_decode(eq + 1, out->value, PCR_LEN) != PCR_LEN)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "'--pcr %s': the value must be 96 hex digits (48 bytes)", text);
	out->index = (unsigned)idx;
	return 0;
}

static json_object *hex_or_null(const struct nsm_bytes *b)
{
	if (!b->present)
		return NULL; /* json-c prints a NULL object as null */
	char *hex = malloc(2 * b->len + 1);
	if (!hex)
		return NULL;
	hex_encode(b->data, b->len, hex);
	json_object *o = json_object_new_string(hex);
	free(hex);
	return o;
}

/* "CN=...,O=...,OU=..." (RFC 2253), the form people paste into configs. */
static json_object *name_json(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *text;
	long len;
	json_object *o = NULL;
	if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (len = BIO_get_mem_data(bio, &text)) >= 0)
		o = json_object_new_string_len(text, (int)len);
	BIO_free(bio);
	return o;
}

static json_object *cert_json(X509 *c)
{
	json_object *o = json_object_new_object();
	char buf[64];
	json_object_object_add(o, "Subject", name_json(X509_get_subject_name(c)));
	json_object_object_add(o, "Issuer", name_json(X509_get_issuer_name(c)));
	if (cert_time_rfc3339(c, false, buf, sizeof(buf)) == 0)
		json_object_object_add(o, "NotBefore", json_object_new_string(buf));
	if (cert_time_rfc3339(c, true, buf, sizeof(buf)) == 0)
		json_object_object_add(o, "NotAfter", json_object_new_string(buf));
	return o;
}

static void print_report(const struct nsm_verified *v)
{
	const struct nsm_doc *d = &v->doc;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Valid", json_object_new_boolean(1));
	json_object_object_add(o, "ModuleId", json_object_new_string(d->module_id));
	json_object_object_add(o, "Digest", json_object_new_string(d->digest));
	json_object_object_add(o, "Timestamp", json_object_new_int64((int64_t)d->timestamp));
	char when[32];
	time_t secs = (time_t)(d->timestamp / 1000);
	struct tm tm;
	if (gmtime_r(&secs, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		json_object_object_add(o, "Time", json_object_new_string(when));
	json_object_object_add(o, "DebugMode", json_object_new_boolean(v->debug_mode));
	json_object *pcrs = json_object_new_object();
	for (int i = 0; i < d->npcrs; i++) {
		char key[8], hex[2 * 64 + 1];
		snprintf(key, sizeof(key), "%u", d->pcrs[i].index);
		hex_encode(d->pcrs[i].value, d->pcrs[i].len, hex);
		json_object_object_add(pcrs, key, json_object_new_string(hex));
	}
	json_object_object_add(o, "PCRs", pcrs);
	json_object_object_add(o, "Certificate", cert_json(v->leaf));
	json_object *bundle = json_object_new_array();
	for (size_t i = 0; i < d->ncabundle; i++) {
		struct carve_err ignored = {0};
		X509 *c = cert_from_der(d->cabundle[i].data, d->cabundle[i].len, &ignored);
		if (c) {
			json_object_array_add(bundle, cert_json(c));
			X509_free(c);
		}
	}
	json_object_object_add(o, "CABundle", bundle);
	json_object_object_add(o, "PublicKey", hex_or_null(&d->public_key));
	json_object_object_add(o, "UserData", hex_or_null(&d->user_data));
	json_object_object_add(o, "Nonce", hex_or_null(&d->nonce));
	cli_print_json(o);
	json_object_put(o);
}

static X509 *load_root(const char *path, struct carve_err *err)
{
	if (path)
		return cert_load_pem_file(path, NULL, NULL, err);
	struct pki_cert root;
	if (pki_load_root(pki_state_dir(), &root, err) < 0)
		return NULL;
	X509 *c = root.cert;
	root.cert = NULL;
	pki_cert_free(&root);
	return c;
}

int cmd_verify_attestation(int argc, char **argv, struct carve_err *err)
{
	const char *document = NULL, *root_path = NULL, *nonce_hex = NULL;
	struct cli_list pcr_args = {0};
	const struct cli_arg args[] = {
		{"document", ARG_STRING, true, &document, "the attestation document (COSE_Sign1)"},
		{"root", ARG_STRING, false, &root_path,
		 "PEM root certificate to trust (default: carve's, from the state directory)"},
		{"pcr", ARG_STRING_LIST, false, &pcr_args, "N=HEX: expect PCR N to be HEX (repeatable)"},
		{"nonce", ARG_STRING, false, &nonce_hex, "expect this nonce (hex)"},
		{0},
	};
	int rc = -1;
	struct nsm_expected_pcr *pcrs = NULL;
	uint8_t *doc = NULL, nonce[NSM_USER_FIELD_MAX];
	X509 *root = NULL;
	struct nsm_verify_opts o = {.now = time(NULL)};
	int parsed = cli_parse("verify-attestation", args, argc, argv, err);
	if (parsed != CLI_PARSED) {
		rc = parsed < 0 ? -1 : 0;
		goto out;
	}
	pcrs = calloc((size_t)pcr_args.count + 1, sizeof(*pcrs));
	if (!pcrs) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	for (int i = 0; i < pcr_args.count; i++)
		if (parse_pcr(pcr_args.items[i], &pcrs[i], err) < 0)
			goto out;
	o.pcrs = pcrs;
	o.npcrs = (size_t)pcr_args.count;
	if (nonce_hex) {
		long n = hex_decode(nonce_hex, nonce, sizeof(nonce));
		if (n < 0) {
			carve_fail(err, E03_INVALID_ARGUMENT,
				   "'--nonce' must be an even number of hex digits, at most %d bytes",
				   NSM_USER_FIELD_MAX);
			goto out;
		}
		o.nonce = nonce;
		o.nonce_len = (size_t)n;
	}
	size_t doc_len;
	if (file_read_all(document, DOCUMENT_MAX, &doc, &doc_len, E17_SERDE, err) < 0)
		goto out;
	if (!(root = load_root(root_path, err)))
		goto out;
	o.root = root;
	struct nsm_verified v;
	if (nsm_verify_document(doc, doc_len, &o, &v, err) < 0)
		goto out;
	print_report(&v);
	nsm_verified_free(&v);
	rc = 0;
out:
	X509_free(root);
	free(doc);
	free(pcrs);
	cli_list_free(&pcr_args);
	return rc;
}
