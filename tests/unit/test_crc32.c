/* crc32_fast (carry-less folding) against zlib's crc32 on every length from
 * 0 to 600 at several alignments and start values, and on large buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include <cmocka.h>

#include "carve/util.h"

static void test_matches_zlib_on_all_small_lengths(void **state)
{
	(void)state;
	uint8_t buf[700];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	const uint32_t starts[] = {0, 1, 0xffffffffu, 0x12345678u};
	for (size_t s = 0; s < 4; s++)
		for (size_t off = 0; off < 5; off++)
			for (size_t len = 0; len <= 600; len++) {
				uint32_t want = (uint32_t)crc32(starts[s], buf + off, (uInt)len);
				uint32_t got = crc32_fast(starts[s], buf + off, len);
				if (want != got)
					fail_msg("len %zu off %zu start %08x: zlib %08x, fast %08x", len, off,
						 starts[s], want, got);
			}
}

static void test_matches_zlib_on_large_buffers(void **state)
{
	(void)state;
	size_t n = (3u << 20) + 77;
	uint8_t *buf = malloc(n);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((i * 2654435761u) >> 11);
	assert_int_equal(crc32_fast(0, buf, n), (uint32_t)crc32(0, buf, (uInt)n));
	/* Split anywhere, the CRC continues. */
	uint32_t c = crc32_fast(0, buf, 1000003);
	c = crc32_fast(c, buf + 1000003, n - 1000003);
	assert_int_equal(c, (uint32_t)crc32(0, buf, (uInt)n));
	free(buf);
}

static void test_known_value(void **state)
{
	(void)state;
	/* The CRC-32 check value: "123456789" -> 0xCBF43926. */
	assert_int_equal(crc32_fast(0, "123456789", 9), 0xCBF43926u);
	char sixty_four[65] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	assert_int_equal(crc32_fast(0, sixty_four, 64), (uint32_t)crc32(0, (const Bytef *)sixty_four, 64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_zlib_on_all_small_lengths),
		cmocka_unit_test(test_matches_zlib_on_large_buffers),
		cmocka_unit_test(test_known_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
