/* carve's attestation verifier (nsm_verify_document): a good document
 * passes, and every kind of damage fails with the right code: E17 for
 * shape, E59 for signature, chain, time and expected values. Bad documents
 * are made by editing a good one with libcbor and re-signing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cbor.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "carve/cose.h"
#include "carve/nsm.h"

#define NOW ((time_t)1790000000)

struct fixture {
	struct pki pki;
	uint64_t clock;
	uint8_t pcr0[PCR_LEN];
	uint8_t *doc;
	size_t doc_len;
};

static uint64_t fixed_clock(void *ctx) { return *(uint64_t *)ctx; }

static int make_doc(struct fixture *f, bool debug, const uint8_t *nonce, size_t nonce_len, uint8_t **doc,
		    size_t *doc_len)
{
	struct nsm_config cfg = {
		.module_id = "i-verify-enc1",
		.pcr0 = f->pcr0,
		.debug_mode = debug,
		.pki = &f->pki,
		.clock_ms = fixed_clock,
		.clock_ctx = &f->clock,
	};
	struct carve_err err = {0};
	return nsm_attest_once(&cfg, (const uint8_t *)"ud", 2, nonce, nonce_len, NULL, 0, doc, doc_len, &err);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct carve_err err = {0};
	if (!f || pki_create(&f->pki, NOW - 60, &err) < 0)
		return -1;
	f->clock = (uint64_t)NOW * 1000;
	memset(f->pcr0, 0xab, sizeof(f->pcr0));
	if (make_doc(f, false, (const uint8_t *)"\x01\x02\x03", 3, &f->doc, &f->doc_len) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->doc);
	pki_free(&f->pki);
	free(f);
	return 0;
}

static int verify(struct fixture *f, const uint8_t *doc, size_t len, struct nsm_verify_opts *o,
		  struct carve_err *err)
{
	if (!o->root)
		o->root = f->pki.root.cert;
	if (!o->now)
		o->now = NOW + 10;
	struct nsm_verified v;
	memset(err, 0, sizeof(*err));
	int rc = nsm_verify_document(doc, len, o, &v, err);
	if (rc == 0)
		nsm_verified_free(&v);
	return rc;
}

static void expect_fail(struct fixture *f, const uint8_t *doc, size_t len, struct nsm_verify_opts *o,
			int code, const char *needle)
{
	struct carve_err err;
	assert_int_equal(verify(f, doc, len, o, &err), -1);
	if (err.code != code || !strstr(err.msg, needle))
		fail_msg("expected E%02d with '%s', got E%02d: %s", code, needle, err.code, err.msg);
}

/* ---- editing documents ---- */

static cbor_item_t *payload_of(const uint8_t *doc, size_t len)
{
	struct cbor_load_result r;
	cbor_item_t *cose = cbor_load(doc, len, &r);
	assert_non_null(cose);
	cbor_item_t *p = cbor_array_handle(cose)[2];
	cbor_item_t *payload = cbor_load(cbor_bytestring_handle(p), cbor_bytestring_length(p), &r);
	cbor_decref(&cose);
	assert_non_null(payload);
	return payload;
}

/* Serialises payload and signs it with key as a new COSE_Sign1. */
static uint8_t *rewrap(cbor_item_t *payload, EVP_PKEY *key, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0;
	size_t n = cbor_serialize_alloc(payload, &buf, &cap);
	assert_true(n > 0);
	uint8_t *out;
	struct carve_err err = {0};
	assert_int_equal(cose_sign1_create(key, buf, n, false, &out, len, &err), 0);
	free(buf);
	return out;
}

static struct cbor_pair *field(cbor_item_t *payload, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(payload);
	for (size_t i = 0; i < cbor_map_size(payload); i++)
		if (cbor_string_length(p[i].key) == strlen(key) &&
		    !memcmp(cbor_string_handle(p[i].key), key, strlen(key)))
			return &p[i];
	fail_msg("no field %s", key);
	return NULL;
}

static void replace_value(cbor_item_t *payload, const char *key, cbor_item_t *value)
{
	struct cbor_pair *p = field(payload, key);
	cbor_decref(&p->value);
	p->value = value;
}

/* ---- tests ---- */

static void test_good_document(void **state)
{
	struct fixture *f = *state;
	struct nsm_expected_pcr want = {.index = 0};
	memcpy(want.value, f->pcr0, PCR_LEN);
	struct nsm_verify_opts o = {
		.pcrs = &want, .npcrs = 1, .nonce = (const uint8_t *)"\x01\x02\x03", .nonce_len = 3};
	struct nsm_verified v;
	struct carve_err err = {0};
	o.root = f->pki.root.cert;
	o.now = NOW + 10;
	assert_int_equal(nsm_verify_document(f->doc, f->doc_len, &o, &v, &err), 0);
	assert_string_equal(v.doc.module_id, "i-verify-enc1");
	assert_string_equal(v.doc.digest, "SHA384");
	assert_int_equal(v.doc.timestamp, (uint64_t)NOW * 1000);
	assert_int_equal(v.doc.npcrs, 32);
	assert_int_equal(v.doc.ncabundle, 2);
	assert_true(v.doc.user_data.present);
	assert_memory_equal(v.doc.user_data.data, "ud", 2);
	assert_false(v.doc.public_key.present);
	assert_false(v.debug_mode);
	nsm_verified_free(&v);

	/* A tagged COSE_Sign1 (tag 18) is accepted too. */
	uint8_t *tagged = malloc(f->doc_len + 1);
	tagged[0] = 0xd2;
	memcpy(tagged + 1, f->doc, f->doc_len);
	struct nsm_verify_opts o2 = {0};
	assert_int_equal(verify(f, tagged, f->doc_len + 1, &o2, &err), 0);
	free(tagged);
}

static void test_expected_values(void **state)
{
	struct fixture *f = *state;
	struct nsm_expected_pcr want = {.index = 0};
	memset(want.value, 0xac, PCR_LEN);
	struct nsm_verify_opts o = {.pcrs = &want, .npcrs = 1};
	expect_fail(f, f->doc, f->doc_len, &o, E59_EIF_SIGNATURE_CHECKER, "PCR0 is abab");
	struct nsm_verify_opts o2 = {.nonce = (const uint8_t *)"\x09", .nonce_len = 1};
	expect_fail(f, f->doc, f->doc_len, &o2, E59_EIF_SIGNATURE_CHECKER, "nonce differs");

	uint8_t *doc;
	size_t len;
	assert_int_equal(make_doc(f, false, NULL, 0, &doc, &len), 0);
	struct nsm_verify_opts o3 = {.nonce = (const uint8_t *)"\x09", .nonce_len = 1};
	expect_fail(f, doc, len, &o3, E59_EIF_SIGNATURE_CHECKER, "no nonce");
	free(doc);
}

static void test_trust_failures(void **state)
{
	struct fixture *f = *state;
	struct pki other;
	struct carve_err err = {0};
	assert_int_equal(pki_create(&other, NOW - 60, &err), 0);
	struct nsm_verify_opts o = {.root = other.root.cert};
	expect_fail(f, f->doc, f->doc_len, &o, E59_EIF_SIGNATURE_CHECKER, "not the trusted root");

	struct nsm_verify_opts late = {.now = NOW + 3 * 3600 + 10};
	expect_fail(f, f->doc, f->doc_len, &late, E59_EIF_SIGNATURE_CHECKER, "expired");
	struct nsm_verify_opts early = {.now = NOW - 3600};
	expect_fail(f, f->doc, f->doc_len, &early, E59_EIF_SIGNATURE_CHECKER, "not valid yet");

	/* A flipped bit inside PCR0 in the payload. */
	uint8_t *bad = malloc(f->doc_len);
	memcpy(bad, f->doc, f->doc_len);
	uint8_t *at = memmem(bad, f->doc_len, f->pcr0, PCR_LEN);
	assert_non_null(at);
	at[3] ^= 0x10;
	struct nsm_verify_opts o2 = {0};
	expect_fail(f, bad, f->doc_len, &o2, E59_EIF_SIGNATURE_CHECKER, "altered");
	/* A flipped bit in the signature. */
	memcpy(bad, f->doc, f->doc_len);
	bad[f->doc_len - 5] ^= 1;
	expect_fail(f, bad, f->doc_len, &o2, E59_EIF_SIGNATURE_CHECKER, "altered");
	free(bad);

	/* Another CA's leaf, re-signed with its own key so the signature checks
	 * out: the chain must be what refuses it. */
	struct pki_cert leaf;
	assert_int_equal(pki_issue_leaf(&other.intermediate, "i-x", NOW - 60, &leaf, &err), 0);
	cbor_item_t *payload = payload_of(f->doc, f->doc_len);
	replace_value(payload, "certificate", cbor_build_bytestring(leaf.der, leaf.der_len));
	size_t len;
	uint8_t *doc = rewrap(payload, leaf.key, &len);
	expect_fail(f, doc, len, &o2, E59_EIF_SIGNATURE_CHECKER, "does not chain");
	free(doc);
	/* And with its whole bundle too: then the root differs. */
	cbor_item_t *bundle = cbor_new_definite_array(2);
	cbor_array_push(bundle, cbor_move(cbor_build_bytestring(other.root.der, other.root.der_len)));
	cbor_array_push(bundle,
			cbor_move(cbor_build_bytestring(other.intermediate.der, other.intermediate.der_len)));
	replace_value(payload, "cabundle", bundle);
	doc = rewrap(payload, leaf.key, &len);
	expect_fail(f, doc, len, &o2, E59_EIF_SIGNATURE_CHECKER, "not the trusted root");
	free(doc);
	/* The intermediate's key signing directly, its certificate as the leaf:
	 * a CA certificate is not an enclave's. */
	replace_value(payload, "certificate",
		      cbor_build_bytestring(other.intermediate.der, other.intermediate.der_len));
	doc = rewrap(payload, other.intermediate.key, &len);
	struct nsm_verify_opts o3 = {.root = other.root.cert};
	expect_fail(f, doc, len, &o3, E59_EIF_SIGNATURE_CHECKER, "CA certificate");
	free(doc);
	cbor_decref(&payload);
	pki_cert_free(&leaf);
	pki_free(&other);
}

static void test_shape_failures(void **state)
{
	struct fixture *f = *state;
	struct nsm_verify_opts o = {0};
	expect_fail(f, f->doc, f->doc_len - 1, &o, E17_SERDE, "not well-formed");
	expect_fail(f, (const uint8_t *)"\x83\x40\xa0\x40", 4, &o, E17_SERDE, "array of 4");

	/* ES256 instead of ES384. */
	EVP_PKEY *p256 = EVP_EC_gen("P-256");
	cbor_item_t *payload = payload_of(f->doc, f->doc_len);
	size_t len;
	uint8_t *doc = rewrap(payload, p256, &len);
	expect_fail(f, doc, len, &o, E17_SERDE, "{1: -35}");
	free(doc);
	EVP_PKEY_free(p256);
	EVP_PKEY *key = f->pki.intermediate.key;

	replace_value(payload, "digest", cbor_build_string("SHA256"));
	doc = rewrap(payload, key, &len);
	expect_fail(f, doc, len, &o, E17_SERDE, "'digest'");
	free(doc);
	replace_value(payload, "digest", cbor_build_string("SHA384"));

	struct cbor_pair *pcrs = field(payload, "pcrs");
	cbor_item_t *short_pcr =
		cbor_build_bytestring((const uint8_t *)"0123456789abcdef0123456789abcdef", 32);
	cbor_item_t *saved = cbor_map_handle(pcrs->value)[5].value;
	cbor_map_handle(pcrs->value)[5].value = short_pcr;
	doc = rewrap(payload, key, &len);
	expect_fail(f, doc, len, &o, E17_SERDE, "PCR5");
	free(doc);
	cbor_map_handle(pcrs->value)[5].value = saved;
	cbor_decref(&short_pcr);

	replace_value(payload, "timestamp", cbor_build_uint8(0));
	doc = rewrap(payload, key, &len);
	expect_fail(f, doc, len, &o, E17_SERDE, "'timestamp'");
	free(doc);
	replace_value(payload, "timestamp", cbor_build_uint64((uint64_t)NOW * 1000));

	replace_value(payload, "cabundle", cbor_new_definite_array(0));
	doc = rewrap(payload, key, &len);
	expect_fail(f, doc, len, &o, E17_SERDE, "'cabundle'");
	free(doc);

	/* Renaming a key: one unknown field and one missing. */
	struct cbor_pair *mid = field(payload, "module_id");
	cbor_decref(&mid->key);
	mid->key = cbor_build_string("module");
	doc = rewrap(payload, key, &len);
	expect_fail(f, doc, len, &o, E17_SERDE, "unknown field");
	free(doc);
	cbor_decref(&payload);
}

static void test_debug_mode_flag(void **state)
{
	struct fixture *f = *state;
	uint8_t *doc;
	size_t len;
	assert_int_equal(make_doc(f, true, NULL, 0, &doc, &len), 0);
	struct nsm_verify_opts o = {.root = f->pki.root.cert, .now = NOW + 10};
	struct nsm_verified v;
	struct carve_err err = {0};
	assert_int_equal(nsm_verify_document(doc, len, &o, &v, &err), 0);
	assert_true(v.debug_mode);
	nsm_verified_free(&v);
	/* Expecting the image's PCR0 from a debug-mode document fails. */
	struct nsm_expected_pcr want = {.index = 0};
	memcpy(want.value, f->pcr0, PCR_LEN);
	struct nsm_verify_opts o2 = {.pcrs = &want, .npcrs = 1};
	expect_fail(f, doc, len, &o2, E59_EIF_SIGNATURE_CHECKER, "PCR0 is 0000");
	free(doc);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good_document),  T(test_expected_values), T(test_trust_failures),
		T(test_shape_failures), T(test_debug_mode_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
