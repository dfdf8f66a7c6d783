/* The VM's life: create (KVM, memory, the board), devices, kernel (boot
 * structures, ACPI), vCPUs (carve/vmm.h: the order), then run (a thread per
 * vCPU, a console input thread), stop, destroy.
 *
 * Stopping: whoever sees the reason (a vCPU thread on an exit, or the caller
 * through vmm_request_stop) records it and wakes the main thread; the main
 * thread then kicks every vCPU out of KVM_RUN (immediate_exit plus a signal)
 * and joins them. Only the main thread kicks, so no thread is signalled after
 * it was joined. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/util.h"
#include "vmm/vmm_internal.h"

#define KICK_SIGNAL VMM_KICK_SIGNAL

const char *vmm_stop_name(enum vmm_stop_reason r)
{
	switch (r) {
	case VMM_STOP_NONE: return "none";
	case VMM_STOP_POWEROFF: return "poweroff";
	case VMM_STOP_RESET_ACPI: return "acpi-reset";
	case VMM_STOP_RESET_I8042: return "i8042-reset";
	case VMM_STOP_SYSTEM_EVENT: return "system-event";
	case VMM_STOP_TRIPLE_FAULT: return "triple-fault";
	case VMM_STOP_INTERNAL_ERROR: return "internal-error";
	case VMM_STOP_FAIL_ENTRY: return "entry-failure";
	case VMM_STOP_UNHANDLED_EXIT: return "unhandled-exit";
	case VMM_STOP_HOST_ERROR: return "host-error";
	case VMM_STOP_REQUESTED: return "stopped-by-host";
	case VMM_STOP_GUEST_EXIT: return "exit";
	case VMM_STOP_WRITE_PROTECT: return "write-protect";
	}
	return "unknown";
}

bool vmm_stop_is_clean(enum vmm_stop_reason r)
{
	return r == VMM_STOP_POWEROFF || r == VMM_STOP_RESET_ACPI || r == VMM_STOP_RESET_I8042;
}

bool vmm_stop_is_crash(enum vmm_stop_reason r)
{
	return r == VMM_STOP_SYSTEM_EVENT || r == VMM_STOP_TRIPLE_FAULT || r == VMM_STOP_INTERNAL_ERROR ||
		r == VMM_STOP_FAIL_ENTRY || r == VMM_STOP_UNHANDLED_EXIT || r == VMM_STOP_WRITE_PROTECT;
}

void vmm_stop(struct vmm *vm, enum vmm_stop_reason r, int vcpu, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop.reason == VMM_STOP_NONE) {
		vm->stop.reason = r;
		vm->stop.vcpu = vcpu;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->stop.detail, sizeof(vm->stop.detail), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	atomic_store(&vm->stopping, true);
	uint64_t one = 1;
	(void)!write(vm->wake_fd, &one, sizeof(one));
}

void vmm_request_stop(struct vmm *vm)
{
	/* Async-signal-safe: an atomic flag and a write. */
	atomic_store(&vm->requested, true);
	uint64_t one = 1;
	(void)!write(vm->wake_fd, &one, sizeof(one));
}

void vmm_request_dump(struct vmm *vm)
{
	atomic_store(&vm->dump, true);
	vmm_request_stop(vm);
}

static void serial_irq(void *ctx, int level)
{
	struct vmm *vm = ctx;
	struct kvm_irq_level irq = {.irq = COM1_GSI, .level = (uint32_t)level};
	(void)ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq);
}

/* ISA IRQ 1 is edge-triggered: one pulse per byte the keyboard presents. */
static void keyboard_irq(void *ctx)
{
	struct vmm *vm = ctx;
	struct kvm_irq_level irq = {.irq = KEYBOARD_GSI, .level = 1};
	(void)ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq);
	irq.level = 0;
	(void)ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq);
}

int vmm_request_shutdown(struct vmm *vm) { return i8042_press_ctrl_alt_del(&vm->kbd); }

static int setup_irqchip(struct vmm *vm, struct carve_err *err)
{
	if (ioctl(vm->kvm.vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) < 0)
		return carve_fail(err, E72_GUEST_MEMORY, "KVM_SET_TSS_ADDR failed: %s", strerror(errno));
	if (ioctl(vm->kvm.vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return carve_fail(err, E74_DEVICE_SETUP, "KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->kvm.vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return carve_fail(err, E74_DEVICE_SETUP, "KVM_CREATE_PIT2 failed: %s", strerror(errno));
	return 0;
}

static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; }

/* The step each assembly call needs done before it, or E00 naming it. */
static int require_step(bool done, const char *call, const char *before, struct carve_err *err)
{
	return done ? 0 : carve_fail(err, E00_UNSPECIFIED, "%s called before %s", call, before);
}

int vmm_load_kernel(struct vmm *vm, const struct vmm_boot *boot, struct carve_err *err)
{
	if (vm->kernel_loaded)
		return carve_fail(err, E00_UNSPECIFIED, "vmm_load_kernel called twice");
	if (!boot->kernel || !boot->kernel_len)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD, "no kernel given");
	const struct guest_mem *gm = &vm->mem;
	uint64_t avoid_lo = 0, avoid_hi = 0;
	if (boot->blob && boot->blob->len) {
		avoid_lo = boot->blob->gpa;
		avoid_hi = boot->blob->gpa + boot->blob->len;
		if (avoid_hi < avoid_lo || avoid_lo < LAYOUT_HIMEM || avoid_hi > gm_low_end(gm) ||
		    gm_write(gm, boot->blob->gpa, boot->blob->data, boot->blob->len) < 0)
			return carve_fail(err, E34_MEMORY_OVERFLOW,
					  "the %zu-byte image does not fit in guest memory at 0x%llx; "
					  "give the enclave more memory",
					  boot->blob->len, (unsigned long long)boot->blob->gpa);
	}
	vm->plan = calloc(1, sizeof(*vm->plan));
	if (!vm->plan)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	int r;
	if (elf_is_elf(boot->kernel, boot->kernel_len))
		r = elf_load(gm, boot->kernel, boot->kernel_len, vm->plan, err);
	else
		r = bzimage_load(gm, boot->kernel, boot->kernel_len, avoid_lo, avoid_hi, vm->plan, err);
	if (r < 0)
		return -1;
	if (avoid_hi && overlaps(vm->plan->kernel_start, vm->plan->kernel_end, avoid_lo, avoid_hi))
		return carve_fail(err, E34_MEMORY_OVERFLOW,
				  "the kernel at 0x%llx-0x%llx overlaps the image at 0x%llx-0x%llx",
				  (unsigned long long)vm->plan->kernel_start,
				  (unsigned long long)vm->plan->kernel_end, (unsigned long long)avoid_lo,
				  (unsigned long long)avoid_hi);
	if (zeropage_setup(gm, vm->plan, boot->cmdline ? boot->cmdline : "", boot->initrd, boot->initrd_len,
			   avoid_lo, avoid_hi, err) < 0)
		return -1;
	/* The tables announce every device registered so far: none may come
	 * after this (mmio_bus.c refuses). */
	if (acpi_build(gm, vm->ncpus, vm->mmio, vm->nmmio, &vm->acpi, err) < 0)
		return -1;
	if (boot_structures_write(gm) < 0)
		return carve_fail(err, E34_MEMORY_OVERFLOW, "cannot write the boot page tables");
	vm->kernel_loaded = true;
	vm->start.kernel = monotonic_ns();
	return 0;
}

int vmm_create_vcpus(struct vmm *vm, struct carve_err *err)
{
	if (require_step(vm->kernel_loaded, "vmm_create_vcpus", "vmm_load_kernel", err) < 0)
		return -1;
	if (vm->vcpus_created)
		return carve_fail(err, E00_UNSPECIFIED, "vmm_create_vcpus called twice");
	vm->cpuid_base = cpuid_supported(vm->kvm.sys_fd, err);
	if (!vm->cpuid_base)
		return -1;
	for (int i = 0; i < vm->ncpus; i++)
		if (vcpu_create(vm, i, err) < 0)
			return -1;
	if (vcpu_setup_boot(&vm->vcpus[0], vm->plan->entry, err) < 0)
		return -1;
	vm->start.vcpus = monotonic_ns();
	/* Every page of guest memory populated (or the start fails here, E27):
	 * from now on a vCPU may run. */
	if (gm_map_finish(&vm->mem, err) < 0)
		return -1;
	vm->start.populated = monotonic_ns();
	if (vm->kvm.pre_fault && !vm->mem.lazy)
		(void)vcpu_prefault(&vm->vcpus[0], &vm->mem, &vm->prefault); /* best effort */
	vm->start.prefaulted = monotonic_ns();
	if (vm->verbose) {
		char line[256];
		vmm_prefault_describe(&vm->prefault, line, sizeof(line));
		fprintf(stderr, "vmm: %s\n", line);
	}
	vm->vcpus_created = true;
	return 0;
}

struct vmm *vmm_alloc_board(const struct vmm_config *cfg, struct carve_err *err)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		return NULL;
	}
	vm->ncpus = cfg->ncpus;
	vm->cpu_template = cfg->cpu_template;
	vm->verbose = cfg->verbose;
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	vm->mem.fd = -1;
	vm->input_stop_fd = -1;
	vm->wake_fd = -1;
	for (int i = 0; i < VMM_MAX_VCPUS; i++) {
		vm->vcpus[i].fd = -1;
		vm->vcpus[i].pin = cfg->pin && i < cfg->ncpus ? cfg->pin[i] : -1;
	}
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm->stop.vcpu = -1;
	subpage_init(&vm->subpages, 0);
	pthread_mutex_init(&vm->pause.lock, NULL);
	pthread_cond_init(&vm->pause.cond, NULL);
	rate_limit_init(&vm->subpage_log, SUBPAGE_LOG_PER_MINUTE, 60 * 1000);
	serial_init(&vm->com1, cfg->console_out, cfg->console_in, serial_irq, vm);
	i8042_init(&vm->kbd, keyboard_irq, vm);
	guest_log_init(&vm->guest_log, cfg->guest_log, cfg->guest_log_ctx);
	if (board_attach(vm, err) < 0) {
		vmm_destroy(vm);
		return NULL;
	}
	return vm;
}

static int create(const struct vmm_config *cfg, struct vmm **out, struct carve_err *err)
{
	*out = NULL;
	if (cfg->ncpus < 1 || cfg->ncpus > VMM_MAX_VCPUS)
		return carve_fail(err, E20_INVALID_CPU_CONFIGURATION, "a VM has 1 to %d vCPUs; %d requested",
				  VMM_MAX_VCPUS, cfg->ncpus);
	for (int i = 0; cfg->pin && i < cfg->ncpus; i++)
		if (cfg->pin[i] >= CPU_SETSIZE)
			return carve_fail(err, E23_MALFORMED_CPU_ID, "host CPU %d does not exist",
					  cfg->pin[i]);
	uint64_t begin = monotonic_ns();
	struct vmm *vm = vmm_alloc_board(cfg, err);
	if (!vm)
		return -1;
	*out = vm;
	vm->start.begin = begin;
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->input_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0 || vm->input_stop_fd < 0)
		return carve_fail(err, E74_DEVICE_SETUP, "eventfd failed: %s", strerror(errno));
	if (gm_layout(&vm->mem, cfg->mem_bytes, err) < 0 || vmm_subpage_configure(vm, cfg, err) < 0)
		return -1;
	vm->mem.lazy = cfg->lazy_memory;
	vm->mem.pool_dir = cfg->memory_pool;
	size_t nslots;
	struct memslot *slots = vmm_memslots(vm, &nslots, err);
	if (!slots)
		return -1;
	/* KVM first: a host without it fails before memory is committed. */
	int r = kvm_open(&vm->kvm, cfg->ncpus, nslots > INT_MAX ? INT_MAX : (int)nslots, err);
	if (r < 0 && vm->subpage_active && strstr(err->msg, "memory slots"))
		carve_err_context(err,
				  "sub-page protection maps each run of protected pages read-only, "
				  "in a memory slot of its own; protect fewer, longer ranges: ");
	if (r == 0)
		r = vmm_subpage_check_kvm(vm, err);
	vm->start.kvm = monotonic_ns();
	/* Population goes on in the background until vmm_create_vcpus. */
	if (r == 0)
		r = gm_map_start(&vm->mem, cfg->verbose, err);
	vm->start.mapped = monotonic_ns();
	if (r == 0)
		r = kvm_set_memory(&vm->kvm, &vm->mem, slots, nslots, err);
	vm->slots = slots; /* a guest lock changes them later (subpage_remap.c) */
	vm->nslots = nslots;
	if (r < 0 || setup_irqchip(vm, err) < 0)
		return -1;
	vm->start.board = monotonic_ns();
	return 0;
}

/* With --verbose: where the start went, in ms since vmm_create began. */
static void print_start_times(const struct vmm *vm)
{
	const struct vmm_start_times *t = &vm->start;
#define START_MS(x) ((double)((x)-t->begin) / 1e6)
	fprintf(stderr,
		"vmm: start (ms since vmm_create): KVM %.1f, memory mapped %.1f, board %.1f, kernel loaded %.1f, "
		"vCPUs %.1f, memory populated %.1f, pre-faulted %.1f, vCPUs running %.1f\n",
		START_MS(t->kvm), START_MS(t->mapped), START_MS(t->board), START_MS(t->kernel),
		START_MS(t->vcpus), START_MS(t->populated), START_MS(t->prefaulted), START_MS(t->running));
#undef START_MS
}

int vmm_create(const struct vmm_config *cfg, struct vmm **out, struct carve_err *err)
{
	struct vmm *vm;
	if (create(cfg, &vm, err) < 0) {
		vmm_destroy(vm); /* whatever was set up, in any state */
		*out = NULL;
		return -1;
	}
	*out = vm;
	return 0;
}

static void *input_thread(void *arg)
{
	struct vmm *vm = arg;
	uint8_t buf[64];
	int have = 0;
	while (!atomic_load(&vm->stopping)) {
		struct pollfd p[2] = {{.fd = vm->input_stop_fd, .events = POLLIN},
				      {.fd = vm->com1.in_fd, .events = have ? 0 : POLLIN}};
		/* With bytes waiting for FIFO space, poll briefly and retry. */
		if (poll(p, 2, have ? 10 : -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!have && (p[1].revents & (POLLIN | POLLHUP))) {
			ssize_t n = read(vm->com1.in_fd, buf, sizeof(buf));
			if (n <= 0)
				break; /* end of input: the guest just sees no more bytes */
			have = (int)n;
		}
		if (have) {
			int took = serial_receive(&vm->com1, buf, have);
			memmove(buf, buf + took, (size_t)(have - took));
			have -= took;
		}
	}
	return NULL;
}

static void kick_handler(int sig) { (void)sig; }

/* How long console bytes may wait for their write() (serial_batch): short
 * enough to look immediate to a person at the console, long enough for a
 * guest writing at full speed to fill a batch. */
#define SERIAL_FLUSH_MS 2

/* The serial device's transmit buffer stopped being empty: wake the wait in
 * vmm_run, which flushes it SERIAL_FLUSH_MS later. */
static void console_kick(void *ctx)
{
	struct vmm *vm = ctx;
	uint64_t one = 1;
	(void)!write(vm->wake_fd, &one, sizeof(one));
}

int vmm_run(struct vmm *vm, struct vmm_stop_info *stop, struct carve_err *err)
{
	if (require_step(vm->vcpus_created, "vmm_run", "vmm_create_vcpus", err) < 0)
		return -1;
	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the signal must make KVM_RUN return EINTR. */
	if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
		return carve_fail(err, E54_SIGNAL_MASKING, "sigaction failed: %s", strerror(errno));
	int started = 0;
	struct rusage before, after;
	getrusage(RUSAGE_SELF, &before);
	serial_batch(&vm->com1, console_kick, vm);
	for (int i = 0; i < vm->ncpus; i++) {
		if (thread_create_sized(&vm->vcpus[i].thread, THREAD_STACK_VCPU, vcpu_thread,
					&vm->vcpus[i]) != 0) {
			vmm_stop(vm, VMM_STOP_HOST_ERROR, -1, "cannot start the thread of vCPU %d", i);
			break;
		}
		vm->vcpus[i].started = true;
		started++;
	}
	if (vm->com1.in_fd >= 0 &&
	    thread_create_sized(&vm->input_thread, THREAD_STACK_SMALL, input_thread, vm) == 0)
		vm->input_started = true;
	vm->start.running = monotonic_ns();
	if (vm->verbose)
		print_start_times(vm);

	/* Wait for a stop reason or a request, flushing the console's batch
	 * SERIAL_FLUSH_MS after a wake (console_kick's, or any other). */
	bool flush_due = false;
	while (!atomic_load(&vm->stopping) && !atomic_load(&vm->requested)) {
		struct pollfd p = {.fd = vm->wake_fd, .events = POLLIN};
		int r = poll(&p, 1, flush_due ? SERIAL_FLUSH_MS : -1);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0) {
			serial_flush(&vm->com1);
			flush_due = false;
			continue;
		}
		uint64_t v;
		(void)!read(vm->wake_fd, &v, sizeof(v));
		flush_due = true;
	}
	if (!atomic_load(&vm->stopping))
		vmm_stop(vm, VMM_STOP_REQUESTED, -1, "stopped by the host");

	for (int i = 0; i < vm->ncpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		vm->vcpus[i].run->immediate_exit = 1;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		pthread_kill(vm->vcpus[i].thread, KICK_SIGNAL);
	}
	for (int i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].started = false;
	}
	if (atomic_load(&vm->dump))
		for (int i = 0; i < vm->ncpus; i++)
			vcpu_dump(&vm->vcpus[i], stderr);
	serial_batch(&vm->com1, NULL, NULL); /* the last bytes, before the caller says why it stopped */
	if (vm->input_started) {
		uint64_t one = 1;
		(void)!write(vm->input_stop_fd, &one, sizeof(one));
		pthread_join(vm->input_thread, NULL);
		vm->input_started = false;
	}
	(void)started;
	getrusage(RUSAGE_SELF, &after);
	pthread_mutex_lock(&vm->stop_lock);
	*stop = vm->stop;
	pthread_mutex_unlock(&vm->stop_lock);
	stop->host_faults = (after.ru_minflt - before.ru_minflt) + (after.ru_majflt - before.ru_majflt);
	stop->subpage_writes = atomic_load(&vm->subpage_writes);
	stop->subpage_violations = atomic_load(&vm->subpage_violations);
	stop->guest_locked_pages = subpage_locked_each(&vm->subpages, NULL, NULL);
	return 0;
}

int vmm_dump_acpi(const struct vmm *vm, const char *dir, struct carve_err *err)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return carve_fail(err, E19_FILE_OPERATION, "cannot create %s: %s", dir, strerror(errno));
	for (int i = 0; i < vm->acpi.n; i++) {
		const struct acpi_table_ref *t = &vm->acpi.t[i];
		const void *p = gm_ptr(&vm->mem, t->gpa, t->len);
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.dat", dir, t->name);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (!p || fd < 0 || write_full(fd, p, t->len) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return carve_fail(err, E19_FILE_OPERATION, "cannot write %s: %s", path, strerror(e));
		}
		close(fd);
	}
	return 0;
}

const struct guest_mem *vmm_memory(const struct vmm *vm) { return &vm->mem; }

void vmm_destroy(struct vmm *vm)
{
	if (!vm)
		return;
	for (int i = 0; i < VMM_MAX_VCPUS; i++)
		if (vm->vcpus[i].vm)
			vcpu_destroy(&vm->vcpus[i]);
	free(vm->cpuid_base);
	free(vm->plan);
	kvm_close(&vm->kvm);
	gm_unmap(&vm->mem);
	serial_destroy(&vm->com1);
	i8042_destroy(&vm->kbd);
	guest_log_destroy(&vm->guest_log);
	pio_bus_free(vm);
	pthread_mutex_destroy(&vm->stop_lock);
	subpage_destroy(&vm->subpages);
	free(vm->slots);
	pthread_cond_destroy(&vm->pause.cond);
	pthread_mutex_destroy(&vm->pause.lock);
	rate_limit_destroy(&vm->subpage_log);
	if (vm->selflock.log_ready)
		rate_limit_destroy(&vm->selflock.log);
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	if (vm->input_stop_fd >= 0)
		close(vm->input_stop_fd);
	free(vm);
}
