/* Private to the image part: the JSON documents of an image archive
 * (Docker's image spec v1.2 and the OCI image layout) parsed into plain structs. The parsers
 * take untrusted bytes (a fuzz target drives them) and check every type;
 * they fail with E50 naming the document (`what`) and the field. */
#ifndef CARVE_IMAGE_MANIFEST_H
#define CARVE_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/error.h"
#include "carve/image.h"

#define IMAGE_JSON_MAX (4u << 20) /* manifests and configs are small */

/* An OCI descriptor, with the platform and the ref-name annotation. */
struct image_desc {
	char *media_type;
	char *digest; /* "sha256:<64 hex>", checked */
	int64_t size;
	char *os, *arch, *variant; /* platform, NULL when absent */
	char *ref_name;            /* org.opencontainers.image.ref.name */
	char *image_name;          /* io.containerd.image.name (Docker 25+ saves) */
};

/* An OCI image index (index.json, or a nested index / Docker manifest list). */
struct image_index {
	struct image_desc *manifests;
	size_t n;
};

/* An OCI image manifest (or Docker's v2 schema 2 manifest). */
struct image_manifest {
	struct image_desc config;
	struct image_desc *layers;
	size_t nlayers;
};

/* docker save's manifest.json: one item per image. */
struct docker_item {
	char *config;
	char **repo_tags; /* NULL-terminated, never NULL */
	char **layers;    /* NULL-terminated */
	size_t nlayers;
};
struct docker_manifest {
	struct docker_item *items;
	size_t n;
};

int image_index_parse(const char *json, size_t len, const char *what, struct image_index *out,
		      struct carve_err *err);
void image_index_free(struct image_index *ix);
int image_manifest_parse(const char *json, size_t len, const char *what, struct image_manifest *out,
			 struct carve_err *err);
void image_manifest_free(struct image_manifest *m);
int docker_manifest_parse(const char *json, size_t len, const char *what, struct docker_manifest *out,
			  struct carve_err *err);
void docker_manifest_free(struct docker_manifest *m);
/* Fills the fields of carve/image.h's image_config; raw is a copy of json. */
int image_config_parse(const char *json, size_t len, const char *what, struct image_config *out,
		       struct carve_err *err);
void image_config_free(struct image_config *c);

/* Media types. */
bool media_is_index(const char *mt);
bool media_is_manifest(const char *mt);
bool media_is_layer(const char *mt);

void image_desc_free(struct image_desc *d);
void strv_free(char **v);

#endif
