/* The EIF reader against crafted images: every structural rule, and the
 * measurements of a valid image against a reference computed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "carve/eif.h"
#include "eif_craft.h"

static const char kernel[] = "KERNEL-BYTES";
static const char cmdline[] = "console=ttyS0";
static const char meta[] = "{\"ImageName\":\"t\"}";
static const char r0[] = "bootstrap";
static const char r1[] = "application";

static const struct craft_section good[] = {
	{EIF_SECTION_KERNEL, kernel, sizeof(kernel) - 1}, {EIF_SECTION_CMDLINE, cmdline, sizeof(cmdline) - 1},
	{EIF_SECTION_METADATA, meta, sizeof(meta) - 1},   {EIF_SECTION_RAMDISK, r0, sizeof(r0) - 1},
	{EIF_SECTION_RAMDISK, r1, sizeof(r1) - 1},
};

/* Opens the bytes; returns the E-code (0 on success) and keeps the message. */
static int open_bytes(const uint8_t *img, size_t len, struct carve_err *err)
{
	int fd = craft_memfd(img, len);
	assert_true(fd >= 0);
	struct eif_image e;
	carve_err_clear(err);
	int rc = eif_open_fd(&e, fd, "test.eif", err);
	if (rc == 0)
		eif_close(&e);
	close(fd);
	return rc == 0 ? 0 : err->code;
}

static void expect_e35(uint8_t *img, size_t len, const char *fragment)
{
	struct carve_err err;
	assert_int_equal(open_bytes(img, len, &err), E35_EIF_PARSING);
	if (!strstr(err.msg, fragment))
		fail_msg("message '%s' lacks '%s'", err.msg, fragment);
}

static uint8_t *good_image(size_t *len) { return craft_eif(good, 5, len); }

static void test_valid_image_opens_and_measures(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	int fd = craft_memfd(img, len);
	struct eif_image e;
	struct carve_err err = {0};
	assert_int_equal(eif_open_fd(&e, fd, "good", &err), 0);
	assert_int_equal(e.nsections, 5);
	assert_int_equal(e.kernel, 0);
	assert_int_equal(e.cmdline, 1);
	assert_int_equal(e.metadata, 2);
	assert_int_equal(e.nramdisks, 2);
	struct eif_report rep;
	assert_int_equal(eif_verify(&e, time(NULL), false, &rep, &err), 0);
	assert_true(rep.crc_ok);
	assert_false(rep.is_signed);

	/* Reference: PCR = SHA384(0^48 || SHA384(data)) over the payloads. */
	char all[128], boot[128];
	snprintf(all, sizeof(all), "%s%s%s%s", kernel, cmdline, r0, r1);
	snprintf(boot, sizeof(boot), "%s%s%s", kernel, cmdline, r0);
	uint8_t d[48], pcr[48];
	sha384_oneshot(all, strlen(all), d);
	pcr_from_digest(d, pcr);
	assert_memory_equal(rep.m.pcr0, pcr, 48);
	sha384_oneshot(boot, strlen(boot), d);
	pcr_from_digest(d, pcr);
	assert_memory_equal(rep.m.pcr1, pcr, 48);
	sha384_oneshot(r1, strlen(r1), d);
	pcr_from_digest(d, pcr);
	assert_memory_equal(rep.m.pcr2, pcr, 48);
	assert_string_equal(rep.metadata, meta);
	eif_report_free(&rep);
	eif_close(&e);
	close(fd);
	free(img);
}

static void test_single_ramdisk_gives_empty_pcr2(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = craft_eif(good, 4, &len);
	int fd = craft_memfd(img, len);
	struct eif_image e;
	struct eif_report rep;
	struct carve_err err = {0};
	assert_int_equal(eif_open_fd(&e, fd, "one", &err), 0);
	assert_int_equal(eif_verify(&e, time(NULL), false, &rep, &err), 0);
	uint8_t d[48], pcr[48];
	sha384_oneshot("", 0, d);
	pcr_from_digest(d, pcr);
	assert_memory_equal(rep.m.pcr2, pcr, 48);
	assert_memory_not_equal(rep.m.pcr0, rep.m.pcr2, 48);
	eif_report_free(&rep);
	eif_close(&e);
	close(fd);
	free(img);
}

static void test_crc_mismatch_is_reported(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	img[len - 1] ^= 0x40; /* a payload byte, after the CRC was computed */
	int fd = craft_memfd(img, len);
	struct eif_image e;
	struct eif_report rep;
	struct carve_err err = {0};
	assert_int_equal(eif_open_fd(&e, fd, "crc", &err), 0);
	assert_int_equal(eif_verify(&e, time(NULL), false, &rep, &err), 0);
	assert_false(rep.crc_ok);
	eif_report_free(&rep);
	eif_close(&e);
	close(fd);
	free(img);
}

static void test_bad_magic(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	img[0] = 'X';
	expect_e35(img, len, "bad magic");
	free(img);
}

static void test_bad_version(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	craft_put_be16(img + 4, 9);
	expect_e35(img, len, "version 9");
	craft_put_be16(img + 4, 1);
	expect_e35(img, len, "version 1");
	free(img);
}

static void test_unknown_header_flags(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	craft_put_be16(img + 6, 0x8000);
	expect_e35(img, len, "flags");
	free(img);
}

static void test_too_many_sections(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	craft_put_be16(img + 26, 33);
	expect_e35(img, len, "at most 32");
	craft_put_be16(img + 26, 0);
	expect_e35(img, len, "no sections");
	free(img);
}

static void test_truncated_header(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	expect_e35(img, 547, "truncated");
	expect_e35(img, 0, "truncated");
	free(img);
}

static void test_truncated_payload(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	expect_e35(img, len - 1, "truncated");
	expect_e35(img, len - 20, "truncated");
	free(img);
}

static void test_section_outside_file(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	craft_put_be64(img + 28 + 8 * 4, 1ull << 40); /* last section's offset */
	expect_e35(img, len, "gap");
	free(img);
}

static void test_overlapping_sections(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	/* Section 1 claims to start inside section 0. */
	craft_put_be64(img + 28 + 8 * 1, 548 + 4);
	expect_e35(img, len, "inside the previous section");
	free(img);
}

static void test_size_overflow(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	/* Sizes near 2^64 must not wrap offset + 12 + size. */
	craft_put_be64(img + 284, UINT64_MAX - 5);
	craft_put_be64(img + 548 + 4, UINT64_MAX - 5);
	expect_e35(img, len, "truncated");
	free(img);
}

static void test_table_and_section_header_disagree(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	craft_put_be64(img + 284, sizeof(kernel)); /* one more than the header says */
	expect_e35(img, len, "by the header's table");
	free(img);
}

static void test_unknown_section_type(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	craft_put_be16(img + 548, 6);
	expect_e35(img, len, "unknown type 6");
	craft_put_be16(img + 548, 0);
	expect_e35(img, len, "unknown type 0");
	free(img);
}

static void test_section_flags(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	craft_put_be16(img + 548 + 2, 1);
	expect_e35(img, len, "flags");
	free(img);
}

static void test_trailing_bytes(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = good_image(&len);
	uint8_t *bigger = calloc(1, len + 3);
	memcpy(bigger, img, len);
	expect_e35(bigger, len + 3, "trailing");
	free(bigger);
	free(img);
}

static void test_missing_sections(void **state)
{
	(void)state;
	const struct craft_section no_kernel[] = {good[1], good[3]};
	const struct craft_section no_cmdline[] = {good[0], good[3]};
	const struct craft_section no_ramdisk[] = {good[0], good[1], good[2]};
	const struct craft_section two_kernels[] = {good[0], good[0], good[1], good[3]};
	size_t len;
	uint8_t *img = craft_eif(no_kernel, 2, &len);
	expect_e35(img, len, "no kernel");
	free(img);
	img = craft_eif(no_cmdline, 2, &len);
	expect_e35(img, len, "no cmdline");
	free(img);
	img = craft_eif(no_ramdisk, 3, &len);
	expect_e35(img, len, "no ramdisk");
	free(img);
	img = craft_eif(two_kernels, 4, &len);
	expect_e35(img, len, "two kernel");
	free(img);
}

static void test_malformed_signature_section(void **state)
{
	(void)state;
	static const uint8_t not_cbor[] = {0xff, 0x00};
	static const uint8_t wrong_shape[] = {0x81, 0xa0}; /* [{}] */
	const uint8_t *bodies[] = {not_cbor, wrong_shape};
	size_t sizes[] = {sizeof(not_cbor), sizeof(wrong_shape)};
	for (int i = 0; i < 2; i++) {
		struct craft_section s[6];
		memcpy(s, good, sizeof(good));
		s[5] = (struct craft_section){EIF_SECTION_SIGNATURE, bodies[i], sizes[i]};
		size_t len;
		uint8_t *img = craft_eif(s, 6, &len);
		int fd = craft_memfd(img, len);
		struct eif_image e;
		struct eif_report rep;
		struct carve_err err = {0};
		assert_int_equal(eif_open_fd(&e, fd, "sig", &err), 0);
		assert_int_equal(eif_verify(&e, time(NULL), false, &rep, &err), -1);
		assert_int_equal(err.code, E35_EIF_PARSING);
		assert_non_null(strstr(err.msg, "signature section is malformed"));
		eif_close(&e);
		close(fd);
		free(img);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_image_opens_and_measures),
		cmocka_unit_test(test_single_ramdisk_gives_empty_pcr2),
		cmocka_unit_test(test_crc_mismatch_is_reported),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_unknown_header_flags),
		cmocka_unit_test(test_too_many_sections),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_truncated_payload),
		cmocka_unit_test(test_section_outside_file),
		cmocka_unit_test(test_overlapping_sections),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_table_and_section_header_disagree),
		cmocka_unit_test(test_unknown_section_type),
		cmocka_unit_test(test_section_flags),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_missing_sections),
		cmocka_unit_test(test_malformed_signature_section),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
