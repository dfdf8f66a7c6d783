/* The vhost ioctls (include/carve/vhost.h). Thin on purpose: each call is
 * one ioctl and one error message that names it, so a failure in the field
 * says which step the kernel refused. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "carve/vhost.h"
#include "vhost_internal.h"

int vhost_ioctl_fail(struct carve_err *err, const char *what, int e)
{
	return carve_fail(err, E29_IOCTL_FAILURE, "vhost: %s failed: %s", what, strerror(e));
}

/* Why /dev/vhost-vdpa-N is missing: the module, or no device bound to it. */
static int vdpa_missing(const char *path, struct carve_err *err)
{
	if (access("/sys/module/vhost_vdpa", F_OK) != 0)
		return carve_fail(err, E29_IOCTL_FAILURE,
				  "%s does not exist: the vhost_vdpa kernel module is not loaded "
				  "(as root: modprobe vhost_vdpa)",
				  path);
	return carve_fail(err, E29_IOCTL_FAILURE,
			  "%s does not exist: vhost_vdpa is loaded but no vDPA device is bound to it "
			  "under that number (list them: vdpa dev show; add one: vdpa dev add name NAME "
			  "mgmtdev MGMTDEV)",
			  path);
}

int vhost_open(const char *path, struct carve_err *err)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && !strcmp(path, VHOST_VSOCK_PATH))
			return carve_fail(err, E29_IOCTL_FAILURE,
					  "%s does not exist: the vhost_vsock kernel module is not loaded "
					  "(as root: modprobe vhost_vsock)",
					  path);
		if (e == ENOENT && !strncmp(path, VHOST_VDPA_PATH_PREFIX, strlen(VHOST_VDPA_PATH_PREFIX)))
			return vdpa_missing(path, err);
		if (e == EBUSY)
			return carve_fail(err, E29_IOCTL_FAILURE,
					  "cannot open %s: another process holds it (a vhost-vdpa device has "
					  "one user at a time)",
					  path);
		return carve_fail(err, e == EACCES || e == EPERM ? E18_FILE_PERMISSIONS : E19_FILE_OPERATION,
				  "cannot open %s: %s", path, strerror(e));
	}
	if (ioctl(fd, VHOST_SET_OWNER) < 0) {
		int e = errno;
		close(fd);
		return vhost_ioctl_fail(err, "VHOST_SET_OWNER", e);
	}
	return fd;
}

int vhost_negotiate(int fd, uint64_t want, uint64_t need, uint64_t *got, struct carve_err *err)
{
	uint64_t offered = 0;
	if (ioctl(fd, VHOST_GET_FEATURES, &offered) < 0)
		return vhost_ioctl_fail(err, "VHOST_GET_FEATURES", errno);
	if ((offered & need) != need)
		return carve_fail(
			err, E29_IOCTL_FAILURE,
			"vhost: the backend lacks features 0x%llx this VMM needs (it offers 0x%llx)",
			(unsigned long long)(need & ~offered), (unsigned long long)offered);
	uint64_t agreed = offered & want;
	if (ioctl(fd, VHOST_SET_FEATURES, &agreed) < 0)
		return vhost_ioctl_fail(err, "VHOST_SET_FEATURES", errno);
	if (got)
		*got = agreed;
	return 0;
}

int vhost_set_memory(int fd, const struct vhost_region *regions, int n, struct carve_err *err)
{
	struct vhost_memory *m = calloc(1, sizeof(*m) + (size_t)n * sizeof(m->regions[0]));
	if (!m)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	m->nregions = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		m->regions[i].guest_phys_addr = regions[i].gpa;
		m->regions[i].memory_size = regions[i].size;
		m->regions[i].userspace_addr = (uint64_t)(uintptr_t)regions[i].hva;
	}
	int r = ioctl(fd, VHOST_SET_MEM_TABLE, m);
	int e = errno;
	free(m);
	return r < 0 ? vhost_ioctl_fail(err, "VHOST_SET_MEM_TABLE", e) : 0;
}

int vhost_set_ring(int fd, const struct vhost_ring *ring, struct carve_err *err)
{
	struct vhost_vring_state num = {.index = ring->index, .num = ring->num};
	struct vhost_vring_state base = {.index = ring->index, .num = ring->base};
	/* The caller's addresses as they are: user addresses for vhost-vsock,
	 * IOVAs for vhost-vdpa (the kernel's field names are vhost-net's). */
	struct vhost_vring_addr addr = {
		.index = ring->index,
		.desc_user_addr = ring->desc,
		.avail_user_addr = ring->avail,
		.used_user_addr = ring->used,
	};
	struct vhost_vring_file kick = {.index = ring->index, .fd = ring->kick_fd};
	struct vhost_vring_file call = {.index = ring->index, .fd = ring->call_fd};
	if (ioctl(fd, VHOST_SET_VRING_NUM, &num) < 0)
		return vhost_ioctl_fail(err, "VHOST_SET_VRING_NUM", errno);
	if (ioctl(fd, VHOST_SET_VRING_BASE, &base) < 0)
		return vhost_ioctl_fail(err, "VHOST_SET_VRING_BASE", errno);
	if (ioctl(fd, VHOST_SET_VRING_ADDR, &addr) < 0)
		return vhost_ioctl_fail(err, "VHOST_SET_VRING_ADDR", errno);
	if (ioctl(fd, VHOST_SET_VRING_KICK, &kick) < 0)
		return vhost_ioctl_fail(err, "VHOST_SET_VRING_KICK", errno);
	if (ioctl(fd, VHOST_SET_VRING_CALL, &call) < 0)
		return vhost_ioctl_fail(err, "VHOST_SET_VRING_CALL", errno);
	return 0;
}

int vhost_vsock_set_cid(int fd, uint64_t cid, struct carve_err *err)
{
	/* Linux refuses the reserved CIDs 0-2 and anything that does not fit
	 * in 32 bits (U32_MAX is VMADDR_CID_ANY). */
	if (cid <= 2 || cid >= UINT32_MAX)
		return carve_fail(err, E03_INVALID_ARGUMENT, "vhost-vsock: %llu cannot be a guest's CID",
				  (unsigned long long)cid);
	if (ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid) < 0) {
		if (errno == EADDRINUSE)
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "CID %llu is taken by another VM on this host (vhost-vsock); "
					  "choose another --enclave-cid",
					  (unsigned long long)cid);
		return vhost_ioctl_fail(err, "VHOST_VSOCK_SET_GUEST_CID", errno);
	}
	return 0;
}

int vhost_vsock_set_running(int fd, bool running, struct carve_err *err)
{
	int on = running ? 1 : 0;
	if (ioctl(fd, VHOST_VSOCK_SET_RUNNING, &on) < 0)
		return vhost_ioctl_fail(err, "VHOST_VSOCK_SET_RUNNING", errno);
	return 0;
}
