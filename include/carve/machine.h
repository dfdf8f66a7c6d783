/* The machine builder: the one place a VM and its devices are put together,
 * for `carve vmm` and the enclave process alike (Firecracker's builder.rs is
 * the model). The order is carve/vmm.h's:
 *   1. the VM: KVM, guest memory, the board's port devices;
 *   2. the enclave's devices, each created on that memory and registered on
 *      the MMIO bus, which gives it its slot and binds its eventfds
 *      (virtio-vsock first: slot 0, GSI 5, as on a Nitro enclave; then
 *      virtio-nsm), then any empty slots asked for;
 *   3. the kernel: the command line gets the devices' virtio_mmio.device=
 *      entries for the carve kernel (Linux reads the ACPI DSDT instead), and
 *      the ACPI tables announce every slot;
 *   4. the vCPUs.
 * A device is its own file in src/machine/ plus one line in builder.c's list. */
#ifndef CARVE_MACHINE_H
#define CARVE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "carve/eif.h"
#include "carve/error.h"
#include "carve/vmm.h"

/* Whether the enclave's CID is also the host kernel's (AF_VSOCK through
 * /dev/vhost-vsock, docs/vsock.md). */
enum machine_af_vsock {
	MACHINE_AF_VSOCK_AUTO, /* where /dev/vhost-vsock exists */
	MACHINE_AF_VSOCK_OFF,  /* Unix sockets only */
	MACHINE_AF_VSOCK_ON,   /* required: an error without it */
	/* ON, and after the heartbeat the enclave's rings go to the kernel
	 * (the kernel datapath: the host is CID 2 from then on) */
	MACHINE_AF_VSOCK_KERNEL,
};

/* What the enclave's devices need: virtio-vsock (the CID) and virtio-nsm
 * (the NSM engine with the image's measurements). */
struct machine_devices_config {
	const char *module_id;            /* the enclave id */
	const struct eif_measurements *m; /* PCR0/1/2 (and 8) of the image */
	bool debug_mode;                  /* attestation documents carry zero PCRs */
	uint64_t cid;                     /* the enclave's vsock CID */
	const char *vsock_dir;            /* host side of vsock (docs/vsock.md) */
	int heartbeat_fd;                 /* eventfd written when the heartbeat arrives, or -1 */
	/* Also called (on the device thread) when it arrives; may be NULL. */
	void (*on_heartbeat)(void *ctx);
	void *heartbeat_ctx;
	enum machine_af_vsock af_vsock;
	const char *vhost_vsock_path; /* NULL: VHOST_VSOCK_PATH */
	bool *af_vsock_used;          /* NULL, or set to whether the CID is the kernel's */
};

struct machine_config {
	struct vmm_config vm;
	struct vmm_boot boot;                         /* its cmdline gets the device entries (ELF kernels) */
	const struct machine_devices_config *devices; /* NULL: a bare VM */
	int announce_slots;                           /* empty virtio-mmio slots after the devices */
	/* Faults the guest caused in a device (a broken queue, a malformed
	 * packet), one line each, at most MACHINE_FAULTS_PER_MINUTE a minute
	 * (then a count of those left out); any thread. NULL: not reported. */
	void (*device_fault)(void *ctx, const char *line);
	void *device_fault_ctx;
	/* A device's state changes the operator should see ("virtio-vsock:
	 * rings handed to the kernel"), one line each; any thread. NULL: none. */
	void (*device_note)(void *ctx, const char *line);
	void *device_note_ctx;
};
#define MACHINE_FAULTS_PER_MINUTE 10

struct machine;

/* Steps 1-4. On error everything made is released and *out is NULL. The
 * boot buffers are copied into guest memory: free them once this returns. */
int machine_build(const struct machine_config *cfg, struct machine **out, struct carve_err *err);
struct vmm *machine_vm(struct machine *m);
/* The devices first (their threads touch guest memory), then the VM. */
void machine_destroy(struct machine *m);

#endif
