/* Parsing of the small text files carve-init reads from the ramdisks: /cmd,
 * /env, /workdir and the module order list. They come from the enclave image,
 * so every length is checked and a bad file gives a one-line reason rather
 * than a crash or a silently truncated argument.
 *
 * This file and cmdenv.c use only libc, so the unit test and the fuzz target
 * build them for the host. */
#ifndef CARVE_INIT_CMDENV_H
#define CARVE_INIT_CMDENV_H

#include <stdbool.h>
#include <stddef.h>

/* Limits. A line is one execve argument or environment string, so it is
 * held to the kernel's MAX_ARG_STRLEN (32 pages, NUL included); the file and
 * line-count limits keep a hostile image from making init allocate much. */
#define CMDENV_FILE_MAX (1u << 20)
#define CMDENV_LINES_MAX 65536u
#define CMDENV_LINE_MAX 131071u
#define CMDENV_WHY_LEN 160

/* NULL-terminated array of strings, v[n] == NULL, in one allocation. */
struct cmdenv_list {
	char **v;
	size_t n;
};

/* Splits data[0..len) into lines: one entry per line, the '\n' removed. A
 * final line without '\n' still counts; an empty line is an empty entry (as
 * Nitro's init does), so "a\n\nb\n" gives "a", "", "b". NUL bytes, lines longer
 * than CMDENV_LINE_MAX, more than CMDENV_LINES_MAX lines or more than
 * CMDENV_FILE_MAX bytes are refused. Returns 0, or a negative errno with the
 * reason in why (at most whylen bytes, NUL-terminated). out is untouched on
 * failure. */
int cmdenv_parse(const char *data, size_t len, struct cmdenv_list *out, char *why, size_t whylen);
void cmdenv_free(struct cmdenv_list *l);

/* Reads a regular file of at most max bytes into a new NUL-terminated buffer.
 * Returns 0, -ENOENT if it does not exist, -EFBIG if it is larger than max,
 * -EINVAL if it is not a regular file, or another negative errno. */
int cmdenv_read_file(const char *path, size_t max, char **data, size_t *len);

/* The value of NAME in an environment list ("NAME=value"), the first one if
 * NAME is there twice (as getenv would find it), or NULL. */
const char *cmdenv_get(const struct cmdenv_list *env, const char *name);

/* Removes entries that are not NAME=value with a non-empty NAME (empty lines
 * included). Returns how many were removed. */
size_t cmdenv_drop_invalid_env(struct cmdenv_list *env);

/* The working directory file: exactly one non-empty line (its '\n' optional).
 * Returns 0 with *line a new allocation (free it), or a negative errno
 * and why. */
int cmdenv_one_line(const char *data, size_t len, char **line, char *why, size_t whylen);

/* A module list entry: a plain file name (no '/', not "." or "..") ending in
 * ".ko" with something before it. */
bool cmdenv_module_name_ok(const char *name);

/* Whether the kernel command line (len bytes, not necessarily terminated)
 * holds word as a whole space-separated word. */
bool cmdenv_cmdline_has(const char *cmdline, size_t len, const char *word);

#endif
