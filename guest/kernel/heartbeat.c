/* The boot heartbeat (reference/nitro-enclaves.md §3.11): what Nitro's init
 * does before running the program. Over the virtio-vsock device (id 19):
 * connect to CID 3 port 9000, send 0xB7, read 0xB7 back, shut down. The
 * parent waits for it to know the enclave booted.
 *
 * This is a single-purpose vsock client at boot, not the socket layer: one
 * stream connection, packets polled from the rx queue (virtio 1.2 §5.10). */
#include "proc.h"
#include "virtio.h"

#define VIRTIO_ID_VSOCK 19
#define CID_PARENT 3
#define HEARTBEAT_PORT 9000
#define HEARTBEAT 0xb7
#define LOCAL_PORT 1023
#define T_STREAM 1
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define NRX 4
#define RX_BUF 4096
#define TIMEOUT_NS (5ull * 1000000000ull)

struct __attribute__((packed)) vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

static struct vdev dev;
static struct vq qs[3]; /* rx, tx, event */
static uint64_t rx_pa, tx_pa, cid;

static void rx_post(uint16_t i)
{
	qs[0].desc[i] = (struct vdesc){rx_pa + i * RX_BUF, RX_BUF, VDESC_WRITE, 0};
	vq_post(&dev, &qs[0], 0, i);
}

static bool send(uint16_t op, uint32_t flags, const uint8_t *data, uint32_t len)
{
	struct vsock_hdr *h = phys_to_virt(tx_pa);
	*h = (struct vsock_hdr){cid, CID_PARENT, LOCAL_PORT, HEARTBEAT_PORT, len, T_STREAM, op, flags, RX_BUF, 0};
	memcpy((uint8_t *)h + sizeof(*h), data, len);
	qs[1].desc[0] = (struct vdesc){tx_pa, (uint32_t)sizeof(*h) + len, 0, 0};
	vq_post(&dev, &qs[1], 1, 0);
	if (!vq_wait(&qs[1], time_ns() + TIMEOUT_NS))
		return false;
	uint32_t id, l;
	vq_take(&qs[1], &id, &l);
	return true;
}

/* Waits for a packet of our connection with op `want` (and, for RW, a
 * payload holding HEARTBEAT); other packets are dropped. */
static bool receive(uint16_t want)
{
	uint64_t deadline = time_ns() + TIMEOUT_NS;
	for (;;) {
		if (!vq_wait(&qs[0], deadline))
			return false;
		uint32_t id, len;
		vq_take(&qs[0], &id, &len);
		if (id >= NRX)
			return false;
		const struct vsock_hdr *h = phys_to_virt(rx_pa + id * RX_BUF);
		bool ours = len >= sizeof(*h) && h->src_cid == CID_PARENT && h->src_port == HEARTBEAT_PORT &&
			    h->dst_port == LOCAL_PORT;
		uint16_t op = h->op;
		bool beat = false;
		if (ours && op == OP_RW && h->len <= len - sizeof(*h))
			for (uint32_t i = 0; i < h->len; i++)
				beat |= ((const uint8_t *)(h + 1))[i] == HEARTBEAT;
		rx_post((uint16_t)id);
		if (ours && op == OP_RST)
			return false;
		if (ours && op == want && (want != OP_RW || beat))
			return true;
	}
}

void heartbeat(void)
{
	if (!virtio_find(VIRTIO_ID_VSOCK, &dev)) {
		kdebug("no vsock device: no heartbeat\n");
		return;
	}
	rx_pa = pages_alloc(NRX);
	tx_pa = page_alloc();
	if (!rx_pa || !tx_pa || !virtio_setup(&dev, qs, 3, NRX)) {
		kprintf("carve: the virtio-vsock device at 0x%lx cannot be set up; no heartbeat\n", dev.base);
		return;
	}
	cid = virtio_config32(&dev, 0) | (uint64_t)virtio_config32(&dev, 4) << 32;
	for (uint16_t i = 0; i < NRX; i++)
		rx_post(i);
	uint8_t beat = HEARTBEAT;
	uint64_t t0 = time_ns();
	bool ok = send(OP_REQUEST, 0, NULL, 0) && receive(OP_RESPONSE) && send(OP_RW, 0, &beat, 1) && receive(OP_RW);
	send(OP_SHUTDOWN, 3, NULL, 0);
	if (ok)
		kdebug("heartbeat: CID %lu answered by the parent in %lu us\n", cid, (time_ns() - t0) / 1000);
	else
		kprintf("carve: heartbeat to the parent (CID 3, port 9000) failed\n");
}
