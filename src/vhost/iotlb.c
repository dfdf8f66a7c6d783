/* The vhost IOTLB as vhost-vdpa takes it (include/carve/vhost.h): one
 * struct vhost_msg_v2 per write(2) on the device fd, VHOST_IOTLB_UPDATE to
 * map, VHOST_IOTLB_INVALIDATE to unmap, optionally bracketed by
 * VHOST_IOTLB_BATCH_BEGIN/END so a device that takes its whole mapping at
 * once (set_map: VDUSE, mlx5) is told once rather than per message.
 *
 * The kernel turns every refusal of a message into EFAULT
 * (vhost_chr_write_iter), so the message says what was asked for and the
 * usual reasons, not just the errno. */
#include <errno.h>
#include <linux/vhost.h>
#include <string.h>
#include <unistd.h>

#include "carve/vhost.h"
#include "vhost_internal.h"

static int send_msg(int fd, uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr, struct carve_err *err)
{
	struct vhost_msg_v2 m;
	memset(&m, 0, sizeof(m)); /* asid 0 and the union's padding: the kernel reads them */
	m.type = VHOST_IOTLB_MSG_V2;
	m.iotlb.type = type;
	m.iotlb.iova = iova;
	m.iotlb.size = size;
	m.iotlb.uaddr = uaddr;
	m.iotlb.perm = type == VHOST_IOTLB_UPDATE ? VHOST_ACCESS_RW : 0;
	ssize_t n;
	do
		n = write(fd, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(m))
		return 0;
	int e = n < 0 ? errno : EIO;
	switch (type) {
	case VHOST_IOTLB_UPDATE:
		return carve_fail(err, E29_IOCTL_FAILURE,
				  "vhost: IOTLB update (map IOVA 0x%llx, 0x%llx bytes, at 0x%llx) failed: %s "
				  "(the kernel says this for any refused mapping: overlapping one already "
				  "there, outside the device's IOVA range, or memory it cannot reach)",
				  (unsigned long long)iova, (unsigned long long)size,
				  (unsigned long long)uaddr, strerror(e));
	case VHOST_IOTLB_INVALIDATE:
		return carve_fail(err, E29_IOCTL_FAILURE,
				  "vhost: IOTLB invalidate (IOVA 0x%llx, 0x%llx bytes) failed: %s",
				  (unsigned long long)iova, (unsigned long long)size, strerror(e));
	default:
		return vhost_ioctl_fail(
			err, type == VHOST_IOTLB_BATCH_BEGIN ? "IOTLB batch begin" : "IOTLB batch end", e);
	}
}

static int send_all(int fd, const struct vhost_region *regions, int n, uint64_t backend_features,
		    uint8_t type, struct carve_err *err)
{
	bool batch = backend_features & (1ull << VHOST_BACKEND_F_IOTLB_BATCH);
	if (batch && send_msg(fd, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0, err) < 0)
		return -1;
	int r = 0;
	for (int i = 0; i < n && r == 0; i++)
		r = send_msg(fd, type, regions[i].gpa, regions[i].size, (uint64_t)(uintptr_t)regions[i].hva,
			     err);
	/* The batch is ended even after a failure: the kernel holds the
	 * device's mapping back until it is. */
	if (batch) {
		struct carve_err end_err = {0};
		if (send_msg(fd, VHOST_IOTLB_BATCH_END, 0, 0, 0, r == 0 ? err : &end_err) < 0)
			r = -1;
	}
	return r;
}

int vhost_iotlb_map(int fd, const struct vhost_region *regions, int n, uint64_t backend_features,
		    struct carve_err *err)
{
	for (int i = 0; i < n; i++)
		if (!regions[i].size || regions[i].gpa + regions[i].size - 1 < regions[i].gpa)
			return carve_fail(
				err, E03_INVALID_ARGUMENT,
				"vhost: IOTLB region %d (IOVA 0x%llx, 0x%llx bytes) is empty or wraps", i,
				(unsigned long long)regions[i].gpa, (unsigned long long)regions[i].size);
	return send_all(fd, regions, n, backend_features, VHOST_IOTLB_UPDATE, err);
}

int vhost_iotlb_unmap(int fd, const struct vhost_region *regions, int n, uint64_t backend_features,
		      struct carve_err *err)
{
	return send_all(fd, regions, n, backend_features, VHOST_IOTLB_INVALIDATE, err);
}
