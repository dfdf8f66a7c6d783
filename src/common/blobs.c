/* Where carve finds the files it ships beside the binary (the enclave
 * kernels, their command line and bootstrap ramdisk). In order:
 *
 *   1. $CARVE_BLOBS
 *   2. $NITRO_CLI_BLOBS (nitro-cli's blobs directory, src/lib.rs:362-368;
 *      the blobs carve shares with it keep its names, e.g. bzImage, cmdline)
 *   3. the install tree: <dir of the executable>/../share/carve/blobs, as
 *      `make install` lays it out ($(PREFIX)/bin, $(PREFIX)/share/...)
 *   4. only when there is no install tree: the build tree, build/guest next
 *      to build/bin (and ../../build/guest for the sanitizer tree).
 *
 * An installed carve never looks at the build-tree guesses: installed in
 * ~/.local/bin, ../../build/guest would be ~/build/guest, some unrelated
 * directory whose kernel carve would silently build with. nitro-cli's
 * default, /usr/share/nitro_enclaves/blobs, is not searched: a host with
 * nitro-cli installed would otherwise change which kernel carve builds with
 * without being asked. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/util.h"

#define MAX_CANDIDATES 5

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int carve_find_blob_from(const char *exe_dir, const char *name, char *out, size_t len)
{
	const char *env = getenv("CARVE_BLOBS"), *nitro_env = getenv("NITRO_CLI_BLOBS");
	char candidates[MAX_CANDIDATES][2 * PATH_MAX];
	char resolved[PATH_MAX];
	int count = 0;
	if (env && *env)
		snprintf(candidates[count++], sizeof(candidates[0]), "%s/%s", env, name);
	if (nitro_env && *nitro_env)
		snprintf(candidates[count++], sizeof(candidates[0]), "%s/%s", nitro_env, name);
	if (exe_dir) {
		char install[PATH_MAX + 64];
		snprintf(install, sizeof(install), "%s/../share/carve/blobs", exe_dir);
		if (is_dir(install)) {
			snprintf(candidates[count++], sizeof(candidates[0]), "%s/%s", install, name);
		} else {
			snprintf(candidates[count++], sizeof(candidates[0]), "%s/../guest/%s", exe_dir, name);
			/* The sanitizer tree (build-san) uses the release tree's
			 * guest images: they are built once, without sanitizers. */
			snprintf(candidates[count++], sizeof(candidates[0]), "%s/../../build/guest/%s",
				 exe_dir, name);
		}
	}
	for (int i = 0; i < count; i++) {
		if (access(candidates[i], R_OK) == 0 && realpath(candidates[i], resolved)) {
			if (strlen(resolved) >= len)
				return -1;
			memcpy(out, resolved, strlen(resolved) + 1);
			return 0;
		}
	}
	return -1;
}

int carve_find_blob(const char *name, char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash = NULL;
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0'; /* .../bin */
	}
	return carve_find_blob_from(slash ? exe : NULL, name, out, len);
}
