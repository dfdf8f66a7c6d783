/* The vhost-vsock bridge: the enclave's CID registered with the host kernel
 * (/dev/vhost-vsock), so host programs reach the enclave with AF_VSOCK as on
 * EC2. carve is the driver of that kernel device: its rings and buffers live
 * in memory of this process (one region, "guest physical" 0 for vhost), and
 * the device thread copies packets between them and the enclave's own
 * virtio-vsock queues.
 *
 * Why not hand the enclave's rings to the kernel: vhost-vsock accepts only
 * packets addressed to the host CID 2, while a Nitro enclave addresses its
 * parent as CID 3. The device (vsock.c) rewrites 3 <-> 2 per connection as it
 * relays; credit (buf_alloc, fwd_cnt) passes through untouched, so flow
 * control stays end to end and nothing here buffers more than the rings.
 *
 * Queues of vhost-vsock: 0 carries kernel -> carve (carve posts writable
 * buffers), 1 carries carve -> kernel. The event queue is not vhost's. */
#include <errno.h>
#include <linux/virtio_config.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/vsock_internal.h"

#define RING_FROM_KERNEL 0
#define RING_TO_KERNEL 1

static size_t rx_ring_at(void) { return 0; }
static size_t tx_ring_at(void) { return vring_driver_size(VSOCK_BRIDGE_RING); }
static size_t rx_bufs_at(void) { return tx_ring_at() + vring_driver_size(VSOCK_BRIDGE_RING); }
static size_t tx_bufs_at(void) { return rx_bufs_at() + (size_t)VSOCK_BRIDGE_RING * VSOCK_BRIDGE_RX_BUF; }
static size_t region_size(void) { return tx_bufs_at() + (size_t)VSOCK_BRIDGE_RING * VSOCK_BRIDGE_TX_BUF; }

static void kick(struct vsock_bridge *b, int ring)
{
	uint64_t one = 1;
	if (write(b->kick[ring], &one, sizeof(one)) < 0) {
		/* An eventfd write fails only when the counter would overflow:
		 * the kernel has a kick pending anyway. */
	}
}

static void post_rx(struct vsock_bridge *b, uint16_t i)
{
	uint64_t gpa = rx_bufs_at() + (uint64_t)i * VSOCK_BRIDGE_RX_BUF;
	/* Cannot fail: a buffer comes back only after it was used, so a
	 * descriptor is free for it. */
	vring_driver_add(&b->rx, gpa, VSOCK_BRIDGE_RX_BUF, true, i);
	b->kick_rx = true;
}

static void close_fds(struct vsock_bridge *b)
{
	for (int i = 0; i < 2; i++) {
		if (b->kick[i] >= 0)
			close(b->kick[i]);
		if (b->call[i] >= 0)
			close(b->call[i]);
	}
	if (b->fd >= 0)
		close(b->fd);
}

struct vsock_bridge *vsock_bridge_new(struct carve_err *err)
{
	struct vsock_bridge *b = calloc(1, sizeof(*b));
	if (!b) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		return NULL;
	}
	b->fd = -1;
	for (int i = 0; i < 2; i++)
		b->kick[i] = b->call[i] = -1;
	b->tx_cookie.kind = VSOCK_COOKIE_BRIDGE;
	b->mem_size = region_size();
	b->mem = mmap(NULL, b->mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED) {
		carve_fail(err, E74_DEVICE_SETUP, "vhost-vsock bridge: cannot map %zu bytes: %s", b->mem_size,
			   strerror(errno));
		free(b);
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		b->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		b->call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (b->kick[i] < 0 || b->call[i] < 0) {
			carve_fail(err, E74_DEVICE_SETUP, "vhost-vsock bridge: eventfd: %s", strerror(errno));
			vsock_bridge_close(b);
			return NULL;
		}
	}
	if (vring_driver_init(&b->rx, b->mem + rx_ring_at(), VSOCK_BRIDGE_RING) < 0 ||
	    vring_driver_init(&b->tx, b->mem + tx_ring_at(), VSOCK_BRIDGE_RING) < 0) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		vsock_bridge_close(b);
		return NULL;
	}
	/* Every rx buffer is the kernel's from the start; the avail index the
	 * kernel starts from is 0, so it finds them when it runs. */
	for (uint16_t i = 0; i < VSOCK_BRIDGE_RING; i++) {
		post_rx(b, i);
		b->tx_free[b->ntx_free++] = i;
	}
	b->kick_rx = false;
	return b;
}

int vsock_bridge_connect_kernel(struct vsock_bridge *b, const char *path, uint64_t cid, struct carve_err *err)
{
	b->fd = vhost_open(path, err);
	if (b->fd < 0)
		return -1;
	struct vhost_region region = {.gpa = 0, .size = b->mem_size, .hva = b->mem};
	struct vring_driver *rings[2] = {&b->rx, &b->tx};
	if (vhost_negotiate(b->fd, 1ull << VIRTIO_F_VERSION_1, 1ull << VIRTIO_F_VERSION_1, NULL, err) < 0 ||
	    vhost_set_memory(b->fd, &region, 1, err) < 0)
		return -1;
	for (unsigned i = 0; i < 2; i++) {
		struct vhost_ring ring = {
			.index = i,
			.num = VSOCK_BRIDGE_RING,
			.desc = (uint64_t)(uintptr_t)rings[i]->desc, /* user addresses: vhost-vsock */
			.avail = (uint64_t)(uintptr_t)rings[i]->avail,
			.used = (uint64_t)(uintptr_t)rings[i]->used,
			.kick_fd = b->kick[i],
			.call_fd = b->call[i],
		};
		if (vhost_set_ring(b->fd, &ring, err) < 0)
			return -1;
	}
	if (vhost_vsock_set_cid(b->fd, cid, err) < 0 || vhost_vsock_set_running(b->fd, true, err) < 0)
		return -1;
	kick(b, RING_FROM_KERNEL);
	return 0;
}

void vsock_bridge_close(struct vsock_bridge *b)
{
	if (!b)
		return;
	/* No VHOST_VSOCK_SET_RUNNING 0 first: closing the fd stops the rings
	 * and frees the CID, and a confined thread may not make that ioctl. */
	close_fds(b);
	if (b->mem && b->mem != MAP_FAILED)
		munmap(b->mem, b->mem_size);
	vring_driver_free(&b->rx);
	vring_driver_free(&b->tx);
	free(b);
}

static void drain(int fd)
{
	uint64_t n;
	while (read(fd, &n, sizeof(n)) == sizeof(n)) {
	}
}

int vsock_bridge_collect(struct vsock_bridge *b)
{
	drain(b->call[RING_TO_KERNEL]);
	drain(b->call[RING_FROM_KERNEL]);
	uint64_t token;
	uint32_t len;
	int r;
	while ((r = vring_driver_used(&b->tx, &token, &len)) > 0)
		b->tx_free[b->ntx_free++] = (uint16_t)token;
	if (r < 0)
		return -1;
	while (b->nrecv < VSOCK_BRIDGE_RING && (r = vring_driver_used(&b->rx, &token, &len)) > 0) {
		unsigned slot = (b->recv_head + b->nrecv) % VSOCK_BRIDGE_RING;
		b->recv[slot].buf = (uint16_t)token;
		b->recv[slot].len = len;
		b->recv[slot].off = 0;
		b->nrecv++;
	}
	return r < 0 ? -1 : 0;
}

bool vsock_bridge_can_send(const struct vsock_bridge *b) { return b->ntx_free > 0; }

bool vsock_bridge_send(struct vsock_bridge *b, const struct vsock_hdr *h, const struct virtq_chain *ch)
{
	if (!b->ntx_free)
		return false;
	uint16_t i = b->tx_free[--b->ntx_free];
	uint8_t *buf = b->mem + tx_bufs_at() + (size_t)i * VSOCK_BRIDGE_TX_BUF;
	struct vsock_hdr le = *h;
	vsock_hdr_swap(&le);
	memcpy(buf, &le, VSOCK_HDR_SIZE);
	uint32_t n = 0;
	if (h->len && ch)
		n = (uint32_t)virtq_chain_read(ch, VSOCK_HDR_SIZE, buf + VSOCK_HDR_SIZE, h->len);
	vring_driver_add(&b->tx, tx_bufs_at() + (uint64_t)i * VSOCK_BRIDGE_TX_BUF, VSOCK_HDR_SIZE + n, false,
			 i);
	b->kick_tx = true;
	return true;
}

bool vsock_bridge_peek(struct vsock_bridge *b, struct vsock_hdr *h, const uint8_t **payload, uint32_t *left)
{
	while (b->nrecv) {
		struct vsock_bridge_recv *r = &b->recv[b->recv_head];
		const uint8_t *buf = b->mem + rx_bufs_at() + (size_t)r->buf * VSOCK_BRIDGE_RX_BUF;
		if (r->len < VSOCK_HDR_SIZE) {
			vsock_bridge_consume(
				b, VSOCK_BRIDGE_ALL); /* the kernel never writes less than a header */
			continue;
		}
		memcpy(h, buf, VSOCK_HDR_SIZE);
		vsock_hdr_swap(h);
		uint32_t body = r->len - VSOCK_HDR_SIZE;
		if (h->len > body)
			h->len = body;
		*payload = buf + VSOCK_HDR_SIZE + r->off;
		*left = h->len - r->off;
		return true;
	}
	return false;
}

void vsock_bridge_consume(struct vsock_bridge *b, uint32_t n)
{
	struct vsock_bridge_recv *r = &b->recv[b->recv_head];
	if (n != VSOCK_BRIDGE_ALL) {
		r->off += n;
		if (r->off < r->len - VSOCK_HDR_SIZE)
			return; /* part of a data packet is still to go */
	}
	post_rx(b, r->buf);
	b->recv_head = (b->recv_head + 1) % VSOCK_BRIDGE_RING;
	b->nrecv--;
}

void vsock_bridge_kick(struct vsock_bridge *b)
{
	if (b->kick_tx)
		kick(b, RING_TO_KERNEL);
	if (b->kick_rx)
		kick(b, RING_FROM_KERNEL);
	b->kick_tx = b->kick_rx = false;
}

void vsock_bridge_rst(struct vsock_bridge *b, uint64_t guest_cid, uint32_t guest_port, uint32_t host_port)
{
	struct vsock_hdr h = {
		.src_cid = guest_cid,
		.dst_cid = VSOCK_CID_HOST,
		.src_port = guest_port,
		.dst_port = host_port,
		.type = VSOCK_TYPE_STREAM,
		.op = VSOCK_OP_RST,
	};
	/* With every buffer in flight the RST is lost; the kernel's side then
	 * ends by its own timeout (the connect or close timeout). */
	vsock_bridge_send(b, &h, NULL);
}
