/* The /proc and /sys files runtimes read to size themselves: glibc's
 * get_nprocs (/sys/devices/system/cpu/online), sysconf's memory figures
 * (/proc/meminfo), allocators and garbage collectors looking at their own
 * mappings (/proc/self/maps, /proc/self/status), CPU probing (/proc/cpuinfo).
 *
 * Each is a read-only node in the tree (created at boot, size 0 as on Linux)
 * that the VFS hands to procfs_open when it is opened: the open gets a fresh
 * unlinked regular file holding the text generated then from the kernel's
 * state, so reads, seeks and fstat work as on any file, two opens see two
 * snapshots, and the snapshot goes with the last reference (vn_unref). The
 * per-process files read the one process's state through vm_first/vm_next/proc. */
#include "errno.h"
#include "proc.h"

/* ---- the VM's CPUs ---- */

/* The VMM describes the VM as one package in CPUID's extended topology
 * (leaf 0xb: the core level counts every vCPU; src/vmm/cpuid.c); without
 * leaf 0xb, CPUID.1:EBX[23:16] (logical processors in the package). */
int vm_cpu_count(void)
{
	uint32_t r[4];
	int n = 0;
	cpuid(0, 0, r);
	if (r[0] >= 0xb) {
		for (uint32_t sub = 0; sub < 8; sub++) {
			cpuid(0xb, sub, r);
			uint32_t type = (r[2] >> 8) & 0xff;
			if (!type)
				break;
			n = (int)(r[1] & 0xffff); /* the widest level seen so far */
		}
	}
	if (n <= 0) {
		cpuid(1, 0, r);
		n = (r[3] & (1u << 28)) ? (int)((r[1] >> 16) & 0xff) : 1;
	}
	return n < 1 ? 1 : MIN(n, MAX_CPUS);
}

/* ---- the text being generated ---- */

struct pbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void pb_grow(struct pbuf *b, size_t want)
{
	if (b->oom || want <= b->cap)
		return;
	size_t cap = MAX(want, b->cap ? b->cap * 2 : 1024);
	char *p = kmalloc(cap);
	if (!p) {
		b->oom = true;
		return;
	}
	if (b->len)
		memcpy(p, b->p, b->len);
	kfree(b->p);
	b->p = p;
	b->cap = cap;
}

static void pb_printf(struct pbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t len = MIN((size_t)n, sizeof(line) - 1);
	pb_grow(b, b->len + len);
	if (b->oom)
		return;
	memcpy(b->p + b->len, line, len);
	b->len += len;
}

/* Pads the current line with blanks to column col (Linux's seq_pad). */
static void pb_pad(struct pbuf *b, size_t col)
{
	size_t start = b->len;
	while (start && b->p[start - 1] != '\n')
		start--;
	while (!b->oom && b->len - start < col)
		pb_printf(b, " ");
}

/* "0-3,5" (or "0"): the CPU list format of Linux's sysfs and status files. */
static void pb_cpu_mask_list(struct pbuf *b, uint64_t mask)
{
	bool first = true;
	for (int i = 0; i < 64; i++) {
		if (!(mask & (1ull << i)))
			continue;
		int j = i;
		while (j + 1 < 64 && (mask & (1ull << (j + 1))))
			j++;
		pb_printf(b, j > i ? "%s%d-%d" : "%s%d", first ? "" : ",", i, j);
		first = false;
		i = j;
	}
	pb_printf(b, "\n");
}

/* The CPUs the kernel runs tasks on (all the VM's, or one with
 * carve.nosmp, as Linux's nosmp shows only the boot CPU). */
static void pb_cpu_list(struct pbuf *b) { pb_cpu_mask_list(b, cpus_online_mask()); }

/* ---- the files ---- */

static void gen_cpu_list(struct pbuf *b) { pb_cpu_list(b); }

/* The vDSO and its clock page (vdso.c), which are no VMA of the program's,
 * named as Linux names them: debuggers and profilers find the vDSO here. */
static void vdso_lines(struct pbuf *b)
{
	uint64_t base = vdso_base();
	if (!base)
		return;
	pb_printf(b, "%08lx-%08lx r--p 00000000 00:00 0 ", base - PAGE_SIZE, base);
	pb_pad(b, 73);
	pb_printf(b, "[vvar]\n");
	pb_printf(b, "%08lx-%08lx r-xp 00000000 00:00 0 ", base, base + vdso_size());
	pb_pad(b, 73);
	pb_printf(b, "[vdso]\n");
}

/* Linux's show_map_vma: start-end perms offset dev inode and a blank, then
 * the path padded to column 73, [heap] and [stack] named. */
static void gen_maps(struct pbuf *b)
{
	char path[256];
	bool vdso_done = false;
	for (struct vma *v = vm_first(); v && !b->oom; v = vm_next(v)) {
		if (!vdso_done && vdso_base() && v->start > vdso_base()) {
			vdso_lines(b);
			vdso_done = true;
		}
		pb_printf(b, "%08lx-%08lx %c%c%cp %08lx 00:%02x %lu ", v->start, v->end,
			  v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
			  v->prot & PROT_EXEC ? 'x' : '-', v->vn ? v->off : 0, v->vn ? 1 : 0,
			  v->vn ? v->vn->ino : 0);
		const char *name = NULL;
		if (v->vn && vfs_path(v->vn, path, sizeof(path)) >= 0)
			name = path;
		else if (v->heap)
			name = "[heap]";
		else if (v->end == STACK_TOP)
			name = "[stack]";
		if (name) {
			pb_pad(b, 73);
			pb_printf(b, "%s", name);
		}
		pb_printf(b, "\n");
	}
	if (!vdso_done)
		vdso_lines(b);
}

static void count_page(uint64_t va, uint64_t *pte, void *ctx)
{
	(void)va;
	(void)pte;
	(*(uint64_t *)ctx)++;
}

static void gen_status(struct pbuf *b)
{
	uint64_t size = 0, stack = 0, data = 0, exe = 0, rss = 0;
	for (struct vma *v = vm_first(); v; v = vm_next(v)) {
		uint64_t len = v->end - v->start;
		size += len;
		if (v->end == STACK_TOP)
			stack += len;
		else if ((v->prot & PROT_WRITE) && !v->vn)
			data += len;
		else if ((v->prot & PROT_EXEC) && v->vn)
			exe += len;
		user_range_walk(v->start, v->end, count_page, &rss);
	}
	/* comm: the program's file name, at most 15 bytes, as Linux keeps it. */
	const char *name = curproc->exe;
	for (const char *p = curproc->exe; *p; p++)
		if (*p == '/')
			name = p + 1;
	char comm[16];
	size_t n = MIN(strlen(name), sizeof(comm) - 1);
	memcpy(comm, name, n);
	comm[n] = 0;
	uint32_t um = curproc->umask;
	pb_printf(b, "Name:\t%s\nUmask:\t0%c%c%c\nState:\tR (running)\n", comm, '0' + (um >> 6 & 7),
		  '0' + (um >> 3 & 7), '0' + (um & 7));
	pb_printf(b, "Tgid:\t1\nNgid:\t0\nPid:\t1\nPPid:\t0\nTracerPid:\t0\n");
	pb_printf(b, "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t%d\nGroups:\t\n", MAX_FDS);
	pb_printf(b,
		  "VmSize:\t%8lu kB\nVmRSS:\t%8lu kB\nVmData:\t%8lu kB\nVmStk:\t%8lu kB\nVmExe:\t%8lu kB\n",
		  size >> 10, rss * (PAGE_SIZE >> 10), data >> 10, stack >> 10, exe >> 10);
	pb_printf(b, "Threads:\t1\n");
	uint64_t allowed = current->affinity & cpus_online_mask();
	pb_printf(b, "Cpus_allowed:\t");
	if (allowed >> 32)
		pb_printf(b, "%08x,", (uint32_t)(allowed >> 32));
	pb_printf(b, "%08x\n", (uint32_t)allowed);
	pb_printf(b, "Cpus_allowed_list:\t");
	pb_cpu_mask_list(b, allowed);
	pb_printf(b, "Mems_allowed_list:\t0\n");
}

static void gen_meminfo(struct pbuf *b)
{
	uint64_t total = mm_total_bytes() >> 10, free = mm_free_bytes() >> 10;
	/* Nothing is cached or swappable: what is free is available. */
	pb_printf(b, "MemTotal:       %8lu kB\nMemFree:        %8lu kB\nMemAvailable:   %8lu kB\n", total,
		  free, free);
	pb_printf(b, "Buffers:        %8lu kB\nCached:         %8lu kB\nSwapCached:     %8lu kB\n", 0ul, 0ul,
		  0ul);
	pb_printf(b, "SwapTotal:      %8lu kB\nSwapFree:       %8lu kB\n", 0ul, 0ul);
}

/* CPUID feature bits by Linux's /proc/cpuinfo flag names: leaf, register
 * (0 EAX .. 3 EDX), bit. */
struct flag {
	uint32_t leaf;
	uint8_t reg, bit;
	const char *name;
};
static const struct flag flags[] = {
	{1, 3, 0, "fpu"},
	{1, 3, 1, "vme"},
	{1, 3, 2, "de"},
	{1, 3, 3, "pse"},
	{1, 3, 4, "tsc"},
	{1, 3, 5, "msr"},
	{1, 3, 6, "pae"},
	{1, 3, 7, "mce"},
	{1, 3, 8, "cx8"},
	{1, 3, 9, "apic"},
	{1, 3, 11, "sep"},
	{1, 3, 12, "mtrr"},
	{1, 3, 13, "pge"},
	{1, 3, 14, "mca"},
	{1, 3, 15, "cmov"},
	{1, 3, 16, "pat"},
	{1, 3, 17, "pse36"},
	{1, 3, 19, "clflush"},
	{1, 3, 23, "mmx"},
	{1, 3, 24, "fxsr"},
	{1, 3, 25, "sse"},
	{1, 3, 26, "sse2"},
	{1, 3, 27, "ss"},
	{1, 3, 28, "ht"},
	{0x80000001, 3, 11, "syscall"},
	{0x80000001, 3, 20, "nx"},
	{0x80000001, 3, 26, "pdpe1gb"},
	{0x80000001, 3, 27, "rdtscp"},
	{0x80000001, 3, 29, "lm"},
	{1, 2, 0, "pni"},
	{1, 2, 1, "pclmulqdq"},
	{1, 2, 9, "ssse3"},
	{1, 2, 12, "fma"},
	{1, 2, 13, "cx16"},
	{1, 2, 19, "sse4_1"},
	{1, 2, 20, "sse4_2"},
	{1, 2, 21, "x2apic"},
	{1, 2, 22, "movbe"},
	{1, 2, 23, "popcnt"},
	{1, 2, 24, "tsc_deadline_timer"},
	{1, 2, 25, "aes"},
	{1, 2, 26, "xsave"},
	{1, 2, 28, "avx"},
	{1, 2, 29, "f16c"},
	{1, 2, 30, "rdrand"},
	{1, 2, 31, "hypervisor"},
	{0x80000001, 2, 0, "lahf_lm"},
	{0x80000001, 2, 5, "abm"},
	{0x80000001, 2, 8, "3dnowprefetch"},
	{7, 1, 0, "fsgsbase"},
	{7, 1, 3, "bmi1"},
	{7, 1, 5, "avx2"},
	{7, 1, 7, "smep"},
	{7, 1, 8, "bmi2"},
	{7, 1, 9, "erms"},
	{7, 1, 10, "invpcid"},
	{7, 1, 16, "avx512f"},
	{7, 1, 17, "avx512dq"},
	{7, 1, 18, "rdseed"},
	{7, 1, 19, "adx"},
	{7, 1, 20, "smap"},
	{7, 1, 23, "clflushopt"},
	{7, 1, 24, "clwb"},
	{7, 1, 28, "avx512cd"},
	{7, 1, 29, "sha_ni"},
	{7, 1, 30, "avx512bw"},
	{7, 1, 31, "avx512vl"},
	{7, 2, 2, "umip"},
	{7, 2, 7, "cet_ss"},
	{7, 2, 8, "gfni"},
	{7, 2, 9, "vaes"},
	{7, 2, 10, "vpclmulqdq"},
	{7, 2, 22, "rdpid"},
	{7, 3, 4, "fsrm"},
	{7, 3, 26, "ibrs"},
};

static uint32_t cpuid_reg(uint32_t leaf, int reg)
{
	uint32_t r[4];
	cpuid(leaf & 0x80000000u, 0, r);
	if (r[0] < leaf)
		return 0;
	cpuid(leaf, 0, r);
	return r[reg];
}

static void gen_cpuinfo(struct pbuf *b)
{
	uint32_t r[4];
	char vendor[13], model[49];
	cpuid(0, 0, r);
	uint32_t max_leaf = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	memset(model, 0, sizeof(model));
	cpuid(0x80000000u, 0, r);
	if (r[0] >= 0x80000004u) {
		for (uint32_t i = 0; i < 3; i++) {
			cpuid(0x80000002u + i, 0, r);
			memcpy(model + 16 * i, r, 16);
		}
	}
	const char *mname = model;
	while (*mname == ' ')
		mname++;
	cpuid(1, 0, r);
	uint32_t sig = r[0], fam = (sig >> 8) & 0xf, mod = (sig >> 4) & 0xf;
	if (fam == 0xf)
		fam += (sig >> 20) & 0xff;
	if (fam >= 6)
		mod |= ((sig >> 16) & 0xf) << 4;
	uint32_t clflush = ((r[1] >> 8) & 0xff) * 8;
	uint32_t addr = cpuid_reg(0x80000008u, 0);
	uint64_t khz = tsc_hz() / 1000;
	int n = cpus_online;
	for (int cpu = 0; cpu < n && !b->oom; cpu++) {
		pb_printf(b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n", cpu,
			  vendor, fam, mod);
		pb_printf(b, "model name\t: %s\nstepping\t: %u\n", *mname ? mname : "unknown", sig & 0xf);
		pb_printf(b, "cpu MHz\t\t: %lu.%03lu\n", khz / 1000, khz % 1000);
		pb_printf(b, "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n", n, cpu,
			  n);
		pb_printf(b, "apicid\t\t: %d\ninitial apicid\t: %d\n", cpu, cpu);
		pb_printf(b, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %u\nwp\t\t: yes\nflags\t\t:",
			  max_leaf);
		for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
			if (cpuid_reg(flags[i].leaf, flags[i].reg) & (1u << flags[i].bit))
				pb_printf(b, " %s", flags[i].name);
		pb_printf(b, "\nbogomips\t: %lu.%02lu\nclflush size\t: %u\ncache_alignment\t: %u\n",
			  khz / 500, (khz / 5) % 100, clflush, clflush);
		pb_printf(b, "address sizes\t: %u bits physical, %u bits virtual\npower management:\n\n",
			  addr & 0xff, (addr >> 8) & 0xff);
	}
}

/* ---- the nodes ---- */

struct pnode {
	const char *path; /* from /, no leading slash */
	void (*gen)(struct pbuf *b);
	struct vnode *vn;
};

static struct pnode pnodes[] = {
	{"proc/self/maps", gen_maps, NULL},
	{"proc/self/status", gen_status, NULL},
	{"proc/cpuinfo", gen_cpuinfo, NULL},
	{"proc/meminfo", gen_meminfo, NULL},
	{"sys/devices/system/cpu/online", gen_cpu_list, NULL},
	{"sys/devices/system/cpu/possible", gen_cpu_list, NULL},
	{"sys/devices/system/cpu/present", gen_cpu_list, NULL},
};

/* Creates path's directories and the empty file at its end. A ramdisk entry
 * already there that is not a directory (a rootfs shipping its own /proc
 * files) is left alone and the node is not made. */
static struct vnode *make_node(const char *path)
{
	struct vnode *dir = vfs_root();
	for (;;) {
		const char *end = strchr(path, '/');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		struct vnode *c = vfs_child(dir, path, n);
		if (!c && vfs_create(dir, path, n, end ? S_IFDIR | 0555 : S_IFREG | 0444, &c) < 0)
			return NULL;
		if (!end)
			return vn_is_reg(c) && !c->size ? c : NULL;
		if (!vn_is_dir(c))
			return NULL;
		dir = c;
		path = end + 1;
	}
}

void procfs_init(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(pnodes); i++) {
		pnodes[i].vn = make_node(pnodes[i].path);
		if (!pnodes[i].vn)
			kdebug("procfs: /%s not made (the ramdisk has something else there)\n",
			       pnodes[i].path);
	}
}

int procfs_open(struct vnode *v, int accmode, struct vnode **out)
{
	const struct pnode *pn = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(pnodes); i++)
		if (pnodes[i].vn == v)
			pn = &pnodes[i];
	if (!pn)
		return 0;
	if (accmode != 0) /* O_RDONLY */
		return -EACCES;
	struct pbuf b = {0};
	pn->gen(&b);
	struct vnode *snap = kmalloc(sizeof(*snap));
	if (b.oom || !snap) {
		kfree(b.p);
		kfree(snap);
		return -ENOMEM;
	}
	memcpy(snap->name, v->name, sizeof(snap->name));
	snap->mode = v->mode;
	snap->ino = v->ino;
	snap->mtime = time_realtime_ns() / 1000000000ull;
	snap->parent = v->parent;
	snap->data = (uint8_t *)b.p;
	snap->size = b.len;
	snap->cap = b.cap;
	snap->unlinked = true; /* freed with its last reference */
	*out = snap;
	return 0;
}
