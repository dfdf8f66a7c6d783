/* Loading the program: an ELF64 x86-64 executable (ET_EXEC where it is
 * linked, ET_DYN at PIE_BASE), with its interpreter (PT_INTERP: ld.so, at a
 * free range of its own) when it is dynamically linked, or a "#!" script
 * run by one, mapped lazily from the files in the ramdisk, and its initial stack per the x86-64 SysV
 * ABI §3.4.1: argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL, then the
 * strings and the AT_RANDOM bytes above. Every header field is checked
 * against the file before it is used. */
#include "errno.h"
#include "proc.h"

#define EI_NIDENT 16
#define ET_EXEC 2
#define ET_DYN 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PF_X 1
#define PF_W 2
#define PF_R 4
#define MAX_PHNUM 128
#define MAX_ARGS_BYTES (256 * 1024)
#define INTERP_MAX 4096 /* PATH_MAX, as Linux bounds PT_INTERP */

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_HWCAP2 26
#define AT_EXECFN 31
#define AT_SYSINFO_EHDR 33 /* the vDSO (vdso.c) */
#define AT_IGNORE 1

struct ehdr {
	uint8_t ident[EI_NIDENT];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* At boot a failure ends the enclave and is always said; in execve the caller
 * gets an errno (a shell searching PATH fails often) and only debug mode says. */
static bool quiet;

static int fail(const char *path, const char *why, int err)
{
	if (!quiet)
		kprintf("carve: cannot run %s: %s\n", path, why);
	else
		kdebug("execve %s: %s\n", path, why);
	return err;
}

static int prot_of(uint32_t f)
{
	return (f & PF_R ? PROT_READ : 0) | (f & PF_W ? PROT_WRITE : 0) | (f & PF_X ? PROT_EXEC : 0);
}

/* Writes the initial stack; returns the stack pointer (at argc). */
static int build_stack(const char *execfn, char *const argv[], int argc, char *const envp[], int envc,
		       uint64_t entry, uint64_t phdr, uint16_t phnum, uint64_t base, uint64_t *sp_out)
{
	uint64_t strings = strlen(execfn) + 1 + 7 /* "x86_64" */ + 16;
	for (int i = 0; i < argc; i++)
		strings += strlen(argv[i]) + 1;
	for (int i = 0; i < envc; i++)
		strings += strlen(envp[i]) + 1;
	if (strings > MAX_ARGS_BYTES)
		return -E2BIG;
	uint32_t r[4];
	cpuid(1, 0, r);
	uint64_t vdso = vdso_base(), at_vdso = vdso ? AT_SYSINFO_EHDR : AT_IGNORE;
	uint64_t aux[][2] = {
		{AT_PHDR, phdr},   {AT_PHENT, sizeof(struct phdr)},
		{AT_PHNUM, phnum}, {AT_PAGESZ, PAGE_SIZE},
		{AT_BASE, base},   {AT_FLAGS, 0},
		{AT_ENTRY, entry}, {AT_UID, 0},
		{AT_EUID, 0},      {AT_GID, 0},
		{AT_EGID, 0},      {AT_HWCAP, r[3]},
		{AT_HWCAP2, 0},    {AT_CLKTCK, 100},
		{AT_SECURE, 0},    {AT_RANDOM, 0},
		{AT_PLATFORM, 0},  {AT_EXECFN, 0},
		{at_vdso, vdso},   {AT_NULL, 0},
	};
	uint64_t naux = ARRAY_SIZE(aux);
	uint64_t words = 1 + (uint64_t)argc + 1 + (uint64_t)envc + 1 + 2 * naux;
	uint64_t str_base = ALIGN_DOWN(STACK_TOP - 16 - strings, 16);
	uint64_t sp = ALIGN_DOWN(str_base - words * 8, 16);
	if (user_ok(sp, STACK_TOP - sp, true) < 0)
		return -ENOMEM;
	char *s = (char *)str_base;
	uint64_t *w = (uint64_t *)sp;
	*w++ = (uint64_t)argc;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		memcpy(s, argv[i], n);
		*w++ = (uint64_t)s;
		s += n;
	}
	*w++ = 0;
	for (int i = 0; i < envc; i++) {
		size_t n = strlen(envp[i]) + 1;
		memcpy(s, envp[i], n);
		*w++ = (uint64_t)s;
		s += n;
	}
	*w++ = 0;
	uint64_t execfn_at = (uint64_t)s;
	memcpy(s, execfn, strlen(execfn) + 1);
	s += strlen(execfn) + 1;
	uint64_t platform_at = (uint64_t)s;
	memcpy(s, "x86_64", 7);
	s += 7;
	uint64_t random_at = (uint64_t)s;
	random_bytes(s, 16);
	for (uint64_t i = 0; i < naux; i++) {
		if (aux[i][0] == AT_RANDOM)
			aux[i][1] = random_at;
		else if (aux[i][0] == AT_PLATFORM)
			aux[i][1] = platform_at;
		else if (aux[i][0] == AT_EXECFN)
			aux[i][1] = execfn_at;
		*w++ = aux[i][0];
		*w++ = aux[i][1];
	}
	*sp_out = sp;
	return 0;
}

/* "#!" scripts, as Linux runs them: the first line names the interpreter and
 * at most one argument (everything after the first blank, trimmed), up to
 * 255 bytes; the interpreter gets [interp, (arg), script, argv[1..]]. An
 * interpreter may itself be a script, MAX_SCRIPT_DEPTH deep. */
#define MAX_SCRIPT_DEPTH 4
#define SCRIPT_LINE 256

static bool script_line(const struct vnode *vn, char *interp, char *arg)
{
	uint8_t b[SCRIPT_LINE + 1];
	uint64_t got = vfs_read(vn, b, sizeof(b), 0);
	if (got < 2 || b[0] != '#' || b[1] != '!')
		return false;
	char line[SCRIPT_LINE];
	size_t n = 0;
	for (uint64_t i = 2; i < got && n < SCRIPT_LINE - 1 && b[i] != '\n'; i++)
		line[n++] = (char)b[i];
	line[n] = 0;
	char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t k = 0;
	while (*p && *p != ' ' && *p != '\t')
		interp[k++] = *p++;
	interp[k] = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t a = strlen(p);
	while (a && (p[a - 1] == ' ' || p[a - 1] == '\t' || p[a - 1] == '\r'))
		a--;
	memcpy(arg, p, a);
	arg[a] = 0;
	return true;
}

static int lookup_exec(const char *path, struct vnode **out)
{
	struct vnode *vn;
	int r = vfs_lookup(curproc->cwd, path, LOOKUP_FOLLOW, &vn);
	if (r < 0)
		return fail(path,
			    r == -ENOENT ? "no such file in the ramdisk" : "the path cannot be resolved", r);
	if (!vn_is_reg(vn))
		return fail(path, "not a regular file", -EACCES);
	if (!(vn->mode & 0111))
		return fail(path, "it is not executable (no x permission bit)", -EACCES);
	*out = vn;
	return 0;
}

/* What the loader learned from one ELF file's headers, all checked against
 * the file: addresses here are the file's own (before any load bias). */
struct elf_info {
	uint16_t type, phnum;
	uint64_t entry, phoff;
	uint64_t lo, hi; /* page-aligned start and end of the PT_LOAD segments */
	uint64_t phdr_vaddr;
	bool have_phdr;
	uint64_t interp_off, interp_len; /* PT_INTERP's string, NUL included; 0 if none */
};

static void get_phdr(const struct vnode *vn, const struct elf_info *ei, int i, struct phdr *p)
{
	vfs_read(vn, p, sizeof(*p), ei->phoff + (uint64_t)i * sizeof(*p));
}

/* Checks the ELF file's headers (the bytes come from the ramdisk, so every
 * length and offset is checked against its size) and fills ei. */
static int parse_elf(const char *path, const struct vnode *vn, struct elf_info *ei)
{
	uint64_t size = vn->size;
	struct ehdr eh;
	if (size < sizeof(eh))
		return fail(path, "not an ELF file (too short)", -ENOEXEC);
	vfs_read(vn, &eh, sizeof(eh), 0);
	if (memcmp(eh.ident, "\177ELF", 4))
		return fail(path, "not an ELF file", -ENOEXEC);
	if (eh.ident[4] != 2 || eh.ident[5] != 1 || eh.machine != EM_X86_64)
		return fail(path, "not a little-endian x86-64 ELF64 program", -ENOEXEC);
	if (eh.type != ET_EXEC && eh.type != ET_DYN)
		return fail(path, "not an executable ELF file", -ENOEXEC);
	if (eh.phentsize != sizeof(struct phdr) || eh.phnum == 0 || eh.phnum > MAX_PHNUM || eh.phoff > size ||
	    (uint64_t)eh.phnum * sizeof(struct phdr) > size - eh.phoff)
		return fail(path, "its program headers are missing or lie outside the file", -ENOEXEC);
	memset(ei, 0, sizeof(*ei));
	ei->type = eh.type;
	ei->phnum = eh.phnum;
	ei->phoff = eh.phoff;
	ei->entry = eh.entry;
	ei->lo = UINT64_MAX;
	for (int i = 0; i < eh.phnum; i++) {
		struct phdr p;
		get_phdr(vn, ei, i, &p);
		if (p.type == PT_INTERP && !ei->interp_len) { /* Linux uses the first */
			bool fits = p.offset <= size && p.filesz <= size - p.offset && p.filesz >= 2 &&
				p.filesz <= INTERP_MAX;
			char *interp = fits ? kmalloc(p.filesz) : NULL; /* the kernel stack is small */
			if (fits && !interp)
				return fail(path, "out of memory reading its PT_INTERP", -ENOMEM);
			if (fits)
				vfs_read(vn, interp, p.filesz, p.offset);
			bool bad = !fits || interp[p.filesz - 1] || strnlen(interp, p.filesz) != p.filesz - 1;
			kfree(interp);
			if (bad)
				return fail(path, "its PT_INTERP (interpreter path) is malformed", -ENOEXEC);
			ei->interp_off = p.offset;
			ei->interp_len = p.filesz;
		}
		if (p.type == PT_PHDR && !ei->have_phdr) {
			ei->phdr_vaddr = p.vaddr;
			ei->have_phdr = true;
		}
		if (p.type != PT_LOAD)
			continue;
		if (p.filesz > p.memsz || p.offset > size || p.filesz > size - p.offset ||
		    (p.vaddr & ~PAGE_MASK) != (p.offset & ~PAGE_MASK) || p.vaddr + p.memsz < p.vaddr ||
		    p.vaddr + p.memsz > USER_TOP)
			return fail(path, "a PT_LOAD segment is malformed or outside user space", -ENOEXEC);
		ei->lo = MIN(ei->lo, ALIGN_DOWN(p.vaddr, PAGE_SIZE));
		ei->hi = MAX(ei->hi, ALIGN_UP(p.vaddr + p.memsz, PAGE_SIZE));
	}
	if (ei->lo == UINT64_MAX)
		return fail(path, "it has no PT_LOAD segment", -ENOEXEC);
	if (eh.entry < ei->lo || eh.entry >= ei->hi)
		return fail(path, "its entry point is outside its segments", -ENOEXEC);
	return 0;
}

/* Checks that the segments, moved by bias, lie in the program area. */
static int check_placement(const char *path, const struct elf_info *ei, uint64_t bias)
{
	if (ei->lo + bias < MMAP_BOTTOM || ei->hi + bias > MMAP_TOP || ei->hi + bias < ei->lo + bias)
		return fail(path, "its segments lie outside the program area", -ENOEXEC);
	return 0;
}

/* Maps the PT_LOAD segments at their addresses plus bias (checked); returns
 * the run-time address of the program headers (0 if not in a segment). */
static int map_elf(const char *path, struct vnode *vn, const struct elf_info *ei, uint64_t bias,
		   uint64_t *phdr_addr)
{
	uint64_t phdr_vaddr = ei->phdr_vaddr;
	bool have_phdr = ei->have_phdr;
	for (int i = 0; i < ei->phnum; i++) {
		struct phdr p;
		get_phdr(vn, ei, i, &p);
		if (p.type != PT_LOAD || !p.memsz)
			continue;
		uint64_t pad = p.vaddr & ~PAGE_MASK;
		uint64_t start = p.vaddr + bias - pad;
		int r = vm_map(start, p.memsz + pad, prot_of(p.flags), vn, p.offset - pad, p.filesz + pad);
		if (r < 0)
			return fail(path, "out of memory mapping its segments", r);
		if (!have_phdr && ei->phoff >= p.offset && ei->phoff - p.offset < p.filesz) {
			phdr_vaddr = p.vaddr + (ei->phoff - p.offset);
			have_phdr = true;
		}
	}
	*phdr_addr = have_phdr ? phdr_vaddr + bias : 0;
	return 0;
}

/* A dynamically linked program's interpreter (ld.so): found along the path
 * in PT_INTERP, itself an ET_DYN ELF file without an interpreter. */
static int check_interp(const char *path, const struct vnode *vn, const struct elf_info *prog, char *name,
			struct vnode **ivn, struct elf_info *in)
{
	vfs_read(vn, name, prog->interp_len, prog->interp_off);
	int r = lookup_exec(name, ivn);
	if (r < 0)
		return fail(path, "its interpreter (PT_INTERP) cannot be run", r);
	if ((r = parse_elf(name, *ivn, in)) < 0)
		return fail(path, "its interpreter (PT_INTERP) is not a usable ELF file", r);
	if (in->interp_len)
		return fail(name, "an interpreter must not have an interpreter itself", -ELIBBAD);
	if (in->type != ET_DYN)
		return fail(name, "an interpreter must be position-independent (ET_DYN)", -ELIBBAD);
	if (in->hi - in->lo > MMAP_TOP - MMAP_BOTTOM)
		return fail(name, "the interpreter is larger than the program area", -ENOMEM);
	return 0;
}

/* Finds the program at path: 0 with *vn for a binary, 1 with interp and
 * arg filled for a #! script (nesting and an empty interpreter refused). */
static int resolve(const char *path, int depth, struct vnode **vn, char *interp, char *arg)
{
	int r = lookup_exec(path, vn);
	if (r < 0)
		return r;
	if (!script_line(*vn, interp, arg))
		return 0;
	if (depth >= MAX_SCRIPT_DEPTH)
		return fail(path, "its #! interpreters nest too deep", -ELOOP);
	if (!interp[0])
		return fail(path, "its #! line names no interpreter", -ENOEXEC);
	return 1;
}

/* Checks an ELF program and, when it is dynamically linked, its interpreter,
 * whose path goes into name (INTERP_MAX bytes). */
static int check_binary(const char *path, struct vnode *vn, struct elf_info *prog, char *name,
			struct vnode **ivn, struct elf_info *in)
{
	int r = parse_elf(path, vn, prog);
	if (r < 0)
		return r;
	/* ET_EXEC where it is linked; ET_DYN (static-PIE or PIE) at PIE_BASE. */
	if ((r = check_placement(path, prog, prog->type == ET_DYN ? PIE_BASE - prog->lo : 0)) < 0)
		return r;
	*ivn = NULL;
	return prog->interp_len ? check_interp(path, vn, prog, name, ivn, in) : 0;
}

/* Maps a checked program and its interpreter, as Linux's load_elf_binary
 * does: the program at its place, the interpreter (ld.so) at a free range of
 * its own, entered there; the program's entry goes in AT_ENTRY and the
 * interpreter's load address in AT_BASE. */
static int map_binary(const char *path, struct vnode *vn, const struct elf_info *prog, const char *name,
		      struct vnode *ivn, const struct elf_info *in, uint64_t *start, uint64_t *prog_entry,
		      uint64_t *phdr, uint64_t *base)
{
	uint64_t bias = prog->type == ET_DYN ? PIE_BASE - prog->lo : 0;
	int r = map_elf(path, vn, prog, bias, phdr);
	if (r < 0)
		return r;
	curproc->as->map.brk_start = curproc->as->map.brk = prog->hi + bias;
	*prog_entry = *start = prog->entry + bias;
	*base = 0;
	if (!ivn)
		return 0;
	uint64_t at = vm_find_free(in->hi - in->lo);
	if (!at)
		return fail(name, "no free address range for the interpreter", -ENOMEM);
	uint64_t ibias = at - in->lo, iphdr;
	if ((r = check_placement(name, in, ibias)) < 0 || (r = map_elf(name, ivn, in, ibias, &iphdr)) < 0)
		return r;
	*start = in->entry + ibias;
	*base = ibias;
	kdebug("%s: interpreter %s at %lx\n", path, name, ibias);
	return 0;
}

static int check_at(const char *path, struct vnode **out, int depth)
{
	struct vnode *vn;
	char interp[SCRIPT_LINE], arg[SCRIPT_LINE];
	int r = resolve(path, depth, &vn, interp, arg);
	if (r < 0)
		return r;
	if (r == 1)
		return check_at(interp, out, depth + 1);
	struct elf_info prog, in;
	struct vnode *ivn;
	char *name = kmalloc(INTERP_MAX);
	if (!name)
		return fail(path, "out of memory", -ENOMEM);
	r = check_binary(path, vn, &prog, name, &ivn, &in);
	kfree(name);
	if (r < 0)
		return r;
	*out = vn;
	return 0;
}

int exec_check(const char *path, struct vnode **out, bool verbose)
{
	quiet = !verbose;
	return check_at(path, out, 0);
}

static int load_at(const char *path, char *const argv[], int argc, char *const envp[], int envc,
		   uint64_t *entry, uint64_t *sp, int depth)
{
	struct vnode *vn;
	char interp[SCRIPT_LINE], arg[SCRIPT_LINE];
	int r = resolve(path, depth, &vn, interp, arg);
	if (r < 0)
		return r;
	if (r == 1) {
		char **nargv = kmalloc((size_t)(argc + 3) * sizeof(char *));
		if (!nargv)
			return fail(path, "out of memory", -ENOMEM);
		int n = 0;
		nargv[n++] = interp;
		if (arg[0])
			nargv[n++] = arg;
		nargv[n++] = (char *)path;
		for (int i = 1; i < argc; i++)
			nargv[n++] = argv[i];
		nargv[n] = NULL;
		r = load_at(interp, nargv, n, envp, envc, entry, sp, depth + 1);
		kfree(nargv);
		return r;
	}
	struct elf_info prog, in;
	struct vnode *ivn;
	uint64_t prog_entry, phdr, base;
	char *name = kmalloc(INTERP_MAX);
	if (!name)
		return fail(path, "out of memory", -ENOMEM);
	r = check_binary(path, vn, &prog, name, &ivn, &in);
	if (r >= 0)
		r = map_binary(path, vn, &prog, name, ivn, &in, entry, &prog_entry, &phdr, &base);
	kfree(name);
	if (r < 0)
		return r;
	if ((r = vm_map(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE, NULL, 0, 0)) < 0)
		return fail(path, "out of memory for its stack", r);
	if ((r = build_stack(path, argv, argc, envp, envc, prog_entry, phdr, prog.phnum, base, sp)) < 0)
		return fail(path,
			    r == -E2BIG ? "its arguments and environment are too large"
					: "out of memory for its stack",
			    r);
	if (vfs_path(vn, curproc->exe, sizeof(curproc->exe)) < 0)
		memcpy(curproc->exe, "?", 2);
	return 0;
}

int exec_load(const char *path, char *const argv[], int argc, char *const envp[], int envc, uint64_t *entry,
	      uint64_t *sp)
{
	quiet = false;
	return load_at(path, argv, argc, envp, envc, entry, sp, 0);
}
