/* virtio-nsm driven as the Linux nsm driver drives it (one out chain with
 * the request, one in chain with the 0x3000 response buffer, completed in
 * that order), plus the one-chain shape, and drivers that break the rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "carve/nsm.h"
#include "carve/virtio_nsm.h"
#include "vguest.h"

#define T_MS 5000

struct fake {
	int calls;
	int fail;
	size_t fill; /* if set: answer this many bytes of 0xab */
	size_t last_cap;
};

/* Answers "re:" + the request reversed. */
static int fake_handle(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap,
		       size_t *resp_len)
{
	struct fake *f = ctx;
	f->calls++;
	f->last_cap = resp_cap;
	if (f->fail)
		return -1;
	if (f->fill) {
		memset(resp, 0xab, f->fill);
		*resp_len = f->fill;
		return 0;
	}
	if (req_len + 3 > resp_cap)
		return -1;
	memcpy(resp, "re:", 3);
	for (size_t i = 0; i < req_len; i++)
		resp[3 + i] = req[req_len - 1 - i];
	*resp_len = req_len + 3;
	return 0;
}

struct fx {
	struct vguest g;
	struct fake fake;
	struct virtio_nsm *n;
	struct virtio_mmio *t;
	uint64_t req, resp;
};

static struct fx *fx_new(uint64_t want)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(vg_init(&f->g, 8 << 20), 0);
	struct virtio_nsm_handler h = {.handle = fake_handle, .ctx = &f->fake};
	f->n = virtio_nsm_create(&h);
	assert_non_null(f->n);
	f->t = virtio_mmio_create(&f->g.mem, virtio_nsm_backend(), f->n);
	assert_non_null(f->t);
	f->g.t = f->t;
	assert_int_equal(vg_rd(&f->g, 0x008), VIRTIO_ID_NSM);
	assert_int_equal(vg_setup(&f->g, f->t, want, 1, 64), 0);
	f->req = vg_alloc(&f->g, 0x2000, 16);
	f->resp = vg_alloc(&f->g, VIRTIO_NSM_RESPONSE_MAX, 16);
	return f;
}

static void fx_free(struct fx *f)
{
	virtio_mmio_destroy(f->t);
	virtio_nsm_destroy(f->n);
	vg_free(&f->g);
	free(f);
}

/* One command the Linux way; returns the response length. */
static uint32_t command(struct fx *f, const char *req, size_t len)
{
	memcpy(vg_hva(&f->g, f->req), req, len);
	struct vg_buf out = {.gpa = f->req, .len = (uint32_t)len};
	struct vg_buf in = {.gpa = f->resp, .len = VIRTIO_NSM_RESPONSE_MAX, .write = true};
	assert_true(vg_add(&f->g, 0, &out, 1, 1) >= 0);
	assert_true(vg_add(&f->g, 0, &in, 1, 2) >= 0);
	vg_kick(&f->g, 0);
	uint64_t tok;
	uint32_t l;
	assert_int_equal(vg_wait_used(&f->g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(tok, 1); /* the request first ... */
	assert_int_equal(l, 0);
	assert_int_equal(vg_wait_used(&f->g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(tok, 2); /* ... then the response */
	return l;
}

/* Sub-page write protection reaches the device: a response buffer in
 * write-protected memory fails that request (0 bytes, nothing written,
 * reported), and the device serves the next one. */
static uint64_t prot_lo, prot_hi;
static bool not_in_prot(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa + len <= prot_lo || gpa >= prot_hi;
}
/* Written on the device thread, after it completed the refused request
 * (the used entry comes first): the test waits for the flag. */
static char fault_line[256];
static int fault_seen;
static void on_fault(void *ctx, const char *what)
{
	(void)ctx;
	snprintf(fault_line, sizeof(fault_line), "%s", what);
	__atomic_store_n(&fault_seen, 1, __ATOMIC_RELEASE);
}

static void write_protected_response_refused(void **state)
{
	(void)state;
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(vg_init(&f->g, 8 << 20), 0);
	f->g.mem.writable = not_in_prot;
	struct virtio_nsm_handler h = {.handle = fake_handle, .ctx = &f->fake};
	f->n = virtio_nsm_create(&h);
	f->t = virtio_mmio_create(&f->g.mem, virtio_nsm_backend(), f->n);
	assert_non_null(f->t);
	virtio_mmio_on_fault(f->t, on_fault, NULL);
	f->g.t = f->t;
	assert_int_equal(vg_setup(&f->g, f->t, 1ull << VIRTIO_F_VERSION_1, 1, 64), 0);
	f->req = vg_alloc(&f->g, 0x2000, 16);
	f->resp = vg_alloc(&f->g, 4096, 4096);
	prot_lo = f->resp + 128;
	prot_hi = f->resp + 256;
	memcpy(vg_hva(&f->g, f->req), "abc", 3);
	memset(vg_hva(&f->g, f->resp), 0xee, 4096);
	struct vg_buf b[2] = {{.gpa = f->req, .len = 3}, {.gpa = f->resp, .len = 4096, .write = true}};
	assert_true(vg_add(&f->g, 0, b, 2, 7) >= 0);
	vg_kick(&f->g, 0);
	uint64_t tok;
	uint32_t l;
	assert_int_equal(vg_wait_used(&f->g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(tok, 7);
	assert_int_equal(l, 0);
	assert_int_equal(*(uint8_t *)vg_hva(&f->g, f->resp), 0xee); /* nothing written */
	for (uint64_t end = vg_now_ms() + T_MS;
	     !__atomic_load_n(&fault_seen, __ATOMIC_ACQUIRE) && vg_now_ms() < end;)
		usleep(1000);
	assert_true(__atomic_load_n(&fault_seen, __ATOMIC_ACQUIRE));
	assert_non_null(strstr(fault_line, "request refused"));
	assert_false(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	/* Beside the protected sub-page: served. */
	b[1] = (struct vg_buf){.gpa = f->resp + 256, .len = 1024, .write = true};
	assert_true(vg_add(&f->g, 0, b, 2, 8) >= 0);
	vg_kick(&f->g, 0);
	assert_int_equal(vg_wait_used(&f->g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(tok, 8);
	assert_int_equal(l, 6);
	assert_memory_equal(vg_hva(&f->g, f->resp + 256), "re:cba", 6);
	fx_free(f);
}

static void linux_style_round_trip(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	uint32_t l = command(f, "GetRandom", 9);
	assert_int_equal(l, 12);
	assert_memory_equal(vg_hva(&f->g, f->resp), "re:modnaRteG", 12);
	assert_int_equal(f->fake.calls, 1);
	assert_int_equal(f->fake.last_cap, VIRTIO_NSM_RESPONSE_MAX);
	if (f->g.irqs == 0) /* the guest saw the used entries before the interrupt came */
		assert_true(vg_wait_irq(&f->g, T_MS) & VIRTIO_INT_USED);
	l = command(f, "abc", 3);
	assert_int_equal(l, 6);
	assert_memory_equal(vg_hva(&f->g, f->resp), "re:cba", 6);
	fx_free(f);
}

static void one_chain_and_indirect(void **state)
{
	(void)state;
	struct fx *f = fx_new((1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_F_EVENT_IDX));
	memcpy(vg_hva(&f->g, f->req), "xyz", 3);
	struct vg_buf b[2] = {
		{.gpa = f->req, .len = 3},
		{.gpa = f->resp, .len = VIRTIO_NSM_RESPONSE_MAX, .write = true},
	};
	assert_true(vg_add(&f->g, 0, b, 2, 7) >= 0);
	vg_kick(&f->g, 0);
	uint64_t tok;
	uint32_t l;
	assert_int_equal(vg_wait_used(&f->g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(tok, 7);
	assert_int_equal(l, 6);
	assert_memory_equal(vg_hva(&f->g, f->resp), "re:zyx", 6);
	/* the same through an indirect table, response split over two buffers */
	struct vg_buf c[3] = {
		{.gpa = f->req, .len = 3},
		{.gpa = f->resp, .len = 4, .write = true},
		{.gpa = f->resp + 100, .len = 100, .write = true},
	};
	assert_true(vg_add_indirect(&f->g, 0, c, 3, 8) >= 0);
	vg_kick(&f->g, 0);
	assert_int_equal(vg_wait_used(&f->g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(tok, 8);
	assert_int_equal(l, 6);
	assert_memory_equal(vg_hva(&f->g, f->resp), "re:z", 4);
	assert_memory_equal(vg_hva(&f->g, f->resp + 100), "yx", 2);
	assert_int_equal(f->fake.last_cap, 104);
	fx_free(f);
}

static void many_in_order(void **state)
{
	(void)state;
	struct fx *f = fx_new(1ull << VIRTIO_F_EVENT_IDX);
	enum { N = 32 };
	uint64_t reqs = vg_alloc(&f->g, 16 * N, 16), resps = vg_alloc(&f->g, 64 * N, 16);
	for (int i = 0; i < N; i++) {
		char *r = vg_hva(&f->g, reqs + 16 * i);
		int len = snprintf(r, 16, "req%02d", i);
		struct vg_buf out = {.gpa = reqs + 16 * i, .len = (uint32_t)len};
		struct vg_buf in = {.gpa = resps + 64 * i, .len = 64, .write = true};
		assert_true(vg_add(&f->g, 0, &out, 1, 1000 + i) >= 0);
		assert_true(vg_add(&f->g, 0, &in, 1, 2000 + i) >= 0);
	}
	vg_kick(&f->g, 0);
	for (int i = 0; i < N; i++) {
		uint64_t tok;
		uint32_t l;
		assert_int_equal(vg_wait_used(&f->g, 0, &tok, &l, T_MS), 1);
		assert_int_equal(tok, 1000 + i);
		assert_int_equal(vg_wait_used(&f->g, 0, &tok, &l, T_MS), 1);
		assert_int_equal(tok, 2000 + i);
		assert_int_equal(l, 8);
		char want[32];
		snprintf(want, sizeof(want), "re:%d%dqer", i % 10, i / 10);
		assert_memory_equal(vg_hva(&f->g, resps + 64 * i), want, 8);
	}
	assert_int_equal(f->fake.calls, N);
	fx_free(f);
}

static void oversize_request_and_handler_errors(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	char *big = malloc(0x1001);
	memset(big, 'q', 0x1001);
	uint32_t l = command(f, big, 0x1001);
	static const uint8_t too_large[] = {0xa1, 0x65, 'E', 'r', 'r', 'o', 'r', 0x6d, 'I', 'n', 'p',
					    'u',  't',  'T', 'o', 'o', 'L', 'a', 'r',  'g', 'e'};
	assert_int_equal(l, sizeof(too_large));
	assert_memory_equal(vg_hva(&f->g, f->resp), too_large, sizeof(too_large));
	assert_int_equal(f->fake.calls, 0);
	/* exactly 0x1000 reaches the handler */
	f->fake.fill = 5;
	assert_int_equal(command(f, big, 0x1000), 5);
	assert_int_equal(f->fake.calls, 1);
	free(big);
	/* a full 0x3000 response */
	f->fake.fill = VIRTIO_NSM_RESPONSE_MAX;
	assert_int_equal(command(f, "x", 1), VIRTIO_NSM_RESPONSE_MAX);
	/* a handler failure completes both chains with nothing written */
	f->fake.fill = 0;
	f->fake.fail = 1;
	assert_int_equal(command(f, "x", 1), 0);
	assert_int_equal(virtio_mmio_status(f->t) & VIRTIO_STATUS_NEEDS_RESET, 0);
	fx_free(f);
}

static void expect_needs_reset(struct fx *f)
{
	uint64_t end = vg_now_ms() + T_MS;
	uint32_t isr = 0;
	while (!(isr & VIRTIO_INT_CONFIG) && vg_now_ms() < end)
		isr |= vg_wait_irq(&f->g, 100);
	assert_true(isr & VIRTIO_INT_CONFIG);
	assert_true(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
}

static void broken_drivers(void **state)
{
	(void)state;
	struct fx *f;
	uint64_t tok;

	/* a response buffer with no request */
	f = fx_new(0);
	struct vg_buf in = {.gpa = f->resp, .len = 64, .write = true};
	vg_add(&f->g, 0, &in, 1, 1);
	vg_kick(&f->g, 0);
	expect_needs_reset(f);
	assert_int_equal(f->fake.calls, 0);
	assert_string_equal(virtio_mmio_reset_reason(f->t), "NSM chain without a request");
	/* the driver resets and the device works again */
	assert_int_equal(vg_setup(&f->g, f->t, 0, 1, 64), 0);
	assert_int_equal(command(f, "ok", 2), 5);
	fx_free(f);

	/* a request followed by another request */
	f = fx_new(0);
	struct vg_buf out = {.gpa = f->req, .len = 4};
	vg_add(&f->g, 0, &out, 1, 1);
	vg_add(&f->g, 0, &out, 1, 2);
	vg_kick(&f->g, 0);
	expect_needs_reset(f);
	assert_int_equal(f->fake.calls, 0);
	fx_free(f);

	/* descriptor pointing outside guest memory */
	f = fx_new(0);
	struct vg_buf wild[2] = {{.gpa = 0x1000, .len = 4}, {.gpa = f->resp, .len = 64, .write = true}};
	vg_add(&f->g, 0, wild, 2, 1);
	vg_kick(&f->g, 0);
	expect_needs_reset(f);
	assert_int_equal(vg_used(&f->g, 0, &tok, NULL), 0);
	fx_free(f);

	/* avail index racing ahead of the ring */
	f = fx_new(0);
	uint16_t idx = 200;
	memcpy((uint8_t *)vg_hva(&f->g, f->g.q[0].avail) + 2, &idx, 2);
	vg_kick(&f->g, 0);
	expect_needs_reset(f);
	fx_free(f);

	/* a descriptor loop */
	f = fx_new(0);
	struct vg_buf two[2] = {{.gpa = f->req, .len = 4}, {.gpa = f->resp, .len = 64, .write = true}};
	int head = vg_add(&f->g, 0, two, 2, 1);
	uint8_t *d = vg_hva(&f->g, f->g.q[0].desc);
	uint16_t second;
	memcpy(&second, d + 16 * head + 14, 2);
	uint16_t flags = VIRTQ_DESC_F_NEXT; /* readable, back to the head */
	memcpy(d + 16 * second + 12, &flags, 2);
	memcpy(d + 16 * second + 14, &head, 2);
	vg_kick(&f->g, 0);
	expect_needs_reset(f);
	assert_non_null(strstr(virtio_mmio_reset_reason(f->t), "loops"));
	fx_free(f);
}

static void kicks_before_driver_ok_and_reset_mid_flight(void **state)
{
	(void)state;
	struct fx *f = fx_new(0);
	/* pending request when the driver resets: no crash, nothing delivered later */
	struct vg_buf out = {.gpa = f->req, .len = 4};
	vg_add(&f->g, 0, &out, 1, 1);
	vg_kick(&f->g, 0);
	vg_wr(&f->g, 0x070, 0);
	assert_int_equal(virtio_mmio_status(f->t), 0);
	assert_int_equal(vg_setup(&f->g, f->t, 0, 1, 64), 0);
	assert_int_equal(command(f, "again", 5), 8);
	fx_free(f);
}

/* The NSM engine (src/nsm) plugged in the way the VMM will: a wrapper that
 * turns its ErrorCode result (a response is always written) into 0. */
static int engine_handle(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap,
			 size_t *resp_len)
{
	return nsm_handle_request(ctx, req, req_len, resp, cap, resp_len) < 0 ? -1 : 0;
}

static void with_the_nsm_engine(void **state)
{
	(void)state;
	struct nsm *engine;
	struct nsm_config cfg = {.module_id = "i-0123456789abcdef0-enc0123456789abcdef"};
	struct carve_err err = {0};
	assert_int_equal(nsm_create(&engine, &cfg, &err), 0);
	struct vguest g;
	assert_int_equal(vg_init(&g, 8 << 20), 0);
	struct virtio_nsm_handler h = {.handle = engine_handle, .ctx = engine};
	struct virtio_nsm *n = virtio_nsm_create(&h);
	struct virtio_mmio *t = virtio_mmio_create(&g.mem, virtio_nsm_backend(), n);
	assert_int_equal(vg_setup(&g, t, 0, 1, 64), 0);
	uint64_t req = vg_alloc(&g, 0x2000, 16), resp = vg_alloc(&g, VIRTIO_NSM_RESPONSE_MAX, 16);
	/* what the Linux driver's hwrng sends, and the prefix it checks */
	static const uint8_t get_random[] = {0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd', 'o', 'm'};
	static const uint8_t prefix[] = {0xa1, 0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd',  'o',  'm',
					 0xa1, 0x66, 'r', 'a', 'n', 'd', 'o', 'm', 0x59, 0x01, 0x00};
	memcpy(vg_hva(&g, req), get_random, sizeof(get_random));
	struct vg_buf out = {.gpa = req, .len = sizeof(get_random)};
	struct vg_buf in = {.gpa = resp, .len = VIRTIO_NSM_RESPONSE_MAX, .write = true};
	vg_add(&g, 0, &out, 1, 1);
	vg_add(&g, 0, &in, 1, 2);
	vg_kick(&g, 0);
	uint64_t tok;
	uint32_t l;
	assert_int_equal(vg_wait_used(&g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(tok, 1);
	assert_int_equal(vg_wait_used(&g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(tok, 2);
	assert_int_equal(l, sizeof(prefix) + 256);
	assert_memory_equal(vg_hva(&g, resp), prefix, sizeof(prefix));
	/* the device's own InputTooLarge answer is byte for byte the engine's */
	uint8_t *big = calloc(1, 0x1001), mine[64], theirs[64];
	size_t theirs_len = 0;
	nsm_handle_request(engine, big, 0x1001, theirs, sizeof(theirs), &theirs_len);
	memcpy(vg_hva(&g, req), big, 0x1001);
	out.len = 0x1001;
	vg_add(&g, 0, &out, 1, 1);
	vg_add(&g, 0, &in, 1, 2);
	vg_kick(&g, 0);
	assert_int_equal(vg_wait_used(&g, 0, &tok, &l, T_MS), 1);
	assert_int_equal(vg_wait_used(&g, 0, &tok, &l, T_MS), 1);
	memcpy(mine, vg_hva(&g, resp), l < sizeof(mine) ? l : sizeof(mine));
	assert_int_equal(l, theirs_len);
	assert_memory_equal(mine, theirs, theirs_len);
	free(big);
	virtio_mmio_destroy(t);
	virtio_nsm_destroy(n);
	nsm_destroy(engine);
	vg_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(linux_style_round_trip),
		cmocka_unit_test(write_protected_response_refused),
		cmocka_unit_test(one_chain_and_indirect),
		cmocka_unit_test(many_in_order),
		cmocka_unit_test(oversize_request_and_handler_errors),
		cmocka_unit_test(broken_drivers),
		cmocka_unit_test(kicks_before_driver_ok_and_reset_mid_flight),
		cmocka_unit_test(with_the_nsm_engine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
