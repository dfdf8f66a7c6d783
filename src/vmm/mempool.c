/* The pool of pre-zeroed guest memory (carve/mempool.h).
 *
 * Names in the pool directory say what a file is:
 *   free.<bytes>.<id>   zeroed, every page allocated: any VM of <bytes> may take it
 *   busy.<bytes>.<id>   a VM's memory; its process holds an exclusive flock
 *   fill.<bytes>.<id>   being made by mempool_fill (locked too)
 * A taker opens a free file and locks it (LOCK_NB: a file someone else locked
 * is theirs) before renaming it busy, so a file is never busy without its
 * lock except when its process died: then it may hold that VM's data, and
 * whoever finds it unlocked deletes it. Giving back zeroes the memory, then
 * renames the file free while still holding the lock. <id> is the pid, the
 * monotonic clock and a counter, unique on the host. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "carve/mempool.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

struct mempool_slab {
	int fd;
	bool reused;
	uint64_t bytes;
	char dir[PATH_MAX];
	char id[64];
};

int mempool_check(const char *dir, uint64_t *page_bytes, struct carve_err *err)
{
	struct statfs fs;
	if (statfs(dir, &fs) < 0)
		return carve_fail(err, E03_INVALID_ARGUMENT, "memory pool %s: %s", dir, strerror(errno));
	if ((unsigned long)fs.f_type != HUGETLBFS_MAGIC && (unsigned long)fs.f_type != TMPFS_MAGIC)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "memory pool %s is not on hugetlbfs or tmpfs (guest memory in a file on "
				  "disk would be written back to it)",
				  dir);
	if (page_bytes)
		*page_bytes = (unsigned long)fs.f_type == HUGETLBFS_MAGIC ? (uint64_t)fs.f_bsize : 4096;
	return 0;
}

static void new_id(char *id, size_t len)
{
	static unsigned counter;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	snprintf(id, len, "%ld-%llx-%u", (long)getpid(),
		 (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec,
		 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
}

static int slab_path(char *out, size_t len, const char *dir, const char *state, uint64_t bytes,
		     const char *id)
{
	int n = snprintf(out, len, "%s/%s.%" PRIu64 ".%s", dir, state, bytes, id);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

bool mempool_parse_name(const char *name, char *state, size_t slen, uint64_t *bytes, char *id, size_t idlen)
{
	const char *dot = strchr(name, '.');
	if (!dot || dot == name || (size_t)(dot - name) >= slen)
		return false;
	if (dot[1] < '0' || dot[1] > '9') /* strtoull would take "-1" and " 1" */
		return false;
	char *end;
	errno = 0;
	unsigned long long b = strtoull(dot + 1, &end, 10);
	if (errno || !b || *end != '.' || strlen(end + 1) >= idlen || !end[1])
		return false;
	memcpy(state, name, (size_t)(dot - name));
	state[dot - name] = '\0';
	*bytes = b;
	strcpy(id, end + 1);
	return true;
}

/* One entry of the pool's directory whose name the pool made. */
struct slab_name {
	char state[8], id[64];
	uint64_t bytes;
	const char *name; /* the entry's name, until the next readdir */
};

/* The next such entry of d; false at the end. */
static bool next_slab(DIR *d, struct slab_name *n)
{
	struct dirent *e;
	while ((e = readdir(d)))
		if (mempool_parse_name(e->d_name, n->state, sizeof(n->state), &n->bytes, n->id,
				       sizeof(n->id))) {
			n->name = e->d_name;
			return true;
		}
	return false;
}

static struct mempool_slab *slab_new(const char *dir, uint64_t bytes, const char *id, int fd, bool reused)
{
	struct mempool_slab *s = calloc(1, sizeof(*s));
	if (!s || strlen(dir) >= sizeof(s->dir) || strlen(id) >= sizeof(s->id)) {
		free(s);
		return NULL;
	}
	s->fd = fd;
	s->reused = reused;
	s->bytes = bytes;
	strcpy(s->dir, dir);
	strcpy(s->id, id);
	return s;
}

/* Opens dir/name and locks it exclusively without waiting: the fd, or -1
 * (gone, or someone holds it). */
static int open_locked(const char *dir, const char *name)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -1;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool delete_if_unheld(const char *dir, const char *name);

struct mempool_slab *mempool_take(const char *dir, uint64_t bytes)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	struct mempool_slab *got = NULL;
	struct slab_name n;
	while (!got && next_slab(d, &n)) {
		char from[PATH_MAX], to[PATH_MAX];
		if (!strcmp(n.state, "busy") || !strcmp(n.state, "fill")) {
			delete_if_unheld(dir, n.name); /* its memory back for the slab this start makes */
			continue;
		}
		if (strcmp(n.state, "free") || n.bytes != bytes)
			continue;
		int fd = open_locked(dir, n.name);
		if (fd < 0)
			continue;
		struct stat st;
		/* Locked, but renamed or taken and given back since readdir:
		 * the name must still be this file, and the size right. Only a
		 * slab this user (or root) made and no one else may write can be
		 * trusted to be zeroed: anyone else's could carry chosen bytes
		 * into the guest. */
		if (slab_path(from, sizeof(from), dir, "free", bytes, n.id) < 0 ||
		    slab_path(to, sizeof(to), dir, "busy", bytes, n.id) < 0 || fstat(fd, &st) < 0 ||
		    (uint64_t)st.st_size != bytes || (st.st_uid != geteuid() && st.st_uid != 0) ||
		    (st.st_mode & (S_IWGRP | S_IWOTH)) || rename(from, to) < 0) {
			close(fd);
			continue;
		}
		if (!(got = slab_new(dir, bytes, n.id, fd, true))) {
			unlink(to); /* zeroed, but no one could give it back */
			close(fd);
		}
	}
	closedir(d);
	return got;
}

/* A new locked file dir/state.bytes.<new id> of bytes (sparse); the fd or -1.
 * Between its creation and the lock another process may take it for a dead
 * one's and delete it (delete_if_unheld): then the name no longer leads to it, and
 * it is made again under a new id. */
static int create_locked(const char *dir, const char *state, uint64_t bytes, char *id, size_t idlen)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		char path[PATH_MAX];
		new_id(id, idlen);
		if (slab_path(path, sizeof(path), dir, state, bytes, id) < 0)
			return errno = ENAMETOOLONG, -1;
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -1;
		struct stat mine, named;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &mine) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (stat(path, &named) < 0 || named.st_ino != mine.st_ino || named.st_dev != mine.st_dev) {
			close(fd); /* reaped before we held it */
			continue;
		}
		if (ftruncate(fd, (off_t)bytes) < 0) {
			int e = errno;
			unlink(path);
			close(fd);
			errno = e;
			return -1;
		}
		return fd;
	}
	return errno = EAGAIN, -1;
}

/* dir/name deleted if no process holds its lock; true if it was. For a busy
 * or fill file that means the process that made it died with a VM's data
 * (or half a fill) in it; for a free one, that no start is taking it. */
static bool delete_if_unheld(const char *dir, const char *name)
{
	int fd = open_locked(dir, name);
	if (fd < 0)
		return false; /* held: alive */
	char path[PATH_MAX];
	bool gone = (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path) &&
		unlink(path) == 0;
	close(fd);
	return gone;
}

struct mempool_slab *mempool_create(const char *dir, uint64_t bytes)
{
	char id[64], path[PATH_MAX];
	int fd = create_locked(dir, "busy", bytes, id, sizeof(id));
	if (fd < 0)
		return NULL;
	struct mempool_slab *s = slab_new(dir, bytes, id, fd, false);
	if (!s) {
		if (slab_path(path, sizeof(path), dir, "busy", bytes, id) == 0)
			unlink(path);
		close(fd);
		errno = ENOMEM;
	}
	return s;
}

int mempool_slab_fd(const struct mempool_slab *s) { return s->fd; }
bool mempool_slab_reused(const struct mempool_slab *s) { return s->reused; }

void mempool_give_back(struct mempool_slab *s, void *map)
{
	if (!s)
		return;
	char busy[PATH_MAX], free_[PATH_MAX];
	bool named = slab_path(busy, sizeof(busy), s->dir, "busy", s->bytes, s->id) == 0 &&
		slab_path(free_, sizeof(free_), s->dir, "free", s->bytes, s->id) == 0;
	if (map && named) {
		/* The VM's data must never reach the next VM: every byte zeroed
		 * before the name says free (the lock is still ours). */
		memset(map, 0, s->bytes);
		if (rename(busy, free_) < 0)
			unlink(busy);
	} else if (named) {
		unlink(busy); /* not mapped: cannot be zeroed here */
	}
	close(s->fd);
	free(s);
}

int mempool_fill(const char *dir, uint64_t bytes, int count, struct carve_err *err)
{
	uint64_t page;
	if (mempool_check(dir, &page, err) < 0)
		return -1;
	if (!bytes || bytes % page)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "a slab of %" PRIu64 " bytes is not a whole number of the pool's %" PRIu64
				  "-byte pages",
				  bytes, page);
	for (int i = 0; i < count; i++) {
		char id[64], fill[PATH_MAX], to[PATH_MAX];
		int fd = create_locked(dir, "fill", bytes, id, sizeof(id));
		if (fd < 0)
			return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE, "memory pool %s: %s", dir,
					  strerror(errno));
		bool named = slab_path(fill, sizeof(fill), dir, "fill", bytes, id) == 0 &&
			slab_path(to, sizeof(to), dir, "free", bytes, id) == 0;
		/* fallocate allocates every page, zeroed by the kernel (hugetlbfs
		 * and tmpfs alike): the zeroing is done here, not at a start. */
		int r = named ? fallocate(fd, 0, 0, (off_t)bytes) : -1;
		int e = errno;
		if (r < 0 || rename(fill, to) < 0) {
			if (named)
				unlink(fill);
			close(fd);
			return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
					  "memory pool %s: slab %d of %d (%" PRIu64 " MiB): %s", dir, i + 1,
					  count, bytes >> 20, strerror(r < 0 ? e : errno));
		}
		close(fd);
	}
	return 0;
}

/* The pool's directory, checked and opened: NULL with E03. */
static DIR *open_pool(const char *dir, struct carve_err *err)
{
	if (mempool_check(dir, NULL, err) < 0)
		return NULL;
	DIR *d = opendir(dir);
	if (!d)
		carve_fail(err, E03_INVALID_ARGUMENT, "memory pool %s: %s", dir, strerror(errno));
	return d;
}

int mempool_census(const char *dir, uint64_t bytes, struct mempool_census *out, struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	DIR *d = open_pool(dir, err);
	if (!d)
		return -1;
	struct slab_name n;
	while (next_slab(d, &n)) {
		if (bytes && n.bytes != bytes)
			continue;
		if (!strcmp(n.state, "free")) {
			out->free++;
			out->free_bytes += n.bytes;
		} else if (!strcmp(n.state, "busy") || !strcmp(n.state, "fill")) {
			if (delete_if_unheld(dir, n.name)) {
				out->stale++;
			} else {
				out->busy++; /* locked: its VM (or filler) is alive */
				out->busy_bytes += n.bytes;
			}
		}
	}
	closedir(d);
	return 0;
}

int mempool_drain(const char *dir, int *deleted, struct carve_err *err)
{
	*deleted = 0;
	DIR *d = open_pool(dir, err);
	if (!d)
		return -1;
	struct slab_name n;
	while (next_slab(d, &n))
		/* Not one a start holds while it takes it. */
		if (!strcmp(n.state, "free") && delete_if_unheld(dir, n.name))
			(*deleted)++;
	closedir(d);
	return 0;
}
