/* Table-driven flag parsing shared by every command.
 *
 * The rules are clap's, as nitro-cli 1.5.0 declares its command line
 * (aws-nitro-enclaves-cli src/lib.rs create_app!, clap 4.5): flags are
 * checked in the order given, then conflicts, then required flags, and a
 * refusal is clap's message with exit status 2 (arg_errors.c renders it), so
 * a script written against nitro-cli's parser reads carve's the same way.
 * What a value means is the command's business, with nitro-cli's Exx codes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* A parse in progress: the table, and which flags were given, in the order
 * each first appeared (clap's matcher order, which its messages follow). */
struct parse {
	const char *command;
	const struct cli_arg *args;
	int count;
	int given[CLI_MAX_ARGS];
	int ngiven;
};

static int find_arg(const struct cli_arg *args, const char *name, size_t len)
{
	for (int i = 0; args[i].name; i++)
		if (strlen(args[i].name) == len && !strncmp(args[i].name, name, len))
			return i;
	return -1;
}

bool cli_name_listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = list; p && *p;) {
		while (*p == ' ')
			p++;
		size_t word = strcspn(p, " ");
		if (word == len && !strncmp(p, name, len))
			return true;
		p += word;
	}
	return false;
}

int cli_listed_flags(const struct cli_arg *args, const char *list, int *out)
{
	int n = 0;
	for (const char *p = list; p && *p && n < CLI_MAX_ARGS;) {
		while (*p == ' ')
			p++;
		size_t word = strcspn(p, " ");
		int idx = word ? find_arg(args, p, word) : -1;
		if (idx >= 0)
			out[n++] = idx;
		p += word;
	}
	return n;
}

static bool was_given(const struct parse *p, int i)
{
	for (int k = 0; k < p->ngiven; k++)
		if (p->given[k] == i)
			return true;
	return false;
}

/* clap's conflicts_with is symmetric: either side may declare it. */
static bool in_conflict(const struct parse *p, int i, int j)
{
	return cli_name_listed(p->args[i].conflicts, p->args[j].name) ||
		cli_name_listed(p->args[j].conflicts, p->args[i].name);
}

void cli_list_free(struct cli_list *l)
{
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

/* Who answers --help instead of the text below (cli_set_help_renderer):
 * owned here, as --help is. */
static cli_help_renderer help_renderer;
static void *help_renderer_ctx;

void cli_set_help_renderer(cli_help_renderer fn, void *ctx)
{
	help_renderer = fn;
	help_renderer_ctx = ctx;
}

static void print_help(FILE *out, const char *command, const struct cli_arg *args)
{
	const char *summary = "";
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (!strcmp(c->name, command))
			summary = c->summary;
	if (help_renderer) {
		help_renderer(help_renderer_ctx, command, summary, args);
		return;
	}
	fprintf(out, "carve %s: %s\n\nFlags:\n", command, summary);
	for (const struct cli_arg *a = args; a->name; a++)
		fprintf(out, "  --%-24s %s%s\n", a->name, a->help, a->required ? " (required)" : "");
}

static struct cli_usage_view view_of(const struct parse *p)
{
	return (struct cli_usage_view){.command = p->command, .args = p->args};
}

/* A word that is not one of the command's flags. For "--name[=value]" clap
 * names "--name", suggests the closest flag and shows it in the usage line
 * as if given; anything else it names whole, with the plain usage. */
static int refuse_unknown(const struct parse *p, const char *word, struct carve_err *err)
{
	if (strncmp(word, "--", 2) != 0 || !word[2])
		return cli_refuse_unknown(view_of(p), word, NULL, NULL, 0, err);
	char flag[128];
	snprintf(flag, sizeof(flag), "--%.*s", (int)strcspn(word + 2, "="), word + 2);
	int used[CLI_MAX_ARGS + 1], suggested_idx;
	const char *suggested = cli_closest_flag(p->args, flag + 2, &suggested_idx);
	memcpy(used, p->given, sizeof(int) * (size_t)p->ngiven);
	int nused = p->ngiven;
	if (suggested_idx >= 0 && (suggested_idx == CLI_HELP_FLAG || !was_given(p, suggested_idx)))
		used[nused++] = suggested_idx;
	return cli_refuse_unknown(view_of(p), flag, suggested, used, nused, err);
}

/* "--help", "-h", or one of the command's flags (with or without "=value"). */
static bool is_known_word(const struct parse *p, const char *word)
{
	if (!strcmp(word, "--help") || !strcmp(word, "-h"))
		return true;
	if (strncmp(word, "--", 2) != 0)
		return false;
	const char *name = word + 2;
	return find_arg(p->args, name, strcspn(name, "=")) >= 0;
}

/* Reads one "--name[=value] [values]" at argv[*i]; advances *i past what it took. */
static int take_flag(struct parse *p, int argc, char **argv, int *i, struct carve_err *err)
{
	const char *word = argv[*i];
	const char *name = word + 2;
	const char *eq = strchr(name, '=');
	size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
	int idx = find_arg(p->args, name, name_len);
	if (idx < 0)
		return refuse_unknown(p, word, err);
	const struct cli_arg *a = &p->args[idx];
	bool again = was_given(p, idx);
	/* carve's own form: list flags may repeat (nitro-cli's refuse). */
	if (again && a->kind != ARG_STRING_LIST)
		return cli_refuse_repeat(view_of(p), idx, err);
	if (!again)
		p->given[p->ngiven++] = idx;
	if (a->kind == ARG_FLAG) {
		if (eq)
			return cli_refuse_flag_value(view_of(p), idx, eq + 1, p->given, p->ngiven, err);
		*(bool *)a->slot = true;
		return 0;
	}
	const char *value;
	if (eq) {
		value = eq + 1;
	} else {
		/* clap takes no value that looks like a flag: "--memory
		 * --eif-path x" is a missing value, "--memory -5" and
		 * "--memory --bogus" are the unknown flag after it. */
		const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
		if (next && next[0] == '-' && next[1] != '\0') {
			if (!is_known_word(p, next)) {
				*i += 1;
				return refuse_unknown(p, next, err);
			}
			next = NULL;
		}
		if (!next)
			return cli_refuse_no_value(view_of(p), idx, err);
		value = argv[++*i];
	}
	if (a->kind == ARG_STRING) {
		*(const char **)a->slot = value;
		return 0;
	}
	/* clap's num_args(1..), as nitro-cli declares --cpu-ids: "--cpu-ids
	 * 1 3" takes the words up to the next one that starts with '-'.
	 * "--name=value" is one value, as in clap. */
	int more = 0;
	while (!eq && *i + 1 + more < argc && argv[*i + 1 + more][0] != '-')
		more++;
	struct cli_list *l = a->slot;
	const char **items = realloc(l->items, sizeof(*items) * (size_t)(l->count + 1 + more));
	if (!items)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	items[l->count++] = value;
	for (; more > 0; more--)
		items[l->count++] = argv[++*i];
	l->items = items;
	return 0;
}

/* clap's validate_conflicts: for each flag given, in order, the given flags
 * it conflicts with. */
static int check_conflicts(const struct parse *p, struct carve_err *err)
{
	for (int k = 0; k < p->ngiven; k++) {
		int with[CLI_MAX_ARGS], nwith = 0;
		for (int m = 0; m < p->ngiven; m++)
			if (m != k && in_conflict(p, p->given[k], p->given[m]))
				with[nwith++] = p->given[m];
		if (nwith == 0)
			continue;
		/* The usage line shows what was given less the conflicting
		 * flags, each preceded by what it requires. */
		int used[2 * CLI_MAX_ARGS], nused = 0;
		for (int m = 0; m < p->ngiven; m++) {
			int g = p->given[m];
			bool conflicting = false;
			for (int c = 0; c < nwith; c++)
				conflicting |= with[c] == g;
			if (!conflicting)
				used[nused++] = g;
		}
		int front[CLI_MAX_ARGS], nfront = 0;
		for (int u = 0; u < nused; u++)
			for (int r = 0; p->args[r].name; r++)
				if (cli_name_listed(p->args[used[u]].requires, p->args[r].name) &&
				    !was_given(p, r))
					front[nfront++] = r;
		int ordered[3 * CLI_MAX_ARGS], nordered = 0;
		for (int f = 0; f < nfront; f++)
			ordered[nordered++] = front[f];
		for (int u = 0; u < nused; u++)
			ordered[nordered++] = used[u];
		return cli_refuse_conflict(view_of(p), p->given[k], with, nwith, ordered, nordered, err);
	}
	return 0;
}

/* A flag that is not given is excused when it conflicts with one that is
 * (clap's is_missing_required_ok). */
static bool excused(const struct parse *p, int i)
{
	for (int k = 0; k < p->ngiven; k++)
		if (in_conflict(p, i, p->given[k]))
			return true;
	return false;
}

static bool any_given(const struct parse *p, const char *list)
{
	for (int k = 0; k < p->ngiven; k++)
		if (cli_name_listed(list, p->args[p->given[k]].name))
			return true;
	return false;
}

/* clap's validate_required: the required flags (and those a given flag
 * requires), then the ones required unless another is given, in table order. */
static int check_required(const struct parse *p, struct carve_err *err)
{
	int graph[2 * CLI_MAX_ARGS], ngraph = 0;
	for (int i = 0; i < p->count; i++)
		if (p->args[i].required)
			graph[ngraph++] = i;
	for (int k = 0; k < p->ngiven; k++)
		for (int r = 0; r < p->count; r++)
			if (cli_name_listed(p->args[p->given[k]].requires, p->args[r].name)) {
				bool listed = false;
				for (int g = 0; g < ngraph; g++)
					listed |= graph[g] == r;
				if (!listed)
					graph[ngraph++] = r;
			}
	int missing[2 * CLI_MAX_ARGS], nmissing = 0;
	/* A required flag with an "unless" list (carve's own forms that stand
	 * in for one of nitro-cli's required flags) is excused by any of them. */
	for (int g = 0; g < ngraph; g++)
		if (!was_given(p, graph[g]) && !excused(p, graph[g]) &&
		    !any_given(p, p->args[graph[g]].unless))
			missing[nmissing++] = graph[g];
	for (int i = 0; i < p->count; i++) {
		const struct cli_arg *a = &p->args[i];
		if (!a->required && a->unless && !was_given(p, i) && !any_given(p, a->unless) &&
		    !excused(p, i))
			missing[nmissing++] = i;
	}
	if (nmissing == 0)
		return 0;
	return cli_refuse_missing(view_of(p), graph, ngraph, missing, nmissing, p->given, p->ngiven, err);
}

int cli_parse(const char *command, const struct cli_arg *args, int argc, char **argv, struct carve_err *err)
{
	struct parse p = {.command = command, .args = args};
	while (args[p.count].name)
		p.count++;
	if (p.count > CLI_MAX_ARGS)
		return carve_fail(err, E00_UNSPECIFIED, "'%s' declares more than %d flags", command,
				  CLI_MAX_ARGS);
	for (int i = 0; i < argc; i++) {
		const char *word = argv[i];
		if (!strcmp(word, "--help") || !strcmp(word, "-h")) {
			print_help(stdout, command, args);
			return CLI_HELP_SHOWN;
		}
		/* "--" ends the flags: what follows would be positional
		 * words, and commands take none. clap names the first such
		 * word, flag-like or not, with the command's plain usage. */
		if (!strcmp(word, "--")) {
			if (i + 1 < argc)
				return cli_refuse_unknown(view_of(&p), argv[i + 1], NULL, NULL, 0, err);
			break;
		}
		if (strncmp(word, "--", 2) != 0)
			return refuse_unknown(&p, word, err);
		if (take_flag(&p, argc, argv, &i, err) < 0)
			return -1;
	}
	if (check_conflicts(&p, err) < 0 || check_required(&p, err) < 0)
		return -1;
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

int cli_parse_uint(const char *flag, const char *text, unsigned long max, unsigned long *out,
		   struct carve_err *err)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (!*text || *end || text[0] == '-' || errno || v > max)
		return carve_fail(err, E47_INTEGER_PARSING, "'--%s %s' is not a number from 0 to %lu", flag,
				  text, max);
	*out = v;
	return 0;
}
