/* The virtio-mmio transport: the register file as a driver sees it, the
 * feature and status handshake, queue set-up checks, reset, and interrupts
 * (with a small backend that records what the transport hands it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/virtio_mmio.h"
#include "vguest.h"

struct rec {
	int starts, stops;
	struct virtio_run run;
	int fail_start;
	uint8_t config[12];
};

static void rec_config(void *ctx, uint32_t off, void *buf, uint32_t len)
{
	struct rec *r = ctx;
	memcpy(buf, r->config + off, len);
}

static int rec_start(void *ctx, const struct virtio_run *run)
{
	struct rec *r = ctx;
	r->starts++;
	r->run = *run;
	return r->fail_start ? -5 : 0;
}

static void rec_stop(void *ctx) { ((struct rec *)ctx)->stops++; }

static const struct virtio_backend rec_be = {
	.device_id = 42,
	.nqueues = 2,
	.queue_max = 16,
	.config_size = 12,
	.features = 1ull << 3,
	.config_read = rec_config,
	.start = rec_start,
	.stop = rec_stop,
};

struct fx {
	struct vguest g;
	struct rec r;
	struct virtio_mmio *t;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(vg_init(&f->g, 1 << 20), 0);
	for (int i = 0; i < 12; i++)
		f->r.config[i] = (uint8_t)(0x10 + i);
	f->t = virtio_mmio_create(&f->g.mem, &rec_be, &f->r);
	assert_non_null(f->t);
	f->g.t = f->t;
	return f;
}

static void fx_free(struct fx *f)
{
	virtio_mmio_destroy(f->t);
	vg_free(&f->g);
	free(f);
}

static uint64_t rd_cfg(struct fx *f, uint32_t off, uint32_t len)
{
	uint64_t v = 0;
	virtio_mmio_read(f->t, 0x100 + off, &v, len);
	return v;
}

static void identity_registers(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	assert_int_equal(vg_rd(&f->g, 0x000), 0x74726976);
	assert_int_equal(vg_rd(&f->g, 0x004), 2);
	assert_int_equal(vg_rd(&f->g, 0x008), 42);
	assert_int_equal(vg_rd(&f->g, 0x00c), 0);
	vg_wr(&f->g, 0x014, 0);
	uint32_t lo = vg_rd(&f->g, 0x010);
	assert_int_equal(lo, (1u << 3) | (1u << VIRTIO_F_INDIRECT_DESC) | (1u << VIRTIO_F_EVENT_IDX));
	vg_wr(&f->g, 0x014, 1);
	assert_int_equal(vg_rd(&f->g, 0x010), 1); /* VERSION_1 */
	vg_wr(&f->g, 0x014, 2);
	assert_int_equal(vg_rd(&f->g, 0x010), 0);
	vg_wr(&f->g, 0x030, 1);
	assert_int_equal(vg_rd(&f->g, 0x034), 16);
	vg_wr(&f->g, 0x030, 2);
	assert_int_equal(vg_rd(&f->g, 0x034), 0); /* no such queue */
	assert_int_equal(vg_rd(&f->g, 0x044), 0);
	vg_wr(&f->g, 0x0ac, 0);
	assert_int_equal(vg_rd(&f->g, 0x0b0), 0xffffffff);
	assert_int_equal(vg_rd(&f->g, 0x0b4), 0xffffffff);
	assert_int_equal(vg_rd(&f->g, 0x0c0), 0);
	assert_int_equal(vg_rd(&f->g, 0x0fc), 0);
	assert_int_equal(vg_rd(&f->g, 0x060), 0);
	assert_int_equal(vg_rd(&f->g, 0x070), 0);
	/* write-only registers read as 0; odd widths and offsets are ignored */
	assert_int_equal(vg_rd(&f->g, 0x050), 0);
	uint16_t h = 0xffff;
	virtio_mmio_read(f->t, 0x000, &h, 2);
	assert_int_equal(h, 0);
	uint32_t w = 0xffffffff;
	virtio_mmio_read(f->t, 0x002, &w, 4);
	assert_int_equal(w, 0);
	virtio_mmio_read(f->t, 0xffc, &w, 4);
	assert_int_equal(w, 0);
	fx_free(f);
}

static void config_space(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	assert_int_equal(rd_cfg(f, 0, 1), 0x10);
	assert_int_equal(rd_cfg(f, 1, 2), 0x1211);
	assert_int_equal(rd_cfg(f, 4, 4), 0x17161514);
	assert_int_equal(rd_cfg(f, 0, 8), 0x1716151413121110ull);
	assert_int_equal(rd_cfg(f, 8, 4), 0x1b1a1918);
	assert_int_equal(rd_cfg(f, 10, 4), 0); /* runs past config_size */
	assert_int_equal(rd_cfg(f, 12, 1), 0);
	assert_int_equal(rd_cfg(f, 0xeff, 1), 0);
	uint64_t big = 0x1234;
	virtio_mmio_read(f->t, 0x100, &big, 16); /* bad width: nothing written */
	assert_int_equal(big, 0x1234);
	/* writes to config are ignored */
	uint32_t v = 0;
	virtio_mmio_write(f->t, 0x100, &v, 4);
	assert_int_equal(rd_cfg(f, 0, 4), 0x13121110);
	fx_free(f);
}

static void handshake_and_start(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint64_t want = (1ull << 3) | (1ull << VIRTIO_F_EVENT_IDX);
	assert_int_equal(vg_setup(&f->g, f->t, want, 2, 8), 0);
	assert_int_equal(f->r.starts, 1);
	assert_int_equal(f->r.run.features, want | (1ull << VIRTIO_F_VERSION_1));
	assert_int_equal(f->r.run.nqueues, 2);
	for (int i = 0; i < 2; i++) {
		assert_true(f->r.run.q[i].ready);
		assert_int_equal(f->r.run.q[i].num, 8);
		assert_int_equal(f->r.run.q[i].desc, f->g.q[i].desc);
		assert_int_equal(f->r.run.q[i].avail, f->g.q[i].avail);
		assert_int_equal(f->r.run.q[i].used, f->g.q[i].used);
		assert_int_equal(f->r.run.q[i].kick_fd, virtio_mmio_kick_fd(f->t, i));
	}
	uint32_t st = vg_rd(&f->g, 0x070);
	assert_int_equal(st, 0xf);
	/* queue registers are frozen while live */
	vg_wr(&f->g, 0x030, 0);
	vg_wr(&f->g, 0x038, 4);
	vg_wr(&f->g, 0x044, 0);
	assert_int_equal(vg_rd(&f->g, 0x044), 1);
	/* QueueNotify signals the kick eventfd */
	vg_wr(&f->g, 0x050, 1);
	uint64_t n = 0;
	assert_int_equal(read(virtio_mmio_kick_fd(f->t, 1), &n, 8), 8);
	assert_int_equal(n, 1);
	vg_wr(&f->g, 0x050, 7); /* no such queue: ignored */
	/* reset stops the backend and clears everything */
	vg_wr(&f->g, 0x070, 0);
	assert_int_equal(f->r.stops, 1);
	assert_int_equal(vg_rd(&f->g, 0x070), 0);
	assert_int_equal(vg_rd(&f->g, 0x044), 0);
	/* and the device comes up again */
	assert_int_equal(vg_setup(&f->g, f->t, want, 2, 16), 0);
	assert_int_equal(f->r.starts, 2);
	fx_free(f);
	/* destroy stopped it */
}

static void features_checked(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	vg_wr(&f->g, 0x070, 3);
	/* without VERSION_1 */
	vg_wr(&f->g, 0x024, 0);
	vg_wr(&f->g, 0x020, 1u << 3);
	vg_wr(&f->g, 0x070, 3 | VIRTIO_STATUS_FEATURES_OK);
	assert_false(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_FEATURES_OK);
	/* with a bit the device does not offer */
	vg_wr(&f->g, 0x024, 1);
	vg_wr(&f->g, 0x020, 1 | 2);
	vg_wr(&f->g, 0x070, 3 | VIRTIO_STATUS_FEATURES_OK);
	assert_false(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_FEATURES_OK);
	/* DRIVER_OK without FEATURES_OK: needs reset, backend not started */
	vg_wr(&f->g, 0x070, 3 | VIRTIO_STATUS_DRIVER_OK);
	assert_true(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->r.starts, 0);
	assert_int_equal(vg_wait_irq(&f->g, 1000), VIRTIO_INT_CONFIG);
	vg_wr(&f->g, 0x070, 0);
	assert_int_equal(vg_rd(&f->g, 0x070), 0);
	/* good set; then driver features are frozen */
	vg_wr(&f->g, 0x070, 3);
	vg_wr(&f->g, 0x024, 1);
	vg_wr(&f->g, 0x020, 1);
	vg_wr(&f->g, 0x024, 0);
	vg_wr(&f->g, 0x020, 0);
	vg_wr(&f->g, 0x070, 3 | VIRTIO_STATUS_FEATURES_OK);
	assert_true(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_FEATURES_OK);
	vg_wr(&f->g, 0x020, 1u << 3);
	vg_wr(&f->g, 0x070, 0xf);
	assert_int_equal(f->r.starts, 1);
	assert_int_equal(f->r.run.features, 1ull << VIRTIO_F_VERSION_1);
	fx_free(f);
}

static void set_queue(struct fx *f, int q, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	vg_wr(&f->g, 0x030, (uint32_t)q);
	vg_wr(&f->g, 0x038, num);
	vg_wr(&f->g, 0x080, (uint32_t)desc);
	vg_wr(&f->g, 0x084, (uint32_t)(desc >> 32));
	vg_wr(&f->g, 0x090, (uint32_t)avail);
	vg_wr(&f->g, 0x094, (uint32_t)(avail >> 32));
	vg_wr(&f->g, 0x0a0, (uint32_t)used);
	vg_wr(&f->g, 0x0a4, (uint32_t)(used >> 32));
	vg_wr(&f->g, 0x044, 1);
}

static void count_fault(void *ctx, const char *what)
{
	assert_non_null(strstr(what, "the device needs a reset: "));
	(*(int *)ctx)++;
}

static void bad_queues_need_reset(void **state)
{
	(void)state;
	uint64_t b = VG_BASE;
	struct {
		uint32_t num;
		uint64_t desc, avail, used;
	} bad[] = {
		{0, b, b + 4096, b + 8192},
		{3, b, b + 4096, b + 8192},
		{32, b, b + 4096, b + 8192},      /* above QueueNumMax */
		{0x10008, b, b + 4096, b + 8192}, /* does not fit 16 bits */
		{8, b + 4, b + 4096, b + 8192},   /* misaligned */
		{8, b, b + 4096, 0x10},           /* outside RAM */
		{8, b, (1ull << 40), b + 8192},
		{8, b + (1 << 20) - 64, b + 4096, b + 8192}, /* runs off the end */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fx *f = fx_new();
		int faults = 0;
		virtio_mmio_on_fault(f->t, count_fault, &faults);
		vg_wr(&f->g, 0x070, 3);
		vg_wr(&f->g, 0x024, 1);
		vg_wr(&f->g, 0x020, 1);
		vg_wr(&f->g, 0x070, 0xb);
		set_queue(f, 0, bad[i].num, bad[i].desc, bad[i].avail, bad[i].used);
		assert_int_equal(faults, 1); /* reported once, for the operator's log */
		assert_int_equal(vg_rd(&f->g, 0x044), 0);
		assert_true(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
		assert_int_equal(vg_wait_irq(&f->g, 1000), VIRTIO_INT_CONFIG);
		assert_int_equal(vg_rd(&f->g, 0x060), 0); /* acknowledged */
		/* DRIVER_OK does not start a device that needs a reset */
		vg_wr(&f->g, 0x070, 0xf);
		assert_int_equal(f->r.starts, 0);
		assert_string_equal(virtio_mmio_reset_reason(f->t), "bad queue size or ring address");
		vg_wr(&f->g, 0x070, 0);
		assert_false(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
		assert_null(virtio_mmio_reset_reason(f->t));
		fx_free(f);
	}
}

static void backend_failure_needs_reset(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	f->r.fail_start = 1;
	assert_int_equal(vg_setup(&f->g, f->t, 0, 1, 8), -1);
	assert_true(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	fx_free(f);
	assert_true(1);
}

static void interrupt_status_and_ack(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	assert_int_equal(vg_setup(&f->g, f->t, 0, 2, 8), 0);
	virtio_mmio_interrupt(f->t, VIRTIO_INT_USED);
	virtio_mmio_interrupt(f->t, VIRTIO_INT_USED);
	assert_int_equal(vg_rd(&f->g, 0x060), 1);
	uint64_t n = 0;
	assert_int_equal(read(virtio_mmio_irq_fd(f->t), &n, 8), 8);
	assert_int_equal(n, 2);
	virtio_mmio_needs_reset(f->t, "test");
	assert_int_equal(vg_rd(&f->g, 0x060), 3);
	vg_wr(&f->g, 0x064, 1);
	assert_int_equal(vg_rd(&f->g, 0x060), 2);
	vg_wr(&f->g, 0x064, 2);
	assert_int_equal(vg_rd(&f->g, 0x060), 0);
	assert_true(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	/* the driver cannot clear NEEDS_RESET except by a reset */
	vg_wr(&f->g, 0x070, 0xf);
	assert_true(vg_rd(&f->g, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	vg_wr(&f->g, 0x070, 0);
	assert_int_equal(vg_rd(&f->g, 0x070), 0);
	fx_free(f);
}

static void create_rejects_bad_backends(void **state)
{
	(void)state;
	struct vguest g;
	assert_int_equal(vg_init(&g, 4096), 0);
	struct virtio_backend be = rec_be;
	struct rec r = {0};
	be.nqueues = 0;
	assert_null(virtio_mmio_create(&g.mem, &be, &r));
	be = rec_be;
	be.queue_max = 12;
	assert_null(virtio_mmio_create(&g.mem, &be, &r));
	be = rec_be;
	be.config_size = 0x1000;
	assert_null(virtio_mmio_create(&g.mem, &be, &r));
	be = rec_be;
	be.nqueues = VIRTIO_MAX_QUEUES + 1;
	assert_null(virtio_mmio_create(&g.mem, &be, &r));
	vg_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identity_registers),       cmocka_unit_test(config_space),
		cmocka_unit_test(handshake_and_start),      cmocka_unit_test(features_checked),
		cmocka_unit_test(bad_queues_need_reset),    cmocka_unit_test(backend_failure_needs_reset),
		cmocka_unit_test(interrupt_status_and_ack), cmocka_unit_test(create_rejects_bad_backends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
