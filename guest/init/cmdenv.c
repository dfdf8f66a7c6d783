/* Line-file parsing for carve-init (see cmdenv.h). */
#include "cmdenv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cmdenv_parse(const char *data, size_t len, struct cmdenv_list *out, char *why, size_t whylen)
{
	if (len > CMDENV_FILE_MAX) {
		snprintf(why, whylen, "%zu bytes, more than the %u allowed", len, CMDENV_FILE_MAX);
		return -EFBIG;
	}
	/* First pass: check every line and count them. */
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		bool end = i == len;
		if (!end && data[i] == '\0') {
			snprintf(why, whylen, "line %zu has a NUL byte (at byte %zu)", n + 1, i);
			return -EINVAL;
		}
		if (!end && data[i] != '\n')
			continue;
		/* A final piece without '\n' is a line; nothing after a final '\n' is not. */
		if (end && start == len)
			break;
		if (i - start > CMDENV_LINE_MAX) {
			snprintf(why, whylen, "line %zu is %zu bytes long, more than the %u allowed", n + 1,
				 i - start, CMDENV_LINE_MAX);
			return -E2BIG;
		}
		if (++n > CMDENV_LINES_MAX) {
			snprintf(why, whylen, "more than %u lines", CMDENV_LINES_MAX);
			return -E2BIG;
		}
		start = i + 1;
	}
	/* One block: the pointer array, then a copy of the bytes with each '\n'
	 * turned into the string's NUL. len <= CMDENV_FILE_MAX and n <=
	 * CMDENV_LINES_MAX, so the size cannot overflow. */
	size_t ptrs = (n + 1) * sizeof(char *);
	char **v = malloc(ptrs + len + 1);
	if (!v) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	char *text = (char *)v + ptrs;
	if (len)
		memcpy(text, data, len);
	text[len] = '\0';
	size_t k = 0;
	start = 0;
	for (size_t i = 0; i < len && k < n; i++) {
		if (text[i] != '\n')
			continue;
		text[i] = '\0';
		v[k++] = text + start;
		start = i + 1;
	}
	if (k < n)
		v[k++] = text + start;
	v[k] = NULL;
	out->v = v;
	out->n = n;
	return 0;
}

void cmdenv_free(struct cmdenv_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int cmdenv_read_file(const char *path, size_t max, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* Read one byte past the limit to tell "exactly max" from "too big"; the
	 * size from fstat is only a hint. */
	if (max > SIZE_MAX - 2) {
		close(fd);
		return -EINVAL;
	}
	char *buf = malloc(max + 2);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < max + 1) {
		ssize_t r = read(fd, buf + got, max + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got > max) {
		free(buf);
		return -EFBIG;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

const char *cmdenv_get(const struct cmdenv_list *env, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], name, nl) && env->v[i][nl] == '=')
			return env->v[i] + nl + 1;
	return NULL;
}

size_t cmdenv_drop_invalid_env(struct cmdenv_list *env)
{
	size_t k = 0;
	for (size_t i = 0; i < env->n; i++) {
		const char *eq = strchr(env->v[i], '=');
		if (eq && eq != env->v[i])
			env->v[k++] = env->v[i];
	}
	size_t dropped = env->n - k;
	if (env->v)
		env->v[k] = NULL;
	env->n = k;
	return dropped;
}

int cmdenv_one_line(const char *data, size_t len, char **line, char *why, size_t whylen)
{
	struct cmdenv_list l;
	int rc = cmdenv_parse(data, len, &l, why, whylen);
	if (rc < 0)
		return rc;
	if (l.n != 1 || !l.v[0][0]) {
		if (l.n > 1)
			snprintf(why, whylen, "%zu lines, expected one", l.n);
		else
			snprintf(why, whylen, "empty");
		cmdenv_free(&l);
		return -EINVAL;
	}
	*line = strdup(l.v[0]);
	cmdenv_free(&l);
	if (!*line) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

bool cmdenv_module_name_ok(const char *name)
{
	size_t n = strlen(name);
	return n > 3 && !strchr(name, '/') && !strcmp(name + n - 3, ".ko");
}

bool cmdenv_cmdline_has(const char *cmdline, size_t len, const char *word)
{
	size_t wl = strlen(word);
	size_t i = 0;
	while (i < len) {
		while (i < len && (cmdline[i] == ' ' || cmdline[i] == '\n' || cmdline[i] == '\t'))
			i++;
		size_t s = i;
		while (i < len && cmdline[i] != ' ' && cmdline[i] != '\n' && cmdline[i] != '\t' && cmdline[i])
			i++;
		if (i - s == wl && wl && !memcmp(cmdline + s, word, wl))
			return true;
		if (i < len && !cmdline[i])
			break;
	}
	return false;
}
