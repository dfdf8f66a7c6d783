/* virtio-vsock driven exactly as a guest driver would, against real Unix
 * sockets in a temporary directory: connections both ways, data, credit
 * exhaustion and recovery, RST, shutdown, 100 connections at once, the
 * heartbeat, and malformed packets. Every wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "carve/vsock.h"
#include "virtio/vsock_internal.h"
#include "vguest.h"

#define CID 16
#define T_MS 5000
#define QUIET_MS 300

struct fx {
	char dir[64];
	char uds[96];
	struct vsock_dev *dev;
	struct vg_vsock v;
	int beats;
	int faults; /* device faults reported (the operator's log) */
	char last_fault[200];
	uint8_t buf[8192];
};

static void on_fault(void *ctx, const char *what)
{
	struct fx *f = ctx;
	snprintf(f->last_fault, sizeof(f->last_fault), "%s", what);
	__atomic_fetch_add(&f->faults, 1, __ATOMIC_SEQ_CST);
}

static void on_beat(void *ctx) { __atomic_fetch_add(&((struct fx *)ctx)->beats, 1, __ATOMIC_SEQ_CST); }

static struct fx *fx_new_q(uint64_t want, uint16_t qsize)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/carve-vsock.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->uds, sizeof(f->uds), "%s/enclave.sock", f->dir);
	struct vsock_config cfg = {.guest_cid = CID,
				   .uds_path = f->uds,
				   .vsock_dir = f->dir,
				   .heartbeat = on_beat,
				   .heartbeat_ctx = f,
				   .fault = on_fault,
				   .fault_ctx = f};
	f->dev = vsock_create(&cfg);
	assert_non_null(f->dev);
	assert_int_equal(vgv_init(&f->v, f->dev, CID, want, qsize), 0);
	return f;
}

static struct fx *fx_new(uint64_t want) { return fx_new_q(want, 256); }

static void fx_free(struct fx *f)
{
	vgv_free(&f->v);
	vsock_destroy(f->dev);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

/* ---- host side helpers ---- */

static int host_listen(struct fx *f, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/port-%u.sock", f->dir, port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 256), 0);
	return fd;
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	return poll(&p, 1, ms) == 1;
}

static int host_accept(int lfd)
{
	assert_true(wait_fd(lfd, POLLIN, T_MS));
	int fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	return fd;
}

static int host_connect(struct fx *f, const char *line)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->uds);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (line)
		assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	return fd;
}

/* Reads exactly n bytes within the time limit. */
static void host_read(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		assert_true(wait_fd(fd, POLLIN, T_MS));
		ssize_t r = read(fd, (char *)buf + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
}

static void host_expect_eof(int fd)
{
	char c;
	assert_true(wait_fd(fd, POLLIN, T_MS));
	ssize_t r = read(fd, &c, 1);
	assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
}

/* ---- guest side helpers ---- */

struct gconn {
	uint64_t peer_cid;
	uint32_t peer_port, port;
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
	uint32_t buf_alloc, fwd_cnt;
};

static void gsend(struct fx *f, struct gconn *c, uint16_t op, uint32_t flags, const void *p, uint32_t n)
{
	struct vsock_hdr h = vgv_hdr(&f->v, c->peer_cid, c->port, c->peer_port, op);
	h.flags = flags;
	h.buf_alloc = c->buf_alloc;
	h.fwd_cnt = c->fwd_cnt;
	assert_int_equal(vgv_send(&f->v, &h, p, n), 0);
	if (op == VSOCK_OP_RW)
		c->tx_cnt += n;
}

/* Next packet (of any connection). */
static int grecv(struct fx *f, struct vsock_hdr *h, uint32_t *n, int ms)
{
	return vgv_recv(&f->v, h, f->buf, sizeof(f->buf), n, ms);
}

/* Next packet that is not a credit update for c; updates c's view of the
 * device's credit on every packet for c. */
static void gexpect(struct fx *f, struct gconn *c, uint16_t op, struct vsock_hdr *out, uint32_t *n)
{
	struct vsock_hdr h;
	uint32_t len;
	for (;;) {
		assert_int_equal(grecv(f, &h, &len, T_MS), 1);
		assert_int_equal(h.dst_cid, CID);
		assert_int_equal(h.type, VSOCK_TYPE_STREAM);
		if (c && h.src_port == c->peer_port && h.dst_port == c->port) {
			c->peer_buf_alloc = h.buf_alloc;
			c->peer_fwd_cnt = h.fwd_cnt;
			if (h.op == VSOCK_OP_CREDIT_UPDATE && op != VSOCK_OP_CREDIT_UPDATE)
				continue;
		}
		break;
	}
	assert_int_equal(h.op, op);
	if (out)
		*out = h;
	if (n)
		*n = len;
}

static uint32_t gcredit(const struct gconn *c) { return c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt); }

static struct gconn gconnect(struct fx *f, uint64_t cid, uint32_t port, uint32_t src)
{
	struct gconn c = {.peer_cid = cid, .peer_port = port, .port = src, .buf_alloc = 256 * 1024};
	gsend(f, &c, VSOCK_OP_REQUEST, 0, NULL, 0);
	struct vsock_hdr h;
	gexpect(f, &c, VSOCK_OP_RESPONSE, &h, NULL);
	assert_int_equal(h.src_cid, cid);
	assert_int_equal(h.src_port, port);
	assert_int_equal(h.dst_port, src);
	assert_true(h.buf_alloc == VSOCK_BUF_ALLOC || (port == VSOCK_HEARTBEAT_PORT && h.buf_alloc > 0));
	c.peer_buf_alloc = h.buf_alloc;
	return c;
}

static void no_packet(struct fx *f)
{
	struct vsock_hdr h;
	uint32_t n;
	assert_int_equal(grecv(f, &h, &n, QUIET_MS), 0);
}

/* ---- tests ---- */

static void guest_connects_to_parent(void **state)
{
	(void)state;
	struct fx *f = fx_new((1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC));
	int lfd = host_listen(f, 5000);
	for (uint64_t cid = 3; cid >= 2; cid--) {
		struct gconn c = gconnect(f, cid, 5000, 1234 + (uint32_t)cid);
		int hfd = host_accept(lfd);
		gsend(f, &c, VSOCK_OP_RW, 0, "hello", 5);
		char b[16] = {0};
		host_read(hfd, b, 5);
		assert_string_equal(b, "hello");
		assert_int_equal(write(hfd, "world!", 6), 6);
		struct vsock_hdr h;
		uint32_t n;
		gexpect(f, &c, VSOCK_OP_RW, &h, &n);
		assert_int_equal(h.len, 6);
		assert_int_equal(n, 6);
		assert_memory_equal(f->buf, "world!", 6);
		assert_int_equal(h.src_cid, cid);
		/* the guest closes: SHUTDOWN both ways, the device answers RST */
		gsend(f, &c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0);
		gexpect(f, &c, VSOCK_OP_RST, NULL, NULL);
		host_expect_eof(hfd);
		close(hfd);
	}
	close(lfd);
	fx_free(f);
}

static void host_connects_to_enclave(void **state)
{
	(void)state;
	struct fx *f = fx_new(1ull << VIRTIO_F_EVENT_IDX);
	int hfd = host_connect(f, "CONNECT 6000\nearly");
	struct vsock_hdr h;
	gexpect(f, NULL, VSOCK_OP_REQUEST, &h, NULL);
	assert_int_equal(h.src_cid, VSOCK_CID_PARENT);
	assert_int_equal(h.dst_port, 6000);
	assert_true(h.src_port >= (1u << 30));
	struct gconn c = {.peer_cid = 3, .peer_port = h.src_port, .port = 6000, .buf_alloc = 65536};
	gsend(f, &c, VSOCK_OP_RESPONSE, 0, NULL, 0);
	char line[64] = {0}, want[64];
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	host_read(hfd, line, strlen(want));
	assert_string_equal(line, want);
	/* bytes the host sent right after the CONNECT line arrive as data */
	uint32_t n;
	gexpect(f, &c, VSOCK_OP_RW, &h, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(f->buf, "early", 5);
	gsend(f, &c, VSOCK_OP_RW, 0, "pong", 4);
	char b[8] = {0};
	host_read(hfd, b, 4);
	assert_string_equal(b, "pong");
	/* the host closes: the guest hears SHUTDOWN(SEND), closes, gets RST */
	close(hfd);
	gexpect(f, &c, VSOCK_OP_SHUTDOWN, &h, NULL);
	assert_true(h.flags & VSOCK_SHUTDOWN_SEND);
	gsend(f, &c, VSOCK_OP_SHUTDOWN, 3, NULL, 0);
	gexpect(f, &c, VSOCK_OP_RST, NULL, NULL);
	assert_int_equal(vsock_nconns(f->dev), 0);
	fx_free(f);
}

static void host_connect_refused_or_unanswered(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	/* the guest refuses */
	int hfd = host_connect(f, "connect 7000\n");
	struct vsock_hdr h;
	gexpect(f, NULL, VSOCK_OP_REQUEST, &h, NULL);
	struct gconn c = {.peer_cid = 3, .peer_port = h.src_port, .port = 7000};
	gsend(f, &c, VSOCK_OP_RST, 0, NULL, 0);
	host_expect_eof(hfd);
	close(hfd);
	/* the guest never answers: after 2 s the device gives up (RST to the guest) */
	hfd = host_connect(f, "CONNECT 7001\n");
	gexpect(f, NULL, VSOCK_OP_REQUEST, &h, NULL);
	uint64_t t0 = vg_now_ms();
	host_expect_eof(hfd);
	assert_true(vg_now_ms() - t0 >= 1500);
	gexpect(f, NULL, VSOCK_OP_RST, &h, NULL);
	assert_int_equal(h.dst_port, 7001);
	close(hfd);
	/* malformed CONNECT lines: the host socket is closed, the guest hears nothing */
	const char *bad[] = {"HELLO 1\n",     "CONNECT\n",
			     "CONNECT x\n",   "CONNECT 99999999999\n",
			     "CONNECT 1 2\n", "CONNECT 123456789012345678901234567890\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hfd = host_connect(f, bad[i]);
		host_expect_eof(hfd);
		close(hfd);
	}
	no_packet(f);
	assert_int_equal(vsock_nconns(f->dev), 0);
	fx_free(f);
}

static void rst_for_unknown_ports(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	struct vsock_hdr h;
	/* REQUEST to a port nobody listens on */
	struct gconn c = {.peer_cid = 3, .peer_port = 7777, .port = 4000};
	gsend(f, &c, VSOCK_OP_REQUEST, 0, NULL, 0);
	gexpect(f, NULL, VSOCK_OP_RST, &h, NULL);
	assert_int_equal(h.src_cid, 3);
	assert_int_equal(h.src_port, 7777);
	assert_int_equal(h.dst_port, 4000);
	/* data on a connection that does not exist */
	gsend(f, &c, VSOCK_OP_RW, 0, "x", 1);
	gexpect(f, NULL, VSOCK_OP_RST, &h, NULL);
	/* a CID that is not the host */
	struct gconn other = {.peer_cid = 5, .peer_port = 80, .port = 4001};
	gsend(f, &other, VSOCK_OP_REQUEST, 0, NULL, 0);
	gexpect(f, NULL, VSOCK_OP_RST, &h, NULL);
	assert_int_equal(h.src_cid, 5);
	/* RST for nothing gets no answer */
	gsend(f, &c, VSOCK_OP_RST, 0, NULL, 0);
	no_packet(f);
	fx_free(f);
}

static void shutdown_directions(void **state)
{
	(void)state;
	struct fx *f = fx_new(1ull << VIRTIO_F_EVENT_IDX);
	int lfd = host_listen(f, 5001);
	struct gconn c = gconnect(f, 3, 5001, 999);
	int hfd = host_accept(lfd);
	/* the guest will send no more: the host reads the data, then EOF ... */
	gsend(f, &c, VSOCK_OP_RW, 0, "last", 4);
	gsend(f, &c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, NULL, 0);
	char b[8] = {0};
	host_read(hfd, b, 4);
	assert_string_equal(b, "last");
	host_expect_eof(hfd);
	/* ... and can still write to the guest */
	assert_int_equal(write(hfd, "reply", 5), 5);
	uint32_t n;
	gexpect(f, &c, VSOCK_OP_RW, NULL, &n);
	assert_int_equal(n, 5);
	close(hfd);
	struct vsock_hdr h;
	gexpect(f, &c, VSOCK_OP_SHUTDOWN, &h, NULL);
	gsend(f, &c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV, NULL, 0);
	gexpect(f, &c, VSOCK_OP_RST, NULL, NULL);
	/* the guest resets a live connection: the host sees it closed */
	c = gconnect(f, 3, 5001, 1000);
	hfd = host_accept(lfd);
	gsend(f, &c, VSOCK_OP_RST, 0, NULL, 0);
	host_expect_eof(hfd);
	close(hfd);
	/* the host socket breaks while the guest writes: RST */
	c = gconnect(f, 3, 5001, 1001);
	hfd = host_accept(lfd);
	shutdown(hfd, SHUT_RDWR);
	close(hfd);
	gexpect(f, &c, VSOCK_OP_SHUTDOWN, NULL, NULL);
	gsend(f, &c, VSOCK_OP_RW, 0, "x", 1);
	gexpect(f, &c, VSOCK_OP_RST, NULL, NULL);
	close(lfd);
	assert_int_equal(vsock_nconns(f->dev), 0);
	fx_free(f);
}

struct reader {
	int fd;
	size_t want, got;
	int ok;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint8_t b[65536];
	r->ok = 1;
	while (r->got < r->want) {
		if (!wait_fd(r->fd, POLLIN, T_MS)) {
			r->ok = 0;
			break;
		}
		ssize_t n = read(r->fd, b, sizeof(b));
		if (n <= 0) {
			r->ok = 0;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			if (b[i] != (uint8_t)((r->got + (size_t)i) * 7))
				r->ok = 0;
		r->got += (size_t)n;
	}
	return NULL;
}

static void credit_guest_to_host(void **state)
{
	(void)state;
	struct fx *f = fx_new(1ull << VIRTIO_F_EVENT_IDX);
	int lfd = host_listen(f, 5002);
	struct gconn c = gconnect(f, 3, 5002, 77);
	int hfd = host_accept(lfd);
	int small = 4096;
	setsockopt(hfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	uint8_t *chunk = malloc(VSOCK_MAX_PKT);
	size_t sent = 0, cap = 64u << 20;
	bool exhausted = false;
	/* the host reads nothing: the guest runs out of credit */
	while (sent < cap) {
		uint32_t cr = gcredit(&c);
		if (cr == 0) {
			struct vsock_hdr h;
			uint32_t n;
			if (!grecv(f, &h, &n, QUIET_MS)) {
				exhausted = true;
				break;
			}
			assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
			c.peer_buf_alloc = h.buf_alloc;
			c.peer_fwd_cnt = h.fwd_cnt;
			continue;
		}
		uint32_t n = cr < VSOCK_MAX_PKT ? cr : VSOCK_MAX_PKT;
		for (uint32_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)((sent + i) * 7);
		gsend(f, &c, VSOCK_OP_RW, 0, chunk, n);
		sent += n;
		struct vsock_hdr h;
		uint32_t pn;
		while (grecv(f, &h, &pn, 0)) {
			c.peer_buf_alloc = h.buf_alloc;
			c.peer_fwd_cnt = h.fwd_cnt;
		}
	}
	assert_true(exhausted);
	assert_true(sent >= VSOCK_BUF_ALLOC);
	/* CREDIT_REQUEST gets a CREDIT_UPDATE showing no room */
	gsend(f, &c, VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
	struct vsock_hdr h;
	gexpect(f, &c, VSOCK_OP_CREDIT_UPDATE, &h, NULL);
	assert_int_equal(gcredit(&c), 0);
	/* the host starts reading: credit comes back and another MiB flows */
	size_t total = sent + (1u << 20);
	struct reader r = {.fd = hfd, .want = total};
	pthread_t th;
	pthread_create(&th, NULL, reader_main, &r);
	uint64_t end = vg_now_ms() + 20000;
	while (sent < total && vg_now_ms() < end) {
		uint32_t cr = gcredit(&c);
		if (cr == 0) {
			uint32_t n;
			if (grecv(f, &h, &n, 200) && h.src_port == c.peer_port) {
				c.peer_buf_alloc = h.buf_alloc;
				c.peer_fwd_cnt = h.fwd_cnt;
			}
			continue;
		}
		uint32_t n = cr < VSOCK_MAX_PKT ? cr : VSOCK_MAX_PKT;
		if (n > total - sent)
			n = (uint32_t)(total - sent);
		for (uint32_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)((sent + i) * 7);
		gsend(f, &c, VSOCK_OP_RW, 0, chunk, n);
		sent += n;
	}
	pthread_join(th, NULL);
	assert_int_equal(sent, total);
	assert_int_equal(r.got, total);
	assert_true(r.ok);
	free(chunk);
	close(hfd);
	close(lfd);
	fx_free(f);
}

static void guest_ignoring_credit_is_reset(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	int lfd = host_listen(f, 5006);
	struct gconn c = gconnect(f, 3, 5006, 90);
	int hfd = host_accept(lfd);
	/* the host reads nothing; the guest keeps sending 64 KiB packets
	 * regardless of credit: once the socket and the 64 KiB buffer are full
	 * the device resets the connection */
	uint8_t *chunk = calloc(1, VSOCK_MAX_PKT);
	bool reset = false;
	for (int i = 0; i < 256 && !reset; i++) {
		gsend(f, &c, VSOCK_OP_RW, 0, chunk, VSOCK_MAX_PKT);
		struct vsock_hdr h;
		uint32_t n;
		while (grecv(f, &h, &n, 0))
			reset |= h.op == VSOCK_OP_RST && h.dst_port == 90;
	}
	struct vsock_hdr h;
	uint32_t n;
	while (!reset && grecv(f, &h, &n, QUIET_MS))
		reset |= h.op == VSOCK_OP_RST && h.dst_port == 90;
	assert_true(reset);
	assert_true(c.tx_cnt > VSOCK_BUF_ALLOC);
	free(chunk);
	close(hfd);
	close(lfd);
	assert_int_equal(vsock_nconns(f->dev), 0);
	fx_free(f);
}

static void credit_host_to_guest(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	int lfd = host_listen(f, 5003);
	struct gconn c = {.peer_cid = 3, .peer_port = 5003, .port = 88, .buf_alloc = 4096};
	gsend(f, &c, VSOCK_OP_REQUEST, 0, NULL, 0);
	gexpect(f, &c, VSOCK_OP_RESPONSE, NULL, NULL);
	int hfd = host_accept(lfd);
	uint8_t data[10000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	assert_int_equal(write(hfd, data, sizeof(data)), (ssize_t)sizeof(data));
	/* exactly the guest's 4096 bytes of credit arrive, then a credit request */
	uint32_t got = 0, n;
	struct vsock_hdr h;
	uint8_t rcv[10000];
	while (got < 4096) {
		gexpect(f, &c, VSOCK_OP_RW, &h, &n);
		memcpy(rcv + got, f->buf, n);
		got += n;
	}
	assert_int_equal(got, 4096);
	gexpect(f, &c, VSOCK_OP_CREDIT_REQUEST, NULL, NULL);
	no_packet(f);
	/* the guest consumed it all: another 4096 */
	c.fwd_cnt = 4096;
	gsend(f, &c, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	while (got < 8192) {
		gexpect(f, &c, VSOCK_OP_RW, &h, &n);
		memcpy(rcv + got, f->buf, n);
		got += n;
	}
	assert_int_equal(got, 8192);
	gexpect(f, &c, VSOCK_OP_CREDIT_REQUEST, NULL, NULL);
	/* a bigger buffer: the rest */
	c.fwd_cnt = 8192;
	c.buf_alloc = 65536;
	gsend(f, &c, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	while (got < sizeof(data)) {
		gexpect(f, &c, VSOCK_OP_RW, &h, &n);
		memcpy(rcv + got, f->buf, n);
		got += n;
	}
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(rcv, data, sizeof(data));
	close(hfd);
	close(lfd);
	fx_free(f);
}

#define NCONN 100
#define PER_CONN 40000

static void hundred_connections(void **state)
{
	(void)state;
	struct fx *f = fx_new((1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC));
	int lfd = host_listen(f, 5100);
	static struct gconn c[NCONN];
	int hfd[NCONN];
	for (int i = 0; i < NCONN; i++) {
		c[i] = gconnect(f, 3, 5100, 20000 + (uint32_t)i);
		hfd[i] = host_accept(lfd);
		/* the guest says who it is */
		char id[16];
		int n = snprintf(id, sizeof(id), "%04d", i);
		gsend(f, &c[i], VSOCK_OP_RW, 0, id, (uint32_t)n);
	}
	/* host side: learn which socket is which, then every host writes at once */
	int who[NCONN];
	for (int i = 0; i < NCONN; i++) {
		char id[5] = {0};
		host_read(hfd[i], id, 4);
		who[i] = atoi(id);
		assert_true(who[i] >= 0 && who[i] < NCONN);
	}
	static uint8_t data[PER_CONN];
	for (int i = 0; i < NCONN; i++) {
		for (int k = 0; k < PER_CONN; k++)
			data[k] = (uint8_t)(who[i] + k);
		assert_int_equal(write(hfd[i], data, PER_CONN), PER_CONN);
	}
	/* the guest reads everything. The first rx buffers (already posted) go
	 * to whichever connections had data first; once all have data, the
	 * device must take turns: a window of NCONN packets spans most of them */
	usleep(100 * 1000);
	static uint32_t got[NCONN];
	memset(got, 0, sizeof(got));
	bool seen[NCONN] = {0};
	int distinct_early = 0, packets = 0;
	size_t total = 0;
	while (total < (size_t)NCONN * PER_CONN) {
		struct vsock_hdr h;
		uint32_t n;
		assert_int_equal(grecv(f, &h, &n, T_MS), 1);
		if (h.op == VSOCK_OP_CREDIT_UPDATE)
			continue;
		assert_int_equal(h.op, VSOCK_OP_RW);
		int i = (int)h.dst_port - 20000;
		assert_true(i >= 0 && i < NCONN);
		for (uint32_t k = 0; k < n; k++)
			assert_int_equal(f->buf[k], (uint8_t)(i + got[i] + k));
		got[i] += n;
		total += n;
		if (packets++ >= VGV_NRX && packets <= VGV_NRX + NCONN && !seen[i]) {
			seen[i] = true;
			distinct_early++;
		}
		/* tell the device what we consumed, now and then */
		if (got[i] % 8192 < n) {
			c[i].fwd_cnt = got[i];
			gsend(f, &c[i], VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
		}
	}
	for (int i = 0; i < NCONN; i++)
		assert_int_equal(got[i], PER_CONN);
	assert_true(distinct_early >= NCONN / 2);
	for (int i = 0; i < NCONN; i++)
		close(hfd[i]);
	close(lfd);
	fx_free(f);
}

/* Waits until the device has taken every packet the guest sent (a barrier:
 * its tx kick is an epoll event queued after whatever was ready before). */
static void gsync_tx(struct fx *f)
{
	uint64_t tok;
	while (f->v.ntx_free < VGV_NTX) {
		assert_int_equal(vg_wait_used(&f->v.g, 1, &tok, NULL, T_MS), 1);
		f->v.tx_free[f->v.ntx_free++] = (int)tok;
	}
}

#define NDRAINED 10
#define D_PKTS 24

/* The hundred_connections stall, made deterministic. Connections whose data
 * ends on a full rx buffer stay in the rx line until a read says EAGAIN; when
 * they lead the line, the rx pump must still reach the one behind them with
 * data. Here D's data fills every rx buffer (16) first, so D and then
 * NDRAINED connections with exactly one buffer of data each wait in line;
 * in the second round all of those are drained. The guest then only reads and
 * re-posts (no tx packet whose kick would run the pump again), so a pump that
 * gives up early leaves D's rest undelivered for good. */
static void drained_connections_do_not_stop_rx(void **state)
{
	(void)state;
	struct fx *f = fx_new_q(1ull << VIRTIO_F_EVENT_IDX, 16);
	int lfd = host_listen(f, 5200);
	struct gconn c[1 + NDRAINED];
	int hfd[1 + NDRAINED];
	for (int i = 0; i <= NDRAINED; i++) {
		c[i] = gconnect(f, 3, 5200,
				30000 + (uint32_t)i); /* the device connects, we accept: same order */
		hfd[i] = host_accept(lfd);
	}
	static uint8_t data[D_PKTS * 4096];
	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 7);
	assert_int_equal(write(hfd[0], data, sizeof(data)), (ssize_t)sizeof(data));
	/* wait (without taking them) until D's packets fill all 16 rx buffers */
	const uint16_t *used_idx = (const uint16_t *)((uint8_t *)vg_hva(&f->v.g, f->v.g.q[0].used) + 2);
	uint64_t end = vg_now_ms() + T_MS;
	while ((uint16_t)(__atomic_load_n(used_idx, __ATOMIC_ACQUIRE) - f->v.g.q[0].last_used) < 16) {
		assert_true(vg_now_ms() < end);
		usleep(1000);
	}
	uint8_t one[4096];
	for (int i = 1; i <= NDRAINED; i++) {
		memset(one, i, sizeof(one));
		assert_int_equal(write(hfd[i], one, sizeof(one)), (ssize_t)sizeof(one));
	}
	gsend(f, &c[0], VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	gsync_tx(f); /* the device has seen every host write: all wait in line */
	uint32_t got[1 + NDRAINED] = {0};
	size_t total = 0;
	while (total < sizeof(data) + NDRAINED * sizeof(one)) {
		struct vsock_hdr h;
		uint32_t n;
		assert_int_equal(grecv(f, &h, &n, T_MS), 1);
		if (h.op == VSOCK_OP_CREDIT_UPDATE)
			continue;
		assert_int_equal(h.op, VSOCK_OP_RW);
		int i = (int)h.dst_port - 30000;
		assert_true(i >= 0 && i <= NDRAINED);
		for (uint32_t k = 0; k < n; k++)
			assert_int_equal(f->buf[k], i == 0 ? data[got[0] + k] : (uint8_t)i);
		got[i] += n;
		total += n;
	}
	assert_int_equal(got[0], sizeof(data));
	for (int i = 1; i <= NDRAINED; i++)
		assert_int_equal(got[i], sizeof(one));
	for (int i = 0; i <= NDRAINED; i++)
		close(hfd[i]);
	close(lfd);
	fx_free(f);
}

static void heartbeat_echo(void **state)
{
	(void)state;
	struct fx *f = fx_new(1ull << VIRTIO_F_EVENT_IDX);
	struct gconn c = gconnect(f, VSOCK_CID_PARENT, VSOCK_HEARTBEAT_PORT, 555);
	uint8_t beat = VSOCK_HEARTBEAT_BYTE;
	gsend(f, &c, VSOCK_OP_RW, 0, &beat, 1);
	uint32_t n;
	gexpect(f, &c, VSOCK_OP_RW, NULL, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f->buf[0], VSOCK_HEARTBEAT_BYTE);
	assert_int_equal(__atomic_load_n(&f->beats, __ATOMIC_SEQ_CST), 1);
	gsend(f, &c, VSOCK_OP_SHUTDOWN, 3, NULL, 0);
	gexpect(f, &c, VSOCK_OP_RST, NULL, NULL);
	assert_int_equal(vsock_nconns(f->dev), 0);
	fx_free(f);
}

static void send_raw(struct fx *f, const void *p, uint32_t len)
{
	uint64_t gpa = vg_alloc(&f->v.g, len ? len : 1, 8);
	memcpy(vg_hva(&f->v.g, gpa), p, len);
	struct vg_buf b = {.gpa = gpa, .len = len};
	assert_true(vg_add(&f->v.g, 1, &b, 1, 1000) >= 0);
	vg_kick(&f->v.g, 1);
	uint64_t tok;
	assert_int_equal(vg_wait_used(&f->v.g, 1, &tok, NULL, T_MS), 1);
}

static void malformed_packets(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	int lfd = host_listen(f, 5004);
	struct gconn c = gconnect(f, 3, 5004, 66);
	int hfd = host_accept(lfd);
	struct vsock_hdr h = vgv_hdr(&f->v, 3, 66, 5004, VSOCK_OP_RW);

	/* shorter than a header: dropped */
	send_raw(f, &h, 10);
	send_raw(f, &h, 0 + 1);
	no_packet(f);
	/* a spoofed source CID: dropped without an answer */
	struct vsock_hdr s = h;
	s.src_cid = 99;
	s.len = 0;
	send_raw(f, &s, VSOCK_HDR_SIZE);
	no_packet(f);
	/* each reported for the operator's log, saying what and from where */
	assert_int_equal(__atomic_load_n(&f->faults, __ATOMIC_SEQ_CST), 3);
	assert_non_null(strstr(f->last_fault, "spoofed"));
	assert_non_null(strstr(f->last_fault, "src 99:66"));
	/* len larger than the payload present: RST, connection gone */
	h.len = 100;
	uint8_t pkt[VSOCK_HDR_SIZE + 10] = {0};
	memcpy(pkt, &h, VSOCK_HDR_SIZE);
	send_raw(f, pkt, sizeof(pkt));
	gexpect(f, &c, VSOCK_OP_RST, NULL, NULL);
	host_expect_eof(hfd);
	close(hfd);
	/* oversize, bad type, bad ops on fresh connections */
	uint16_t types[] = {2, 0, 1, 1, 1};
	uint16_t ops[] = {VSOCK_OP_RW, VSOCK_OP_RW, VSOCK_OP_INVALID, 99, VSOCK_OP_RW};
	uint32_t lens[] = {0, 0, 0, 0, VSOCK_MAX_PKT + 1};
	for (int i = 0; i < 5; i++) {
		c = gconnect(f, 3, 5004, 70 + (uint32_t)i);
		hfd = host_accept(lfd);
		struct vsock_hdr b = vgv_hdr(&f->v, 3, 70 + (uint32_t)i, 5004, ops[i]);
		b.type = types[i];
		b.len = lens[i];
		send_raw(f, &b, VSOCK_HDR_SIZE);
		gexpect(f, &c, VSOCK_OP_RST, NULL, NULL);
		host_expect_eof(hfd);
		close(hfd);
	}
	/* control op carrying a payload: RST */
	c = gconnect(f, 3, 5004, 80);
	hfd = host_accept(lfd);
	struct vsock_hdr b = vgv_hdr(&f->v, 3, 80, 5004, VSOCK_OP_CREDIT_UPDATE);
	b.len = 4;
	uint8_t p2[VSOCK_HDR_SIZE + 4] = {0};
	memcpy(p2, &b, VSOCK_HDR_SIZE);
	send_raw(f, p2, sizeof(p2));
	gexpect(f, &c, VSOCK_OP_RST, NULL, NULL);
	close(hfd);
	/* 3 above, the long len, 5 bad headers, the control op's payload */
	assert_int_equal(__atomic_load_n(&f->faults, __ATOMIC_SEQ_CST), 3 + 1 + 5 + 1);
	assert_non_null(strstr(f->last_fault, "malformed"));
	/* the device still works */
	c = gconnect(f, 3, VSOCK_HEARTBEAT_PORT, 81);
	uint8_t beat = VSOCK_HEARTBEAT_BYTE;
	gsend(f, &c, VSOCK_OP_RW, 0, &beat, 1);
	gexpect(f, &c, VSOCK_OP_RW, NULL, NULL);
	assert_int_equal(virtio_mmio_status(f->v.t) & VIRTIO_STATUS_NEEDS_RESET, 0);
	close(lfd);
	fx_free(f);
}

static void bad_rx_buffers_need_reset(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	/* use up the good rx buffers' slots? simpler: a readable rx buffer at the front */
	struct vg_vsock *v = &f->v;
	/* drain: reset the device and give it one read-only rx buffer */
	vg_wr(&v->g, 0x070, 0);
	assert_int_equal(vg_setup(&v->g, v->t, 0, 3, 16), 0);
	uint64_t gpa = vg_alloc(&v->g, 64, 8);
	struct vg_buf b = {.gpa = gpa, .len = 64, .write = false};
	vg_add(&v->g, 0, &b, 1, 0);
	vg_kick(&v->g, 0);
	/* something to deliver: a REQUEST to a missing port gets an RST */
	uint64_t tx = vg_alloc(&v->g, VSOCK_HDR_SIZE, 8);
	struct vsock_hdr h = vgv_hdr(v, 3, 1, 7, VSOCK_OP_REQUEST);
	memcpy(vg_hva(&v->g, tx), &h, VSOCK_HDR_SIZE);
	struct vg_buf t = {.gpa = tx, .len = VSOCK_HDR_SIZE};
	vg_add(&v->g, 1, &t, 1, 0);
	vg_kick(&v->g, 1);
	uint64_t end = vg_now_ms() + T_MS;
	uint32_t isr = 0;
	while (!(isr & VIRTIO_INT_CONFIG) && vg_now_ms() < end)
		isr |= vg_wait_irq(&v->g, 100);
	assert_true(isr & VIRTIO_INT_CONFIG);
	assert_true(virtio_mmio_status(v->t) & VIRTIO_STATUS_NEEDS_RESET);
	fx_free(f);
}

static void reset_closes_host_sockets(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	int lfd = host_listen(f, 5005);
	struct gconn c = gconnect(f, 3, 5005, 42);
	int hfd = host_accept(lfd);
	gsend(f, &c, VSOCK_OP_RW, 0, "abc", 3);
	char b[4] = {0};
	host_read(hfd, b, 3);
	vg_wr(&f->v.g, 0x070, 0); /* driver reset */
	host_expect_eof(hfd);
	close(hfd);
	assert_int_equal(vsock_nconns(f->dev), 0);
	/* and the device works again after a new handshake */
	assert_int_equal(vgv_restart(&f->v, 0, 64), 0);
	c = gconnect(f, 3, 5005, 43);
	hfd = host_accept(lfd);
	gsend(f, &c, VSOCK_OP_RW, 0, "def", 3);
	host_read(hfd, b, 3);
	assert_string_equal(b, "def");
	close(hfd);
	close(lfd);
	fx_free(f);
}

static void create_checks(void **state)
{
	(void)state;
	struct vsock_config cfg = {.guest_cid = 2};
	assert_null(vsock_create(&cfg));
	cfg.guest_cid = 0xffffffffull;
	assert_null(vsock_create(&cfg));
	cfg.guest_cid = 4;
	cfg.uds_path = "/nonexistent-dir/x.sock";
	assert_null(vsock_create(&cfg));
	cfg.uds_path = NULL;
	struct vsock_dev *v = vsock_create(&cfg);
	assert_non_null(v);
	vsock_destroy(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_connects_to_parent),
		cmocka_unit_test(host_connects_to_enclave),
		cmocka_unit_test(host_connect_refused_or_unanswered),
		cmocka_unit_test(rst_for_unknown_ports),
		cmocka_unit_test(shutdown_directions),
		cmocka_unit_test(credit_guest_to_host),
		cmocka_unit_test(credit_host_to_guest),
		cmocka_unit_test(guest_ignoring_credit_is_reset),
		cmocka_unit_test(hundred_connections),
		cmocka_unit_test(drained_connections_do_not_stop_rx),
		cmocka_unit_test(heartbeat_echo),
		cmocka_unit_test(malformed_packets),
		cmocka_unit_test(bad_rx_buffers_need_reset),
		cmocka_unit_test(reset_closes_host_sockets),
		cmocka_unit_test(create_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
