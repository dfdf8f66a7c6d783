/* Boot: from the VMM's 64-bit entry to the program at CPL3.
 *
 * Like Nitro's init (aws-nitro-enclaves-sdk-bootstrap's init.c): argv from /cmd and envp from
 * /env, one entry per line; without them argv is ["sh"] and envp holds only
 * PATH; a bare argv[0] is searched along init's default PATH, not the
 * program's. With a vsock device, the heartbeat (aws-nitro-enclaves-cli's heartbeat) runs before the
 * program (virtio.c). */
#include "cpu.h"
#include "proc.h"
#include "ramdisk.h"
#include "selflock.h"
#include "virtio.h"

#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_CMD_LINE_PTR 0x228
#define DEFAULT_PATH "/sbin:/usr/sbin:/bin:/usr/bin"
#define MAX_ARGS 4096

void kmain(uint64_t zp_phys);

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t boot_tsc;

/* A new image: no user GS base; the lock goes (kernel_exit's part) before
 * the IRETQ. */
_Noreturn void enter_user(uint64_t rip, uint64_t rsp)
{
	current->gs_base = 0;
	wrmsr(0xc0000102, 0); /* MSR_KERNEL_GS_BASE: the program's after SWAPGS */
	if (cpus_online > 1 && bkl_held())
		bkl_unlock();
	enter_user_on(rip, rsp, current->kstack_top);
}

_Noreturn void proc_exit(int status)
{
	sched_stop();
	devices_exit(); /* virtio.c: deliver what the program sent over vsock */
	kprintf("carve: exit status %d\n", status);
	machine_exit(status);
}

/* x87/SSE for the program: the kernel itself never touches them (built
 * general-regs-only), so with one process there is no state to save. XSAVE
 * is left off (CR4.OSXSAVE clear), so libc's AVX paths stay unused: the
 * kernel could not switch that state on PVM hosts anyway. */
/* The APs' too (smp.c). */
void fpu_init(void)
{
	uint64_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~(1ull << 2 | 1ull << 3)) | 1ull << 1 | 1ull << 5; /* -EM -TS +MP +NE */
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= 1ull << 9 | 1ull << 10; /* OSFXSR, OSXMMEXCPT */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	__asm__ volatile("fninit");
}

/* Splits '\n'-terminated lines into a NULL-terminated array (kmalloc). */
static int split_lines(const char *data, uint64_t len, char ***out)
{
	int n = 0;
	for (uint64_t i = 0; i < len; i++)
		if (data[i] == '\n' || i + 1 == len)
			n++;
	if (n > MAX_ARGS)
		panic("more than %d lines in cmd or env", MAX_ARGS);
	char **v = kmalloc((size_t)(n + 1) * sizeof(char *));
	char *buf = kmalloc(len + 1);
	if (!v || !buf)
		panic("out of memory reading cmd/env");
	memcpy(buf, data, len);
	buf[len] = 0;
	int k = 0;
	char *s = buf;
	for (uint64_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			buf[i] = 0;
			v[k++] = s;
			s = buf + i + 1;
		}
	}
	if (*s)
		v[k++] = s;
	v[k] = NULL;
	*out = v;
	return k;
}

/* execvp's search: a name with a '/' is used as is. */
static const char *find_program(const char *name, char *buf, size_t cap)
{
	if (strchr(name, '/'))
		return name;
	const char *p = DEFAULT_PATH;
	while (*p) {
		const char *e = p;
		while (*e && *e != ':')
			e++;
		size_t dl = (size_t)(e - p), nl = strlen(name);
		if (dl + 1 + nl < cap) {
			memcpy(buf, p, dl);
			buf[dl] = '/';
			memcpy(buf + dl + 1, name, nl + 1);
			struct vnode *v;
			if (vfs_lookup(vfs_root(), buf, LOOKUP_FOLLOW, &v) == 0 && vn_is_reg(v))
				return buf;
		}
		p = *e ? e + 1 : e;
	}
	return name;
}

void kmain(uint64_t zp_phys)
{
	boot_tsc = rdtsc();
	console_init();
	const uint8_t *zp = phys_to_virt(zp_phys);
	uint64_t cmd_pa = rd32(zp + ZP_CMD_LINE_PTR) | (uint64_t)rd32(zp + ZP_EXT_CMD_LINE_PTR) << 32;
	const char *cmdline = cmd_pa && cmd_pa < DIRECT_MAP_SIZE ? phys_to_virt(cmd_pa) : "";
	cmdline_parse(cmdline);
	smp_init_bsp(); /* per-CPU data: from here on current works */
	gdt_init();
	idt_init();

	uint64_t rd_pa = rd32(zp + ZP_RAMDISK_IMAGE) | (uint64_t)rd32(zp + ZP_EXT_RAMDISK_IMAGE) << 32;
	uint64_t rd_len = rd32(zp + ZP_RAMDISK_SIZE) | (uint64_t)rd32(zp + ZP_EXT_RAMDISK_SIZE) << 32;
	if (rd_len && (rd_pa < 0x100000 || rd_pa > DIRECT_MAP_SIZE || rd_len > DIRECT_MAP_SIZE - rd_pa))
		panic("the initrd (0x%lx, %lu bytes) is outside the memory the kernel maps", rd_pa, rd_len);
	mm_init(zp, rd_pa, rd_pa + rd_len);
	paging_init();
	fpu_init();
	init_process = process_alloc(NULL);
	if (!init_process)
		panic("out of memory for the first process");
	task_init_boot(init_process); /* from here on there is a current task */
	time_init();
	syscall_init();
	helper_init();
	vdso_init();
	init_process->as = aspace_new();
	if (!init_process->as)
		panic("out of memory for the first address space");
	paging_switch(init_process->as->pml4);
	kdebug("carve enclave kernel: %lu MiB RAM, initrd %lu bytes, cmdline \"%s\"\n",
	       mm_total_bytes() >> 20, rd_len, cmdline);

	vfs_init();
	struct ramdisk rd = {0};
	if (!rd_len)
		panic("no initrd: nothing to run");
	uint64_t t0 = time_ns();
	if (ramdisk_load(phys_to_virt(rd_pa), rd_len, &rd) < 0)
		panic("the initrd is not a valid set of newc cpio archives");
	kdebug("initrd: %d archives, %d files under rootfs/, read and indexed in %lu us\n", rd.archives,
	       rd.files, (time_ns() - t0) / 1000);
	curproc->cwd = vfs_root();
	curproc->umask = 022;
	fds_init_console();
	procfs_init();

	devices_init(); /* virtio.c: /dev/nsm, vsock, the heartbeat */
	kbd_init();     /* terminate's request: SIGTERM */
	/* Every gate is set: text, rodata, IDT, GDT read-only for good. Before
	 * the APs start, so they load the locked IDT (idt_load); their GDTs and
	 * TSSs are their own, outside the locked range (gdt.c). */
	selflock_boot(cmdline);
	smp_start_aps();

	char **argv, **envp;
	static char *default_argv[] = {"sh", NULL}, *default_envp[] = {"PATH=" DEFAULT_PATH, NULL};
	int argc = rd.cmd ? split_lines(rd.cmd, rd.cmd_len, &argv) : 0;
	int envc = rd.env ? split_lines(rd.env, rd.env_len, &envp) : 0;
	if (!rd.cmd || argc == 0) {
		kprintf("carve: no /cmd in the ramdisk; running sh\n");
		argv = default_argv;
		argc = 1;
	}
	if (!rd.env) {
		kprintf("carve: Could not open /env file\n");
		envp = default_envp;
		envc = 1;
	}
	static char pathbuf[4096];
	const char *path = find_program(argv[0], pathbuf, sizeof(pathbuf));
	uint64_t entry, sp;
	int r = exec_load(path, argv, argc, envp, envc, &entry, &sp);
	if (r < 0)
		proc_exit(r == -2 ? 127 : 126); /* a shell's "not found" / "cannot execute" */
	kdebug("starting %s at %lx after %lu us of boot\n", curproc->exe, entry,
	       (rdtsc() - boot_tsc) * 1000000 / (tsc_hz() ? tsc_hz() : 1));
	enter_user(entry, sp);
}
