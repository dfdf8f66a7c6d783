/* Private to the eif part: the metadata section's JSON. */
#ifndef CARVE_EIF_METADATA_H
#define CARVE_EIF_METADATA_H

#include "carve/eif.h"

struct json_object;
struct timespec;

#define EIF_BUILD_TOOL_VERSION "0.1.0"

/* BuildTime: requested >= 0 wins; else SOURCE_DATE_EPOCH; else now (with
 * its nanoseconds, as nitro-cli's Utc::now()). */
void eif_build_time(time_t requested, struct timespec *out);
/* OperatingSystem and KernelVersion from line 3 of the kernel's .config, as
 * nitro-cli splits it; "Unknown" for a word the line lacks. */
void eif_kernel_config_words(const char *line, char *os, size_t os_len, char *ver, size_t ver_len);
/* Compact JSON for the metadata section; E48 for a bad --metadata file. */
int eif_metadata_build(const struct eif_build_opts *o, int kernel_fd, char **out, size_t *out_len,
		       struct carve_err *err);

/* The section as describe-eif prints it: adds "ImageName", "ImageVersion"
 * and "Metadata" to out. A section nitro-cli cannot read is E35, one it
 * cannot print (CustomMetadata not an object) E17; out is then unchanged. */
int eif_metadata_describe(const char *text, size_t len, struct json_object *out, struct carve_err *err);

#endif
