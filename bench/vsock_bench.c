/* vsock stream throughput through the virtio-vsock device, with a simulated
 * guest driver in the same process (tests/lib/vguest.c: real virtqueues in a
 * heap "guest memory", kicks through the eventfds, interrupts read from the
 * interrupt eventfd), against a plain Unix socket pair on the same machine.
 * bench/vsock_throughput.sh runs it.
 *
 *   vsock_bench [MiB per direction]     (default 128)
 *
 * guest->host: the guest driver sends 64 KiB RW packets as credit allows; a
 * host thread reads the parent's Unix socket. host->guest: a host thread
 * writes 64 KiB chunks into the Unix socket; the guest driver takes RW
 * packets from 4 KiB rx buffers (the Linux driver's size) and returns credit
 * every 64 KiB. The baseline moves the same bytes through socketpair() with
 * 64 KiB writes and reads. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "carve/vsock.h"
#include "vguest.h"

#define CID 16
#define PORT 5000
#define CHUNK (64 * 1024)
#define ROUNDS 3

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "vsock_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct pump {
	int fd;
	size_t bytes;
	size_t done;
};

static void *reader(void *arg)
{
	struct pump *p = arg;
	char *b = malloc(CHUNK);
	while (p->done < p->bytes) {
		ssize_t n = read(p->fd, b, CHUNK);
		if (n <= 0)
			break;
		p->done += (size_t)n;
	}
	free(b);
	return NULL;
}

static void *writer(void *arg)
{
	struct pump *p = arg;
	char *b = malloc(CHUNK);
	memset(b, 'w', CHUNK);
	while (p->done < p->bytes) {
		size_t n = p->bytes - p->done < CHUNK ? p->bytes - p->done : CHUNK;
		ssize_t w = write(p->fd, b, n);
		if (w <= 0)
			break;
		p->done += (size_t)w;
	}
	free(b);
	return NULL;
}

static double socketpair_rate(size_t bytes)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	struct pump w = {.fd = sv[0], .bytes = bytes}, r = {.fd = sv[1], .bytes = bytes};
	pthread_t tw, tr;
	double t0 = now_s();
	pthread_create(&tr, NULL, reader, &r);
	pthread_create(&tw, NULL, writer, &w);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	double dt = now_s() - t0;
	close(sv[0]);
	close(sv[1]);
	if (r.done != bytes)
		die("socketpair short");
	return (double)bytes / dt / (1 << 20);
}

struct conn {
	uint32_t port, peer_port, tx_cnt, peer_buf_alloc, peer_fwd_cnt, fwd_cnt;
};

static void send_pkt(struct vg_vsock *v, struct conn *c, uint16_t op, const void *p, uint32_t n)
{
	struct vsock_hdr h = vgv_hdr(v, VSOCK_CID_PARENT, c->port, c->peer_port, op);
	h.buf_alloc = 256 * 1024;
	h.fwd_cnt = c->fwd_cnt;
	if (vgv_send(v, &h, p, n) < 0)
		die("guest send timed out");
	if (op == VSOCK_OP_RW)
		c->tx_cnt += n;
}

static int recv_pkt(struct vg_vsock *v, struct conn *c, struct vsock_hdr *h, uint32_t *n, int ms)
{
	static uint8_t buf[VGV_RXBUF];
	if (!vgv_recv(v, h, buf, sizeof(buf), n, ms))
		return 0;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	return 1;
}

static double guest_to_host(struct vg_vsock *v, struct conn *c, int hfd, const char *chunk, size_t bytes)
{
	struct vsock_hdr h;
	uint32_t n;
	struct pump r = {.fd = hfd, .bytes = bytes};
	pthread_t th;
	double t0 = now_s();
	pthread_create(&th, NULL, reader, &r);
	size_t sent = 0;
	while (sent < bytes) {
		uint32_t credit = c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
		while (recv_pkt(v, c, &h, &n, 0))
			credit = c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
		if (credit == 0) {
			if (!recv_pkt(v, c, &h, &n, 5000))
				die("no credit update");
			continue;
		}
		uint32_t len = credit < CHUNK ? credit : CHUNK;
		if (len > bytes - sent)
			len = (uint32_t)(bytes - sent);
		send_pkt(v, c, VSOCK_OP_RW, chunk, len);
		sent += len;
	}
	pthread_join(th, NULL);
	if (r.done != bytes)
		die("host got less than sent");
	return (double)bytes / (now_s() - t0) / (1 << 20);
}

static double host_to_guest(struct vg_vsock *v, struct conn *c, int hfd, size_t bytes)
{
	struct vsock_hdr h;
	uint32_t n;
	struct pump w = {.fd = hfd, .bytes = bytes};
	pthread_t th;
	double t0 = now_s();
	pthread_create(&th, NULL, writer, &w);
	size_t got = 0, acked = 0;
	while (got < bytes) {
		if (!recv_pkt(v, c, &h, &n, 5000))
			die("host->guest stalled");
		if (h.op != VSOCK_OP_RW)
			continue;
		got += n;
		c->fwd_cnt += n;
		if (got - acked >= CHUNK) {
			send_pkt(v, c, VSOCK_OP_CREDIT_UPDATE, NULL, 0);
			acked = got;
		}
	}
	pthread_join(th, NULL);
	return (double)bytes / (now_s() - t0) / (1 << 20);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 128;
	size_t bytes = mib << 20;
	char dir[] = "/tmp/carve-vsock-bench.XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/port-%d.sock", dir, PORT);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		die("listen");
	struct vsock_config cfg = {.guest_cid = CID, .vsock_dir = dir};
	struct vsock_dev *dev = vsock_create(&cfg);
	if (!dev)
		die("vsock_create");
	static struct vg_vsock v;
	if (vgv_init(&v, dev, CID, (1ull << VIRTIO_F_EVENT_IDX), 256) < 0)
		die("guest driver set-up");

	/* connect */
	struct conn c = {.port = 1234, .peer_port = PORT};
	struct vsock_hdr h;
	uint32_t n;
	send_pkt(&v, &c, VSOCK_OP_REQUEST, NULL, 0);
	if (!recv_pkt(&v, &c, &h, &n, 5000) || h.op != VSOCK_OP_RESPONSE)
		die("no RESPONSE");
	int hfd = accept(lfd, NULL, NULL);
	if (hfd < 0)
		die("accept");

	double g2h = 0, h2g = 0, sp = 0;
	char *chunk = malloc(CHUNK);
	memset(chunk, 'g', CHUNK);
	for (int round = 0; round < ROUNDS; round++) {
		double x = guest_to_host(&v, &c, hfd, chunk, bytes);
		double y = host_to_guest(&v, &c, hfd, bytes);
		double z = socketpair_rate(bytes);
		g2h = x > g2h ? x : g2h;
		h2g = y > h2g ? y : h2g;
		sp = z > sp ? z : sp;
	}
	printf("vsock stream throughput, %zu MiB each way, best of %d rounds "
	       "(device: guest driver simulated in-process)\n",
	       mib, ROUNDS);
	printf("%-14s %14s %22s %8s\n", "direction", "device MiB/s", "unix socketpair MiB/s", "ratio");
	printf("%-14s %14.0f %22.0f %8.2f\n", "guest->host", g2h, sp, g2h / sp);
	printf("%-14s %14.0f %22.0f %8.2f\n", "host->guest", h2g, sp, h2g / sp);
	printf("guest interrupts taken: %u, waits that timed out: %u\n", v.g.irqs, v.g.irq_timeouts);

	close(hfd);
	close(lfd);
	free(chunk);
	vgv_free(&v);
	vsock_destroy(dev);
	unlink(sa.sun_path);
	rmdir(dir);
	return 0;
}
