/* OpenSSL's libcrypto, loaded the first time carve calls it instead of at
 * every start (issue 17: the VMM's own memory).
 *
 * Linked the ordinary way, libcrypto.so.3 is mapped and relocated in every
 * carve process before main: 1.5 MiB of the 4.0 MB RSS beyond guest memory
 * of a `carve vmm` that never hashes or signs anything (hardware-KVM bed,
 * the test guest), 404 KiB of it anonymous memory of each process's own
 * (the library's relocated data). So carve is not linked against it: as
 * src/common/libarchive_lazy.c does for libarchive, this file defines the
 * OpenSSL functions carve calls, with OpenSSL's own
 * prototypes (the headers are included, so a signature that differs does
 * not compile), and each forwards to libcrypto's, found with dlopen/dlsym
 * the first time any of them is called. Callers are unchanged; a function
 * carve starts to call that is not listed here does not link.
 *
 * The destructors take NULL without loading anything (a cleanup of objects
 * never made), as OpenSSL's own do nothing for NULL. crypto_preload()
 * loads it ahead of use, for a process about to confine itself (seccomp)
 * where a later dlopen could not open the file.
 *
 * A libcrypto that cannot be loaded ends the process with status 127 and
 * the loader's message, as the dynamic loader did at start when carve was
 * linked against it: every caller needs it and none has a way to go on. */
#include <dlfcn.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "carve/crypto.h"

#define LIBCRYPTO_SONAME "libcrypto.so.3"

/* X(return type, name, parameters, arguments), for every OpenSSL function
 * carve (library, CLI and tests) calls that returns a value. OpenSSL's
 * macros resolve to these (OPENSSL_free to CRYPTO_free, sk_X509_* to
 * OPENSSL_sk_*, BIO_get_mem_data to BIO_ctrl). */
#define CRYPTO_FUNCTIONS(X)                                                                                  \
	X(const unsigned char *, ASN1_STRING_get0_data, (const ASN1_STRING *a0), (a0))                       \
	X(int, ASN1_STRING_length, (const ASN1_STRING *a0), (a0))                                            \
	X(int, ASN1_STRING_to_UTF8, (unsigned char **a0, const ASN1_STRING *a1), (a0, a1))                   \
	X(int, ASN1_TIME_print, (BIO * a0, const ASN1_TIME *a1), (a0, a1))                                   \
	X(ASN1_TIME *, ASN1_TIME_set, (ASN1_TIME * a0, time_t a1), (a0, a1))                                 \
	X(int, ASN1_TIME_to_tm, (const ASN1_TIME *a0, struct tm *a1), (a0, a1))                              \
	X(long int, BIO_ctrl, (BIO * a0, int a1, long int a2, void *a3), (a0, a1, a2, a3))                   \
	X(int, BIO_free, (BIO * a0), (a0))                                                                   \
	X(BIO *, BIO_new, (const BIO_METHOD *a0), (a0))                                                      \
	X(BIO *, BIO_new_mem_buf, (const void *a0, int a1), (a0, a1))                                        \
	X(int, BIO_read, (BIO * a0, void *a1, int a2), (a0, a1, a2))                                         \
	X(const BIO_METHOD *, BIO_s_mem, (void), ())                                                         \
	X(BIGNUM *, BN_bin2bn, (const unsigned char *a0, int a1, BIGNUM *a2), (a0, a1, a2))                  \
	X(int, BN_bn2binpad, (const BIGNUM *a0, unsigned char *a1, int a2), (a0, a1, a2))                    \
	X(BIGNUM *, BN_new, (void), ())                                                                      \
	X(int, BN_rand, (BIGNUM * a0, int a1, int a2, int a3), (a0, a1, a2, a3))                             \
	X(ASN1_INTEGER *, BN_to_ASN1_INTEGER, (const BIGNUM *a0, ASN1_INTEGER *a1), (a0, a1))                \
	X(ECDSA_SIG *, ECDSA_SIG_new, (void), ())                                                            \
	X(int, ECDSA_SIG_set0, (ECDSA_SIG * a0, BIGNUM * a1, BIGNUM * a2), (a0, a1, a2))                     \
	X(int, EVP_Digest,                                                                                   \
	  (const void *a0, size_t a1, unsigned char *a2, unsigned int *a3, const EVP_MD *a4, ENGINE *a5),    \
	  (a0, a1, a2, a3, a4, a5))                                                                          \
	X(int, EVP_DigestFinal_ex, (EVP_MD_CTX * a0, unsigned char *a1, unsigned int *a2), (a0, a1, a2))     \
	X(int, EVP_DigestInit_ex, (EVP_MD_CTX * a0, const EVP_MD *a1, ENGINE *a2), (a0, a1, a2))             \
	X(int, EVP_DigestSign,                                                                               \
	  (EVP_MD_CTX * a0, unsigned char *a1, size_t *a2, const unsigned char *a3, size_t a4),              \
	  (a0, a1, a2, a3, a4))                                                                              \
	X(int, EVP_DigestSignInit,                                                                           \
	  (EVP_MD_CTX * a0, EVP_PKEY_CTX * *a1, const EVP_MD *a2, ENGINE *a3, EVP_PKEY *a4),                 \
	  (a0, a1, a2, a3, a4))                                                                              \
	X(int, EVP_DigestUpdate, (EVP_MD_CTX * a0, const void *a1, size_t a2), (a0, a1, a2))                 \
	X(int, EVP_DigestVerify,                                                                             \
	  (EVP_MD_CTX * a0, const unsigned char *a1, size_t a2, const unsigned char *a3, size_t a4),         \
	  (a0, a1, a2, a3, a4))                                                                              \
	X(int, EVP_DigestVerifyInit,                                                                         \
	  (EVP_MD_CTX * a0, EVP_PKEY_CTX * *a1, const EVP_MD *a2, ENGINE *a3, EVP_PKEY *a4),                 \
	  (a0, a1, a2, a3, a4))                                                                              \
	X(int, EVP_MD_CTX_copy_ex, (EVP_MD_CTX * a0, const EVP_MD_CTX *a1), (a0, a1))                        \
	X(EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())                                                          \
	X(EVP_MD *, EVP_MD_fetch, (OSSL_LIB_CTX * a0, const char *a1, const char *a2), (a0, a1, a2))         \
	X(EVP_PKEY_CTX *, EVP_PKEY_CTX_new_from_pkey, (OSSL_LIB_CTX * a0, EVP_PKEY * a1, const char *a2),    \
	  (a0, a1, a2))                                                                                      \
	X(int, EVP_PKEY_eq, (const EVP_PKEY *a0, const EVP_PKEY *a1), (a0, a1))                              \
	X(int, EVP_PKEY_get_base_id, (const EVP_PKEY *a0), (a0))                                             \
	X(int, EVP_PKEY_get_utf8_string_param,                                                               \
	  (const EVP_PKEY *a0, const char *a1, char *a2, size_t a3, size_t *a4), (a0, a1, a2, a3, a4))       \
	X(int, EVP_PKEY_sign,                                                                                \
	  (EVP_PKEY_CTX * a0, unsigned char *a1, size_t *a2, const unsigned char *a3, size_t a4),            \
	  (a0, a1, a2, a3, a4))                                                                              \
	X(int, EVP_PKEY_sign_init, (EVP_PKEY_CTX * a0), (a0))                                                \
	X(int, EVP_PKEY_up_ref, (EVP_PKEY * a0), (a0))                                                       \
	X(const EVP_MD *, EVP_sha256, (void), ())                                                            \
	X(const EVP_MD *, EVP_sha384, (void), ())                                                            \
	X(const EVP_MD *, EVP_sha512, (void), ())                                                            \
	X(int, OBJ_obj2txt, (char *a0, int a1, const ASN1_OBJECT *a2, int a3), (a0, a1, a2, a3))             \
	X(OPENSSL_STACK *, OPENSSL_sk_new_null, (void), ())                                                  \
	X(int, OPENSSL_sk_push, (OPENSSL_STACK * a0, const void *a1), (a0, a1))                              \
	X(EVP_PKEY *, PEM_read_PrivateKey, (FILE * a0, EVP_PKEY * *a1, pem_password_cb * a2, void *a3),      \
	  (a0, a1, a2, a3))                                                                                  \
	X(EVP_PKEY *, PEM_read_bio_PrivateKey, (BIO * a0, EVP_PKEY * *a1, pem_password_cb * a2, void *a3),   \
	  (a0, a1, a2, a3))                                                                                  \
	X(X509 *, PEM_read_bio_X509, (BIO * a0, X509 * *a1, pem_password_cb * a2, void *a3),                 \
	  (a0, a1, a2, a3))                                                                                  \
	X(int, PEM_write_bio_PrivateKey,                                                                     \
	  (BIO * a0, const EVP_PKEY *a1, const EVP_CIPHER *a2, const unsigned char *a3, int a4,              \
	   pem_password_cb *a5, void *a6),                                                                   \
	  (a0, a1, a2, a3, a4, a5, a6))                                                                      \
	X(int, PEM_write_bio_X509, (BIO * a0, const X509 *a1), (a0, a1))                                     \
	X(X509_EXTENSION *, X509V3_EXT_conf_nid,                                                             \
	  (struct lhash_st_CONF_VALUE * a0, X509V3_CTX * a1, int a2, const char *a3), (a0, a1, a2, a3))      \
	X(ASN1_STRING *, X509_NAME_ENTRY_get_data, (const X509_NAME_ENTRY *a0), (a0))                        \
	X(ASN1_OBJECT *, X509_NAME_ENTRY_get_object, (const X509_NAME_ENTRY *a0), (a0))                      \
	X(int, X509_NAME_add_entry_by_txt,                                                                   \
	  (X509_NAME * a0, const char *a1, int a2, const unsigned char *a3, int a4, int a5, int a6),         \
	  (a0, a1, a2, a3, a4, a5, a6))                                                                      \
	X(int, X509_NAME_entry_count, (const X509_NAME *a0), (a0))                                           \
	X(X509_NAME_ENTRY *, X509_NAME_get_entry, (const X509_NAME *a0, int a1), (a0, a1))                   \
	X(int, X509_NAME_get_text_by_NID, (const X509_NAME *a0, int a1, char *a2, int a3), (a0, a1, a2, a3)) \
	X(X509_NAME *, X509_NAME_new, (void), ())                                                            \
	X(char *, X509_NAME_oneline, (const X509_NAME *a0, char *a1, int a2), (a0, a1, a2))                  \
	X(int, X509_NAME_print_ex, (BIO * a0, const X509_NAME *a1, int a2, long unsigned int a3),            \
	  (a0, a1, a2, a3))                                                                                  \
	X(X509_VERIFY_PARAM *, X509_STORE_CTX_get0_param, (const X509_STORE_CTX *a0), (a0))                  \
	X(int, X509_STORE_CTX_get_error, (const X509_STORE_CTX *a0), (a0))                                   \
	X(int, X509_STORE_CTX_get_error_depth, (const X509_STORE_CTX *a0), (a0))                             \
	X(int, X509_STORE_CTX_init,                                                                          \
	  (X509_STORE_CTX * a0, X509_STORE * a1, X509 * a2, struct stack_st_X509 * a3), (a0, a1, a2, a3))    \
	X(X509_STORE_CTX *, X509_STORE_CTX_new, (void), ())                                                  \
	X(int, X509_STORE_add_cert, (X509_STORE * a0, X509 * a1), (a0, a1))                                  \
	X(X509_STORE *, X509_STORE_new, (void), ())                                                          \
	X(int, X509_VERIFY_PARAM_set_flags, (X509_VERIFY_PARAM * a0, long unsigned int a1), (a0, a1))        \
	X(int, X509_add_ext, (X509 * a0, X509_EXTENSION * a1, int a2), (a0, a1, a2))                         \
	X(int, X509_check_ca, (X509 * a0), (a0))                                                             \
	X(int, X509_cmp, (const X509 *a0, const X509 *a1), (a0, a1))                                         \
	X(int, X509_cmp_time, (const ASN1_TIME *a0, time_t *a1), (a0, a1))                                   \
	X(int, X509_digest, (const X509 *a0, const EVP_MD *a1, unsigned char *a2, unsigned int *a3),         \
	  (a0, a1, a2, a3))                                                                                  \
	X(const ASN1_TIME *, X509_get0_notAfter, (const X509 *a0), (a0))                                     \
	X(const ASN1_TIME *, X509_get0_notBefore, (const X509 *a0), (a0))                                    \
	X(EVP_PKEY *, X509_get0_pubkey, (const X509 *a0), (a0))                                              \
	X(uint32_t, X509_get_extension_flags, (X509 * a0), (a0))                                             \
	X(X509_NAME *, X509_get_issuer_name, (const X509 *a0), (a0))                                         \
	X(uint32_t, X509_get_key_usage, (X509 * a0), (a0))                                                   \
	X(long int, X509_get_pathlen, (X509 * a0), (a0))                                                     \
	X(ASN1_INTEGER *, X509_get_serialNumber, (X509 * a0), (a0))                                          \
	X(X509_NAME *, X509_get_subject_name, (const X509 *a0), (a0))                                        \
	X(ASN1_TIME *, X509_getm_notAfter, (const X509 *a0), (a0))                                           \
	X(ASN1_TIME *, X509_getm_notBefore, (const X509 *a0), (a0))                                          \
	X(X509 *, X509_new, (void), ())                                                                      \
	X(int, X509_set_issuer_name, (X509 * a0, const X509_NAME *a1), (a0, a1))                             \
	X(int, X509_set_pubkey, (X509 * a0, EVP_PKEY * a1), (a0, a1))                                        \
	X(int, X509_set_subject_name, (X509 * a0, const X509_NAME *a1), (a0, a1))                            \
	X(int, X509_set_version, (X509 * a0, long int a1), (a0, a1))                                         \
	X(int, X509_sign, (X509 * a0, EVP_PKEY * a1, const EVP_MD *a2), (a0, a1, a2))                        \
	X(int, X509_up_ref, (X509 * a0), (a0))                                                               \
	X(int, X509_verify, (X509 * a0, EVP_PKEY * a1), (a0, a1))                                            \
	X(int, X509_verify_cert, (X509_STORE_CTX * a0), (a0))                                                \
	X(const char *, X509_verify_cert_error_string, (long int a0), (a0))                                  \
	X(ECDSA_SIG *, d2i_ECDSA_SIG, (ECDSA_SIG * *a0, const unsigned char **a1, long int a2),              \
	  (a0, a1, a2))                                                                                      \
	X(X509 *, d2i_X509, (X509 * *a0, const unsigned char **a1, long int a2), (a0, a1, a2))               \
	X(int, i2d_ECDSA_SIG, (const ECDSA_SIG *a0, unsigned char **a1), (a0, a1))                           \
	X(int, i2d_X509, (const X509 *a0, unsigned char **a1), (a0, a1))

/* The same for the functions that return nothing. */
#define CRYPTO_VOID_FUNCTIONS(X)                                                                         \
	X(ECDSA_SIG_get0, (const ECDSA_SIG *a0, const BIGNUM **a1, const BIGNUM **a2), (a0, a1, a2))     \
	X(OPENSSL_cleanse, (void *a0, size_t a1), (a0, a1))                                              \
	X(X509V3_set_ctx, (X509V3_CTX * a0, X509 * a1, X509 * a2, X509_REQ * a3, X509_CRL * a4, int a5), \
	  (a0, a1, a2, a3, a4, a5))                                                                      \
	X(X509_ALGOR_get0, (const ASN1_OBJECT **a0, int *a1, const void **a2, const X509_ALGOR *a3),     \
	  (a0, a1, a2, a3))                                                                              \
	X(X509_VERIFY_PARAM_set_time, (X509_VERIFY_PARAM * a0, time_t a1), (a0, a1))                     \
	X(X509_get0_signature, (const ASN1_BIT_STRING **a0, const X509_ALGOR **a1, const X509 *a2),      \
	  (a0, a1, a2))

/* The destructors: nothing to do for NULL (their first argument), loaded
 * or not. */
#define CRYPTO_DESTRUCTORS(X)                                                      \
	X(BIO_free_all, (BIO * a0), (a0))                                          \
	X(BN_free, (BIGNUM * a0), (a0))                                            \
	X(CRYPTO_free, (void *a0, const char *a1, int a2), (a0, a1, a2))           \
	X(ECDSA_SIG_free, (ECDSA_SIG * a0), (a0))                                  \
	X(EVP_MD_CTX_free, (EVP_MD_CTX * a0), (a0))                                \
	X(EVP_MD_free, (EVP_MD * a0), (a0))                                        \
	X(EVP_PKEY_CTX_free, (EVP_PKEY_CTX * a0), (a0))                            \
	X(EVP_PKEY_free, (EVP_PKEY * a0), (a0))                                    \
	X(OPENSSL_sk_free, (OPENSSL_STACK * a0), (a0))                             \
	X(OPENSSL_sk_pop_free, (OPENSSL_STACK * a0, void (*a1)(void *)), (a0, a1)) \
	X(X509_EXTENSION_free, (X509_EXTENSION * a0), (a0))                        \
	X(X509_NAME_free, (X509_NAME * a0), (a0))                                  \
	X(X509_STORE_CTX_free, (X509_STORE_CTX * a0), (a0))                        \
	X(X509_STORE_free, (X509_STORE * a0), (a0))                                \
	X(X509_free, (X509 * a0), (a0))

/* libcrypto's functions, as dlsym found them. */
static struct {
/* `name` is declared, so it cannot be parenthesised. */
#define MEMBER(ret, name, params, args) __typeof__(name) *name; /* NOLINT(bugprone-macro-parentheses) */
#define VOID_MEMBER(name, params, args) __typeof__(name) *name; /* NOLINT(bugprone-macro-parentheses) */
	CRYPTO_FUNCTIONS(MEMBER)
	CRYPTO_VOID_FUNCTIONS(VOID_MEMBER)
	CRYPTO_DESTRUCTORS(VOID_MEMBER)
	VOID_MEMBER(EVP_PKEY_Q_keygen, , )
#undef MEMBER
#undef VOID_MEMBER
} real;
static bool loaded;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *lib = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "carve: cannot load %s (install libssl3): %s\n", LIBCRYPTO_SONAME, dlerror());
		return;
	}
	/* dlsym gives an object pointer; POSIX guarantees it converts to the
	 * function pointer it is (XSH dlsym). */
#define LOOKUP(name)                                                               \
	if (!(real.name = (__typeof__(real.name))dlsym(lib, #name))) {             \
		fprintf(stderr, "carve: %s has no %s\n", LIBCRYPTO_SONAME, #name); \
		return;                                                            \
	}
#define LOOKUP_FN(ret, name, params, args) LOOKUP(name)
#define LOOKUP_VOID(name, params, args) LOOKUP(name)
	CRYPTO_FUNCTIONS(LOOKUP_FN)
	CRYPTO_VOID_FUNCTIONS(LOOKUP_VOID)
	CRYPTO_DESTRUCTORS(LOOKUP_VOID)
	LOOKUP(EVP_PKEY_Q_keygen)
#undef LOOKUP
#undef LOOKUP_FN
#undef LOOKUP_VOID
	loaded = true; /* the handle stays open: carve calls into it until exit */
}

/* Loaded from here on, or the process ends (see the top of the file). */
static void require_loaded(void)
{
	pthread_once(&load_once, load);
	if (!loaded)
		_exit(127);
}

void crypto_preload(void) { require_loaded(); }

#define FORWARD(ret, name, params, args) \
	ret name params                  \
	{                                \
		require_loaded();        \
		return real.name args;   \
	}
#define FORWARD_VOID(name, params, args) \
	void name params                 \
	{                                \
		require_loaded();        \
		real.name args;          \
	}
#define DESTRUCTOR(name, params, args) \
	void name params               \
	{                              \
		if (!a0)               \
			return;        \
		require_loaded();      \
		real.name args;        \
	}
CRYPTO_FUNCTIONS(FORWARD)
CRYPTO_VOID_FUNCTIONS(FORWARD_VOID)
CRYPTO_DESTRUCTORS(DESTRUCTOR)

/* Variadic: its arguments after `type` depend on the key type. carve makes
 * EC keys only (EVP_EC_gen, a macro for this call with the curve's name);
 * any other type is refused as OpenSSL refuses a type it does not know. */
EVP_PKEY *EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
	if (!type || strcmp(type, "EC") != 0)
		return NULL;
	va_list ap;
	va_start(ap, type);
	char *curve = va_arg(ap, char *);
	va_end(ap);
	require_loaded();
	return real.EVP_PKEY_Q_keygen(libctx, propq, type, curve);
}
