/* The devices of an enclave VM: virtio-vsock (CID from the enclave) and
 * virtio-nsm (the NSM engine with the image's measurements), each on a
 * virtio-mmio slot that the VMM announces in ACPI (for Linux) and, for the
 * carve enclave kernel, on the command line as virtio_mmio.device= entries.
 * Used by the enclave process and by `carve vmm --eif-path`. */
#ifndef CARVE_DEVICES_H
#define CARVE_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "carve/eif.h"
#include "carve/error.h"
#include "carve/vmm.h"

struct enclave_devices;

struct devices_config {
	const char *module_id;              /* the enclave id */
	const struct eif_measurements *m;   /* PCR0/1/2 (and 8) of the image */
	bool debug_mode;                    /* attestation documents carry zero PCRs */
	uint64_t cid;                       /* the enclave's vsock CID */
	const char *vsock_dir;              /* host side of vsock (docs/vsock.md) */
	int heartbeat_fd;                   /* eventfd written when the heartbeat arrives, or -1 */
	/* Also called (on the device thread) when it arrives; may be NULL. */
	void (*on_heartbeat)(void *ctx);
	void *heartbeat_ctx;
};

/* Creates the devices (and the attestation CA on first use). */
int devices_create(const struct devices_config *cfg, struct enclave_devices **out,
		   struct carve_err *err);
/* The slots to put in vmm_config, and the command-line words that list them
 * for the carve kernel ("virtio_mmio.device=4K@0xd0000000:5 ..."). */
const struct vmm_mmio_slot *devices_slots(const struct enclave_devices *d, int *n);
const char *devices_cmdline(const struct enclave_devices *d);
/* Once vmm_create has mapped guest memory, before the VM runs. */
void devices_attach_memory(struct enclave_devices *d, const struct guest_mem *gm);
/* After the VM stopped. */
void devices_destroy(struct enclave_devices *d);

/* $CARVE_VSOCK_DIR, else <sockets dir>/vsock. */
void devices_vsock_dir(char *out, size_t len);

#endif
