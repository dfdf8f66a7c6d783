/* Signing attestation documents for one enclave.
 *
 * The attester holds its own references to the issuing CA and the chain,
 * the enclave's leaf key and certificate, a reusable COSE signer for that
 * key, and the encoded static parts of the payload. A document then costs
 * one payload assembly (memcpy of the static parts, 32 PCRs, the optional
 * fields), one SHA-384 and one ECDSA P-384 signature. The leaf lives three
 * hours and is replaced on the first request after it expires.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/cose.h"
#include "nsm/nsm_internal.h"

/* Renew this long before notAfter, so a fresh document never carries a
 * certificate that expires before a verifier gets to it. */
#define LEAF_RENEW_MARGIN 60

struct nsm_attester {
	char module_id[NSM_MODULE_ID_MAX + 1];
	struct pki_cert issuer;            /* the intermediate, key included */
	uint8_t *bundle[NSM_CABUNDLE_MAX]; /* DER, root first */
	size_t bundle_len[NSM_CABUNDLE_MAX];
	size_t nbundle;
	struct pki_cert leaf;       /* cert == NULL until first use */
	struct cose_signer *signer; /* for leaf.key */
	struct cbor_writer prefix;  /* map head .. "timestamp" */
	struct cbor_writer certs;   /* certificate, cabundle */
	struct cbor_writer payload; /* reused for every document */
};

static uint8_t *dup_mem(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

void nsm_attester_free(struct nsm_attester *a)
{
	if (!a)
		return;
	pki_cert_free(&a->issuer);
	for (size_t i = 0; i < a->nbundle; i++)
		free(a->bundle[i]);
	pki_cert_free(&a->leaf);
	cose_signer_free(a->signer);
	cw_free(&a->prefix);
	cw_free(&a->certs);
	cw_free(&a->payload);
	free(a);
}

/* Takes references to the intermediate (key and certificate) and copies the
 * chain root -> intermediate for cabundle. */
static int take_pki(struct nsm_attester *a, const struct pki *pki, struct carve_err *err)
{
	const struct pki_cert *in = &pki->intermediate;
	if (!in->key || !in->cert || !pki->root.der || !in->der)
		return carve_fail(err, E00_UNSPECIFIED, "the attestation CA is not loaded");
	if (EVP_PKEY_up_ref(in->key) != 1)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	a->issuer.key = in->key;
	if (X509_up_ref(in->cert) != 1)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	a->issuer.cert = in->cert;
	a->issuer.not_after = in->not_after;
	a->issuer.der = dup_mem(in->der, in->der_len);
	a->issuer.der_len = in->der_len;
	a->bundle[0] = dup_mem(pki->root.der, pki->root.der_len);
	a->bundle_len[0] = pki->root.der_len;
	a->bundle[1] = dup_mem(in->der, in->der_len);
	a->bundle_len[1] = in->der_len;
	a->nbundle = 2;
	if (!a->issuer.der || !a->bundle[0] || !a->bundle[1])
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	return 0;
}

struct nsm_attester *nsm_attester_new(const struct pki *pki, const char *module_id, struct carve_err *err)
{
	struct nsm_attester *a = calloc(1, sizeof(*a));
	if (!a) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		return NULL;
	}
	snprintf(a->module_id, sizeof(a->module_id), "%s", module_id);
	cw_init(&a->prefix, NSM_RESPONSE_MAX);
	cw_init(&a->certs, NSM_RESPONSE_MAX);
	cw_init(&a->payload, NSM_RESPONSE_MAX);
	if (take_pki(a, pki, err) < 0 || nsm_payload_prefix(&a->prefix, a->module_id) < 0) {
		if (!err->code && !err->msg[0])
			carve_fail(err, E00_UNSPECIFIED, "out of memory");
		nsm_attester_free(a);
		return NULL;
	}
	return a;
}

/* A new leaf, its signer and the encoded certificate part. */
static int renew_leaf(struct nsm_attester *a, time_t now)
{
	struct carve_err err = {0};
	struct pki_cert leaf;
	if (pki_issue_leaf(&a->issuer, a->module_id, now, &leaf, &err) < 0)
		return NSM_INTERNAL_ERROR;
	struct cose_signer *signer = cose_signer_new(leaf.key, &err);
	if (!signer) {
		pki_cert_free(&leaf);
		return NSM_INTERNAL_ERROR;
	}
	a->certs.len = 0;
	a->certs.failed = false;
	if (nsm_payload_certs(&a->certs, leaf.der, leaf.der_len, (const uint8_t *const *)a->bundle,
			      a->bundle_len, a->nbundle) < 0) {
		cose_signer_free(signer);
		pki_cert_free(&leaf);
		return NSM_INTERNAL_ERROR;
	}
	pki_cert_free(&a->leaf);
	cose_signer_free(a->signer);
	a->leaf = leaf;
	a->signer = signer;
	return NSM_SUCCESS;
}

int nsm_attester_sign(struct nsm_attester *a, uint64_t now_ms, const uint8_t (*pcrs)[PCR_LEN], bool zero_pcrs,
		      const struct nsm_request *req, uint8_t *out, size_t cap, size_t *out_len)
{
	time_t now = (time_t)(now_ms / 1000);
	if (!a->leaf.cert || now + LEAF_RENEW_MARGIN >= a->leaf.not_after) {
		int rc = renew_leaf(a, now);
		if (rc != NSM_SUCCESS)
			return rc;
	}
	struct cbor_writer *w = &a->payload;
	w->len = 0;
	w->failed = false;
	cw_raw(w, a->prefix.buf, a->prefix.len);
	cw_uint(w, now_ms);
	nsm_payload_pcrs(w, pcrs, zero_pcrs);
	cw_raw(w, a->certs.buf, a->certs.len);
	nsm_payload_optional(w, &req->public_key, &req->user_data, &req->nonce);
	if (w->failed)
		return NSM_INTERNAL_ERROR;
	if (cose_signer_output_len(a->signer, w->len) > cap)
		return NSM_BUFFER_TOO_SMALL;
	struct carve_err err = {0};
	if (cose_signer_sign(a->signer, w->buf, w->len, out, cap, out_len, &err) < 0)
		return NSM_INTERNAL_ERROR;
	return NSM_SUCCESS;
}
