/* COSE_Sign1 create, parse and verify. */
#include "carve/cose.h"

#include <stdlib.h>
#include <string.h>

#include "carve/cbor.h"

static void encode_protected(struct cbor_writer *w, int alg)
{
	cw_map(w, 1);
	cw_uint(w, 1);
	cw_int(w, alg);
}

/* Sig_structure for Sign1 (RFC 8152 §4.4), with empty external_aad. */
static uint8_t *sig_structure(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
			      size_t payload_len, size_t *len)
{
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_array(&w, 4);
	cw_text(&w, "Signature1");
	cw_bytes(&w, prot, prot_len);
	cw_bytes(&w, "", 0);
	cw_bytes(&w, payload, payload_len);
	return cw_take(&w, len);
}

int cose_sign1_create(EVP_PKEY *key, const uint8_t *payload, size_t payload_len, bool tagged, uint8_t **out,
		      size_t *out_len, struct carve_err *err)
{
	int alg = key_cose_alg(key);
	if (!alg)
		return carve_fail(err, E60_EIF_SIGNING,
				  "the private key is not an EC key on P-256, P-384 or P-521");

	struct cbor_writer pw;
	cw_init(&pw, 0);
	encode_protected(&pw, alg);
	size_t prot_len;
	uint8_t *prot = cw_take(&pw, &prot_len);
	size_t tbs_len;
	uint8_t *tbs = prot ? sig_structure(prot, prot_len, payload, payload_len, &tbs_len) : NULL;
	uint8_t sig[COSE_MAX_SIG_LEN];
	size_t sig_len = sizeof(sig);
	int rc = -1;
	if (!tbs) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	if (ecdsa_sign_raw(key, alg, tbs, tbs_len, sig, &sig_len, err) < 0)
		goto out;

	struct cbor_writer w;
	cw_init(&w, 0);
	if (tagged)
		cw_tag(&w, COSE_SIGN1_TAG);
	cw_array(&w, 4);
	cw_bytes(&w, prot, prot_len);
	cw_map(&w, 0);
	cw_bytes(&w, payload, payload_len);
	cw_bytes(&w, sig, sig_len);
	*out = cw_take(&w, out_len);
	if (!*out)
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
	else
		rc = 0;
out:
	free(prot);
	free(tbs);
	return rc;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

int cose_sign1_parse(const uint8_t *buf, size_t len, struct cose_sign1 *out, int code, struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	/* Tag 18 is taken off by hand: libcbor 0.8 (Debian 12) refuses tags
	 * 6..20 as "unassigned" and fails the whole decode. Both the one-byte
	 * head (0xd2) and the non-minimal two-byte one (0xd8 0x12) are accepted. */
	if (len >= 1 && buf[0] == 0xd2) {
		buf++;
		len--;
	} else if (len >= 2 && buf[0] == 0xd8 && buf[1] == COSE_SIGN1_TAG) {
		buf += 2;
		len -= 2;
	} else if (len >= 1 && (buf[0] >> 5) == 6) {
		return carve_fail(err, code, "the COSE object has a tag other than 18 (COSE_Sign1)");
	}
	cbor_item_t *root = cb_decode_exact(buf, len);
	if (!root)
		return carve_fail(err, code, "the COSE_Sign1 is not well-formed CBOR");
	int rc = -1;
	cbor_item_t *arr = root;
	if (!cbor_isa_array(arr) || !cbor_array_is_definite(arr) || cbor_array_size(arr) != 4) {
		carve_fail(err, code, "a COSE_Sign1 is an array of 4 items");
		goto out;
	}
	cbor_item_t **f = cbor_array_handle(arr);
	const uint8_t *prot, *payload, *sig;
	size_t prot_len, payload_len, sig_len;
	if (!cb_bytes(f[0], &prot, &prot_len)) {
		carve_fail(err, code, "the COSE protected header is not a byte string");
		goto out;
	}
	if (!cbor_isa_map(f[1]) || !cbor_map_is_definite(f[1])) {
		carve_fail(err, code, "the COSE unprotected header is not a map");
		goto out;
	}
	if (!cb_bytes(f[2], &payload, &payload_len)) {
		carve_fail(err, code, "the COSE payload is not a byte string");
		goto out;
	}
	if (!cb_bytes(f[3], &sig, &sig_len) || sig_len > COSE_MAX_SIG_LEN) {
		carve_fail(err, code, "the COSE signature is not a byte string of at most %d bytes",
			   COSE_MAX_SIG_LEN);
		goto out;
	}
	/* Protected header: a map that holds alg (label 1) as an integer. */
	cbor_item_t *ph = cb_decode_exact(prot, prot_len);
	int64_t alg = 0;
	bool have_alg = false;
	if (ph && cbor_isa_map(ph) && cbor_map_is_definite(ph)) {
		struct cbor_pair *pairs = cbor_map_handle(ph);
		for (size_t i = 0; i < cbor_map_size(ph); i++) {
			uint64_t label;
			if (cb_uint(pairs[i].key, &label) && label == 1) {
				if (have_alg || !cb_int(pairs[i].value, &alg)) {
					have_alg = false;
					break;
				}
				have_alg = true;
			}
		}
	}
	if (ph)
		cbor_decref(&ph);
	if (!have_alg || !cose_alg_coord_len((int)alg)) {
		carve_fail(err, code, "the COSE protected header has no supported alg (ES256, ES384, ES512)");
		goto out;
	}
	out->alg = (int)alg;
	out->protected_hdr = dup_bytes(prot, prot_len);
	out->protected_len = prot_len;
	out->payload = dup_bytes(payload, payload_len);
	out->payload_len = payload_len;
	memcpy(out->sig, sig, sig_len);
	out->sig_len = sig_len;
	if (!out->protected_hdr || !out->payload) {
		cose_sign1_free(out);
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	rc = 0;
out:
	cbor_decref(&root);
	return rc;
}

void cose_sign1_free(struct cose_sign1 *s)
{
	free(s->protected_hdr);
	free(s->payload);
	memset(s, 0, sizeof(*s));
}

int cose_sign1_verify(const struct cose_sign1 *s, EVP_PKEY *pub, struct carve_err *err)
{
	size_t tbs_len;
	uint8_t *tbs =
		sig_structure(s->protected_hdr, s->protected_len, s->payload, s->payload_len, &tbs_len);
	if (!tbs)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	int rc = ecdsa_verify_raw(pub, s->alg, tbs, tbs_len, s->sig, s->sig_len, err);
	free(tbs);
	return rc;
}
