/* The one-pass hasher (worker thread, CRC split and joined, PCR1 snapshot)
 * against plain single-threaded SHA-384 and zlib CRC-32 over the same bytes,
 * for chunk sizes on both sides of the parallel threshold and for boot and
 * application data interleaved in every order the format allows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "eif/hasher.h"

struct piece {
	enum eif_role role;
	size_t len;
};

static void reference(const uint8_t *data, const struct piece *p, int n, uint32_t *crc,
		      struct eif_measurements *m)
{
	struct sha384 all, boot, app;
	sha384_init(&all);
	sha384_init(&boot);
	sha384_init(&app);
	uLong c = crc32(0, NULL, 0);
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		const uint8_t *d = data + off;
		c = crc32(c, d, (uInt)p[i].len);
		if (p[i].role != EIF_ROLE_CRC_ONLY)
			sha384_update(&all, d, p[i].len);
		if (p[i].role == EIF_ROLE_BOOT)
			sha384_update(&boot, d, p[i].len);
		if (p[i].role == EIF_ROLE_APP)
			sha384_update(&app, d, p[i].len);
		off += p[i].len;
	}
	uint8_t dg[48];
	sha384_final(&all, dg);
	pcr_from_digest(dg, m->pcr0);
	sha384_final(&boot, dg);
	pcr_from_digest(dg, m->pcr1);
	sha384_final(&app, dg);
	pcr_from_digest(dg, m->pcr2);
	sha384_free(&all);
	sha384_free(&boot);
	sha384_free(&app);
	*crc = (uint32_t)c;
}

static void check(const struct piece *p, int n)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += p[i].len;
	uint8_t *data = malloc(total + 1);
	for (size_t i = 0; i < total; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);

	uint32_t want_crc, got_crc;
	struct eif_measurements want, got;
	reference(data, p, n, &want_crc, &want);

	struct eif_hasher h;
	assert_int_equal(eif_hasher_init(&h), 0);
	/* Feed through two alternating copies, as the pump does, so a hasher
	 * that read a buffer after its next call would see different bytes. */
	uint8_t *bufs[2] = {malloc(total + 1), malloc(total + 1)};
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		uint8_t *b = bufs[i & 1];
		memcpy(b, data + off, p[i].len);
		eif_hasher_feed(&h, p[i].role, b, p[i].len);
		memset(bufs[(i + 1) & 1], 0xA5, total + 1);
		off += p[i].len;
	}
	eif_hasher_finish(&h, &got_crc, &got);
	eif_hasher_free(&h);
	assert_int_equal(got_crc, want_crc);
	assert_memory_equal(got.pcr0, want.pcr0, 48);
	assert_memory_equal(got.pcr1, want.pcr1, 48);
	assert_memory_equal(got.pcr2, want.pcr2, 48);
	free(bufs[0]);
	free(bufs[1]);
	free(data);
}

static void test_small_pieces(void **state)
{
	(void)state;
	const struct piece p[] = {
		{EIF_ROLE_CRC_ONLY, 12}, {EIF_ROLE_BOOT, 100}, {EIF_ROLE_CRC_ONLY, 12},
		{EIF_ROLE_BOOT, 7},      {EIF_ROLE_APP, 33},   {EIF_ROLE_APP, 1},
	};
	check(p, 6);
}

static void test_large_pieces_use_the_worker(void **state)
{
	(void)state;
	const struct piece p[] = {
		{EIF_ROLE_CRC_ONLY, 544},  {EIF_ROLE_BOOT, 1 << 20}, {EIF_ROLE_BOOT, 300000},
		{EIF_ROLE_CRC_ONLY, 2000}, {EIF_ROLE_APP, 1 << 20},  {EIF_ROLE_APP, (1 << 20) - 3},
		{EIF_ROLE_APP, 262145},    {EIF_ROLE_CRC_ONLY, 12},  {EIF_ROLE_APP, 5},
	};
	check(p, 9);
}

static void test_boot_data_after_app_data(void **state)
{
	(void)state;
	/* Not how builders lay images out, but the format allows it: PCR1 must
	 * still be the boot bytes only. */
	const struct piece p[] = {
		{EIF_ROLE_BOOT, 1 << 20}, {EIF_ROLE_APP, 1 << 20}, {EIF_ROLE_BOOT, 1 << 19},
		{EIF_ROLE_APP, 10},       {EIF_ROLE_BOOT, 10},
	};
	check(p, 5);
}

static void test_no_app_data(void **state)
{
	(void)state;
	const struct piece p[] = {{EIF_ROLE_BOOT, 3 << 20}, {EIF_ROLE_CRC_ONLY, 100}};
	check(p, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_pieces),
		cmocka_unit_test(test_large_pieces_use_the_worker),
		cmocka_unit_test(test_boot_data_after_app_data),
		cmocka_unit_test(test_no_app_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
