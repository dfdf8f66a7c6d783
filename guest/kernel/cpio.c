/* The initrd: the EIF's ramdisks back to back, each a newc cpio archive
 * ending with TRAILER!!!, with zero padding to 4 bytes allowed between them
 * (aws-nitro-enclaves-cli, build-enclave). From the application ramdisk we take `cmd`,
 * `env` and the tree under `rootfs/`, which becomes /. File contents are not
 * copied: vnodes point into the initrd.
 *
 * newc: a 110-byte header ("070701", then 13 fields of 8 hex digits: ino
 * mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
 * namesize check), the name with its NUL, padding to 4, the data, padding
 * to 4. Every field is checked against the archive before use. */
#include "ramdisk.h"
#include "vfs.h"

#define HDR_LEN 110

static bool hex8(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

static int add_entry(const char *name, uint32_t mode, const uint8_t *data, uint32_t size, uint32_t mtime,
		     struct ramdisk *rd)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	if (!strcmp(name, "cmd") && (mode & S_IFMT) == S_IFREG) {
		rd->cmd = (const char *)data;
		rd->cmd_len = size;
		return 0;
	}
	if (!strcmp(name, "env") && (mode & S_IFMT) == S_IFREG) {
		rd->env = (const char *)data;
		rd->env_len = size;
		return 0;
	}
	if (strncmp(name, "rootfs", 6) || (name[6] != '/' && name[6] != 0))
		return 0; /* bootstrap-ramdisk files (init, nsm.ko, dev/): not ours */
	const char *rel = name + 6;
	while (*rel == '/')
		rel++;
	uint32_t type = mode & S_IFMT;
	if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK) {
		kdebug("initrd: skipping special file /%s\n", rel);
		return 0;
	}
	if (!*rel) {
		if (type == S_IFDIR)
			vfs_root()->mode = mode;
		return 0;
	}
	rd->files++;
	return vfs_add_ramdisk(rel, mode, type == S_IFDIR ? NULL : data, type == S_IFDIR ? 0 : size, mtime);
}

int ramdisk_load(const uint8_t *p, uint64_t len, struct ramdisk *rd)
{
	uint64_t pos = 0;
	while (pos < len) {
		if (p[pos] == 0) { /* padding between archives */
			pos = ALIGN_UP(pos + 1, 4);
			continue;
		}
		if (len - pos < HDR_LEN) {
			kprintf("carve: initrd: truncated cpio header at offset %lu\n", pos);
			return -1;
		}
		const uint8_t *h = p + pos;
		if (memcmp(h, "070701", 6) && memcmp(h, "070702", 6)) {
			kprintf("carve: initrd: no newc cpio header at offset %lu\n", pos);
			return -1;
		}
		uint32_t f[13];
		for (int i = 0; i < 13; i++) {
			if (!hex8(h + 6 + 8 * i, &f[i])) {
				kprintf("carve: initrd: bad cpio header field at offset %lu\n", pos);
				return -1;
			}
		}
		uint32_t mode = f[1], mtime = f[5], size = f[6], namesize = f[11];
		uint64_t name_off = pos + HDR_LEN;
		if (namesize == 0 || namesize > 4096 || namesize > len - name_off ||
		    p[name_off + namesize - 1] != 0 ||
		    strnlen((const char *)p + name_off, namesize) != namesize - 1) {
			kprintf("carve: initrd: bad cpio name at offset %lu\n", pos);
			return -1;
		}
		const char *name = (const char *)p + name_off;
		uint64_t data_off = ALIGN_UP(name_off + namesize, 4);
		if (data_off > len || size > len - data_off) {
			kprintf("carve: initrd: cpio entry %s runs past the end of the initrd\n", name);
			return -1;
		}
		if (strcmp(name, "TRAILER!!!")) {
			int r = add_entry(name, mode, p + data_off, size, mtime, rd);
			if (r < 0) {
				kprintf("carve: initrd: cannot add %s (error %d)\n", name, -r);
				return -1;
			}
		} else {
			rd->archives++;
		}
		pos = ALIGN_UP(data_off + size, 4);
	}
	return 0;
}
