/* The Nitro Secure Module engine (aws-nitro-enclaves-nsm-api; the PCRs of
 * the AWS Nitro Enclaves User Guide; AWS's attestation_process.md).
 *
 * Transport-free: a CBOR request goes in, a CBOR response comes out, exactly
 * as AWS's NSM speaks them over virtio (serde_cbor shapes of nsm-api's
 * Request/Response enums). The engine owns a bank of 32 SHA-384 PCRs and signs
 * attestation documents (untagged COSE_Sign1, ES384) with a per-enclave leaf
 * certificate issued from the local PKI (carve/pki.h).
 *
 * Thread-safe: one mutex serialises the requests of an engine, the way the
 * Linux driver serialises /dev/nsm commands.
 *
 * Error responses `{"Error": name}`; how carve picks the name:
 *   request longer than 4096 bytes ........................ InputTooLarge
 *   not CBOR, trailing bytes, unknown request, wrong shape,
 *   missing or mistyped field, duplicate key ............... InvalidOperation
 *     (nsm-api documents InvalidOperation for "unknown or malformed request";
 *      carve treats everything that does not decode as a known request as such)
 *   PCR index above 31, LockPCRs range above 32 ........... InvalidIndex
 *   ExtendPCR or LockPCR on a locked PCR ................... ReadOnlyIndex
 *   user_data, nonce or public_key over 1024 bytes ......... InputTooLarge
 *   empty public_key (the spec says 1..1024) ............... InvalidArgument
 *   response larger than the caller's buffer ............... BufferTooSmall
 *   no CA configured, signing or randomness failure ........ InternalError
 * Unknown extra keys inside a request map are ignored, as serde does.
 */
#ifndef CARVE_NSM_H
#define CARVE_NSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "carve/crypto.h"
#include "carve/error.h"
#include "carve/pki.h"

#define NSM_MAX_PCRS 32
#define NSM_LOCKED_AT_START 16  /* PCRs 0..15 locked at boot */
#define NSM_REQUEST_MAX 0x1000  /* NSM_REQUEST_MAX_SIZE */
#define NSM_RESPONSE_MAX 0x3000 /* NSM_RESPONSE_MAX_SIZE */
#define NSM_RESPONSE_MIN 64     /* room for any error response */
#define NSM_USER_FIELD_MAX 1024 /* user_data, nonce, public_key */
#define NSM_RANDOM_LEN 256
#define NSM_MODULE_ID_MAX 99 /* NsmDescription.module_id holds 99 + NUL */
#define NSM_CABUNDLE_MAX 8

/* nsm-api ErrorCode, values in declaration order (aws-nitro-enclaves-nsm-api). */
enum nsm_error {
	NSM_SUCCESS = 0,
	NSM_INVALID_ARGUMENT = 1,
	NSM_INVALID_INDEX = 2,
	NSM_INVALID_RESPONSE = 3,
	NSM_READ_ONLY_INDEX = 4,
	NSM_INVALID_OPERATION = 5,
	NSM_BUFFER_TOO_SMALL = 6,
	NSM_INPUT_TOO_LARGE = 7,
	NSM_INTERNAL_ERROR = 8,
};
/* The wire name ("InvalidIndex"), or NULL for an unknown value. */
const char *nsm_error_name(int code);

struct nsm_config {
	const char *module_id; /* the enclave id; 1..99 bytes */
	/* Image measurements as PCR values (already SHA384(Z || digest));
	 * NULL leaves the PCR zero. pcr8 only for signed images. */
	const uint8_t *pcr0, *pcr1, *pcr2, *pcr8;
	/* QEMU's model of PCR3/PCR4 (the Nitro Enclaves User Guide's PCRs; QEMU's nitro-enclave machine): the raw string is
	 * extended into the zero PCR. NULL leaves the PCR zero. */
	const char *parent_role, *parent_id;
	/* Attestation documents carry all-zero PCRs (AWS behaviour); the
	 * bank itself still holds the measurements. */
	bool debug_mode;
	/* The CA that issues the leaf and the chain to put in cabundle. The
	 * engine takes its own references; pki may be freed afterwards. NULL:
	 * Attestation answers InternalError. */
	const struct pki *pki;
	/* A PCR (16..31) only the host writes: locked against the guest from
	 * the start (ExtendPCR and LockPCR answer ReadOnlyIndex), extended
	 * once by nsm_host_measure. 0: none. carve's enclaves of the carve
	 * kernel reserve NSM_PCR_SUBPAGE_LOCK for the guest's sub-page lock. */
	unsigned host_pcr;
	/* Milliseconds since the epoch; NULL: CLOCK_REALTIME. Tests pin it. */
	uint64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
};

struct nsm;

/* The PCR that measures an enclave's sub-page lock (docs/vmm.md, "The
 * lock's measurement: PCR31"): the last of the 16 user PCRs, the one
 * applications counting up from 16 (AWS's examples use 16) reach last. */
#define NSM_PCR_SUBPAGE_LOCK 31

/* E03 for a bad module id or host_pcr (not 16..31); E00 when out of memory. */
int nsm_create(struct nsm **out, const struct nsm_config *cfg, struct carve_err *err);
void nsm_destroy(struct nsm *n);
/* Extends the engine's host PCR (nsm_config.host_pcr) with data, once:
 * 0, or -1 when index is not the host PCR or it was measured before. */
int nsm_host_measure(struct nsm *n, unsigned index, const uint8_t *data, size_t len);

/* Handles one request. Always writes a complete CBOR response (a result or
 * {"Error": name}) and returns its ErrorCode (NSM_SUCCESS for a result).
 * cap must be at least NSM_RESPONSE_MIN; below that nothing is written and
 * -1 is returned. Transports pass NSM_RESPONSE_MAX. */
int nsm_handle_request(struct nsm *n, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap,
		       size_t *resp_len);

/* One attestation document from a fresh engine built from cfg, obtained
 * through the same request path an enclave uses. NULL fields are absent.
 * *doc is malloc'ed. E03 for oversize fields, E00 otherwise. */
int nsm_attest_once(const struct nsm_config *cfg, const uint8_t *user_data, size_t user_data_len,
		    const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key, size_t public_key_len,
		    uint8_t **doc, size_t *doc_len, struct carve_err *err);

/* ---- attestation documents (document.c, doc_decode.c, verify.c) ---- */

/* A byte field of the document; present false for absent or null. */
struct nsm_bytes {
	uint8_t *data;
	size_t len;
	bool present;
};

/* The decoded AttestationDocument payload (AWS's attestation_process.md). */
struct nsm_doc {
	char *module_id;
	char digest[8];
	uint64_t timestamp; /* ms since the epoch */
	int npcrs;
	struct {
		unsigned index;
		uint8_t value[64];
		size_t len;
	} pcrs[NSM_MAX_PCRS]; /* in document order */
	struct nsm_bytes certificate;
	struct nsm_bytes cabundle[NSM_CABUNDLE_MAX]; /* root first */
	size_t ncabundle;
	struct nsm_bytes public_key, user_data, nonce;
};

/* Decodes and checks a payload against the spec's field rules: E17 naming
 * the first problem. Unknown keys are refused. */
int nsm_doc_decode(const uint8_t *payload, size_t len, struct nsm_doc *doc, struct carve_err *err);
void nsm_doc_free(struct nsm_doc *doc);

struct nsm_expected_pcr {
	unsigned index;
	uint8_t value[PCR_LEN];
};

struct nsm_verify_opts {
	X509 *root; /* the trust anchor (required) */
	time_t now; /* verification time */
	const struct nsm_expected_pcr *pcrs;
	size_t npcrs;
	const uint8_t *nonce; /* NULL: not checked */
	size_t nonce_len;
};

/* What verification established, for reporting. */
struct nsm_verified {
	struct nsm_doc doc;
	X509 *leaf;      /* owned */
	bool debug_mode; /* every PCR is zero */
};

/* The verification of AWS's attestation_process.md: COSE structure and {1: -35}, payload
 * fields, chain certificate -> cabundle -> root with every certificate
 * inside its validity window at now, CA and leaf key usage, the ES384
 * signature under the leaf key, then the expected PCRs and nonce.
 * E17 when the document does not decode or has the wrong shape; E59 for a
 * bad signature, an untrusted or expired chain, or a value that differs
 * from the expected one. */
int nsm_verify_document(const uint8_t *doc, size_t len, const struct nsm_verify_opts *o,
			struct nsm_verified *out, struct carve_err *err);
void nsm_verified_free(struct nsm_verified *v);

#endif
