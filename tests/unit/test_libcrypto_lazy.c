/* OpenSSL's libcrypto loaded on first use (src/crypto/libcrypto_lazy.c):
 * nothing of it is mapped until carve calls into it, the destructors take
 * NULL without loading it, and once loaded the forwarded functions are
 * libcrypto's own: SHA-384 known answers (FIPS 180-4 examples), an EC key
 * through the variadic EVP_PKEY_Q_keygen, a signature that verifies. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "carve/crypto.h"

/* Whether this process maps libcrypto now. */
static bool libcrypto_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	assert_non_null(f);
	char line[512];
	bool found = false;
	while (fgets(line, sizeof(line), f))
		found = found || strstr(line, "/libcrypto.so") != NULL;
	fclose(f);
	return found;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void loaded_on_first_use(void **state)
{
	(void)state;
	assert_false(libcrypto_mapped()); /* not linked: the test binary starts without it */
	X509_free(NULL);
	EVP_PKEY_free(NULL);
	EVP_MD_CTX_free(NULL);
	struct sha384 none = {0};
	sha384_free(&none);
	assert_false(libcrypto_mapped()); /* freeing nothing loads nothing */

	/* FIPS 180-4 / NIST CSVS example: SHA-384("abc"). */
	uint8_t d[SHA384_LEN];
	char h[2 * SHA384_LEN + 1];
	sha384_oneshot("abc", 3, d);
	assert_true(libcrypto_mapped());
	hex(d, sizeof(d), h);
	assert_string_equal(h,
			    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
			    "8086072ba1e7cc2358baeca134c825a7");
	/* The two-block example, through the streaming calls. */
	const char *two = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
			  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	struct sha384 s;
	assert_int_equal(sha384_init(&s), 0);
	sha384_update(&s, two, 10);
	sha384_update(&s, two + 10, strlen(two) - 10);
	sha384_final(&s, d);
	sha384_free(&s);
	hex(d, sizeof(d), h);
	assert_string_equal(h,
			    "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712"
			    "fcc7c71a557e2db966c3e9fa91746039");
}

static void keys_and_signatures(void **state)
{
	(void)state;
	struct carve_err err = {0};
	EVP_PKEY *key = key_generate_p384(&err); /* EVP_EC_gen: the variadic keygen */
	assert_non_null(key);
	assert_int_equal(key_cose_alg(key), COSE_ALG_ES384);
	uint8_t sig[96];
	size_t sig_len = sizeof(sig);
	assert_int_equal(ecdsa_sign_raw(key, COSE_ALG_ES384, "msg", 3, sig, &sig_len, &err), 0);
	assert_int_equal(sig_len, 96);
	assert_int_equal(ecdsa_verify_raw(key, COSE_ALG_ES384, "msg", 3, sig, sig_len, &err), 1);
	assert_int_equal(ecdsa_verify_raw(key, COSE_ALG_ES384, "msh", 3, sig, sig_len, &err), 0);
	EVP_PKEY_free(key);
	/* Any other key type than EC is not one carve makes: refused, as
	 * OpenSSL refuses a type it does not know. */
	assert_null(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loaded_on_first_use),
		cmocka_unit_test(keys_and_signatures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
