/* The application and bootstrap ramdisks (see carve/ramdisk.h). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "carve/ramdisk.h"
#include "ramdisk/cpio_writer.h"

/* The empty directories nitro-cli adds under rootfs/ for the mounts init makes. */
static const char *const mount_dirs[] = {"dev", "run", "sys", "var", "proc", "tmp"};
#define PATH_MAX_LEN 4096

/* Lines of a cmd or env file: each entry and a '\n'. */
static char *join_lines(const char *const *items, int n, size_t *len)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += strlen(items[i]) + 1;
	char *buf = malloc(total + 1), *p = buf;
	if (!buf)
		return NULL;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(items[i]);
		memcpy(p, items[i], l);
		p[l] = '\n';
		p += l + 1;
	}
	*p = '\0';
	*len = total;
	return buf;
}

static int check_entries(const struct ramdisk_app *app, struct carve_err *err)
{
	if (app->argc < 1 || !app->argv[0][0])
		return carve_fail(err, E03_INVALID_ARGUMENT, "--cmd names no program");
	for (int i = 0; i < app->argc; i++)
		if (strchr(app->argv[i], '\n'))
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "--cmd word %d has a newline; cmd holds one word per line", i);
	for (int i = 0; i < app->envc; i++) {
		const char *eq = strchr(app->env[i], '=');
		if (!eq || eq == app->env[i])
			return carve_fail(err, E03_INVALID_ARGUMENT, "--env '%s' is not KEY=VALUE",
					  app->env[i]);
		if (strchr(app->env[i], '\n'))
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "--env '%s' has a newline; env holds one entry per line",
					  app->env[i]);
	}
	return 0;
}

static ssize_t read_fd(void *ctx, void *buf, size_t len)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

struct dir_item {
	char *name;
	bool synthetic; /* a mount-point directory the rootfs lacks */
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dir_item *)a)->name, ((const struct dir_item *)b)->name);
}

static int push_item(struct dir_item **items, size_t *n, size_t *cap, const char *name, bool synthetic)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct dir_item *ni = realloc(*items, c * sizeof(*ni));
		if (!ni)
			return -1;
		*items = ni;
		*cap = c;
	}
	(*items)[*n].name = strdup(name);
	(*items)[*n].synthetic = synthetic;
	return (*items)[(*n)++].name ? 0 : -1;
}

/* One directory entry, of any type, at archive path `path`. */
static int add_entry(struct cpio_writer *w, int dirfd, const char *name, const char *path,
		     struct carve_err *err);

/* Adds dirfd's entries under archive path `prefix`, sorted, depth first. At
 * the top it also adds the mount-point directories the rootfs lacks. Takes
 * ownership of fd. */
static int add_tree(struct cpio_writer *w, int fd, const char *prefix, bool top, struct carve_err *err)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return carve_fail(err, E19_FILE_OPERATION, "reading directory '%s': %s", prefix,
				  strerror(errno));
	}
	struct dir_item *items = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = push_item(&items, &n, &cap, de->d_name, false);
	for (size_t m = 0; top && rc == 0 && m < sizeof(mount_dirs) / sizeof(*mount_dirs); m++) {
		struct stat st;
		if (fstatat(dirfd(d), mount_dirs[m], &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = push_item(&items, &n, &cap, mount_dirs[m], true);
	}
	if (rc < 0)
		rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
	if (n)
		qsort(items, n, sizeof(*items), by_name);

	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[PATH_MAX_LEN];
		if (snprintf(path, sizeof(path), "%s/%s", prefix, items[i].name) >= (int)sizeof(path))
			rc = carve_fail(err, E03_INVALID_ARGUMENT, "path too long under '%s'", prefix);
		else if (items[i].synthetic)
			rc = cpio_add_dir(w, path, 0755, err);
		else
			rc = add_entry(w, dirfd(d), items[i].name, path, err);
	}
	for (size_t i = 0; i < n; i++)
		free(items[i].name);
	free(items);
	closedir(d);
	return rc;
}

static int add_entry(struct cpio_writer *w, int dirfd, const char *name, const char *path,
		     struct carve_err *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return carve_fail(err, E19_FILE_OPERATION, "stat '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (cpio_add_dir(w, path, st.st_mode, err) < 0)
			return -1;
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return carve_fail(err, E19_FILE_OPERATION, "open '%s': %s", path, strerror(errno));
		return add_tree(w, sub, path, false, err);
	}
	if (S_ISREG(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return carve_fail(err, E19_FILE_OPERATION, "open '%s': %s", path, strerror(errno));
		int rc = cpio_add_stream(w, path, st.st_mode, (uint64_t)st.st_size, read_fd, &fd, err);
		close(fd);
		return rc;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX_LEN];
		ssize_t l = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (l < 0)
			return carve_fail(err, E19_FILE_OPERATION, "readlink '%s': %s", path,
					  strerror(errno));
		target[l] = '\0';
		return cpio_add_symlink(w, path, target, err);
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))
		return cpio_add_special(w, path, st.st_mode & S_IFMT, st.st_mode, st.st_rdev, err);
	return 0; /* sockets cannot live in an archive; they are left out */
}

/* ---- tarball input ---- */

/* Directories already in the archive, so implicit parents are added once. */
struct dir_set {
	char **paths;
	size_t n, cap;
};

static bool dir_set_has(const struct dir_set *s, const char *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->paths[i], p))
			return true;
	return false;
}

static int dir_set_add(struct dir_set *s, const char *p)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **np = realloc(s->paths, cap * sizeof(*np));
		if (!np)
			return -1;
		s->paths = np;
		s->cap = cap;
	}
	if (!(s->paths[s->n] = strdup(p)))
		return -1;
	s->n++;
	return 0;
}

/* Adds every missing parent directory of `path` (an archive path). */
static int ensure_parents(struct cpio_writer *w, struct dir_set *dirs, const char *path,
			  struct carve_err *err)
{
	char buf[PATH_MAX_LEN];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *slash = strchr(buf, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (!dir_set_has(dirs, buf)) {
			if (dir_set_add(dirs, buf) < 0)
				return carve_fail(err, E00_UNSPECIFIED, "out of memory");
			if (cpio_add_dir(w, buf, 0755, err) < 0)
				return -1;
		}
		*slash = '/';
	}
	return 0;
}

struct tar_reader {
	struct archive *a;
};

static ssize_t read_tar(void *ctx, void *buf, size_t len)
{
	la_ssize_t n = archive_read_data(((struct tar_reader *)ctx)->a, buf, len);
	if (n < 0)
		errno = EIO;
	return n;
}

/* "./usr/bin/x", "/usr/bin/x" -> "rootfs/usr/bin/x"; ".." is refused so an
 * archive cannot place files outside rootfs/. */
static int tar_name(const char *name, char *out, size_t len, struct carve_err *err)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (*name == '/')
		name++;
	size_t n = strlen(name);
	while (n && name[n - 1] == '/')
		n--;
	for (const char *p = name; p < name + n;) {
		const char *e = memchr(p, '/', (size_t)(name + n - p));
		size_t l = e ? (size_t)(e - p) : (size_t)(name + n - p);
		if (l == 2 && p[0] == '.' && p[1] == '.')
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "the tarball has an entry outside its root: '%s'", name);
		p += l + 1;
	}
	if (n == 0 || (n == 1 && name[0] == '.')) {
		snprintf(out, len, "rootfs");
		return 1; /* the root itself */
	}
	if ((size_t)snprintf(out, len, "rootfs/%.*s", (int)n, name) >= len)
		return carve_fail(err, E03_INVALID_ARGUMENT, "path too long in tarball: '%s'", name);
	return 0;
}

static int add_tarball(struct cpio_writer *w, const char *path, struct carve_err *err)
{
	struct tar_reader t = {archive_read_new()};
	struct dir_set dirs = {0};
	int rc = 0;
	archive_read_support_filter_all(t.a);
	archive_read_support_format_tar(t.a);
	archive_read_support_format_gnutar(t.a);
	if (archive_read_open_filename(t.a, path, 64 * 1024) != ARCHIVE_OK) {
		rc = carve_fail(err, E03_INVALID_ARGUMENT,
				"--rootfs '%s' is neither a directory nor a tar "
				"archive: %s",
				path, archive_error_string(t.a));
		goto out;
	}
	if (cpio_add_dir(w, "rootfs", 0755, err) < 0 || dir_set_add(&dirs, "rootfs") < 0) {
		rc = -1;
		goto out;
	}
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(t.a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		char name[PATH_MAX_LEN];
		int kind = tar_name(archive_entry_pathname(e), name, sizeof(name), err);
		if (kind < 0) {
			rc = -1;
			goto out;
		}
		if (kind == 1)
			continue;
		if (ensure_parents(w, &dirs, name, err) < 0) {
			rc = -1;
			goto out;
		}
		mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e);
		const char *hardlink = archive_entry_hardlink(e);
		if (hardlink) {
			/* newc hard links need the data again; the tar stream has
			 * passed it. A symlink to the first name reads the same. */
			char target[PATH_MAX_LEN];
			if (tar_name(hardlink, target, sizeof(target), err) < 0) {
				rc = -1;
				goto out;
			}
			rc = cpio_add_symlink(w, name, target + strlen("rootfs"), err);
		} else if (type == AE_IFDIR) {
			if (dir_set_has(&dirs, name))
				continue;
			if (dir_set_add(&dirs, name) < 0) {
				rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
				goto out;
			}
			rc = cpio_add_dir(w, name, perm, err);
		} else if (type == AE_IFREG) {
			rc = cpio_add_stream(w, name, perm, (uint64_t)archive_entry_size(e), read_tar, &t,
					     err);
		} else if (type == AE_IFLNK) {
			rc = cpio_add_symlink(w, name, archive_entry_symlink(e), err);
		} else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO) {
			rc = cpio_add_special(w, name, type, perm, archive_entry_rdev(e), err);
		}
		if (rc < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		rc = carve_fail(err, E03_INVALID_ARGUMENT, "reading tarball '%s': %s", path,
				archive_error_string(t.a));
		goto out;
	}
	for (size_t m = 0; m < sizeof(mount_dirs) / sizeof(*mount_dirs); m++) {
		char name[64];
		snprintf(name, sizeof(name), "rootfs/%s", mount_dirs[m]);
		if (!dir_set_has(&dirs, name) && (rc = cpio_add_dir(w, name, 0755, err)) < 0)
			goto out;
	}
out:
	for (size_t i = 0; i < dirs.n; i++)
		free(dirs.paths[i]);
	free(dirs.paths);
	archive_read_free(t.a);
	return rc;
}

int ramdisk_write_app(const struct ramdisk_app *app, const char *out_path, struct carve_err *err)
{
	if (check_entries(app, err) < 0)
		return -1;
	struct stat st;
	if (stat(app->rootfs, &st) < 0)
		return carve_fail(err, E19_FILE_OPERATION,
				  "File: '%s', failing operation: 'Open' (--rootfs): %s", app->rootfs,
				  strerror(errno));
	struct cpio_writer w;
	int rc = cpio_open(&w, out_path, err);
	size_t cmd_len = 0, env_len = 0;
	char *cmd = join_lines(app->argv, app->argc, &cmd_len);
	char *env = join_lines(app->env, app->envc, &env_len);
	if (rc == 0 && (!cmd || !env))
		rc = carve_fail(err, E00_UNSPECIFIED, "out of memory");
	if (rc == 0)
		rc = cpio_add_data(&w, "cmd", 0644, cmd, cmd_len, err);
	if (rc == 0)
		rc = cpio_add_data(&w, "env", 0644, env, env_len, err);
	if (rc == 0 && S_ISDIR(st.st_mode)) {
		rc = cpio_add_dir(&w, "rootfs", 0755, err);
		int fd = open(app->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rc == 0 && fd < 0)
			rc = carve_fail(err, E19_FILE_OPERATION, "open '%s': %s", app->rootfs,
					strerror(errno));
		if (rc == 0)
			rc = add_tree(&w, fd, "rootfs", true, err);
	} else if (rc == 0) {
		rc = add_tarball(&w, app->rootfs, err);
	}
	free(cmd);
	free(env);
	if (cpio_close(&w, err) < 0)
		rc = -1;
	return rc;
}

int ramdisk_write_bootstrap(const char *out_path, struct carve_err *err)
{
	struct cpio_writer w;
	int rc = cpio_open(&w, out_path, err);
	if (rc == 0)
		rc = cpio_add_dir(&w, "dev", 0755, err);
	if (cpio_close(&w, err) < 0)
		rc = -1;
	return rc;
}
