/* Private to the nsm part: the request decoder, the PCR bank, the response
 * writers and the attester the engine is built from. */
#ifndef CARVE_NSM_INTERNAL_H
#define CARVE_NSM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/cbor.h"
#include "carve/nsm.h"

/* ---- requests (request.c) ---- */

enum nsm_req_kind {
	NSM_REQ_DESCRIBE_PCR,
	NSM_REQ_EXTEND_PCR,
	NSM_REQ_LOCK_PCR,
	NSM_REQ_LOCK_PCRS,
	NSM_REQ_DESCRIBE_NSM,
	NSM_REQ_ATTESTATION,
	NSM_REQ_GET_RANDOM,
};

/* A byte field of a request; points into the decoded item. */
struct nsm_req_bytes {
	const uint8_t *data;
	size_t len;
	bool present;
};

struct nsm_request {
	enum nsm_req_kind kind;
	uint64_t index;            /* DescribePCR, ExtendPCR, LockPCR: index; LockPCRs: range */
	struct nsm_req_bytes data; /* ExtendPCR */
	struct nsm_req_bytes user_data, nonce, public_key; /* Attestation */
	cbor_item_t *item;                                 /* owns what the fields point into */
};

/* Decodes one request (at most NSM_REQUEST_MAX bytes already checked by the
 * caller). Returns NSM_SUCCESS with *r filled, or the ErrorCode to answer. */
int nsm_request_decode(const uint8_t *buf, size_t len, struct nsm_request *r);
void nsm_request_release(struct nsm_request *r);

/* ---- the PCR bank (pcr_bank.c); callers hold the engine lock ---- */

struct nsm_pcr_bank {
	uint8_t pcr[NSM_MAX_PCRS][PCR_LEN];
	uint32_t locked; /* bit i: PCR i is locked */
};

void pcr_bank_init(struct nsm_pcr_bank *b, const struct nsm_config *cfg);
int pcr_bank_extend(struct nsm_pcr_bank *b, uint64_t index, const uint8_t *data, size_t len);
int pcr_bank_lock(struct nsm_pcr_bank *b, uint64_t index);
int pcr_bank_lock_range(struct nsm_pcr_bank *b, uint64_t range);
bool pcr_bank_is_locked(const struct nsm_pcr_bank *b, unsigned index);

/* ---- responses (response.c) ---- */

/* {"Error": name} into out; returns its length (at most 24). */
size_t nsm_resp_error(int code, uint8_t out[NSM_RESPONSE_MIN]);
void nsm_resp_describe_pcr(struct cbor_writer *w, bool lock, const uint8_t pcr[PCR_LEN]);
void nsm_resp_extend_pcr(struct cbor_writer *w, const uint8_t pcr[PCR_LEN]);
void nsm_resp_text(struct cbor_writer *w, const char *variant); /* LockPCR, LockPCRs */
void nsm_resp_describe_nsm(struct cbor_writer *w, const char *module_id, const struct nsm_pcr_bank *b);
void nsm_resp_attestation(struct cbor_writer *w, const uint8_t *doc, size_t len);
void nsm_resp_random(struct cbor_writer *w, const uint8_t *random, size_t len);

/* ---- attestation documents (document.c, attester.c) ---- */

/* The static head of the payload: map(9), module_id, digest, "timestamp". */
int nsm_payload_prefix(struct cbor_writer *w, const char *module_id);
/* The static middle: "certificate" and "cabundle" with their values. */
int nsm_payload_certs(struct cbor_writer *w, const uint8_t *cert, size_t cert_len,
		      const uint8_t *const *bundle, const size_t *bundle_len, size_t nbundle);
/* The per-document tail after timestamp's value and the pcrs: the optional
 * fields, null when absent. */
void nsm_payload_optional(struct cbor_writer *w, const struct nsm_req_bytes *public_key,
			  const struct nsm_req_bytes *user_data, const struct nsm_req_bytes *nonce);
void nsm_payload_pcrs(struct cbor_writer *w, const uint8_t (*pcrs)[PCR_LEN], bool zero);

struct nsm_attester;
struct nsm_attester *nsm_attester_new(const struct pki *pki, const char *module_id, struct carve_err *err);
void nsm_attester_free(struct nsm_attester *a);
/* Signs a document into out; renews the leaf first when it has expired.
 * Returns an ErrorCode. */
int nsm_attester_sign(struct nsm_attester *a, uint64_t now_ms, const uint8_t (*pcrs)[PCR_LEN], bool zero_pcrs,
		      const struct nsm_request *req, uint8_t *out, size_t cap, size_t *out_len);

#endif
