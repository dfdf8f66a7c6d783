/* libnsm (guest/lib) against a fake transport: the requests it sends are
 * decoded with libcbor (an independent decoder) and checked against the
 * shapes of aws-nitro-enclaves-nsm-api; crafted responses check the
 * decoding, the nsm-lib length rules (aws-nitro-enclaves-nsm-api's nsm-lib) and malformed input. */
#include <cbor.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../guest/lib/nsm.c"
#include "../../guest/lib/nsm_cbor.c"

static uint8_t last_req[8192];
static uint32_t last_req_len;
static uint8_t next_resp[8192];
static uint32_t next_resp_len;
static int next_rc;

static int fake(int32_t fd, const uint8_t *req, uint32_t req_len, uint8_t *resp, uint32_t *resp_len)
{
	(void)fd;
	memcpy(last_req, req, req_len);
	last_req_len = req_len;
	if (next_rc)
		return next_rc;
	uint32_t n = next_resp_len < *resp_len ? next_resp_len : *resp_len;
	memcpy(resp, next_resp, n);
	*resp_len = n;
	return 0;
}

static struct cbw resp_writer(void)
{
	struct cbw w = {next_resp, sizeof(next_resp), 0, false};
	return w;
}

static void set_resp(const struct cbw *w) { next_resp_len = (uint32_t)w->len; }

static int setup(void **state)
{
	(void)state;
	nsm_lib_set_transport(fake);
	next_rc = 0;
	next_resp_len = 0;
	return 0;
}

/* The request as libcbor sees it; the caller frees it. */
static cbor_item_t *request(void)
{
	struct cbor_load_result res;
	cbor_item_t *it = cbor_load(last_req, last_req_len, &res);
	assert_non_null(it);
	assert_int_equal(res.read, last_req_len);
	return it;
}

/* The body of {"Variant": body}, checked for the variant name. */
static cbor_item_t *variant_body(cbor_item_t *top, const char *name)
{
	assert_true(cbor_isa_map(top));
	assert_int_equal(cbor_map_size(top), 1);
	struct cbor_pair *p = cbor_map_handle(top);
	assert_true(cbor_isa_string(p[0].key));
	assert_int_equal(cbor_string_length(p[0].key), strlen(name));
	assert_memory_equal(cbor_string_handle(p[0].key), name, strlen(name));
	return p[0].value;
}

static cbor_item_t *field(cbor_item_t *map, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++)
		if (cbor_string_length(p[i].key) == strlen(key) &&
		    !memcmp(cbor_string_handle(p[i].key), key, strlen(key)))
			return p[i].value;
	fail_msg("no field %s", key);
	return NULL;
}

static void test_get_random(void **state)
{
	(void)state;
	struct cbw w = resp_writer();
	uint8_t rnd[32];
	for (int i = 0; i < 32; i++)
		rnd[i] = (uint8_t)i;
	cbw_map(&w, 1);
	cbw_text(&w, "GetRandom");
	cbw_map(&w, 1);
	cbw_text(&w, "random");
	cbw_bytes(&w, rnd, sizeof(rnd));
	set_resp(&w);
	uint8_t buf[64];
	uintptr_t len = sizeof(buf);
	assert_int_equal(nsm_get_random(3, buf, &len), ERROR_CODE_SUCCESS);
	assert_int_equal(len, 32);
	assert_memory_equal(buf, rnd, 32);
	cbor_item_t *req = request();
	assert_true(cbor_isa_string(req));
	assert_memory_equal(cbor_string_handle(req), "GetRandom", 9);
	cbor_decref(&req);
	len = 8;
	assert_int_equal(nsm_get_random(3, buf, &len), ERROR_CODE_BUFFER_TOO_SMALL);
	assert_int_equal(len, 8);
	len = 8;
	assert_int_equal(nsm_get_random(3, NULL, &len), ERROR_CODE_BUFFER_TOO_SMALL);
	assert_int_equal(len, 0);
}

static void test_extend_pcr_request_and_response(void **state)
{
	(void)state;
	uint8_t pcr[48];
	memset(pcr, 0xab, sizeof(pcr));
	struct cbw w = resp_writer();
	cbw_map(&w, 1);
	cbw_text(&w, "ExtendPCR");
	cbw_map(&w, 1);
	cbw_text(&w, "data");
	cbw_bytes(&w, pcr, sizeof(pcr));
	set_resp(&w);
	uint8_t out[48];
	uint32_t out_len = sizeof(out);
	assert_int_equal(nsm_extend_pcr(3, 16, (const uint8_t *)"abc", 3, out, &out_len), ERROR_CODE_SUCCESS);
	assert_int_equal(out_len, 48);
	assert_memory_equal(out, pcr, 48);
	cbor_item_t *req = request();
	cbor_item_t *body = variant_body(req, "ExtendPCR");
	assert_int_equal(cbor_get_int(field(body, "index")), 16);
	cbor_item_t *data = field(body, "data");
	assert_true(cbor_isa_bytestring(data));
	assert_int_equal(cbor_bytestring_length(data), 3);
	assert_memory_equal(cbor_bytestring_handle(data), "abc", 3);
	cbor_decref(&req);
}

static void test_error_response(void **state)
{
	(void)state;
	struct cbw w = resp_writer();
	cbw_map(&w, 1);
	cbw_text(&w, "Error");
	cbw_text(&w, "ReadOnlyIndex");
	set_resp(&w);
	uint8_t out[48];
	uint32_t out_len = sizeof(out);
	assert_int_equal(nsm_extend_pcr(3, 0, (const uint8_t *)"x", 1, out, &out_len),
			 ERROR_CODE_READ_ONLY_INDEX);
	assert_int_equal(nsm_lock_pcr(3, 0), ERROR_CODE_READ_ONLY_INDEX);
}

static void test_describe_and_lock(void **state)
{
	(void)state;
	struct cbw w = resp_writer();
	uint8_t pcr[48] = {1};
	cbw_map(&w, 1);
	cbw_text(&w, "DescribePCR");
	cbw_map(&w, 2);
	cbw_text(&w, "lock");
	cbw_bool(&w, true);
	cbw_text(&w, "data");
	cbw_bytes(&w, pcr, sizeof(pcr));
	set_resp(&w);
	bool lock = false;
	uint8_t out[48];
	uint32_t out_len = sizeof(out);
	assert_int_equal(nsm_describe_pcr(3, 2, &lock, out, &out_len), ERROR_CODE_SUCCESS);
	assert_true(lock);
	assert_int_equal(out_len, 48);
	cbor_item_t *req = request();
	assert_int_equal(cbor_get_int(field(variant_body(req, "DescribePCR"), "index")), 2);
	cbor_decref(&req);

	w = resp_writer();
	cbw_text(&w, "LockPCRs");
	set_resp(&w);
	assert_int_equal(nsm_lock_pcrs(3, 20), ERROR_CODE_SUCCESS);
	req = request();
	assert_int_equal(cbor_get_int(field(variant_body(req, "LockPCRs"), "range")), 20);
	cbor_decref(&req);
}

static void test_description(void **state)
{
	(void)state;
	struct cbw w = resp_writer();
	cbw_map(&w, 1);
	cbw_text(&w, "DescribeNSM");
	cbw_map(&w, 7);
	cbw_text(&w, "version_major");
	cbw_uint(&w, 1);
	cbw_text(&w, "version_minor");
	cbw_uint(&w, 0);
	cbw_text(&w, "version_patch");
	cbw_uint(&w, 2);
	cbw_text(&w, "module_id");
	cbw_text(&w, "i-234-enc5678");
	cbw_text(&w, "max_pcrs");
	cbw_uint(&w, 32);
	cbw_text(&w, "locked_pcrs");
	w.buf[w.len++] = 0x83; /* array of 3 */
	cbw_uint(&w, 0);
	cbw_uint(&w, 1);
	cbw_uint(&w, 2);
	cbw_text(&w, "digest");
	cbw_text(&w, "SHA384");
	set_resp(&w);
	NsmDescription d;
	assert_int_equal(nsm_get_description(3, &d), ERROR_CODE_SUCCESS);
	assert_int_equal(d.version_major, 1);
	assert_int_equal(d.version_patch, 2);
	assert_string_equal((const char *)d.module_id, "i-234-enc5678");
	assert_int_equal(d.module_id_len, 13);
	assert_int_equal(d.max_pcrs, 32);
	assert_int_equal(d.locked_pcrs_len, 3);
	assert_int_equal(d.locked_pcrs[2], 2);
	assert_int_equal(d.digest, DIGEST_SHA384);
}

static void test_attestation_nulls(void **state)
{
	(void)state;
	struct cbw w = resp_writer();
	cbw_map(&w, 1);
	cbw_text(&w, "Attestation");
	cbw_map(&w, 1);
	cbw_text(&w, "document");
	cbw_bytes(&w, (const uint8_t *)"\x84\x01\x02\x03\x04", 5);
	set_resp(&w);
	uint8_t doc[16];
	uint32_t doc_len = sizeof(doc);
	assert_int_equal(nsm_get_attestation_doc(3, (const uint8_t *)"ud", 2, NULL, 0, NULL, 0, doc,
						 &doc_len),
			 ERROR_CODE_SUCCESS);
	assert_int_equal(doc_len, 5);
	cbor_item_t *req = request();
	cbor_item_t *body = variant_body(req, "Attestation");
	assert_int_equal(cbor_map_size(body), 3);
	assert_true(cbor_isa_bytestring(field(body, "user_data")));
	assert_true(cbor_is_null(field(body, "nonce")));
	assert_true(cbor_is_null(field(body, "public_key")));
	cbor_decref(&req);
	uint8_t big[5000] = {0};
	doc_len = sizeof(doc);
	assert_int_equal(nsm_get_attestation_doc(3, big, sizeof(big), NULL, 0, NULL, 0, doc, &doc_len),
			 ERROR_CODE_INPUT_TOO_LARGE);
}

static void test_bad_responses(void **state)
{
	(void)state;
	uint8_t buf[32];
	uintptr_t len = sizeof(buf);
	/* Truncated: a 32-byte string with 2 bytes. */
	const uint8_t trunc[] = {0xa1, 0x69, 'G', 'e', 't', 'R', 'a', 'n',  'd',  'o', 'm', 0xa1,
				 0x66, 'r',  'a', 'n', 'd', 'o', 'm', 0x58, 0x20, 1,   2};
	memcpy(next_resp, trunc, sizeof(trunc));
	next_resp_len = sizeof(trunc);
	assert_int_equal(nsm_get_random(3, buf, &len), ERROR_CODE_INTERNAL_ERROR);
	/* The wrong variant. */
	struct cbw w = resp_writer();
	cbw_text(&w, "LockPCR");
	set_resp(&w);
	len = sizeof(buf);
	assert_int_equal(nsm_get_random(3, buf, &len), ERROR_CODE_INVALID_RESPONSE);
	/* The right variant, a field of the wrong type. */
	w = resp_writer();
	cbw_map(&w, 1);
	cbw_text(&w, "GetRandom");
	cbw_map(&w, 1);
	cbw_text(&w, "random");
	cbw_text(&w, "not bytes");
	set_resp(&w);
	len = sizeof(buf);
	assert_int_equal(nsm_get_random(3, buf, &len), ERROR_CODE_INVALID_RESPONSE);
	/* Transport errors. */
	next_rc = -EMSGSIZE;
	assert_int_equal(nsm_lock_pcr(3, 1), ERROR_CODE_INPUT_TOO_LARGE);
	next_rc = -EIO;
	assert_int_equal(nsm_lock_pcr(3, 1), ERROR_CODE_INTERNAL_ERROR);
	/* No /dev/nsm here: init fails cleanly. */
	nsm_lib_set_transport(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_get_random, setup),
		cmocka_unit_test_setup(test_extend_pcr_request_and_response, setup),
		cmocka_unit_test_setup(test_error_response, setup),
		cmocka_unit_test_setup(test_describe_and_lock, setup),
		cmocka_unit_test_setup(test_description, setup),
		cmocka_unit_test_setup(test_attestation_nulls, setup),
		cmocka_unit_test_setup(test_bad_responses, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
