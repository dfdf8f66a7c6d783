/* Parsers for index.json, image manifests, docker save's manifest.json and
 * image configs (OCI image-spec; Docker's equivalents). Unknown fields are
 * ignored, as the spec asks; known fields of the wrong type are errors. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "image/digest.h"
#include "image/manifest.h"

#define REF_NAME "org.opencontainers.image.ref.name"
#define CONTAINERD_NAME "io.containerd.image.name"

static int bad(struct carve_err *err, const char *what, const char *field, const char *problem)
{
	return carve_fail(err, E50_DOCKER_IMAGE_PULL,
			  "%s: '%s' %s; the image archive is damaged or not "
			  "an image",
			  what, field, problem);
}

/* The whole buffer must be one JSON value (trailing blanks allowed). */
static json_object *parse(const char *json, size_t len, const char *what, struct carve_err *err)
{
	if (len > IMAGE_JSON_MAX) {
		carve_fail(err, E50_DOCKER_IMAGE_PULL, "%s is larger than %u bytes", what, IMAGE_JSON_MAX);
		return NULL;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		return NULL;
	}
	json_object *o = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	bool trailing = false;
	for (size_t i = end; je == json_tokener_success && i < len; i++)
		if (!strchr(" \t\r\n", json[i]))
			trailing = true;
	if (je != json_tokener_success || trailing || !o) {
		json_object_put(o);
		carve_fail(err, E50_DOCKER_IMAGE_PULL, "%s is not valid JSON%s%s", what,
			   je != json_tokener_success ? ": " : "",
			   je != json_tokener_success ? json_tokener_error_desc(je) : "");
		return NULL;
	}
	return o;
}

/* A string field: 0 with *out NULL when absent or null, -1 on a wrong type. */
static int get_str(json_object *obj, const char *key, char **out, const char *what, struct carve_err *err)
{
	*out = NULL;
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(err, what, key, "is not a string");
	const char *s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return bad(err, what, key, "has a NUL byte");
	if (!(*out = strdup(s)))
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	return 0;
}

/* A string array field, NULL-terminated; *out NULL when absent or null. */
static int get_strv(json_object *obj, const char *key, char ***out, size_t *count, const char *what,
		    struct carve_err *err)
{
	*out = NULL;
	if (count)
		*count = 0;
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return bad(err, what, key, "is not an array");
	size_t n = json_object_array_length(v);
	char **strv = calloc(n + 1, sizeof(*strv));
	if (!strv)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) ||
		    strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e)) {
			strv_free(strv);
			return bad(err, what, key, "holds something other than strings");
		}
		if (!(strv[i] = strdup(json_object_get_string(e)))) {
			strv_free(strv);
			return carve_fail(err, E00_UNSPECIFIED, "out of memory");
		}
	}
	*out = strv;
	if (count)
		*count = n;
	return 0;
}

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void image_desc_free(struct image_desc *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->ref_name);
	free(d->image_name);
	memset(d, 0, sizeof(*d));
}

static int parse_desc(json_object *o, struct image_desc *d, const char *what, struct carve_err *err)
{
	memset(d, 0, sizeof(*d));
	if (!json_object_is_type(o, json_type_object))
		return bad(err, what, "descriptor", "is not an object");
	if (get_str(o, "mediaType", &d->media_type, what, err) < 0 ||
	    get_str(o, "digest", &d->digest, what, err) < 0)
		return -1;
	if (!d->digest)
		return bad(err, what, "digest", "is missing from a descriptor");
	if (!digest_is_sha256(d->digest))
		return carve_fail(err, E50_DOCKER_IMAGE_PULL,
				  "%s: digest '%.80s' is not sha256:<64 hex digits>; "
				  "carve reads sha256 digests only",
				  what, d->digest);
	json_object *v;
	d->size = -1;
	if (json_object_object_get_ex(o, "size", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
			return bad(err, what, "size", "is not a non-negative integer");
		d->size = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(o, "platform", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			return bad(err, what, "platform", "is not an object");
		if (get_str(v, "os", &d->os, what, err) < 0 ||
		    get_str(v, "architecture", &d->arch, what, err) < 0 ||
		    get_str(v, "variant", &d->variant, what, err) < 0)
			return -1;
	}
	if (json_object_object_get_ex(o, "annotations", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			return bad(err, what, "annotations", "is not an object");
		if (get_str(v, REF_NAME, &d->ref_name, what, err) < 0 ||
		    get_str(v, CONTAINERD_NAME, &d->image_name, what, err) < 0)
			return -1;
	}
	return 0;
}

static int check_schema(json_object *root, const char *what, struct carve_err *err)
{
	if (!json_object_is_type(root, json_type_object))
		return bad(err, what, "document", "is not a JSON object");
	json_object *v;
	if (!json_object_object_get_ex(root, "schemaVersion", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 2)
		return bad(err, what, "schemaVersion", "is not 2");
	return 0;
}

/* Parses root[key] as an array of descriptors. */
static int parse_desc_array(json_object *root, const char *key, bool required, struct image_desc **out,
			    size_t *n, const char *what, struct carve_err *err)
{
	*out = NULL;
	*n = 0;
	json_object *arr;
	if (!json_object_object_get_ex(root, key, &arr) || !arr) {
		if (required)
			return bad(err, what, key, "is missing");
		return 0;
	}
	if (!json_object_is_type(arr, json_type_array))
		return bad(err, what, key, "is not an array");
	size_t len = json_object_array_length(arr);
	if (len == 0)
		return 0;
	struct image_desc *d = calloc(len, sizeof(*d));
	if (!d)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	*out = d;
	for (size_t i = 0; i < len; i++) {
		int rc = parse_desc(json_object_array_get_idx(arr, i), &d[i], what, err);
		*n = i + 1; /* so the caller frees what was filled */
		if (rc < 0)
			return -1;
	}
	return 0;
}

int image_index_parse(const char *json, size_t len, const char *what, struct image_index *out,
		      struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	json_object *root = parse(json, len, what, err);
	if (!root)
		return -1;
	int rc = check_schema(root, what, err);
	if (rc == 0)
		rc = parse_desc_array(root, "manifests", true, &out->manifests, &out->n, what, err);
	json_object_put(root);
	if (rc < 0)
		image_index_free(out);
	return rc;
}

void image_index_free(struct image_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		image_desc_free(&ix->manifests[i]);
	free(ix->manifests);
	memset(ix, 0, sizeof(*ix));
}

int image_manifest_parse(const char *json, size_t len, const char *what, struct image_manifest *out,
			 struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	json_object *root = parse(json, len, what, err);
	if (!root)
		return -1;
	int rc = check_schema(root, what, err);
	json_object *cfg;
	if (rc == 0 && !json_object_object_get_ex(root, "config", &cfg))
		rc = bad(err, what, "config", "is missing");
	if (rc == 0)
		rc = parse_desc(cfg, &out->config, what, err);
	if (rc == 0)
		rc = parse_desc_array(root, "layers", false, &out->layers, &out->nlayers, what, err);
	json_object_put(root);
	if (rc < 0)
		image_manifest_free(out);
	return rc;
}

void image_manifest_free(struct image_manifest *m)
{
	image_desc_free(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		image_desc_free(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

int docker_manifest_parse(const char *json, size_t len, const char *what, struct docker_manifest *out,
			  struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	json_object *root = parse(json, len, what, err);
	if (!root)
		return -1;
	int rc = 0;
	if (!json_object_is_type(root, json_type_array)) {
		rc = bad(err, what, "document", "is not a JSON array");
		goto out;
	}
	size_t n = json_object_array_length(root);
	if (n && !(out->items = calloc(n, sizeof(*out->items)))) {
		rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_object *o = json_object_array_get_idx(root, i);
		struct docker_item *it = &out->items[i];
		out->n = i + 1;
		if (!json_object_is_type(o, json_type_object)) {
			rc = bad(err, what, "item", "is not an object");
			break;
		}
		rc = get_str(o, "Config", &it->config, what, err);
		if (rc == 0 && !it->config)
			rc = bad(err, what, "Config", "is missing");
		if (rc == 0)
			rc = get_strv(o, "RepoTags", &it->repo_tags, NULL, what, err);
		if (rc == 0 && !it->repo_tags && !(it->repo_tags = calloc(1, sizeof(char *))))
			rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
		if (rc == 0)
			rc = get_strv(o, "Layers", &it->layers, &it->nlayers, what, err);
		if (rc == 0 && !it->layers)
			rc = bad(err, what, "Layers", "is missing");
	}
out:
	json_object_put(root);
	if (rc < 0)
		docker_manifest_free(out);
	return rc;
}

void docker_manifest_free(struct docker_manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].config);
		strv_free(m->items[i].repo_tags);
		strv_free(m->items[i].layers);
	}
	free(m->items);
	memset(m, 0, sizeof(*m));
}

int image_config_parse(const char *json, size_t len, const char *what, struct image_config *out,
		       struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	json_object *root = parse(json, len, what, err);
	if (!root)
		return -1;
	int rc = 0;
	json_object *cfg = NULL, *rootfs = NULL;
	if (!json_object_is_type(root, json_type_object)) {
		rc = bad(err, what, "document", "is not a JSON object");
		goto out;
	}
	if (get_str(root, "architecture", &out->architecture, what, err) < 0 ||
	    get_str(root, "os", &out->os, what, err) < 0 ||
	    get_str(root, "variant", &out->variant, what, err) < 0 ||
	    get_str(root, "created", &out->created, what, err) < 0 ||
	    get_str(root, "author", &out->author, what, err) < 0) {
		rc = -1;
		goto out;
	}
	if (json_object_object_get_ex(root, "config", &cfg) && cfg) {
		if (!json_object_is_type(cfg, json_type_object)) {
			rc = bad(err, what, "config", "is not an object");
			goto out;
		}
		if (get_strv(cfg, "Env", &out->env, NULL, what, err) < 0 ||
		    get_strv(cfg, "Cmd", &out->cmd, NULL, what, err) < 0 ||
		    get_strv(cfg, "Entrypoint", &out->entrypoint, NULL, what, err) < 0 ||
		    get_str(cfg, "WorkingDir", &out->workdir, what, err) < 0 ||
		    get_str(cfg, "User", &out->user, what, err) < 0) {
			rc = -1;
			goto out;
		}
	}
	if (!json_object_object_get_ex(root, "rootfs", &rootfs) ||
	    !json_object_is_type(rootfs, json_type_object)) {
		rc = bad(err, what, "rootfs", "is missing or not an object");
		goto out;
	}
	if ((rc = get_strv(rootfs, "diff_ids", &out->diff_ids, &out->ndiff_ids, what, err)) < 0)
		goto out;
	for (size_t i = 0; i < out->ndiff_ids; i++)
		if (!digest_is_sha256(out->diff_ids[i])) {
			rc = carve_fail(err, E50_DOCKER_IMAGE_PULL,
					"%s: diff_id '%.80s' is not sha256:<64 hex "
					"digits>",
					what, out->diff_ids[i]);
			goto out;
		}
	if (!(out->raw = malloc(len + 1))) {
		rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	memcpy(out->raw, json, len);
	out->raw[len] = '\0';
	out->raw_len = len;
out:
	json_object_put(root);
	if (rc < 0)
		image_config_free(out);
	return rc;
}

void image_config_free(struct image_config *c)
{
	free(c->architecture);
	free(c->os);
	free(c->variant);
	strv_free(c->env);
	strv_free(c->cmd);
	strv_free(c->entrypoint);
	free(c->workdir);
	free(c->user);
	free(c->created);
	free(c->author);
	strv_free(c->diff_ids);
	free(c->raw);
	memset(c, 0, sizeof(*c));
}

bool media_is_index(const char *mt)
{
	return mt &&
		(!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		 !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

bool media_is_manifest(const char *mt)
{
	/* A descriptor without a media type is taken for a manifest; the
	 * parser then checks what it is. */
	return !mt || !strcmp(mt, "application/vnd.oci.image.manifest.v1+json") ||
		!strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json");
}

bool media_is_layer(const char *mt)
{
	static const char *const known[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	};
	if (!mt)
		return true; /* the stream itself says what it is */
	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
		if (!strcmp(mt, known[i]))
			return true;
	return false;
}
