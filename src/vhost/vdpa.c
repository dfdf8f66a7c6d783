/* vhost-vdpa (include/carve/vhost.h): the ioctls only it has, and the
 * bring-up of a device in the order drivers/vhost/vdpa.c accepts: the
 * features may only be set before FEATURES_OK, the status byte only gains
 * bits until a reset, the rings are set up before DRIVER_OK. Opening the
 * fd resets the device (the kernel does that itself); closing it resets it
 * again and drops every mapping. */
#include <errno.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "carve/vhost.h"
#include "vhost_internal.h"

const char *vhost_virtio_id_name(uint32_t id)
{
	switch (id) {
	case VIRTIO_ID_NET: return "network";
	case VIRTIO_ID_BLOCK: return "block";
	case VIRTIO_ID_CONSOLE: return "console";
	case VIRTIO_ID_RNG: return "entropy";
	case VIRTIO_ID_SCSI: return "SCSI";
	case VIRTIO_ID_VSOCK: return "vsock";
	case VIRTIO_ID_FS: return "file system";
	default: return "unknown";
	}
}

int vhost_vdpa_device_id(int fd, uint32_t *id, struct carve_err *err)
{
	if (ioctl(fd, VHOST_VDPA_GET_DEVICE_ID, id) < 0)
		return vhost_ioctl_fail(err, "VHOST_VDPA_GET_DEVICE_ID", errno);
	return 0;
}

int vhost_vdpa_get_status(int fd, uint8_t *status, struct carve_err *err)
{
	if (ioctl(fd, VHOST_VDPA_GET_STATUS, status) < 0)
		return vhost_ioctl_fail(err, "VHOST_VDPA_GET_STATUS", errno);
	return 0;
}

int vhost_vdpa_set_status(int fd, uint8_t status, struct carve_err *err)
{
	if (ioctl(fd, VHOST_VDPA_SET_STATUS, &status) < 0)
		return vhost_ioctl_fail(err, "VHOST_VDPA_SET_STATUS", errno);
	return 0;
}

int vhost_vdpa_get_config(int fd, uint32_t off, void *buf, uint32_t len, struct carve_err *err)
{
	struct vhost_vdpa_config *c = calloc(1, sizeof(*c) + len);
	if (!c)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	c->off = off;
	c->len = len;
	int r = ioctl(fd, VHOST_VDPA_GET_CONFIG, c);
	int e = errno;
	if (r == 0)
		memcpy(buf, c->buf, len);
	free(c);
	return r < 0 ? vhost_ioctl_fail(err, "VHOST_VDPA_GET_CONFIG", e) : 0;
}

int vhost_vdpa_vring_num_max(int fd, uint16_t *num, struct carve_err *err)
{
	if (ioctl(fd, VHOST_VDPA_GET_VRING_NUM, num) < 0)
		return vhost_ioctl_fail(err, "VHOST_VDPA_GET_VRING_NUM", errno);
	return 0;
}

int vhost_vdpa_enable_ring(int fd, unsigned index, bool enable, struct carve_err *err)
{
	struct vhost_vring_state s = {.index = index, .num = enable ? 1 : 0};
	if (ioctl(fd, VHOST_VDPA_SET_VRING_ENABLE, &s) < 0)
		return vhost_ioctl_fail(err, "VHOST_VDPA_SET_VRING_ENABLE", errno);
	return 0;
}

int vhost_vdpa_iova_range(int fd, uint64_t *first, uint64_t *last, struct carve_err *err)
{
	struct vhost_vdpa_iova_range r;
	if (ioctl(fd, VHOST_VDPA_GET_IOVA_RANGE, &r) < 0)
		return vhost_ioctl_fail(err, "VHOST_VDPA_GET_IOVA_RANGE", errno);
	*first = r.first;
	*last = r.last;
	return 0;
}

int vhost_vdpa_backend_setup(int fd, uint64_t *got, struct carve_err *err)
{
	uint64_t offered = 0;
	if (ioctl(fd, VHOST_GET_BACKEND_FEATURES, &offered) < 0)
		return vhost_ioctl_fail(err, "VHOST_GET_BACKEND_FEATURES", errno);
	const uint64_t v2 = 1ull << VHOST_BACKEND_F_IOTLB_MSG_V2, batch = 1ull << VHOST_BACKEND_F_IOTLB_BATCH;
	if (!(offered & v2))
		return carve_fail(err, E29_IOCTL_FAILURE,
				  "vhost: the backend does not take IOTLB messages (v2) (it offers backend "
				  "features 0x%llx); carve needs them to map memory",
				  (unsigned long long)offered);
	uint64_t agreed = offered & (v2 | batch);
	if (ioctl(fd, VHOST_SET_BACKEND_FEATURES, &agreed) < 0)
		return vhost_ioctl_fail(err, "VHOST_SET_BACKEND_FEATURES", errno);
	*got = agreed;
	return 0;
}

/* Sets bits in the status byte and reads it back: a device refuses a step
 * (FEATURES_OK above all) by not keeping the bit. */
static int add_status(struct vhost_vdpa *v, uint8_t bits, const char *step, struct carve_err *err)
{
	uint8_t status;
	if (vhost_vdpa_get_status(v->fd, &status, err) < 0 ||
	    vhost_vdpa_set_status(v->fd, (uint8_t)(status | bits), err) < 0 ||
	    vhost_vdpa_get_status(v->fd, &status, err) < 0)
		return -1;
	if ((status & bits) != bits)
		return carve_fail(err, E29_IOCTL_FAILURE,
				  "vhost-vdpa: %s refused %s (status 0x%02x after setting 0x%02x)", v->path,
				  step, status, bits);
	return 0;
}

int vhost_vdpa_open(struct vhost_vdpa *v, const char *path, uint32_t device_id, struct carve_err *err)
{
	memset(v, 0, sizeof(*v));
	v->path = path;
	v->fd = vhost_open(path, err);
	if (v->fd < 0)
		return -1;
	if (vhost_vdpa_backend_setup(v->fd, &v->backend_features, err) < 0 ||
	    vhost_vdpa_device_id(v->fd, &v->device_id, err) < 0)
		goto fail;
	if (v->device_id != device_id) {
		carve_fail(err, E03_INVALID_ARGUMENT,
			   "%s is a virtio %s device (id %u), not the %s device (id %u) asked for", path,
			   vhost_virtio_id_name(v->device_id), v->device_id, vhost_virtio_id_name(device_id),
			   device_id);
		goto fail;
	}
	/* The kernel reset it on open; once more costs nothing and makes the
	 * start state ours, whoever had the fd before. */
	if (vhost_vdpa_set_status(v->fd, 0, err) < 0 ||
	    add_status(v, VIRTIO_CONFIG_S_ACKNOWLEDGE, "ACKNOWLEDGE", err) < 0 ||
	    add_status(v, VIRTIO_CONFIG_S_DRIVER, "DRIVER", err) < 0 ||
	    vhost_vdpa_iova_range(v->fd, &v->iova_first, &v->iova_last, err) < 0 ||
	    vhost_vdpa_vring_num_max(v->fd, &v->vring_num_max, err) < 0)
		goto fail;
	return 0;
fail:
	close(v->fd);
	v->fd = -1;
	return -1;
}

int vhost_vdpa_negotiate(struct vhost_vdpa *v, uint64_t want, uint64_t need, struct carve_err *err)
{
	if (vhost_negotiate(v->fd, want, need, &v->features, err) < 0)
		return -1;
	return add_status(v, VIRTIO_CONFIG_S_FEATURES_OK, "FEATURES_OK (the features carve set)", err);
}

int vhost_vdpa_map(struct vhost_vdpa *v, const struct vhost_region *region, struct carve_err *err)
{
	if (v->nregions == VHOST_VDPA_MAX_REGIONS)
		return carve_fail(err, E03_INVALID_ARGUMENT, "vhost-vdpa: more than %d memory regions",
				  VHOST_VDPA_MAX_REGIONS);
	uint64_t last = region->gpa + region->size - 1;
	if (!region->size || last < region->gpa || region->gpa < v->iova_first || last > v->iova_last)
		return carve_fail(
			err, E03_INVALID_ARGUMENT,
			"vhost-vdpa: memory at IOVA 0x%llx (0x%llx bytes) is outside what %s can reach "
			"(IOVAs 0x%llx-0x%llx)",
			(unsigned long long)region->gpa, (unsigned long long)region->size, v->path,
			(unsigned long long)v->iova_first, (unsigned long long)v->iova_last);
	if (vhost_iotlb_map(v->fd, region, 1, v->backend_features, err) < 0)
		return -1;
	v->regions[v->nregions++] = *region;
	return 0;
}

int vhost_vdpa_add_ring(struct vhost_vdpa *v, const struct vhost_ring *ring, struct carve_err *err)
{
	if (ring->num > v->vring_num_max)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "vhost-vdpa: a ring of %u entries is more than %s takes (%u)", ring->num,
				  v->path, v->vring_num_max);
	if (vhost_set_ring(v->fd, ring, err) < 0)
		return -1;
	return vhost_vdpa_enable_ring(v->fd, ring->index, true, err);
}

int vhost_vdpa_driver_ok(struct vhost_vdpa *v, struct carve_err *err)
{
	return add_status(v, VIRTIO_CONFIG_S_DRIVER_OK, "DRIVER_OK", err);
}

int vhost_vdpa_reset(struct vhost_vdpa *v, struct carve_err *err)
{
	uint8_t status;
	if (vhost_vdpa_set_status(v->fd, 0, err) < 0 || vhost_vdpa_get_status(v->fd, &status, err) < 0)
		return -1;
	if (status != 0)
		return carve_fail(err, E29_IOCTL_FAILURE, "vhost-vdpa: %s did not reset (status 0x%02x)",
				  v->path, status);
	return 0;
}

int vhost_vdpa_close(struct vhost_vdpa *v, struct carve_err *err)
{
	if (v->fd < 0)
		return 0;
	/* The device stops before its memory goes away. */
	int r = vhost_vdpa_reset(v, err);
	struct carve_err later = {0};
	if (v->nregions &&
	    vhost_iotlb_unmap(v->fd, v->regions, v->nregions, v->backend_features, r == 0 ? err : &later) < 0)
		r = -1;
	v->nregions = 0;
	close(v->fd);
	v->fd = -1;
	return r;
}
