/* Where carve keeps its files, and the name it was started under.
 *
 * The binary answers to `carve` and to `nitro-cli`. Started as nitro-cli it
 * takes nitro-cli's defaults where a script could notice them (the sockets
 * directory, the error logs); started as carve it keeps its own. nitro-cli's
 * environment variables are honoured under either name, and carve's own
 * variables win over them when both are set (aws-nitro-enclaves-cli v1.5.0:
 * src/common/mod.rs:50-53, src/common/logger.rs:26-32, src/lib.rs:51,362-399). */
#ifndef CARVE_PATHS_H
#define CARVE_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "carve/error.h"

#define NITRO_CLI_NAME "nitro-cli"
#define NITRO_SOCKETS_DIR "/run/nitro_enclaves"
#define NITRO_LOGS_DIR "/var/log/nitro_enclaves"
#define CARVE_SOCKETS_DEFAULT "/run/carve"

/* Started as nitro-cli: argv[0]'s last path component is "nitro-cli". */
void carve_set_invoked_as(const char *argv0);
bool carve_invoked_as_nitro_cli(void);

/* The enclaves' sockets and records: $CARVE_SOCKETS_DIR, else
 * $NITRO_CLI_SOCKETS_PATH, else /run/nitro_enclaves as nitro-cli and
 * /run/carve as carve. */
const char *carve_sockets_dir(void);

/* Where a failure's error log goes: $NITRO_CLI_LOGS_PATH, else
 * /var/log/nitro_enclaves as nitro-cli; NULL as carve (carve writes none). */
const char *carve_logs_dir(void);

/* Scratch space for building images: $NITRO_CLI_ARTIFACTS (made if missing,
 * E19 if it cannot be, as nitro-cli's artifacts_path), else $TMPDIR, else
 * /tmp. */
int carve_scratch_dir(const char **dir, struct carve_err *err);

#endif
