/* Test helper: lay out EIF images byte by byte, independently of carve's
 * builder, so reader tests can make every malformation the format allows. */
#ifndef CARVE_TEST_EIF_CRAFT_H
#define CARVE_TEST_EIF_CRAFT_H

#include <stddef.h>
#include <stdint.h>

struct craft_section {
	uint16_t type;
	const void *data;
	uint64_t size;
};

/* Builds a packed v4 image with a correct CRC into a malloc'ed buffer. */
uint8_t *craft_eif(const struct craft_section *s, int n, size_t *len);
/* Recomputes the CRC of an image after a test edited it. */
void craft_fix_crc(uint8_t *img, size_t len);
/* A memfd holding the bytes, for eif_open_fd. */
int craft_memfd(const void *data, size_t len);
void craft_put_be16(uint8_t *p, uint16_t v);
void craft_put_be64(uint8_t *p, uint64_t v);

#endif
