/* Verifying an attestation document (AWS's attestation_process.md).
 *
 * Order: structure (COSE, protected header, payload fields), then the
 * signature under the document's own certificate, then that certificate's
 * chain to the trusted root, then the caller's expected values. Each step
 * names what failed; E17 for shape, E59 for trust and mismatches.
 */
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "carve/cose.h"
#include "carve/util.h"
#include "nsm/nsm_internal.h"

/* {1: -35}, the only protected header AWS's NSM writes. */
static const uint8_t ES384_PROTECTED[] = {0xa1, 0x01, 0x38, 0x22};

void nsm_verified_free(struct nsm_verified *v)
{
	nsm_doc_free(&v->doc);
	X509_free(v->leaf);
	memset(v, 0, sizeof(*v));
}

static void name_of(X509 *c, char *out, size_t cap)
{
	X509_NAME_oneline(X509_get_subject_name(c), out, (int)cap);
}

/* Each certificate inside its window at now: the root included, as the
 * spec asks, with a message naming the certificate. */
static int check_times(X509 *c, const char *role, time_t now, struct carve_err *err)
{
	struct carve_err inner = {0};
	if (cert_check_validity(c, now, &inner, E59_EIF_SIGNATURE_CHECKER) == 0)
		return 0;
	char name[256];
	name_of(c, name, sizeof(name));
	return carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "the %s certificate %s: %s", role, name, inner.msg);
}

/* The leaf's profile: an end entity with keyUsage digitalSignature. */
static int check_leaf_profile(X509 *leaf, struct carve_err *err)
{
	uint32_t flags = X509_get_extension_flags(leaf);
	if (X509_check_ca(leaf) != 0 || X509_get_pathlen(leaf) != -1)
		return carve_fail(err, E59_EIF_SIGNATURE_CHECKER,
				  "the document's certificate is a CA certificate, not an enclave's");
	if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
		return carve_fail(err, E59_EIF_SIGNATURE_CHECKER,
				  "the document's certificate lacks keyUsage digitalSignature");
	return 0;
}

/* PKIX from the leaf through cabundle[N-1..1] to the trusted root, no CRLs.
 * OpenSSL checks basicConstraints, path lengths and keyCertSign on the CAs. */
static int check_chain(X509 *leaf, X509 **bundle, size_t n, X509 *root, time_t now, struct carve_err *err)
{
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -1;
	if (!store || !untrusted || !ctx || X509_STORE_add_cert(store, root) != 1) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	for (size_t i = 1; i < n; i++)
		if (!sk_X509_push(untrusted, bundle[i])) {
			carve_fail(err, E00_UNSPECIFIED, "out of memory");
			goto out;
		}
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
	} else {
		int e = X509_STORE_CTX_get_error(ctx);
		carve_fail(err, E59_EIF_SIGNATURE_CHECKER,
			   "the document's certificate does not chain to the trusted root: %s "
			   "(at depth %d)",
			   X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx));
	}
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted); /* the certificates belong to the caller */
	X509_STORE_free(store);
	return rc;
}

static int check_expected(const struct nsm_doc *doc, const struct nsm_verify_opts *o, struct carve_err *err)
{
	for (size_t i = 0; i < o->npcrs; i++) {
		const struct nsm_expected_pcr *want = &o->pcrs[i];
		int found = -1;
		for (int j = 0; j < doc->npcrs; j++)
			if (doc->pcrs[j].index == want->index)
				found = j;
		if (found < 0)
			return carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "PCR%u is not in the document",
					  want->index);
		if (memcmp(doc->pcrs[found].value, want->value, PCR_LEN) != 0) {
			char got[2 * PCR_LEN + 1], exp[2 * PCR_LEN + 1];
			hex_encode(doc->pcrs[found].value, PCR_LEN, got);
			hex_encode(want->value, PCR_LEN, exp);
			static const uint8_t zero[PCR_LEN];
			bool debug = !memcmp(doc->pcrs[found].value, zero, PCR_LEN);
			return carve_fail(
				err, E59_EIF_SIGNATURE_CHECKER, "PCR%u is %s, expected %s%s", want->index,
				got, exp,
				debug ? " (an all-zero PCR: a --debug-mode enclave attests zero PCRs, "
					"as on Nitro)"
				      : "");
		}
	}
	if (o->nonce) {
		if (!doc->nonce.present)
			return carve_fail(err, E59_EIF_SIGNATURE_CHECKER,
					  "the document carries no nonce, a nonce was expected");
		if (doc->nonce.len != o->nonce_len || memcmp(doc->nonce.data, o->nonce, o->nonce_len))
			return carve_fail(err, E59_EIF_SIGNATURE_CHECKER,
					  "the document's nonce differs from the expected one");
	}
	return 0;
}

static bool all_zero(const struct nsm_doc *doc)
{
	for (int i = 0; i < doc->npcrs; i++)
		for (size_t j = 0; j < doc->pcrs[i].len; j++)
			if (doc->pcrs[i].value[j])
				return false;
	return true;
}

/* Signature, chain, times; the certificates decoded from the document. */
static int check_trust(const struct cose_sign1 *s, const struct nsm_doc *doc, X509 *leaf,
		       const struct nsm_verify_opts *o, struct carve_err *err)
{
	X509 *bundle[NSM_CABUNDLE_MAX] = {0};
	int rc = -1;
	for (size_t i = 0; i < doc->ncabundle; i++)
		if (!(bundle[i] = cert_from_der(doc->cabundle[i].data, doc->cabundle[i].len, err))) {
			carve_err_clear(err);
			carve_fail(err, E17_SERDE, "cabundle[%zu] is not a DER X.509 certificate", i);
			goto out;
		}
	if (key_cose_alg(X509_get0_pubkey(leaf)) != COSE_ALG_ES384) {
		carve_fail(err, E59_EIF_SIGNATURE_CHECKER,
			   "the document's certificate does not hold a P-384 key");
		goto out;
	}
	int ok = cose_sign1_verify(s, X509_get0_pubkey(leaf), err);
	if (ok != 1) {
		if (ok == 0)
			carve_fail(err, E59_EIF_SIGNATURE_CHECKER,
				   "the document's signature does not "
				   "verify under its certificate: the document was altered");
		goto out;
	}
	if (X509_cmp(bundle[0], o->root) != 0) {
		char name[256];
		name_of(bundle[0], name, sizeof(name));
		carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "the document's root %s is not the trusted root",
			   name);
		goto out;
	}
	if (check_times(leaf, "enclave", o->now, err) < 0)
		goto out;
	for (size_t i = doc->ncabundle; i-- > 0;)
		if (check_times(bundle[i], i ? "intermediate" : "root", o->now, err) < 0)
			goto out;
	if (check_leaf_profile(leaf, err) < 0 ||
	    check_chain(leaf, bundle, doc->ncabundle, o->root, o->now, err) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < NSM_CABUNDLE_MAX; i++)
		X509_free(bundle[i]);
	return rc;
}

int nsm_verify_document(const uint8_t *doc, size_t len, const struct nsm_verify_opts *o,
			struct nsm_verified *out, struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!o->root)
		return carve_fail(err, E03_INVALID_ARGUMENT, "no trusted root to verify against");
	struct cose_sign1 s;
	if (cose_sign1_parse(doc, len, &s, E17_SERDE, err) < 0)
		return -1;
	int rc = -1;
	if (s.protected_len != sizeof(ES384_PROTECTED) ||
	    memcmp(s.protected_hdr, ES384_PROTECTED, sizeof(ES384_PROTECTED)) != 0) {
		carve_fail(err, E17_SERDE, "the COSE protected header is not {1: -35} (ES384)");
		goto out;
	}
	if (s.sig_len != 2 * 48) {
		carve_fail(err, E17_SERDE, "the signature is %zu bytes, not 96 (P-384 r||s)", s.sig_len);
		goto out;
	}
	if (nsm_doc_decode(s.payload, s.payload_len, &out->doc, err) < 0)
		goto out;
	out->leaf = cert_from_der(out->doc.certificate.data, out->doc.certificate.len, err);
	if (!out->leaf) {
		carve_err_clear(err);
		carve_fail(err, E17_SERDE, "the document's certificate is not a DER X.509 certificate");
		goto out;
	}
	if (check_trust(&s, &out->doc, out->leaf, o, err) < 0 || check_expected(&out->doc, o, err) < 0)
		goto out;
	out->debug_mode = all_zero(&out->doc);
	rc = 0;
out:
	cose_sign1_free(&s);
	if (rc < 0)
		nsm_verified_free(out);
	return rc;
}
