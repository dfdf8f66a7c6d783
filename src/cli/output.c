/* How carve prints: JSON results on stdout (pretty, like serde_json's
 * to_string_pretty that nitro-cli uses), errors on stderr in nitro-cli's
 * "[ Exx ]" form with the E-code as exit status. */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carve/paths.h"
#include "carve/util.h"
#include "cli/cli.h"

const char *cli_action = "";

/* serde_json prints an empty array or object as "[]" / "{}", at any depth;
 * json-c as "[\n  ]". json-c escapes newlines inside strings, so a raw
 * newline is always layout and the rewrite cannot touch a string's text. */
static void print_serde_style(const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '[' || *p == '{') {
			const char *q = p + 1;
			if (*q == '\n') {
				while (*++q == ' ')
					;
				if (*q == (*p == '[' ? ']' : '}')) {
					putchar(*p);
					putchar(*q);
					p = q;
					continue;
				}
			}
		}
		putchar(*p);
	}
	putchar('\n');
}

void cli_print_json(struct json_object *obj)
{
	const char *text = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	print_serde_style(text);
	fflush(stdout);
}

/* chrono's Utc::now().to_rfc3339(), which names nitro-cli's error logs: the
 * fraction only as long as the nanoseconds need (0, 3, 6 or 9 digits), and
 * "+00:00" for UTC. */
static void rfc3339_now(char *out, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char secs[32], frac[24] = "";
	strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm);
	long ns = ts.tv_nsec;
	if (ns % 1000000000 == 0)
		frac[0] = '\0';
	else if (ns % 1000000 == 0)
		snprintf(frac, sizeof(frac), ".%03ld", ns / 1000000);
	else if (ns % 1000 == 0)
		snprintf(frac, sizeof(frac), ".%06ld", ns / 1000);
	else
		snprintf(frac, sizeof(frac), ".%09ld", ns);
	snprintf(out, len, "%s%s+00:00", secs, frac);
}

/* nitro-cli writes each failure to <logs>/err<time>.log for a support ticket
 * (aws-nitro-enclaves-cli v1.5.0 src/common/mod.rs:313-341 log_backtrace,
 * with the fields of document_errors.rs:354-365 construct_backtrace that
 * carve has). 0 with the path, or -1: then, as nitro-cli, the message just
 * does not name a file. */
static int write_error_log(int code, const struct carve_err *err, char *path, size_t len)
{
	const char *dir = carve_logs_dir();
	if (!dir || mkdir_p(dir, 0755) < 0)
		return -1;
	char when[64];
	rfc3339_now(when, sizeof(when));
	int n = snprintf(path, len, "%s/err%s.log", dir, when);
	if (n < 0 || (size_t)n >= len)
		return -1;
	/* Owner only: the message may name the user's files. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	fprintf(f,
		"  Action: %s\n  Subactions:\n    %s\n  Error code: E%02d\n  Version: carve %s (nitro-cli %s)",
		cli_action, err->msg[0] ? err->msg : carve_code_explanation(code), code, CARVE_VERSION,
		NITRO_CLI_COMPAT_VERSION);
	return fclose(f) == 0 ? 0 : -1;
}

int cli_report_error(const struct carve_err *err)
{
	int code = carve_code_valid(err->code) ? err->code : E00_UNSPECIFIED;
	fprintf(stderr, "[ E%02d ] %s. %s\n\n", code, carve_code_name(code),
		err->msg[0] ? err->msg : carve_code_explanation(code));
	/* AWS's page lists nitro-cli's codes only; carve's own are explained here. */
	if (code >= CARVE_CODE_FIRST_OWN)
		fprintf(stderr, "For more details, run 'carve explain --error-code E%02d'\n", code);
	else
		fprintf(stderr,
			"For more details, run 'carve explain --error-code E%02d' or visit "
			"https://docs.aws.amazon.com/enclaves/latest/user/cli-errors.html#E%02d\n",
			code, code);
	char log_path[PATH_MAX];
	if (write_error_log(code, err, log_path, sizeof(log_path)) == 0)
		fprintf(stderr,
			"\nIf you open a support ticket, please provide the error log found at \"%s\"\n",
			log_path);
	/* E00 would exit 0; an unspecified failure must still fail. */
	return code ? code : 1;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

struct json_object *cli_measurements_json(const struct eif_measurements *m)
{
	char hex[2 * PCR_LEN + 1];
	json_object *o = json_object_new_object();
	/* nitro-cli prints the Rust Debug form of its hasher here. */
	json_object_object_add(o, "HashAlgorithm", json_object_new_string("Sha384 { ... }"));
	hex_encode(m->pcr0, PCR_LEN, hex);
	json_object_object_add(o, "PCR0", json_object_new_string(hex));
	hex_encode(m->pcr1, PCR_LEN, hex);
	json_object_object_add(o, "PCR1", json_object_new_string(hex));
	hex_encode(m->pcr2, PCR_LEN, hex);
	json_object_object_add(o, "PCR2", json_object_new_string(hex));
	if (m->has_pcr8) {
		hex_encode(m->pcr8, PCR_LEN, hex);
		json_object_object_add(o, "PCR8", json_object_new_string(hex));
	}
	return o;
}
