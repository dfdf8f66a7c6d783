/* Private to the machine part: how a device file adds its device. */
#ifndef CARVE_MACHINE_INTERNAL_H
#define CARVE_MACHINE_INTERNAL_H

#include "carve/machine.h"
#include "carve/util.h"
#include "carve/virtio_nsm.h"
#include "carve/vsock.h"

struct machine_device {
	struct machine *machine;
	const char *name;
	struct virtio_mmio *transport;
	void *owner;                  /* the device file's state */
	void (*destroy)(void *owner); /* after its transport is gone */
};

#define MACHINE_MAX_DEVICES VMM_MMIO_SLOTS

struct machine {
	struct vmm *vm;
	struct virtio_mem mem; /* guest memory, through gm_ptr */
	int ndevices;
	struct machine_device devices[MACHINE_MAX_DEVICES];
	void (*device_fault)(void *ctx, const char *line);
	void *device_fault_ctx;
	struct rate_limit faults;
	void (*device_note)(void *ctx, const char *line);
	void *device_note_ctx;
	bool kernel_is_elf; /* the carve kernel: its NSM reserves the lock's PCR */
	struct nsm *nsm;    /* the virtio-nsm device's engine, NULL without one */
};

/* Reports a guest-caused fault of `device` (rate-limited; any thread). */
void machine_report_fault(struct machine *m, const char *device, const char *what);

/* Reports a state change of `device` the operator should see (any thread). */
void machine_report_note(struct machine *m, const char *device, const char *what);

/* Puts a virtio backend (`be` with its ctx `be_ctx`) behind a virtio-mmio
 * transport on the next slot. `owner` is the device file's state, freed with
 * destroy(owner) when the machine goes, or at once if this fails: the
 * caller owns nothing more either way. */
int machine_add_virtio(struct machine *m, const char *name, const struct virtio_backend *be, void *be_ctx,
		       void *owner, void (*destroy)(void *owner), struct carve_err *err);

/* The enclave's devices (one file each). */
int vsock_device_add(struct machine *m, const struct machine_devices_config *cfg, struct carve_err *err);
int nsm_device_add(struct machine *m, const struct machine_devices_config *cfg, struct carve_err *err);

#endif
