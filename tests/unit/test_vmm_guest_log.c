/* The carve log port's line assembler: whole lines out, printable only,
 * bounded in length and in number. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vmm/vmm_internal.h"

static char lines[8][GUEST_LOG_LINE_MAX + 1];
static int nlines, total;

static void keep(void *ctx, const char *line)
{
	(void)ctx;
	assert_true(strlen(line) <= GUEST_LOG_LINE_MAX);
	snprintf(lines[nlines % 8], sizeof(lines[0]), "%s", line);
	nlines++;
	total++;
}

static void put(struct guest_log *g, const char *s) { guest_log_write(g, (const uint8_t *)s, strlen(s)); }

static void whole_lines(void **state)
{
	(void)state;
	struct guest_log g;
	nlines = 0;
	guest_log_init(&g, keep, NULL);
	put(&g, "loaded vso");
	assert_int_equal(nlines, 0); /* nothing until the line ends */
	put(&g, "ck\nheartbeat ok\nstart");
	assert_int_equal(nlines, 2);
	assert_string_equal(lines[0], "loaded vsock");
	assert_string_equal(lines[1], "heartbeat ok");
	put(&g, "ing /bin/sh\n");
	assert_string_equal(lines[2], "starting /bin/sh");
	/* Control bytes, escapes and non-ASCII become '?', a tab a space. */
	guest_log_write(&g, (const uint8_t *)"a\tb\x1b[31mc\xff\r\n", 12);
	assert_string_equal(lines[3], "a b?[31mc??");
	guest_log_destroy(&g);
}

static void bounded(void **state)
{
	(void)state;
	struct guest_log g;
	nlines = total = 0;
	guest_log_init(&g, keep, NULL);
	char longline[GUEST_LOG_LINE_MAX * 2 + 10];
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	put(&g, longline); /* cut into lines of the maximum length */
	assert_int_equal(nlines, 2);
	assert_int_equal(strlen(lines[0]), GUEST_LOG_LINE_MAX);
	put(&g, "\n");
	assert_int_equal(nlines, 3);
	assert_int_equal(strlen(lines[2]), 9);
	/* A flood: GUEST_LOG_MAX_LINES lines in all, then one note, then nothing. */
	for (int i = 0; i < GUEST_LOG_MAX_LINES * 3; i++)
		put(&g, "spam\n");
	assert_int_equal(total, GUEST_LOG_MAX_LINES + 1);
	assert_string_equal(lines[(nlines - 1) % 8], "(the guest wrote more lines; they are dropped)");
	guest_log_destroy(&g);
}

static void no_reader(void **state)
{
	(void)state;
	struct guest_log g;
	guest_log_init(&g, NULL, NULL); /* carve vmm: the port is ignored */
	put(&g, "ignored\n");
	assert_int_equal(g.len, 0);
	guest_log_destroy(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_lines),
		cmocka_unit_test(bounded),
		cmocka_unit_test(no_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
