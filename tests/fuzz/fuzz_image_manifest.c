/* libFuzzer target: the JSON documents of an image archive (index.json and
 * nested indexes, image manifests, docker save's manifest.json, image
 * configs) on arbitrary bytes. Every parser sees every input: an archive may
 * hold anything at any of those names. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carve/ramdisk.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parsers take the bytes as read from an archive: not
	 * NUL-terminated, so give them an exact-length copy. */
	char *json = malloc(size ? size : 1);
	if (!json)
		return 0;
	memcpy(json, data, size);
	struct carve_err err = {0};

	struct image_index ix;
	if (image_index_parse(json, size, "index.json", &ix, &err) == 0) {
		for (size_t i = 0; i < ix.n; i++)
			(void)(media_is_index(ix.manifests[i].media_type) ||
			       media_is_manifest(ix.manifests[i].media_type));
		image_index_free(&ix);
	}
	carve_err_clear(&err);
	struct image_manifest m;
	if (image_manifest_parse(json, size, "manifest", &m, &err) == 0) {
		for (size_t i = 0; i < m.nlayers; i++)
			(void)media_is_layer(m.layers[i].media_type);
		image_manifest_free(&m);
	}
	carve_err_clear(&err);
	struct docker_manifest dm;
	if (docker_manifest_parse(json, size, "manifest.json", &dm, &err) == 0)
		docker_manifest_free(&dm);
	carve_err_clear(&err);
	struct image_config c;
	if (image_config_parse(json, size, "config", &c, &err) == 0) {
		char *const *argv = ramdisk_image_command(&c);
		for (size_t i = 0; argv && argv[i]; i++)
			(void)strlen(argv[i]);
		image_config_free(&c);
	}
	free(json);
	return 0;
}
