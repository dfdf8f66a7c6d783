/* libnsm: the Nitro Secure Module client library for programs inside an
 * enclave, with the C names and types of AWS's nsm-lib (nsm-api
 * nsm-lib/src/lib.rs; aws-nitro-enclaves-nsm-api's nsm-lib). Requests are CBOR
 * (aws-nitro-enclaves-nsm-api) sent with the NSM_IOCTL_RAW ioctl on /dev/nsm (Linux's nsm driver, NSM_IOCTL_RAW).
 *
 * In/out lengths: capacity on input, actual length on output; too small a
 * buffer truncates and returns ERROR_CODE_BUFFER_TOO_SMALL; a NULL output
 * buffer gives BUFFER_TOO_SMALL and length 0. */
#ifndef CARVE_NSM_LIB_H
#define CARVE_NSM_LIB_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ErrorCode {
	ERROR_CODE_SUCCESS = 0,
	ERROR_CODE_INVALID_ARGUMENT = 1,
	ERROR_CODE_INVALID_INDEX = 2,
	ERROR_CODE_INVALID_RESPONSE = 3,
	ERROR_CODE_READ_ONLY_INDEX = 4,
	ERROR_CODE_INVALID_OPERATION = 5,
	ERROR_CODE_BUFFER_TOO_SMALL = 6,
	ERROR_CODE_INPUT_TOO_LARGE = 7,
	ERROR_CODE_INTERNAL_ERROR = 8,
} ErrorCode;

typedef enum Digest {
	DIGEST_SHA256 = 0,
	DIGEST_SHA384 = 1,
	DIGEST_SHA512 = 2,
} Digest;

typedef struct NsmDescription {
	uint16_t version_major;
	uint16_t version_minor;
	uint16_t version_patch;
	uint8_t module_id[100]; /* NUL-terminated, truncated to 99 bytes */
	uint32_t module_id_len;
	uint16_t max_pcrs;
	uint16_t locked_pcrs[64];
	uint32_t locked_pcrs_len;
	Digest digest;
} NsmDescription;

/* Opens /dev/nsm read-write: the descriptor, or -1. */
int32_t nsm_lib_init(void);
void nsm_lib_exit(int32_t fd);

ErrorCode nsm_extend_pcr(int32_t fd, uint16_t index, const uint8_t *data, uint32_t data_len,
			 uint8_t *pcr_data, uint32_t *pcr_data_len);
ErrorCode nsm_describe_pcr(int32_t fd, uint16_t index, bool *lock, uint8_t *data, uint32_t *data_len);
ErrorCode nsm_lock_pcr(int32_t fd, uint16_t index);
ErrorCode nsm_lock_pcrs(int32_t fd, uint16_t range);
ErrorCode nsm_get_description(int32_t fd, NsmDescription *nsm_description);
/* A NULL user_data, nonce or pub_key is sent as CBOR null (absent). */
ErrorCode nsm_get_attestation_doc(int32_t fd, const uint8_t *user_data, uint32_t user_data_len,
				  const uint8_t *nonce_data, uint32_t nonce_len, const uint8_t *pub_key_data,
				  uint32_t pub_key_len, uint8_t *att_doc_data, uint32_t *att_doc_len);
ErrorCode nsm_get_random(int32_t fd, uint8_t *buf, uintptr_t *buf_len);

/* The transport, for tests and for other kernels: sends one CBOR request and
 * fills the response (capacity in, length out). Returns 0 or a negative
 * errno. The default is the /dev/nsm ioctl. */
typedef int (*nsm_transport_fn)(int32_t fd, const uint8_t *req, uint32_t req_len, uint8_t *resp,
				uint32_t *resp_len);
void nsm_lib_set_transport(nsm_transport_fn fn);

#ifdef __cplusplus
}
#endif
#endif
