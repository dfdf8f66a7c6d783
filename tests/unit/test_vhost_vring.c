/* The driver side of a split ring (what carve is toward the kernel's
 * vhost-vsock), checked against carve's own device side: what the driver
 * makes available, the device pops as the same buffers, and what the device
 * returns, the driver gets back with its tokens; a device that returns what
 * it never had is caught. Plus the vhost control plane's errors that need no
 * vhost device, and the --af-vsock words. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/vhost.h"
#include "carve/virtq.h"
#include "carve/vring_driver.h"

#define BASE 0x10000ull /* the ring's "guest physical" address */
#define QN 8

struct fx {
	uint8_t *mem;
	size_t size;
	struct virtio_mem vm;
	struct vring_driver d;
	struct virtq q;
	struct virtq_chain c;
};

static void *ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct fx *f = ctx;
	if (gpa < BASE || gpa - BASE > f->size || len > f->size - (gpa - BASE))
		return NULL;
	return f->mem + (gpa - BASE);
}

static uint64_t gpa_of(const struct fx *f, const void *p)
{
	return BASE + (uint64_t)((const uint8_t *)p - f->mem);
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->size = vring_driver_size(QN) + 64 * 1024;
	assert_int_equal(f->size % 4096, 0);
	assert_int_equal(posix_memalign((void **)&f->mem, 4096, f->size), 0);
	memset(f->mem, 0, f->size);
	f->vm = (struct virtio_mem){.ptr = ptr, .ctx = f};
	assert_int_equal(vring_driver_init(&f->d, f->mem, QN), 0);
	assert_int_equal(virtq_init(&f->q, &f->vm, QN, gpa_of(f, f->d.desc), gpa_of(f, f->d.avail),
				    gpa_of(f, f->d.used), 1ull << VIRTIO_F_VERSION_1),
			 0);
	return f;
}

static void fx_free(struct fx *f)
{
	vring_driver_free(&f->d);
	free(f->mem);
	free(f);
}

static uint64_t data_gpa(const struct fx *f, unsigned i)
{
	(void)f;
	return BASE + vring_driver_size(QN) + 1024ull * i;
}

static void device_sees_what_driver_added(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	assert_int_equal(vring_driver_add(&f->d, data_gpa(f, 0), 100, false, 1000), 0);
	assert_int_equal(vring_driver_add(&f->d, data_gpa(f, 1), 200, true, 1001), 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nr, 1);
	assert_int_equal(f->c.nw, 0);
	assert_int_equal(f->c.rlen, 100);
	assert_ptr_equal(f->c.seg[0].p, f->mem + (data_gpa(f, 0) - BASE));
	virtq_push(&f->q, &f->c, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nr, 0);
	assert_int_equal(f->c.nw, 1);
	assert_int_equal(f->c.wlen, 200);
	virtq_push(&f->q, &f->c, 150);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);

	uint64_t token;
	uint32_t len;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), 1);
	assert_int_equal(token, 1000);
	assert_int_equal(len, 0);
	assert_int_equal(vring_driver_used(&f->d, &token, &len), 1);
	assert_int_equal(token, 1001);
	assert_int_equal(len, 150);
	assert_int_equal(vring_driver_used(&f->d, &token, &len), 0);
	fx_free(f);
}

static void full_ring_and_wraparound(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	/* Several times round the ring: indices wrap, descriptors are reused. */
	for (unsigned round = 0; round < 5; round++) {
		for (unsigned i = 0; i < QN; i++)
			assert_int_equal(vring_driver_add(&f->d, data_gpa(f, i), 64, true, round * 100 + i),
					 0);
		assert_int_equal(vring_driver_add(&f->d, data_gpa(f, 0), 64, true, 9), -1);
		for (unsigned i = 0; i < QN; i++) {
			assert_int_equal(virtq_pop(&f->q, &f->c), 1);
			virtq_push(&f->q, &f->c, i);
		}
		for (unsigned i = 0; i < QN; i++) {
			uint64_t token;
			uint32_t len;
			assert_int_equal(vring_driver_used(&f->d, &token, &len), 1);
			assert_int_equal(token, round * 100 + i);
			assert_int_equal(len, i);
		}
	}
	fx_free(f);
}

static void device_returning_what_it_never_had(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	uint64_t token;
	uint32_t len;
	/* A used entry with nothing outstanding. */
	f->d.used->ring[0].id = 0;
	f->d.used->idx = 1;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), -1);
	fx_free(f);

	f = fx_new();
	assert_int_equal(vring_driver_add(&f->d, data_gpa(f, 0), 64, true, 7), 0);
	/* An id beyond the ring, then a length beyond the buffer. */
	f->d.used->ring[0].id = QN;
	f->d.used->ring[0].len = 1;
	f->d.used->idx = 1;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), -1);
	f->d.used->ring[0].id = 0;
	f->d.used->ring[0].len = 65;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), -1);
	f->d.used->ring[0].len = 64;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), 1);
	assert_int_equal(token, 7);
	fx_free(f);
}

/* A virtio-blk request's shape: a header the device reads, data and a
 * status byte it writes, as one chain. */
static void chains(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct vring_driver_buf req[3] = {
		{.addr = data_gpa(f, 0), .len = 16, .device_writes = false},
		{.addr = data_gpa(f, 1), .len = 512, .device_writes = true},
		{.addr = data_gpa(f, 2), .len = 1, .device_writes = true},
	};
	assert_int_equal(vring_driver_add_chain(&f->d, req, 0, 1), -1);
	assert_int_equal(vring_driver_add_chain(&f->d, req, 3, 41), 0);
	assert_int_equal(f->d.nfree, QN - 3);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nr, 1);
	assert_int_equal(f->c.nw, 2);
	assert_int_equal(f->c.rlen, 16);
	assert_int_equal(f->c.wlen, 513);
	assert_ptr_equal(f->c.seg[1].p, f->mem + (data_gpa(f, 1) - BASE));
	/* The device scribbles over the links it was given: the driver's own
	 * record still frees the right descriptors. */
	for (unsigned i = 0; i < QN; i++)
		f->d.desc[i].next = 0;
	virtq_push(&f->q, &f->c, 513);
	uint64_t token;
	uint32_t len;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), 1);
	assert_int_equal(token, 41);
	assert_int_equal(len, 513);
	assert_int_equal(f->d.nfree, QN);
	/* Every descriptor is usable again: two chains of four fill the ring. */
	struct vring_driver_buf four[4];
	for (unsigned i = 0; i < 4; i++)
		four[i] = (struct vring_driver_buf){.addr = data_gpa(f, i), .len = 8, .device_writes = true};
	assert_int_equal(vring_driver_add_chain(&f->d, four, 4, 1), 0);
	assert_int_equal(vring_driver_add_chain(&f->d, four, 4, 2), 0);
	assert_int_equal(vring_driver_add_chain(&f->d, four, 1, 3), -1);
	for (unsigned k = 0; k < 2; k++) {
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		assert_int_equal(f->c.nw, 4);
		virtq_push(&f->q, &f->c, 32);
	}
	assert_int_equal(vring_driver_used(&f->d, &token, &len), 1);
	assert_int_equal(token, 1);
	assert_int_equal(vring_driver_used(&f->d, &token, &len), 1);
	assert_int_equal(token, 2);
	fx_free(f);

	/* More written than the whole chain holds; a used id that is inside
	 * a chain but not its head. */
	f = fx_new();
	assert_int_equal(vring_driver_add_chain(&f->d, req, 3, 5), 0);
	f->d.used->ring[0].id = 0;
	f->d.used->ring[0].len = 16 + 512 + 1 + 1;
	f->d.used->idx = 1;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), -1);
	f->d.used->ring[0].id = 1;
	f->d.used->ring[0].len = 1;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), -1);
	f->d.used->ring[0].id = 0;
	assert_int_equal(vring_driver_used(&f->d, &token, &len), 1);
	assert_int_equal(token, 5);
	fx_free(f);
}

static void ring_sizes(void **state)
{
	(void)state;
	struct vring_driver d;
	uint8_t mem[8192] __attribute__((aligned(4096))) = {0};
	assert_int_equal(vring_driver_init(&d, mem, 0), -1);
	assert_int_equal(vring_driver_init(&d, mem, 3), -1);
	assert_int_equal(vring_driver_init(&d, mem, 4), 0);
	vring_driver_free(&d);
	/* desc 16 B, avail 6 + 2 B, used 6 + 8 B per entry, used 4 KiB aligned. */
	assert_int_equal(vring_driver_size(8), 8192);
	assert_int_equal(vring_driver_size(256), 4096 + 4096 + 4096);
}

static void vhost_open_errors(void **state)
{
	(void)state;
	struct carve_err err = {0};
	assert_int_equal(vhost_open("/nonexistent/vhost-vsock", &err), -1);
	assert_int_equal(err.code, E19_FILE_OPERATION);
	assert_non_null(strstr(err.msg, "/nonexistent/vhost-vsock"));
	/* Not a vhost device: VHOST_SET_OWNER is refused, and said so. */
	carve_err_clear(&err);
	assert_int_equal(vhost_open("/dev/null", &err), -1);
	assert_int_equal(err.code, E29_IOCTL_FAILURE);
	assert_non_null(strstr(err.msg, "VHOST_SET_OWNER"));
	if (access(VHOST_VSOCK_PATH, F_OK) != 0) {
		/* This host has no module: the message says which to load. */
		carve_err_clear(&err);
		assert_int_equal(vhost_open(VHOST_VSOCK_PATH, &err), -1);
		assert_non_null(strstr(err.msg, "modprobe vhost_vsock"));
	}
	if (access("/sys/module/vhost_vdpa", F_OK) != 0) {
		carve_err_clear(&err);
		assert_int_equal(vhost_open("/dev/vhost-vdpa-97", &err), -1);
		assert_int_equal(err.code, E29_IOCTL_FAILURE);
		assert_non_null(strstr(err.msg, "modprobe vhost_vdpa"));
	}
	carve_err_clear(&err);
	assert_int_equal(vhost_vsock_set_cid(-1, 2, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	carve_err_clear(&err);
	assert_int_equal(vhost_vsock_set_cid(-1, 0xffffffffull, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_sees_what_driver_added),
		cmocka_unit_test(full_ring_and_wraparound),
		cmocka_unit_test(device_returning_what_it_never_had),
		cmocka_unit_test(chains),
		cmocka_unit_test(ring_sizes),
		cmocka_unit_test(vhost_open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
