/* The kernel's virtio drivers: the virtio-mmio transport (virtio.c), split
 * virtqueues (virtq.c), virtio-nsm and /dev/nsm (nsm.c), virtio-vsock and
 * AF_VSOCK stream sockets (vsock.c, vsock_sock.c, sys_net.c).
 *
 * Everything the device writes (used ring entries, lengths, config) is
 * checked before use: a broken device gets an error, never a wild access.
 * Interrupts only wake the CPU and acknowledge the device; the rings are
 * walked by the code that waits (one CPU, interrupts off in the kernel). */
#ifndef CARVE_VIRTIO_H
#define CARVE_VIRTIO_H

#include "proc.h"

#define VIRTIO_ID_VSOCK 19
#define VIRTIO_ID_NSM 33

struct vdev {
	volatile uint8_t *regs; /* the 4 KiB register window, uncached */
	uint32_t id, gsi;
	bool broken; /* the device returned something impossible */
};

struct vbuf {
	uint64_t pa;
	uint32_t len;
	bool writable; /* device writes it */
};

struct virtq {
	struct vdev *dev;
	uint16_t idx, num;
	struct vdesc *desc;
	struct vavail *avail;
	struct vused *used;
	uint16_t free_head, nfree, last_used;
	void *token[64];  /* per chain head; NULL when free */
	uint32_t cap[64]; /* writable bytes of the chain at that head */
};
#define VIRTQ_MAX 64

/* ---- virtio.c ---- */
/* Probes boot_opts.virtio[], brings up the drivers, runs the heartbeat. */
void devices_init(void);
/* The program is exiting: flushes vsock (bounded), logs in debug mode. */
void devices_exit(void);
uint32_t vdev_read(struct vdev *d, uint32_t off);
void vdev_write(struct vdev *d, uint32_t off, uint32_t v);
/* True once (and clears it) if a device interrupted since the last call. */
bool vdev_event(void);
/* Says what is wrong and stops using the device. */
void vdev_fail(struct vdev *d, const char *what);

/* ---- virtq.c ---- */
int virtq_setup(struct vdev *d, uint16_t idx, struct virtq *q);
/* Adds one chain; token must be non-NULL. 0 or -ENOSPC. */
int virtq_add(struct virtq *q, const struct vbuf *b, int n, void *token);
void virtq_kick(struct virtq *q);
/* The next used chain: its token and the bytes the device wrote. false if none. */
bool virtq_get(struct virtq *q, void **token, uint32_t *len);

/* ---- nsm.c ---- */
int nsm_attach(struct vdev *d);
/* After DRIVER_OK: creates /dev/nsm and seeds the random generator. */
void nsm_start(void);
int64_t nsm_ioctl(uint64_t cmd, uint64_t arg);

/* ---- vsock.c ---- */
int vsock_attach(struct vdev *d);
/* After DRIVER_OK: hands the rx buffers to the device. */
void vsock_start(void);
bool vsock_present(void);
/* Nitro init's heartbeat; 0 or -errno. */
int vsock_heartbeat(void);
/* The program is exiting: deliver what it sent (bounded wait). */
void vsock_exit(void);

/* ---- vsock_sock.c: the socket operations sys_net.c uses ---- */
struct vsock_sock;
struct vsock_sock *vs_new(void);
int vs_bind(struct vsock_sock *s, uint64_t cid, uint32_t port);
int vs_listen(struct vsock_sock *s, int backlog);
int vs_connect(struct vsock_sock *s, uint64_t cid, uint32_t port, bool nonblock);
int vs_accept(struct vsock_sock *s, struct vsock_sock **out, bool nonblock);
/* buf is kernel-accessible (a checked user range or kernel memory). */
int64_t vs_send(struct vsock_sock *s, const void *buf, uint64_t len, bool nonblock);
int64_t vs_recv(struct vsock_sock *s, void *buf, uint64_t len, bool nonblock, bool peek);
/* The same from and to the program's memory at ubuf, unchecked: they check
 * it themselves, large copies natively (the CPU checks each page as the
 * program's own access would), so no kernel loop walks the pages first. */
int64_t vs_send_user(struct vsock_sock *s, uint64_t ubuf, uint64_t len, bool nonblock);
int64_t vs_recv_user(struct vsock_sock *s, uint64_t ubuf, uint64_t len, bool nonblock, bool peek);
int vs_shutdown(struct vsock_sock *s, int how);
/* The program closed its last descriptor for s. */
void vs_close(struct vsock_sock *s);
short vs_poll(struct vsock_sock *s, short want);
void vs_name(struct vsock_sock *s, bool peer, uint64_t *cid, uint32_t *port);
bool vs_connected(struct vsock_sock *s);
bool vs_listening(struct vsock_sock *s);
int vs_take_error(struct vsock_sock *s);
void vs_set_connect_timeout(struct vsock_sock *s, uint64_t ns);
uint64_t vs_connect_timeout(struct vsock_sock *s);

/* Socket errors errno.h does not list (Linux x86-64 values). */
#ifndef EPROTO
#define EPROTO 71
#define ENOTSOCK 88
#define EMSGSIZE 90
#define ENOPROTOOPT 92
#define EPROTONOSUPPORT 93
#define ESOCKTNOSUPPORT 94
#define EAFNOSUPPORT 97
#define EADDRINUSE 98
#define EADDRNOTAVAIL 99
#define ECONNRESET 104
#define EISCONN 106
#define ENOTCONN 107
#define EALREADY 114
#define EINPROGRESS 115
#endif

/* ---- random.c ---- */
void random_mix(const void *seed, size_t n);

/* ---- idt.c ---- */
void idt_set_irq_gate(int vec, void (*stub)(void));
/* Routes an IOAPIC pin to a vector on this CPU (edge, active high). */
void ioapic_route(uint32_t gsi, uint8_t vec);
/* kbd.c: the host's Ctrl-Alt-Del becomes SIGTERM for pid 1. */
void kbd_init(void);

#endif
