/* The enclave's virtio-vsock device: its CID, its host side (a Unix socket
 * per enclave in the vsock directory, docs/vsock.md) and the heartbeat it
 * reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/util.h"
#include "carve/vhost.h"
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

static void on_note(void *ctx, const char *what)
{
	struct vsock_device *d = ctx;
	machine_report_note(d->machine, "virtio-vsock", what);
}

static void destroy(void *ctx)
{
	struct vsock_device *d = ctx;
	if (d->dev)
		vsock_destroy(d->dev);
	free(d);
}

/* The enclave's CID registered with the host kernel, where asked for and
 * possible: in AUTO mode a host without vhost-vsock keeps Unix sockets only
 * (the enclave process's event log says so), anything else that goes wrong
 * (a CID another VM holds) is an error, as it is on EC2. */
static int use_host_kernel(struct vsock_device *d, const struct machine_devices_config *cfg,
			   struct carve_err *err)
{
	const char *path = cfg->vhost_vsock_path ? cfg->vhost_vsock_path : VHOST_VSOCK_PATH;
	bool used = false;
	if (cfg->af_vsock == MACHINE_AF_VSOCK_AUTO && access(path, F_OK) != 0) {
		/* not here: Unix sockets only */
	} else if (cfg->af_vsock != MACHINE_AF_VSOCK_OFF) {
		if (vsock_use_host_kernel(d->dev, path, err) < 0)
			return carve_err_context(
				err, "AF_VSOCK for enclave CID %llu: ", (unsigned long long)cfg->cid);
		used = true;
	}
	if (cfg->af_vsock == MACHINE_AF_VSOCK_KERNEL) {
		const struct guest_mem *gm = vmm_memory(machine_vm(d->machine));
		struct vhost_region regions[GM_MAX_REGIONS];
		for (int i = 0; i < gm->nregions; i++)
			regions[i] = (struct vhost_region){.gpa = gm->regions[i].gpa,
							   .size = gm->regions[i].size,
							   .hva = gm->regions[i].host};
		if (vsock_use_kernel_datapath(d->dev, path, regions, gm->nregions, err) < 0)
			return carve_err_context(err, "the kernel datapath for enclave CID %llu: ",
						 (unsigned long long)cfg->cid);
	}
	if (cfg->af_vsock_used)
		*cfg->af_vsock_used = used;
	return 0;
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
		.note = on_note,
		.note_ctx = d,
	};
	d->dev = vsock_create(&vc);
	if (!d->dev) {
		int e = errno;
		carve_fail(err, E11_SOCKET, "cannot create the vsock device on '%s': %s", d->uds_path,
			   strerror(e));
		destroy(d);
		return -1;
	}
	if (use_host_kernel(d, cfg, err) < 0) {
		destroy(d);
		return -1;
	}
	return machine_add_virtio(m, "virtio-vsock", vsock_backend(), d->dev, d, destroy, err);
}
