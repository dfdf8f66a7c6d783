/* nsm_attest_once: the document an enclave built from cfg would receive for
 * one Attestation request. It goes through nsm_handle_request on purpose, so
 * `carve attest` and the tools exercise the exact bytes a guest gets. */
#include <stdlib.h>
#include <string.h>

#include "nsm/nsm_internal.h"

static void field(struct cbor_writer *w, const char *key, const uint8_t *data, size_t len)
{
	cw_text(w, key);
	if (data)
		cw_bytes(w, data, len);
	else
		cw_null(w);
}

/* Pulls the document out of {"Attestation": {"document": bstr}}. */
static int take_document(const uint8_t *resp, size_t len, uint8_t **doc, size_t *doc_len,
			 struct carve_err *err)
{
	cbor_item_t *item = cb_decode_exact(resp, len);
	bool dup;
	cbor_item_t *body = item ? cb_map_get(item, "Attestation", &dup) : NULL;
	const uint8_t *d;
	size_t n;
	int rc = -1;
	if (body && cb_bytes(cb_map_get(body, "document", &dup), &d, &n) && n > 0) {
		*doc = malloc(n);
		if (*doc) {
			memcpy(*doc, d, n);
			*doc_len = n;
			rc = 0;
		} else {
			carve_fail(err, E00_UNSPECIFIED, "out of memory");
		}
	} else {
		carve_fail(err, E00_UNSPECIFIED, "the NSM answered with an unexpected response");
	}
	if (item)
		cbor_decref(&item);
	return rc;
}

int nsm_attest_once(const struct nsm_config *cfg, const uint8_t *user_data, size_t user_data_len,
		    const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key, size_t public_key_len,
		    uint8_t **doc, size_t *doc_len, struct carve_err *err)
{
	struct nsm *n;
	if (nsm_create(&n, cfg, err) < 0)
		return -1;
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_map(&w, 1);
	cw_text(&w, "Attestation");
	cw_map(&w, 3);
	field(&w, "user_data", user_data, user_data_len);
	field(&w, "nonce", nonce, nonce_len);
	field(&w, "public_key", public_key, public_key_len);
	size_t req_len;
	uint8_t *req = cw_take(&w, &req_len);
	uint8_t *resp = malloc(NSM_RESPONSE_MAX);
	int rc = -1;
	if (!req || !resp) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	size_t resp_len = 0;
	int code = nsm_handle_request(n, req, req_len, resp, NSM_RESPONSE_MAX, &resp_len);
	if (code == NSM_INPUT_TOO_LARGE || code == NSM_INVALID_ARGUMENT) {
		carve_fail(err, E03_INVALID_ARGUMENT,
			   "the NSM refused the request (%s): user data, nonce and public key "
			   "must each be at most %d bytes, and a public key at least 1",
			   nsm_error_name(code), NSM_USER_FIELD_MAX);
		goto out;
	}
	if (code != NSM_SUCCESS) {
		carve_fail(err, E00_UNSPECIFIED, "the NSM answered %s",
			   code < 0 ? "nothing" : nsm_error_name(code));
		goto out;
	}
	rc = take_document(resp, resp_len, doc, doc_len, err);
out:
	free(req);
	free(resp);
	nsm_destroy(n);
	return rc;
}
