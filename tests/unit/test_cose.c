/* CBOR writer and reader guards, COSE_Sign1 round trips and tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "carve/cbor.h"
#include "carve/cose.h"

static void test_writer_uses_shortest_heads(void **state)
{
	(void)state;
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_uint(&w, 0);
	cw_uint(&w, 23);
	cw_uint(&w, 24);
	cw_uint(&w, 256);
	cw_int(&w, -35);
	cw_text(&w, "a");
	cw_bytes(&w, "xy", 2);
	size_t len;
	uint8_t *out = cw_take(&w, &len);
	const uint8_t want[] = {0x00, 0x17, 0x18, 0x18, 0x19, 0x01, 0x00,
				0x38, 0x22, 0x61, 'a',  0x42, 'x',  'y'};
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	free(out);
}

static void test_writer_limit(void **state)
{
	(void)state;
	struct cbor_writer w;
	cw_init(&w, 4);
	cw_bytes(&w, "abcdef", 6);
	size_t len;
	assert_null(cw_take(&w, &len));
}

static void test_prescan_rejects_huge_counts(void **state)
{
	(void)state;
	/* An array claiming 2^32 items in 9 bytes, a byte string longer than
	 * its input, indefinite lengths, nesting too deep, trailing bytes. */
	const uint8_t huge_array[] = {0x9b, 0, 0, 0, 1, 0, 0, 0, 0};
	const uint8_t long_bytes[] = {0x5a, 0, 0, 1, 0, 'x'};
	const uint8_t indefinite[] = {0x9f, 0x01, 0xff};
	uint8_t deep[40];
	memset(deep, 0x81, sizeof(deep));
	deep[39] = 0x00;
	const uint8_t trailing[] = {0x01, 0x02};
	assert_false(cb_well_formed(huge_array, sizeof(huge_array)));
	assert_false(cb_well_formed(long_bytes, sizeof(long_bytes)));
	assert_false(cb_well_formed(indefinite, sizeof(indefinite)));
	assert_false(cb_well_formed(deep, sizeof(deep)));
	assert_false(cb_well_formed(trailing, sizeof(trailing)));
	assert_null(cb_decode_exact(huge_array, sizeof(huge_array)));
	const uint8_t fine[] = {0xa1, 0x61, 'k', 0x82, 0x01, 0x20};
	assert_true(cb_well_formed(fine, sizeof(fine)));
	cbor_item_t *item = cb_decode_exact(fine, sizeof(fine));
	assert_non_null(item);
	bool dup;
	cbor_item_t *v = cb_map_get(item, "k", &dup);
	assert_non_null(v);
	int64_t x;
	assert_true(cb_int(cbor_array_handle(v)[1], &x));
	assert_int_equal(x, -1);
	cbor_decref(&item);
}

static void test_duplicate_keys_are_ambiguous(void **state)
{
	(void)state;
	const uint8_t twice[] = {0xa2, 0x61, 'k', 0x01, 0x61, 'k', 0x02};
	cbor_item_t *item = cb_decode_exact(twice, sizeof(twice));
	bool dup;
	assert_null(cb_map_get(item, "k", &dup));
	assert_true(dup);
	cbor_decref(&item);
}

static void test_null_check_is_safe_on_floats(void **state)
{
	(void)state;
	/* libcbor's own cbor_is_null aborts on a float; cb_is_null must not. */
	const uint8_t half = 0xf9,
		      items[][9] = {
			      {0xf9, 0x3c, 0x00},
			      {0xfa, 0x3f, 0x80, 0, 0},
			      {0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0},
			      {0xf6},
			      {0xf5},
		      };
	const size_t lens[] = {3, 5, 9, 1, 1};
	(void)half;
	for (size_t i = 0; i < 5; i++) {
		cbor_item_t *it = cb_decode_exact(items[i], lens[i]);
		assert_non_null(it);
		assert_int_equal(cb_is_null(it), i == 3);
		cbor_decref(&it);
	}
}

static void roundtrip(const char *curve, int alg, size_t sig_len)
{
	EVP_PKEY *key = EVP_EC_gen(curve);
	assert_non_null(key);
	assert_int_equal(key_cose_alg(key), alg);
	const uint8_t payload[] = "attested bytes";
	uint8_t *doc;
	size_t len;
	struct carve_err err = {0};
	assert_int_equal(cose_sign1_create(key, payload, sizeof(payload), false, &doc, &len, &err), 0);
	assert_int_equal(doc[0], 0x84); /* untagged array of 4 */
	struct cose_sign1 s;
	assert_int_equal(cose_sign1_parse(doc, len, &s, E59_EIF_SIGNATURE_CHECKER, &err), 0);
	assert_int_equal(s.alg, alg);
	assert_int_equal(s.sig_len, sig_len);
	assert_int_equal(cose_sign1_verify(&s, key, &err), 1);
	/* Tamper with payload and signature. */
	s.payload[0] ^= 1;
	assert_int_equal(cose_sign1_verify(&s, key, &err), 0);
	s.payload[0] ^= 1;
	s.sig[5] ^= 0x80;
	assert_int_equal(cose_sign1_verify(&s, key, &err), 0);
	cose_sign1_free(&s);
	/* A different key does not verify. */
	EVP_PKEY *other = EVP_EC_gen(curve);
	assert_int_equal(cose_sign1_parse(doc, len, &s, E59_EIF_SIGNATURE_CHECKER, &err), 0);
	assert_int_equal(cose_sign1_verify(&s, other, &err), 0);
	cose_sign1_free(&s);
	free(doc);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
}

static void test_cose_p384(void **state)
{
	(void)state;
	roundtrip("P-384", COSE_ALG_ES384, 96);
}
static void test_cose_p256(void **state)
{
	(void)state;
	roundtrip("P-256", COSE_ALG_ES256, 64);
}
static void test_cose_p521(void **state)
{
	(void)state;
	roundtrip("P-521", COSE_ALG_ES512, 132);
}

static void test_cose_tagged_and_malformed(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_EC_gen("P-384");
	uint8_t *doc;
	size_t len;
	struct carve_err err = {0};
	assert_int_equal(cose_sign1_create(key, (const uint8_t *)"x", 1, true, &doc, &len, &err), 0);
	assert_int_equal(doc[0], 0xd2); /* tag 18 */
	struct cose_sign1 s;
	if (cose_sign1_parse(doc, len, &s, E59_EIF_SIGNATURE_CHECKER, &err) != 0)
		fail_msg("tagged COSE_Sign1 refused: %s", err.msg);
	assert_int_equal(cose_sign1_verify(&s, key, &err), 1);
	cose_sign1_free(&s);
	for (size_t cut = 0; cut < len; cut++) {
		carve_err_clear(&err);
		assert_int_equal(cose_sign1_parse(doc, cut, &s, E59_EIF_SIGNATURE_CHECKER, &err), -1);
	}
	free(doc);
	const uint8_t three[] = {0x83, 0x40, 0xa0, 0x40};
	carve_err_clear(&err);
	assert_int_equal(cose_sign1_parse(three, sizeof(three), &s, E59_EIF_SIGNATURE_CHECKER, &err), -1);
	assert_non_null(strstr(err.msg, "array of 4"));
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_uses_shortest_heads),
		cmocka_unit_test(test_writer_limit),
		cmocka_unit_test(test_prescan_rejects_huge_counts),
		cmocka_unit_test(test_duplicate_keys_are_ambiguous),
		cmocka_unit_test(test_null_check_is_safe_on_floats),
		cmocka_unit_test(test_cose_p384),
		cmocka_unit_test(test_cose_p256),
		cmocka_unit_test(test_cose_p521),
		cmocka_unit_test(test_cose_tagged_and_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
