/* The enclave's virtio-nsm device: the NSM engine with the image's
 * measurements, signing with carve's attestation PKI (created on first use). */
#include <stdlib.h>
#include <time.h>

#include "carve/nsm.h"
#include "carve/pki.h"
#include "machine/machine_internal.h"

struct nsm_device {
	struct pki pki;
	bool have_pki;
	struct nsm *nsm;
	struct virtio_nsm *vnsm;
};

static int handle(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap, size_t *resp_len)
{
	return nsm_handle_request(ctx, req, req_len, resp, cap, resp_len);
}

static void destroy(void *ctx)
{
	struct nsm_device *d = ctx;
	if (d->vnsm)
		virtio_nsm_destroy(d->vnsm);
	if (d->nsm)
		nsm_destroy(d->nsm);
	if (d->have_pki)
		pki_free(&d->pki);
	free(d);
}

int nsm_device_add(struct machine *m, const struct machine_devices_config *cfg, struct carve_err *err)
{
	struct nsm_device *d = calloc(1, sizeof(*d));
	if (!d)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	if (pki_open(&d->pki, pki_state_dir(), time(NULL), err) < 0) {
		destroy(d);
		return -1;
	}
	d->have_pki = true;
	struct nsm_config nc = {
		.module_id = cfg->module_id,
		.pcr0 = cfg->m->pcr0,
		.pcr1 = cfg->m->pcr1,
		.pcr2 = cfg->m->pcr2,
		.pcr8 = cfg->m->has_pcr8 ? cfg->m->pcr8 : NULL,
		.debug_mode = cfg->debug_mode,
		.pki = &d->pki,
		/* The carve kernel locks itself through the VMM's lock device
		 * and the VM measures that here (builder.c: lock_sealed). */
		.host_pcr = m->kernel_is_elf ? NSM_PCR_SUBPAGE_LOCK : 0,
	};
	if (nsm_create(&d->nsm, &nc, err) < 0) {
		destroy(d);
		return -1;
	}
	m->nsm = d->nsm;
	struct virtio_nsm_handler h = {.handle = handle, .ctx = d->nsm};
	d->vnsm = virtio_nsm_create(&h);
	if (!d->vnsm) {
		destroy(d);
		return carve_fail(err, E74_DEVICE_SETUP, "cannot create the virtio-nsm device");
	}
	return machine_add_virtio(m, "virtio-nsm", virtio_nsm_backend(), d->vnsm, d, destroy, err);
}
