/* Image references as containers/image spells its local transports
 * (Docker's image spec v1.2 and the OCI image layout), and plain paths. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "carve/image.h"

static const struct {
	const char *prefix;
	enum image_transport t;
} transports[] = {
	{"docker-archive:", IMAGE_DOCKER_ARCHIVE},
	{"oci-archive:", IMAGE_OCI_ARCHIVE},
	{"oci:", IMAGE_OCI_DIR},
};

static int set(struct image_ref *ref, enum image_transport t, const char *path, size_t path_len,
	       const char *sel, struct carve_err *err)
{
	ref->transport = t;
	ref->path = strndup(path, path_len);
	ref->selector = sel && *sel ? strdup(sel) : NULL;
	if (!ref->path || (sel && *sel && !ref->selector)) {
		image_ref_free(ref);
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	}
	return 0;
}

int image_ref_parse(const char *text, struct image_ref *ref, struct carve_err *err)
{
	memset(ref, 0, sizeof(*ref));
	if (!text || !*text)
		return carve_fail(err, E03_INVALID_ARGUMENT, "--docker-uri is empty");
	for (size_t i = 0; i < sizeof(transports) / sizeof(*transports); i++) {
		size_t pl = strlen(transports[i].prefix);
		if (strncmp(text, transports[i].prefix, pl))
			continue;
		/* As containers/image does: the path ends at the first ':'. */
		const char *path = text + pl, *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		if (len == 0)
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "--docker-uri '%s' names no path after '%s'", text,
					  transports[i].prefix);
		return set(ref, transports[i].t, path, len, colon ? colon + 1 : NULL, err);
	}
	struct stat st;
	if (stat(text, &st) == 0)
		return set(ref, IMAGE_AUTO, text, strlen(text), NULL, err);
	/* "PATH:selector" when PATH exists. */
	for (const char *c = strchr(text, ':'); c; c = strchr(c + 1, ':')) {
		char *path = strndup(text, (size_t)(c - text));
		if (!path)
			return carve_fail(err, E00_UNSPECIFIED, "out of memory");
		int found = *path && stat(path, &st) == 0;
		free(path);
		if (found)
			return set(ref, IMAGE_AUTO, text, (size_t)(c - text), c + 1, err);
	}
	return carve_fail(
		err, E50_DOCKER_IMAGE_PULL,
		"no image archive at '%s'. carve builds from local images without a Docker daemon: "
		"give docker-archive:FILE[:name:tag], oci-archive:FILE[:ref], oci:DIR[:ref] or a path; "
		"make one with 'docker save -o app.tar %s' or 'skopeo copy docker://%s oci-archive:app.tar'",
		text, text, text);
}

void image_ref_free(struct image_ref *ref)
{
	free(ref->path);
	free(ref->selector);
	memset(ref, 0, sizeof(*ref));
}
