/* An EIF turned into what the VMM boots (aws-nitro-enclaves-cli's resource manager:
 * the whole image sits in enclave memory at 8 MiB, as the Nitro driver puts
 * it; the kernel, its command line and the ramdisks come from its sections).
 * The image is checked first: structure and CRC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carve/eif.h"
#include "carve/enclave.h"
#include "carve/util.h"

#define KERNEL_MAX (256u << 20)
#define INITRD_MAX (1024u << 20)

void eif_boot_free(struct eif_boot *b)
{
	free(b->image);
	free(b->kernel);
	free(b->initrd);
	free(b->cmdline);
	memset(b, 0, sizeof(*b));
}

int eif_boot_append_cmdline(struct eif_boot *b, const char *extra, struct carve_err *err)
{
	if (!extra || !*extra)
		return 0;
	size_t have = strlen(b->cmdline), add = strlen(extra);
	char *n = realloc(b->cmdline, have + add + 2);
	if (!n)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	sprintf(n + have, "%s%s", have ? " " : "", extra);
	b->cmdline = n;
	return 0;
}

bool eif_boot_is_elf(const struct eif_boot *b)
{
	return b->kernel_len >= 4 &&
		!memcmp(b->kernel,
			"\x7f"
			"ELF",
			4);
}

int eif_boot_load(const char *path, uint64_t mem_bytes, struct eif_boot *b, struct carve_err *err)
{
	memset(b, 0, sizeof(*b));
	struct eif_image img;
	if (eif_open(&img, path, err) < 0)
		return -1;
	struct eif_report rep;
	memset(&rep, 0, sizeof(rep));
	int rc = -1;
	if (eif_verify(&img, time(NULL), false, &rep, err) < 0)
		goto out;
	if (!rep.crc_ok) {
		carve_fail(err, E35_EIF_PARSING,
			   "'%s' is damaged: its CRC is %08x but the contents give %08x", path,
			   img.crc_stored, rep.crc_computed);
		goto out;
	}
	if (img.file_size > mem_bytes || mem_bytes - img.file_size < EIF_BOOT_GPA) {
		carve_fail(err, E34_MEMORY_OVERFLOW,
			   "the %llu MiB image does not fit in %llu MiB of memory "
			   "at its load offset (8 MiB)",
			   (unsigned long long)(img.file_size >> 20), (unsigned long long)(mem_bytes >> 20));
		goto out;
	}
	b->image = malloc(img.file_size ? (size_t)img.file_size : 1);
	if (!b->image) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	int io = pread_full(img.fd, b->image, (size_t)img.file_size, 0);
	if (io < 0) {
		carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Read': %s", path,
			   strerror(-io));
		goto out;
	}
	b->image_len = (size_t)img.file_size;
	if (eif_read_section(&img, img.kernel, KERNEL_MAX, &b->kernel, &b->kernel_len, err) < 0)
		goto out;
	const struct eif_section *cs = &img.sections[img.cmdline];
	size_t cl_len = (size_t)cs->size;
	const char *cl = (const char *)b->image + eif_section_payload(cs);
	if (memchr(cl, '\0', cl_len)) {
		carve_fail(err, E35_EIF_PARSING, "the command line in '%s' contains a NUL byte", path);
		goto out;
	}
	b->cmdline = malloc(cl_len + 1);
	if (!b->cmdline) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	memcpy(b->cmdline, cl, cl_len);
	b->cmdline[cl_len] = '\0';
	b->m = rep.m;
	/* The ramdisks, concatenated in section order: cpio archives concatenate. */
	uint64_t total = 0;
	for (int i = 0; i < img.nramdisks; i++)
		total += img.sections[img.ramdisks[i]].size;
	if (total > INITRD_MAX) {
		carve_fail(err, E34_MEMORY_OVERFLOW, "the ramdisks of '%s' total %llu MiB; at most %u MiB",
			   path, (unsigned long long)(total >> 20), INITRD_MAX >> 20);
		goto out;
	}
	b->initrd = malloc(total ? (size_t)total : 1);
	if (!b->initrd) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	for (int i = 0; i < img.nramdisks; i++) {
		const struct eif_section *s = &img.sections[img.ramdisks[i]];
		memcpy(b->initrd + b->initrd_len, b->image + eif_section_payload(s), (size_t)s->size);
		b->initrd_len += (size_t)s->size;
	}
	rc = 0;
out:
	eif_report_free(&rep);
	eif_close(&img);
	if (rc < 0)
		eif_boot_free(b);
	return rc;
}
