/* What the kernel takes from the initrd (cpio.c). */
#ifndef CARVE_RAMDISK_H
#define CARVE_RAMDISK_H

#include "kernel.h"

struct ramdisk {
	const char *cmd, *env; /* file contents, '\n'-terminated lines; NULL if absent */
	uint64_t cmd_len, env_len;
	int files, archives;
};

/* Parses every archive in [p, p+len) into the file tree. 0 or -1 (printed). */
int ramdisk_load(const uint8_t *p, uint64_t len, struct ramdisk *rd);

#endif
