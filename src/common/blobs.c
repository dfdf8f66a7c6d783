/* Where carve finds the files it ships beside the binary (the enclave
 * kernel): $CARVE_BLOBS, then $NITRO_CLI_BLOBS (nitro-cli's blobs directory,
 * src/lib.rs:362-368; the blobs carve shares with it keep its names, e.g.
 * bzImage and cmdline), then the build tree (build/guest next to
 * build/bin), then an install tree (<prefix>/share/carve). nitro-cli's
 * default, /usr/share/nitro_enclaves/blobs, is not searched: a host with
 * nitro-cli installed would otherwise change which kernel carve builds with
 * without being asked. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/util.h"

int carve_find_blob(const char *name, char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *env = getenv("CARVE_BLOBS"), *nitro_env = getenv("NITRO_CLI_BLOBS");
	char candidates[5][PATH_MAX + 64];
	int count = 0;
	if (env && *env)
		snprintf(candidates[count++], sizeof(candidates[0]), "%s/%s", env, name);
	if (nitro_env && *nitro_env)
		snprintf(candidates[count++], sizeof(candidates[0]), "%s/%s", nitro_env, name);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0'; /* .../bin */
			snprintf(candidates[count++], sizeof(candidates[0]), "%s/../guest/%s", exe, name);
			/* The sanitizer tree (build-san) uses the release tree's guest
			 * images: they are built once, without sanitizers. */
			snprintf(candidates[count++], sizeof(candidates[0]), "%s/../../build/guest/%s", exe,
				 name);
			snprintf(candidates[count++], sizeof(candidates[0]), "%s/../share/carve/%s", exe,
				 name);
		}
	}
	for (int i = 0; i < count; i++) {
		if (access(candidates[i], R_OK) == 0 && realpath(candidates[i], exe)) {
			if (strlen(exe) >= len)
				return -1;
			memcpy(out, exe, strlen(exe) + 1);
			return 0;
		}
	}
	return -1;
}
