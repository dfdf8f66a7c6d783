/* carve vmm: boot a kernel (or an EIF) in a bare VM with the serial console on
 * stdout. A development and test command: enclaves use the same VMM through
 * run-enclave. Exit 0 when the guest resets or powers off. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carve/eif.h"
#include "carve/enclave.h"
#include "carve/launch.h"
#include "carve/log.h"
#include "carve/machine.h"
#include "carve/mempool.h"
#include "carve/util.h"
#include "carve/vmm.h"
#include "cli/cli.h"

#define KERNEL_MAX (256u << 20)
#define INITRD_MAX (1024u << 20)
/* "--pin-cpus 2,3": exactly one host CPU per vCPU. */
static int parse_pins(const char *text, int *pin, int ncpus, struct carve_err *err)
{
	int n = 0;
	const char *p = text;
	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v < 0 || v >= CPU_SETSIZE || (*end && *end != ','))
			return carve_fail(err, E23_MALFORMED_CPU_ID,
					  "'--pin-cpus %s': give host CPU numbers separated by commas", text);
		if (n == ncpus)
			return carve_fail(err, E20_INVALID_CPU_CONFIGURATION,
					  "'--pin-cpus %s' names more CPUs than the %d vCPUs", text, ncpus);
		pin[n++] = (int)v;
		p = *end ? end + 1 : end;
	}
	if (n != ncpus)
		return carve_fail(err, E20_INVALID_CPU_CONFIGURATION,
				  "'--pin-cpus %s' names %d CPUs for %d vCPUs", text, n, ncpus);
	return 0;
}

struct sig_waiter {
	struct vmm *vm;
	sigset_t set;
	volatile int done;
};

/* SIGINT/SIGTERM stop the guest cleanly (the VM reports "stopped by host");
 * SIGQUIT stops it too, and first says where each vCPU was (vmm_request_dump):
 * what a hung guest is asked, as a hung Go or Java program is. */
static void *sig_thread(void *arg)
{
	struct sig_waiter *w = arg;
	int sig;
	while (sigwait(&w->set, &sig) == 0) {
		if (w->done)
			break;
		if (sig == SIGQUIT)
			vmm_request_dump(w->vm);
		else
			vmm_request_stop(w->vm);
	}
	return NULL;
}

/* Builds and runs the VM. The kernel, initrd and image buffers are copied
 * into guest memory by machine_build; release() frees them right after, so
 * the VMM does not keep a second copy resident while the guest runs. */
static int run_vm(const struct machine_config *cfg, const char *dump_dir, void (*release)(void *),
		  void *release_ctx, struct carve_err *err)
{
	struct machine *m;
	int built = machine_build(cfg, &m, err);
	release(release_ctx);
	if (built < 0) /* machine_build released what it had made */
		return -1;
	struct vmm *vm = machine_vm(m);
	if (dump_dir && vmm_dump_acpi(vm, dump_dir, err) < 0) {
		machine_destroy(m);
		return -1;
	}
	/* A console reader that goes away must not kill the VM (serial.c then
	 * drops output): EPIPE instead of SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	struct sig_waiter w = {.vm = vm};
	sigemptyset(&w.set);
	sigaddset(&w.set, SIGINT);
	sigaddset(&w.set, SIGTERM);
	sigaddset(&w.set, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &w.set, NULL);
	pthread_t th;
	bool have_th = thread_create_sized(&th, THREAD_STACK_SMALL, sig_thread, &w) == 0;

	struct vmm_stop_info stop;
	int rc = vmm_run(vm, &stop, err);
	if (have_th) {
		w.done = 1;
		/* Wakes its sigwait; it sees done and returns. */
		pthread_kill(th, SIGTERM); /* NOLINT(bugprone-bad-signal-to-kill-thread) */
		pthread_join(th, NULL);
	}
	machine_destroy(m); /* device threads stop before guest memory goes */
	if (rc < 0)
		return -1;
	if (cfg->vm.verbose) {
		fprintf(stderr, "vmm: stopped: %s: %s\n", vmm_stop_name(stop.reason), stop.detail);
		fprintf(stderr, "vmm: host page faults while the guest ran: %ld\n", stop.host_faults);
	}
	if (cfg->vm.nprotect || stop.guest_locked_pages)
		event_log(cfg->vm.event_ctx, "sub-page protection: %llu write(s) applied, %llu violation(s)",
			  (unsigned long long)stop.subpage_writes,
			  (unsigned long long)stop.subpage_violations);
	if (vmm_stop_is_clean(stop.reason))
		return 0;
	/* The carve kernel's exit port: the program's status is ours. */
	if (stop.reason == VMM_STOP_GUEST_EXIT) {
		fprintf(stderr, "vmm: the program exited with status %d\n", stop.exit_status);
		return stop.exit_status & 0xff;
	}
	/* Not E36: carve vmm waits for no heartbeat, so "did not boot" would be
	 * a guess. A stop by signal or a host failure is neither a crash nor a
	 * code of its own: E00 with the reason. */
	return carve_fail(err, vmm_stop_is_crash(stop.reason) ? E76_GUEST_CRASH : E00_UNSPECIFIED,
			  "the VM stopped (%s): %s", vmm_stop_name(stop.reason), stop.detail);
}

struct heartbeat_report {
	uint64_t start_ns;
};

/* The device thread calls this when the guest's heartbeat arrived. */
static void report_heartbeat(void *ctx)
{
	const struct heartbeat_report *h = ctx;
	fprintf(stderr, "vmm: heartbeat ok, %.1f ms after start\n",
		(double)(monotonic_ns() - h->start_ns) / 1e6);
}

/* With --verbose: faults the guest caused in a device. */
static void print_fault(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "vmm: device fault: %s\n", line);
}

/* With --verbose: how devices serve (the vsock kernel datapath). */
static void print_note(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "vmm: %s\n", line);
}

/* The VM's events (write-protect violations) to the event log. */
static void log_vm_event(void *ctx, const char *line) { event_log(ctx, "%s", line); }

/* "--protect GPA:LEN[:ro|:rw]" each, in order. */
static int parse_protects(const struct cli_list *l, struct vmm_protect **out, struct carve_err *err)
{
	*out = NULL;
	if (!l->count)
		return 0;
	*out = calloc((size_t)l->count, sizeof(**out));
	if (!*out)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	for (int i = 0; i < l->count; i++)
		if (vmm_parse_protect(l->items[i], &(*out)[i], err) < 0)
			return -1;
	return 0;
}

struct boot_buffers {
	struct eif_boot *eb; /* --eif-path */
	uint8_t *kernel, *initrd;
};

static void release_buffers(void *ctx)
{
	struct boot_buffers *b = ctx;
	if (b->eb) {
		eif_boot_free(b->eb);
	} else {
		free(b->kernel);
		free(b->initrd);
	}
	b->kernel = b->initrd = NULL;
}

/* CARVE_VMM_LAZY_MEMORY=1: guest memory on first touch, the baseline
 * bench/fault_parallel.sh compares carve's pre-built memory with. Not an
 * option: nothing but that comparison should want it (docs/vmm.md § Memory). */
static bool lazy_memory_requested(void)
{
	const char *v = getenv("CARVE_VMM_LAZY_MEMORY");
	if (!v || strcmp(v, "1") != 0)
		return false;
	fprintf(stderr,
		"vmm: CARVE_VMM_LAZY_MEMORY=1: guest memory is not built before the guest runs; "
		"its vCPUs take host page faults\n");
	return true;
}

/* The command line, parsed. */
struct vmm_opts {
	const char *kernel, *initrd, *cmdline, *eif, *memory, *cpus, *dump, *slots, *tmpl;
	const char *pin_list, *cid_text, *af_vsock_text, *memory_pool;
	bool verbose;
	const struct vmm_protect *protect;
	int nprotect;
	enum vmm_subpage_policy policy;
	struct event_log *log;
};

static int run_cmd(const struct vmm_opts *o, struct carve_err *err)
{
	const char *kernel = o->kernel, *initrd = o->initrd, *cmdline = o->cmdline, *eif = o->eif;
	const char *memory = o->memory, *cpus = o->cpus, *dump = o->dump, *slots = o->slots, *tmpl = o->tmpl;
	const char *pin_list = o->pin_list, *cid_text = o->cid_text, *af_vsock_text = o->af_vsock_text;
	bool verbose = o->verbose;
	struct heartbeat_report hb = {.start_ns = monotonic_ns()};
	unsigned long mem_mib, ncpus, nslots = 0;
	if (o->memory_pool && mempool_check(o->memory_pool, NULL, err) < 0)
		return -1;
	if (cli_parse_uint("memory", memory, 1ul << 26, &mem_mib, err) < 0 ||
	    cli_parse_uint("cpus", cpus, VMM_MAX_VCPUS, &ncpus, err) < 0 ||
	    (slots && cli_parse_uint("virtio-slots", slots, 1000, &nslots, err) < 0))
		return -1;
	uint64_t cid = 16;
	if (cid_text && (enclave_parse_cid(cid_text, &cid, err) < 0 || cid == 0)) {
		if (cid == 0)
			carve_fail(err, E03_INVALID_ARGUMENT, "--enclave-cid must be 4 or more");
		return -1;
	}
	/* Off unless asked: test VMs share the default CID. */
	enum machine_af_vsock af_vsock = MACHINE_AF_VSOCK_OFF;
	if (af_vsock_text && cli_parse_af_vsock(af_vsock_text, &af_vsock, err) < 0)
		return -1;
	int pin[VMM_MAX_VCPUS];
	if (pin_list && parse_pins(pin_list, pin, (int)ncpus, err) < 0)
		return -1;
	enum vmm_cpu_template cpu_template = VMM_CPU_HOST;
	if (tmpl && !strcmp(tmpl, "baseline"))
		cpu_template = VMM_CPU_BASELINE;
	else if (tmpl && strcmp(tmpl, "host") != 0)
		return carve_fail(err, E03_INVALID_ARGUMENT, "'--cpu-template %s': use 'host' or 'baseline'",
				  tmpl);

	uint8_t *kbuf = NULL, *ibuf = NULL;
	size_t klen = 0, ilen = 0;
	struct eif_boot eb = {0};
	struct vmm_blob blob = {0};
	if (eif) {
		if (eif_boot_load(eif, (uint64_t)mem_mib * VMM_MIB, &eb, err) < 0 ||
		    eif_boot_append_cmdline(&eb, cmdline, err) < 0) {
			eif_boot_free(&eb);
			return -1;
		}
		kbuf = eb.kernel, klen = eb.kernel_len;
		ibuf = eb.initrd, ilen = eb.initrd_len;
		blob = (struct vmm_blob){.gpa = EIF_BOOT_GPA, .data = eb.image, .len = eb.image_len};
	} else {
		if (file_read_all(kernel, KERNEL_MAX, &kbuf, &klen, E07_READ_FROM_DISK, err) < 0)
			return -1;
		if (initrd && file_read_all(initrd, INITRD_MAX, &ibuf, &ilen, E07_READ_FROM_DISK, err) < 0) {
			free(kbuf);
			return -1;
		}
	}
	/* An EIF boots as an enclave would: with vsock and the NSM. */
	char module_id[64], pcr0_hex[2 * PCR_LEN + 1], vsock_dir[4096];
	struct machine_devices_config devices = {0};
	if (eif) {
		hex_encode(eb.m.pcr0, PCR_LEN, pcr0_hex);
		snprintf(module_id, sizeof(module_id), "i-carve-vmm-enc%.16s", pcr0_hex);
		enclave_vsock_dir(vsock_dir, sizeof(vsock_dir));
		devices = (struct machine_devices_config){
			.module_id = module_id,
			.m = &eb.m,
			.cid = cid,
			.vsock_dir = vsock_dir,
			.heartbeat_fd = -1,
			.on_heartbeat = report_heartbeat,
			.heartbeat_ctx = &hb,
			.af_vsock = af_vsock,
		};
		cmdline = eb.cmdline;
	}
	struct machine_config cfg = {
		.vm =
			{
				.mem_bytes = (uint64_t)mem_mib * VMM_MIB,
				.ncpus = (int)ncpus,
				.pin = pin_list ? pin : NULL,
				.console_out = STDOUT_FILENO,
				.console_in = STDIN_FILENO,
				.cpu_template = cpu_template,
				.verbose = verbose,
				.lazy_memory = lazy_memory_requested(),
				.memory_pool = o->memory_pool,
				.protect = o->protect,
				.nprotect = o->nprotect,
				.subpage_policy = o->policy,
				.event = log_vm_event,
				.event_ctx = o->log,
			},
		.boot =
			{
				.kernel = kbuf,
				.kernel_len = klen,
				.initrd = ibuf,
				.initrd_len = ilen,
				.cmdline = cmdline,
				.blob = eif ? &blob : NULL,
			},
		.devices = eif ? &devices : NULL,
		.announce_slots = (int)nslots,
		.device_fault = verbose ? print_fault : NULL,
		.device_note = verbose ? print_note : NULL,
	};
	struct boot_buffers bufs = {.eb = eif ? &eb : NULL, .kernel = kbuf, .initrd = ibuf};
	return run_vm(&cfg, dump, release_buffers, &bufs, err);
}

int cmd_vmm(int argc, char **argv, struct carve_err *err)
{
	const char *kernel = NULL, *initrd = NULL, *cmdline = NULL, *eif = NULL;
	const char *memory = NULL, *cpus = NULL, *dump = NULL, *slots = NULL, *tmpl = NULL;
	const char *pin_list = NULL, *cid_text = NULL, *af_vsock_text = NULL;
	const char *policy_text = NULL, *event_log_path = NULL, *memory_pool = NULL;
	struct cli_list protect_list = {0};
	bool verbose = false;
	const struct cli_arg args[] = {
		{"kernel", ARG_STRING, false, &kernel, "kernel to boot: an ELF64 file or a bzImage",
		 .conflicts = "eif-path", .unless = "eif-path"},
		{"initrd", ARG_STRING, false, &initrd, "initial ramdisk (the EIF has its own)",
		 .conflicts = "eif-path"},
		{"cmdline", ARG_STRING, false, &cmdline, "kernel command line"},
		{"eif-path", ARG_STRING, false, &eif, "boot an Enclave Image File instead of --kernel",
		 .unless = "kernel"},
		{"memory", ARG_STRING, true, &memory, "guest memory in MiB (at least 64, even)"},
		{"cpus", ARG_STRING, true, &cpus, "number of vCPUs"},
		{"pin-cpus", ARG_STRING, false, &pin_list,
		 "host CPUs for the vCPUs, comma-separated, one per vCPU"},
		{"dump-acpi", ARG_STRING, false, &dump, "write the ACPI tables to DIR/<SIG>.dat"},
		{"virtio-slots", ARG_STRING, false, &slots,
		 "virtio-mmio slots to announce in ACPI (default 0)"},
		{"cpu-template", ARG_STRING, false, &tmpl,
		 "host (default) or baseline: hide AVX/BMI/XSAVE/CMPXCHG16B (hosts whose KVM emulates guest kernels)"},
		{"enclave-cid", ARG_STRING, false, &cid_text,
		 "with --eif-path: the guest's vsock CID (default 16)"},
		{"af-vsock", ARG_STRING, false, &af_vsock_text,
		 "with --eif-path: auto|on|off|kernel, the CID also on the host's AF_VSOCK (vhost-vsock; default off)"},
		{"protect", ARG_STRING_LIST, false, &protect_list,
		 "GPA:LEN[:ro|:rw]: make RAM read-only (ro) or writable again (rw) in 128-byte sub-pages; repeat, applied in order"},
		{"subpage-policy", ARG_STRING, false, &policy_text,
		 "refuse (default: drop the write, log it, run on) or stop (stop the VM) on a write to a protected sub-page "
		 "(--protect's, or one the guest locked)"},
		{"event-log", ARG_STRING, false, &event_log_path,
		 "append the VM's events (write-protect violations) to FILE"},
		{"memory-pool", ARG_STRING, false, &memory_pool,
		 "DIR (hugetlbfs or tmpfs): guest memory from a zeroed slab of this pool when one of the size is "
		 "free, else a new slab there; zeroed and given back at exit (carve memory-pool)"},
		{"verbose", ARG_FLAG, false, &verbose, "log VMM events on stderr"},
		{0},
	};
	int parsed = cli_parse("vmm", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	struct vmm_protect *protect = NULL;
	enum vmm_subpage_policy policy = VMM_SUBPAGE_REFUSE;
	struct event_log elog;
	event_log_open(&elog, event_log_path, "carve-vmm");
	elog.to_stderr = elog.to_stderr || verbose;
	int rc = parse_protects(&protect_list, &protect, err);
	if (rc == 0 && policy_text)
		rc = vmm_parse_subpage_policy(policy_text, &policy, err);
	if (rc == 0)
		rc = run_cmd(&(struct vmm_opts){.kernel = kernel,
						.initrd = initrd,
						.cmdline = cmdline,
						.eif = eif,
						.memory = memory,
						.cpus = cpus,
						.dump = dump,
						.slots = slots,
						.tmpl = tmpl,
						.pin_list = pin_list,
						.cid_text = cid_text,
						.af_vsock_text = af_vsock_text,
						.memory_pool = memory_pool,
						.verbose = verbose,
						.protect = protect,
						.nprotect = protect_list.count,
						.policy = policy,
						.log = &elog},
			     err);
	free(protect);
	cli_list_free(&protect_list);
	event_log_close(&elog);
	return rc;
}
