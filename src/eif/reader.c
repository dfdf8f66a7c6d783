/* Opening an EIF: every structural rule is checked here, before any payload
 * is read, so later stages can trust offsets and sizes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/format.h"

#define FAIL(...) carve_fail(err, E35_EIF_PARSING, __VA_ARGS__)

static int check_header(struct eif_image *img, const char *name, struct carve_err *err)
{
	const uint8_t *h = img->header;
	if (memcmp(h + EIF_OFF_MAGIC, EIF_MAGIC, 4) != 0)
		return FAIL("'%s' is not an Enclave Image File: bad magic %02x %02x %02x %02x "
			    "(expected 2e 65 69 66, \".eif\")",
			    name, h[0], h[1], h[2], h[3]);
	img->version = be16_get(h + EIF_OFF_VERSION);
	/* v1 had no CRC; v2 added it, v3 the signature, v4 the metadata. The
	 * layout rules are the same from v2 on. */
	if (img->version < 2 || img->version > EIF_CURRENT_VERSION)
		return FAIL("'%s' has EIF version %u; carve reads versions 2 to %d", name, img->version,
			    EIF_CURRENT_VERSION);
	img->flags = be16_get(h + EIF_OFF_FLAGS);
	if (img->flags & ~EIF_FLAG_ARCH_ARM64)
		return FAIL("'%s' has unknown header flags 0x%04x (only bit 0, aarch64, is defined)", name,
			    img->flags);
	img->default_mem = be64_get(h + EIF_OFF_DEFAULT_MEM);
	img->default_cpus = be64_get(h + EIF_OFF_DEFAULT_CPUS);
	img->crc_stored = be32_get(h + EIF_CRC_OFFSET);
	unsigned n = be16_get(h + EIF_OFF_NUM_SECTIONS);
	if (n == 0)
		return FAIL("'%s' has no sections", name);
	if (n > EIF_MAX_SECTIONS)
		return FAIL("'%s' declares %u sections; an EIF has at most %d", name, n, EIF_MAX_SECTIONS);
	img->nsections = (int)n;
	return 0;
}

/* Reads and checks section i's header against the table. `expected_offset`
 * is where the previous section ended: EIF sections are packed back to back
 * with no gaps (aws-nitro-enclaves-image-format, src/defs), which also rules out overlap. */
static int check_section(struct eif_image *img, int i, uint64_t expected_offset, const char *name,
			 struct carve_err *err)
{
	struct eif_section *s = &img->sections[i];
	s->offset = be64_get(img->header + EIF_OFF_SECTION_OFFSETS + 8 * i);
	uint64_t table_size = be64_get(img->header + EIF_OFF_SECTION_SIZES + 8 * i);

	if (s->offset != expected_offset) {
		if (s->offset < expected_offset)
			return FAIL(
				"'%s': section %d starts at byte %llu, inside the %s (which ends at %llu)",
				name, i, (unsigned long long)s->offset, i ? "previous section" : "header",
				(unsigned long long)expected_offset);
		return FAIL(
			"'%s': section %d starts at byte %llu, leaving a gap of %llu bytes after byte %llu",
			name, i, (unsigned long long)s->offset,
			(unsigned long long)(s->offset - expected_offset),
			(unsigned long long)expected_offset);
	}
	if (s->offset > img->file_size || img->file_size - s->offset < EIF_SECTION_HEADER_SIZE)
		return FAIL("'%s' is truncated: section %d's header at byte %llu is past the end "
			    "of the file (%llu bytes)",
			    name, i, (unsigned long long)s->offset, (unsigned long long)img->file_size);

	uint8_t sh[EIF_SECTION_HEADER_SIZE];
	int rc = pread_full(img->fd, sh, sizeof(sh), s->offset);
	if (rc < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Read': %s", name,
				  strerror(-rc));
	s->type = be16_get(sh);
	s->flags = be16_get(sh + 2);
	s->size = be64_get(sh + 4);
	if (s->type == EIF_SECTION_INVALID || s->type > EIF_SECTION_METADATA)
		return FAIL("'%s': section %d has unknown type %u (known: 1 kernel, 2 cmdline, "
			    "3 ramdisk, 4 signature, 5 metadata)",
			    name, i, s->type);
	if (s->flags != 0)
		return FAIL("'%s': section %d (%s) has flags 0x%04x; no section flags are defined", name, i,
			    eif_section_type_name(s->type), s->flags);
	if (s->size != table_size)
		return FAIL("'%s': section %d (%s) is %llu bytes by its own header but %llu by the "
			    "header's table",
			    name, i, eif_section_type_name(s->type), (unsigned long long)s->size,
			    (unsigned long long)table_size);
	uint64_t room = img->file_size - s->offset - EIF_SECTION_HEADER_SIZE;
	if (s->size > room)
		return FAIL("'%s' is truncated: section %d (%s) needs %llu bytes but only %llu remain", name,
			    i, eif_section_type_name(s->type), (unsigned long long)s->size,
			    (unsigned long long)room);
	return 0;
}

static int assign_roles(struct eif_image *img, const char *name, struct carve_err *err)
{
	img->kernel = img->cmdline = img->metadata = img->signature = -1;
	img->nramdisks = 0;
	for (int i = 0; i < img->nsections; i++) {
		int *slot = NULL;
		switch (img->sections[i].type) {
		case EIF_SECTION_KERNEL: slot = &img->kernel; break;
		case EIF_SECTION_CMDLINE: slot = &img->cmdline; break;
		case EIF_SECTION_METADATA: slot = &img->metadata; break;
		case EIF_SECTION_SIGNATURE: slot = &img->signature; break;
		case EIF_SECTION_RAMDISK: img->ramdisks[img->nramdisks++] = i; continue;
		}
		if (*slot >= 0)
			return FAIL("'%s' has two %s sections (%d and %d); an EIF has one", name,
				    eif_section_type_name(img->sections[i].type), *slot, i);
		*slot = i;
	}
	if (img->kernel < 0)
		return FAIL("'%s' has no kernel section", name);
	if (img->cmdline < 0)
		return FAIL("'%s' has no cmdline section", name);
	if (img->nramdisks == 0)
		return FAIL("'%s' has no ramdisk section", name);
	if (img->sections[img->cmdline].size > EIF_CMDLINE_MAX)
		return FAIL("'%s': the command line is %llu bytes; at most %d are allowed", name,
			    (unsigned long long)img->sections[img->cmdline].size, EIF_CMDLINE_MAX);
	if (img->metadata >= 0 && img->sections[img->metadata].size > EIF_METADATA_MAX)
		return FAIL("'%s': the metadata section is %llu bytes; at most %d are allowed", name,
			    (unsigned long long)img->sections[img->metadata].size, EIF_METADATA_MAX);
	if (img->signature >= 0 && img->sections[img->signature].size > EIF_SIGNATURE_MAX)
		return FAIL("'%s': the signature section is %llu bytes; at most %d are allowed", name,
			    (unsigned long long)img->sections[img->signature].size, EIF_SIGNATURE_MAX);
	return 0;
}

int eif_open_fd(struct eif_image *img, int fd, const char *name, struct carve_err *err)
{
	memset(img, 0, sizeof(*img));
	img->fd = -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Stat': %s", name,
				  strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return carve_fail(err, E19_FILE_OPERATION, "'%s' is not a regular file", name);
	img->file_size = (uint64_t)st.st_size;
	if (img->file_size < EIF_HEADER_SIZE)
		return FAIL("'%s' is truncated: %llu bytes, but an EIF header alone is %d", name,
			    (unsigned long long)img->file_size, EIF_HEADER_SIZE);
	int rc = pread_full(fd, img->header, EIF_HEADER_SIZE, 0);
	if (rc < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Read': %s", name,
				  strerror(-rc));
	img->fd = fd;
	if (check_header(img, name, err) < 0)
		goto fail;
	uint64_t end = EIF_HEADER_SIZE;
	for (int i = 0; i < img->nsections; i++) {
		if (check_section(img, i, end, name, err) < 0)
			goto fail;
		end = eif_section_payload(&img->sections[i]) + img->sections[i].size;
	}
	/* Bytes past the last section are covered by no CRC and belong to no
	 * section: a truncated copy target or a concatenation, never valid. */
	if (end != img->file_size) {
		FAIL("'%s' has %llu bytes of trailing data after its last section", name,
		     (unsigned long long)(img->file_size - end));
		goto fail;
	}
	if (assign_roles(img, name, err) < 0)
		goto fail;
	img->path = strdup(name);
	return 0;
fail:
	img->fd = -1;
	return -1;
}

int eif_open(struct eif_image *img, const char *path, struct carve_err *err)
{
	int fd = file_open_regular(path, err); /* a FIFO must not hang the open */
	if (fd < 0) {
		memset(img, 0, sizeof(*img));
		img->fd = -1;
		return -1;
	}
	if (eif_open_fd(img, fd, path, err) < 0) {
		close(fd);
		return -1;
	}
	img->owns_fd = true;
	return 0;
}

void eif_close(struct eif_image *img)
{
	if (img->owns_fd && img->fd >= 0)
		close(img->fd);
	free(img->path);
	img->path = NULL;
	img->fd = -1;
	img->owns_fd = false;
}

int eif_read_section(struct eif_image *img, int index, size_t max, uint8_t **data, size_t *len,
		     struct carve_err *err)
{
	if (index < 0 || index >= img->nsections)
		return carve_fail(err, E35_EIF_PARSING, "no section %d", index);
	const struct eif_section *s = &img->sections[index];
	if (s->size > max)
		return FAIL("'%s': the %s section is %llu bytes; at most %zu are allowed", img->path,
			    eif_section_type_name(s->type), (unsigned long long)s->size, max);
	uint8_t *buf = malloc((size_t)s->size + 1);
	if (!buf)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	int rc = pread_full(img->fd, buf, (size_t)s->size, eif_section_payload(s));
	if (rc < 0) {
		free(buf);
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Read': %s",
				  img->path, strerror(-rc));
	}
	buf[s->size] = '\0';
	*data = buf;
	*len = (size_t)s->size;
	return 0;
}
