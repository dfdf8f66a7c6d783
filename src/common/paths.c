/* See carve/paths.h. */
#include "carve/paths.h"

#include <stdlib.h>
#include <string.h>

#include "carve/util.h"

static bool as_nitro_cli;

void carve_set_invoked_as(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	const char *base = slash ? slash + 1 : argv0;
	as_nitro_cli = base && !strcmp(base, NITRO_CLI_NAME);
}

bool carve_invoked_as_nitro_cli(void) { return as_nitro_cli; }

/* Set and not empty: an empty variable is taken as unset, as carve's own
 * always were (nitro-cli would use "" as a relative path). */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

const char *carve_sockets_dir(void)
{
	const char *d = env("CARVE_SOCKETS_DIR");
	if (!d)
		d = env("NITRO_CLI_SOCKETS_PATH");
	if (!d)
		d = as_nitro_cli ? NITRO_SOCKETS_DIR : CARVE_SOCKETS_DEFAULT;
	return d;
}

const char *carve_logs_dir(void)
{
	const char *d = env("NITRO_CLI_LOGS_PATH");
	if (!d && as_nitro_cli)
		d = NITRO_LOGS_DIR;
	return d;
}

int carve_scratch_dir(const char **dir, struct carve_err *err)
{
	const char *d = env("NITRO_CLI_ARTIFACTS");
	if (d) {
		int rc = mkdir_p(d, 0755);
		if (rc < 0)
			return carve_fail(err, E19_FILE_OPERATION, "Could not create artifacts path %s: %s",
					  d, strerror(-rc));
		*dir = d;
		return 0;
	}
	d = env("TMPDIR");
	*dir = d ? d : "/tmp";
	return 0;
}
