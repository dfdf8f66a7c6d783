/* Split virtqueue, device side: chains as a driver builds them, and every
 * way a hostile driver can break a ring (the device must refuse, never
 * crash or touch memory outside the guest). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carve/virtq.h"
#include "vguest.h"

#define MEM (4u << 20)
#define QN 8

struct fx {
	struct vguest g;
	struct virtq q;
	struct virtq_chain c;
	uint64_t desc, avail, used, data;
};

static uint64_t feats(bool ind, bool evt)
{
	return (1ull << VIRTIO_F_VERSION_1) | (ind ? 1ull << VIRTIO_F_INDIRECT_DESC : 0) |
		(evt ? 1ull << VIRTIO_F_EVENT_IDX : 0);
}

static struct fx *fx_new(uint64_t features)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(vg_init(&f->g, MEM), 0);
	f->desc = vg_alloc(&f->g, 16 * QN, 16);
	f->avail = vg_alloc(&f->g, 6 + 2 * QN, 2);
	f->used = vg_alloc(&f->g, 6 + 8 * QN, 4);
	f->data = vg_alloc(&f->g, 65536, 16);
	assert_int_equal(virtq_init(&f->q, &f->g.mem, QN, f->desc, f->avail, f->used, features), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	vg_free(&f->g);
	free(f);
}

static void desc(struct fx *f, uint64_t table, int i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = (uint8_t *)vg_hva(&f->g, table) + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void avail_push(struct fx *f, uint16_t head)
{
	uint8_t *a = vg_hva(&f->g, f->avail);
	uint16_t idx;
	memcpy(&idx, a + 2, 2);
	memcpy(a + 4 + 2 * (idx % QN), &head, 2);
	idx++;
	memcpy(a + 2, &idx, 2);
}

static void set_avail_idx(struct fx *f, uint16_t idx)
{
	memcpy((uint8_t *)vg_hva(&f->g, f->avail) + 2, &idx, 2);
}

static void expect_broken(struct fx *f, const char *what)
{
	assert_int_equal(virtq_pop(&f->q, &f->c), -22);
	assert_true(f->q.broken);
	assert_non_null(strstr(f->q.why, what));
	/* stays broken */
	assert_int_equal(virtq_pop(&f->q, &f->c), -22);
}

static void init_rejects_bad_rings(void **state)
{
	(void)state;
	struct vguest g;
	struct virtq q;
	uint64_t f = feats(true, true);
	assert_int_equal(vg_init(&g, MEM), 0);
	uint64_t base = vg_alloc(&g, 65536, 4096);
	assert_int_equal(virtq_init(&q, &g.mem, 0, base, base + 4096, base + 8192, f), -22);
	assert_int_equal(virtq_init(&q, &g.mem, 3, base, base + 4096, base + 8192, f), -22);
	assert_int_equal(virtq_init(&q, &g.mem, 6, base, base + 4096, base + 8192, f), -22);
	assert_int_equal(virtq_init(&q, &g.mem, 8, base + 8, base + 4096, base + 8192, f),
			 -22); /* desc not 16-aligned */
	assert_int_equal(virtq_init(&q, &g.mem, 8, base, base + 4097, base + 8192, f), -22); /* avail odd */
	assert_int_equal(virtq_init(&q, &g.mem, 8, base, base + 4096, base + 8194, f),
			 -22); /* used not 4-aligned */
	assert_int_equal(virtq_init(&q, &g.mem, 8, 0, base + 4096, base + 8192, f), -22); /* below RAM */
	assert_int_equal(virtq_init(&q, &g.mem, 8, base, base + 4096, VG_BASE + MEM - 16, f),
			 -22); /* runs off the end */
	assert_int_equal(virtq_init(&q, &g.mem, 32768, VG_BASE + MEM - 4096, base, base + 8192, f), -22);
	assert_int_equal(virtq_init(&q, &g.mem, 8, UINT64_MAX - 15, base + 4096, base + 8192, f), -22);
	assert_true(q.broken);
	struct virtq_chain *c = malloc(sizeof(*c));
	assert_int_equal(virtq_pop(&q, c), -22);
	free(c);
	assert_int_equal(virtq_init(&q, &g.mem, 8, base, base + 4096, base + 8192, f), 0);
	assert_int_equal(virtq_init(&q, &g.mem, 1, base, base + 4096, base + 8192, f), 0);
	vg_free(&g);
}

static void pops_a_mixed_chain(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(false, false));
	memcpy(vg_hva(&f->g, f->data), "hello, world", 12);
	desc(f, f->desc, 2, f->data, 5, VIRTQ_DESC_F_NEXT, 5);
	desc(f, f->desc, 5, f->data + 5, 7, VIRTQ_DESC_F_NEXT, 1);
	desc(f, f->desc, 1, f->data + 100, 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 7);
	desc(f, f->desc, 7, f->data + 200, 20, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	avail_push(f, 2);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 2);
	assert_int_equal(f->c.nr, 2);
	assert_int_equal(f->c.nw, 2);
	assert_int_equal(f->c.rlen, 12);
	assert_int_equal(f->c.wlen, 30);
	char buf[32] = {0};
	assert_int_equal(virtq_chain_read(&f->c, 0, buf, sizeof(buf)), 12);
	assert_string_equal(buf, "hello, world");
	assert_int_equal(virtq_chain_read(&f->c, 3, buf, 4), 4);
	assert_memory_equal(buf, "lo, ", 4);
	char out[30];
	memset(out, 'x', sizeof(out));
	assert_int_equal(virtq_chain_write(&f->c, 0, out, 40), 30);
	assert_memory_equal(vg_hva(&f->g, f->data + 100), out, 10);
	assert_memory_equal(vg_hva(&f->g, f->data + 200), out, 20);
	virtq_push(&f->q, &f->c, 30);
	uint8_t *u = vg_hva(&f->g, f->used);
	uint16_t uidx;
	uint32_t id, len;
	memcpy(&uidx, u + 2, 2);
	memcpy(&id, u + 4, 4);
	memcpy(&len, u + 8, 4);
	assert_int_equal(uidx, 1);
	assert_int_equal(id, 2);
	assert_int_equal(len, 30);
	assert_true(virtq_should_notify(&f->q));
	assert_false(virtq_should_notify(&f->q)); /* nothing new since */
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	fx_free(f);
}

/* Sub-page write protection: a device-writable buffer in memory the device
 * may not write fails its request (completed with 0 bytes, nothing
 * written); the next one is served. */
static uint64_t prot_lo, prot_hi;
static bool not_in_prot(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa + len <= prot_lo || gpa >= prot_hi;
}

static void write_protected_buffer_refused(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(false, false));
	f->g.mem.writable = not_in_prot;
	prot_lo = f->data + 1024;
	prot_hi = f->data + 1152;
	/* Chain 0: reads, then writes into the protected range: refused.
	 * Chain 3: writes beside it: served. Readable buffers there are fine. */
	desc(f, f->desc, 0, f->data + 1024, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(f, f->desc, 1, f->data + 1100, 16, VIRTQ_DESC_F_WRITE, 0);
	desc(f, f->desc, 3, f->data + 1024, 8, VIRTQ_DESC_F_NEXT, 4);
	desc(f, f->desc, 4, f->data + 1152, 16, VIRTQ_DESC_F_WRITE, 0);
	avail_push(f, 0);
	avail_push(f, 3);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 3);
	uint64_t at = 0;
	assert_true(virtq_take_refused(&f->q, &at));
	assert_int_equal(at, f->data + 1100);
	assert_false(virtq_take_refused(&f->q, &at));
	assert_int_equal(f->q.refused, 1);
	uint8_t *u = vg_hva(&f->g, f->used);
	uint16_t uidx;
	uint32_t id, len;
	memcpy(&uidx, u + 2, 2);
	memcpy(&id, u + 4, 4);
	memcpy(&len, u + 8, 4);
	assert_int_equal(uidx, 1); /* the refused one, completed */
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_true(virtq_should_notify(&f->q));
	virtq_push(&f->q, &f->c, 16);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	assert_false(f->q.broken);
	/* A used ring the device may not write: the queue cannot be set up. */
	struct virtq q2;
	prot_lo = f->used;
	prot_hi = f->used + 128;
	assert_int_equal(virtq_init(&q2, &f->g.mem, QN, f->desc, f->avail, f->used, feats(false, false)),
			 -22);
	assert_non_null(strstr(q2.why, "write-protected"));
	fx_free(f);
}

static void unpop_gives_the_chain_back(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(false, false));
	desc(f, f->desc, 3, f->data, 16, VIRTQ_DESC_F_WRITE, 0);
	avail_push(f, 3);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	virtq_unpop(&f->q);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	fx_free(f);
}

static void no_interrupt_flag_and_event_index(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(false, false));
	desc(f, f->desc, 0, f->data, 16, VIRTQ_DESC_F_WRITE, 0);
	uint16_t flag = VIRTQ_AVAIL_F_NO_INTERRUPT;
	memcpy(vg_hva(&f->g, f->avail), &flag, 2);
	avail_push(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	virtq_push(&f->q, &f->c, 0);
	assert_false(virtq_should_notify(&f->q));
	fx_free(f);

	f = fx_new(feats(false, true));
	for (int i = 0; i < 4; i++)
		desc(f, f->desc, i, f->data + 64 * i, 16, VIRTQ_DESC_F_WRITE, 0);
	/* used_event = 2: notify only when used idx passes 2 (becomes 3) */
	uint16_t ue = 2;
	memcpy((uint8_t *)vg_hva(&f->g, f->avail) + 4 + 2 * QN, &ue, 2);
	for (int i = 0; i < 4; i++)
		avail_push(f, (uint16_t)i);
	bool notified[4];
	for (int i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		virtq_push(&f->q, &f->c, 0);
		notified[i] = virtq_should_notify(&f->q);
	}
	assert_false(notified[0]);
	assert_false(notified[1]);
	assert_true(notified[2]);
	assert_false(notified[3]);
	/* idle publishes avail_event = last_avail */
	assert_false(virtq_idle(&f->q));
	uint16_t ae;
	memcpy(&ae, (uint8_t *)vg_hva(&f->g, f->used) + 4 + 8 * QN, 2);
	assert_int_equal(ae, 4);
	avail_push(f, 0);
	assert_true(virtq_idle(&f->q));
	fx_free(f);
}

static void indirect_chain(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(true, false));
	uint64_t table = vg_alloc(&f->g, 16 * 3, 16);
	desc(f, table, 0, f->data, 8, VIRTQ_DESC_F_NEXT, 2);
	desc(f, table, 2, f->data + 8, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(f, table, 1, f->data + 64, 100, VIRTQ_DESC_F_WRITE, 0);
	desc(f, f->desc, 4, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 4);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 4);
	assert_int_equal(f->c.nr, 2);
	assert_int_equal(f->c.nw, 1);
	assert_int_equal(f->c.rlen, 16);
	assert_int_equal(f->c.wlen, 100);
	fx_free(f);
}

/* ---- hostile drivers ---- */

static void head_out_of_range(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(true, true));
	avail_push(f, QN);
	expect_broken(f, "out of range");
	fx_free(f);
}

static void next_out_of_range(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(true, true));
	desc(f, f->desc, 0, f->data, 8, VIRTQ_DESC_F_NEXT, 0xffff);
	avail_push(f, 0);
	expect_broken(f, "next descriptor index out of range");
	fx_free(f);
}

static void descriptor_loop(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(true, true));
	desc(f, f->desc, 0, f->data, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(f, f->desc, 1, f->data, 8, VIRTQ_DESC_F_NEXT, 0);
	avail_push(f, 0);
	expect_broken(f, "loops");
	fx_free(f);
	/* a self-loop of zero-length descriptors (no bytes to count) */
	f = fx_new(feats(true, true));
	desc(f, f->desc, 5, f->data, 0, VIRTQ_DESC_F_NEXT, 5);
	avail_push(f, 5);
	expect_broken(f, "loops");
	fx_free(f);
}

static void loop_inside_indirect_table(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(true, true));
	uint64_t table = vg_alloc(&f->g, 16 * 4, 16);
	desc(f, table, 0, f->data, 8, VIRTQ_DESC_F_NEXT, 3);
	desc(f, table, 3, f->data, 8, VIRTQ_DESC_F_NEXT, 0);
	desc(f, f->desc, 0, table, 64, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
	expect_broken(f, "loops");
	fx_free(f);
}

static void buffer_outside_memory(void **state)
{
	(void)state;
	uint64_t bad[][2] = {
		{0, 16},                 /* below guest RAM */
		{VG_BASE + MEM - 8, 16}, /* straddles the end */
		{VG_BASE + MEM, 1},      /* just past the end */
		{UINT64_MAX - 7, 16},    /* addr + len wraps */
		{VG_BASE, 0xffffffffu},  /* longer than RAM */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fx *f = fx_new(feats(true, true));
		desc(f, f->desc, 0, f->data, 8, VIRTQ_DESC_F_NEXT, 1);
		desc(f, f->desc, 1, bad[i][0], (uint32_t)bad[i][1], VIRTQ_DESC_F_WRITE, 0);
		avail_push(f, 0);
		expect_broken(f, "outside guest memory");
		fx_free(f);
	}
}

static void total_length_overflow(void **state)
{
	(void)state;
	/* 1024 indirect entries each naming all 4 MiB of RAM: 4 GiB in total,
	 * one byte more than a used.len can say */
	struct fx *f = fx_new(feats(true, true));
	int n = 1024;
	uint64_t table = vg_alloc(&f->g, 16ull * n, 16);
	for (int i = 0; i < n; i++)
		desc(f, table, i, VG_BASE, MEM, VIRTQ_DESC_F_WRITE | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
		     (uint16_t)(i + 1));
	desc(f, f->desc, 0, table, 16u * n, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
	expect_broken(f, "overflows 32 bits");
	fx_free(f);
}

static void indirect_abuse(void **state)
{
	(void)state;
	struct fx *f;
	uint64_t table;

	/* indirect descriptor inside an indirect table */
	f = fx_new(feats(true, true));
	table = vg_alloc(&f->g, 32, 16);
	desc(f, table, 0, f->data, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(f, table, 1, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	desc(f, f->desc, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
	expect_broken(f, "inside an indirect table");
	fx_free(f);

	/* not negotiated */
	f = fx_new(feats(false, true));
	table = vg_alloc(&f->g, 16, 16);
	desc(f, table, 0, f->data, 8, 0, 0);
	desc(f, f->desc, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
	expect_broken(f, "without VIRTIO_F_INDIRECT_DESC");
	fx_free(f);

	/* INDIRECT | NEXT */
	f = fx_new(feats(true, true));
	table = vg_alloc(&f->g, 16, 16);
	desc(f, table, 0, f->data, 8, 0, 0);
	desc(f, f->desc, 0, table, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	avail_push(f, 0);
	expect_broken(f, "with NEXT");
	fx_free(f);

	/* bad table lengths: 0, not a multiple of 16, too many entries, outside memory */
	uint32_t lens[] = {0, 24, 16 * (VIRTQ_MAX_CHAIN + 1)};
	for (size_t i = 0; i < 3; i++) {
		f = fx_new(feats(true, true));
		desc(f, f->desc, 0, f->data, lens[i], VIRTQ_DESC_F_INDIRECT, 0);
		avail_push(f, 0);
		expect_broken(f, "indirect table length");
		fx_free(f);
	}
	f = fx_new(feats(true, true));
	desc(f, f->desc, 0, VG_BASE + MEM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
	expect_broken(f, "indirect table outside guest memory");
	fx_free(f);

	/* indirect after a direct descriptor */
	f = fx_new(feats(true, true));
	table = vg_alloc(&f->g, 16, 16);
	desc(f, table, 0, f->data, 8, 0, 0);
	desc(f, f->desc, 0, f->data, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(f, f->desc, 1, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
	expect_broken(f, "not at the head");
	fx_free(f);
}

static void readable_after_writable(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(true, true));
	desc(f, f->desc, 0, f->data, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(f, f->desc, 1, f->data, 8, 0, 0);
	avail_push(f, 0);
	expect_broken(f, "readable buffer after a writable");
	fx_free(f);
}

static void avail_index_jump(void **state)
{
	(void)state;
	struct fx *f = fx_new(feats(true, true));
	set_avail_idx(f, QN + 1);
	expect_broken(f, "more than the queue size");
	fx_free(f);
	/* exactly Q pending is fine */
	f = fx_new(feats(true, true));
	for (int i = 0; i < QN; i++) {
		desc(f, f->desc, i, f->data, 8, 0, 0);
		avail_push(f, (uint16_t)i);
	}
	for (int i = 0; i < QN; i++)
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	/* and the index wraps through 65535 -> 0 */
	f->q.last_avail = 0xfffe;
	f->q.used_idx = 0xfffe;
	set_avail_idx(f, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		virtq_push(&f->q, &f->c, 0);
	}
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_rejects_bad_rings),
		cmocka_unit_test(pops_a_mixed_chain),
		cmocka_unit_test(write_protected_buffer_refused),
		cmocka_unit_test(unpop_gives_the_chain_back),
		cmocka_unit_test(no_interrupt_flag_and_event_index),
		cmocka_unit_test(indirect_chain),
		cmocka_unit_test(head_out_of_range),
		cmocka_unit_test(next_out_of_range),
		cmocka_unit_test(descriptor_loop),
		cmocka_unit_test(loop_inside_indirect_table),
		cmocka_unit_test(buffer_outside_memory),
		cmocka_unit_test(total_length_overflow),
		cmocka_unit_test(indirect_abuse),
		cmocka_unit_test(readable_after_writable),
		cmocka_unit_test(avail_index_jump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
