/* See carve/machine.h: the order of assembly, written once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/nsm.h"
#include "carve/util.h"
#include "machine/machine_internal.h"

/* The enclave's devices, in slot order. */
static int (*const enclave_devices[])(struct machine *m, const struct machine_devices_config *cfg,
				      struct carve_err *err) = {
	vsock_device_add, /* slot 0, GSI 5: first, as on a Nitro enclave */
	nsm_device_add,   /* slot 1, GSI 6 */
};

static void *guest_ptr(void *ctx, uint64_t gpa, uint64_t len) { return gm_ptr(vmm_memory(ctx), gpa, len); }

/* Devices honour the VM's sub-page write protection (stronger than
 * hardware SPP, which does not cover DMA). */
static bool guest_writable(void *ctx, uint64_t gpa, uint64_t len)
{
	return vmm_guest_writable(ctx, gpa, len);
}

static void mmio_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	virtio_mmio_read(ctx, off, data, len);
}

static void mmio_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	virtio_mmio_write(ctx, off, data, len);
}

void machine_report_fault(struct machine *m, const char *device, const char *what)
{
	unsigned long dropped;
	if (!m->device_fault || !rate_limit_allow(&m->faults, monotonic_ns(), &dropped))
		return;
	char line[320];
	if (dropped)
		snprintf(line, sizeof(line), "%s: %s (%lu earlier device faults not logged)", device, what,
			 dropped);
	else
		snprintf(line, sizeof(line), "%s: %s", device, what);
	m->device_fault(m->device_fault_ctx, line);
}

void machine_report_note(struct machine *m, const char *device, const char *what)
{
	if (!m->device_note)
		return;
	char line[320];
	snprintf(line, sizeof(line), "%s: %s", device, what);
	m->device_note(m->device_note_ctx, line);
}

static void transport_fault(void *ctx, const char *what)
{
	const struct machine_device *d = ctx;
	machine_report_fault(d->machine, d->name, what);
}

int machine_add_virtio(struct machine *m, const char *name, const struct virtio_backend *be, void *be_ctx,
		       void *owner, void (*destroy)(void *owner), struct carve_err *err)
{
	if (m->ndevices == MACHINE_MAX_DEVICES) {
		destroy(owner);
		return carve_fail(err, E03_INVALID_ARGUMENT, "no room for %s: a VM has %d devices", name,
				  MACHINE_MAX_DEVICES);
	}
	struct virtio_mmio *t = virtio_mmio_create(&m->mem, be, be_ctx);
	if (!t) {
		destroy(owner);
		return carve_fail(err, E74_DEVICE_SETUP, "cannot create the %s transport", name);
	}
	struct machine_device *md = &m->devices[m->ndevices++];
	*md = (struct machine_device){
		.machine = m,
		.name = name,
		.transport = t,
		.owner = owner,
		.destroy = destroy,
	};
	virtio_mmio_on_fault(t, transport_fault, md);
	struct vmm_mmio_device dev = {
		.name = name,
		.read = mmio_read,
		.write = mmio_write,
		.ctx = t,
		.irq_fd = virtio_mmio_irq_fd(t),
		.notify_offset = VIRTIO_MMIO_QUEUE_NOTIFY,
		.nkicks = be->nqueues,
	};
	for (int q = 0; q < be->nqueues && q < VMM_MMIO_MAX_QUEUES; q++)
		dev.kick_fds[q] = virtio_mmio_kick_fd(t, q);
	return vmm_add_mmio_device(m->vm, &dev, NULL, err);
}

static int add_devices(struct machine *m, const struct machine_config *cfg, struct carve_err *err)
{
	for (size_t i = 0; cfg->devices && i < sizeof(enclave_devices) / sizeof(enclave_devices[0]); i++)
		if (enclave_devices[i](m, cfg->devices, err) < 0)
			return -1;
	for (int i = 0; i < cfg->announce_slots; i++)
		if (vmm_announce_mmio_slot(m->vm, err) < 0)
			return -1;
	return 0;
}

static bool boot_is_elf(const struct vmm_boot *boot)
{
	return boot->kernel_len >= 4 &&
		!memcmp(boot->kernel,
			"\x7f"
			"ELF",
			4);
}

/* The carve kernel (an ELF) finds its devices on the command line; Linux
 * (a bzImage) finds them in the ACPI DSDT and gets nothing added. */
static int load_kernel(struct machine *m, const struct vmm_boot *boot, struct carve_err *err)
{
	char entries[VMM_MMIO_SLOTS * 48];
	vmm_mmio_cmdline(m->vm, entries, sizeof(entries));
	if (!boot_is_elf(boot) || !entries[0])
		return vmm_load_kernel(m->vm, boot, err);
	const char *given = boot->cmdline ? boot->cmdline : "";
	size_t len = strlen(given) + 1 + strlen(entries) + 1;
	char *cmdline = malloc(len);
	if (!cmdline)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	snprintf(cmdline, len, "%s%s%s", given, given[0] ? " " : "", entries);
	struct vmm_boot with_devices = *boot;
	with_devices.cmdline = cmdline;
	int rc = vmm_load_kernel(m->vm, &with_devices, err);
	free(cmdline);
	return rc;
}

/* An internal failure (E00, or the VMM's memory, vCPU and device setup codes)
 * says which step of the assembly it stopped; a user's error (a bad kernel,
 * too little memory, no KVM) already says what to do. */
static int step_failed(struct carve_err *err, const char *step)
{
	if (err->code == E00_UNSPECIFIED || err->code == E72_GUEST_MEMORY || err->code == E73_VCPU_SETUP ||
	    err->code == E74_DEVICE_SETUP)
		return carve_err_context(err, "building the VM (%s): ", step);
	return -1;
}

/* The guest sealed its sub-page lock (the VMM's lock device): the digest
 * goes into the NSM's reserved PCR, once. A vCPU thread calls this. */
static int lock_sealed(void *ctx, const uint8_t digest[48])
{
	struct machine *m = ctx;
	if (!m->nsm || nsm_host_measure(m->nsm, NSM_PCR_SUBPAGE_LOCK, digest, 48) < 0)
		return -1;
	return NSM_PCR_SUBPAGE_LOCK;
}

static int build(const struct machine_config *cfg, struct machine *m, struct carve_err *err)
{
	struct vmm_config vc = cfg->vm;
	m->kernel_is_elf = boot_is_elf(&cfg->boot);
	if (cfg->devices && m->kernel_is_elf && !vc.lock_sealed) {
		vc.lock_sealed = lock_sealed;
		vc.lock_sealed_ctx = m;
	}
	if (vmm_create(&vc, &m->vm, err) < 0)
		return step_failed(err, "KVM, memory, board");
	m->mem = (struct virtio_mem){.ptr = guest_ptr, .writable = guest_writable, .ctx = m->vm};
	if (add_devices(m, cfg, err) < 0)
		return step_failed(err, "devices");
	if (load_kernel(m, &cfg->boot, err) < 0)
		return step_failed(err, "kernel");
	if (vmm_create_vcpus(m->vm, err) < 0)
		return step_failed(err, "vCPUs");
	return 0;
}

int machine_build(const struct machine_config *cfg, struct machine **out, struct carve_err *err)
{
	*out = NULL;
	struct machine *m = calloc(1, sizeof(*m));
	if (!m)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	m->device_fault = cfg->device_fault;
	m->device_fault_ctx = cfg->device_fault_ctx;
	m->device_note = cfg->device_note;
	m->device_note_ctx = cfg->device_note_ctx;
	rate_limit_init(&m->faults, MACHINE_FAULTS_PER_MINUTE, 60 * 1000);
	if (build(cfg, m, err) < 0) {
		machine_destroy(m);
		return -1;
	}
	*out = m;
	return 0;
}

struct vmm *machine_vm(struct machine *m) { return m->vm; }

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	for (int i = m->ndevices - 1; i >= 0; i--) {
		virtio_mmio_destroy(m->devices[i].transport); /* stops the device thread */
		m->devices[i].destroy(m->devices[i].owner);
	}
	vmm_destroy(m->vm);
	rate_limit_destroy(&m->faults);
	free(m);
}
