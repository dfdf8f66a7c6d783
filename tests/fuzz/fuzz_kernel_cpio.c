/* The carve enclave kernel's initrd reader (guest/kernel/cpio.c) and the file
 * tree it fills (vfs.c), built for the host: any bytes as the initrd must be
 * refused or loaded without reading outside the buffer, and every path in
 * the resulting tree must resolve. Kernel services are stubbed here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../guest/kernel/cpio.c"
#include "../../guest/kernel/dir.c"
#include "../../guest/kernel/vfs.c"

struct boot_opts boot_opts;
void *kmalloc(size_t n) { return calloc(1, n); }
void kfree(void *p) { free(p); }
void kprintf(const char *fmt, ...) { (void)fmt; }
void kdebug(const char *fmt, ...) { (void)fmt; }
uint64_t time_realtime_ns(void) { return 0; }
/* Page-backed files (vfs.c) come from writes, which a ramdisk's loading
 * never makes: these are unreachable here. */
uint64_t page_alloc(void) { abort(); }
void page_put(uint64_t pa)
{
	(void)pa;
	abort();
}
bool helper_ready(void) { return false; }
void helper_copy_to_user(uint64_t dst, const void *src, uint64_t len)
{
	(void)dst, (void)src, (void)len;
	abort();
}
uint64_t helper_copy_list(const struct hcopy *c, int n)
{
	(void)c, (void)n;
	abort();
}
void vm_file_shrunk(const struct fpages *pg, uint64_t idx)
{
	(void)pg, (void)idx;
	abort();
}
_Noreturn void panic(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

static void free_tree(struct vnode *v)
{
	struct vnode *c = v->children;
	while (c) {
		struct vnode *next = c->next;
		free_tree(c);
		c = next;
	}
	dir_free(v);    /* the directory's name index */
	kfree(v->data); /* no file here is page-backed (see the stubs above) */
	kfree(v);
}

/* Resolves every node's own path and reads every file's bytes. */
static void walk(struct vnode *dir, int depth)
{
	for (struct vnode *c = dir->children; c; c = c->next) {
		char path[8192];
		if (vfs_path(c, path, sizeof(path)) > 0) {
			struct vnode *found;
			if (vfs_lookup(vfs_root(), path, 0, &found) == 0 && found != c)
				abort();
		}
		volatile uint8_t sum = 0;
		const uint8_t *b = vn_bytes(c);
		for (uint64_t i = 0; b && i < c->size; i++)
			sum ^= b[i];
		if (vn_is_dir(c) && depth < 64)
			walk(c, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so reads past the end are caught by ASan. */
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	vfs_init();
	struct ramdisk rd = {0};
	if (ramdisk_load(copy, size, &rd) == 0) {
		walk(vfs_root(), 0);
		if (rd.cmd &&
		    (rd.cmd < (const char *)copy || rd.cmd + rd.cmd_len > (const char *)copy + size))
			abort();
	}
	free_tree(vfs_root());
	free(copy);
	return 0;
}
