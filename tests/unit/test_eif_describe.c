/* describe-eif's fields as nitro-cli makes them: the signing certificate's
 * names (aws-nitro-enclaves-image-format src/utils/eif_reader.rs
 * get_certificate_info), the metadata section read back
 * (aws-nitro-enclaves-cli v1.5.0 src/common/json_output.rs:222-261), and the
 * metadata's writer parts (identity.rs generate_build_info). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carve/json_serde.h"
#include "carve/util.h"
#include "eif/cert_describe.h"
#include "eif/metadata.h"
#include "image/docker_info.h"

static void debug_form(void **state)
{
	(void)state;
	struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{"Acme Corp", 9, "Acme Corp"},
		/* str's Debug writes \" (the replace drops the quote: a lone '\'), \\ */
		{"a\"b\\c", 5, "a\\b\\\\c"},
		{"t\tn\nr\r", 6, "t\\tn\\nr\\r"},
		{"nul\0x", 5, "nul\\0x"},
		{"\x01\x1f\x7f", 3, "\\u{1}\\u{1f}\\u{7f}"},
		{"'single'", 8, "'single'"}, /* not escaped in a str */
		{"caf\xc3\xa9 \xe6\x97\xa5", 9, "caf\xc3\xa9 \xe6\x97\xa5"},
		{"\xc2\x85", 2, "\\u{85}"},    /* a C1 control */
		{"e\xcc\x81", 3, "e\\u{301}"}, /* a combining mark */
		{"", 0, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = rust_debug_unquoted(cases[i].in, cases[i].len);
		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void add(X509_NAME *n, const char *field, const char *value)
{
	assert_int_equal(X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)value, -1,
						    -1, 0),
			 1);
}

static char *name_text(X509_NAME *n)
{
	json_object *j = eif_cert_name_json(n);
	char *text = json_serde_pretty(j);
	json_object_put(j);
	return text;
}

static void names(void **state)
{
	(void)state;
	X509_NAME *n = X509_NAME_new();
	add(n, "OU", "first");
	add(n, "C", "US");
	add(n, "CN", "signer \"q\"");
	add(n, "O", "Org");
	add(n, "OU", "second");
	add(n, "1.2.3.4", "odd");
	add(n, "ST", "Wa");
	add(n, "emailAddress", "a@b");
	char *got = name_text(n);
	/* Long names as keys, the dotted OID for an unknown one; byte order
	 * (BTreeMap): digits, then "commonName" < "countryName" <
	 * "emailAddress" < "organizationName" < "organizationalUnitName"; the
	 * repeated OU keeps its last value. */
	assert_string_equal(got,
			    "{\n"
			    "  \"1.2.3.4\": \"odd\",\n"
			    "  \"commonName\": \"signer \\\\q\\\\\",\n"
			    "  \"countryName\": \"US\",\n"
			    "  \"emailAddress\": \"a@b\",\n"
			    "  \"organizationName\": \"Org\",\n"
			    "  \"organizationalUnitName\": \"second\",\n"
			    "  \"stateOrProvinceName\": \"Wa\"\n"
			    "}");
	free(got);
	X509_NAME_free(n);
	n = X509_NAME_new();
	got = name_text(n);
	assert_string_equal(got, "{}");
	free(got);
	X509_NAME_free(n);
}

static void certificate(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_EC_gen("P-384");
	assert_non_null(key);
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	add(n, "CN", "carve");
	X509_set_issuer_name(c, n);
	X509_set_subject_name(c, n);
	ASN1_TIME_set(X509_getm_notBefore(c), 1700000000);
	ASN1_TIME_set(X509_getm_notAfter(c), 1800000000);
	X509_set_pubkey(c, key);
	assert_true(X509_sign(c, key, EVP_sha384()) > 0);
	json_object *d = eif_cert_describe(c);
	char *got = json_serde_pretty(d);
	const char *prefix = "{\n  \"IssuerName\": {\n    \"commonName\": \"carve\"\n  },\n"
			     "  \"Algorithm\": \"ecdsa-with-SHA384\",\n"
			     "  \"NotBefore\": \"Nov 14 22:13:20 2023 GMT\",\n"
			     "  \"NotAfter\": \"Jan 15 08:00:00 2027 GMT\",\n"
			     "  \"Signature\": \"";
	assert_memory_equal(got, prefix, strlen(prefix));
	/* XX:XX:..., upper case */
	const char *sig = got + strlen(prefix);
	assert_true(sig[0] == '3' && sig[1] == '0' && sig[2] == ':');
	for (const char *p = sig; *p != '"'; p++)
		assert_non_null(strchr("0123456789ABCDEF:", *p));
	free(got);
	json_object_put(d);
	X509_NAME_free(n);
	X509_free(c);
	EVP_PKEY_free(key);
}

static char *describe(const char *meta, struct carve_err *err)
{
	json_object *out = json_object_new_object();
	char *text = NULL;
	if (eif_metadata_describe(meta, strlen(meta), out, err) == 0)
		text = json_serde_pretty(out);
	json_object_put(out);
	return text;
}

#define BUILD                                                                                             \
	"\"BuildMetadata\":{\"KernelVersion\":\"6.1\",\"OperatingSystem\":\"Linux\",\"BuildTool\":\"t\"," \
	"\"BuildToolVersion\":\"1\",\"BuildTime\":\"2023-11-14T22:13:20+00:00\",\"Extra\":1}"

static void metadata(void **state)
{
	(void)state;
	struct carve_err err = {0};
	char *got = describe(
		"{\"ImageName\":\"app\",\"ImageVersion\":\"abc\"," BUILD
		",\"DockerInfo\":{\"b\":{},\"a\":[1]},\"CustomMetadata\":{\"z\":1,\"y\":{\"k2\":1,\"k1\":2}}}",
		&err);
	assert_non_null(got);
	/* MetadataDescribeInfo's order; unknown BuildMetadata keys dropped;
	 * DockerInfo and the inlined custom keys sorted. */
	assert_string_equal(got,
			    "{\n"
			    "  \"ImageName\": \"app\",\n"
			    "  \"ImageVersion\": \"abc\",\n"
			    "  \"Metadata\": {\n"
			    "    \"BuildTime\": \"2023-11-14T22:13:20+00:00\",\n"
			    "    \"BuildTool\": \"t\",\n"
			    "    \"BuildToolVersion\": \"1\",\n"
			    "    \"OperatingSystem\": \"Linux\",\n"
			    "    \"KernelVersion\": \"6.1\",\n"
			    "    \"DockerInfo\": {\n"
			    "      \"a\": [\n"
			    "        1\n"
			    "      ],\n"
			    "      \"b\": {}\n"
			    "    },\n"
			    "    \"y\": {\n"
			    "      \"k1\": 2,\n"
			    "      \"k2\": 1\n"
			    "    },\n"
			    "    \"z\": 1\n"
			    "  }\n"
			    "}");
	free(got);
	/* CustomMetadata null: skipped; DockerInfo null printed. Carve's older
	 * images ("...Z" BuildTime) read the same. */
	got = describe(
		"{\"ImageName\":\"a\",\"ImageVersion\":\"1\",\"BuildMetadata\":{\"BuildTime\":\"2023-11-14T22:"
		"13:20Z\",\"BuildTool\":\"carve\",\"BuildToolVersion\":\"0.1.0\",\"OperatingSystem\":\"Unknown\","
		"\"KernelVersion\":\"Unknown\"},\"DockerInfo\":null,\"CustomMetadata\":null}",
		&err);
	assert_non_null(got);
	assert_non_null(strstr(got, "\"BuildTime\": \"2023-11-14T22:13:20Z\""));
	assert_non_null(strstr(got, "\"DockerInfo\": null\n  }\n}"));
	free(got);

	/* What nitro-cli cannot read is E35; what it cannot print, E17. */
	struct {
		const char *meta;
		int code;
		const char *says;
	} bad[] = {
		{"[1]", E35_EIF_PARSING, "not a JSON object"},
		{"{\"ImageName\":\"a\"} x", E35_EIF_PARSING, "not a JSON object"},
		{"{\"ImageVersion\":\"1\"," BUILD ",\"DockerInfo\":null,\"CustomMetadata\":null}",
		 E35_EIF_PARSING, "missing field 'ImageName'"},
		{"{\"ImageName\":1,\"ImageVersion\":\"1\"," BUILD
		 ",\"DockerInfo\":null,\"CustomMetadata\":null}",
		 E35_EIF_PARSING, "'ImageName'"},
		{"{\"ImageName\":\"a\",\"ImageVersion\":\"1\"," BUILD ",\"CustomMetadata\":null}",
		 E35_EIF_PARSING, "missing field 'DockerInfo'"},
		{"{\"ImageName\":\"a\",\"ImageVersion\":\"1\",\"BuildMetadata\":{\"BuildTime\":\"x\"},"
		 "\"DockerInfo\":null,\"CustomMetadata\":null}",
		 E35_EIF_PARSING, "missing field 'BuildTool'"},
		{"{\"ImageName\":\"a\",\"ImageVersion\":\"1\"," BUILD
		 ",\"DockerInfo\":null,\"CustomMetadata\":[1]}",
		 E17_SERDE, "can only flatten structs and maps"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		carve_err_clear(&err);
		assert_null(describe(bad[i].meta, &err));
		assert_int_equal(err.code, bad[i].code);
		assert_non_null(strstr(err.msg, bad[i].says));
	}
}

static void kernel_config_words(void **state)
{
	(void)state;
	struct {
		const char *line, *os, *ver;
	} cases[] = {
		{"# Linux/x86 6.1.0 Kernel Configuration\n", "Linux", "6.1.0"},
		{"# Linux/x86_64 4.14.177-104.253.amzn2.x86_64 Kernel Configuration\r\n", "Linux",
		 "4.14.177"},
		/* empty pieces count, as Rust's split keeps them */
		{"#  Linux/x86 6.1\n", "", "x86"},
		{"# Linux\n", "Linux", "Unknown"},
		{"#\n", "Unknown", "Unknown"},
		{"# Linux/x86 6.12.38\n", "Linux", "6.12.38"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char os[64], ver[64];
		eif_kernel_config_words(cases[i].line, os, sizeof(os), ver, sizeof(ver));
		assert_string_equal(os, cases[i].os);
		assert_string_equal(ver, cases[i].ver);
	}
}

static void build_time(void **state)
{
	(void)state;
	struct {
		long ns;
		const char *want;
	} cases[] = {
		{0, "2023-11-14T22:13:20+00:00"},
		{500000000, "2023-11-14T22:13:20.500+00:00"},
		{123456000, "2023-11-14T22:13:20.123456+00:00"},
		{123456789, "2023-11-14T22:13:20.123456789+00:00"},
		{1, "2023-11-14T22:13:20.000000001+00:00"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct timespec ts = {.tv_sec = 1700000000, .tv_nsec = cases[i].ns};
		char out[64];
		rfc3339_chrono(&ts, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
	struct timespec ts;
	eif_build_time(42, &ts);
	assert_int_equal(ts.tv_sec, 42);
	assert_int_equal(ts.tv_nsec, 0);
}

static void docker_config(void **state)
{
	(void)state;
	json_object *in = json_tokener_parse(
		"{\"Env\":[\"A=1\"],\"Cmd\":null,\"Entrypoint\":[\"/app\"],\"ExposedPorts\":{\"80/tcp\":{}},"
		"\"Labels\":{\"k\":\"v\"},\"Unknown\":1,\"User\":5,\"Healthcheck\":{\"Test\":[\"CMD\"],\"Interval\":"
		"30,\"Bogus\":1},\"ArgsEscaped\":true,\"StopTimeout\":3}");
	json_object *out = docker_info_config(in);
	json_object *sorted = json_sorted_copy(out);
	char *got = json_serde_pretty(sorted);
	/* bollard's ImageConfig fields only; null and mistyped dropped */
	assert_string_equal(
		got,
		"{\n"
		"  \"ArgsEscaped\": true,\n"
		"  \"Entrypoint\": [\n    \"/app\"\n  ],\n"
		"  \"Env\": [\n    \"A=1\"\n  ],\n"
		"  \"ExposedPorts\": {\n    \"80/tcp\": {}\n  },\n"
		"  \"Healthcheck\": {\n    \"Interval\": 30,\n    \"Test\": [\n      \"CMD\"\n    ]\n  },\n"
		"  \"Labels\": {\n    \"k\": \"v\"\n  },\n"
		"  \"StopTimeout\": 3\n"
		"}");
	free(got);
	json_object_put(sorted);
	json_object_put(out);
	json_object_put(in);
	in = json_object_new_array();
	assert_null(docker_info_config(in));
	json_object_put(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(debug_form),          cmocka_unit_test(names),
		cmocka_unit_test(certificate),         cmocka_unit_test(metadata),
		cmocka_unit_test(kernel_config_words), cmocka_unit_test(build_time),
		cmocka_unit_test(docker_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
