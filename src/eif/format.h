/* Private to the eif part: big-endian codecs for the header and section
 * headers, and the streaming pump that moves section payloads through the
 * CRC/PCR hasher. */
#ifndef CARVE_EIF_FORMAT_H
#define CARVE_EIF_FORMAT_H

#include <stdint.h>

#include "carve/eif.h"
#include "eif/hasher.h"

static inline void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Header field offsets (aws-nitro-enclaves-image-format, src/defs). */
#define EIF_OFF_MAGIC 0
#define EIF_OFF_VERSION 4
#define EIF_OFF_FLAGS 6
#define EIF_OFF_DEFAULT_MEM 8
#define EIF_OFF_DEFAULT_CPUS 16
#define EIF_OFF_RESERVED 24
#define EIF_OFF_NUM_SECTIONS 26
#define EIF_OFF_SECTION_OFFSETS 28
#define EIF_OFF_SECTION_SIZES 284
#define EIF_OFF_UNUSED 540

/* Fills hdr from the fields of img (sections, version, flags, defaults); the
 * CRC field is left zero. */
void eif_header_encode(const struct eif_image *img, uint8_t hdr[EIF_HEADER_SIZE]);
void eif_section_header_encode(uint16_t type, uint64_t size, uint8_t out[EIF_SECTION_HEADER_SIZE]);

/* The image CRC: CRC-32 of header bytes [0, 544) followed by the section
 * bytes, given the sections' own CRC and length. */
uint32_t eif_crc_join(const uint8_t hdr[EIF_HEADER_SIZE], uint32_t crc_sections, uint64_t sections_len);

const char *eif_section_type_name(uint16_t type);

/* Which PCRs a section's payload feeds, by section type and ramdisk ordinal. */
enum eif_role eif_section_role(const struct eif_image *img, int index);

/* Streams `len` bytes from in_fd at in_off through the hasher with `role`,
 * writing them to out_fd at out_off when out_fd >= 0. Two buffers alternate
 * so reading the next chunk overlaps hashing of the current one. */
struct eif_pump {
	struct eif_hasher hasher;
	uint8_t *buf[2];
	int cur;
	struct progress progress;
	uint64_t done;
};
int eif_pump_init(struct eif_pump *p, const char *what, uint64_t total, bool show_progress);
/* Header bytes and section headers: CRC only. */
void eif_pump_bytes(struct eif_pump *p, const void *data, size_t len, enum eif_role role);
int eif_pump_fd(struct eif_pump *p, int in_fd, uint64_t in_off, uint64_t len, enum eif_role role, int out_fd,
		uint64_t out_off);
void eif_pump_finish(struct eif_pump *p, uint32_t *crc, struct eif_measurements *m);
void eif_pump_free(struct eif_pump *p);

#endif
