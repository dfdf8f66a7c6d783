/* The application ramdisk of a container image (see carve/ramdisk.h): the
 * image part hands out its final tree, sorted; this file lays it out under
 * rootfs/ next to cmd, env and workdir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "carve/image.h"
#include "carve/ramdisk.h"
#include "ramdisk/cpio_writer.h"

/* The empty directories nitro-cli adds under rootfs/, sorted. */
static const char *const mount_dirs[] = {"dev", "proc", "run", "sys", "tmp", "var"};
#define NMOUNT (sizeof(mount_dirs) / sizeof(*mount_dirs))
#define PATH_LEN 4200

char *const *ramdisk_image_command(const struct image_config *c)
{
	if (c->cmd && c->cmd[0])
		return c->cmd;
	if (c->entrypoint && c->entrypoint[0])
		return c->entrypoint;
	return NULL;
}

/* One entry per line, each ending in '\n'; E48 for an entry with a newline. */
static int write_lines(struct cpio_writer *w, const char *name, char *const *items, struct carve_err *err)
{
	size_t total = 0;
	for (size_t i = 0; items && items[i]; i++) {
		if (strchr(items[i], '\n'))
			return carve_fail(err, E48_EIF_BUILDING,
					  "the image's %s entry '%.100s' holds a newline; "
					  "the enclave's %s file has one entry per line",
					  name, items[i], name);
		total += strlen(items[i]) + 1;
	}
	char *buf = malloc(total + 1), *p = buf;
	if (!buf)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	for (size_t i = 0; items && items[i]; i++)
		p += sprintf(p, "%s\n", items[i]);
	int rc = cpio_add_data(w, name, 0644, buf, total, err);
	free(buf);
	return rc;
}

struct hardlink {
	uint64_t link_id, ino;
};

struct emit {
	struct cpio_writer *w;
	const struct image *img;
	size_t next_mount; /* mount_dirs[] before this one are written or present */
	struct hardlink *links;
	size_t nlinks, cap;
	const struct image_entry *cur;
	uint64_t done;
};

static ssize_t read_entry(void *ctx, void *buf, size_t len)
{
	struct emit *em = ctx;
	ssize_t n = image_read(em->img, em->cur, em->done, buf, len);
	if (n > 0)
		em->done += (uint64_t)n;
	return n;
}

/* Mount-point directories that sort before `upto` (NULL: all the rest). */
static int mounts_before(struct emit *em, const char *upto, struct carve_err *err)
{
	for (; em->next_mount < NMOUNT; em->next_mount++) {
		int c = upto ? strcmp(mount_dirs[em->next_mount], upto) : -1;
		if (c > 0)
			break;
		if (c == 0)
			continue; /* the image has it */
		char name[32];
		snprintf(name, sizeof(name), "rootfs/%s", mount_dirs[em->next_mount]);
		if (cpio_add_dir(em->w, name, 0755, err) < 0)
			return -1;
	}
	return 0;
}

/* The inode number of a hard-link group, the same for all its names. */
static int link_ino(struct emit *em, uint64_t link_id, uint64_t *ino, struct carve_err *err)
{
	for (size_t i = 0; i < em->nlinks; i++)
		if (em->links[i].link_id == link_id) {
			*ino = em->links[i].ino;
			return 0;
		}
	if (em->nlinks == em->cap) {
		size_t cap = em->cap ? em->cap * 2 : 16;
		struct hardlink *l = realloc(em->links, cap * sizeof(*l));
		if (!l)
			return carve_fail(err, E00_UNSPECIFIED, "out of memory");
		em->links = l;
		em->cap = cap;
	}
	*ino = cpio_next_ino(em->w);
	em->links[em->nlinks++] = (struct hardlink){link_id, *ino};
	return 0;
}

static int emit_entry(void *ctx, const struct image_entry *e, struct carve_err *err)
{
	struct emit *em = ctx;
	if (!strchr(e->path, '/') && mounts_before(em, e->path, err) < 0)
		return -1;
	char name[PATH_LEN];
	snprintf(name, sizeof(name), "rootfs/%s", e->path);
	struct cpio_item it = {
		.name = name,
		.mode = e->mode,
		.uid = e->uid,
		.gid = e->gid,
		.size = e->size,
		.target = e->target,
		.rdev = e->rdev,
	};
	if (S_ISREG(e->mode) && e->nlink > 1) {
		if (link_ino(em, e->link_id, &it.ino, err) < 0)
			return -1;
		it.nlink = e->nlink;
	}
	em->cur = e;
	em->done = 0;
	return cpio_add(em->w, &it, read_entry, em, err);
}

int ramdisk_write_image_app(const struct image *img, const char *out_path, struct carve_err *err)
{
	const struct image_config *c = image_get_config(img);
	char *const *argv = ramdisk_image_command(c);
	if (!argv)
		return carve_fail(
			err, E48_EIF_BUILDING,
			"UnsupportedEntryPoint: the image has neither Cmd nor "
			"Entrypoint, so the enclave would have nothing to run; add CMD [\"/path/to/app\"] to "
			"its Dockerfile");
	struct cpio_writer w;
	struct emit em = {.w = &w, .img = img};
	int rc = cpio_open(&w, out_path, err);
	if (rc == 0)
		rc = write_lines(&w, "cmd", argv, err);
	if (rc == 0)
		rc = write_lines(&w, "env", c->env, err);
	if (rc == 0)
		rc = cpio_add_dir(&w, "rootfs", 0755, err);
	if (rc == 0)
		rc = image_walk(img, emit_entry, &em, err) ? -1 : 0;
	if (rc == 0)
		rc = mounts_before(&em, NULL, err);
	if (rc == 0 && c->workdir && *c->workdir) {
		char *const wd[] = {c->workdir, NULL};
		rc = write_lines(&w, "workdir", wd, err);
	}
	free(em.links);
	if (cpio_close(&w, err) < 0)
		rc = -1;
	return rc;
}
