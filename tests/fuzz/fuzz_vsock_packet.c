/* libFuzzer target: the virtio-vsock packet handler. The input is a series of
 * guest tx packets ([le16 length][bytes], each split over up to three
 * descriptors at fuzzer-chosen points); after each one the device's rx pump
 * fills guest rx buffers. A parent program listens on port 5000 (and
 * answers each connection with a few bytes, so data flows both ways);
 * other ports get RST; the heartbeat port is answered by the device.
 * An input of odd length runs with the vhost-vsock bridge, the harness
 * playing the host kernel: it answers a REQUEST with RESPONSE and echoes
 * data, so the relay's paths both ways see the fuzzer's packets. */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "carve/vsock.h"
#include "virtio/vsock_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GPA 0x10000ull
#define QN 16
#define RXBUF (VSOCK_HDR_SIZE + 4096)
#define MEM (16 * QN + 6 + 2 * QN + 2 + 6 + 8 * QN + 2 + QN * RXBUF + 64)

static uint8_t *mem_buf;

static void *mem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (gpa < GPA || gpa - GPA > MEM || len > MEM - (gpa - GPA))
		return NULL;
	return mem_buf + (gpa - GPA);
}

static void beat(void *ctx) { (*(int *)ctx)++; }

/* ---- the host kernel on the bridge's rings ---- */

static void *bridge_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vsock_bridge *b = ctx;
	if (gpa > b->mem_size || len > b->mem_size - gpa)
		return NULL;
	return b->mem + gpa;
}

struct kernel {
	struct virtio_mem mem;
	struct virtq from_carve, to_carve;
	struct virtq_chain c;
};

static void kernel_init(struct kernel *k, struct vsock_bridge *b)
{
	k->mem = (struct virtio_mem){.ptr = bridge_ptr, .ctx = b};
	uint64_t f = 1ull << VIRTIO_F_VERSION_1;
	if (virtq_init(&k->to_carve, &k->mem, VSOCK_BRIDGE_RING, (uint64_t)((uint8_t *)b->rx.desc - b->mem),
		       (uint64_t)((uint8_t *)b->rx.avail - b->mem),
		       (uint64_t)((uint8_t *)b->rx.used - b->mem), f) < 0 ||
	    virtq_init(&k->from_carve, &k->mem, VSOCK_BRIDGE_RING, (uint64_t)((uint8_t *)b->tx.desc - b->mem),
		       (uint64_t)((uint8_t *)b->tx.avail - b->mem),
		       (uint64_t)((uint8_t *)b->tx.used - b->mem), f) < 0)
		__builtin_trap();
}

/* Takes what carve sent; answers REQUEST with RESPONSE, echoes data. */
static void kernel_serve(struct kernel *k)
{
	static uint8_t buf[VSOCK_HDR_SIZE + VSOCK_MAX_PKT];
	while (virtq_pop(&k->from_carve, &k->c) == 1) {
		size_t n = virtq_chain_read(&k->c, 0, buf, sizeof(buf));
		virtq_push(&k->from_carve, &k->c, 0);
		if (n < VSOCK_HDR_SIZE)
			__builtin_trap(); /* carve never sends less than a header */
		struct vsock_hdr h;
		memcpy(&h, buf, VSOCK_HDR_SIZE);
		vsock_hdr_swap(&h);
		if (h.dst_cid != VSOCK_CID_HOST || n != VSOCK_HDR_SIZE + h.len)
			__builtin_trap(); /* the relay addresses the kernel's host and sends whole packets */
		if (h.op != VSOCK_OP_REQUEST && h.op != VSOCK_OP_RW)
			continue;
		struct vsock_hdr r = h;
		r.src_cid = h.dst_cid;
		r.dst_cid = h.src_cid;
		r.src_port = h.dst_port;
		r.dst_port = h.src_port;
		r.op = h.op == VSOCK_OP_REQUEST ? VSOCK_OP_RESPONSE : VSOCK_OP_RW;
		r.len = h.op == VSOCK_OP_RW ? h.len : 0;
		if (virtq_pop(&k->to_carve, &k->c) != 1)
			continue;
		vsock_hdr_swap(&r);
		memcpy(buf, &r, VSOCK_HDR_SIZE);
		size_t w =
			virtq_chain_write(&k->c, 0, buf, VSOCK_HDR_SIZE + (h.op == VSOCK_OP_RW ? h.len : 0));
		virtq_push(&k->to_carve, &k->c, (uint32_t)w);
	}
}

static struct virtq_chain chain;
static char dir[64];
static int lfd = -1;
static int accepted[1100];
static int naccepted;

static void parent_cleanup(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/port-5000.sock", dir);
	unlink(path);
	rmdir(dir);
}

/* The parent's listener on port 5000, made once (removed at exit). */
static void parent_setup(void)
{
	strcpy(dir, "/tmp/carve-fuzz-vsock.XXXXXX");
	if (!mkdtemp(dir))
		__builtin_trap();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/port-5000.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0)
		__builtin_trap();
	atexit(parent_cleanup);
}

static void parent_accept(void)
{
	int fd;
	while (naccepted < 1100 && (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		ssize_t r = write(fd, "hello from the parent", 21);
		(void)r;
		accepted[naccepted++] = fd;
	}
}

static void parent_close_all(void)
{
	parent_accept();
	for (int i = 0; i < naccepted; i++)
		close(accepted[i]);
	naccepted = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mem_buf) {
		mem_buf = aligned_alloc(4096, (MEM + 4095) & ~4095ul);
		parent_setup();
	}
	memset(mem_buf, 0, MEM);
	uint64_t desc = GPA, avail = desc + 16 * QN, used = (avail + 6 + 2 * QN + 2 + 3) & ~3ull;
	uint64_t bufs = (used + 6 + 8 * QN + 2 + 7) & ~7ull;
	for (int i = 0; i < QN; i++) {
		uint8_t *d = mem_ptr(NULL, desc + 16 * i, 16);
		uint64_t a = bufs + (uint64_t)i * RXBUF;
		uint32_t l = i == 3 ? VSOCK_HDR_SIZE : RXBUF; /* one header-only buffer */
		uint16_t fl = VIRTQ_DESC_F_WRITE;
		memcpy(d, &a, 8);
		memcpy(d + 8, &l, 4);
		memcpy(d + 12, &fl, 2);
		uint16_t head = (uint16_t)i;
		memcpy(mem_ptr(NULL, avail + 4 + 2 * i, 2), &head, 2);
	}
	int beats = 0;
	struct vsock_config cfg = {
		.guest_cid = 5, .vsock_dir = dir, .heartbeat = beat, .heartbeat_ctx = &beats};
	struct vsock_dev *v = vsock_create(&cfg);
	if (!v)
		return 0;
	static struct kernel kern;
	struct vsock_bridge *bridge = NULL;
	if (size & 1) {
		struct carve_err err = {0};
		bridge = vsock_bridge_new(&err);
		if (!bridge)
			__builtin_trap();
		kernel_init(&kern, bridge);
		vsock_use_bridge(v, bridge);
	}
	struct virtio_run run;
	memset(&run, 0, sizeof(run));
	run.mem.ptr = mem_ptr;
	run.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX);
	run.nqueues = 3;
	run.q[0].ready = true;
	run.q[0].num = QN;
	run.q[0].desc = desc;
	run.q[0].avail = avail;
	run.q[0].used = used;
	if (vsock_attach(v, &run) < 0)
		__builtin_trap();
	uint16_t posted = 0;
	size_t off = 0;
	uint8_t *pkt = malloc(VSOCK_HDR_SIZE + VSOCK_MAX_PKT + 16);
	while (off + 4 <= size) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		size_t cut1 = data[off + 2], cut2 = data[off + 3];
		off += 4;
		if (len > size - off)
			len = size - off;
		memcpy(pkt, data + off, len);
		off += len;
		/* up to three segments */
		memset(&chain, 0, sizeof(chain));
		size_t a = cut1 < len ? cut1 : len, b = a + cut2 < len ? a + cut2 : len;
		size_t cuts[4] = {0, a, b, len};
		for (int k = 0; k < 3; k++) {
			if (cuts[k + 1] > cuts[k]) {
				chain.seg[chain.nr].p = pkt + cuts[k];
				chain.seg[chain.nr].len = (uint32_t)(cuts[k + 1] - cuts[k]);
				chain.nr++;
			}
		}
		chain.rlen = (uint32_t)len;
		vsock_tx_packet(v, &chain);
		if (bridge)
			kernel_serve(&kern);
		parent_accept();
		/* the guest keeps its rx ring full */
		uint16_t uidx;
		memcpy(&uidx, mem_ptr(NULL, used + 2, 2), 2);
		posted = (uint16_t)(uidx + QN);
		memcpy(mem_ptr(NULL, avail + 2, 2), &posted, 2);
		for (uint16_t k = uidx; k != posted; k++) {
			uint16_t head = (uint16_t)(k % QN);
			memcpy(mem_ptr(NULL, avail + 4 + 2 * (k % QN), 2), &head, 2);
		}
		vsock_housekeeping(v);
	}
	free(pkt);
	vsock_detach(v);
	vsock_destroy(v);
	parent_close_all();
	return 0;
}
