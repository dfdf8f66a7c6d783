/* libFuzzer target: the virtio-nsm request path with a trivial handler. The
 * fuzzer controls the whole guest memory image (queue of 8 at its start:
 * descriptors, avail, used; then requests and response buffers). Checks that
 * every completion stays inside the response buffer the guest gave. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carve/virtio_nsm.h"
#include "virtio/nsm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GPA 0x10000ull
#define QN 8

struct img {
	uint8_t *p;
	size_t len;
};

static void *img_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct img *m = ctx;
	if (gpa < GPA || gpa - GPA > m->len || len > m->len - (gpa - GPA))
		return NULL;
	return m->p + (gpa - GPA);
}

/* Echoes the request, then pads to a length picked by its first byte. */
static int echo(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap, size_t *resp_len)
{
	(void)ctx;
	if (req_len > VIRTIO_NSM_REQUEST_MAX)
		__builtin_trap();
	size_t n = req_len < cap ? req_len : cap;
	memcpy(resp, req, n);
	size_t want = req_len ? (size_t)req[0] * 64 : 0;
	if (want > cap)
		want = cap;
	if (want > n)
		memset(resp + n, 0xee, want - n);
	*resp_len = want > n ? want : n;
	return req_len && req[0] == 0xff ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t avail = 16 * QN, used = avail + 6 + 2 * QN + 2, need = used + 6 + 8 * QN + 2;
	used = (used + 3) & ~(size_t)3;
	need = used + 6 + 8 * QN + 2;
	struct img m;
	m.len = size > need ? size : need;
	m.p = aligned_alloc(16, (m.len + 15) & ~(size_t)15);
	memset(m.p, 0, m.len);
	memcpy(m.p, data, size);
	/* the used ring starts empty whatever the input says */
	memset(m.p + used, 0, 4);
	struct virtio_nsm_handler h = {.handle = echo};
	struct virtio_nsm *n = virtio_nsm_create(&h);
	if (!n)
		__builtin_trap();
	struct virtio_run run;
	memset(&run, 0, sizeof(run));
	run.mem.ptr = img_ptr;
	run.mem.ctx = &m;
	run.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_INDIRECT_DESC);
	run.nqueues = 1;
	run.q[0].ready = true;
	run.q[0].num = QN;
	run.q[0].desc = GPA;
	run.q[0].avail = GPA + avail;
	run.q[0].used = GPA + used;
	if (virtio_nsm_attach(n, &run) == 0) {
		virtio_nsm_process(n);
		virtio_nsm_process(n);
	}
	uint16_t uidx;
	memcpy(&uidx, m.p + used + 2, 2);
	if (uidx > 2 * QN)
		__builtin_trap(); /* more completions than chains could have been popped */
	for (uint16_t i = 0; i < uidx && i < QN; i++) {
		uint32_t len;
		memcpy(&len, m.p + used + 8 + 8 * i, 4);
		if (len > VIRTIO_NSM_RESPONSE_MAX)
			__builtin_trap();
	}
	virtio_nsm_destroy(n);
	free(m.p);
	return 0;
}
