/* The vmm part's private interfaces and the guest physical layout. */
#ifndef CARVE_VMM_INTERNAL_H
#define CARVE_VMM_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "carve/util.h"
#include "carve/vmm.h"
#include "vmm/subpage.h"

/* ---- guest physical layout (Firecracker's x86_64 layout.rs) ---- */
#define LAYOUT_GDT 0x500ull        /* boot GDT, 4 entries */
#define LAYOUT_IDT 0x520ull        /* empty boot IDT */
#define LAYOUT_ZERO_PAGE 0x7000ull /* boot_params, RSI at entry */
#define LAYOUT_STACK 0x8ff0ull     /* initial RSP */
#define LAYOUT_PML4 0x9000ull
#define LAYOUT_PDPT 0xa000ull
#define LAYOUT_PD 0xb000ull /* 4 pages: identity map of 4 GiB, 2 MiB pages */
#define LAYOUT_PD_PAGES 4
#define LAYOUT_CMDLINE 0x20000ull
#define LAYOUT_CMDLINE_MAX 0x10000ull /* up to the EBDA-free area below 0x30000 */
#define LAYOUT_EBDA 0x9fc00ull        /* RAM ends here in the first MiB */
#define LAYOUT_ACPI 0xe0000ull        /* RSDP first, then the other tables */
#define LAYOUT_ACPI_END 0x100000ull
#define LAYOUT_HIMEM 0x100000ull       /* kernels load at or above 1 MiB */
#define LAYOUT_MMIO_HOLE 0xc0000000ull /* 32-bit MMIO: [3 GiB, 4 GiB) */
#define LAYOUT_4G 0x100000000ull
#define LAYOUT_IOAPIC 0xfec00000ull
#define LAYOUT_LAPIC 0xfee00000ull
#define LAYOUT_TSS 0xfffbd000ull /* KVM_SET_TSS_ADDR: 3 pages in the hole */

/* Port I/O the VMM answers. */
#define PORT_COM1 0x3f8
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_ACPI_SLEEP_CTL 0x600 /* FADT SLEEP_CONTROL_REG */
#define PORT_ACPI_SLEEP_STS 0x601 /* FADT SLEEP_STATUS_REG */
#define PORT_ACPI_RESET 0x602     /* FADT RESET_REG */
#define ACPI_RESET_VALUE 0x0f
#define ACPI_S5_TYPE 5 /* \_S5 package value, SLP_TYP written for poweroff */
#define COM1_GSI 4
#define KEYBOARD_GSI 1

/* ---- e820 ---- */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX 128

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Fills the map for gm; returns the entry count. */
/* Populates [map, map+len) (populate.c) with nthreads threads, each pinned
 * to one CPU of this thread's affinity, in 2 MiB-aligned shares; may_touch:
 * write each page where MADV_POPULATE_WRITE is unknown. 0 or an errno. */
int gm_populate(uint8_t *map, uint64_t len, int nthreads, bool may_touch);
/* The same in the background: every share on a thread of its own, started
 * now; gm_populate_finish joins them and frees p, returning 0 or the first
 * share's errno. NULL: out of memory (nothing started). */
struct gm_populate;
struct gm_populate *gm_populate_start(uint8_t *map, uint64_t len, int nthreads, bool may_touch);
int gm_populate_finish(struct gm_populate *p);
/* How many threads gm_populate should use for len bytes: the CPUs this
 * thread may run on, at most one per 32 MiB. */
int gm_populate_threads(uint64_t len);
int e820_build(const struct guest_mem *gm, struct e820_entry *out, int max);

/* ---- KVM (kvm.c) ---- */
struct kvm_handle {
	int sys_fd;
	int vm_fd;
	int run_size;
	bool pre_fault; /* KVM_CAP_PRE_FAULT_MEMORY */
};

/* A capability check for kvm_check_caps; ctx is opaque. Returns the value. */
typedef int (*kvm_cap_fn)(void *ctx, int cap);
/* Checks every capability the VMM relies on; names the first missing one. */
int kvm_check_caps(kvm_cap_fn check, void *ctx, int ncpus, int nslots, struct carve_err *err);
int kvm_open(struct kvm_handle *k, int ncpus, int nslots, struct carve_err *err);
void kvm_close(struct kvm_handle *k);

/* ---- memory slots (memslots.c) ---- */
struct memslot {
	uint64_t gpa, size;
	int region;      /* of guest_mem */
	uint64_t offset; /* into that region */
	bool readonly;   /* KVM_MEM_READONLY: a run of pages with a protected sub-page */
	uint32_t id;     /* KVM's slot number (memslot_plan: the index) */
};
/* Whether [gpa, gpa + len) lies inside one RAM region of the layout (no
 * mapping needed). */
bool gm_layout_contains(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* The slots for gm with each run (sorted, inside RAM) read-only: fills at
 * most max, returns how many there are. */
size_t memslot_plan(const struct guest_mem *gm, const struct subpage_run *runs, size_t nruns,
		    struct memslot *out, size_t max);
int kvm_set_memory(struct kvm_handle *k, const struct guest_mem *gm, const struct memslot *slots, size_t n,
		   struct carve_err *err);

/* ---- boot (boot_elf.c, boot_bzimage.c, zeropage.c) ---- */
#define BZ_SETUP_HDR 0x1f1
#define BZ_MIN_VERSION 0x020c

struct bzimage_info {
	uint16_t version;
	uint32_t setup_sects;
	uint64_t pm_offset; /* protected-mode kernel in the file */
	uint64_t pm_size;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	bool relocatable;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint32_t init_size;
	uint64_t hdr_len; /* bytes of setup header to copy from 0x1f1 */
};

/* Parses and checks a bzImage setup header (E75 with the reason). */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *bi, struct carve_err *err);

struct boot_plan {
	uint64_t entry; /* 64-bit entry point (guest physical) */
	uint64_t kernel_start;
	uint64_t kernel_end;  /* end of memory the kernel claims (init_size) */
	uint32_t initrd_max;  /* highest byte the initrd may occupy */
	uint32_t cmdline_max; /* longest cmdline without the NUL */
	uint8_t zero_page[4096];
};

int elf_is_elf(const uint8_t *img, size_t len);
/* Loads PT_LOAD segments, refusing anything outside RAM above 1 MiB. */
int elf_load(const struct guest_mem *gm, const uint8_t *img, size_t len, struct boot_plan *plan,
	     struct carve_err *err);
int bzimage_load(const struct guest_mem *gm, const uint8_t *img, size_t len, uint64_t avoid_lo,
		 uint64_t avoid_hi, struct boot_plan *plan, struct carve_err *err);

/* Fills the zero page (e820, cmdline, initrd, RSDP) and writes the cmdline and
 * initrd to guest memory. */
int zeropage_setup(const struct guest_mem *gm, struct boot_plan *plan, const char *cmdline,
		   const uint8_t *initrd, size_t initrd_len, uint64_t avoid_lo, uint64_t avoid_hi,
		   struct carve_err *err);

/* Boot page tables and GDT in guest memory (pagetables.c). */
int boot_structures_write(const struct guest_mem *gm);

/* ---- ACPI (acpi.c, aml.c) ---- */
#define ACPI_MAX_TABLES 6

struct acpi_table_ref {
	char name[5]; /* "RSDP", "XSDT", "FACP", "APIC", "DSDT" */
	uint64_t gpa;
	uint32_t len;
};

struct acpi_tables {
	int n;
	struct acpi_table_ref t[ACPI_MAX_TABLES];
};

/* The i-th virtio-mmio slot's place (vmm.h: VMM_MMIO_SLOTS); -1 past the
 * last. */
int mmio_slot_at(int i, struct vmm_mmio_slot *out);
/* Builds the tables in guest memory at LAYOUT_ACPI. */
int acpi_build(const struct guest_mem *gm, int ncpus, const struct vmm_mmio_slot *slots, int nslots,
	       struct acpi_tables *out, struct carve_err *err);
uint8_t acpi_checksum(const uint8_t *p, size_t len);

/* AML byte-code builder for the DSDT. */
struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};
int aml_dsdt_body(struct aml *a, const struct vmm_mmio_slot *slots, int nslots);
void aml_free(struct aml *a);

/* ---- CPUID policy (cpuid.c) ---- */
struct kvm_cpuid2;
/* PV features (leaf 0x40000001 EAX) a guest may use; everything else is hidden
 * and, with KVM_CAP_ENFORCE_PV_FEATURE_CPUID, refused by KVM. */
#define KVM_PV_ALLOWED ((1u << 0) | (1u << 1) | (1u << 3) | (1u << 24))
struct kvm_cpuid2 *cpuid_supported(int sys_fd, struct carve_err *err);
/* Applies the policy for vCPU `index` of `ncpus` to a copy of `base`. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base, int index, int ncpus,
				  enum vmm_cpu_template tmpl);

/* ---- devices on the port bus ---- */
struct vmm;
#define SERIAL_TX_BATCH 4096
struct serial {
	pthread_mutex_t lock;
	uint8_t ier, iir_fifo, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t rx[64];
	int rx_head, rx_count;
	bool thr_irq_pending; /* THRE interrupt armed since last IIR read */
	bool irq_level;
	int out_fd;
	int in_fd;
	void (*set_irq)(void *ctx, int level);
	void *irq_ctx;
	/* Transmit batching (serial_batch): bytes wait here for one write(). */
	uint8_t tx[SERIAL_TX_BATCH];
	int tx_len;
	void (*tx_kick)(void *ctx); /* NULL: each byte is written at once */
	void *kick_ctx;
};
void serial_init(struct serial *s, int out_fd, int in_fd, void (*set_irq)(void *ctx, int level), void *ctx);
void serial_destroy(struct serial *s);
uint8_t serial_read(struct serial *s, uint16_t off);
void serial_write(struct serial *s, uint16_t off, uint8_t val);
/* Queues host input; returns bytes accepted (FIFO space). */
int serial_receive(struct serial *s, const uint8_t *data, int len);
/* Batches transmitted bytes: each byte a guest sends is one port write (one
 * VM exit), and a write() per byte to the console held the console to
 * 0.06-0.09 MiB/s. With kick set, bytes collect in tx and go out in one
 * write() when it fills or when the owner calls serial_flush; kick(ctx) is
 * called when tx stops being empty, and the owner must then flush within a
 * short, bounded delay (vm.c: SERIAL_FLUSH_MS). kick NULL flushes and ends
 * batching. Order is kept and nothing is dropped. */
void serial_batch(struct serial *s, void (*kick)(void *ctx), void *ctx);
/* Sends len bytes as if the guest had written them to THR one by one (the
 * console port's records), in order with them, without the THRE interrupt. */
void serial_transmit_bulk(struct serial *s, const uint8_t *data, size_t len);
void serial_flush(struct serial *s);

/* The i8042 keyboard controller and its keyboard (i8042.c). */
struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;         /* the controller configuration byte */
	uint8_t pending_cmd; /* a controller command waiting for its operand */
	uint8_t kbd_pending; /* a keyboard command waiting for its operand */
	uint8_t out[16];     /* output buffer queue: port 0x60 shows the head */
	uint8_t head, count;
	uint8_t last; /* what port 0x60 reads when the queue is empty */
	bool last_write_cmd;
	bool scanning;         /* the keyboard sends keys (0xF4/0xF5) */
	bool guest_configured; /* the guest wrote the CTR: a driver is there */
	bool reset_requested;
	void (*pulse_irq)(void *ctx);
	void *irq_ctx;
};
void i8042_init(struct i8042 *k, void (*pulse_irq)(void *ctx), void *ctx);
void i8042_destroy(struct i8042 *k);
uint8_t i8042_read(struct i8042 *k, uint16_t port);
/* Returns true when the write asked for a system reset. */
bool i8042_write(struct i8042 *k, uint16_t port, uint8_t val);
/* Presses and releases Ctrl-Alt-Del; -1 (nothing queued) when no guest
 * driver has enabled the keyboard, so nobody would read the keys. */
int i8042_press_ctrl_alt_del(struct i8042 *k);

/* The carve log port's line assembler (guest_log.c). */
#define GUEST_LOG_LINE_MAX 200
#define GUEST_LOG_MAX_LINES 512
struct guest_log {
	pthread_mutex_t lock;
	char line[GUEST_LOG_LINE_MAX + 1];
	size_t len;
	unsigned lines;
	void (*emit)(void *ctx, const char *line); /* NULL: the port is ignored */
	void *ctx;
};
void guest_log_init(struct guest_log *g, void (*emit)(void *ctx, const char *line), void *ctx);
void guest_log_destroy(struct guest_log *g);
void guest_log_write(struct guest_log *g, const uint8_t *data, size_t len);

/* The board: each port device of every VM puts itself on the port bus
 * (board.c calls these in order). */
int serial_attach(struct vmm *vm, struct carve_err *err);
int i8042_attach(struct vmm *vm, struct carve_err *err);
int acpi_pm_attach(struct vmm *vm, struct carve_err *err);
int exit_port_attach(struct vmm *vm, struct carve_err *err);
int guest_log_attach(struct vmm *vm, struct carve_err *err);
int console_port_attach(struct vmm *vm, struct carve_err *err);
int selflock_attach(struct vmm *vm, struct carve_err *err);
int board_attach(struct vmm *vm, struct carve_err *err);

/* ---- the VM object ---- */
struct vcpu {
	struct vmm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	int pin;
	/* vcpu_thread runs (vmm_pause_others may kick it): its own handle */
	bool registered;
	pthread_t self;
};

/* Holding every other vCPU out of KVM_RUN while memory slots change
 * (subpage_remap.c): one initiator at a time; the others park. */
struct vm_pause {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool active; /* an initiator holds the others out */
	int running; /* vCPU threads in their run loop */
	int parked;  /* of them, waiting for the initiator */
};

/* The guest's lock device's registers (selflock.c). */
struct selflock {
	pthread_mutex_t lock;
	uint64_t addr, len;
	uint32_t status;
	bool sealed;
	int pcr; /* -1 */
	int (*lock_sealed)(void *ctx, const uint8_t digest[48]);
	void *lock_sealed_ctx;
	/* Remaps memory after a lock (subpage_remap.c's vmm_subpage_remap);
	 * the fuzz target and unit tests put their own here. 0 or -1. */
	int (*remap)(struct vmm *vm, int vcpu, uint64_t gfn_first, uint64_t gfn_last);
	/* Capability answers (KVM_CHECK_EXTENSION), asked on first use; 0 unknown. */
	atomic_int readonly_mem, nr_memslots;
	/* Lock lines for the event log: a guest may repeat LOCK forever. */
	struct rate_limit log;
	bool log_ready;
};

struct vmm {
	struct kvm_handle kvm;
	struct guest_mem mem;
	int ncpus;
	enum vmm_cpu_template cpu_template;
	struct vcpu vcpus[VMM_MAX_VCPUS];
	struct kvm_cpuid2 *cpuid_base;
	struct boot_plan *plan;
	struct acpi_tables acpi;
	struct serial com1;
	struct i8042 kbd;
	struct guest_log guest_log;
	/* The buses (mmio_bus.c, pio_bus.c). A slot's dev points into
	 * mmio_dev, the VMM's copy of what was registered. */
	int nmmio;
	struct vmm_mmio_slot mmio[VMM_MMIO_SLOTS];
	struct vmm_mmio_device mmio_dev[VMM_MMIO_SLOTS];
	int npio, pio_cap;
	struct vmm_pio_device *pio;
	/* Assembly steps done (vmm.h: the order). */
	bool kernel_loaded, vcpus_created;
	pthread_t input_thread;
	bool input_started;
	int input_stop_fd; /* eventfd that ends the input thread */
	bool verbose;

	atomic_bool stopping;  /* a stop reason is recorded */
	atomic_bool requested; /* vmm_request_stop was called */
	atomic_bool dump;      /* vmm_request_dump was called */
	int wake_fd;           /* eventfd: wakes vmm_run's wait */
	pthread_mutex_t stop_lock;
	struct vmm_stop_info stop;
	struct vmm_prefault_report prefault;
	/* When each start step ended (monotonic ns; --verbose prints them). */
	struct vmm_start_times {
		uint64_t begin, kvm, mapped, board, kernel, vcpus, populated, prefaulted, running;
	} start;

	/* Sub-page write protection (subpage_exit.c). */
	struct subpage_table subpages;
	atomic_bool subpage_active; /* some page is mapped read-only (a guest lock sets it later) */
	enum vmm_subpage_policy subpage_policy;
	atomic_uint_fast64_t subpage_writes, subpage_violations;
	struct rate_limit subpage_log;
	void (*event)(void *ctx, const char *line);
	void *event_ctx;
	/* The slots KVM holds now (after a guest lock they change). */
	struct memslot *slots;
	size_t nslots;
	struct vm_pause pause;
	atomic_bool pausing; /* pause.active, for vCPUs to read without the lock */
	struct selflock selflock;
	/* The next piece of a write (subpage_exit.c); NULL: KVM_RUN with
	 * immediate_exit. Unit tests script it. */
	int (*subpage_next_piece)(struct vcpu *v);
};

/* The VM object with its board and nothing of KVM (no fds, no memory):
 * what vmm_create starts from, and what the bus tests and fuzz targets
 * drive. vmm_destroy frees it. NULL with err filled on failure. */
struct vmm *vmm_alloc_board(const struct vmm_config *cfg, struct carve_err *err);

/* Records the first stop reason and kicks every vCPU out of KVM_RUN. */
void vmm_stop(struct vmm *vm, enum vmm_stop_reason r, int vcpu, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* vcpu.c */
int vcpu_create(struct vmm *vm, int index, struct carve_err *err);
int vcpu_setup_boot(struct vcpu *v, uint64_t entry, struct carve_err *err);
void vcpu_destroy(struct vcpu *v);
/* Its registers and the top of its stack, as lines on f (vcpu_dump.c); only
 * while its thread is out of KVM_RUN. */
void vcpu_dump(const struct vcpu *v, FILE *f);
/* KVM_PRE_FAULT_MEMORY over all RAM (KVM offers it: caller checked);
 * fills the report, -1 when an ioctl failed. */
int vcpu_prefault(struct vcpu *v, const struct guest_mem *gm, struct vmm_prefault_report *r);
void *vcpu_thread(void *arg);

/* Routes one MMIO access; false when no device owns the address. */
bool mmio_bus_access(struct vmm *vm, uint64_t gpa, void *data, uint32_t len, bool write);
/* Routes one port access of `len` (1, 2, 4) bytes; false when no device owns
 * the port. */
bool pio_bus_access(struct vmm *vm, int vcpu, uint16_t port, void *data, uint32_t len, bool write);
void pio_bus_free(struct vmm *vm);

/* subpage_exit.c: fills the table from cfg->protect (E03 for a range
 * outside RAM, E71 when KVM lacks KVM_CAP_READONLY_MEM is checked by the
 * caller), and returns the memory slots to give KVM (malloc'd, *n of them). */
int vmm_subpage_configure(struct vmm *vm, const struct vmm_config *cfg, struct carve_err *err);
struct memslot *vmm_memslots(struct vmm *vm, size_t *n, struct carve_err *err);
/* E71 when pages are protected and KVM lacks KVM_CAP_READONLY_MEM. */
int vmm_subpage_check_kvm(struct vmm *vm, struct carve_err *err);
/* Violations logged per minute; the rest are counted, and the next logged
 * line says how many were left out. */
#define SUBPAGE_LOG_PER_MINUTE 10
/* The most pages the host may protect: 4 GiB, a 16 MiB table. */
#define SUBPAGE_HOST_MAX_PAGES (1u << 20)
/* An MMIO exit inside guest RAM (a write to a read-only slot): applies or
 * refuses it. false when the address is not RAM (a device's). */
bool subpage_exit(struct vcpu *v);

/* The signal that kicks a vCPU thread out of KVM_RUN (with immediate_exit). */
#define VMM_KICK_SIGNAL (SIGRTMIN + 1)
/* subpage_remap.c. Holds every vCPU but `self` (-1: none is the caller)
 * out of KVM_RUN until vmm_resume_others: 0, or -1 when the VM is stopping
 * (nothing is held then). */
int vmm_pause_others(struct vmm *vm, int self);
void vmm_resume_others(struct vmm *vm);
/* The vCPU thread's side: registering, parking when kicked, leaving. */
void vcpu_pause_register(struct vcpu *v);
void vcpu_pause_park(struct vcpu *v);
void vcpu_pause_leave(struct vcpu *v);
/* Gives KVM the slots the table now implies, changing only those that
 * differ; the caller holds the other vCPUs out. 0, or -1 (the VM stops). */
int vmm_subpage_remap(struct vmm *vm, int vcpu, uint64_t gfn_first, uint64_t gfn_last);
/* Slots the table would need with pages [gfn_first, gfn_last] protected too. */
size_t vmm_slots_with(struct vmm *vm, uint64_t gfn_first, uint64_t gfn_last);

/* exits.c: one port/MMIO access from a vCPU. */
void exit_pio(struct vcpu *v);
void exit_mmio(struct vcpu *v);
/* The MMIO bus's part of exit_mmio (a device's address). */
void exit_mmio_bus(struct vcpu *v);

#endif
