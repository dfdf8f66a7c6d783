/* The manual pages and the bash completion, made from the command table
 * (main.c) and each command's own flag table: every command is run with
 * --help while a renderer stands in for the text (cli_set_help_renderer), so
 * what the pages and the completion say is what --help says, and a flag
 * added to a command reaches both with no edit here. vsock-proxy has AWS's
 * own parser and no table: its page is its --help text, and its completion
 * reads the flags from that text. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

#define VSOCK_PROXY "vsock-proxy"

/* roff text: backslashes and hyphens escaped (\- so a flag copied from the
 * page is ASCII), and a line's leading '.' or '\'' kept from being read as
 * a request. */
static void roff(FILE *out, const char *text)
{
	bool line_start = true;
	for (const char *p = text; *p; p++) {
		if (line_start && (*p == '.' || *p == '\''))
			fputs("\\&", out);
		line_start = *p == '\n';
		if (*p == '\\')
			fputs("\\e", out);
		else if (*p == '-')
			fputs("\\-", out);
		else
			fputc(*p, out);
	}
}

static void man_header(FILE *out, const char *page, const char *summary)
{
	char upper[128];
	size_t i = 0;
	for (; page[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)toupper((unsigned char)page[i]);
	upper[i] = '\0';
	/* No date: the pages are the same for every build of a version. */
	fputs(".TH ", out);
	roff(out, upper);
	fprintf(out, " 1 \"\" \"carve %s\" \"carve manual\"\n.SH NAME\n", CARVE_VERSION);
	roff(out, page);
	fputs(" \\- ", out);
	roff(out, summary);
	fputc('\n', out);
}

/* "Required unless --a or --b." from a space-separated list of flag names. */
static void man_relation(FILE *out, const char *what, const char *list)
{
	if (!list || !*list)
		return;
	fprintf(out, ".br\n%s", what);
	const char *sep = " ";
	for (const char *p = list; *p;) {
		while (*p == ' ')
			p++;
		size_t word = strcspn(p, " ");
		if (!word)
			break;
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)word, p);
		fputs(sep, out);
		fputs("\\fB\\-\\-", out);
		roff(out, name);
		fputs("\\fR", out);
		sep = ", ";
		p += word;
	}
	fputs(".\n", out);
}

struct render {
	FILE *out;
	bool done;
};

static void render_man(void *ctx, const char *command, const char *summary, const struct cli_arg *args)
{
	struct render *r = ctx;
	FILE *out = r->out;
	char page[128];
	snprintf(page, sizeof(page), "carve-%s", command);
	man_header(out, page, summary);
	fputs(".SH SYNOPSIS\n.B carve ", out);
	roff(out, command);
	fputs("\n[\\fIflags\\fR]\n.br\n.B nitro\\-cli ", out);
	roff(out, command);
	fputs("\n[\\fIflags\\fR]\n.SH DESCRIPTION\n", out);
	roff(out, summary);
	/* No line may start with a flag outside OPTIONS: a test reads the
	 * flags a page defines from the lines that start with one. */
	fputs(".\nFlags take \\fB\\-\\-name value\\fR or \\fB\\-\\-name=value\\fR; \\fB\\-\\-help\\fR "
	      "lists them.\n.SH OPTIONS\n",
	      out);
	if (!args[0].name)
		fputs("None.\n", out);
	for (const struct cli_arg *a = args; a->name; a++) {
		fputs(".TP\n\\fB\\-\\-", out);
		roff(out, a->name);
		fputs("\\fR", out);
		if (a->kind != ARG_FLAG) {
			fputs(" \\fI", out);
			roff(out, a->value_name ? a->value_name : a->name);
			fputs(a->kind == ARG_STRING_LIST ? "\\fR ...\n" : "\\fR\n", out);
		} else {
			fputc('\n', out);
		}
		roff(out, a->help);
		fputs(a->required ? " (required)\n" : "\n", out);
		man_relation(out, "Required unless", a->unless);
		man_relation(out, "Needs", a->requires);
		man_relation(out, "Cannot be used with", a->conflicts);
	}
	fputs(".SH SEE ALSO\n\\fBcarve\\fR(1)\n", out);
	r->done = true;
}

/* A command's --help rendered by fn; -1 if the command never reached
 * cli_parse's --help (then it has no table to render). */
static int render_command(const struct cli_command *c, cli_help_renderer fn, FILE *out)
{
	struct render r = {.out = out};
	char help[] = "--help";
	char *argv[] = {help, NULL};
	struct carve_err err = {0};
	cli_set_help_renderer(fn, &r);
	int rc = c->run(1, argv, &err);
	cli_set_help_renderer(NULL, NULL);
	if (rc != 0 || !r.done) {
		fprintf(stderr, "carve: '%s --help' rendered no flag table\n", c->name);
		return -1;
	}
	return 0;
}

/* vsock-proxy's --help text, in a buffer the caller frees. */
static char *proxy_help_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	cli_vsock_proxy_help(f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int proxy_man(FILE *out, const char *summary)
{
	char *text = proxy_help_text();
	if (!text)
		return -1;
	man_header(out, "carve-" VSOCK_PROXY, summary);
	fputs(".SH SYNOPSIS\n.B vsock\\-proxy\n[\\fIoptions\\fR] \\fIlocal_port\\fR \\fIremote_addr\\fR "
	      "\\fIremote_port\\fR\n.br\n.B carve vsock\\-proxy\n[\\fIoptions\\fR] \\fIlocal_port\\fR "
	      "\\fIremote_addr\\fR \\fIremote_port\\fR\n.SH DESCRIPTION\n.nf\n",
	      out);
	roff(out, text);
	fputs(".fi\n.SH SEE ALSO\n\\fBcarve\\fR(1)\n", out);
	free(text);
	return 0;
}

static void carve_man(FILE *out)
{
	man_header(out, "carve", "Nitro-Enclaves-style enclaves on any Linux host with KVM");
	fputs(".SH SYNOPSIS\n.B carve\n[\\fB\\-\\-verbose\\fR] \\fIcommand\\fR [\\fIflags\\fR]\n.br\n"
	      ".B nitro\\-cli\n\\fIcommand\\fR [\\fIflags\\fR]\n.SH DESCRIPTION\n"
	      "carve builds, signs and runs enclave images (EIFs) as AWS Nitro Enclaves does, on\n"
	      "any Linux host with KVM. The same binary answers to the name \\fBnitro\\-cli\\fR\n"
	      "(nitro\\-cli's version and messages) and to \\fBvsock\\-proxy\\fR (AWS's proxy).\n"
	      "\\fBcarve\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR lists a command's flags.\n"
	      ".SH COMMANDS\n",
	      out);
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		fputs(".TP\n\\fB", out);
		roff(out, c->name);
		fputs("\\fR\n", out);
		roff(out, c->summary);
		fputs("; see \\fBcarve\\-", out);
		roff(out, c->name);
		fputs("\\fR(1).\n", out);
	}
	fputs(".SH ENVIRONMENT\n"
	      ".TP\n.B CARVE_BLOBS\n"
	      "The directory searched first for the blobs: carve\\-kernel.elf (the carve enclave\n"
	      "kernel), bzImage, cmdline and bootstrap\\-initrd.img (the Linux enclave kernel).\n"
	      ".TP\n.B NITRO_CLI_BLOBS\nSearched next: nitro\\-cli's blobs directory.\n"
	      ".TP\n.B CARVE_VERBOSE\nSet to 1: as \\fB\\-\\-verbose\\fR.\n"
	      ".SH FILES\n"
	      ".TP\n.I <prefix>/share/carve/blobs\n"
	      "The blobs of an installed carve, found beside the binary\n"
	      "(\\fI<prefix>/bin/../share/carve/blobs\\fR) when neither variable names one.\n"
	      ".SH SEE ALSO\n",
	      out);
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		fputs("\\fBcarve\\-", out);
		roff(out, c->name);
		fputs(c[1].name ? "\\fR(1),\n" : "\\fR(1)\n", out);
	}
}

static FILE *open_page(const char *dir, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.1", dir, name);
	FILE *f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "carve: cannot write '%s': %s\n", path, strerror(errno));
	return f;
}

static int close_page(FILE *f, const char *path, int rc)
{
	if (fclose(f) != 0 && rc == 0) {
		fprintf(stderr, "carve: cannot write '%s': %s\n", path, strerror(errno));
		return -1;
	}
	return rc;
}

/* A page that is another's (.so): nitro-cli(1) is carve(1). */
static int alias_page(const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX];
	FILE *f = open_page(dir, name, path, sizeof(path));
	if (!f)
		return -1;
	fprintf(f, ".so man1/%s.1\n", target);
	return close_page(f, path, 0);
}

int cli_help_man(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "Usage: carve help-man DIR   (writes carve.1 and carve-<command>.1 there)\n");
		return CLI_USAGE_EXIT;
	}
	const char *dir = argv[0];
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "carve: cannot make '%s': %s\n", dir, strerror(errno));
		return 1;
	}
	char path[PATH_MAX];
	FILE *f = open_page(dir, "carve", path, sizeof(path));
	if (!f)
		return 1;
	carve_man(f);
	if (close_page(f, path, 0) < 0)
		return 1;
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		char name[128];
		snprintf(name, sizeof(name), "carve-%s", c->name);
		if (!(f = open_page(dir, name, path, sizeof(path))))
			return 1;
		int rc = strcmp(c->name, VSOCK_PROXY) ? render_command(c, render_man, f)
						      : proxy_man(f, c->summary);
		if (close_page(f, path, rc) < 0)
			return 1;
	}
	if (alias_page(dir, "nitro-cli", "carve") < 0 ||
	    alias_page(dir, VSOCK_PROXY, "carve-" VSOCK_PROXY) < 0)
		return 1;
	return 0;
}

static void render_completion(void *ctx, const char *command, const char *summary, const struct cli_arg *args)
{
	(void)summary;
	struct render *r = ctx;
	fprintf(r->out, "\t%s)\n\t\tflags='", command);
	for (const struct cli_arg *a = args; a->name; a++)
		fprintf(r->out, "%s--%s", a == args ? "" : " ", a->name);
	fputs("'\n\t\tvalued='", r->out);
	const char *sep = "";
	for (const struct cli_arg *a = args; a->name; a++)
		if (a->kind != ARG_FLAG) {
			fprintf(r->out, "%s--%s", sep, a->name);
			sep = " ";
		}
	fputs("'\n\t\t;;\n", r->out);
	r->done = true;
}

/* vsock-proxy's flags, read from its --help: the option lines ("  -4,
 * --ipv4  ...", "      --config <config_file>  ..."); a <placeholder>
 * before the description means the flag takes a value. */
static int proxy_completion(FILE *out)
{
	char *text = proxy_help_text();
	if (!text)
		return -1;
	char flags[512] = "", valued[512] = "";
	for (const char *line = text; *line;) {
		const char *eol = line + strcspn(line, "\n");
		const char *p = line;
		while (p < eol && *p == ' ')
			p++;
		if (*p == '-') {
			const char *end = strstr(p, "  ");
			if (!end || end > eol)
				end = eol;
			bool takes = memchr(p, '<', (size_t)(end - p)) != NULL;
			for (const char *q = p; q < end;) {
				size_t w = strcspn(q, " ,");
				if (q + w > end)
					w = (size_t)(end - q);
				if (*q == '-') {
					snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags),
						 "%s%.*s", *flags ? " " : "", (int)w, q);
					if (takes)
						snprintf(valued + strlen(valued),
							 sizeof(valued) - strlen(valued), "%s%.*s",
							 *valued ? " " : "", (int)w, q);
				}
				q += w;
				while (q < end && (*q == ' ' || *q == ','))
					q++;
			}
		}
		line = *eol ? eol + 1 : eol;
	}
	free(text);
	fprintf(out, "\t%s)\n\t\tflags='%s'\n\t\tvalued='%s'\n\t\t;;\n", VSOCK_PROXY, flags, valued);
	return 0;
}

int cli_help_completion(int argc, char **argv)
{
	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "Usage: carve help-completion   (prints bash completion for carve)\n");
		return CLI_USAGE_EXIT;
	}
	FILE *out = stdout;
	fputs("# bash completion for carve, nitro-cli and vsock-proxy: commands, and each\n"
	      "# command's flags. Made by `carve help-completion` from carve's command and\n"
	      "# flag tables (the ones --help prints); do not edit.\n"
	      "# shellcheck shell=bash\n\n"
	      "# Sets flags and valued (the flags that take a value) for a command.\n"
	      "_carve_flags() {\n\tflags=''\n\tvalued=''\n\tcase $1 in\n",
	      out);
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		int rc = strcmp(c->name, VSOCK_PROXY) ? render_command(c, render_completion, out)
						      : proxy_completion(out);
		if (rc < 0)
			return 1;
	}
	fputs("\tesac\n}\n\n"
	      "# After a flag that takes a value: file names; else the flags.\n"
	      "_carve_complete_flags() {\n"
	      "\tlocal cur=$1 prev=$2\n"
	      "\tif [[ \" $valued \" == *\" $prev \"* ]]; then\n"
	      "\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
	      "\telse\n"
	      "\t\tmapfile -t COMPREPLY < <(compgen -W \"$flags --help\" -- \"$cur\")\n"
	      "\tfi\n}\n\n"
	      "_carve() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	      "\tlocal cmd='' i flags valued\n"
	      "\t# The command is the first word that is no flag (only --verbose comes before it).\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tif [[ ${COMP_WORDS[i]} != -* ]]; then\n"
	      "\t\t\tcmd=${COMP_WORDS[i]}\n"
	      "\t\t\tbreak\n"
	      "\t\tfi\n"
	      "\tdone\n"
	      "\tif [[ -z $cmd ]]; then\n"
	      "\t\tmapfile -t COMPREPLY < <(compgen -W '--verbose --help --version",
	      out);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(out, " %s", c->name);
	fputs("' -- \"$cur\")\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\t_carve_flags \"$cmd\"\n"
	      "\t_carve_complete_flags \"$cur\" \"$prev\"\n"
	      "}\n\n"
	      "_carve_vsock_proxy() {\n"
	      "\tlocal flags valued\n"
	      "\t_carve_flags " VSOCK_PROXY "\n"
	      "\t_carve_complete_flags \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD - 1]}\"\n"
	      "}\n\n"
	      "complete -F _carve carve nitro-cli\n"
	      "complete -F _carve_vsock_proxy " VSOCK_PROXY "\n",
	      out);
	return fflush(out) == 0 ? 0 : 1;
}
