/* virtio-nsm, device id 33 (Linux drivers/misc/nsm.c): the
 * transport of the Nitro Secure Module; the requests themselves are the nsm
 * engine's (carve/nsm.h). */
#ifndef CARVE_VIRTIO_NSM_H
#define CARVE_VIRTIO_NSM_H

#include "carve/virtio_mmio.h"

/* ---- virtio-nsm (device id 33) ---- */

#define VIRTIO_NSM_REQUEST_MAX 0x1000
#define VIRTIO_NSM_RESPONSE_MAX 0x3000
#define VIRTIO_NSM_QUEUE_SIZE 64

/* Handles one request on the device thread: writes at most resp_cap bytes
 * to resp and their count to *resp_len. A negative return completes the
 * request with no response bytes. nsm_handle_request fits (through a
 * wrapper that passes the engine). */
struct virtio_nsm_handler {
	int (*handle)(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap,
		      size_t *resp_len);
	void *ctx;
};

struct virtio_nsm;

struct virtio_nsm *virtio_nsm_create(const struct virtio_nsm_handler *h);
void virtio_nsm_destroy(struct virtio_nsm *n);
const struct virtio_backend *virtio_nsm_backend(void);

#endif
