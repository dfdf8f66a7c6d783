/* Filesystems: /dev and the console at the start, then the switch into the
 * application's root (/rootfs of the customer ramdisk) and the mounts a
 * program expects there. Nitro's init does the same steps (reference
 *aws-nitro-enclaves-sdk-bootstrap's init.c); here a missing mount point is created rather than
 * being an error, and every failure names the mount. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* mkdir that accepts an existing entry; mount then says if it is no directory. */
static void make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		die(ST_ROOT, "mkdir %s: %s", path, strerror(errno));
}

static void mnt(const char *type, const char *target, unsigned long flags, const char *data)
{
	make_dir(target, 0755);
	/* EBUSY: the kernel mounted it already (devtmpfs with DEVTMPFS_MOUNT=y). */
	if (mount(type, target, type, flags, data) < 0 && errno != EBUSY)
		die(ST_ROOT, "mount %s on %s: %s", type, target, strerror(errno));
}

static void symlink_ok(const char *to, const char *link)
{
	if (symlink(to, link) < 0 && errno != EEXIST)
		die(ST_ROOT, "symlink %s -> %s: %s", link, to, strerror(errno));
}

void mount_dev_and_console(void)
{
	int dev_err = 0;
	if (mkdir("/dev", 0755) < 0 && errno != EEXIST)
		dev_err = errno;
	else if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
		dev_err = errno;
	/* The kernel found no /dev/console in the initramfs, so fds 0-2 are
	 * closed now and this open returns 0. */
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0 && dev_err) {
		/* No devtmpfs: a console node of our own lets the failure be seen. */
		mknod("/dev/console", S_IFCHR | 0600, makedev(5, 1));
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
	}
	if (fd >= 0) {
		for (int i = 0; i <= 2; i++)
			if (fd != i)
				dup2(fd, i);
		if (fd > 2)
			close(fd);
	}
	if (dev_err)
		die(ST_DEV, "mount devtmpfs on /dev: %s", strerror(dev_err));
	if (fd < 0) /* nobody sees this line, but the status still goes out */
		die(ST_DEV, "open /dev/console: %s", strerror(errno));
}

bool kernel_cmdline_has(const char *word)
{
	/* Words with a dot are module parameters to the kernel, which does not
	 * hand them to init: read /proc/cmdline from a short-lived mount. */
	if (mkdir("/proc", 0555) < 0 && errno != EEXIST)
		return false;
	if (mount("proc", "/proc", "proc", NOSUID_NODEV_NOEXEC, NULL) < 0)
		return false;
	char *buf = NULL;
	size_t len = 0;
	bool has = cmdenv_read_file("/proc/cmdline", 65536, &buf, &len) == 0 &&
		cmdenv_cmdline_has(buf, len, word);
	free(buf);
	umount2("/proc", MNT_DETACH);
	return has;
}

void switch_root(const char *newroot)
{
	/* newroot is a directory of the initramfs, not a mount: bind it onto
	 * itself so it can be moved over /. The initramfs stays underneath,
	 * unreachable (it cannot be unmounted). */
	if (mount(newroot, newroot, NULL, MS_BIND | MS_REC, NULL) < 0)
		die(ST_ROOT, "bind-mount %s: %s%s", newroot, strerror(errno),
		    errno == ENOENT ? " (no application ramdisk?)" : "");
	if (chdir(newroot) < 0)
		die(ST_ROOT, "chdir %s: %s", newroot, strerror(errno));
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		die(ST_ROOT, "move %s to /: %s", newroot, strerror(errno));
	if (chroot(".") < 0)
		die(ST_ROOT, "chroot %s: %s", newroot, strerror(errno));
	if (chdir("/") < 0)
		die(ST_ROOT, "chdir / in %s: %s", newroot, strerror(errno));
}

void mount_program_filesystems(void)
{
	mnt("devtmpfs", "/dev", MS_NOSUID | MS_NOEXEC, NULL);
	mnt("proc", "/proc", NOSUID_NODEV_NOEXEC, NULL);
	symlink_ok("/proc/self/fd", "/dev/fd");
	symlink_ok("/proc/self/fd/0", "/dev/stdin");
	symlink_ok("/proc/self/fd/1", "/dev/stdout");
	symlink_ok("/proc/self/fd/2", "/dev/stderr");
	mnt("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755");
	mnt("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
	mnt("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
	/* The devtmpfs /dev/ptmx node opens the devpts mounted beside it. */
	mnt("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	mnt("sysfs", "/sys", NOSUID_NODEV_NOEXEC, NULL);
	/* One unified cgroup2 hierarchy, where Nitro mounts a v1 hierarchy per
	 * controller under a tmpfs: every current runtime and systemd use v2,
	 * and it needs no list of controllers. */
	mnt("cgroup2", "/sys/fs/cgroup", NOSUID_NODEV_NOEXEC, NULL);
	say("mounted /dev /proc /run /tmp /dev/shm /dev/pts /sys /sys/fs/cgroup");
}
