/* Table-driven flag parsing shared by every command. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_arg *find_arg(const struct cli_arg *args, const char *name, size_t len)
{
	for (const struct cli_arg *a = args; a->name; a++)
		if (strlen(a->name) == len && !strncmp(a->name, name, len))
			return a;
	return NULL;
}

void cli_list_free(struct cli_list *l)
{
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

static void print_help(FILE *out, const char *command, const struct cli_arg *args)
{
	const char *summary = "";
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (!strcmp(c->name, command))
			summary = c->summary;
	fprintf(out, "carve %s: %s\n\nFlags:\n", command, summary);
	for (const struct cli_arg *a = args; a->name; a++)
		fprintf(out, "  --%-24s %s%s\n", a->name, a->help, a->required ? " (required)" : "");
}

int cli_parse(const char *command, const struct cli_arg *args, int argc, char **argv, struct carve_err *err)
{
	unsigned seen = 0; /* bit per table entry, for repeats and required flags */
	for (int i = 0; i < argc; i++) {
		const char *word = argv[i];
		if (!strcmp(word, "--help") || !strcmp(word, "-h")) {
			print_help(stdout, command, args);
			return CLI_HELP_SHOWN;
		}
		if (strncmp(word, "--", 2) != 0)
			return carve_fail(err, E03_INVALID_ARGUMENT, "unexpected argument '%s' for '%s'",
					  word, command);
		const char *name = word + 2;
		const char *eq = strchr(name, '=');
		size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
		const struct cli_arg *a = find_arg(args, name, name_len);
		if (!a)
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "'%s' does not take '--%.*s'; see 'carve %s --help'", command,
					  (int)name_len, name, command);
		unsigned bit = 1u << (a - args);
		if ((seen & bit) && a->kind != ARG_STRING_LIST)
			return carve_fail(err, E02_CONFLICTING_ARGUMENT, "'--%s' was given more than once",
					  a->name);
		seen |= bit;
		if (a->kind == ARG_FLAG) {
			if (eq)
				return carve_fail(err, E03_INVALID_ARGUMENT, "'--%s' takes no value",
						  a->name);
			*(bool *)a->slot = true;
			continue;
		}
		const char *value;
		if (eq) {
			value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return carve_fail(err, E01_MISSING_ARGUMENT, "'--%s' needs a value", a->name);
			value = argv[++i];
		}
		if (a->kind == ARG_STRING) {
			*(const char **)a->slot = value;
		} else {
			/* clap's num_args(1..), as nitro-cli declares --cpu-ids
			 * (src/lib.rs create_app!): "--cpu-ids 1 3" takes the words
			 * up to the next one that starts with '-'. "--name=value"
			 * is one value, as in clap. Commands take no positional
			 * words, so no valid command line changes meaning. */
			int more = 0;
			while (!eq && i + 1 + more < argc && argv[i + 1 + more][0] != '-')
				more++;
			struct cli_list *l = a->slot;
			const char **items =
				realloc(l->items, sizeof(*items) * (size_t)(l->count + 1 + more));
			if (!items)
				return carve_fail(err, E00_UNSPECIFIED, "out of memory");
			items[l->count++] = value;
			for (; more > 0; more--)
				items[l->count++] = argv[++i];
			l->items = items;
		}
	}
	for (const struct cli_arg *a = args; a->name; a++)
		if (a->required && !(seen & (1u << (a - args))))
			return carve_fail(err, E01_MISSING_ARGUMENT,
					  "'%s' needs '--%s'; see 'carve %s --help'", command, a->name,
					  command);
	return CLI_PARSED;
}

int cli_parse_af_vsock(const char *text, enum machine_af_vsock *mode, struct carve_err *err)
{
	static const struct {
		const char *name;
		enum machine_af_vsock mode;
	} modes[] = {{"auto", MACHINE_AF_VSOCK_AUTO},
		     {"on", MACHINE_AF_VSOCK_ON},
		     {"off", MACHINE_AF_VSOCK_OFF},
		     {"kernel", MACHINE_AF_VSOCK_KERNEL}};
	if (!text) {
		*mode = MACHINE_AF_VSOCK_AUTO;
		return 0;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(text, modes[i].name)) {
			*mode = modes[i].mode;
			return 0;
		}
	return carve_fail(err, E03_INVALID_ARGUMENT, "--af-vsock '%s' must be auto, on, off or kernel", text);
}
