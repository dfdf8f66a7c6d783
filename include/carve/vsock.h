/* virtio-vsock, device id 19 (virtio 1.2, the vsock device;
 * aws-nitro-enclaves-cli, the heartbeat; docs/vsock.md): stream sockets between
 * the enclave and host programs. A malformed packet is dropped and answered
 * with RST. */
#ifndef CARVE_VSOCK_H
#define CARVE_VSOCK_H

#include <linux/virtio_vsock.h>
#include <linux/vm_sockets.h>

#include "carve/error.h"
#include "carve/vhost.h"
#include "carve/virtio_mmio.h"

/* ---- virtio-vsock (device id 19): the wire values are Linux's uapi ones,
 * the same the carve kernel's driver uses ---- */

#define VSOCK_CID_HOST VMADDR_CID_HOST /* 2 */
#define VSOCK_CID_PARENT 3             /* the parent instance, as on EC2 */
#define VSOCK_HEARTBEAT_PORT 9000
#define VSOCK_HEARTBEAT_BYTE 0xB7
#define VSOCK_QUEUE_SIZE 256
/* Per-connection guest->host buffer, the credit the guest gets: allocated
 * only while the host socket does not take data at once. */
#define VSOCK_BUF_ALLOC (512 * 1024)
#define VSOCK_MAX_CONNS 1024

/* The packet header, 44 bytes, little-endian (virtio 1.2, the vsock device). */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));
#define VSOCK_HDR_SIZE 44
_Static_assert(sizeof(struct vsock_hdr) == sizeof(struct virtio_vsock_hdr), "Linux's virtio_vsock_hdr");

#define VSOCK_TYPE_STREAM VIRTIO_VSOCK_TYPE_STREAM
enum vsock_op {
	VSOCK_OP_INVALID = VIRTIO_VSOCK_OP_INVALID,
	VSOCK_OP_REQUEST = VIRTIO_VSOCK_OP_REQUEST,
	VSOCK_OP_RESPONSE = VIRTIO_VSOCK_OP_RESPONSE,
	VSOCK_OP_RST = VIRTIO_VSOCK_OP_RST,
	VSOCK_OP_SHUTDOWN = VIRTIO_VSOCK_OP_SHUTDOWN,
	VSOCK_OP_RW = VIRTIO_VSOCK_OP_RW,
	VSOCK_OP_CREDIT_UPDATE = VIRTIO_VSOCK_OP_CREDIT_UPDATE,
	VSOCK_OP_CREDIT_REQUEST = VIRTIO_VSOCK_OP_CREDIT_REQUEST,
};
#define VSOCK_SHUTDOWN_RCV 1u  /* VIRTIO_VSOCK_SHUTDOWN_RCV: the sender will receive no more */
#define VSOCK_SHUTDOWN_SEND 2u /* VIRTIO_VSOCK_SHUTDOWN_SEND: the sender will send no more */
_Static_assert(VSOCK_SHUTDOWN_RCV == VIRTIO_VSOCK_SHUTDOWN_RCV &&
		       VSOCK_SHUTDOWN_SEND == VIRTIO_VSOCK_SHUTDOWN_SEND,
	       "Linux's shutdown flags");
#define VSOCK_MAX_PKT (64 * 1024) /* largest payload taken from the guest */

struct vsock_config {
	uint64_t guest_cid;
	/* The enclave's listening Unix socket: host programs connect here and
	 * write "CONNECT <port>\n" (docs/vsock.md). NULL: none. */
	const char *uds_path;
	/* Where the parent's listeners are: a guest connection to CID 3 (or 2)
	 * port P goes to <vsock_dir>/port-<P>.sock. NULL: none. */
	const char *vsock_dir;
	/* Called on the device thread when the guest sent the heartbeat byte to
	 * CID 3 port 9000 (the device echoes it itself). May be NULL. */
	void (*heartbeat)(void *ctx);
	void *heartbeat_ctx;
	/* Called on the device thread for a packet the guest got wrong (dropped,
	 * or its connection reset), with what; for the operator's log. May be
	 * NULL. */
	void (*fault)(void *ctx, const char *what);
	void *fault_ctx;
	/* Called on the device thread when the device changes how it serves
	 * (the kernel datapath took the rings), with what. May be NULL. */
	void (*note)(void *ctx, const char *what);
	void *note_ctx;
};

struct vsock_dev;

/* Binds uds_path (an existing socket file there is replaced). NULL with
 * errno on failure. */
struct vsock_dev *vsock_create(const struct vsock_config *cfg);
/* Also registers the guest's CID with the host kernel through vhost_path
 * (normally VHOST_VSOCK_PATH, carve/vhost.h), before the guest starts the
 * device: host programs then reach the guest with AF_VSOCK at its CID, and
 * a guest connection to CID 3 (or 2) port P that no <vsock_dir>/port-P.sock
 * takes goes to whoever listens on AF_VSOCK port P, seeing the guest's CID
 * as its peer (docs/vsock.md). 0, or -1 with err set. */
int vsock_use_host_kernel(struct vsock_dev *v, const char *vhost_path, struct carve_err *err);
/* The kernel datapath: once the guest's heartbeat is done and no connection
 * is open, the device hands its rx and tx rings to the host kernel's
 * vhost-vsock (vhost_path) and keeps only the control plane; from then on the
 * guest reaches host programs at CID 2 only (vhost-vsock drops packets to
 * CID 3). regions: the guest's RAM, for vhost's memory table. Call before the
 * guest starts the device, with vsock_use_host_kernel for the boot. 0, or -1
 * with err set. */
int vsock_use_kernel_datapath(struct vsock_dev *v, const char *vhost_path, const struct vhost_region *regions,
			      int n, struct carve_err *err);
/* Call after virtio_mmio_destroy. Removes uds_path. */
void vsock_destroy(struct vsock_dev *v);
const struct virtio_backend *vsock_backend(void);

#endif
