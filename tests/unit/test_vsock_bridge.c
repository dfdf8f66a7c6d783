/* The vhost-vsock bridge, driven from both ends: a guest driver on the
 * enclave's side (vguest) and, on the other, this test playing the host
 * kernel on the bridge's rings with carve's own device-side virtqueue code,
 * exactly where /dev/vhost-vsock would. Checks the relay's addressing (the
 * parent's CID 3 is the kernel's host CID 2, both ways; CID 2 stays 2), data
 * cut to the guest's buffers, RST both ways, that Unix listeners and the
 * heartbeat stay carve's, back-pressure when every bridge buffer is out, a
 * reset telling the kernel, and a kernel that corrupts its used ring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <endian.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "carve/virtq.h"
#include "virtio/vsock_internal.h"
#include "vguest.h"

#define CID 16
#define T_MS 5000
#define QUIET_MS 300

/* The host kernel's side of the bridge's rings. */
struct fake_kernel {
	struct vsock_bridge *b;
	struct virtio_mem mem;
	struct virtq from_carve, to_carve; /* the bridge's tx and rx rings */
	struct virtq_chain c;
};

struct fx {
	char dir[64];
	struct vsock_dev *dev;
	struct fake_kernel k;
	struct vg_vsock v;
	int faults;
	char last_fault[256];
	uint8_t buf[65536];
};

static void *kernel_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vsock_bridge *b = ctx;
	if (gpa > b->mem_size || len > b->mem_size - gpa)
		return NULL;
	return b->mem + gpa;
}

static uint64_t gpa(const struct vsock_bridge *b, const void *p)
{
	return (uint64_t)((const uint8_t *)p - b->mem);
}

static void kernel_init(struct fake_kernel *k, struct vsock_bridge *b)
{
	k->b = b;
	k->mem = (struct virtio_mem){.ptr = kernel_ptr, .ctx = b};
	uint64_t f = 1ull << VIRTIO_F_VERSION_1;
	assert_int_equal(virtq_init(&k->to_carve, &k->mem, VSOCK_BRIDGE_RING, gpa(b, b->rx.desc),
				    gpa(b, b->rx.avail), gpa(b, b->rx.used), f),
			 0);
	assert_int_equal(virtq_init(&k->from_carve, &k->mem, VSOCK_BRIDGE_RING, gpa(b, b->tx.desc),
				    gpa(b, b->tx.avail), gpa(b, b->tx.used), f),
			 0);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

/* The next packet carve gave the kernel: 1, or 0 when none came in ms. */
static int kernel_recv(struct fx *f, struct vsock_hdr *h, uint32_t *n, int ms)
{
	struct fake_kernel *k = &f->k;
	uint64_t deadline = vg_now_ms() + (uint64_t)ms;
	for (;;) {
		int r = virtq_pop(&k->from_carve, &k->c);
		assert_true(r >= 0);
		if (r == 1)
			break;
		uint64_t now = vg_now_ms();
		if (now >= deadline)
			return 0;
		struct pollfd p = {.fd = k->b->kick[1], .events = POLLIN};
		if (poll(&p, 1, (int)(deadline - now)) == 1) {
			uint64_t drained;
			assert_int_equal(read(k->b->kick[1], &drained, sizeof(drained)), sizeof(drained));
		}
	}
	assert_true(k->c.rlen >= VSOCK_HDR_SIZE);
	virtq_chain_read(&k->c, 0, h, VSOCK_HDR_SIZE);
	vsock_hdr_swap(h);
	assert_int_equal(k->c.rlen, VSOCK_HDR_SIZE + h->len);
	*n = (uint32_t)virtq_chain_read(&k->c, VSOCK_HDR_SIZE, f->buf, h->len);
	virtq_push(&k->from_carve, &k->c, 0);
	signal_fd(k->b->call[1]);
	return 1;
}

/* A packet from the kernel to carve: the host side (CID 2) of a connection. */
static void kernel_send(struct fx *f, uint32_t host_port, uint32_t guest_port, uint16_t op, const void *p,
			uint32_t n)
{
	struct fake_kernel *k = &f->k;
	assert_int_equal(virtq_pop(&k->to_carve, &k->c), 1);
	assert_true(k->c.wlen >= VSOCK_HDR_SIZE + n);
	struct vsock_hdr h = {
		.src_cid = VSOCK_CID_HOST,
		.dst_cid = CID,
		.src_port = host_port,
		.dst_port = guest_port,
		.len = n,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.buf_alloc = 256 * 1024,
	};
	vsock_hdr_swap(&h);
	virtq_chain_write(&k->c, 0, &h, VSOCK_HDR_SIZE);
	virtq_chain_write(&k->c, VSOCK_HDR_SIZE, p, n);
	virtq_push(&k->to_carve, &k->c, VSOCK_HDR_SIZE + n);
	signal_fd(k->b->call[0]);
}

static void on_fault(void *ctx, const char *what)
{
	struct fx *f = ctx;
	snprintf(f->last_fault, sizeof(f->last_fault), "%s", what);
	__atomic_fetch_add(&f->faults, 1, __ATOMIC_SEQ_CST);
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/carve-bridge.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	struct vsock_config cfg = {.guest_cid = CID, .vsock_dir = f->dir, .fault = on_fault, .fault_ctx = f};
	f->dev = vsock_create(&cfg);
	assert_non_null(f->dev);
	struct carve_err err = {0};
	struct vsock_bridge *b = vsock_bridge_new(&err);
	assert_non_null(b);
	kernel_init(&f->k, b);
	vsock_use_bridge(f->dev, b);
	assert_int_equal(vgv_init(&f->v, f->dev, CID, 0, 256), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	vgv_free(&f->v);
	vsock_destroy(f->dev);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static void guest_send(struct fx *f, uint64_t dst_cid, uint32_t src_port, uint32_t dst_port, uint16_t op,
		       const void *p, uint32_t n)
{
	struct vsock_hdr h = vgv_hdr(&f->v, dst_cid, src_port, dst_port, op);
	h.buf_alloc = 256 * 1024;
	assert_int_equal(vgv_send(&f->v, &h, p, n), 0);
}

static int guest_recv(struct fx *f, struct vsock_hdr *h, uint32_t *n, int ms)
{
	return vgv_recv(&f->v, h, f->buf, sizeof(f->buf), n, ms);
}

static void kernel_expect(struct fx *f, uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	struct vsock_hdr h;
	uint32_t n;
	assert_int_equal(kernel_recv(f, &h, &n, T_MS), 1);
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_cid, CID);
	assert_int_equal(h.dst_cid, VSOCK_CID_HOST);
	assert_int_equal(h.src_port, src_port);
	assert_int_equal(h.dst_port, dst_port);
}

static void guest_expect(struct fx *f, uint16_t op, uint64_t src_cid, uint32_t src_port, uint32_t dst_port)
{
	struct vsock_hdr h;
	uint32_t n;
	assert_int_equal(guest_recv(f, &h, &n, T_MS), 1);
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_cid, src_cid);
	assert_int_equal(h.dst_cid, CID);
	assert_int_equal(h.src_port, src_port);
	assert_int_equal(h.dst_port, dst_port);
}

/* Guest -> CID 3 port 5000 (no Unix listener): a relayed connection. */
static void relay_connect(struct fx *f, uint32_t guest_port)
{
	guest_send(f, VSOCK_CID_PARENT, guest_port, 5000, VSOCK_OP_REQUEST, NULL, 0);
	kernel_expect(f, VSOCK_OP_REQUEST, guest_port, 5000);
	kernel_send(f, 5000, guest_port, VSOCK_OP_RESPONSE, NULL, 0);
	guest_expect(f, VSOCK_OP_RESPONSE, VSOCK_CID_PARENT, 5000, guest_port);
}

static void guest_to_parent_through_kernel(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	relay_connect(f, 1234);
	guest_send(f, VSOCK_CID_PARENT, 1234, 5000, VSOCK_OP_RW, "hello", 5);
	struct vsock_hdr h;
	uint32_t n;
	assert_int_equal(kernel_recv(f, &h, &n, T_MS), 1);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.dst_cid, VSOCK_CID_HOST);
	assert_int_equal(h.buf_alloc, 256 * 1024); /* credit passes through untouched */
	assert_int_equal(n, 5);
	assert_memory_equal(f->buf, "hello", 5);

	/* 10,000 bytes from the kernel reach a guest whose buffers hold 4 KiB:
	 * in pieces, in order, each from CID 3. */
	static uint8_t big[10000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	kernel_send(f, 5000, 1234, VSOCK_OP_RW, big, sizeof(big));
	static uint8_t got[10000];
	uint32_t total = 0;
	while (total < sizeof(big)) {
		assert_int_equal(guest_recv(f, &h, &n, T_MS), 1);
		assert_int_equal(h.op, VSOCK_OP_RW);
		assert_int_equal(h.src_cid, VSOCK_CID_PARENT);
		assert_int_equal(h.len, n);
		assert_true(n > 0 && n <= 4096 && total + n <= sizeof(big));
		memcpy(got + total, f->buf, n);
		total += n;
	}
	assert_memory_equal(got, big, sizeof(big));

	/* The guest resets: the kernel is told; a later kernel packet for the
	 * gone connection gets RST from carve and never reaches the guest. */
	guest_send(f, VSOCK_CID_PARENT, 1234, 5000, VSOCK_OP_RST, NULL, 0);
	kernel_expect(f, VSOCK_OP_RST, 1234, 5000);
	kernel_send(f, 5000, 1234, VSOCK_OP_RW, "late", 4);
	kernel_expect(f, VSOCK_OP_RST, 1234, 5000);
	assert_int_equal(guest_recv(f, &h, &n, QUIET_MS), 0);
	assert_int_equal(vsock_nconns(f->dev), 0);
	fx_free(f);
}

static void host_program_connects_to_guest(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	kernel_send(f, 7777, 5000, VSOCK_OP_REQUEST, NULL, 0);
	guest_expect(f, VSOCK_OP_REQUEST, VSOCK_CID_PARENT, 7777, 5000);
	guest_send(f, VSOCK_CID_PARENT, 5000, 7777, VSOCK_OP_RESPONSE, NULL, 0);
	kernel_expect(f, VSOCK_OP_RESPONSE, 5000, 7777);
	/* The kernel ends it: the guest sees the RST and the entry is gone. */
	kernel_send(f, 7777, 5000, VSOCK_OP_RST, NULL, 0);
	guest_expect(f, VSOCK_OP_RST, VSOCK_CID_PARENT, 7777, 5000);
	for (int i = 0; i < 100 && vsock_nconns(f->dev); i++)
		usleep(10000);
	assert_int_equal(vsock_nconns(f->dev), 0);
	fx_free(f);
}

static void cid_2_stays_2(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	guest_send(f, VSOCK_CID_HOST, 1300, 6000, VSOCK_OP_REQUEST, NULL, 0);
	kernel_expect(f, VSOCK_OP_REQUEST, 1300, 6000);
	kernel_send(f, 6000, 1300, VSOCK_OP_RESPONSE, NULL, 0);
	guest_expect(f, VSOCK_OP_RESPONSE, VSOCK_CID_HOST, 6000, 1300);
	fx_free(f);
}

static void unix_listener_and_heartbeat_stay_carve_s(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/port-5001.sock", f->dir);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	guest_send(f, VSOCK_CID_PARENT, 1400, 5001, VSOCK_OP_REQUEST, NULL, 0);
	guest_expect(f, VSOCK_OP_RESPONSE, VSOCK_CID_PARENT, 5001, 1400);
	guest_send(f, VSOCK_CID_PARENT, 1401, VSOCK_HEARTBEAT_PORT, VSOCK_OP_REQUEST, NULL, 0);
	guest_expect(f, VSOCK_OP_RESPONSE, VSOCK_CID_PARENT, VSOCK_HEARTBEAT_PORT, 1401);
	struct vsock_hdr h;
	uint32_t n;
	assert_int_equal(kernel_recv(f, &h, &n, QUIET_MS), 0);
	/* A kernel packet for the address of carve's own connection: RST to
	 * the kernel, nothing to the guest. */
	kernel_send(f, 5001, 1400, VSOCK_OP_RW, "x", 1);
	kernel_expect(f, VSOCK_OP_RST, 1400, 5001);
	close(l);
	fx_free(f);
}

static void backpressure_when_every_buffer_is_out(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	relay_connect(f, 1500);
	/* More packets than the bridge has buffers, the kernel taking none. */
	int count = VSOCK_BRIDGE_RING + 20;
	for (int i = 0; i < count; i++) {
		char b[16];
		int len = snprintf(b, sizeof(b), "%05d", i);
		guest_send(f, VSOCK_CID_PARENT, 1500, 5000, VSOCK_OP_RW, b, (uint32_t)len);
	}
	usleep(100 * 1000);
	/* Then it takes them: all arrive, in order, none lost. */
	for (int i = 0; i < count; i++) {
		struct vsock_hdr h;
		uint32_t n;
		assert_int_equal(kernel_recv(f, &h, &n, T_MS), 1);
		char want[16];
		snprintf(want, sizeof(want), "%05d", i);
		assert_int_equal(n, 5);
		assert_memory_equal(f->buf, want, 5);
	}
	fx_free(f);
}

static void reset_tells_the_kernel(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	relay_connect(f, 1600);
	assert_int_equal(vgv_restart(&f->v, 0, 256), 0);
	kernel_expect(f, VSOCK_OP_RST, 1600, 5000);
	fx_free(f);
}

static void kernel_corrupting_its_used_ring(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	relay_connect(f, 1700);
	/* A used entry for a tx buffer carve never gave out. carve finds it
	 * the next time it looks, here when the guest's next packet (the
	 * heartbeat) arrives. */
	struct vsock_bridge *b = f->k.b;
	uint16_t idx = b->tx.used->idx;
	b->tx.used->ring[idx % VSOCK_BRIDGE_RING].id = VSOCK_BRIDGE_RING + 5;
	__atomic_store_n(&b->tx.used->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	guest_send(f, VSOCK_CID_PARENT, 1701, VSOCK_HEARTBEAT_PORT, VSOCK_OP_REQUEST, NULL, 0);
	/* The relayed connection is reset; carve's own device goes on. */
	guest_expect(f, VSOCK_OP_RST, VSOCK_CID_PARENT, 5000, 1700);
	guest_expect(f, VSOCK_OP_RESPONSE, VSOCK_CID_PARENT, VSOCK_HEARTBEAT_PORT, 1701);
	for (int i = 0; i < 100 && !__atomic_load_n(&f->faults, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	assert_true(__atomic_load_n(&f->faults, __ATOMIC_SEQ_CST) >= 1);
	assert_non_null(strstr(f->last_fault, "vhost-vsock"));
	/* Without the bridge, a port nobody listens on is refused by carve. */
	guest_send(f, VSOCK_CID_PARENT, 1702, 5000, VSOCK_OP_REQUEST, NULL, 0);
	guest_expect(f, VSOCK_OP_RST, VSOCK_CID_PARENT, 5000, 1702);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_to_parent_through_kernel),
		cmocka_unit_test(host_program_connects_to_guest),
		cmocka_unit_test(cid_2_stays_2),
		cmocka_unit_test(unix_listener_and_heartbeat_stay_carve_s),
		cmocka_unit_test(backpressure_when_every_buffer_is_out),
		cmocka_unit_test(reset_tells_the_kernel),
		cmocka_unit_test(kernel_corrupting_its_used_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
