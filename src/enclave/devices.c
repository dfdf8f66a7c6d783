/* See carve/devices.h. Guest memory reaches the devices only through the
 * VMM's checked accessor gm_ptr, via a reference that is filled in once the
 * VMM has mapped the memory (the transports are created before that, because
 * the VMM binds their eventfds while it builds the VM). */
#include "carve/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "carve/nsm.h"
#include "carve/pki.h"
#include "carve/util.h"
#include "carve/virtio.h"
#include "enclave/registry.h"

#define VIRTIO_MMIO_QUEUE_NOTIFY 0x50

struct mem_ref {
	const struct guest_mem *gm;
};

struct enclave_devices {
	struct mem_ref ref;
	struct virtio_mem mem;
	struct pki pki;
	bool have_pki;
	struct nsm *nsm;
	struct virtio_nsm *vnsm;
	struct virtio_mmio *t_nsm;
	struct vsock_dev *vsock;
	struct virtio_mmio *t_vsock;
	int heartbeat_fd;
	void (*on_heartbeat)(void *ctx);
	void *heartbeat_ctx;
	char uds_path[108];
	struct vmm_mmio_device dev[3];
	struct vmm_mmio_slot slots[3];
	int nslots;
	char cmdline[256];
};

static void *mem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	const struct mem_ref *r = ctx;
	return r->gm ? gm_ptr(r->gm, gpa, len) : NULL;
}

static void mmio_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	virtio_mmio_read(ctx, off, data, len);
}

static void mmio_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	virtio_mmio_write(ctx, off, data, len);
}

static int nsm_handle(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap,
		      size_t *resp_len)
{
	return nsm_handle_request(ctx, req, req_len, resp, cap, resp_len);
}

/* Puts transport t on the next slot and describes it to the VMM. */
static void add_slot(struct enclave_devices *d, struct virtio_mmio *t, int nqueues)
{
	int i = d->nslots++;
	struct vmm_mmio_slot all[VMM_MAX_MMIO_SLOTS];
	vmm_default_mmio_slots(d->nslots, all);
	struct vmm_mmio_device *dev = &d->dev[i];
	*dev = (struct vmm_mmio_device){
		.read = mmio_read, .write = mmio_write, .ctx = t,
		.irq_fd = virtio_mmio_irq_fd(t), .notify_offset = VIRTIO_MMIO_QUEUE_NOTIFY,
		.nkicks = nqueues,
	};
	for (int q = 0; q < nqueues; q++)
		dev->kick_fds[q] = virtio_mmio_kick_fd(t, q);
	d->slots[i] = all[i];
	d->slots[i].dev = dev;
	size_t used = strlen(d->cmdline);
	snprintf(d->cmdline + used, sizeof(d->cmdline) - used, "%svirtio_mmio.device=4K@0x%llx:%u",
		 used ? " " : "", (unsigned long long)all[i].base, all[i].gsi);
}

static void on_heartbeat(void *ctx)
{
	struct enclave_devices *d = ctx;
	uint64_t one = 1;
	if (d->heartbeat_fd >= 0 && write(d->heartbeat_fd, &one, sizeof(one)) < 0) {
		/* An eventfd only fails when its counter would overflow. */
	}
	if (d->on_heartbeat)
		d->on_heartbeat(d->heartbeat_ctx);
}

static int create_vsock(struct enclave_devices *d, const struct devices_config *cfg,
			struct carve_err *err)
{
	int mk = mkdir_p(cfg->vsock_dir, 0755);
	if (mk < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Create': %s",
				  cfg->vsock_dir, strerror(-mk));
	/* The enclave's own socket, found by its CID: <vsock_dir>/cid-<CID>.sock */
	if (snprintf(d->uds_path, sizeof(d->uds_path), "%s/cid-%llu.sock", cfg->vsock_dir,
		     (unsigned long long)cfg->cid) >= (int)sizeof(d->uds_path))
		return carve_fail(err, E11_SOCKET, "the vsock directory path '%s' is too long for a "
				  "Unix socket; set CARVE_VSOCK_DIR to a shorter one", cfg->vsock_dir);
	struct vsock_config vc = {
		.guest_cid = cfg->cid, .uds_path = d->uds_path, .vsock_dir = cfg->vsock_dir,
		.heartbeat = on_heartbeat, .heartbeat_ctx = d,
	};
	d->vsock = vsock_create(&vc);
	if (!d->vsock)
		return carve_fail(err, E11_SOCKET, "cannot create the vsock device on '%s': %s",
				  d->uds_path, strerror(errno));
	d->t_vsock = virtio_mmio_create(&d->mem, vsock_backend(), d->vsock);
	if (!d->t_vsock)
		return carve_fail(err, E00_UNSPECIFIED, "cannot create the virtio-vsock transport");
	add_slot(d, d->t_vsock, vsock_backend()->nqueues);
	return 0;
}

int devices_create(const struct devices_config *cfg, struct enclave_devices **out, struct carve_err *err)
{
	struct enclave_devices *d = calloc(1, sizeof(*d));
	if (!d)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	*out = d;
	d->heartbeat_fd = cfg->heartbeat_fd;
	d->on_heartbeat = cfg->on_heartbeat;
	d->heartbeat_ctx = cfg->heartbeat_ctx;
	d->mem = (struct virtio_mem){.ptr = mem_ptr, .ctx = &d->ref};
	/* vsock first: slot 0, GSI 5, as the first device of a Nitro enclave. */
	if (create_vsock(d, cfg, err) < 0)
		return -1;

	if (pki_open(&d->pki, pki_state_dir(), time(NULL), err) < 0)
		return -1;
	d->have_pki = true;
	struct nsm_config nc = {
		.module_id = cfg->module_id,
		.pcr0 = cfg->m->pcr0, .pcr1 = cfg->m->pcr1, .pcr2 = cfg->m->pcr2,
		.pcr8 = cfg->m->has_pcr8 ? cfg->m->pcr8 : NULL,
		.debug_mode = cfg->debug_mode,
		.pki = &d->pki,
	};
	if (nsm_create(&d->nsm, &nc, err) < 0)
		return -1;
	struct virtio_nsm_handler h = {.handle = nsm_handle, .ctx = d->nsm};
	d->vnsm = virtio_nsm_create(&h);
	if (!d->vnsm || !(d->t_nsm = virtio_mmio_create(&d->mem, virtio_nsm_backend(), d->vnsm)))
		return carve_fail(err, E00_UNSPECIFIED, "cannot create the virtio-nsm device");
	add_slot(d, d->t_nsm, virtio_nsm_backend()->nqueues);
	return 0;
}

const struct vmm_mmio_slot *devices_slots(const struct enclave_devices *d, int *n)
{
	*n = d->nslots;
	return d->slots;
}

const char *devices_cmdline(const struct enclave_devices *d)
{
	return d->cmdline;
}

void devices_attach_memory(struct enclave_devices *d, const struct guest_mem *gm)
{
	d->ref.gm = gm;
}

void devices_destroy(struct enclave_devices *d)
{
	if (!d)
		return;
	if (d->t_vsock)
		virtio_mmio_destroy(d->t_vsock);
	if (d->vsock)
		vsock_destroy(d->vsock);
	if (d->t_nsm)
		virtio_mmio_destroy(d->t_nsm);
	if (d->vnsm)
		virtio_nsm_destroy(d->vnsm);
	if (d->nsm)
		nsm_destroy(d->nsm);
	if (d->have_pki)
		pki_free(&d->pki);
	free(d);
}

void devices_vsock_dir(char *out, size_t len)
{
	const char *env = getenv("CARVE_VSOCK_DIR");
	if (env && *env)
		snprintf(out, len, "%s", env);
	else
		snprintf(out, len, "%s/vsock", registry_dir());
}
