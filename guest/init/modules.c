/* Kernel modules from the bootstrap ramdisk. A stock distribution kernel
 * (Debian's cloud kernel) has virtio-mmio, vsock and nsm as modules and no
 * userspace to load them, so init does: every file named, in order, in
 * /lib/carve-modules/order, then Nitro's lone /nsm.ko if there is one.
 * finit_module takes an uncompressed .ko; the kernel checks the rest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

#define ORDER_MAX 65536

/* On the console a module is named by its file name without ".ko". */
static void load_one(const char *path, bool missing_ok, bool dry)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	int label_len = strlen(base) > 3 ? (int)strlen(base) - 3 : 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return;
		die(ST_MODULE, "open module %s: %s", path, strerror(errno));
	}
	if (dry) {
		say("dry run: would load %.*s from %s", label_len, base, path);
		close(fd);
		return;
	}
	if (syscall(SYS_finit_module, fd, "", 0) < 0) {
		int e = errno;
		close(fd);
		if (e == EEXIST) {
			say("%.*s was loaded already", label_len, base);
			return;
		}
		/* The two usual causes, said plainly: ENOEXEC is a bad format
		 * (compressed, or another kernel's vermagic), ENOENT an unknown
		 * symbol (a module it needs comes later in the list or not at all). */
		die(ST_MODULE, "load module %s: %s%s", path, strerror(e),
		    e == ENOEXEC          ? " (not an uncompressed module for this kernel)"
			    : e == ENOENT ? " (unknown symbols: is a module it needs listed before it?)"
					  : "");
	}
	close(fd);
	say("loaded %.*s", label_len, base);
	/* The initramfs stays in memory for the enclave's life; this frees the file. */
	unlink(path);
}

void modules_load(const char *root, bool dry)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s", root, MODULES_ORDER);
	char *data = NULL;
	size_t len = 0;
	int rc = cmdenv_read_file(path, ORDER_MAX, &data, &len);
	if (rc < 0 && rc != -ENOENT)
		die(ST_CONFIG, "read %s: %s", path, rc == -EFBIG ? "larger than 64 KiB" : strerror(-rc));
	if (rc == 0) {
		struct cmdenv_list names;
		char why[CMDENV_WHY_LEN];
		rc = cmdenv_parse(data, len, &names, why, sizeof(why));
		free(data);
		if (rc < 0)
			die(ST_CONFIG, "%s: %s", path, why);
		for (size_t i = 0; i < names.n; i++) {
			const char *name = names.v[i];
			if (!name[0] || name[0] == '#') /* blank lines and comments */
				continue;
			if (!cmdenv_module_name_ok(name))
				die(ST_CONFIG, "%s line %zu: '%.100s' is not the file name of a .ko", path,
				    i + 1, name);
			char ko[4096];
			snprintf(ko, sizeof(ko), "%s%s/%s", root, MODULES_DIR, name);
			load_one(ko, false, dry);
		}
		cmdenv_free(&names);
	}
	/* Nitro's bootstrap ramdisk: nsm.ko at the root; absent when the driver
	 * is built in or listed above. */
	snprintf(path, sizeof(path), "%s/nsm.ko", root);
	load_one(path, true, dry);
}
