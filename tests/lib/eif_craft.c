/* See eif_craft.h. Written from the format description, not from src/eif. */
#include "eif_craft.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

void craft_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void craft_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

void craft_fix_crc(uint8_t *img, size_t len)
{
	uLong crc = crc32(0, img, 544);
	crc = crc32(crc, img + 548, (uInt)(len - 548));
	img[544] = (uint8_t)(crc >> 24);
	img[545] = (uint8_t)(crc >> 16);
	img[546] = (uint8_t)(crc >> 8);
	img[547] = (uint8_t)crc;
}

uint8_t *craft_eif(const struct craft_section *s, int n, size_t *len)
{
	size_t total = 548;
	for (int i = 0; i < n; i++)
		total += 12 + s[i].size;
	uint8_t *img = calloc(1, total);
	memcpy(img, ".eif", 4);
	craft_put_be16(img + 4, 4);
	craft_put_be64(img + 8, 1ull << 30);
	craft_put_be64(img + 16, 2);
	craft_put_be16(img + 26, (uint16_t)n);
	size_t off = 548;
	for (int i = 0; i < n; i++) {
		craft_put_be64(img + 28 + 8 * i, off);
		craft_put_be64(img + 284 + 8 * i, s[i].size);
		craft_put_be16(img + off, s[i].type);
		craft_put_be64(img + off + 4, s[i].size);
		if (s[i].size)
			memcpy(img + off + 12, s[i].data, s[i].size);
		off += 12 + s[i].size;
	}
	craft_fix_crc(img, total);
	*len = total;
	return img;
}

int craft_memfd(const void *data, size_t len)
{
	int fd = memfd_create("craft.eif", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	const uint8_t *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return fd;
}
