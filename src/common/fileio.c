/* Bounded whole-file reads and full-length I/O. */
#include "carve/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_open_regular(const char *path, struct carve_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Open': %s", path,
				  strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		const char *what = S_ISDIR(st.st_mode) ? "a directory"
			: S_ISFIFO(st.st_mode)         ? "a FIFO"
			: S_ISSOCK(st.st_mode)         ? "a socket"
						       : "not a regular file";
		close(fd);
		return carve_fail(err, E19_FILE_OPERATION,
				  "File: '%s', failing operation: 'Open': it is %s, not a regular file", path,
				  what);
	}
	/* Reads of a regular file ignore O_NONBLOCK; clear it all the same. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int file_read_all(const char *path, size_t max_len, uint8_t **data, size_t *len, int code,
		  struct carve_err *err)
{
	int fd = file_open_regular(path, err);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Read': %s", path,
				  strerror(errno));
	}
	if ((uint64_t)st.st_size > max_len) {
		close(fd);
		return carve_fail(err, code, "'%s' is %lld bytes; at most %zu are allowed", path,
				  (long long)st.st_size, max_len);
	}
	size_t n = (size_t)st.st_size;
	uint8_t *buf = malloc(n + 1);
	if (!buf) {
		close(fd);
		return carve_fail(err, E19_FILE_OPERATION, "out of memory reading '%s'", path);
	}
	int rc = pread_full(fd, buf, n, 0);
	close(fd);
	if (rc < 0) {
		free(buf);
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Read': %s", path,
				  strerror(-rc));
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int mkdir_p(const char *path, unsigned mode)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The process's umask, read without changing it (umask(2) would, for every
 * thread); 022 where /proc is not mounted. */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned m = 022;
	char line[128];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &m) == 1)
			break;
	if (f)
		fclose(f);
	return (mode_t)(m & 0777);
}

int file_write_atomic(const char *path, const void *data, size_t len, struct carve_err *err)
{
	return file_write_atomic_mode(path, data, len, 0644, err);
}

int file_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode, struct carve_err *err)
{
	/* A fresh name in the target's directory, made with O_EXCL (mkstemp):
	 * a file or symlink another user planted at a predictable name can
	 * neither be written through nor make the write fail. */
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return carve_fail(err, E19_FILE_OPERATION, "path too long: '%s'", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s", path,
				  strerror(errno));
	/* mkstemp makes 0600; the output gets what open(mode) under the umask
	 * would have given it. */
	int rc = fchmod(fd, mode & ~current_umask()) < 0 ? -errno : write_full(fd, data, len);
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp); /* ours: mkstemp created it */
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s", path,
				  strerror(-rc));
	}
	return 0;
}
