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

int file_read_all(const char *path, size_t max_len, uint8_t **data, size_t *len,
		  int code, struct carve_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return carve_fail(err, E19_FILE_OPERATION,
				  "File: '%s', failing operation: 'Open': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return carve_fail(err, E19_FILE_OPERATION,
				  "File: '%s', failing operation: 'Read': not a regular file", path);
	}
	if ((uint64_t)st.st_size > max_len) {
		close(fd);
		return carve_fail(err, code, "'%s' is %lld bytes; at most %zu are allowed",
				  path, (long long)st.st_size, max_len);
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
		return carve_fail(err, E19_FILE_OPERATION,
				  "File: '%s', failing operation: 'Read': %s", path, strerror(-rc));
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

int file_write_atomic(const char *path, const void *data, size_t len, struct carve_err *err)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return carve_fail(err, E19_FILE_OPERATION, "path too long: '%s'", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd >= 0 ? write_full(fd, data, len) : -errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s",
				  path, strerror(-rc));
	}
	return 0;
}
