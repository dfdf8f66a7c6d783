/* What the files of src/vhost share and nobody else needs. */
#ifndef CARVE_VHOST_INTERNAL_H
#define CARVE_VHOST_INTERNAL_H

#include "carve/error.h"

/* E29 naming the ioctl (or step) the kernel refused and its errno; -1. */
int vhost_ioctl_fail(struct carve_err *err, const char *what, int e);

#endif
