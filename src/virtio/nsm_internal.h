/* virtio-nsm without its device thread, for the fuzz target. Private to the
 * virtio part. */
#ifndef CARVE_VIRTIO_NSM_INTERNAL_H
#define CARVE_VIRTIO_NSM_INTERNAL_H

#include "carve/virtio_nsm.h"

/* Takes queue 0 of run. 0 or -EINVAL. */
int virtio_nsm_attach(struct virtio_nsm *n, const struct virtio_run *run);
/* Serves every available command, as a kick would. */
void virtio_nsm_process(struct virtio_nsm *n);

#endif
