/* Loading an image: open the archive, resolve the image, check and parse its
 * config, apply its layers; then hand the result out (see carve/image.h). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/image.h"
#include "carve/json_serde.h"
#include "carve/paths.h"
#include "image/docker_info.h"
#include "image/digest.h"
#include "image/fstree.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "image/resolve.h"

struct image {
	struct image_config cfg;
	char id[DIGEST_LEN + 1];
	char **tags;
	struct fs_tree tree;
	struct spill sp;
	uint64_t content_bytes;
};

/* File contents wait in a file nobody else can open: unlinked from birth
 * (O_TMPFILE), or right after creation where the filesystem lacks it. */
static int spill_open(struct spill *sp, struct carve_err *err)
{
	const char *dir;
	if (carve_scratch_dir(&dir, err) < 0)
		return -1;
	sp->end = 0;
	sp->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sp->fd >= 0)
		return 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/carve-image.XXXXXX", dir);
	sp->fd = mkostemp(path, O_CLOEXEC);
	if (sp->fd < 0)
		return carve_fail(err, E19_FILE_OPERATION,
				  "cannot create a temporary file in %s: %s; set TMPDIR "
				  "(or NITRO_CLI_ARTIFACTS) to a writable directory",
				  dir, strerror(errno));
	unlink(path);
	return 0;
}

static int load_config(const struct image_source *s, const struct resolved *r, struct image *img,
		       struct carve_err *err)
{
	char *json;
	size_t len;
	int rc = source_read_small(s, r->config.member, IMAGE_JSON_MAX, &json, &len, err);
	if (rc <= 0)
		return rc < 0 ? -1
			      : carve_fail(err, E50_DOCKER_IMAGE_PULL,
					   "the image config '%s' is missing from "
					   "'%s'; the archive is incomplete",
					   r->config.member, s->path);
	if (digest_of(json, len, img->id) < 0) {
		free(json);
		return carve_fail(err, E00_UNSPECIFIED, "OpenSSL has no SHA-256");
	}
	if ((r->config.digest && strcmp(img->id, r->config.digest)) ||
	    (r->config.size >= 0 && (uint64_t)r->config.size != len)) {
		free(json);
		return carve_fail(err, E50_DOCKER_IMAGE_PULL,
				  "the image config '%s' is damaged (its sha256 is %s); "
				  "save or copy the image again",
				  r->config.member, img->id);
	}
	rc = image_config_parse(json, len, r->config.member, &img->cfg, err);
	free(json);
	if (rc < 0)
		return -1;
	if (img->cfg.ndiff_ids != r->nlayers)
		return carve_fail(err, E50_DOCKER_IMAGE_PULL,
				  "the image has %zu layers but its config lists %zu "
				  "diff_ids; the image is damaged",
				  r->nlayers, img->cfg.ndiff_ids);
	return 0;
}

static void count_bytes(const struct fs_node *n, uint64_t *sum)
{
	if (n->data)
		*sum += n->data->size;
	for (size_t i = 0; i < n->nkids; i++)
		count_bytes(n->kids[i], sum);
}

int image_load(const struct image_ref *ref, struct image **out, struct carve_err *err)
{
	*out = NULL;
	struct image_source s;
	if (source_open(&s, ref->path, err) < 0)
		return -1;
	struct image *img = calloc(1, sizeof(*img));
	struct resolved r = {0};
	int rc = -1;
	if (!img) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	img->sp.fd = -1;
	fs_tree_init(&img->tree);
	if (image_resolve(&s, ref->transport, ref->selector, &r, err) < 0 ||
	    load_config(&s, &r, img, err) < 0 || spill_open(&img->sp, err) < 0)
		goto out;
	img->tags = r.tags;
	r.tags = NULL;
	for (size_t i = 0; i < r.nlayers; i++) {
		struct layer_spec ls = {
			.index = (unsigned)i + 1,
			.member = r.layers[i].member,
			.digest = r.layers[i].digest,
			.size = r.layers[i].size,
			.diff_id = img->cfg.diff_ids[i],
		};
		if (layer_apply(&s, &ls, &img->tree, &img->sp, err) < 0)
			goto out;
	}
	count_bytes(&img->tree.root, &img->content_bytes);
	rc = 0;
out:
	resolved_free(&r);
	source_close(&s);
	if (rc == 0)
		*out = img;
	else
		image_free(img);
	return rc;
}

void image_free(struct image *img)
{
	if (!img)
		return;
	image_config_free(&img->cfg);
	strv_free(img->tags);
	fs_tree_free(&img->tree);
	if (img->sp.fd >= 0)
		close(img->sp.fd);
	free(img);
}

const struct image_config *image_get_config(const struct image *img) { return &img->cfg; }

const char *image_id(const struct image *img) { return img->id; }

const char *const *image_tags(const struct image *img)
{
	static const char *const none[] = {NULL};
	return img->tags ? (const char *const *)img->tags : none;
}

static int walk(const struct fs_node *dir, char *path, size_t len, image_walk_fn fn, void *ctx,
		struct carve_err *err)
{
	for (size_t i = 0; i < dir->nkids; i++) {
		const struct fs_node *n = dir->kids[i];
		size_t l = strlen(n->name);
		if (len + l + 2 > 4096)
			return carve_fail(err, E48_EIF_BUILDING,
					  "a path in the image is longer than 4096 bytes");
		if (len)
			path[len] = '/';
		memcpy(path + len + (len ? 1 : 0), n->name, l + 1);
		struct image_entry e = {
			.path = path,
			.mode = n->mode,
			.uid = n->uid,
			.gid = n->gid,
			.target = n->target,
			.rdev = n->rdev,
		};
		if (n->data) {
			e.size = n->data->size;
			e.data_off = n->data->off;
			e.link_id = n->data->id;
			e.nlink = n->data->refs;
		}
		int rc = fn(ctx, &e, err);
		if (rc == 0 && S_ISDIR(n->mode))
			rc = walk(n, path, len + (len ? 1 : 0) + l, fn, ctx, err);
		path[len] = '\0';
		if (rc)
			return rc;
	}
	return 0;
}

int image_walk(const struct image *img, image_walk_fn fn, void *ctx, struct carve_err *err)
{
	char path[4096] = "";
	return walk(&img->tree.root, path, 0, fn, ctx, err);
}

ssize_t image_read(const struct image *img, const struct image_entry *e, uint64_t off, void *buf, size_t len)
{
	if (off >= e->size)
		return 0;
	if (len > e->size - off)
		len = (size_t)(e->size - off);
	for (;;) {
		ssize_t n = pread(img->sp.fd, buf, len, (off_t)(e->data_off + off));
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

static json_object *str_or_empty(const char *s) { return json_object_new_string(s ? s : ""); }

char *image_docker_info(const struct image *img)
{
	json_object *raw = json_tokener_parse(img->cfg.raw ? img->cfg.raw : "{}");
	json_object *o = json_object_new_object(), *v;
	if (!o) {
		json_object_put(raw);
		return NULL;
	}
	json_object *tags = json_object_new_array();
	for (const char *const *t = image_tags(img); *t; t++)
		json_object_array_add(tags, json_object_new_string(*t));
	json_object *layers = json_object_new_array();
	for (size_t i = 0; i < img->cfg.ndiff_ids; i++)
		json_object_array_add(layers, json_object_new_string(img->cfg.diff_ids[i]));
	json_object *rootfs = json_object_new_object();
	json_object_object_add(rootfs, "Type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "Layers", layers);

	/* The keys of docker's image inspect that an archive can answer, as
	 * nitro-cli stores them: docker inspect read into bollard's ImageInspect
	 * and written back as a serde_json::Value (aws-nitro-enclaves-cli v1.5.0
	 * enclave_build/src/docker.rs:255-264, enclave_build/src/lib.rs:148-195).
	 * The daemon's own (GraphDriver, Metadata, Descriptor) are left out. */
	json_object_object_add(o, "Id", json_object_new_string(img->id));
	json_object_object_add(o, "RepoTags", tags);
	json_object_object_add(o, "RepoDigests", json_object_new_array());
	json_object_object_add(o, "Parent", json_object_new_string(""));
	json_object_object_add(o, "Comment",
			       json_object_object_get_ex(raw, "comment", &v) ? json_object_get(v)
									     : json_object_new_string(""));
	json_object_object_add(o, "Created", str_or_empty(img->cfg.created));
	json_object_object_add(o, "DockerVersion",
			       json_object_object_get_ex(raw, "docker_version", &v)
				       ? json_object_get(v)
				       : json_object_new_string(""));
	json_object_object_add(o, "Author", str_or_empty(img->cfg.author));
	if (json_object_object_get_ex(raw, "config", &v) && (v = docker_info_config(v)))
		json_object_object_add(o, "Config", v);
	json_object_object_add(o, "Architecture", str_or_empty(img->cfg.architecture));
	if (img->cfg.variant)
		json_object_object_add(o, "Variant", json_object_new_string(img->cfg.variant));
	json_object_object_add(o, "Os", str_or_empty(img->cfg.os));
	if (json_object_object_get_ex(raw, "os.version", &v) && json_object_is_type(v, json_type_string))
		json_object_object_add(o, "OsVersion", json_object_get(v));
	json_object_object_add(o, "Size", json_object_new_int64((int64_t)img->content_bytes));
	json_object_object_add(o, "RootFS", rootfs);
	/* nitro-cli keeps it as a serde_json::Value: its keys sorted. */
	json_object *sorted = json_sorted_copy(o);
	json_object_put(o);
	char *text = sorted ? strdup(json_object_to_json_string_ext(
				      sorted, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))
			    : NULL;
	json_object_put(sorted);
	json_object_put(raw);
	return text;
}
