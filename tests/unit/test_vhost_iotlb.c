/* vhost-vdpa's memory plane without a vhost-vdpa device: the IOTLB
 * messages carve writes, read back from a pipe and checked field by field
 * (the layout the kernel's vhost_chr_write_iter reads), batched and not;
 * refusals named; regions outside the device's IOVA range refused before
 * anything is written; the teardown invalidating what was mapped even when
 * the device refuses the reset. The device itself runs in the bed
 * (tests/hwkvm/l1/vdpa.sh, a VDUSE virtio-blk device). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_ids.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/vhost.h"

static const uint64_t BATCH = 1ull << VHOST_BACKEND_F_IOTLB_BATCH;
static const uint64_t V2 = 1ull << VHOST_BACKEND_F_IOTLB_MSG_V2;

static int pipe_fds(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	return 0;
}

/* The next message in the pipe, or type 0xff when there is none. */
static struct vhost_msg_v2 next_msg(int rfd)
{
	struct vhost_msg_v2 m;
	memset(&m, 0xff, sizeof(m));
	ssize_t n = read(rfd, &m, sizeof(m));
	if (n != (ssize_t)sizeof(m)) {
		assert_true(n < 0 && errno == EAGAIN);
		m.iotlb.type = 0xff;
	}
	return m;
}

static void map_messages(void **state)
{
	(void)state;
	int p[2];
	pipe_fds(p);
	static char a[8192], b[4096];
	struct vhost_region r[2] = {
		{.gpa = 0x40000000, .size = sizeof(a), .hva = a},
		{.gpa = 0x80000000, .size = sizeof(b), .hva = b},
	};
	struct carve_err err = {0};
	/* Unbatched: one UPDATE per region, nothing around them. */
	assert_int_equal(vhost_iotlb_map(p[1], r, 2, V2, &err), 0);
	for (int i = 0; i < 2; i++) {
		struct vhost_msg_v2 m = next_msg(p[0]);
		assert_int_equal(m.type, VHOST_IOTLB_MSG_V2);
		assert_int_equal(m.asid, 0);
		assert_int_equal(m.iotlb.type, VHOST_IOTLB_UPDATE);
		assert_int_equal(m.iotlb.iova, r[i].gpa);
		assert_int_equal(m.iotlb.size, r[i].size);
		assert_int_equal(m.iotlb.uaddr, (uint64_t)(uintptr_t)r[i].hva);
		assert_int_equal(m.iotlb.perm, VHOST_ACCESS_RW);
	}
	assert_int_equal(next_msg(p[0]).iotlb.type, 0xff);

	/* Batched: BEGIN, the updates, END. */
	assert_int_equal(vhost_iotlb_map(p[1], r, 2, V2 | BATCH, &err), 0);
	assert_int_equal(next_msg(p[0]).iotlb.type, VHOST_IOTLB_BATCH_BEGIN);
	assert_int_equal(next_msg(p[0]).iotlb.type, VHOST_IOTLB_UPDATE);
	assert_int_equal(next_msg(p[0]).iotlb.type, VHOST_IOTLB_UPDATE);
	assert_int_equal(next_msg(p[0]).iotlb.type, VHOST_IOTLB_BATCH_END);

	/* Unmapping: INVALIDATE with the range. */
	assert_int_equal(vhost_iotlb_unmap(p[1], &r[1], 1, V2, &err), 0);
	struct vhost_msg_v2 m = next_msg(p[0]);
	assert_int_equal(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	assert_int_equal(m.iotlb.iova, 0x80000000);
	assert_int_equal(m.iotlb.size, 4096);
	assert_int_equal(next_msg(p[0]).iotlb.type, 0xff);

	/* An empty or wrapping region: refused, nothing written. */
	struct vhost_region bad = {.gpa = 0x1000, .size = 0, .hva = a};
	assert_int_equal(vhost_iotlb_map(p[1], &bad, 1, V2, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	bad = (struct vhost_region){.gpa = UINT64_MAX - 10, .size = 4096, .hva = a};
	carve_err_clear(&err);
	assert_int_equal(vhost_iotlb_map(p[1], &bad, 1, V2, &err), -1);
	assert_int_equal(next_msg(p[0]).iotlb.type, 0xff);

	/* A refused write names the step and the range. */
	carve_err_clear(&err);
	assert_int_equal(vhost_iotlb_map(p[0], r, 1, V2, &err), -1);
	assert_int_equal(err.code, E29_IOCTL_FAILURE);
	assert_non_null(strstr(err.msg, "IOTLB update"));
	assert_non_null(strstr(err.msg, "0x40000000"));
	close(p[0]);
	close(p[1]);
}

/* A vhost_vdpa as vhost_vdpa_open leaves it, on a pipe instead of a device. */
static void session_on_a_pipe(void **state)
{
	(void)state;
	int p[2];
	pipe_fds(p);
	static char mem[16384];
	struct vhost_vdpa v = {
		.fd = p[1],
		.path = "/dev/vhost-vdpa-test",
		.device_id = VIRTIO_ID_BLOCK,
		.backend_features = V2,
		.iova_first = 0x1000,
		.iova_last = 0xffffffff,
		.vring_num_max = 256,
	};
	struct carve_err err = {0};
	/* Outside the device's IOVA range, either end: refused up front. */
	struct vhost_region below = {.gpa = 0, .size = 8192, .hva = mem};
	struct vhost_region above = {.gpa = 0xfffff000, .size = 8192, .hva = mem};
	assert_int_equal(vhost_vdpa_map(&v, &below, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	assert_non_null(strstr(err.msg, "outside what /dev/vhost-vdpa-test can reach"));
	carve_err_clear(&err);
	assert_int_equal(vhost_vdpa_map(&v, &above, &err), -1);
	assert_int_equal(next_msg(p[0]).iotlb.type, 0xff);
	assert_int_equal(v.nregions, 0);

	struct vhost_region ok = {.gpa = 0x100000, .size = sizeof(mem), .hva = mem};
	assert_int_equal(vhost_vdpa_map(&v, &ok, &err), 0);
	assert_int_equal(next_msg(p[0]).iotlb.type, VHOST_IOTLB_UPDATE);
	assert_int_equal(v.nregions, 1);

	/* A ring larger than the device takes. */
	struct vhost_ring big = {.index = 0, .num = 512};
	carve_err_clear(&err);
	assert_int_equal(vhost_vdpa_add_ring(&v, &big, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);

	/* Close: the reset is refused (a pipe has no status), the error says
	 * which ioctl, and the mapping is still invalidated and the fd closed. */
	carve_err_clear(&err);
	assert_int_equal(vhost_vdpa_close(&v, &err), -1);
	assert_int_equal(err.code, E29_IOCTL_FAILURE);
	assert_non_null(strstr(err.msg, "VHOST_VDPA_SET_STATUS"));
	struct vhost_msg_v2 m = next_msg(p[0]);
	assert_int_equal(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	assert_int_equal(m.iotlb.iova, 0x100000);
	assert_int_equal(v.fd, -1);
	assert_int_equal(v.nregions, 0);
	assert_int_equal(fcntl(p[1], F_GETFD), -1);      /* closed */
	assert_int_equal(vhost_vdpa_close(&v, &err), 0); /* twice is harmless */
	close(p[0]);
}

static void open_errors(void **state)
{
	(void)state;
	struct vhost_vdpa v;
	struct carve_err err = {0};
	/* Not a vhost device at all. */
	assert_int_equal(vhost_vdpa_open(&v, "/dev/null", VIRTIO_ID_VSOCK, &err), -1);
	assert_int_equal(err.code, E29_IOCTL_FAILURE);
	assert_non_null(strstr(err.msg, "VHOST_SET_OWNER"));
	assert_int_equal(v.fd, -1);
	if (access("/sys/module/vhost_vdpa", F_OK) != 0) {
		carve_err_clear(&err);
		assert_int_equal(vhost_vdpa_open(&v, "/dev/vhost-vdpa-97", VIRTIO_ID_VSOCK, &err), -1);
		assert_non_null(strstr(err.msg, "(as root: modprobe vhost_vdpa)"));
	}
	assert_string_equal(vhost_virtio_id_name(VIRTIO_ID_BLOCK), "block");
	assert_string_equal(vhost_virtio_id_name(VIRTIO_ID_VSOCK), "vsock");
	assert_string_equal(vhost_virtio_id_name(12345), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_messages),
		cmocka_unit_test(session_on_a_pipe),
		cmocka_unit_test(open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
