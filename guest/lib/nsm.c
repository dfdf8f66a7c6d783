/* libnsm (see nsm.h): each call builds the CBOR request (aws-nitro-enclaves-nsm-api), sends it
 * through the transport (NSM_IOCTL_RAW on /dev/nsm by default, Linux's nsm driver, NSM_IOCTL_RAW) and
 * decodes the response, checking every field's type and length before use. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "nsm.h"
#include "nsm_cbor.h"

#define NSM_REQUEST_MAX_SIZE 0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000
/* _IOWR(0x0A, 0, struct nsm_raw): dir 3, size 32, type 0x0A, nr 0. */
#define NSM_IOCTL_RAW 0xc0200a00ul

struct nsm_iovec {
	uint64_t addr, len;
};
struct nsm_raw {
	struct nsm_iovec request, response;
};

static int ioctl_transport(int32_t fd, const uint8_t *req, uint32_t req_len, uint8_t *resp,
			   uint32_t *resp_len)
{
	struct nsm_raw raw = {
		{(uint64_t)(uintptr_t)req, req_len},
		{(uint64_t)(uintptr_t)resp, *resp_len},
	};
	if (ioctl(fd, NSM_IOCTL_RAW, &raw) < 0)
		return -errno;
	*resp_len = (uint32_t)(raw.response.len < *resp_len ? raw.response.len : *resp_len);
	return 0;
}

static nsm_transport_fn transport = ioctl_transport;

void nsm_lib_set_transport(nsm_transport_fn fn) { transport = fn ? fn : ioctl_transport; }

int32_t nsm_lib_init(void) { return open("/dev/nsm", O_RDWR | O_CLOEXEC); }

void nsm_lib_exit(int32_t fd)
{
	if (fd >= 0)
		close(fd);
}

/* The response buffer: one per call, on the stack would be 12 KiB; static
 * keeps small enclave stacks safe (libnsm is not thread-safe, like a single
 * ioctl stream). */
static uint8_t resp_buf[NSM_RESPONSE_MAX_SIZE];

static const char *const error_names[] = {
	"Success",          "InvalidArgument", "InvalidIndex",  "InvalidResponse", "ReadOnlyIndex",
	"InvalidOperation", "BufferTooSmall",  "InputTooLarge", "InternalError",
};

/* Sends the request and finds the response variant: for a map response
 * {"Name": body}, *body is the value; for a text response "Name", body->type
 * is CB_TEXT. An {"Error": ...} response gives its ErrorCode. */
static ErrorCode exchange(int32_t fd, const struct cbw *req, const char *variant, struct cbr *body)
{
	if (req->overflow || req->len > NSM_REQUEST_MAX_SIZE)
		return ERROR_CODE_INPUT_TOO_LARGE;
	uint32_t len = sizeof(resp_buf);
	int r = transport(fd, req->buf, (uint32_t)req->len, resp_buf, &len);
	if (r == -EMSGSIZE)
		return ERROR_CODE_INPUT_TOO_LARGE;
	if (r < 0)
		return ERROR_CODE_INTERNAL_ERROR;
	struct cbr top;
	if (!cbr_item(resp_buf, resp_buf + len, &top))
		return ERROR_CODE_INTERNAL_ERROR;
	if (top.type == CB_TEXT) {
		if (!cbr_text_is(&top, variant))
			return ERROR_CODE_INVALID_RESPONSE;
		*body = top;
		return ERROR_CODE_SUCCESS;
	}
	if (top.type != CB_MAP || top.val != 1)
		return ERROR_CODE_INVALID_RESPONSE;
	struct cbr err;
	if (cbr_map_get(&top, "Error", &err)) {
		for (size_t i = 1; i < sizeof(error_names) / sizeof(error_names[0]); i++)
			if (cbr_text_is(&err, error_names[i]))
				return (ErrorCode)i;
		return ERROR_CODE_INVALID_RESPONSE;
	}
	if (!cbr_map_get(&top, variant, body) || body->type != CB_MAP)
		return ERROR_CODE_INVALID_RESPONSE;
	return ERROR_CODE_SUCCESS;
}

/* Copies a byte-string field out with nsm-lib's capacity rules. */
static ErrorCode copy_out(const struct cbr *bs, uint8_t *out, uint64_t *len)
{
	if (bs->type != CB_BYTES)
		return ERROR_CODE_INVALID_RESPONSE;
	if (!out) {
		*len = 0;
		return ERROR_CODE_BUFFER_TOO_SMALL;
	}
	uint64_t n = bs->val < *len ? bs->val : *len;
	memcpy(out, bs->data, (size_t)n);
	ErrorCode e = bs->val > *len ? ERROR_CODE_BUFFER_TOO_SMALL : ERROR_CODE_SUCCESS;
	*len = n;
	return e;
}

#define REQ(name)                                      \
	uint8_t name##_buf[NSM_REQUEST_MAX_SIZE + 64]; \
	struct cbw name = {name##_buf, sizeof(name##_buf), 0, false}

ErrorCode nsm_extend_pcr(int32_t fd, uint16_t index, const uint8_t *data, uint32_t data_len,
			 uint8_t *pcr_data, uint32_t *pcr_data_len)
{
	if (!pcr_data_len || (!data && data_len))
		return ERROR_CODE_INVALID_ARGUMENT;
	if (data_len > NSM_REQUEST_MAX_SIZE)
		return ERROR_CODE_INPUT_TOO_LARGE;
	REQ(w);
	cbw_map(&w, 1);
	cbw_text(&w, "ExtendPCR");
	cbw_map(&w, 2);
	cbw_text(&w, "index");
	cbw_uint(&w, index);
	cbw_text(&w, "data");
	cbw_bytes(&w, data, data_len);
	struct cbr body, d;
	ErrorCode e = exchange(fd, &w, "ExtendPCR", &body);
	if (e)
		return e;
	if (!cbr_map_get(&body, "data", &d))
		return ERROR_CODE_INVALID_RESPONSE;
	uint64_t len = *pcr_data_len;
	e = copy_out(&d, pcr_data, &len);
	*pcr_data_len = (uint32_t)len;
	return e;
}

ErrorCode nsm_describe_pcr(int32_t fd, uint16_t index, bool *lock, uint8_t *data, uint32_t *data_len)
{
	if (!lock || !data_len)
		return ERROR_CODE_INVALID_ARGUMENT;
	REQ(w);
	cbw_map(&w, 1);
	cbw_text(&w, "DescribePCR");
	cbw_map(&w, 1);
	cbw_text(&w, "index");
	cbw_uint(&w, index);
	struct cbr body, l, d;
	ErrorCode e = exchange(fd, &w, "DescribePCR", &body);
	if (e)
		return e;
	if (!cbr_map_get(&body, "lock", &l) || l.type != CB_SIMPLE || (l.val != 20 && l.val != 21) ||
	    !cbr_map_get(&body, "data", &d))
		return ERROR_CODE_INVALID_RESPONSE;
	*lock = l.val == 21;
	uint64_t len = *data_len;
	e = copy_out(&d, data, &len);
	*data_len = (uint32_t)len;
	return e;
}

static ErrorCode lock_request(int32_t fd, const char *variant, const char *key, uint16_t v)
{
	REQ(w);
	cbw_map(&w, 1);
	cbw_text(&w, variant);
	cbw_map(&w, 1);
	cbw_text(&w, key);
	cbw_uint(&w, v);
	struct cbr body;
	ErrorCode e = exchange(fd, &w, variant, &body);
	if (e)
		return e;
	return body.type == CB_TEXT ? ERROR_CODE_SUCCESS : ERROR_CODE_INVALID_RESPONSE;
}

ErrorCode nsm_lock_pcr(int32_t fd, uint16_t index) { return lock_request(fd, "LockPCR", "index", index); }
ErrorCode nsm_lock_pcrs(int32_t fd, uint16_t range) { return lock_request(fd, "LockPCRs", "range", range); }

static bool get_u16(const struct cbr *map, const char *key, uint16_t *out)
{
	struct cbr v;
	if (!cbr_map_get(map, key, &v) || v.type != CB_UINT || v.val > 0xffff)
		return false;
	*out = (uint16_t)v.val;
	return true;
}

ErrorCode nsm_get_description(int32_t fd, NsmDescription *d)
{
	if (!d)
		return ERROR_CODE_INVALID_ARGUMENT;
	REQ(w);
	cbw_text(&w, "DescribeNSM");
	struct cbr body, mid, locked, dig;
	ErrorCode e = exchange(fd, &w, "DescribeNSM", &body);
	if (e)
		return e;
	memset(d, 0, sizeof(*d));
	if (!get_u16(&body, "version_major", &d->version_major) ||
	    !get_u16(&body, "version_minor", &d->version_minor) ||
	    !get_u16(&body, "version_patch", &d->version_patch) ||
	    !get_u16(&body, "max_pcrs", &d->max_pcrs) || !cbr_map_get(&body, "module_id", &mid) ||
	    mid.type != CB_TEXT || !cbr_map_get(&body, "locked_pcrs", &locked) || locked.type != CB_ARRAY ||
	    !cbr_map_get(&body, "digest", &dig))
		return ERROR_CODE_INVALID_RESPONSE;
	size_t n = mid.val < sizeof(d->module_id) - 1 ? (size_t)mid.val : sizeof(d->module_id) - 1;
	memcpy(d->module_id, mid.data, n);
	d->module_id[n] = 0;
	d->module_id_len = (uint32_t)n;
	const uint8_t *p = locked.data;
	for (uint64_t i = 0; i < locked.val; i++) {
		struct cbr it;
		if (!cbr_item(p, locked.end, &it) || it.type != CB_UINT || it.val > 0xffff)
			return ERROR_CODE_INVALID_RESPONSE;
		if (d->locked_pcrs_len < 64)
			d->locked_pcrs[d->locked_pcrs_len++] = (uint16_t)it.val;
		p = it.next;
	}
	if (cbr_text_is(&dig, "SHA256"))
		d->digest = DIGEST_SHA256;
	else if (cbr_text_is(&dig, "SHA384"))
		d->digest = DIGEST_SHA384;
	else if (cbr_text_is(&dig, "SHA512"))
		d->digest = DIGEST_SHA512;
	else
		return ERROR_CODE_INVALID_RESPONSE;
	return ERROR_CODE_SUCCESS;
}

static void opt_bytes(struct cbw *w, const char *key, const uint8_t *p, uint32_t n)
{
	cbw_text(w, key);
	if (p)
		cbw_bytes(w, p, n);
	else
		cbw_null(w);
}

ErrorCode nsm_get_attestation_doc(int32_t fd, const uint8_t *user_data, uint32_t user_data_len,
				  const uint8_t *nonce_data, uint32_t nonce_len, const uint8_t *pub_key_data,
				  uint32_t pub_key_len, uint8_t *att_doc_data, uint32_t *att_doc_len)
{
	if (!att_doc_len)
		return ERROR_CODE_INVALID_ARGUMENT;
	if ((uint64_t)user_data_len + nonce_len + pub_key_len > NSM_REQUEST_MAX_SIZE)
		return ERROR_CODE_INPUT_TOO_LARGE;
	REQ(w);
	cbw_map(&w, 1);
	cbw_text(&w, "Attestation");
	cbw_map(&w, 3);
	opt_bytes(&w, "user_data", user_data, user_data_len);
	opt_bytes(&w, "nonce", nonce_data, nonce_len);
	opt_bytes(&w, "public_key", pub_key_data, pub_key_len);
	struct cbr body, doc;
	ErrorCode e = exchange(fd, &w, "Attestation", &body);
	if (e)
		return e;
	if (!cbr_map_get(&body, "document", &doc))
		return ERROR_CODE_INVALID_RESPONSE;
	uint64_t len = *att_doc_len;
	e = copy_out(&doc, att_doc_data, &len);
	*att_doc_len = (uint32_t)len;
	return e;
}

ErrorCode nsm_get_random(int32_t fd, uint8_t *buf, uintptr_t *buf_len)
{
	if (!buf_len)
		return ERROR_CODE_INVALID_ARGUMENT;
	REQ(w);
	cbw_text(&w, "GetRandom");
	struct cbr body, r;
	ErrorCode e = exchange(fd, &w, "GetRandom", &body);
	if (e)
		return e;
	if (!cbr_map_get(&body, "random", &r))
		return ERROR_CODE_INVALID_RESPONSE;
	uint64_t len = *buf_len;
	e = copy_out(&r, buf, &len);
	*buf_len = (uintptr_t)len;
	return e;
}
