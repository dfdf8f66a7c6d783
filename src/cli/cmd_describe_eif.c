/* carve describe-eif --eif-path P: nitro-cli's JSON for an image, after a
 * full check. A CRC mismatch or a signature that does not hold still prints
 * the JSON (CheckCRC / SignatureCheck false, as nitro-cli does) and then
 * fails with E35 / E59, so scripts cannot mistake a damaged image for a good
 * one. */
#include <json-c/json.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carve/util.h"
#include "cli/cli.h"

/* "Nov 21 15:44:00 2026 GMT", OpenSSL's (and so nitro-cli's) Asn1Time form. */
static json_object *asn1_time_json(const ASN1_TIME *t)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char buf[64] = "";
	if (bio && ASN1_TIME_print(bio, t) == 1) {
		int n = BIO_read(bio, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	BIO_free(bio);
	return json_object_new_string(buf);
}

static json_object *certificate_json(X509 *cert)
{
	json_object *o = json_object_new_object();
	json_object *issuer = json_object_new_object();
	const X509_NAME *name = X509_get_issuer_name(cert);
	for (int i = 0; i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		const char *key = nid != NID_undef ? OBJ_nid2sn(nid) : "unknown";
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
		if (n >= 0)
			json_object_object_add(issuer, key, json_object_new_string_len((char *)utf8, n));
		OPENSSL_free(utf8);
	}
	json_object_object_add(o, "IssuerName", issuer);
	json_object_object_add(o, "Algorithm",
			       json_object_new_string(OBJ_nid2ln(X509_get_signature_nid(cert))));
	json_object_object_add(o, "NotBefore", asn1_time_json(X509_get0_notBefore(cert)));
	json_object_object_add(o, "NotAfter", asn1_time_json(X509_get0_notAfter(cert)));
	const ASN1_BIT_STRING *sig;
	X509_get0_signature(&sig, NULL, cert);
	int len = ASN1_STRING_length(sig);
	const unsigned char *p = ASN1_STRING_get0_data(sig);
	char *hex = malloc((size_t)len * 3 + 1);
	if (hex) {
		size_t pos = 0;
		hex[0] = '\0';
		for (int i = 0; i < len; i++)
			pos += (size_t)sprintf(hex + pos, i ? ":%02X" : "%02X", p[i]);
		json_object_object_add(o, "Signature", json_object_new_string(hex));
		free(hex);
	}
	return o;
}

/* ImageName/ImageVersion go top level; Metadata holds BuildMetadata's fields,
 * DockerInfo, and the custom keys inlined (serde's flatten). */
static void add_metadata(json_object *out, const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *meta = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (!meta || !json_object_is_type(meta, json_type_object)) {
		cli_warn("the image's metadata section is not a JSON object; it is left out");
		json_object_put(meta);
		return;
	}
	json_object *v;
	if (json_object_object_get_ex(meta, "ImageName", &v))
		json_object_object_add(out, "ImageName", json_object_get(v));
	if (json_object_object_get_ex(meta, "ImageVersion", &v))
		json_object_object_add(out, "ImageVersion", json_object_get(v));
	json_object *m = json_object_new_object();
	if (json_object_object_get_ex(meta, "BuildMetadata", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) json_object_object_add(m, key, json_object_get(val));
	}
	if (json_object_object_get_ex(meta, "DockerInfo", &v))
		json_object_object_add(m, "DockerInfo", json_object_get(v));
	if (json_object_object_get_ex(meta, "CustomMetadata", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) json_object_object_add(m, key, json_object_get(val));
	}
	json_object_object_add(out, "Metadata", m);
	json_object_put(meta);
}

int cmd_describe_eif(int argc, char **argv, struct carve_err *err)
{
	const char *path = NULL;
	const struct cli_arg args[] = {
		{"eif-path", ARG_STRING, true, &path, "the image to describe"},
		{0},
	};
	int parsed = cli_parse("describe-eif", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	struct eif_image img;
	struct eif_report rep;
	if (eif_open(&img, path, err) < 0) {
		/* nitro-cli answers any failure to open the image with
		 * EifParsingError, "Failed to initialize EIF reader" (v1.5.0
		 * src/lib.rs:224-229); scripts test for its code. */
		err->code = E35_EIF_PARSING;
		return carve_err_context(err, "Failed to initialize EIF reader: ");
	}
	if (eif_verify(&img, time(NULL), true, &rep, err) < 0) {
		eif_close(&img);
		return -1;
	}

	json_object *out = json_object_new_object();
	json_object_object_add(out, "EifVersion", json_object_new_int(img.version));
	json_object_object_add(out, "Measurements", cli_measurements_json(&rep.m));
	json_object_object_add(out, "IsSigned", json_object_new_boolean(rep.is_signed));
	if (rep.is_signed)
		json_object_object_add(out, "SigningCertificate", certificate_json(rep.cert));
	json_object_object_add(out, "CheckCRC", json_object_new_boolean(rep.crc_ok));
	if (rep.is_signed)
		json_object_object_add(out, "SignatureCheck", json_object_new_boolean(rep.signature_ok));
	if (rep.metadata)
		add_metadata(out, rep.metadata, rep.metadata_len);
	cli_print_json(out);
	json_object_put(out);

	int rc = 0;
	if (img.flags & EIF_FLAG_ARCH_ARM64)
		cli_warn("'%s' is an aarch64 image; carve runs x86-64 enclaves only", path);
	if (!rep.crc_ok)
		rc = carve_fail(err, E35_EIF_PARSING,
				"'%s' fails its CRC check: the header says %08x, "
				"the contents give %08x; the image is damaged",
				path, img.crc_stored, rep.crc_computed);
	else if (rep.is_signed && !rep.signature_ok)
		rc = carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "'%s': %s", path, rep.signature_problem);
	else if (rep.is_signed && !rep.cert_valid_now)
		cli_warn("'%s': %s; run-enclave will refuse this image until it is signed again", path,
			 rep.signature_problem);
	eif_report_free(&rep);
	eif_close(&img);
	return rc;
}
