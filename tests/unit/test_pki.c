/* The local attestation PKI: certificate profile, chain, lifetimes, and the
 * on-disk CA (modes, reuse, two processes racing to create it). Expectations
 * are checked with OpenSSL calls made here, not with carve's helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carve/pki.h"

#define NOW ((time_t)1790000000) /* 2026-09-21 */

static char *make_tmpdir(void)
{
	char *d = strdup("/tmp/carve-pki-test.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_tree(const char *d)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static int verify_chain(X509 *root, X509 *inter, X509 *leaf, time_t at)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_add_cert(store, root);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	sk_X509_push(untrusted, inter);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, leaf, untrusted);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
	int ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	return ok;
}

static void test_profile_and_chain(void **state)
{
	(void)state;
	struct carve_err err = {0};
	struct pki p;
	assert_int_equal(pki_create(&p, NOW, &err), 0);
	struct pki_cert leaf;
	assert_int_equal(pki_issue_leaf(&p.intermediate, "i-test-enc0", NOW, &leaf, &err), 0);

	/* CA flags and path lengths, key usage. */
	assert_int_equal(X509_check_ca(p.root.cert), 1);
	assert_int_equal(X509_get_pathlen(p.root.cert), 1);
	assert_int_equal(X509_check_ca(p.intermediate.cert), 1);
	assert_int_equal(X509_get_pathlen(p.intermediate.cert), 0);
	assert_int_equal(X509_check_ca(leaf.cert), 0);
	assert_int_equal(X509_get_pathlen(leaf.cert), -1);
	assert_int_equal(X509_get_key_usage(p.root.cert), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(X509_get_key_usage(leaf.cert), KU_DIGITAL_SIGNATURE);

	char cn[128];
	X509_NAME_get_text_by_NID(X509_get_subject_name(p.root.cert), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "carve.nitro-enclaves");
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf.cert), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "i-test-enc0");

	/* The leaf lives exactly three hours. */
	assert_int_equal(leaf.not_after - NOW, 3 * 3600);
	assert_int_equal(X509_cmp_time(X509_get0_notBefore(leaf.cert), &(time_t){NOW - 1}), 1);

	assert_int_equal(verify_chain(p.root.cert, p.intermediate.cert, leaf.cert, NOW + 60), 1);
	/* A test that can fail: past the leaf's end the chain is refused. */
	assert_int_equal(verify_chain(p.root.cert, p.intermediate.cert, leaf.cert, NOW + 3 * 3600 + 1), 0);
	/* And a foreign root does not anchor it. */
	struct pki other;
	assert_int_equal(pki_create(&other, NOW, &err), 0);
	assert_int_equal(verify_chain(other.root.cert, p.intermediate.cert, leaf.cert, NOW + 60), 0);

	pki_free(&other);
	pki_cert_free(&leaf);
	pki_free(&p);
}

static void test_leaf_clamped_to_issuer(void **state)
{
	(void)state;
	struct carve_err err = {0};
	struct pki p;
	assert_int_equal(pki_create(&p, NOW, &err), 0);
	struct pki_cert leaf;
	time_t late = p.intermediate.not_after - 60;
	assert_int_equal(pki_issue_leaf(&p.intermediate, "x", late, &leaf, &err), 0);
	assert_int_equal(leaf.not_after, p.intermediate.not_after);
	pki_cert_free(&leaf);
	assert_int_equal(pki_issue_leaf(&p.intermediate, "", NOW, &leaf, &err), -1);
	pki_free(&p);
}

static void test_store_create_and_reuse(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char sub[512];
	snprintf(sub, sizeof(sub), "%s/nested/state", dir);
	struct carve_err err = {0};
	struct pki a, b;
	assert_int_equal(pki_open(&a, sub, NOW, &err), 0);
	assert_int_equal(pki_open(&b, sub, NOW + 10, &err), 0);
	assert_int_equal(a.root.der_len, b.root.der_len);
	assert_memory_equal(a.root.der, b.root.der, a.root.der_len);
	assert_memory_equal(a.intermediate.der, b.intermediate.der, a.intermediate.der_len);

	struct stat st;
	char path[600];
	snprintf(path, sizeof(path), "%s/pki/root.key", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/pki/intermediate.key", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/pki/root.pem", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	struct pki_cert root;
	assert_int_equal(pki_load_root(sub, &root, &err), 0);
	assert_memory_equal(root.der, a.root.der, a.root.der_len);
	assert_null(root.key);
	pki_cert_free(&root);

	/* Near its end the intermediate is replaced; the root stays. */
	struct pki c;
	assert_int_equal(pki_open(&c, sub, a.intermediate.not_after - 3600, &err), 0);
	assert_memory_equal(c.root.der, a.root.der, a.root.der_len);
	assert_false(c.intermediate.der_len == a.intermediate.der_len &&
		     !memcmp(c.intermediate.der, a.intermediate.der, a.intermediate.der_len));
	pki_free(&c);

	/* A key without its certificate (a crash between the writes) is redone. */
	snprintf(path, sizeof(path), "%s/pki/intermediate.pem", sub);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(pki_open(&c, sub, NOW, &err), 0);
	assert_int_equal(access(path, F_OK), 0);
	pki_free(&c);

	/* A CA key readable by others is refused, not used. */
	snprintf(path, sizeof(path), "%s/pki/root.key", sub);
	assert_int_equal(chmod(path, 0640), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pki_open(&c, sub, NOW, &err), -1);
	assert_int_equal(err.code, E18_FILE_PERMISSIONS);
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);

	pki_free(&a);
	pki_free(&b);
	remove_tree(dir);
	free(dir);
}

static void test_store_shared_group(void **state)
{
	(void)state;
	/* A set-group-ID pki directory is shared with its group (the Debian
	 * package's /var/lib/carve/pki, root:carve 2775): keys are made 0640
	 * and a group-readable key is used; others' bits are still refused. */
	char *dir = make_tmpdir();
	char pki_dir[600], path[700];
	snprintf(pki_dir, sizeof(pki_dir), "%s/pki", dir);
	assert_int_equal(mkdir(pki_dir, 0775), 0);
	assert_int_equal(chmod(pki_dir, 02775), 0);
	struct carve_err err = {0};
	struct pki a, b;
	assert_int_equal(pki_open(&a, dir, NOW, &err), 0);
	struct stat st;
	const char *const keys[] = {"root.key", "intermediate.key"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", pki_dir, keys[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
	}
	snprintf(path, sizeof(path), "%s/lock", pki_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777 & ~0660, 0);
	assert_int_equal(pki_open(&b, dir, NOW + 10, &err), 0);
	assert_memory_equal(a.root.der, b.root.der, a.root.der_len);
	pki_free(&b);
	snprintf(path, sizeof(path), "%s/root.key", pki_dir);
	assert_int_equal(chmod(path, 0644), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pki_open(&b, dir, NOW, &err), -1);
	assert_int_equal(err.code, E18_FILE_PERMISSIONS);
	/* Without the bit the same 0640 key is refused: nothing is shared. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(chmod(pki_dir, 0775), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pki_open(&b, dir, NOW, &err), -1);
	assert_int_equal(err.code, E18_FILE_PERMISSIONS);
	pki_free(&a);
	remove_tree(dir);
	free(dir);
}

static void test_store_missing_root(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	struct carve_err err = {0};
	struct pki_cert root;
	assert_int_equal(pki_load_root(dir, &root, &err), -1);
	assert_int_equal(err.code, E19_FILE_OPERATION);
	assert_non_null(strstr(err.msg, "attestation-root"));
	remove_tree(dir);
	free(dir);
}

/* Several processes create the CA at once; all must end with the same root. */
static void test_store_race(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	enum { N = 4 };
	int fds[N][2];
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct carve_err e = {0};
			struct pki p;
			if (pki_open(&p, dir, NOW, &e) < 0)
				_exit(1);
			uint8_t hash[32];
			unsigned hl = 0;
			X509_digest(p.root.cert, EVP_sha256(), hash, &hl);
			ssize_t w = write(fds[i][1], hash, 32);
			_exit(w == 32 ? 0 : 1);
		}
		close(fds[i][1]);
	}
	uint8_t first[32];
	for (int i = 0; i < N; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		uint8_t h[32];
		assert_int_equal(read(fds[i][0], h, 32), 32);
		close(fds[i][0]);
		if (i == 0)
			memcpy(first, h, 32);
		else
			assert_memory_equal(first, h, 32);
	}
	remove_tree(dir);
	free(dir);
}

static void test_state_dir_env(void **state)
{
	(void)state;
	setenv("CARVE_STATE_DIR", "/tmp/somewhere", 1);
	assert_string_equal(pki_state_dir(), "/tmp/somewhere");
	setenv("CARVE_STATE_DIR", "", 1);
	assert_string_equal(pki_state_dir(), "/var/lib/carve");
	unsetenv("CARVE_STATE_DIR");
	assert_string_equal(pki_state_dir(), "/var/lib/carve");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_and_chain),      cmocka_unit_test(test_leaf_clamped_to_issuer),
		cmocka_unit_test(test_store_create_and_reuse), cmocka_unit_test(test_store_shared_group),
		cmocka_unit_test(test_store_missing_root),     cmocka_unit_test(test_store_race),
		cmocka_unit_test(test_state_dir_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
