/* The NSM engine: every request and every error response, byte for byte
 * against the shapes of aws-nitro-enclaves-nsm-api, and attestation documents checked
 * with libcbor and OpenSSL calls written here (not carve's verifier).
 * Expected PCR values are computed here with OpenSSL's SHA-384. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "carve/cbor.h"
#include "carve/cose.h"
#include "carve/nsm.h"

#define NOW ((time_t)1790000000)
#define NOW_MS ((uint64_t)NOW * 1000 + 123)
#define MODULE_ID "i-0123456789abcdef0-enc0123456789abcdef0"

/* ---- fixtures -------------------------------------------------------- */

struct fixture {
	struct pki pki;
	uint64_t clock; /* ms, read by the engine */
	uint8_t pcr0[48], pcr1[48], pcr2[48], pcr8[48];
	struct nsm *nsm;
	uint8_t resp[NSM_RESPONSE_MAX];
	size_t resp_len;
};

static uint64_t fixed_clock(void *ctx) { return ((struct fixture *)ctx)->clock; }

/* SHA384(a || b), with OpenSSL directly. */
static void sha384_cat(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[48])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 48;
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha384(), NULL), 1);
	EVP_DigestUpdate(c, a, alen);
	EVP_DigestUpdate(c, b, blen);
	EVP_DigestFinal_ex(c, out, &n);
	EVP_MD_CTX_free(c);
}

static void make_config(struct fixture *f, struct nsm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->module_id = MODULE_ID;
	cfg->pcr0 = f->pcr0;
	cfg->pcr1 = f->pcr1;
	cfg->pcr2 = f->pcr2;
	cfg->pcr8 = f->pcr8;
	cfg->parent_role = "arn:aws:iam::123456789012:role/test";
	cfg->parent_id = "i-0123456789abcdef0";
	cfg->pki = &f->pki;
	cfg->clock_ms = fixed_clock;
	cfg->clock_ctx = f;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct carve_err err = {0};
	if (!f || pki_create(&f->pki, NOW - 60, &err) < 0)
		return -1;
	f->clock = NOW_MS;
	for (int i = 0; i < 48; i++) {
		f->pcr0[i] = (uint8_t)(0x10 + i);
		f->pcr1[i] = (uint8_t)(0x50 + i);
		f->pcr2[i] = (uint8_t)(0x90 + i);
		f->pcr8[i] = (uint8_t)(0xc0 + i);
	}
	struct nsm_config cfg;
	make_config(f, &cfg);
	if (nsm_create(&f->nsm, &cfg, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nsm_destroy(f->nsm);
	pki_free(&f->pki);
	free(f);
	return 0;
}

/* Sends raw bytes; returns the ErrorCode the engine reports. */
static int send_raw(struct fixture *f, const uint8_t *req, size_t len)
{
	f->resp_len = 0;
	return nsm_handle_request(f->nsm, req, len, f->resp, sizeof(f->resp), &f->resp_len);
}

static int send_writer(struct fixture *f, struct cbor_writer *w)
{
	size_t len;
	uint8_t *req = cw_take(w, &len);
	assert_non_null(req);
	int rc = send_raw(f, req, len);
	free(req);
	return rc;
}

/* {"Variant": {key: uint}} */
static int send_index(struct fixture *f, const char *variant, const char *key, uint64_t v)
{
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_map(&w, 1);
	cw_text(&w, variant);
	cw_map(&w, 1);
	cw_text(&w, key);
	cw_uint(&w, v);
	return send_writer(f, &w);
}

static int send_extend(struct fixture *f, uint64_t index, const void *data, size_t len)
{
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_map(&w, 1);
	cw_text(&w, "ExtendPCR");
	cw_map(&w, 2);
	cw_text(&w, "index");
	cw_uint(&w, index);
	cw_text(&w, "data");
	cw_bytes(&w, data, len);
	return send_writer(f, &w);
}

/* A NULL field is sent as null. */
static int send_attestation(struct fixture *f, const uint8_t *ud, size_t udl, const uint8_t *nonce, size_t nl,
			    const uint8_t *pk, size_t pkl)
{
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_map(&w, 1);
	cw_text(&w, "Attestation");
	cw_map(&w, 3);
	cw_text(&w, "user_data");
	ud ? cw_bytes(&w, ud, udl) : cw_null(&w);
	cw_text(&w, "nonce");
	nonce ? cw_bytes(&w, nonce, nl) : cw_null(&w);
	cw_text(&w, "public_key");
	pk ? cw_bytes(&w, pk, pkl) : cw_null(&w);
	return send_writer(f, &w);
}

/* Builds expected bytes: a tiny append buffer. */
struct bytes {
	uint8_t b[NSM_RESPONSE_MAX];
	size_t n;
};
static void put(struct bytes *x, const void *p, size_t n)
{
	memcpy(x->b + x->n, p, n);
	x->n += n;
}
static void put1(struct bytes *x, uint8_t v) { put(x, &v, 1); }
/* Text of fewer than 24 bytes: one-byte head 0x60 + n. */
static void put_text(struct bytes *x, const char *s)
{
	size_t n = strlen(s);
	assert_true(n < 24);
	put1(x, (uint8_t)(0x60 + n));
	put(x, s, n);
}

static void expect_response(struct fixture *f, const struct bytes *want)
{
	assert_int_equal(f->resp_len, want->n);
	assert_memory_equal(f->resp, want->b, want->n);
}

static void expect_error(struct fixture *f, int rc, int code, const char *name)
{
	assert_int_equal(rc, code);
	struct bytes want = {.n = 0};
	put1(&want, 0xa1);
	put_text(&want, "Error");
	put_text(&want, name);
	expect_response(f, &want);
}

/* A PCR the test reads back with DescribePCR. */
static void describe(struct fixture *f, unsigned index, bool *lock, uint8_t out[48])
{
	assert_int_equal(send_index(f, "DescribePCR", "index", index), NSM_SUCCESS);
	/* a1 6b "DescribePCR" a2 64 "lock" f4|f5 64 "data" 58 30 <48> */
	assert_int_equal(f->resp_len, 1 + 12 + 1 + 5 + 1 + 5 + 2 + 48);
	struct bytes head = {.n = 0};
	put1(&head, 0xa1);
	put_text(&head, "DescribePCR");
	put1(&head, 0xa2);
	put_text(&head, "lock");
	assert_memory_equal(f->resp, head.b, head.n);
	assert_true(f->resp[head.n] == 0xf4 || f->resp[head.n] == 0xf5);
	*lock = f->resp[head.n] == 0xf5;
	assert_memory_equal(f->resp + head.n + 1,
			    "\x64"
			    "data"
			    "\x58\x30",
			    7);
	memcpy(out, f->resp + head.n + 8, 48);
}

/* ---- DescribeNSM ------------------------------------------------------ */

static void test_describe_nsm(void **state)
{
	struct fixture *f = *state;
	int rc = send_raw(f,
			  (const uint8_t *)"\x6b"
					   "DescribeNSM",
			  12);
	assert_int_equal(rc, NSM_SUCCESS);
	struct bytes want = {.n = 0};
	put1(&want, 0xa1);
	put_text(&want, "DescribeNSM");
	put1(&want, 0xa7);
	put_text(&want, "version_major");
	put1(&want, 1);
	put_text(&want, "version_minor");
	put1(&want, 0);
	put_text(&want, "version_patch");
	put1(&want, 0);
	put_text(&want, "module_id");
	put1(&want, 0x78); /* text, one-byte length */
	put1(&want, (uint8_t)strlen(MODULE_ID));
	put(&want, MODULE_ID, strlen(MODULE_ID));
	put_text(&want, "max_pcrs");
	put(&want, "\x18\x20", 2);
	put_text(&want, "locked_pcrs");
	put1(&want, 0x90); /* array of 16: 0..15 */
	for (uint8_t i = 0; i < 16; i++)
		put1(&want, i);
	put_text(&want, "digest");
	put_text(&want, "SHA384");
	expect_response(f, &want);
}

/* ---- DescribePCR ------------------------------------------------------ */

static void test_describe_pcr_initial_bank(void **state)
{
	struct fixture *f = *state;
	uint8_t v[48], want[48], zero[48] = {0};
	bool lock;
	describe(f, 0, &lock, v);
	assert_true(lock);
	assert_memory_equal(v, f->pcr0, 48);
	describe(f, 1, &lock, v);
	assert_memory_equal(v, f->pcr1, 48);
	describe(f, 2, &lock, v);
	assert_memory_equal(v, f->pcr2, 48);
	/* PCR3/4: the raw parent strings extended into zero (QEMU's model). */
	const char *role = "arn:aws:iam::123456789012:role/test";
	sha384_cat(zero, 48, role, strlen(role), want);
	describe(f, 3, &lock, v);
	assert_memory_equal(v, want, 48);
	sha384_cat(zero, 48, "i-0123456789abcdef0", 19, want);
	describe(f, 4, &lock, v);
	assert_memory_equal(v, want, 48);
	describe(f, 8, &lock, v);
	assert_memory_equal(v, f->pcr8, 48);
	for (unsigned i = 5; i < 16; i++) {
		if (i == 8)
			continue;
		describe(f, i, &lock, v);
		assert_true(lock);
		assert_memory_equal(v, zero, 48);
	}
	for (unsigned i = 16; i < 32; i++) {
		describe(f, i, &lock, v);
		assert_false(lock);
		assert_memory_equal(v, zero, 48);
	}
}

static void test_describe_pcr_bad_index(void **state)
{
	struct fixture *f = *state;
	expect_error(f, send_index(f, "DescribePCR", "index", 32), NSM_INVALID_INDEX, "InvalidIndex");
	expect_error(f, send_index(f, "DescribePCR", "index", 65535), NSM_INVALID_INDEX, "InvalidIndex");
	expect_error(f, send_index(f, "DescribePCR", "index", UINT64_MAX), NSM_INVALID_INDEX, "InvalidIndex");
}

/* ---- ExtendPCR -------------------------------------------------------- */

static void test_extend_pcr(void **state)
{
	struct fixture *f = *state;
	uint8_t want[48] = {0};
	sha384_cat(want, 48, "hello", 5, want);
	assert_int_equal(send_extend(f, 16, "hello", 5), NSM_SUCCESS);
	struct bytes exp = {.n = 0};
	put1(&exp, 0xa1);
	put_text(&exp, "ExtendPCR");
	put1(&exp, 0xa1);
	put_text(&exp, "data");
	put(&exp, "\x58\x30", 2);
	put(&exp, want, 48);
	expect_response(f, &exp);

	/* Chained: PCR <- SHA384(PCR || data); empty data is a valid extend. */
	sha384_cat(want, 48, "", 0, want);
	assert_int_equal(send_extend(f, 16, "", 0), NSM_SUCCESS);
	assert_memory_equal(f->resp + exp.n - 48, want, 48);

	uint8_t v[48];
	bool lock;
	describe(f, 16, &lock, v);
	assert_false(lock);
	assert_memory_equal(v, want, 48);

	/* data as a text string is accepted like bytes (serde_bytes, QEMU). */
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_map(&w, 1);
	cw_text(&w, "ExtendPCR");
	cw_map(&w, 2);
	cw_text(&w, "index");
	cw_uint(&w, 17);
	cw_text(&w, "data");
	cw_text(&w, "abc");
	assert_int_equal(send_writer(f, &w), NSM_SUCCESS);
	uint8_t want17[48] = {0};
	sha384_cat(want17, 48, "abc", 3, want17);
	assert_memory_equal(f->resp + exp.n - 48, want17, 48);
}

static void test_extend_pcr_errors(void **state)
{
	struct fixture *f = *state;
	for (unsigned i = 0; i < 16; i++)
		expect_error(f, send_extend(f, i, "x", 1), NSM_READ_ONLY_INDEX, "ReadOnlyIndex");
	expect_error(f, send_extend(f, 32, "x", 1), NSM_INVALID_INDEX, "InvalidIndex");
	expect_error(f, send_extend(f, 1000, "x", 1), NSM_INVALID_INDEX, "InvalidIndex");
	/* The locked PCR did not change. */
	uint8_t v[48];
	bool lock;
	describe(f, 0, &lock, v);
	assert_memory_equal(v, f->pcr0, 48);
}

/* ---- LockPCR / LockPCRs ----------------------------------------------- */

static void test_lock_pcr(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(send_extend(f, 20, "a", 1), NSM_SUCCESS);
	assert_int_equal(send_index(f, "LockPCR", "index", 20), NSM_SUCCESS);
	assert_int_equal(f->resp_len, 8);
	assert_memory_equal(f->resp,
			    "\x67"
			    "LockPCR",
			    8);
	expect_error(f, send_extend(f, 20, "b", 1), NSM_READ_ONLY_INDEX, "ReadOnlyIndex");
	expect_error(f, send_index(f, "LockPCR", "index", 20), NSM_READ_ONLY_INDEX, "ReadOnlyIndex");
	expect_error(f, send_index(f, "LockPCR", "index", 3), NSM_READ_ONLY_INDEX, "ReadOnlyIndex");
	expect_error(f, send_index(f, "LockPCR", "index", 32), NSM_INVALID_INDEX, "InvalidIndex");
	uint8_t v[48];
	bool lock;
	describe(f, 20, &lock, v);
	assert_true(lock);
	/* DescribeNSM lists it: 0..15 and 20, ascending. */
	assert_int_equal(send_raw(f,
				  (const uint8_t *)"\x6b"
						   "DescribeNSM",
				  12),
			 NSM_SUCCESS);
	const uint8_t want[] = {0x6b, 'l', 'o', 'c', 'k', 'e', 'd', '_', 'p', 'c', 'r', 's', 0x91, 0,  1,
				2,    3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,   15, 0x14};
	assert_non_null(memmem(f->resp, f->resp_len, want, sizeof(want)));
}

static void test_lock_pcrs(void **state)
{
	struct fixture *f = *state;
	expect_error(f, send_index(f, "LockPCRs", "range", 33), NSM_INVALID_INDEX, "InvalidIndex");
	assert_int_equal(send_index(f, "LockPCRs", "range", 0), NSM_SUCCESS);
	assert_int_equal(send_index(f, "LockPCRs", "range", 18), NSM_SUCCESS);
	assert_int_equal(f->resp_len, 9);
	assert_memory_equal(f->resp,
			    "\x68"
			    "LockPCRs",
			    9);
	expect_error(f, send_extend(f, 17, "x", 1), NSM_READ_ONLY_INDEX, "ReadOnlyIndex");
	assert_int_equal(send_extend(f, 18, "x", 1), NSM_SUCCESS);
	/* range = max_pcrs succeeds with some already locked (nsm-check). */
	assert_int_equal(send_index(f, "LockPCRs", "range", 32), NSM_SUCCESS);
	for (unsigned i = 16; i < 32; i++)
		expect_error(f, send_extend(f, i, "x", 1), NSM_READ_ONLY_INDEX, "ReadOnlyIndex");
	assert_int_equal(send_raw(f,
				  (const uint8_t *)"\x6b"
						   "DescribeNSM",
				  12),
			 NSM_SUCCESS);
	const uint8_t want[] = {0x6b, 'l', 'o', 'c', 'k', 'e', 'd', '_', 'p', 'c', 'r', 's', 0x98, 0x20};
	assert_non_null(memmem(f->resp, f->resp_len, want, sizeof(want)));
}

/* ---- GetRandom -------------------------------------------------------- */

static void test_get_random(void **state)
{
	struct fixture *f = *state;
	uint8_t first[256];
	assert_int_equal(send_raw(f,
				  (const uint8_t *)"\x69"
						   "GetRandom",
				  10),
			 NSM_SUCCESS);
	struct bytes head = {.n = 0};
	put1(&head, 0xa1);
	put_text(&head, "GetRandom");
	put1(&head, 0xa1);
	put_text(&head, "random");
	put(&head, "\x59\x01\x00", 3); /* bstr of 256 */
	assert_int_equal(f->resp_len, head.n + 256);
	assert_memory_equal(f->resp, head.b, head.n);
	memcpy(first, f->resp + head.n, 256);
	assert_int_equal(send_raw(f,
				  (const uint8_t *)"\x69"
						   "GetRandom",
				  10),
			 NSM_SUCCESS);
	assert_memory_not_equal(first, f->resp + head.n, 256);
}

/* ---- malformed and unknown requests ------------------------------------ */

static void test_malformed_requests(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} cases[] = {
		{"empty", "", 0},
		{"reserved initial byte", "\xff", 1},
		{"truncated text",
		 "\x6b"
		 "Describe",
		 9},
		{"trailing byte",
		 "\x69"
		 "GetRandom"
		 "\x00",
		 11},
		{"unknown unit request",
		 "\x63"
		 "Foo",
		 4},
		{"lower-case name",
		 "\x69"
		 "getrandom",
		 10},
		{"integer", "\x01", 1},
		{"unknown map request",
		 "\xa1\x63"
		 "Foo"
		 "\xa0",
		 6},
		{"two variants",
		 "\xa2\x69"
		 "GetRandom"
		 "\xa0\x63"
		 "Foo"
		 "\xa0",
		 17},
		{"empty map", "\xa0", 1},
		{"variant key not text", "\xa1\x01\xa0", 3},
		{"body not a map",
		 "\xa1\x6b"
		 "DescribePCR"
		 "\x01",
		 14},
		{"missing index",
		 "\xa1\x6b"
		 "DescribePCR"
		 "\xa0",
		 14},
		{"negative index",
		 "\xa1\x6b"
		 "DescribePCR"
		 "\xa1\x65"
		 "index"
		 "\x20",
		 20},
		{"index as text",
		 "\xa1\x6b"
		 "DescribePCR"
		 "\xa1\x65"
		 "index"
		 "\x61"
		 "0",
		 21},
		{"duplicate index",
		 "\xa1\x67"
		 "LockPCR"
		 "\xa2\x65"
		 "index"
		 "\x10\x65"
		 "index"
		 "\x11",
		 23},
		{"missing data",
		 "\xa1\x69"
		 "ExtendPCR"
		 "\xa1\x65"
		 "index"
		 "\x10",
		 18},
		{"data as integer",
		 "\xa1\x69"
		 "ExtendPCR"
		 "\xa2\x65"
		 "index"
		 "\x10\x64"
		 "data"
		 "\x01",
		 24},
		{"indefinite map",
		 "\xbf\x69"
		 "GetRandom"
		 "\xa0\xff",
		 13},
		{"unit as map",
		 "\xa1\x69"
		 "GetRandom"
		 "\xa0",
		 12},
		{"user_data as integer",
		 "\xa1\x6b"
		 "Attestation"
		 "\xa1\x69"
		 "user_data"
		 "\x01",
		 25},
		{"huge declared length", "\x5b\xff\xff\xff\xff\xff\xff\xff\xff", 9},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].what);
		expect_error(f, send_raw(f, (const uint8_t *)cases[i].bytes, cases[i].len),
			     NSM_INVALID_OPERATION, "InvalidOperation");
	}
	/* Unknown keys inside a body are skipped, as serde does. */
	assert_int_equal(send_raw(f,
				  (const uint8_t *)"\xa1\x6b"
						   "DescribePCR"
						   "\xa2\x65"
						   "index"
						   "\x10\x63"
						   "foo"
						   "\x01",
				  26),
			 NSM_SUCCESS);
}

static void test_request_size_limit(void **state)
{
	struct fixture *f = *state;
	/* An ExtendPCR of exactly 4096 bytes is served... */
	size_t overhead = 1 + 10 + 1 + 6 + 1 + 5 + 3; /* map, variant, map, index k/v, "data", bstr head */
	size_t dlen = NSM_REQUEST_MAX - overhead;
	uint8_t *data = calloc(1, dlen + 1);
	assert_non_null(data);
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_map(&w, 1);
	cw_text(&w, "ExtendPCR");
	cw_map(&w, 2);
	cw_text(&w, "index");
	cw_uint(&w, 16);
	cw_text(&w, "data");
	cw_bytes(&w, data, dlen);
	size_t len;
	uint8_t *req = cw_take(&w, &len);
	assert_int_equal(len, NSM_REQUEST_MAX);
	assert_int_equal(send_raw(f, req, len), NSM_SUCCESS);
	free(req);
	/* ...one byte more is InputTooLarge, even though it is valid CBOR. */
	cw_init(&w, 0);
	cw_map(&w, 1);
	cw_text(&w, "ExtendPCR");
	cw_map(&w, 2);
	cw_text(&w, "index");
	cw_uint(&w, 16);
	cw_text(&w, "data");
	cw_bytes(&w, data, dlen + 1);
	req = cw_take(&w, &len);
	assert_int_equal(len, NSM_REQUEST_MAX + 1);
	expect_error(f, send_raw(f, req, len), NSM_INPUT_TOO_LARGE, "InputTooLarge");
	free(req);
	free(data);
}

static void test_response_buffer(void **state)
{
	struct fixture *f = *state;
	uint8_t small[NSM_RESPONSE_MIN];
	size_t len = 0;
	const uint8_t *req = (const uint8_t *)"\x6b"
					      "DescribeNSM";
	assert_int_equal(nsm_handle_request(f->nsm, req, 12, small, NSM_RESPONSE_MIN - 1, &len), -1);
	/* DescribeNSM is longer than 64 bytes: BufferTooSmall, still valid CBOR. */
	assert_int_equal(nsm_handle_request(f->nsm, req, 12, small, sizeof(small), &len),
			 NSM_BUFFER_TOO_SMALL);
	assert_memory_equal(small,
			    "\xa1\x65"
			    "Error"
			    "\x6e"
			    "BufferTooSmall",
			    len);
}

/* ---- Attestation: limits and errors ------------------------------------- */

static void test_attestation_limits(void **state)
{
	struct fixture *f = *state;
	uint8_t big[NSM_USER_FIELD_MAX + 1];
	memset(big, 0x5a, sizeof(big));
	expect_error(f, send_attestation(f, big, 1025, NULL, 0, NULL, 0), NSM_INPUT_TOO_LARGE,
		     "InputTooLarge");
	expect_error(f, send_attestation(f, NULL, 0, big, 1025, NULL, 0), NSM_INPUT_TOO_LARGE,
		     "InputTooLarge");
	expect_error(f, send_attestation(f, NULL, 0, NULL, 0, big, 1025), NSM_INPUT_TOO_LARGE,
		     "InputTooLarge");
	expect_error(f, send_attestation(f, NULL, 0, NULL, 0, big, 0), NSM_INVALID_ARGUMENT,
		     "InvalidArgument");
	/* All three at 1024 (what nsm-check sends) fit the 0x3000 response. */
	assert_int_equal(send_attestation(f, big, 1024, big, 1024, big, 1024), NSM_SUCCESS);
	assert_true(f->resp_len <= NSM_RESPONSE_MAX);
	/* Empty user_data and nonce are allowed (0..1024). */
	assert_int_equal(send_attestation(f, big, 0, big, 0, NULL, 0), NSM_SUCCESS);
}

static void test_attestation_without_ca(void **state)
{
	struct fixture *f = *state;
	struct nsm_config cfg;
	make_config(f, &cfg);
	cfg.pki = NULL;
	struct nsm *bare;
	struct carve_err err = {0};
	assert_int_equal(nsm_create(&bare, &cfg, &err), 0);
	struct nsm *saved = f->nsm;
	f->nsm = bare;
	expect_error(f, send_attestation(f, NULL, 0, NULL, 0, NULL, 0), NSM_INTERNAL_ERROR, "InternalError");
	f->nsm = saved;
	nsm_destroy(bare);
}

static void test_module_id_checked(void **state)
{
	struct fixture *f = *state;
	struct nsm_config cfg;
	make_config(f, &cfg);
	char longid[101];
	memset(longid, 'a', 100);
	longid[100] = 0;
	struct nsm *n;
	struct carve_err err = {0};
	cfg.module_id = longid;
	assert_int_equal(nsm_create(&n, &cfg, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	cfg.module_id = "";
	assert_int_equal(nsm_create(&n, &cfg, &err), -1);
}

/* A PCR reserved for the host (the guest's sub-page lock, PCR31): the
 * guest can neither extend nor lock it; the host extends it once. */
static void test_host_pcr(void **state)
{
	struct fixture *f = *state;
	struct nsm_config cfg;
	make_config(f, &cfg);
	struct carve_err err = {0};
	struct nsm *n;
	cfg.host_pcr = 15;
	assert_int_equal(nsm_create(&n, &cfg, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	cfg.host_pcr = 32;
	assert_int_equal(nsm_create(&n, &cfg, &err), -1);
	cfg.host_pcr = NSM_PCR_SUBPAGE_LOCK;
	assert_int_equal(nsm_create(&n, &cfg, &err), 0);
	nsm_destroy(f->nsm);
	f->nsm = n;
	expect_error(f, send_extend(f, 31, "x", 1), NSM_READ_ONLY_INDEX, "ReadOnlyIndex");
	expect_error(f, send_index(f, "LockPCR", "index", 31), NSM_READ_ONLY_INDEX, "ReadOnlyIndex");
	assert_int_equal(send_extend(f, 30, "x", 1), NSM_SUCCESS);
	uint8_t d[48], zero[48] = {0}, want[48], got[48];
	for (int i = 0; i < 48; i++)
		d[i] = (uint8_t)(0x30 + i);
	assert_int_equal(nsm_host_measure(n, 30, d, 48), -1); /* not the host's */
	bool lock = false;
	describe(f, 31, &lock, got);
	assert_true(lock);
	assert_memory_equal(got, zero, 48);
	assert_int_equal(nsm_host_measure(n, 31, d, 48), 0);
	assert_int_equal(nsm_host_measure(n, 31, d, 48), -1); /* once */
	describe(f, 31, &lock, got);
	sha384_cat(zero, 48, d, 48, want);
	assert_true(lock);
	assert_memory_equal(got, want, 48);
}

static void test_error_names(void **state)
{
	(void)state;
	const char *names[] = {"Success",         "InvalidArgument", "InvalidIndex",
			       "InvalidResponse", "ReadOnlyIndex",   "InvalidOperation",
			       "BufferTooSmall",  "InputTooLarge",   "InternalError"};
	for (int i = 0; i < 9; i++)
		assert_string_equal(nsm_error_name(i), names[i]);
	assert_null(nsm_error_name(9));
	assert_null(nsm_error_name(-1));
}

/* ---- Attestation documents, checked independently ----------------------- */

struct decoded {
	cbor_item_t *cose;
	cbor_item_t *payload;
	const uint8_t *prot, *payload_bytes, *sig;
	size_t prot_len, payload_len, sig_len;
};

static cbor_item_t *map_get(cbor_item_t *m, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(m);
	for (size_t i = 0; i < cbor_map_size(m); i++)
		if (cbor_isa_string(p[i].key) && cbor_string_length(p[i].key) == strlen(key) &&
		    !memcmp(cbor_string_handle(p[i].key), key, strlen(key)))
			return p[i].value;
	return NULL;
}

/* Pulls the document out of an Attestation response and decodes it with
 * libcbor alone. */
static void decode_document(const uint8_t *resp, size_t resp_len, uint8_t **doc, size_t *doc_len,
			    struct decoded *d)
{
	struct cbor_load_result res;
	cbor_item_t *r = cbor_load(resp, resp_len, &res);
	assert_non_null(r);
	assert_int_equal(res.read, resp_len);
	cbor_item_t *body = map_get(r, "Attestation");
	assert_non_null(body);
	assert_int_equal(cbor_map_size(body), 1);
	cbor_item_t *docitem = map_get(body, "document");
	assert_true(cbor_isa_bytestring(docitem));
	*doc_len = cbor_bytestring_length(docitem);
	*doc = malloc(*doc_len);
	memcpy(*doc, cbor_bytestring_handle(docitem), *doc_len);
	cbor_decref(&r);

	/* Untagged COSE_Sign1: array of 4, as AWS's NSM emits. */
	assert_int_equal((*doc)[0], 0x84);
	d->cose = cbor_load(*doc, *doc_len, &res);
	assert_non_null(d->cose);
	assert_int_equal(res.read, *doc_len);
	assert_true(cbor_isa_array(d->cose));
	assert_int_equal(cbor_array_size(d->cose), 4);
	cbor_item_t **f = cbor_array_handle(d->cose);
	d->prot = cbor_bytestring_handle(f[0]);
	d->prot_len = cbor_bytestring_length(f[0]);
	assert_int_equal(d->prot_len, 4);
	assert_memory_equal(d->prot, "\xa1\x01\x38\x22", 4); /* {1: -35} */
	assert_true(cbor_isa_map(f[1]));
	assert_int_equal(cbor_map_size(f[1]), 0);
	d->payload_bytes = cbor_bytestring_handle(f[2]);
	d->payload_len = cbor_bytestring_length(f[2]);
	d->sig = cbor_bytestring_handle(f[3]);
	d->sig_len = cbor_bytestring_length(f[3]);
	assert_int_equal(d->sig_len, 96);
	d->payload = cbor_load(d->payload_bytes, d->payload_len, &res);
	assert_non_null(d->payload);
	assert_int_equal(res.read, d->payload_len);
}

static void decoded_free(struct decoded *d)
{
	cbor_decref(&d->payload);
	cbor_decref(&d->cose);
}

/* ES384 over the Sig_structure built here byte by byte; 1 valid. */
static int openssl_verify_sig(X509 *leaf, const uint8_t *prot, size_t prot_len, const uint8_t *payload,
			      size_t payload_len, const uint8_t *sig)
{
	struct bytes *tbs = malloc(sizeof(*tbs));
	tbs->n = 0;
	put1(tbs, 0x84);
	put_text(tbs, "Signature1");
	put1(tbs, (uint8_t)(0x40 + prot_len));
	put(tbs, prot, prot_len);
	put1(tbs, 0x40);
	put1(tbs, 0x59); /* payload lengths here are 256..65535 */
	assert_true(payload_len >= 256 && payload_len <= 0xffff);
	put1(tbs, (uint8_t)(payload_len >> 8));
	put1(tbs, (uint8_t)payload_len);
	put(tbs, payload, payload_len);

	ECDSA_SIG *es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(sig, 48, NULL), BN_bin2bn(sig + 48, 48, NULL));
	uint8_t *der = NULL;
	int der_len = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = EVP_DigestVerifyInit(c, NULL, EVP_sha384(), NULL, X509_get0_pubkey(leaf)) == 1 &&
		EVP_DigestVerify(c, der, (size_t)der_len, tbs->b, tbs->n) == 1;
	EVP_MD_CTX_free(c);
	OPENSSL_free(der);
	free(tbs);
	return ok;
}

static int openssl_verify_chain(X509 *root, cbor_item_t *bundle, X509 *leaf, time_t at)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_add_cert(store, root);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	cbor_item_t **certs = cbor_array_handle(bundle);
	for (size_t i = 1; i < cbor_array_size(bundle); i++) {
		const uint8_t *p = cbor_bytestring_handle(certs[i]);
		sk_X509_push(untrusted, d2i_X509(NULL, &p, (long)cbor_bytestring_length(certs[i])));
	}
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, leaf, untrusted);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	int ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_STORE_free(store);
	return ok == 1;
}

static X509 *leaf_of(struct decoded *d)
{
	cbor_item_t *c = map_get(d->payload, "certificate");
	assert_true(c && cbor_isa_bytestring(c));
	const uint8_t *p = cbor_bytestring_handle(c);
	X509 *x = d2i_X509(NULL, &p, (long)cbor_bytestring_length(c));
	assert_non_null(x);
	return x;
}

static void test_attestation_document(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(send_extend(f, 16, "app", 3), NSM_SUCCESS);
	const uint8_t nonce[] = {1, 2, 3, 4};
	assert_int_equal(send_attestation(f, (const uint8_t *)"hello", 5, nonce, 4, NULL, 0), NSM_SUCCESS);
	uint8_t *doc;
	size_t doc_len;
	struct decoded d;
	decode_document(f->resp, f->resp_len, &doc, &doc_len, &d);

	/* Keys, in AWS's order, and their values. */
	static const char *const order[] = {"module_id", "digest",     "timestamp", "pcrs", "certificate",
					    "cabundle",  "public_key", "user_data", "nonce"};
	assert_true(cbor_isa_map(d.payload));
	assert_int_equal(cbor_map_size(d.payload), 9);
	struct cbor_pair *pairs = cbor_map_handle(d.payload);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(cbor_string_length(pairs[i].key), strlen(order[i]));
		assert_memory_equal(cbor_string_handle(pairs[i].key), order[i], strlen(order[i]));
	}
	cbor_item_t *mid = pairs[0].value;
	assert_int_equal(cbor_string_length(mid), strlen(MODULE_ID));
	assert_memory_equal(cbor_string_handle(mid), MODULE_ID, strlen(MODULE_ID));
	assert_memory_equal(cbor_string_handle(pairs[1].value), "SHA384", 6);
	assert_int_equal(cbor_get_int(pairs[2].value), NOW_MS);

	cbor_item_t *pcrs = pairs[3].value;
	assert_int_equal(cbor_map_size(pcrs), 32);
	struct cbor_pair *pp = cbor_map_handle(pcrs);
	uint8_t pcr16[48] = {0};
	sha384_cat(pcr16, 48, "app", 3, pcr16);
	for (size_t i = 0; i < 32; i++) {
		assert_int_equal(cbor_get_int(pp[i].key), i);
		assert_int_equal(cbor_bytestring_length(pp[i].value), 48);
	}
	assert_memory_equal(cbor_bytestring_handle(pp[0].value), f->pcr0, 48);
	assert_memory_equal(cbor_bytestring_handle(pp[8].value), f->pcr8, 48);
	assert_memory_equal(cbor_bytestring_handle(pp[16].value), pcr16, 48);

	cbor_item_t *bundle = pairs[5].value;
	assert_int_equal(cbor_array_size(bundle), 2);
	cbor_item_t *root_item = cbor_array_handle(bundle)[0];
	assert_int_equal(cbor_bytestring_length(root_item), f->pki.root.der_len);
	assert_memory_equal(cbor_bytestring_handle(root_item), f->pki.root.der, f->pki.root.der_len);

	assert_true(cbor_is_null(pairs[6].value)); /* absent public_key is null */
	assert_memory_equal(cbor_bytestring_handle(pairs[7].value), "hello", 5);
	assert_memory_equal(cbor_bytestring_handle(pairs[8].value), nonce, 4);

	X509 *leaf = leaf_of(&d);
	assert_true(openssl_verify_chain(f->pki.root.cert, bundle, leaf, NOW));
	assert_true(openssl_verify_sig(leaf, d.prot, d.prot_len, d.payload_bytes, d.payload_len, d.sig));

	/* carve's own COSE reader agrees. */
	struct cose_sign1 s;
	struct carve_err err = {0};
	assert_int_equal(cose_sign1_parse(doc, doc_len, &s, E59_EIF_SIGNATURE_CHECKER, &err), 0);
	assert_int_equal(s.alg, COSE_ALG_ES384);
	assert_int_equal(cose_sign1_verify(&s, X509_get0_pubkey(leaf), &err), 1);
	cose_sign1_free(&s);

	X509_free(leaf);
	decoded_free(&d);
	free(doc);
}

/* Tampering with payload, signature or certificate must break verification. */
static void test_attestation_tampering(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(send_attestation(f, NULL, 0, NULL, 0, (const uint8_t *)"pk", 2), NSM_SUCCESS);
	uint8_t *doc;
	size_t doc_len;
	struct decoded d;
	decode_document(f->resp, f->resp_len, &doc, &doc_len, &d);
	X509 *leaf = leaf_of(&d);
	assert_true(openssl_verify_sig(leaf, d.prot, d.prot_len, d.payload_bytes, d.payload_len, d.sig));

	/* A flipped bit in the payload (inside PCR0's bytes). */
	uint8_t *payload = malloc(d.payload_len);
	memcpy(payload, d.payload_bytes, d.payload_len);
	uint8_t *at = memmem(payload, d.payload_len, f->pcr0, 48);
	assert_non_null(at);
	at[7] ^= 1;
	assert_false(openssl_verify_sig(leaf, d.prot, d.prot_len, payload, d.payload_len, d.sig));
	free(payload);

	/* A flipped bit in s. */
	uint8_t sig[96];
	memcpy(sig, d.sig, 96);
	sig[90] ^= 0x80;
	assert_false(openssl_verify_sig(leaf, d.prot, d.prot_len, d.payload_bytes, d.payload_len, sig));

	/* A certificate from another CA: the signature no longer checks under
	 * it, and it does not chain to our root. */
	struct pki other;
	struct pki_cert other_leaf;
	struct carve_err err = {0};
	assert_int_equal(pki_create(&other, NOW - 60, &err), 0);
	assert_int_equal(pki_issue_leaf(&other.intermediate, MODULE_ID, NOW - 60, &other_leaf, &err), 0);
	assert_false(openssl_verify_sig(other_leaf.cert, d.prot, d.prot_len, d.payload_bytes, d.payload_len,
					d.sig));
	cbor_item_t *bundle = map_get(d.payload, "cabundle");
	assert_false(openssl_verify_chain(f->pki.root.cert, bundle, other_leaf.cert, NOW));
	/* And our chain is refused after the leaf's three hours. */
	assert_false(openssl_verify_chain(f->pki.root.cert, bundle, leaf, NOW + 3 * 3600 + 10));
	pki_cert_free(&other_leaf);
	pki_free(&other);

	X509_free(leaf);
	decoded_free(&d);
	free(doc);
}

static void test_debug_mode_zero_pcrs(void **state)
{
	struct fixture *f = *state;
	struct nsm_config cfg;
	make_config(f, &cfg);
	cfg.debug_mode = true;
	struct nsm *dbg;
	struct carve_err err = {0};
	assert_int_equal(nsm_create(&dbg, &cfg, &err), 0);
	struct nsm *saved = f->nsm;
	f->nsm = dbg;
	assert_int_equal(send_extend(f, 16, "x", 1), NSM_SUCCESS);
	/* DescribePCR still shows the measurement... */
	uint8_t v[48];
	bool lock;
	describe(f, 0, &lock, v);
	assert_memory_equal(v, f->pcr0, 48);
	/* ...but the document carries zeros for every PCR. */
	assert_int_equal(send_attestation(f, NULL, 0, NULL, 0, NULL, 0), NSM_SUCCESS);
	uint8_t *doc;
	size_t doc_len;
	struct decoded d;
	decode_document(f->resp, f->resp_len, &doc, &doc_len, &d);
	cbor_item_t *pcrs = map_get(d.payload, "pcrs");
	uint8_t zero[48] = {0};
	assert_int_equal(cbor_map_size(pcrs), 32);
	for (size_t i = 0; i < 32; i++)
		assert_memory_equal(cbor_bytestring_handle(cbor_map_handle(pcrs)[i].value), zero, 48);
	assert_true(cbor_is_null(map_get(d.payload, "nonce")));
	decoded_free(&d);
	free(doc);
	f->nsm = saved;
	nsm_destroy(dbg);
}

/* The leaf is reused within its three hours and replaced after. */
static void test_leaf_renewal(void **state)
{
	struct fixture *f = *state;
	X509 *leaves[3];
	uint64_t times[3] = {NOW_MS, NOW_MS + 3600 * 1000, NOW_MS + (3 * 3600 + 5) * 1000};
	for (int i = 0; i < 3; i++) {
		f->clock = times[i];
		assert_int_equal(send_attestation(f, NULL, 0, NULL, 0, NULL, 0), NSM_SUCCESS);
		uint8_t *doc;
		size_t doc_len;
		struct decoded d;
		decode_document(f->resp, f->resp_len, &doc, &doc_len, &d);
		leaves[i] = leaf_of(&d);
		assert_int_equal(cbor_get_int(map_get(d.payload, "timestamp")), times[i]);
		/* Every document verifies at its own time. */
		assert_true(openssl_verify_chain(f->pki.root.cert, map_get(d.payload, "cabundle"), leaves[i],
						 (time_t)(times[i] / 1000)));
		decoded_free(&d);
		free(doc);
	}
	assert_int_equal(X509_cmp(leaves[0], leaves[1]), 0);
	assert_int_not_equal(X509_cmp(leaves[1], leaves[2]), 0);
	for (int i = 0; i < 3; i++)
		X509_free(leaves[i]);
	f->clock = NOW_MS;
}

static void test_attest_once(void **state)
{
	struct fixture *f = *state;
	struct nsm_config cfg;
	make_config(f, &cfg);
	uint8_t *doc;
	size_t doc_len;
	struct carve_err err = {0};
	assert_int_equal(nsm_attest_once(&cfg, (const uint8_t *)"u", 1, NULL, 0, (const uint8_t *)"k", 1,
					 &doc, &doc_len, &err),
			 0);
	struct cose_sign1 s;
	assert_int_equal(cose_sign1_parse(doc, doc_len, &s, E59_EIF_SIGNATURE_CHECKER, &err), 0);
	assert_non_null(memmem(s.payload, s.payload_len, "\x69user_data\x41u", 12));
	assert_non_null(memmem(s.payload, s.payload_len, "\x6apublic_key\x41k", 13));
	assert_non_null(memmem(s.payload, s.payload_len, "\x65nonce\xf6", 7));
	cose_sign1_free(&s);
	free(doc);
	uint8_t big[1025] = {0};
	assert_int_equal(nsm_attest_once(&cfg, big, sizeof(big), NULL, 0, NULL, 0, &doc, &doc_len, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
}

/* The reusable signer writes what cose_sign1_create writes, bar the
 * signature, and carve's verifier accepts it. */
static void test_cose_signer(void **state)
{
	struct fixture *f = *state;
	struct carve_err err = {0};
	EVP_PKEY *key = f->pki.intermediate.key;
	struct cose_signer *s = cose_signer_new(key, &err);
	assert_non_null(s);
	static const uint8_t payload[300] = {1, 2, 3};
	uint8_t out[512];
	size_t len = 0;
	assert_int_equal(cose_signer_sign(s, payload, sizeof(payload), out, sizeof(out), &len, &err), 0);
	assert_int_equal(len, cose_signer_output_len(s, sizeof(payload)));
	uint8_t *ref;
	size_t ref_len;
	assert_int_equal(cose_sign1_create(key, payload, sizeof(payload), false, &ref, &ref_len, &err), 0);
	assert_int_equal(len, ref_len);
	assert_memory_equal(out, ref, len - 96);
	free(ref);
	struct cose_sign1 p;
	assert_int_equal(cose_sign1_parse(out, len, &p, E59_EIF_SIGNATURE_CHECKER, &err), 0);
	assert_int_equal(cose_sign1_verify(&p, key, &err), 1);
	p.payload[0] ^= 1;
	assert_int_equal(cose_sign1_verify(&p, key, &err), 0);
	cose_sign1_free(&p);
	assert_int_equal(cose_signer_sign(s, payload, sizeof(payload), out, len - 1, &len, &err), -1);
	cose_signer_free(s);
}

/* ---- concurrency ----------------------------------------------------- */

#define THREADS 4
#define EXTENDS 50

static void *extender(void *arg)
{
	struct nsm *n = arg;
	const uint8_t req[] = "\xa1\x69"
			      "ExtendPCR"
			      "\xa2\x65"
			      "index"
			      "\x18\x1e\x64"
			      "data"
			      "\x41"
			      "z";
	uint8_t resp[256];
	size_t len;
	for (int i = 0; i < EXTENDS; i++)
		if (nsm_handle_request(n, req, sizeof(req) - 1, resp, sizeof(resp), &len) != NSM_SUCCESS)
			return (void *)1;
	return NULL;
}

/* Extends with identical data commute, so the result of concurrent extends
 * is known exactly; a lost update would change it. */
static void test_concurrent_extends(void **state)
{
	struct fixture *f = *state;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, extender, f->nsm), 0);
	for (int i = 0; i < THREADS; i++) {
		void *rv;
		pthread_join(t[i], &rv);
		assert_null(rv);
	}
	uint8_t want[48] = {0};
	for (int i = 0; i < THREADS * EXTENDS; i++)
		sha384_cat(want, 48, "z", 1, want);
	uint8_t v[48];
	bool lock;
	describe(f, 30, &lock, v);
	assert_memory_equal(v, want, 48);
}

/* Attestations racing with extends: every document must still be whole
 * and correctly signed (the signer and the bank are shared state). */
struct attester_arg {
	struct nsm *nsm;
	uint8_t *docs[8];
	size_t lens[8];
	int failures;
};

static void *attester_thread(void *p)
{
	struct attester_arg *a = p;
	const uint8_t req[] = "\xa1\x6b"
			      "Attestation"
			      "\xa0";
	uint8_t *resp = malloc(NSM_RESPONSE_MAX);
	for (int i = 0; i < 8; i++) {
		size_t len = 0;
		if (nsm_handle_request(a->nsm, req, sizeof(req) - 1, resp, NSM_RESPONSE_MAX, &len) !=
		    NSM_SUCCESS) {
			a->failures++;
			continue;
		}
		a->docs[i] = malloc(len);
		memcpy(a->docs[i], resp, len);
		a->lens[i] = len;
	}
	free(resp);
	return NULL;
}

static void test_concurrent_attestations(void **state)
{
	struct fixture *f = *state;
	struct attester_arg args[3];
	pthread_t t[3], ext;
	memset(args, 0, sizeof(args));
	assert_int_equal(pthread_create(&ext, NULL, extender, f->nsm), 0);
	for (int i = 0; i < 3; i++) {
		args[i].nsm = f->nsm;
		assert_int_equal(pthread_create(&t[i], NULL, attester_thread, &args[i]), 0);
	}
	void *rv;
	pthread_join(ext, &rv);
	assert_null(rv);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].failures, 0);
		for (int j = 0; j < 8; j++) {
			uint8_t *doc;
			size_t doc_len;
			struct decoded d;
			decode_document(args[i].docs[j], args[i].lens[j], &doc, &doc_len, &d);
			X509 *leaf = leaf_of(&d);
			assert_true(openssl_verify_sig(leaf, d.prot, d.prot_len, d.payload_bytes,
						       d.payload_len, d.sig));
			X509_free(leaf);
			decoded_free(&d);
			free(doc);
			free(args[i].docs[j]);
		}
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_describe_nsm),
		T(test_describe_pcr_initial_bank),
		T(test_describe_pcr_bad_index),
		T(test_extend_pcr),
		T(test_extend_pcr_errors),
		T(test_lock_pcr),
		T(test_lock_pcrs),
		T(test_get_random),
		T(test_malformed_requests),
		T(test_request_size_limit),
		T(test_response_buffer),
		T(test_attestation_limits),
		T(test_attestation_without_ca),
		T(test_module_id_checked),
		T(test_host_pcr),
		T(test_error_names),
		T(test_attestation_document),
		T(test_attestation_tampering),
		T(test_debug_mode_zero_pcrs),
		T(test_leaf_renewal),
		T(test_attest_once),
		T(test_cose_signer),
		T(test_concurrent_extends),
		T(test_concurrent_attestations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
