/* vsock-proxy's allowlist: the YAML forms its file uses (AWS's shipped
 * vsock-proxy.yaml is flow mappings; block mappings are as valid), what is
 * refused with which of vsock_proxy's messages, and the check's order and
 * matching (by name as written, by an address the entry resolves to; the
 * port cut to 16 bits as vsock_proxy's `as u16` does). Names used resolve
 * without a network: localhost and literal addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "carve/vsock_proxy.h"

static int parse(const char *text, struct proxy_allowlist *l, const char **why)
{
	return proxy_allowlist_parse(text, strlen(text), l, why);
}

static void aws_file_and_block_style(void **state)
{
	(void)state;
	struct proxy_allowlist l;
	const char *why = NULL;
	assert_int_equal(parse("allowlist:\n"
			       "- {address: kms.us-east-2.amazonaws.com, port: 443}\n"
			       "- {address: \"kms-fips.us-east-2.amazonaws.com\", port: 443} # fips\n"
			       "- address: 127.0.0.1\n"
			       "  port: 9000\n",
			       &l, &why),
			 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0].address, "kms.us-east-2.amazonaws.com");
	assert_true(l.items[0].has_port && l.items[0].port == 443);
	assert_string_equal(l.items[1].address, "kms-fips.us-east-2.amazonaws.com");
	assert_string_equal(l.items[2].address, "127.0.0.1");
	assert_int_equal(l.items[2].port, 9000);
	proxy_allowlist_free(&l);

	assert_int_equal(parse("---\nother: 1\nallowlist: []\n", &l, &why), 0);
	assert_int_equal(l.n, 0);
	proxy_allowlist_free(&l);
}

static void refused_files(void **state)
{
	(void)state;
	struct proxy_allowlist l;
	const char *why = NULL;
	static const struct {
		const char *text, *why;
	} cases[] = {
		{"services:\n- {address: a, port: 1}\n", "No allowlist field"},
		{"allowlist: 5\n", "No allowlist field"},
		{"allowlist: {x\n", "Bad yaml format"},
		{"allowlist:\n- {address: a, port: 1\n", "Bad yaml format"},
		{"allowlist:\n- address: a\n port: 1\n",
		 "Bad yaml format"}, /* under the dash, not its item */
		{"allowlist:\n  - {address: a, port: 1}\n- {address: b, port: 2}\n", "Bad yaml format"},
		{"allowlist\n", "Bad yaml format"},
		{"allowlist:\n- {address: a, port: 1}\nallowlist:\n- {address: b, port: 2}\n",
		 "Bad yaml format"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		assert_int_equal(parse(cases[i].text, &l, &why), -1);
		assert_string_equal(why, cases[i].why);
	}
}

static void check_order_and_matching(void **state)
{
	(void)state;
	struct proxy_allowlist l;
	const char *why = NULL;
	struct sockaddr_storage a;
	socklen_t alen;
	assert_int_equal(parse("allowlist:\n"
			       "- {address: localhost, port: 9000}\n"
			       "- {address: 10.1.2.3, port: 65979}\n" /* 65979 as u16 is 443 */
			       "- {port: 8080}\n"
			       "- {address: x, port: \"80\"}\n",
			       &l, &why),
			 0);
	/* By the name as written; by an address the entry's name resolves to. */
	assert_int_equal(proxy_check_allowlist(&l, "localhost", 9000, PROXY_IP_MIXED, &a, &alen, &why), 0);
	assert_int_equal(proxy_check_allowlist(&l, "127.0.0.1", 9000, PROXY_IP_V4, &a, &alen, &why), 0);
	assert_int_equal(a.ss_family, AF_INET);
	assert_int_equal(proxy_check_allowlist(&l, "10.1.2.3", 443, PROXY_IP_MIXED, &a, &alen, &why), 0);
	/* No entry for the port before the broken ones: those are reached. */
	assert_int_equal(proxy_check_allowlist(&l, "127.0.0.1", 9001, PROXY_IP_MIXED, &a, &alen, &why), -1);
	assert_string_equal(why, "No address field");
	proxy_allowlist_free(&l);

	assert_int_equal(parse("allowlist:\n- {address: x, port: \"80\"}\n", &l, &why), 0);
	assert_int_equal(proxy_check_allowlist(&l, "127.0.0.1", 80, PROXY_IP_MIXED, &a, &alen, &why), -1);
	assert_string_equal(why, "No port field or invalid type");
	proxy_allowlist_free(&l);

	assert_int_equal(parse("allowlist:\n- {address: localhost, port: 9000}\n", &l, &why), 0);
	assert_int_equal(proxy_check_allowlist(&l, "127.0.0.2", 9000, PROXY_IP_MIXED, &a, &alen, &why), -1);
	assert_string_equal(why, "The given address and port are not allowed");
	/* The remote must resolve before any entry is looked at. */
	assert_int_equal(
		proxy_check_allowlist(&l, "no-such-host.invalid", 9000, PROXY_IP_MIXED, &a, &alen, &why), -1);
	assert_string_equal(why, "DNS lookup failed!");
	assert_int_equal(proxy_check_allowlist(&l, "127.0.0.1", 9000, PROXY_IP_V6, &a, &alen, &why), -1);
	assert_string_equal(why, "No accepted IP was found.");
	proxy_allowlist_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aws_file_and_block_style),
		cmocka_unit_test(refused_files),
		cmocka_unit_test(check_order_and_matching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
