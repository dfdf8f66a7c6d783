/* Small helpers shared by every part: hex, whole-file reads with a bound,
 * progress lines on a TTY. */
#ifndef CARVE_UTIL_H
#define CARVE_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "carve/error.h"

struct timespec;
/* chrono's to_rfc3339() of a UTC time: "2026-12-02T07:21:33.5+00:00" style,
 * the fraction 0, 3, 6 or 9 digits as the nanoseconds need. */
void rfc3339_chrono(const struct timespec *ts, char *out, size_t len);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void hex_encode(const uint8_t *data, size_t len, char *out); /* out: 2*len+1 */
/* Parses an even-length hex string into out; returns the byte count or -1. */
long hex_decode(const char *hex, uint8_t *out, size_t cap);

/* Opens a regular file for reading. O_NONBLOCK first, so a FIFO without a
 * writer cannot block the open forever; then anything but a regular file is
 * E19. Returns the fd, or -1 with err set. */
int file_open_regular(const char *path, struct carve_err *err);
/* Reads a whole file of at most max_len bytes (malloc'ed, NUL appended but not
 * counted). Larger files fail with code, naming the limit. */
int file_read_all(const char *path, size_t max_len, uint8_t **data, size_t *len, int code,
		  struct carve_err *err);
/* Replaces path with data atomically (a temporary file beside it, then
 * rename), mode 0644. 0, or -1 with E19 in err. */
int file_write_atomic(const char *path, const void *data, size_t len, struct carve_err *err);
/* The same with the given creation mode (before the umask). */
int file_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode,
			   struct carve_err *err);
/* mkdir -p with `mode` for the directories it creates; 0 or -errno. */
int mkdir_p(const char *path, unsigned mode);
/* Full-length pread/pwrite/write, retrying on EINTR and short transfers.
 * They return 0, or -errno (-EIO for an unexpected end of file). */
int pread_full(int fd, void *buf, size_t len, uint64_t off);
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
int write_full(int fd, const void *buf, size_t len);

/* A progress line for long work, drawn on stderr only when it is a TTY and the
 * work is large enough to be worth it; at most ten redraws a second. */
struct progress {
	const char *what;
	uint64_t total;
	uint64_t last_ns;
	bool active;
};
void progress_begin(struct progress *p, const char *what, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);

uint64_t monotonic_ns(void);

/* At most `burst` events per window (rate_limit_allow says whether this one
 * may be logged, and how many were left out before it). Thread-safe. */
struct rate_limit {
	pthread_mutex_t lock;
	uint64_t window_ns, start_ns;
	unsigned burst, used;
	unsigned long dropped;
};
void rate_limit_init(struct rate_limit *r, unsigned burst, uint64_t window_ms);
void rate_limit_destroy(struct rate_limit *r);
bool rate_limit_allow(struct rate_limit *r, uint64_t now_ns, unsigned long *dropped_before);

/* JSON arrays of ints (CPU ids). The reader takes at most `max` elements and
 * returns how many, or -1 when `a` is not an array. */
struct json_object;
struct json_object *json_int_array(const int *v, int n);
int json_int_array_read(struct json_object *a, int *out, int max);

/* Finds a file carve ships (e.g. "carve-kernel.elf"): $CARVE_BLOBS,
 * $NITRO_CLI_BLOBS, the install tree (<bin>/../share/carve/blobs), else the
 * build tree beside the binary (src/common/blobs.c says why in that order).
 * 0 with the resolved path, or -1. */
int carve_find_blob(const char *name, char *out, size_t len);
/* The same search as if the executable sat in exe_dir (NULL: none); what
 * carve_find_blob does with the directory of /proc/self/exe. */
int carve_find_blob_from(const char *exe_dir, const char *name, char *out, size_t len);

/* CRC-32 as zlib's crc32() computes it (start with 0), faster on x86-64
 * CPUs with PCLMULQDQ. */
uint32_t crc32_fast(uint32_t crc, const void *data, size_t len);

/* Thread stacks sized to need, not glibc's default (RLIMIT_STACK, 8 MiB of
 * address space per thread). What each kind needs, with headroom: */
#define THREAD_STACK_SMALL (64u << 10) /* a system call or two: populate, signals, console input */
#define THREAD_STACK_VCPU (256u << 10) /* exit handlers, devices, NSM (OpenSSL signing, CBOR) */
/* pthread_create with a stack of `stack` bytes (four times that under a
 * sanitizer, whose frames carry redzones). Returns pthread_create's code. */
int thread_create_sized(pthread_t *th, size_t stack, void *(*fn)(void *), void *arg);

#endif
