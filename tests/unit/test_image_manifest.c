/* The image part's JSON parsers (index, manifest, docker save's
 * manifest.json, config), references as users type them, and which command
 * an image's enclave runs (Cmd, else Entrypoint, never both). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "carve/ramdisk.h"
#include "image/digest.h"
#include "image/manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void test_index_with_platform_and_ref(void **state)
{
	(void)state;
	const char *j =
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"" D1 "\",\"size\":7,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"},"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}],\"extra\":[1,2]}";
	struct image_index ix;
	struct carve_err err = {0};
	assert_int_equal(image_index_parse(j, strlen(j), "index.json", &ix, &err), 0);
	assert_int_equal(ix.n, 1);
	assert_string_equal(ix.manifests[0].digest, D1);
	assert_int_equal(ix.manifests[0].size, 7);
	assert_string_equal(ix.manifests[0].arch, "arm64");
	assert_string_equal(ix.manifests[0].ref_name, "v1");
	assert_true(media_is_manifest(ix.manifests[0].media_type));
	image_index_free(&ix);
}

static void fails(const char *j)
{
	struct image_index ix;
	struct carve_err err = {0};
	if (image_index_parse(j, strlen(j), "index.json", &ix, &err) == 0)
		fail_msg("accepted: %s", j);
	assert_int_equal(err.code, E50_DOCKER_IMAGE_PULL);
}

static void test_index_rejects_bad_documents(void **state)
{
	(void)state;
	fails("");
	fails("[]");
	fails("{\"schemaVersion\":1,\"manifests\":[]}");
	fails("{\"schemaVersion\":2}");
	fails("{\"schemaVersion\":2,\"manifests\":{}}");
	fails("{\"schemaVersion\":2,\"manifests\":[{\"size\":1}]}");
	fails("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha512:00\"}]}");
	fails("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:../../etc/passwd\"}]}");
	fails("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\",\"size\":-1}]}");
	fails("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\",\"platform\":\"linux\"}]}");
	fails("{\"schemaVersion\":2,\"manifests\":[]} trailing");
}

static void test_manifest_layers_in_order(void **state)
{
	(void)state;
	const char *j = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":["
			"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2
			"\",\"size\":9},"
			"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D1
			"\",\"size\":1}]}";
	struct image_manifest m;
	struct carve_err err = {0};
	assert_int_equal(image_manifest_parse(j, strlen(j), "m", &m, &err), 0);
	assert_string_equal(m.config.digest, D1);
	assert_int_equal(m.nlayers, 2);
	assert_string_equal(m.layers[0].digest, D2);
	assert_true(media_is_layer(m.layers[1].media_type));
	assert_false(media_is_layer("application/vnd.in-toto+json"));
	image_manifest_free(&m);
}

static void test_docker_manifest(void **state)
{
	(void)state;
	const char *j =
		"[{\"Config\":\"abc.json\",\"RepoTags\":[\"a:1\",\"a:2\"],\"Layers\":[\"x/layer.tar\"]},"
		"{\"Config\":\"def.json\",\"RepoTags\":null,\"Layers\":[]}]";
	struct docker_manifest m;
	struct carve_err err = {0};
	assert_int_equal(docker_manifest_parse(j, strlen(j), "manifest.json", &m, &err), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.items[0].repo_tags[1], "a:2");
	assert_null(m.items[1].repo_tags[0]);
	assert_string_equal(m.items[0].layers[0], "x/layer.tar");
	assert_int_equal(m.items[1].nlayers, 0);
	docker_manifest_free(&m);
	const char *bad = "[{\"Config\":\"abc.json\",\"Layers\":[1]}]";
	assert_int_equal(docker_manifest_parse(bad, strlen(bad), "manifest.json", &m, &err), -1);
}

static void test_config_and_command_choice(void **state)
{
	(void)state;
	struct image_config c;
	struct carve_err err = {0};
	const char *both = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"],"
			   "\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"/cmd\",\"x\"],\"WorkingDir\":\"/w\"},"
			   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}}";
	assert_int_equal(image_config_parse(both, strlen(both), "c", &c, &err), 0);
	assert_string_equal(c.architecture, "amd64");
	assert_string_equal(c.workdir, "/w");
	assert_int_equal(c.ndiff_ids, 1);
	assert_string_equal(ramdisk_image_command(&c)[0], "/cmd"); /* Cmd wins */
	assert_null(ramdisk_image_command(&c)[2]);
	image_config_free(&c);

	const char *ep = "{\"config\":{\"Entrypoint\":[\"/ep\"],\"Cmd\":[]},\"rootfs\":{\"diff_ids\":[]}}";
	assert_int_equal(image_config_parse(ep, strlen(ep), "c", &c, &err), 0);
	assert_string_equal(ramdisk_image_command(&c)[0], "/ep");
	image_config_free(&c);

	const char *none = "{\"config\":{\"Cmd\":null},\"rootfs\":{\"diff_ids\":[]}}";
	assert_int_equal(image_config_parse(none, strlen(none), "c", &c, &err), 0);
	assert_null(ramdisk_image_command(&c));
	image_config_free(&c);

	const char *bad_diff = "{\"rootfs\":{\"diff_ids\":[\"md5:00\"]}}";
	assert_int_equal(image_config_parse(bad_diff, strlen(bad_diff), "c", &c, &err), -1);
	const char *no_rootfs = "{\"config\":{}}";
	assert_int_equal(image_config_parse(no_rootfs, strlen(no_rootfs), "c", &c, &err), -1);
}

static void test_refs(void **state)
{
	(void)state;
	struct image_ref r;
	struct carve_err err = {0};
	assert_int_equal(image_ref_parse("docker-archive:/x/app.tar:app:1.0", &r, &err), 0);
	assert_int_equal(r.transport, IMAGE_DOCKER_ARCHIVE);
	assert_string_equal(r.path, "/x/app.tar");
	assert_string_equal(r.selector, "app:1.0");
	image_ref_free(&r);
	assert_int_equal(image_ref_parse("oci:dir", &r, &err), 0);
	assert_int_equal(r.transport, IMAGE_OCI_DIR);
	assert_null(r.selector);
	image_ref_free(&r);
	assert_int_equal(image_ref_parse("oci-archive:a.tar:v2", &r, &err), 0);
	assert_string_equal(r.selector, "v2");
	image_ref_free(&r);
	/* A plain path: "." exists, so ".:tag" is the path "." and a selector. */
	assert_int_equal(image_ref_parse(".:tag", &r, &err), 0);
	assert_int_equal(r.transport, IMAGE_AUTO);
	assert_string_equal(r.path, ".");
	assert_string_equal(r.selector, "tag");
	image_ref_free(&r);
	assert_int_equal(image_ref_parse("oci:", &r, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	carve_err_clear(&err);
	assert_int_equal(image_ref_parse("/no/such/image:tag", &r, &err), -1);
	assert_int_equal(err.code, E50_DOCKER_IMAGE_PULL);
}

static void test_digests(void **state)
{
	(void)state;
	char d[DIGEST_LEN + 1];
	assert_int_equal(digest_of("abc", 3, d), 0);
	assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(digest_is_sha256(d));
	assert_false(
		digest_is_sha256("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	assert_false(digest_is_sha256("sha256:ba78"));
	assert_false(digest_is_sha256(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_with_platform_and_ref),
		cmocka_unit_test(test_index_rejects_bad_documents),
		cmocka_unit_test(test_manifest_layers_in_order),
		cmocka_unit_test(test_docker_manifest),
		cmocka_unit_test(test_config_and_command_choice),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_digests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
