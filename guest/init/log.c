/* Init's lines. Each goes to the console, formatted whole and written with
 * one write() so the program's output and the kernel's cannot split a line
 * of ours; and to the carve log port, so the host's event log has init's
 * steps and failures even when the console is sealed (not debug mode). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>

#include "init.h"

/* VMM_LOG_PORT in include/carve/vmm.h: lines of text, one rep outsb each. */
#define CARVE_LOG_PORT 0xF5

static bool quiet;    /* owned here: set once from the kernel command line */
static bool log_port; /* init may write the log port (ioperm granted) */

void log_port_open(void)
{
	/* Outside carve the port is not there; a failed ioperm only means the
	 * lines stay on the console. */
	log_port = ioperm(CARVE_LOG_PORT, 1, 1) == 0;
}

void log_port_close(void)
{
	if (log_port)
		(void)ioperm(CARVE_LOG_PORT, 1, 0);
	log_port = false;
}

static void to_log_port(const char *line, size_t len)
{
#if defined(__x86_64__)
	if (log_port)
		__asm__ volatile("rep outsb"
				 : "+S"(line), "+c"(len)
				 : "d"((uint16_t)CARVE_LOG_PORT)
				 : "memory");
#else
	(void)line;
	(void)len;
#endif
}

void log_set_quiet(bool q) { quiet = q; }

static void vline(bool console, const char *fmt, va_list ap)
{
	static const char prefix[] = "carve-init: ";
	char buf[512];
	int saved = errno;
	int n = snprintf(buf, sizeof(buf), "%s", prefix);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2; /* truncated: keep the newline */
	buf[len++] = '\n';
	/* The event log names the sender itself ("init: ..."). */
	to_log_port(buf + sizeof(prefix) - 1, len - (sizeof(prefix) - 1));
	for (size_t off = 0; console && off < len;) {
		ssize_t w = write(STDERR_FILENO, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(!quiet, fmt, ap); /* carve.quiet silences the console only */
	va_end(ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(true, fmt, ap);
	va_end(ap);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(true, fmt, ap);
	va_end(ap);
	power_off(status);
}
