/* --cmd "prog 'a b' \"c\\\"d\"" -> argv, with shell quoting and nothing else:
 * no variables, globs, tildes or command substitution, so what the user
 * wrote is exactly what the enclave runs (and what PCR2 measures). */
#include <stdlib.h>
#include <string.h>

#include "carve/ramdisk.h"

int shell_split(const char *line, char ***argv_out, struct carve_err *err)
{
	size_t n = strlen(line);
	/* At most n/2+1 words, and the words never need more than n+1 bytes
	 * each with its NUL: one block holds the pointers and the text. */
	size_t max_words = n / 2 + 2;
	char **argv = malloc(max_words * sizeof(char *) + 2 * n + 2);
	if (!argv)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	char *out = (char *)(argv + max_words);
	int argc = 0;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		argv[argc++] = out;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');
				if (!end)
					goto unterminated;
				memcpy(out, p + 1, (size_t)(end - p - 1));
				out += end - p - 1;
				p = end + 1;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					/* In double quotes a backslash escapes only these. */
					if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
						if (p[1] != '\n')
							*out++ = p[1];
						p += 2;
					} else {
						*out++ = *p++;
					}
				}
				if (*p != '"')
					goto unterminated;
				p++;
			} else if (*p == '\\') {
				if (!p[1]) {
					free(argv);
					return carve_fail(err, E03_INVALID_ARGUMENT,
							  "--cmd ends with a lone backslash");
				}
				if (p[1] != '\n')
					*out++ = p[1];
				p += 2;
			} else {
				*out++ = *p++;
			}
		}
		*out++ = '\0';
	}
	argv[argc] = NULL;
	*argv_out = argv;
	return argc;
unterminated:
	free(argv);
	return carve_fail(err, E03_INVALID_ARGUMENT, "--cmd has an unterminated quote: %s", line);
}
