/* See registry.h. */
#include "carve/launch.h"
#include "enclave/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "carve/control.h"
#include "carve/enclave.h"
#include "carve/paths.h"
#include "carve/util.h"

#define FIRST_AUTO_CID 16
#define SAVED_CONSOLE_SECONDS 3600

const char *registry_dir(void) { return carve_sockets_dir(); }

int registry_ensure_dir(struct carve_err *err)
{
	const char *d = registry_dir();
	int rc = mkdir_p(d, 0755);
	if (rc < 0)
		return carve_fail(
			err, E19_FILE_OPERATION,
			"File: '%s', failing operation: 'Create': %s "
			"(set CARVE_SOCKETS_DIR or NITRO_CLI_SOCKETS_PATH to a directory you may write)",
			d, strerror(-rc));
	return 0;
}

void registry_path(uint64_t slot, const char *suffix, char *out, size_t len)
{
	snprintf(out, len, "%s/%llx.%s", registry_dir(), (unsigned long long)slot, suffix);
}

/* Refused by a sockets directory shared with a group (the Debian package's
 * /run/carve and /run/nitro_enclaves, root:carve 2775): say which group
 * may start enclaves there, so the user knows what to ask for. */
static void access_hint(int e, char *out, size_t len)
{
	struct stat st;
	if ((e != EACCES && e != EPERM) || stat(registry_dir(), &st) < 0 || !(st.st_mode & S_ISGID) ||
	    st.st_gid == 0)
		return;
	struct group g, *found = NULL;
	char buf[1024];
	if (getgrgid_r(st.st_gid, &g, buf, sizeof(buf), &found) != 0 || !found)
		return;
	snprintf(out, len,
		 ". Only members of the %s group (and root) may start enclaves here: "
		 "'usermod -aG %s USER' as root, then log in again",
		 found->gr_name, found->gr_name);
}

int registry_lock(int *fd, struct carve_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/.lock", registry_dir());
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0) {
		int e = errno;
		char hint[256] = "";
		access_hint(e, hint, sizeof(hint));
		return carve_fail(err, E15_LOCK_ACQUIRE, "File: '%s', failing operation: 'Open': %s%s", path,
				  strerror(e), hint);
	}
	while (flock(*fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(*fd);
			return carve_fail(err, E15_LOCK_ACQUIRE, "cannot lock '%s': %s", path,
					  strerror(errno));
		}
	return 0;
}

void registry_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

int registry_connect(uint64_t slot)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	registry_path(slot, "sock", addr.sun_path, sizeof(addr.sun_path));
	/* Non-blocking: a stopped or flooded enclave process whose listen
	 * backlog is full answers EAGAIN at once instead of blocking us. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int registry_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

int registry_send(uint64_t slot, const struct control_request *req)
{
	int fd = registry_connect(slot);
	if (fd < 0)
		return -1;
	char line[128];
	int n = control_format_request(req, line, sizeof(line));
	/* MSG_NOSIGNAL: an enclave process that refuses or drops us is an
	 * error to report, never a SIGPIPE that kills the CLI without a word.
	 * The request is far below the socket buffer: one send. */
	if (n <= 0 || send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		errno = EPIPE;
		return -1;
	}
	return fd;
}

bool registry_slot_alive(uint64_t slot)
{
	char path[4096];
	registry_path(slot, "alive", path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd); /* drops our shared lock, if we got it */
	return held;
}

int registry_wait_gone(uint64_t slot, int timeout_ms)
{
	for (int waited = 0; registry_slot_alive(slot); waited += 10) {
		if (waited >= timeout_ms)
			return -1;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	return 0;
}

json_object *registry_read_json(const char *path)
{
	uint8_t *data;
	size_t len;
	struct carve_err ignored = {0};
	if (file_read_all(path, 4096, &data, &len, E19_FILE_OPERATION, &ignored) < 0)
		return NULL;
	json_object *o = json_tokener_parse((const char *)data);
	free(data);
	return o;
}

static int read_record(const char *path, struct registry_entry *e)
{
	json_object *o = registry_read_json(path), *v;
	int rc = -1;
	if (o && json_object_object_get_ex(o, "name", &v)) {
		snprintf(e->name, sizeof(e->name), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(o, "cid", &v))
			e->cid = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(o, "pid", &v))
			e->pid = (pid_t)json_object_get_int(v);
		if (json_object_object_get_ex(o, "vcpus", &v))
			e->vcpus = json_object_get_int(v);
		if (json_object_object_get_ex(o, "mem_mib", &v))
			e->mem_mib = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(o, "debug", &v))
			e->debug = json_object_get_boolean(v);
		if (json_object_object_get_ex(o, "cpus", &v))
			e->ncpus = json_int_array_read(v, e->cpus, ENCLAVE_MAX_CPUS);
		if (e->ncpus < 0)
			e->ncpus = 0;
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

/* Saved consoles, exit records and event logs of stopped enclaves are kept
 * for an hour; a live enclave's log is never removed however quiet it is. */
static void expire_saved(const char *file, uint64_t slot)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", registry_dir(), file);
	if (stat(path, &st) == 0 && time(NULL) - st.st_mtime > SAVED_CONSOLE_SECONDS &&
	    !registry_slot_alive(slot))
		unlink(path);
}

int registry_list(struct registry_entry **out, int *count, struct carve_err *err)
{
	*out = NULL;
	*count = 0;
	DIR *d = opendir(registry_dir());
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return carve_fail(err, E07_READ_FROM_DISK, "cannot read '%s': %s", registry_dir(),
				  strerror(errno));
	}
	struct registry_entry *list = NULL;
	int n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *dot = strrchr(de->d_name, '.');
		if (!dot || dot == de->d_name)
			continue;
		char *end;
		unsigned long long slot = strtoull(de->d_name, &end, 16);
		if (end != dot)
			continue;
		if (!strcmp(dot, ".console") || !strcmp(dot, ".exited") || !strcmp(dot, ".log")) {
			expire_saved(de->d_name, slot);
			continue;
		}
		if (strcmp(dot, ".record"))
			continue;
		struct registry_entry e = {.slot = slot, .alive_fd = -1};
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", registry_dir(), de->d_name);
		if (!registry_slot_alive(slot)) {
			/* Its owner is gone without cleaning up (killed): a record is
			 * written only after its lock is taken, so this is not a
			 * start in progress. */
			registry_release(slot);
			continue;
		}
		if (read_record(path, &e) < 0)
			continue; /* being replaced this instant: listed next time */
		enclave_format_id(slot, e.id, sizeof(e.id));
		char sock[4096];
		registry_path(slot, "sock", sock, sizeof(sock));
		e.starting = access(sock, F_OK) != 0;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct registry_entry *nl = realloc(list, (size_t)cap * sizeof(*nl));
			if (!nl) {
				free(list);
				closedir(d);
				return carve_fail(err, E00_UNSPECIFIED, "out of memory");
			}
			list = nl;
		}
		list[n++] = e;
	}
	closedir(d);
	*out = list;
	*count = n;
	return 0;
}

static bool cid_used(const struct registry_entry *l, int n, uint64_t cid)
{
	for (int i = 0; i < n; i++)
		if (l[i].cid == cid)
			return true;
	return false;
}

static bool slot_used(const struct registry_entry *l, int n, uint64_t slot)
{
	for (int i = 0; i < n; i++)
		if (l[i].slot == slot)
			return true;
	return false;
}

int registry_reserve(const char *base_name, uint64_t cid, pid_t pid, registry_choose_fn choose,
		     void *choose_ctx, struct registry_entry *out, struct carve_err *err)
{
	int lock;
	if (registry_ensure_dir(err) < 0 || registry_lock(&lock, err) < 0)
		return -1;
	struct registry_entry *list;
	int n, rc = -1;
	if (registry_list(&list, &n, err) < 0)
		goto out_unlock;
	const struct registry_entry given = *out;
	memset(out, 0, sizeof(*out));
	out->vcpus = given.vcpus;
	out->mem_mib = given.mem_mib;
	out->debug = given.debug;
	out->alive_fd = -1;
	if (cid == 0) {
		for (cid = FIRST_AUTO_CID; cid_used(list, n, cid); cid++)
			;
	} else if (cid_used(list, n, cid)) {
		carve_fail(err, E03_INVALID_ARGUMENT, "CID %llu is already used by another enclave",
			   (unsigned long long)cid);
		goto out_free;
	}
	/* Slots are random so ids are not reused soon after an enclave ends. */
	do {
		if (getrandom(&out->slot, sizeof(out->slot), 0) != sizeof(out->slot))
			out->slot = monotonic_ns();
		out->slot &= 0xffffffffffffull;
	} while (out->slot == 0 || slot_used(list, n, out->slot));
	const char *taken[256];
	int nt = 0;
	for (int i = 0; i < n && nt < 256; i++)
		taken[nt++] = list[i].name;
	enclave_unique_name(base_name, taken, nt, out->name, sizeof(out->name));
	out->cid = cid;
	out->pid = pid;
	out->starting = true;
	if (choose && choose(choose_ctx, list, n, out, err) < 0)
		goto out_free;
	/* The lock first, then the record: a lister that finds a record can
	 * trust an unlocked .alive to mean the owner is gone. */
	char alive[4096];
	registry_path(out->slot, "alive", alive, sizeof(alive));
	out->alive_fd = open(alive, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out->alive_fd < 0 || flock(out->alive_fd, LOCK_EX | LOCK_NB) < 0) {
		carve_fail(err, E15_LOCK_ACQUIRE, "File: '%s', failing operation: 'Lock': %s", alive,
			   strerror(errno));
		if (out->alive_fd >= 0)
			close(out->alive_fd);
		out->alive_fd = -1;
		goto out_free;
	}
	fchmod(out->alive_fd, 0644); /* every user may test the lock */
	rc = registry_reservation_update_pid(out, pid, err);
	if (rc < 0) {
		registry_release(out->slot);
		close(out->alive_fd);
		out->alive_fd = -1;
	}
out_free:
	free(list);
out_unlock:
	registry_unlock(lock);
	return rc;
}

int registry_reservation_update_pid(const struct registry_entry *e, pid_t pid, struct carve_err *err)
{
	char path[4096];
	registry_path(e->slot, "record", path, sizeof(path));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(e->name));
	json_object_object_add(o, "cid", json_object_new_int64((int64_t)e->cid));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "vcpus", json_object_new_int(e->vcpus));
	json_object_object_add(o, "mem_mib", json_object_new_int64((int64_t)e->mem_mib));
	json_object_object_add(o, "debug", json_object_new_boolean(e->debug));
	json_object_object_add(o, "cpus", json_int_array(e->cpus, e->ncpus));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int rc = file_write_atomic(path, text, strlen(text), err);
	/* Anyone may list enclaves, whatever the owner's umask. */
	if (rc == 0)
		(void)chmod(path, 0644);
	json_object_put(o);
	return rc;
}

void registry_release(uint64_t slot)
{
	static const char *const parts[] = {"record", "sock", "alive"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(*parts); i++) {
		char path[4096];
		registry_path(slot, parts[i], path, sizeof(path));
		unlink(path);
	}
}

int registry_find_exited(const char *name, uint64_t *slot)
{
	DIR *d = opendir(registry_dir());
	if (!d)
		return -1;
	struct dirent *de;
	time_t newest = 0;
	int rc = -1;
	while ((de = readdir(d))) {
		char *dot = strrchr(de->d_name, '.');
		if (!dot || strcmp(dot, ".exited"))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", registry_dir(), de->d_name);
		struct stat st;
		json_object *o, *v;
		if (stat(path, &st) < 0 || !(o = registry_read_json(path)))
			continue;
		if (o && json_object_object_get_ex(o, "EnclaveName", &v) &&
		    !strcmp(json_object_get_string(v), name) && st.st_mtime >= newest) {
			char *end;
			unsigned long long s = strtoull(de->d_name, &end, 16);
			if (end == dot) {
				*slot = s;
				newest = st.st_mtime;
				rc = 0;
			}
		}
		json_object_put(o);
	}
	closedir(d);
	return rc;
}

void enclave_vsock_dir(char *out, size_t len)
{
	const char *env = getenv("CARVE_VSOCK_DIR");
	if (env && *env)
		snprintf(out, len, "%s", env);
	else
		snprintf(out, len, "%s/vsock", registry_dir());
}
