/* The enclave's virtio-vsock device: its CID, its host side (a Unix socket
 * per enclave in the vsock directory, docs/vsock.md) and the heartbeat it
 * reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/util.h"
#include "machine/machine_internal.h"

struct vsock_device {
	struct machine *machine;
	struct vsock_dev *dev;
	char uds_path[108];
	int heartbeat_fd;
	void (*on_heartbeat)(void *ctx);
	void *heartbeat_ctx;
};

static void on_heartbeat(void *ctx)
{
	struct vsock_device *d = ctx;
	uint64_t one = 1;
	if (d->heartbeat_fd >= 0 && write(d->heartbeat_fd, &one, sizeof(one)) < 0) {
		/* An eventfd only fails when its counter would overflow. */
	}
	if (d->on_heartbeat)
		d->on_heartbeat(d->heartbeat_ctx);
}

static void on_fault(void *ctx, const char *what)
{
	struct vsock_device *d = ctx;
	machine_report_fault(d->machine, "virtio-vsock", what);
}

static void destroy(void *ctx)
{
	struct vsock_device *d = ctx;
	if (d->dev)
		vsock_destroy(d->dev);
	free(d);
}

int vsock_device_add(struct machine *m, const struct machine_devices_config *cfg, struct carve_err *err)
{
	int mk = mkdir_p(cfg->vsock_dir, 0755);
	if (mk < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Create': %s",
				  cfg->vsock_dir, strerror(-mk));
	struct vsock_device *d = calloc(1, sizeof(*d));
	if (!d)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	d->machine = m;
	d->heartbeat_fd = cfg->heartbeat_fd;
	d->on_heartbeat = cfg->on_heartbeat;
	d->heartbeat_ctx = cfg->heartbeat_ctx;
	/* The enclave's own socket, found by its CID: <vsock_dir>/cid-<CID>.sock */
	if (snprintf(d->uds_path, sizeof(d->uds_path), "%s/cid-%llu.sock", cfg->vsock_dir,
		     (unsigned long long)cfg->cid) >= (int)sizeof(d->uds_path)) {
		destroy(d);
		return carve_fail(err, E11_SOCKET,
				  "the vsock directory path '%s' is too long for a "
				  "Unix socket; set CARVE_VSOCK_DIR to a shorter one",
				  cfg->vsock_dir);
	}
	struct vsock_config vc = {
		.guest_cid = cfg->cid,
		.uds_path = d->uds_path,
		.vsock_dir = cfg->vsock_dir,
		.heartbeat = on_heartbeat,
		.heartbeat_ctx = d,
		.fault = on_fault,
		.fault_ctx = d,
	};
	d->dev = vsock_create(&vc);
	if (!d->dev) {
		int e = errno;
		carve_fail(err, E11_SOCKET, "cannot create the vsock device on '%s': %s", d->uds_path,
			   strerror(e));
		destroy(d);
		return -1;
	}
	return machine_add_virtio(m, "virtio-vsock", vsock_backend(), d->dev, d, destroy, err);
}
