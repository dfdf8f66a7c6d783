/* Private to the eif part: the metadata section's JSON. */
#ifndef CARVE_EIF_METADATA_H
#define CARVE_EIF_METADATA_H

#include "carve/eif.h"

#define EIF_BUILD_TOOL_VERSION "0.1.0"

/* requested >= 0 wins; else SOURCE_DATE_EPOCH; else now. */
time_t eif_build_time(time_t requested);
/* Compact JSON for the metadata section; E48 for a bad --metadata file. */
int eif_metadata_build(const struct eif_build_opts *o, int kernel_fd, char **out, size_t *out_len,
		       struct carve_err *err);

#endif
