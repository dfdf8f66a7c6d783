/* Choosing the image in an archive: docker save's manifest.json (RepoTags)
 * or an OCI index (ref names, nested indexes, platforms). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/digest.h"
#include "image/fstree.h"
#include "image/manifest.h"
#include "image/resolve.h"

#define MAX_NESTING 4
#define LIST_MAX 600 /* characters of choices listed in an error */

void resolved_free(struct resolved *r)
{
	free(r->config.member);
	free(r->config.digest);
	for (size_t i = 0; i < r->nlayers; i++) {
		free(r->layers[i].member);
		free(r->layers[i].digest);
	}
	free(r->layers);
	strv_free(r->tags);
	memset(r, 0, sizeof(*r));
}

static void blob_member(const char *digest, char *out, size_t len)
{
	snprintf(out, len, "blobs/sha256/%s", digest + 7);
}

int read_blob(const struct image_source *s, const char *digest, int64_t size, size_t max, char **data,
	      size_t *len, struct carve_err *err)
{
	char member[128];
	blob_member(digest, member, sizeof(member));
	int rc = source_read_small(s, member, max, data, len, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return carve_fail(err, E50_DOCKER_IMAGE_PULL,
				  "blob %s is missing from '%s'; the archive is "
				  "incomplete",
				  digest, s->path);
	char got[DIGEST_LEN + 1];
	if (digest_of(*data, *len, got) < 0 || strcmp(got, digest) || (size >= 0 && (uint64_t)size != *len)) {
		free(*data);
		return carve_fail(err, E50_DOCKER_IMAGE_PULL,
				  "blob %s in '%s' is damaged (its sha256 is %s, "
				  "%zu bytes); save or copy the image again",
				  digest, s->path, got, *len);
	}
	return 0;
}

/* "name:tag" as the user may type it against a stored name. */
static bool name_matches(const char *stored, const char *sel)
{
	if (!stored || !sel)
		return false;
	static const char *const prefixes[] = {"", "docker.io/library/", "docker.io/", "localhost/"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
		size_t pl = strlen(prefixes[i]);
		if (strncmp(stored, prefixes[i], pl))
			continue;
		const char *s = stored + pl;
		if (!strcmp(s, sel))
			return true;
		size_t sl = strlen(sel);
		/* A name without a tag means :latest, as docker says. */
		if (!strchr(sel, ':') && !strncmp(s, sel, sl) && !strcmp(s + sl, ":latest"))
			return true;
	}
	return false;
}

static void list_add(char *list, const char *item)
{
	size_t l = strlen(list);
	if (l + strlen(item) + 3 < LIST_MAX)
		snprintf(list + l, LIST_MAX - l, "%s%s", l ? ", " : "", item);
	else if (l + 5 < LIST_MAX && strcmp(list + (l > 3 ? l - 3 : 0), "..."))
		snprintf(list + l, LIST_MAX - l, ", ...");
}

static char **strv_of(const char *a, const char *b)
{
	char **v = calloc(3, sizeof(*v));
	size_t n = 0;
	if (v && a && !(v[n++] = strdup(a)))
		goto oom;
	if (v && b && (!a || strcmp(a, b)) && !(v[n++] = strdup(b)))
		goto oom;
	return v;
oom:
	strv_free(v);
	return NULL;
}

/* ---- docker save ---- */

/* "blobs/sha256/<hex>" and old "<hex>.json" names carry their digest. */
static char *digest_from_member(const char *member)
{
	char d[DIGEST_LEN + 8];
	if (!strncmp(member, "blobs/sha256/", 13))
		snprintf(d, sizeof(d), "sha256:%s", member + 13);
	else if (strlen(member) == 69 && !strcmp(member + 64, ".json"))
		snprintf(d, sizeof(d), "sha256:%.64s", member);
	else
		return NULL;
	return digest_is_sha256(d) ? strdup(d) : NULL;
}

static int clean_member(const char *in, char **out, const char *what, struct carve_err *err)
{
	char buf[4096];
	if (image_path_clean(in, buf, sizeof(buf)) < 0 || !buf[0])
		return carve_fail(err, E50_DOCKER_IMAGE_PULL,
				  "manifest.json: %s '%.200s' is not a path inside "
				  "the archive",
				  what, in);
	if (!(*out = strdup(buf)))
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	return 0;
}

static int pick_docker(const struct docker_manifest *m, const char *sel, const char *path, size_t *pick,
		       struct carve_err *err)
{
	char list[LIST_MAX] = "";
	for (size_t i = 0; i < m->n; i++) {
		if (!m->items[i].repo_tags[0]) {
			char at[24];
			snprintf(at, sizeof(at), "@%zu", i);
			list_add(list, at);
		}
		for (char **t = m->items[i].repo_tags; *t; t++)
			list_add(list, *t);
	}
	if (m->n == 0)
		return carve_fail(err, E50_DOCKER_IMAGE_PULL, "'%s' holds no images", path);
	if (!sel) {
		if (m->n == 1) {
			*pick = 0;
			return 0;
		}
		return carve_fail(err, E50_DOCKER_IMAGE_PULL,
				  "'%s' holds %zu images; choose one with "
				  "docker-archive:%s:NAME:TAG (or :@N): %s",
				  path, m->n, path, list);
	}
	if (sel[0] == '@') {
		char *end;
		unsigned long n = strtoul(sel + 1, &end, 10);
		if (sel[1] && !*end && n < m->n) {
			*pick = n;
			return 0;
		}
	}
	for (size_t i = 0; i < m->n; i++) {
		char *d = digest_from_member(m->items[i].config);
		bool hit = d && (!strcmp(d, sel) || !strcmp(d + 7, sel));
		free(d);
		for (char **t = m->items[i].repo_tags; !hit && *t; t++)
			hit = name_matches(*t, sel);
		if (hit) {
			*pick = i;
			return 0;
		}
	}
	return carve_fail(err, E50_DOCKER_IMAGE_PULL, "'%s' has no image '%s'; it holds: %s", path, sel,
			  list[0] ? list : "(untagged images only)");
}

static int resolve_docker(const struct image_source *s, const char *sel, struct resolved *out,
			  struct carve_err *err)
{
	char *json;
	size_t len;
	int rc = source_read_small(s, "manifest.json", IMAGE_JSON_MAX, &json, &len, err);
	if (rc <= 0)
		return rc < 0 ? -1
			      : carve_fail(err, E50_DOCKER_IMAGE_PULL,
					   "'%s' has no manifest.json: it is "
					   "not a docker save archive",
					   s->path);
	struct docker_manifest m;
	rc = docker_manifest_parse(json, len, "manifest.json", &m, err);
	free(json);
	if (rc < 0)
		return -1;
	size_t pick = 0;
	if ((rc = pick_docker(&m, sel, s->path, &pick, err)) < 0)
		goto out;
	const struct docker_item *it = &m.items[pick];
	if ((rc = clean_member(it->config, &out->config.member, "Config", err)) < 0)
		goto out;
	out->config.digest = digest_from_member(out->config.member);
	out->config.size = -1;
	if (it->nlayers && !(out->layers = calloc(it->nlayers, sizeof(*out->layers)))) {
		rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < it->nlayers && rc == 0; i++) {
		out->nlayers = i + 1;
		rc = clean_member(it->layers[i], &out->layers[i].member, "layer", err);
		out->layers[i].size = -1;
		if (rc == 0)
			out->layers[i].digest = digest_from_member(out->layers[i].member);
	}
	size_t nt = 0;
	while (it->repo_tags[nt])
		nt++;
	if (rc == 0 && !(out->tags = calloc(nt + 1, sizeof(char *))))
		rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
	for (size_t i = 0; rc == 0 && i < nt; i++)
		if (!(out->tags[i] = strdup(it->repo_tags[i])))
			rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
out:
	docker_manifest_free(&m);
	return rc;
}

/* ---- OCI layout ---- */

struct candidate {
	struct image_desc *d;         /* the manifest's descriptor */
	const struct image_desc *top; /* its entry in index.json (names live there) */
};

struct cand_list {
	struct candidate *c;
	size_t n, cap;
	struct image_index *owned[64]; /* nested indexes, kept for their descriptors */
	size_t nowned;
};

static int flatten(const struct image_source *s, struct image_index *ix, const struct image_desc *top,
		   int depth, struct cand_list *cl, struct carve_err *err)
{
	for (size_t i = 0; i < ix->n; i++) {
		struct image_desc *d = &ix->manifests[i];
		const struct image_desc *t = top ? top : d;
		if (media_is_index(d->media_type)) {
			if (depth >= MAX_NESTING || cl->nowned == sizeof(cl->owned) / sizeof(*cl->owned))
				return carve_fail(err, E50_DOCKER_IMAGE_PULL,
						  "'%s': image indexes nest too deep", s->path);
			char *json;
			size_t len;
			if (read_blob(s, d->digest, d->size, IMAGE_JSON_MAX, &json, &len, err) < 0)
				return -1;
			struct image_index *sub = calloc(1, sizeof(*sub));
			int rc = sub ? image_index_parse(json, len, d->digest, sub, err)
				     : carve_fail(err, E00_UNSPECIFIED, "out of memory");
			free(json);
			if (rc < 0) {
				free(sub);
				return -1;
			}
			cl->owned[cl->nowned++] = sub;
			if (flatten(s, sub, t, depth + 1, cl, err) < 0)
				return -1;
		} else if (media_is_manifest(d->media_type)) {
			if (cl->n == cl->cap) {
				size_t cap = cl->cap ? cl->cap * 2 : 8;
				struct candidate *c = realloc(cl->c, cap * sizeof(*c));
				if (!c)
					return carve_fail(err, E00_UNSPECIFIED, "out of memory");
				cl->c = c;
				cl->cap = cap;
			}
			cl->c[cl->n++] = (struct candidate){d, t};
		}
	}
	return 0;
}

static bool platform_is(const struct image_desc *d, const char *arch)
{
	return d->os && d->arch && !strcmp(d->os, "linux") && !strcmp(d->arch, arch);
}

static void describe(const struct candidate *c, char *out, size_t len)
{
	const char *name = c->top->ref_name ? c->top->ref_name : c->top->image_name;
	int n = snprintf(out, len, "%s", name ? name : c->d->digest);
	if (c->d->os && n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, " (%s/%s)", c->d->os, c->d->arch ? c->d->arch : "?");
}

static int pick_oci(struct cand_list *cl, const char *sel, const char *path, size_t *pick,
		    struct carve_err *err)
{
	char list[LIST_MAX] = "";
	size_t keep = 0;
	/* Attestation manifests (platform unknown/unknown) are not images. */
	for (size_t i = 0; i < cl->n; i++) {
		struct candidate *c = &cl->c[i];
		if (c->d->os && !strcmp(c->d->os, "unknown"))
			continue;
		char item[160];
		describe(c, item, sizeof(item));
		list_add(list, item);
		bool hit = !sel || !strcmp(sel, c->d->digest) || !strcmp(sel, c->top->digest) ||
			(c->top->ref_name && !strcmp(sel, c->top->ref_name)) ||
			name_matches(c->top->image_name, sel);
		if (hit)
			cl->c[keep++] = *c;
	}
	size_t total = cl->n;
	cl->n = keep;
	if (total == 0)
		return carve_fail(err, E50_DOCKER_IMAGE_PULL, "'%s' holds no images", path);
	if (keep == 0)
		return carve_fail(err, E50_DOCKER_IMAGE_PULL, "'%s' has no image '%s'; it holds: %s", path,
				  sel, list);
	if (keep == 1) {
		*pick = 0;
		return 0;
	}
	/* Several: the same image for several platforms, or several images. */
	static const char *const prefer[] = {"amd64", "arm64"};
	for (size_t p = 0; p < 2; p++) {
		size_t hits = 0, at = 0;
		for (size_t i = 0; i < keep; i++)
			if (platform_is(cl->c[i].d, prefer[p]))
				hits++, at = i;
		if (hits == 1) {
			*pick = at;
			return 0;
		}
		if (hits > 1)
			break;
	}
	return carve_fail(err, E50_DOCKER_IMAGE_PULL,
			  "'%s' holds several images%s%s; choose one with "
			  "oci-archive:%s:REF (or oci:DIR:REF, or a sha256: digest): %s",
			  path, sel ? " named " : "", sel ? sel : "", path, list);
}

static int resolve_oci(const struct image_source *s, const char *sel, struct resolved *out,
		       struct carve_err *err)
{
	char *json;
	size_t len;
	int rc = source_read_small(s, "index.json", IMAGE_JSON_MAX, &json, &len, err);
	if (rc <= 0)
		return rc < 0 ? -1
			      : carve_fail(err, E50_DOCKER_IMAGE_PULL,
					   "'%s' has no index.json: it is not "
					   "an OCI image layout or archive",
					   s->path);
	struct image_index ix;
	rc = image_index_parse(json, len, "index.json", &ix, err);
	free(json);
	if (rc < 0)
		return -1;
	struct cand_list cl = {0};
	struct image_manifest m = {0};
	size_t pick = 0;
	if ((rc = flatten(s, &ix, NULL, 0, &cl, err)) < 0 ||
	    (rc = pick_oci(&cl, sel, s->path, &pick, err)) < 0)
		goto out;
	const struct candidate *c = &cl.c[pick];
	if ((rc = read_blob(s, c->d->digest, c->d->size, IMAGE_JSON_MAX, &json, &len, err)) < 0)
		goto out;
	rc = image_manifest_parse(json, len, c->d->digest, &m, err);
	free(json);
	if (rc < 0)
		goto out;
	char member[128];
	blob_member(m.config.digest, member, sizeof(member));
	out->config.member = strdup(member);
	out->config.digest = strdup(m.config.digest);
	out->config.size = m.config.size;
	out->tags = strv_of(c->top->image_name, c->top->ref_name);
	if (!out->config.member || !out->config.digest || !out->tags ||
	    (m.nlayers && !(out->layers = calloc(m.nlayers, sizeof(*out->layers))))) {
		rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m.nlayers; i++) {
		const struct image_desc *l = &m.layers[i];
		if (!media_is_layer(l->media_type)) {
			rc = carve_fail(err, E50_DOCKER_IMAGE_PULL,
					"layer %zu has media type '%s', which carve does "
					"not read (it reads tar, tar+gzip and tar+zstd layers)",
					i + 1, l->media_type);
			goto out;
		}
		blob_member(l->digest, member, sizeof(member));
		out->nlayers = i + 1;
		out->layers[i].member = strdup(member);
		out->layers[i].digest = strdup(l->digest);
		out->layers[i].size = l->size;
		if (!out->layers[i].member || !out->layers[i].digest) {
			rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
			goto out;
		}
	}
out:
	image_manifest_free(&m);
	for (size_t i = 0; i < cl.nowned; i++) {
		image_index_free(cl.owned[i]);
		free(cl.owned[i]);
	}
	free(cl.c);
	image_index_free(&ix);
	return rc;
}

int image_resolve(const struct image_source *s, enum image_transport transport, const char *selector,
		  struct resolved *out, struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	int rc;
	if (transport == IMAGE_AUTO) {
		/* docker save since Docker 25 holds both; manifest.json has the tags. */
		struct source_stream st;
		rc = source_stream_open(s, "manifest.json", &st, err);
		if (rc < 0)
			return -1;
		source_stream_close(&st);
		transport = rc ? IMAGE_DOCKER_ARCHIVE : IMAGE_OCI_ARCHIVE;
	}
	if (transport == IMAGE_OCI_DIR && !source_is_dir(s))
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "oci:%s is not a directory; use oci-archive: for a "
				  "tar",
				  s->path);
	if (transport == IMAGE_DOCKER_ARCHIVE)
		rc = resolve_docker(s, selector, out, err);
	else
		rc = resolve_oci(s, selector, out, err);
	if (rc < 0)
		resolved_free(out);
	return rc;
}
