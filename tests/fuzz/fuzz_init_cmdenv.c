/* carve-init's line parsing (guest/init/cmdenv.c): any bytes as /cmd, /env,
 * /workdir or the module list must be refused with a reason or split into
 * lines that put the input back together exactly, never read or write
 * outside the buffers. */
#include <stdlib.h>
#include <string.h>

#include "../../guest/init/cmdenv.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cmdenv_list l;
	char why[CMDENV_WHY_LEN];
	why[0] = '\0';
	int rc = cmdenv_parse(text, size, &l, why, sizeof(why));
	if (rc < 0) {
		/* Refused: a reason, and only for one of the documented causes. */
		if (!why[0] || (rc != -EINVAL && rc != -E2BIG && rc != -EFBIG && rc != -ENOMEM))
			abort();
		if (rc == -EINVAL && !memchr(data, 0, size))
			abort();
		return 0;
	}
	if (memchr(data, 0, size) || l.v[l.n])
		abort();
	/* Joining the lines with '\n' gives the input back, less one final '\n'. */
	size_t pos = 0;
	for (size_t i = 0; i < l.n; i++) {
		size_t n = strlen(l.v[i]);
		if (n > CMDENV_LINE_MAX || pos + n > size || memcmp(text + pos, l.v[i], n))
			abort();
		pos += n;
		if (i + 1 < l.n && (pos >= size || text[pos] != '\n'))
			abort();
		if (pos < size)
			pos++; /* the '\n' */
	}
	if (pos != size)
		abort();

	/* The other helpers on the same bytes. */
	for (size_t i = 0; i < l.n; i++)
		(void)cmdenv_module_name_ok(l.v[i]);
	(void)cmdenv_get(&l, "PATH");
	size_t before = l.n;
	size_t dropped = cmdenv_drop_invalid_env(&l);
	if (dropped > before || l.n != before - dropped || l.v[l.n])
		abort();
	for (size_t i = 0; i < l.n; i++) {
		const char *eq = strchr(l.v[i], '=');
		if (!eq || eq == l.v[i])
			abort();
	}
	cmdenv_free(&l);

	char *line = NULL;
	if (cmdenv_one_line(text, size, &line, why, sizeof(why)) == 0) {
		if (!line[0] || strchr(line, '\n'))
			abort();
		free(line);
	}
	(void)cmdenv_cmdline_has(text, size, "carve.quiet");
	return 0;
}
