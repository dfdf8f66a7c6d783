/* EIF header and section-header encoding, section roles, and the pump that
 * streams payloads through the hasher. */
#include "eif/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define PUMP_CHUNK (1u << 20)

void eif_header_encode(const struct eif_image *img, uint8_t hdr[EIF_HEADER_SIZE])
{
	memset(hdr, 0, EIF_HEADER_SIZE);
	memcpy(hdr + EIF_OFF_MAGIC, EIF_MAGIC, 4);
	be16_put(hdr + EIF_OFF_VERSION, img->version);
	be16_put(hdr + EIF_OFF_FLAGS, img->flags);
	be64_put(hdr + EIF_OFF_DEFAULT_MEM, img->default_mem);
	be64_put(hdr + EIF_OFF_DEFAULT_CPUS, img->default_cpus);
	be16_put(hdr + EIF_OFF_NUM_SECTIONS, (uint16_t)img->nsections);
	for (int i = 0; i < img->nsections; i++) {
		be64_put(hdr + EIF_OFF_SECTION_OFFSETS + 8 * i, img->sections[i].offset);
		be64_put(hdr + EIF_OFF_SECTION_SIZES + 8 * i, img->sections[i].size);
	}
}

void eif_section_header_encode(uint16_t type, uint64_t size, uint8_t out[EIF_SECTION_HEADER_SIZE])
{
	be16_put(out, type);
	be16_put(out + 2, 0);
	be64_put(out + 4, size);
}

uint32_t eif_crc_join(const uint8_t hdr[EIF_HEADER_SIZE], uint32_t crc_sections, uint64_t sections_len)
{
	uint32_t crc = (uint32_t)crc32(0, hdr, EIF_CRC_OFFSET);
	return (uint32_t)crc32_combine64(crc, crc_sections, (z_off64_t)sections_len);
}

const char *eif_section_type_name(uint16_t type)
{
	switch (type) {
	case EIF_SECTION_KERNEL: return "kernel";
	case EIF_SECTION_CMDLINE: return "cmdline";
	case EIF_SECTION_RAMDISK: return "ramdisk";
	case EIF_SECTION_SIGNATURE: return "signature";
	case EIF_SECTION_METADATA: return "metadata";
	}
	return "invalid";
}

enum eif_role eif_section_role(const struct eif_image *img, int index)
{
	switch (img->sections[index].type) {
	case EIF_SECTION_KERNEL:
	case EIF_SECTION_CMDLINE: return EIF_ROLE_BOOT;
	case EIF_SECTION_RAMDISK:
		/* The first ramdisk in file order is the bootstrap one (PCR1). */
		return img->nramdisks > 0 && img->ramdisks[0] == index ? EIF_ROLE_BOOT : EIF_ROLE_APP;
	}
	return EIF_ROLE_CRC_ONLY;
}

int eif_pump_init(struct eif_pump *p, const char *what, uint64_t total, bool show_progress)
{
	memset(p, 0, sizeof(*p));
	p->buf[0] = malloc(PUMP_CHUNK);
	p->buf[1] = malloc(PUMP_CHUNK);
	if (!p->buf[0] || !p->buf[1] || eif_hasher_init(&p->hasher) < 0) {
		free(p->buf[0]);
		free(p->buf[1]);
		return -1;
	}
	progress_begin(&p->progress, what, show_progress ? total : 0);
	return 0;
}

void eif_pump_bytes(struct eif_pump *p, const void *data, size_t len, enum eif_role role)
{
	eif_hasher_feed(&p->hasher, role, data, len);
	p->done += len;
}

int eif_pump_fd(struct eif_pump *p, int in_fd, uint64_t in_off, uint64_t len, enum eif_role role, int out_fd,
		uint64_t out_off)
{
	while (len) {
		size_t n = len < PUMP_CHUNK ? (size_t)len : PUMP_CHUNK;
		/* The hasher may still be reading the other buffer; this one is
		 * free since the call before last returned. */
		uint8_t *buf = p->buf[p->cur];
		int rc = pread_full(in_fd, buf, n, in_off);
		if (rc < 0)
			return rc;
		if (out_fd >= 0 && (rc = pwrite_full(out_fd, buf, n, out_off)) < 0)
			return rc;
		eif_hasher_feed(&p->hasher, role, buf, n);
		p->cur ^= 1;
		in_off += n;
		out_off += n;
		len -= n;
		p->done += n;
		progress_update(&p->progress, p->done);
	}
	return 0;
}

void eif_pump_finish(struct eif_pump *p, uint32_t *crc, struct eif_measurements *m)
{
	eif_hasher_finish(&p->hasher, crc, m);
	progress_end(&p->progress);
}

void eif_pump_free(struct eif_pump *p)
{
	eif_hasher_free(&p->hasher);
	progress_end(&p->progress);
	free(p->buf[0]);
	free(p->buf[1]);
}
