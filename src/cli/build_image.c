/* build-enclave --docker-uri / --docker-dir: an EIF from a container image
 * held in a local archive (see build.h and docs/images.md). */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carve/image.h"
#include "carve/paths.h"
#include "carve/ramdisk.h"
#include "cli/build.h"

extern char **environ;

/* nitro-cli's rule (aws-nitro-enclaves-cli, build-enclave): amd64 -> flags 0,
 * arm64 -> flags 1, anything else is UnsupportedArchError. */
static int set_arch(const struct image_config *c, struct eif_build_opts *o, struct carve_err *err)
{
	const char *arch = c->architecture ? c->architecture : "";
	if (!strcmp(arch, "amd64")) {
		o->arm64 = false;
		return 0;
	}
	if (!strcmp(arch, "arm64")) {
		o->arm64 = true;
		return 0;
	}
	return carve_fail(
		err, E48_EIF_BUILDING,
		"UnsupportedArchError: the image is for '%s'; enclaves run "
		"amd64 or arm64 images; build or pull the image for one of them (--platform linux/amd64)",
		*arch ? arch : "(no architecture)");
}

/* ImageName as nitro-cli derives it from the docker URI, here the image's
 * tag: the text before the first ':' (uri_split[0], so "localhost:5000/app:1"
 * gives "localhost"); ImageVersion: the image id without "sha256:"
 * (aws-nitro-enclaves-cli v1.5.0 enclave_build/src/lib.rs:154-183). */
static void set_names(const struct image *img, struct eif_build_opts *o, struct build_image *bi)
{
	const char *tag = image_tags(img)[0];
	if (!o->image_name && tag) {
		size_t n = strcspn(tag, ":");
		snprintf(bi->name, sizeof(bi->name), "%.*s", (int)n, tag);
		o->image_name = bi->name;
	}
	if (!o->image_version) {
		snprintf(bi->version, sizeof(bi->version), "%s", image_id(img) + strlen("sha256:"));
		o->image_version = bi->version;
	}
}

int build_image_ramdisk(const char *uri, const char *out_path, struct eif_build_opts *o,
			struct build_image *bi, struct carve_err *err)
{
	struct image_ref ref;
	if (image_ref_parse(uri, &ref, err) < 0)
		return -1;
	struct image *img = NULL;
	int rc = image_load(&ref, &img, err);
	if (rc == 0)
		rc = set_arch(image_get_config(img), o, err);
	if (rc == 0)
		rc = ramdisk_write_image_app(img, out_path, err);
	if (rc == 0 && !(bi->docker_info = image_docker_info(img)))
		rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
	if (rc == 0) {
		set_names(img, o, bi);
		o->docker_info = bi->docker_info;
	}
	image_free(img);
	image_ref_free(&ref);
	return rc;
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t l = strcspn(p, ":");
		if (l && snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, p, prog) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		p += l + (p[l] == ':');
	}
	return false;
}

/* Runs buildah with its output on our stderr (stdout is the JSON answer). */
static int run_buildah(char *const argv[], struct carve_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	pid_t pid;
	int rc = posix_spawnp(&pid, "buildah", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return carve_fail(err, E49_DOCKER_IMAGE_BUILD, "cannot run buildah: %s", strerror(rc));
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return carve_fail(err, E49_DOCKER_IMAGE_BUILD, "waiting for buildah: %s",
					  strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return carve_fail(err, E49_DOCKER_IMAGE_BUILD, "'buildah %s' failed (see its output above)",
				  argv[1]);
	return 0;
}

int build_image_from_dir(const char *dir, const char *tag, const char **uri, struct build_image *bi,
			 struct carve_err *err)
{
	if (!in_path("buildah"))
		return carve_fail(
			err, E49_DOCKER_IMAGE_BUILD,
			"--docker-dir builds a Dockerfile without a Docker "
			"daemon through buildah, which is not installed: install it (apt-get install "
			"buildah), or build the image elsewhere, save it (docker save -o app.tar %s) and "
			"pass --docker-uri docker-archive:app.tar",
			tag);
	const char *tmp;
	if (carve_scratch_dir(&tmp, err) < 0)
		return -1;
	snprintf(bi->built_archive, sizeof(bi->built_archive), "%s/carve-build-%d.tar", tmp, (int)getpid());
	char dest[PATH_MAX + 16];
	snprintf(dest, sizeof(dest), "oci-archive:%s", bi->built_archive);
	char *build[] = {"buildah", "build", "--tag", (char *)tag, (char *)dir, NULL};
	char *push[] = {"buildah", "push", (char *)tag, dest, NULL};
	if (run_buildah(build, err) < 0 || run_buildah(push, err) < 0)
		return -1;
	snprintf(bi->built_uri, sizeof(bi->built_uri), "oci-archive:%s", bi->built_archive);
	*uri = bi->built_uri;
	return 0;
}

void build_image_cleanup(struct build_image *bi)
{
	free(bi->docker_info);
	bi->docker_info = NULL;
	if (bi->built_archive[0])
		unlink(bi->built_archive);
	bi->built_archive[0] = '\0';
}
