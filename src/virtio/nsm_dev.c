/* virtio-nsm, device id 33 (Linux drivers/misc/nsm.c,
 * QEMU's virtio-nsm).
 *
 * One queue, no config space, no device features. A command reaches the
 * device in either of two shapes, both served:
 *   - what the Linux nsm driver does: two chains, a readable one holding the
 *     request, then a writable one (0x3000 bytes) for the response. The
 *     device completes them in that order, the request with used.len 0 and
 *     the response with used.len = response bytes (the driver fails with
 *     -ENODATA otherwise);
 *   - one chain with the readable request followed by the writable buffer,
 *     completed with used.len = response bytes.
 * A request larger than 0x1000 bytes gets {"Error": "InputTooLarge"} without
 * reaching the handler. The request is copied out of guest memory before the
 * handler sees it, and the response built in device memory before it is
 * copied in, so a guest rewriting its buffers meanwhile changes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "carve/virtio_nsm.h"
#include "virtio/nsm_internal.h"
#include "virtio/worker.h"

struct virtio_nsm {
	struct virtio_nsm_handler h;
	struct vworker w;
	struct virtio_run run;
	struct virtq q;
	bool have_q;
	struct virtq_chain *chain, *pending; /* pending: a request waiting for its response chain */
	bool have_pending;
	uint8_t req[VIRTIO_NSM_REQUEST_MAX];
	uint8_t resp[VIRTIO_NSM_RESPONSE_MAX];
};

/* CBOR {"Error": "InputTooLarge"}: map(1), text(5), text(13). */
static const uint8_t too_large[] = {0xa1, 0x65, 'E', 'r', 'r', 'o', 'r', 0x6d, 'I', 'n', 'p',
				    'u',  't',  'T', 'o', 'o', 'L', 'a', 'r',  'g', 'e'};

/* Runs one command: request from req (its readable part), response into
 * out (its writable part). Returns the response bytes written. */
static uint32_t serve(struct virtio_nsm *n, const struct virtq_chain *req, const struct virtq_chain *out)
{
	size_t cap = out->wlen < VIRTIO_NSM_RESPONSE_MAX ? out->wlen : VIRTIO_NSM_RESPONSE_MAX;
	size_t len = 0;
	if (req->rlen > VIRTIO_NSM_REQUEST_MAX) {
		if (cap < sizeof(too_large))
			return 0;
		memcpy(n->resp, too_large, sizeof(too_large));
		len = sizeof(too_large);
	} else {
		size_t rl = virtq_chain_read(req, 0, n->req, req->rlen);
		if (n->h.handle(n->h.ctx, n->req, rl, n->resp, cap, &len) < 0)
			len = 0;
		if (len > cap)
			len = 0; /* a handler that overran its buffer: send nothing */
	}
	return (uint32_t)virtq_chain_write(out, 0, n->resp, len);
}

static void swap(struct virtq_chain **a, struct virtq_chain **b)
{
	struct virtq_chain *t = *a;
	*a = *b;
	*b = t;
}

/* Serves every available command. */
static void process(struct virtio_nsm *n)
{
	if (!n->have_q)
		return;
	bool pushed = false;
	for (;;) {
		int r = virtq_pop(&n->q, n->chain);
		if (r < 0) {
			virtio_mmio_needs_reset(n->run.transport, n->q.why);
			break;
		}
		if (r == 0) {
			if (virtq_idle(&n->q))
				continue;
			break;
		}
		struct virtq_chain *c = n->chain;
		if (n->have_pending) {
			if (c->nr != 0 || c->nw == 0) {
				virtio_mmio_needs_reset(n->run.transport,
							"NSM request not followed by a response buffer");
				break;
			}
			uint32_t len = serve(n, n->pending, c);
			virtq_push(&n->q, n->pending, 0);
			virtq_push(&n->q, c, len);
			n->have_pending = false;
			pushed = true;
		} else if (c->nr > 0 && c->nw > 0) {
			virtq_push(&n->q, c, serve(n, c, c));
			pushed = true;
		} else if (c->nr > 0) {
			swap(&n->chain, &n->pending);
			n->have_pending = true;
		} else {
			virtio_mmio_needs_reset(n->run.transport, "NSM chain without a request");
			break;
		}
	}
	if (virtio_mmio_refused(n->run.transport, &n->q))
		pushed = true;
	if (pushed && virtq_should_notify(&n->q))
		virtio_mmio_interrupt(n->run.transport, VIRTIO_INT_USED);
}

static void on_event(void *ctx, uint64_t tag, uint32_t events)
{
	(void)events;
	if (tag == 0)
		process(ctx);
}

static int on_poll(void *ctx)
{
	(void)ctx;
	return -1;
}

void virtio_nsm_process(struct virtio_nsm *n) { process(n); }

int virtio_nsm_attach(struct virtio_nsm *n, const struct virtio_run *run)
{
	n->run = *run;
	n->have_pending = false;
	n->have_q = false;
	if (run->q[0].ready) {
		if (virtq_init(&n->q, &n->run.mem, run->q[0].num, run->q[0].desc, run->q[0].avail,
			       run->q[0].used, run->features) < 0)
			return -EINVAL;
		n->have_q = true;
	}
	return 0;
}

static int nsm_start(void *ctx, const struct virtio_run *run)
{
	struct virtio_nsm *n = ctx;
	int r = virtio_nsm_attach(n, run);
	return r < 0 ? r : vworker_start(&n->w, &n->run);
}

static void nsm_stop(void *ctx)
{
	struct virtio_nsm *n = ctx;
	vworker_stop(&n->w);
	n->have_q = false;
	n->have_pending = false;
}

static const struct virtio_backend nsm_backend = {
	.device_id = VIRTIO_ID_NSM,
	.nqueues = 1,
	.queue_max = VIRTIO_NSM_QUEUE_SIZE,
	.config_size = 0,
	.features = 0,
	.config_read = NULL,
	.start = nsm_start,
	.stop = nsm_stop,
};

const struct virtio_backend *virtio_nsm_backend(void) { return &nsm_backend; }

struct virtio_nsm *virtio_nsm_create(const struct virtio_nsm_handler *h)
{
	if (!h || !h->handle) {
		errno = EINVAL;
		return NULL;
	}
	struct virtio_nsm *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->h = *h;
	n->chain = malloc(sizeof(*n->chain));
	n->pending = malloc(sizeof(*n->pending));
	if (!n->chain || !n->pending || vworker_init(&n->w, "virtio-nsm", n, on_poll, on_event) < 0) {
		free(n->chain);
		free(n->pending);
		free(n);
		errno = ENOMEM;
		return NULL;
	}
	return n;
}

void virtio_nsm_destroy(struct virtio_nsm *n)
{
	if (!n)
		return;
	vworker_destroy(&n->w);
	free(n->chain);
	free(n->pending);
	free(n);
}
