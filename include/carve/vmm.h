/* The VMM: one KVM virtual machine that boots a Linux bzImage or an ELF64
 * kernel (Firecracker's x86_64 boot path; Linux Documentation/arch/x86/boot.rst).
 *
 * A VM is assembled in a fixed order, each step a call (the machine builder,
 * carve/machine.h, makes them for carve vmm and the enclave process alike):
 *   1. vmm_create: KVM, guest memory (mapped and given to KVM), the interrupt
 *      controllers and the board's port devices (COM1, i8042, the ACPI
 *      registers, carve's exit and log ports);
 *   2. vmm_add_mmio_device / vmm_add_pio_device: devices on the buses, each
 *      given its slot (address, GSI) as it registers; their eventfds are
 *      bound to KVM here (KVM_IOEVENTFD, KVM_IRQFD);
 *   3. vmm_load_kernel: the kernel, initrd, command line, zero page and the
 *      ACPI tables, which announce every device registered so far;
 *   4. vmm_create_vcpus: the vCPUs, their CPUID and boot registers, and the
 *      stage-2 prefault;
 * then vmm_run until it stops, and vmm_destroy. Each step refuses to run out
 * of order (E00 with the step named).
 *
 * The guest stops by resetting (i8042 or the ACPI reset register), by powering
 * off (ACPI sleep S5), by a triple fault, or by a failure KVM reports; vmm_run
 * says which in a vmm_stop_info.
 *
 * Guest memory is reached only through gm_ptr(): every device access is
 * bounds- and overflow-checked there, so a guest-provided address can never
 * make the VMM touch memory outside the guest.
 */
#ifndef CARVE_VMM_H
#define CARVE_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/error.h"

#define VMM_MIB (1ull << 20)
#define VMM_MIN_MEM (64 * VMM_MIB)
#define VMM_MEM_ALIGN (2 * VMM_MIB) /* regions are whole 2 MiB pages */
#define VMM_MAX_VCPUS 64

/* ---- guest memory ---- */

#define GM_MAX_REGIONS 2 /* RAM below the 32-bit MMIO hole, RAM above 4 GiB */

struct mempool_slab; /* carve/mempool.h */

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host; /* NULL until mapped */
};

struct guest_mem {
	int nregions;
	struct gm_region regions[GM_MAX_REGIONS];
	uint64_t total;
	int fd;                         /* -1: the mappings hold their hugetlb memfds */
	bool hugetlb;                   /* backed by reserved huge pages (1 GiB and/or 2 MiB) */
	void *map;                      /* one mapping of all guest memory */
	struct gm_populate *populating; /* gm_map_start's threads, until gm_map_finish */
	bool lazy;                      /* set before gm_map_start: populate nothing (vmm_config) */
	const char *pool_dir;           /* set before gm_map_start: the memory pool to use (vmm_config) */
	struct mempool_slab *slab;      /* the pool's slab the memory is in, or NULL */
};

/* Splits mem_bytes into regions around the MMIO hole [3 GiB, 4 GiB).
 * mem_bytes must be a multiple of 2 MiB and at least 64 MiB.
 * Returns 0 or -1 with err filled (E26 too small, E03 misaligned). */
int gm_layout(struct guest_mem *gm, uint64_t mem_bytes, struct carve_err *err);
/* Allocates and maps the regions laid out by gm_layout, fully populated. */
int gm_map(struct guest_mem *gm, bool verbose, struct carve_err *err);
/* The same in two steps: gm_map_start maps the regions (usable at once:
 * gm_ptr, gm_write) and starts populating them on threads of their own;
 * gm_map_finish waits until every page is populated (0), or fails with E27.
 * Nothing may run guest code on the memory before gm_map_finish returned 0. */
int gm_map_start(struct guest_mem *gm, bool verbose, struct carve_err *err);
int gm_map_finish(struct guest_mem *gm, struct carve_err *err);
void gm_unmap(struct guest_mem *gm);

/* The one accessor: a host pointer to [gpa, gpa+len) if that range lies
 * entirely inside one guest RAM region, else NULL. len 0 is allowed (returns
 * a valid pointer when gpa is inside or at the end of a region). */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copies through gm_ptr; 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);
/* The RAM end below 4 GiB (end of region 0). */
uint64_t gm_low_end(const struct guest_mem *gm);

/* ---- devices ---- */

/* A device on the MMIO bus: a virtio-mmio transport. The VMM routes MMIO
 * exits inside its slot to read/write (on vCPU threads), binds each kick
 * eventfd with KVM_IOEVENTFD to base + notify_offset (4-byte writes,
 * datamatch = queue index) so queue notifications reach the device thread
 * without a VM exit to user space, and binds irq_fd with KVM_IRQFD to the
 * slot's GSI. */
#define VMM_MMIO_MAX_QUEUES 8
struct vmm_mmio_device {
	const char *name; /* for errors and logs: "virtio-vsock" */
	void (*read)(void *ctx, uint64_t off, void *data, uint32_t len);
	void (*write)(void *ctx, uint64_t off, const void *data, uint32_t len);
	void *ctx;
	int irq_fd;             /* -1: none */
	uint64_t notify_offset; /* virtio-mmio QueueNotify: 0x50 */
	int nkicks;
	int kick_fds[VMM_MMIO_MAX_QUEUES]; /* one per queue */
};

/* Where a device landed: 4 KiB at 0xd0000000 + i*4 KiB, GSI 5 + i for the
 * i-th registered (the ACPI DSDT announces each; the carve kernel reads them
 * from the command line). GSIs 5-23 make 19 slots. */
#define VMM_MMIO_SLOTS 19
struct vmm_mmio_slot {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
	const struct vmm_mmio_device *dev; /* NULL: announced only */
};

/* A device on the port bus: ports [base, base + len). Called on vCPU
 * threads with the vCPU's index (for the stop it may cause). A byte-wide
 * device (an 8-bit ISA one) sees a wider access as byte accesses at
 * consecutive ports; any other sees it whole (1, 2 or 4 bytes). */
struct vmm_pio_device {
	const char *name;
	uint16_t base, len;
	bool byte_wide;
	void (*read)(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len);
	void (*write)(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len);
	void *ctx;
};

/* Bytes copied to a fixed guest address before boot (the EIF at 8 MiB). */
struct vmm_blob {
	uint64_t gpa;
	const uint8_t *data;
	size_t len;
};

/* What CPUID shows beyond the fixed policy (topology, PV allow-list). */
enum vmm_cpu_template {
	VMM_CPU_HOST = 0, /* what KVM supports */
	VMM_CPU_BASELINE, /* x86-64 v1: no AVX/BMI/XSAVE/CMPXCHG16B (for PVM hosts) */
};

/* Sub-page write protection (docs/vmm.md): bytes [gpa, gpa + len) of RAM,
 * in 128-byte sub-pages, made read-only (writable false) or writable again,
 * applied in order at vmm_create. Pages with a protected sub-page are mapped
 * through read-only memory slots: a guest write to them exits to the VMM,
 * which applies it where every sub-page it touches is writable and counts a
 * violation otherwise. carve's virtio devices refuse requests that would
 * write a protected sub-page. */
struct vmm_protect {
	uint64_t gpa, len; /* multiples of 128, inside one RAM region */
	bool writable;
};
/* What a violation does: the write is dropped either way. */
enum vmm_subpage_policy {
	VMM_SUBPAGE_REFUSE = 0, /* drop it, log it, and the guest runs on */
	VMM_SUBPAGE_STOP,       /* stop the VM (reason write-protect) */
};
/* Parses "GPA:LEN[:ro|:rw]" (numbers decimal or 0x hex, multiples of 128,
 * LEN > 0, the range below 2^48; ro, the default, protects). E03 naming
 * the problem. */
int vmm_parse_protect(const char *text, struct vmm_protect *out, struct carve_err *err);
/* "refuse" or "stop". */
int vmm_parse_subpage_policy(const char *text, enum vmm_subpage_policy *out, struct carve_err *err);

struct vmm_config {
	uint64_t mem_bytes;
	int ncpus;
	const int *pin;  /* optional: host CPU per vCPU, -1 = unpinned */
	int console_out; /* serial output fd (stdout) */
	int console_in;  /* serial input fd, -1 for none */
	enum vmm_cpu_template cpu_template;
	/* Guest memory left to first touch: not populated, no KVM_PRE_FAULT_MEMORY.
	 * Only the baseline of bench/fault_parallel.sh (carve vmm with
	 * CARVE_VMM_LAZY_MEMORY=1): every guarantee of docs/vmm.md § Memory is off. */
	bool lazy_memory;
	/* optional: a memory pool directory (carve/mempool.h): guest memory is a
	 * zeroed slab taken from it when one of the size is free (no zeroing at
	 * start), else made there as a new slab; either way zeroed and given
	 * back when the VM is destroyed. */
	const char *memory_pool;
	bool verbose;
	/* optional: each line the guest writes to VMM_LOG_PORT (printable,
	 * bounded), called from a vCPU thread. NULL ignores the port. */
	void (*guest_log)(void *ctx, const char *line);
	void *guest_log_ctx;
	/* Sub-page write protection (none when nprotect is 0). */
	const struct vmm_protect *protect;
	int nprotect;
	enum vmm_subpage_policy subpage_policy;
	/* optional: events of the VM for its event log (a write-protect
	 * violation: address, size, vCPU, RIP), one line each, rate-limited,
	 * from vCPU threads. */
	void (*event)(void *ctx, const char *line);
	void *event_ctx;
	/* optional: the guest sealed its own write protection through the
	 * lock device (VMM_SELFLOCK_PORT): digest is the locked map's
	 * (vmm_selflock_digest). Returns the NSM PCR it was measured into, or
	 * -1 when there is none; called once, from a vCPU thread. */
	int (*lock_sealed)(void *ctx, const uint8_t digest[48]);
	void *lock_sealed_ctx;
};

/* What step 3 loads. The buffers are copied into guest memory: the caller
 * may free them once vmm_load_kernel returns. */
struct vmm_boot {
	const uint8_t *kernel; /* ELF64 or bzImage bytes */
	size_t kernel_len;
	const uint8_t *initrd; /* optional */
	size_t initrd_len;
	const char *cmdline;         /* optional */
	const struct vmm_blob *blob; /* optional */
};

/* The guest's sub-page lock device (src/vmm/selflock.c, docs/vmm.md § The
 * guest's lock device): 0x60 ports of 32-bit registers through which the
 * guest's kernel removes write permission from its own ranges, one way,
 * and seals the result into an NSM PCR. Announced in the DSDT (_HID
 * VMM_SELFLOCK_HID) and, for the carve kernel, on its command line
 * (VMM_SELFLOCK_CMDLINE). */
#define VMM_SELFLOCK_PORT 0x680
#define VMM_SELFLOCK_PORTS 0x60
#define VMM_SELFLOCK_HID "CRVE0001"
#define VMM_SELFLOCK_CMDLINE "carve_selflock.device=0x60@0x680"
/* Registers (byte offsets; 32-bit accesses only, little-endian). */
#define SELFLOCK_REG_ID 0x00      /* RO SELFLOCK_ID */
#define SELFLOCK_REG_VERSION 0x04 /* RO 1 */
#define SELFLOCK_REG_GRANULE 0x08 /* RO 128: bytes per sub-page */
#define SELFLOCK_REG_STATUS 0x0c  /* RO: the last command's SELFLOCK_S_* */
#define SELFLOCK_REG_ADDR_LO 0x10 /* RW: guest physical address */
#define SELFLOCK_REG_ADDR_HI 0x14
#define SELFLOCK_REG_LEN_LO 0x18 /* RW: length in bytes */
#define SELFLOCK_REG_LEN_HI 0x1c
#define SELFLOCK_REG_COMMAND 0x20 /* WO: SELFLOCK_CMD_*; reads 0 */
#define SELFLOCK_REG_STATE 0x24   /* RO: SELFLOCK_STATE_* bits */
#define SELFLOCK_REG_PCR 0x28     /* RO: the PCR sealed into, 0xffffffff none (yet) */
#define SELFLOCK_REG_BUDGET 0x2c  /* RO: pages that may still be protected */
#define SELFLOCK_REG_DIGEST 0x30  /* RO, 48 bytes: the locked map's digest */
struct vmm;
#define SELFLOCK_ID 0x4b4c5053u /* "SPLK" */
#define SELFLOCK_CMD_LOCK 1     /* make [ADDR, ADDR + LEN) read-only, for good */
#define SELFLOCK_CMD_SEAL 2     /* no more locks; measure the map into the PCR */
#define SELFLOCK_STATE_SUPPORTED 1u
#define SELFLOCK_STATE_SEALED 2u
enum selflock_status {
	SELFLOCK_S_OK = 0,
	SELFLOCK_S_COMMAND = 1,     /* unknown command */
	SELFLOCK_S_ALIGN = 2,       /* ADDR or LEN not a multiple of 128, or LEN 0 */
	SELFLOCK_S_RANGE = 3,       /* the range is not inside one RAM region */
	SELFLOCK_S_PAGES = 4,       /* more protected pages than the table holds */
	SELFLOCK_S_SLOTS = 5,       /* more memory slots than KVM offers */
	SELFLOCK_S_SEALED = 6,      /* sealed: nothing more may be locked */
	SELFLOCK_S_UNSUPPORTED = 7, /* KVM lacks KVM_CAP_READONLY_MEM */
	SELFLOCK_S_ACCESS = 8,      /* not a 32-bit access, or a write to a read-only register */
	SELFLOCK_S_HOST = 9,        /* the host failed (the VM stops) */
	SELFLOCK_S_NONE = 0xff,     /* no command yet */
};
/* The digest of the locked map: SHA-384 over "CARVE-SUBPAGE-LOCK-1" (20
 * bytes) then, for each page with a locked sub-page in ascending frame
 * order, its frame number (8 bytes, little-endian) and the 32-bit mask of
 * its locked sub-pages (4 bytes, little-endian; bit i = bytes [128 i,
 * 128 i + 128)). Ranges the host protected with --protect are not part of
 * it: only what the guest locked, which nothing can undo. */
void vmm_selflock_digest(struct vmm *vm, uint8_t out[48]);
struct vmm_selflock_state {
	bool sealed;
	int pcr; /* -1: none */
	uint64_t locked_pages;
	uint8_t digest[48];
};
void vmm_selflock_state(struct vmm *vm, struct vmm_selflock_state *s);

/* ---- stopping ---- */

enum vmm_stop_reason {
	VMM_STOP_NONE = 0,
	VMM_STOP_POWEROFF,       /* ACPI sleep control, S5 */
	VMM_STOP_RESET_ACPI,     /* FADT reset register */
	VMM_STOP_RESET_I8042,    /* 0xFE to port 0x64 */
	VMM_STOP_SYSTEM_EVENT,   /* KVM_EXIT_SYSTEM_EVENT (shutdown/reset/crash) */
	VMM_STOP_TRIPLE_FAULT,   /* KVM_EXIT_SHUTDOWN */
	VMM_STOP_INTERNAL_ERROR, /* KVM_EXIT_INTERNAL_ERROR, e.g. emulation failure */
	VMM_STOP_FAIL_ENTRY,     /* KVM_EXIT_FAIL_ENTRY: invalid guest state */
	VMM_STOP_UNHANDLED_EXIT, /* an exit reason the VMM does not know */
	VMM_STOP_HOST_ERROR,     /* KVM_RUN or a VMM operation failed */
	VMM_STOP_REQUESTED,      /* vmm_request_stop (signal, timeout) */
	VMM_STOP_GUEST_EXIT,     /* the guest wrote its program's exit status to port 0xF4 */
	VMM_STOP_WRITE_PROTECT,  /* a write to a protected sub-page, policy stop */
};

/* The carve exit port: a guest (the carve enclave kernel) writes its
 * program's exit status here, 1 to 4 bytes little-endian, and the VM stops. */
#define VMM_EXIT_PORT 0xF4
/* The carve log port: a guest's init writes lines of text here (byte
 * writes, `rep outsb` for a whole line), each ending in '\n'; they reach
 * vmm_config.guest_log. */
#define VMM_LOG_PORT 0xF5
/* The carve console port: the console's bulk path for a guest that knows it
 * (the carve enclave kernel). A 32-bit read gives VMM_CONSOLE_PORT_MAGIC
 * (a VMM without the port gives all ones); a 32-bit write is the guest
 * physical address of a record, a 32-bit little-endian length then that
 * many bytes (at most VMM_CONSOLE_PORT_MAX), which go to the console after
 * whatever COM1 sent before: one exit per record where COM1 takes one per
 * byte. A record outside guest RAM or too long is dropped, whole. */
#define VMM_CONSOLE_PORT 0xF6
#define VMM_CONSOLE_PORT_MAGIC 0x43525643u /* "CVRC" */
#define VMM_CONSOLE_PORT_MAX 65536u

struct vmm_stop_info {
	enum vmm_stop_reason reason;
	int vcpu;         /* the vCPU that stopped the VM, -1 if none */
	char detail[256]; /* one line, no newline */
	int exit_status;  /* VMM_STOP_GUEST_EXIT: the status written */
	/* Host page faults (minor and major) this process took from the first
	 * vCPU's start to the last one's end: what guest memory accesses cost
	 * the host after population. Guest RAM is populated (and, with
	 * KVM_PRE_FAULT_MEMORY, mapped in stage 2) before, so this counts only
	 * the VMM's own memory (device buffers, thread stacks), never a guest
	 * page: a vCPU that dirties all of RAM adds nothing to it. */
	long host_faults;
	/* Sub-page protection: guest writes to pages with a protected
	 * sub-page that were applied, and those refused (violations). */
	uint64_t subpage_writes, subpage_violations;
	uint64_t guest_locked_pages; /* pages the guest locked through the lock device */
};

/* "poweroff", "triple-fault", ... */
const char *vmm_stop_name(enum vmm_stop_reason r);
/* A guest-requested reset or poweroff: the caller exits 0. */
bool vmm_stop_is_clean(enum vmm_stop_reason r);
/* The guest stopped abnormally by its own doing (triple fault, a crash it
 * signalled, invalid state, an exit KVM or carve cannot handle): E76, not
 * the host's failure nor a stop someone asked for. */
bool vmm_stop_is_crash(enum vmm_stop_reason r);

/* ---- the VM ---- */

struct vmm;

/* Step 1: opens KVM, checks every capability used, maps memory, creates the
 * interrupt controllers and the board's port devices. Nothing runs.
 * Errors: E29 (KVM missing or lacking a capability), E26/E27 (memory), E20
 * (vCPU count); on error everything is released and *out is NULL. */
int vmm_create(const struct vmm_config *cfg, struct vmm **out, struct carve_err *err);
/* Step 2: registers a device; `placed` (may be NULL) gets its slot. The
 * device description is copied; its ctx must outlive the VM. E03 when the
 * slots (GSIs) are used up or the description is wrong. */
int vmm_add_mmio_device(struct vmm *vm, const struct vmm_mmio_device *dev, struct vmm_mmio_slot *placed,
			struct carve_err *err);
/* An empty slot, announced in ACPI with no device behind it (tests). */
int vmm_announce_mmio_slot(struct vmm *vm, struct carve_err *err);
/* Refuses ports another device holds (E03). */
int vmm_add_pio_device(struct vmm *vm, const struct vmm_pio_device *dev, struct carve_err *err);
/* The registered MMIO devices as the carve kernel's command line lists them
 * ("virtio_mmio.device=4K@0xd0000000:5 ..."); "" when none. */
void vmm_mmio_cmdline(const struct vmm *vm, char *out, size_t len);
/* Step 3. E34 (kernel/initrd/cmdline do not fit), E35 (not a kernel we can
 * boot). */
int vmm_load_kernel(struct vmm *vm, const struct vmm_boot *boot, struct carve_err *err);
/* Step 4. */
int vmm_create_vcpus(struct vmm *vm, struct carve_err *err);
/* Starts one thread per vCPU and waits until the VM stops. */
int vmm_run(struct vmm *vm, struct vmm_stop_info *stop, struct carve_err *err);
/* Asks a running VM to stop (async-signal-safe). */
void vmm_request_stop(struct vmm *vm);
/* Stops it as vmm_request_stop does, and once its vCPUs are out of KVM_RUN
 * prints each one's registers and the top of its stack to stderr: where a
 * hung guest was (async-signal-safe; `carve vmm` on SIGQUIT). */
void vmm_request_dump(struct vmm *vm);
/* Asks the guest to shut down itself: presses Ctrl-Alt-Del on its keyboard
 * (Linux turns it into SIGINT for PID 1, or a reboot). Returns -1 when the
 * guest has no keyboard driver to hear it (the carve kernel): stop it then.
 * The guest may ignore the request; the caller bounds the wait. */
int vmm_request_shutdown(struct vmm *vm);
/* Writes each ACPI table to DIR/<SIGNATURE>.dat (RSDP.dat for the RSDP). */
int vmm_dump_acpi(const struct vmm *vm, const char *dir, struct carve_err *err);
const struct guest_mem *vmm_memory(const struct vmm *vm);
/* Whether a device may write [gpa, gpa + len): every sub-page it touches is
 * writable in the VM's sub-page table (any thread). */
bool vmm_guest_writable(struct vmm *vm, uint64_t gpa, uint64_t len);
/* Reading the sub-page table (any thread): the maps of pages [gfn, gfn +
 * npages), npages 1 to 512 (0 or -EINVAL), as KVM_SUBPAGES_GET_ACCESS;
 * the runs of protected pages (fills at most max, returns how many); the
 * protected pages and the writes applied and refused so far. */
int vmm_subpage_get(struct vmm *vm, uint64_t gfn, uint32_t npages, uint32_t *access);
struct vmm_subpage_run {
	uint64_t gfn, npages;
};
size_t vmm_subpage_runs(struct vmm *vm, struct vmm_subpage_run *out, size_t max);
struct vmm_subpage_counts {
	uint64_t pages, writes, violations;
};
/* The maps of pages [gfn, gfn + npages) as vmm_subpage_get, but the
 * sub-pages the guest locked (bit set: locked) instead of the writable ones. */
int vmm_subpage_get_locked(struct vmm *vm, uint64_t gfn, uint32_t npages, uint32_t *locked);
void vmm_subpage_counts(struct vmm *vm, struct vmm_subpage_counts *c);

/* What KVM_PRE_FAULT_MEMORY did at vmm_create: with it, KVM builds the
 * guest's stage-2 (EPT/NPT) mappings of all RAM before the first vCPU runs,
 * so no boot-time access takes a nested page fault. Offered by KVMs with
 * hardware virtualization since Linux 6.10; absent on PVM. */
struct vmm_prefault_report {
	bool offered;    /* KVM_CAP_PRE_FAULT_MEMORY */
	int errno_value; /* 0, or why the ioctl failed (pages then fault in on use) */
	uint64_t bytes;  /* mapped ahead of the guest */
	double ms;       /* time the ioctls took */
	int nranges;
	struct {
		uint64_t gpa, size;
	} ranges[GM_MAX_REGIONS]; /* as requested */
};
const struct vmm_prefault_report *vmm_prefault(const struct vmm *vm);
/* One line for event logs: "KVM_PRE_FAULT_MEMORY mapped 0x0-0x1fffffff
 * (512 MiB) in 3.1 ms", or why it was not used. */
void vmm_prefault_describe(const struct vmm_prefault_report *r, char *buf, size_t len);

void vmm_destroy(struct vmm *vm);

#endif
