/* See carve/log.h. */
#include "carve/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "carve/util.h"

bool log_verbose(void)
{
	const char *v = getenv("CARVE_VERBOSE");
	return v && *v && strcmp(v, "0") != 0;
}

void event_log_open(struct event_log *l, const char *path, const char *who)
{
	/* Owner and root only: the log names what the enclave's init did. */
	l->fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
	l->to_stderr = log_verbose();
	snprintf(l->who, sizeof(l->who), "%s", who ? who : "carve");
}

void event_log_close(struct event_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

void event_log(struct event_log *l, const char *fmt, ...)
{
	if (!l || (l->fd < 0 && !l->to_stderr))
		return;
	char line[1024];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03ldZ %s ", (long)(tv.tv_usec / 1000), l->who);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line: O_APPEND keeps concurrent writers' lines whole. */
	if (l->fd >= 0)
		(void)write_full(l->fd, line, len);
	if (l->to_stderr)
		(void)write_full(STDERR_FILENO, line, len);
}
