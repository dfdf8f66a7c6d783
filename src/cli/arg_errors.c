/* The flag parser's refusals, worded and laid out as clap 4.5 words them for
 * nitro-cli 1.5.0 (clap_builder error/format.rs RichFormatter, output/
 * usage.rs, parser/features/suggestions.rs):
 *
 *   error: <what>
 *   <blank line and "  tip: ..." when there is a suggestion>
 *   <blank line>
 *   Usage: <bin> <command> <flags>
 *   <blank line>
 *   For more information, try '--help'.
 *
 * The whole text goes into err->msg with code CLI_USAGE_ERROR; main prints it
 * as it is and exits with 2, as clap does. args.c decides what is refused;
 * this file only words it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "carve/paths.h"
#include "cli/cli.h"

/* The message under construction, cut (never overrun) at the buffer's end. */
struct text {
	char buf[CARVE_ERR_MSG_MAX];
	size_t len;
};

static void __attribute__((format(printf, 2, 3))) add(struct text *t, const char *fmt, ...)
{
	if (t->len >= sizeof(t->buf) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < sizeof(t->buf) - t->len ? (size_t)n : sizeof(t->buf) - 1 - t->len;
}

static int refuse(struct text *t, struct carve_err *err)
{
	add(t, "\n\nFor more information, try '--help'.");
	/* Set by hand: carve_fail keeps codes to real ones, and this is none
	 * (the first error recorded still wins). */
	if (err && err->code == 0 && err->msg[0] == '\0') {
		err->code = CLI_USAGE_ERROR;
		snprintf(err->msg, sizeof(err->msg), "%s", t->buf);
	}
	return -1;
}

/* How clap shows a flag: "--memory <memory>", "--cpu-ids <cpu-ids>...",
 * "--debug-mode". */
static void add_flag(struct text *t, const struct cli_arg *a)
{
	if (a->kind == ARG_FLAG) {
		add(t, "--%s", a->name);
		return;
	}
	add(t, "--%s <%s>%s", a->name, a->value_name ? a->value_name : a->name,
	    a->kind == ARG_STRING_LIST ? "..." : "");
}

/* The name the user typed for carve, as clap takes its bin name from argv[0]. */
static const char *bin_name(void) { return carve_invoked_as_nitro_cli() ? NITRO_CLI_NAME : "carve"; }

static bool contains(const int *list, int n, int v)
{
	for (int i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

/* Appends idx to the list unless it is there (clap's FlatSet). */
static void add_once(int *list, int *n, int idx)
{
	if (!contains(list, *n, idx))
		list[(*n)++] = idx;
}

/* clap's unroll_arg_requires, then the flag itself: what idx requires,
 * depth first from a stack as clap walks it, comes before it. */
static void add_with_requires(const struct cli_arg *args, int idx, int *list, int *n)
{
	int stack[CLI_MAX_ARGS * CLI_MAX_ARGS], depth = 0, done[CLI_MAX_ARGS], ndone = 0;
	stack[depth++] = idx;
	while (depth > 0) {
		int a = stack[--depth];
		if (contains(done, ndone, a))
			continue;
		done[ndone++] = a;
		int req[CLI_MAX_ARGS];
		int nreq = cli_listed_flags(args, args[a].requires, req);
		for (int r = 0; r < nreq; r++) {
			if (args[req[r]].requires && depth < (int)(sizeof(stack) / sizeof(stack[0])))
				stack[depth++] = req[r];
			add_once(list, n, req[r]);
		}
	}
	add_once(list, n, idx);
}

/* "Usage: bin command ...": with nothing used, clap's help usage
 * ([OPTIONS] when any flag is optional, then the required flags); else its
 * "smart" usage: the required flags (graph), each after what it requires,
 * then the used ones, each once. */
static void add_usage(struct text *t, struct cli_usage_view v, const int *graph, int ngraph, const int *used,
		      int nused)
{
	add(t, "\n\nUsage: %s %s", bin_name(), v.command);
	int order[4 * CLI_MAX_ARGS], n = 0;
	int required[CLI_MAX_ARGS], nrequired = 0;
	if (!graph) {
		for (int i = 0; v.args[i].name; i++)
			if (v.args[i].required)
				required[nrequired++] = i;
		graph = required;
		ngraph = nrequired;
	}
	if (nused == 0) {
		for (int i = 0; v.args[i].name; i++)
			if (!v.args[i].required) {
				add(t, " [OPTIONS]");
				break;
			}
	}
	for (int g = 0; g < ngraph; g++)
		add_with_requires(v.args, graph[g], order, &n);
	for (int u = 0; u < nused; u++)
		add_once(order, &n, used[u]);
	for (int k = 0; k < n; k++) {
		add(t, " ");
		if (order[k] == CLI_HELP_FLAG)
			add(t, "--help");
		else
			add_flag(t, &v.args[order[k]]);
	}
}

/* strsim's Jaro similarity (what clap ranks suggestions by): matches within
 * half the longer length, less half the transpositions. */
static double jaro(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (!la && !lb)
		return 1.0;
	if (!la || !lb || la > 64 || lb > 64)
		return 0.0;
	size_t range = (la > lb ? la : lb) / 2;
	range = range ? range - 1 : 0;
	bool ma[64] = {0}, mb[64] = {0};
	size_t matches = 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > range ? i - range : 0;
		size_t hi = i + range + 1 < lb ? i + range + 1 : lb;
		for (size_t j = lo; j < hi; j++)
			if (!mb[j] && a[i] == b[j]) {
				ma[i] = mb[j] = true;
				matches++;
				break;
			}
	}
	if (!matches)
		return 0.0;
	size_t transposed = 0, j = 0;
	for (size_t i = 0; i < la; i++) {
		if (!ma[i])
			continue;
		while (!mb[j])
			j++;
		if (a[i] != b[j])
			transposed++;
		j++;
	}
	/* strsim halves the count with integer division: kept whole here. */
	size_t kept = matches - transposed / 2;
	double m = (double)matches;
	return (m / (double)la + m / (double)lb + (double)kept / m) / 3.0;
}

int cli_similar(const char *typed, const char *const *names, int count, int *out)
{
	double score[CLI_MAX_ARGS * 2];
	int n = 0;
	for (int i = 0; i < count && n < CLI_MAX_ARGS * 2; i++) {
		double s = jaro(typed, names[i]);
		if (s <= 0.7)
			continue;
		/* Ascending, a tie after the ones already there: clap pops
		 * the last as its single suggestion. */
		int at = n;
		while (at > 0 && score[at - 1] > s)
			at--;
		memmove(&score[at + 1], &score[at], sizeof(score[0]) * (size_t)(n - at));
		memmove(&out[at + 1], &out[at], sizeof(out[0]) * (size_t)(n - at));
		score[at] = s;
		out[at] = i;
		n++;
	}
	return n;
}

const char *cli_closest_flag(const struct cli_arg *args, const char *typed, int *idx)
{
	/* clap's keymap: the command's flags, then its own --help. */
	const char *names[CLI_MAX_ARGS + 1];
	int n = 0;
	for (; args[n].name && n < CLI_MAX_ARGS; n++)
		names[n] = args[n].name;
	names[n] = "help";
	int found[CLI_MAX_ARGS * 2];
	int k = cli_similar(typed, names, n + 1, found);
	*idx = -1;
	if (k == 0)
		return NULL;
	*idx = found[k - 1] < n ? found[k - 1] : CLI_HELP_FLAG;
	return names[found[k - 1]];
}

int cli_refuse_unknown(struct cli_usage_view v, const char *word, const char *suggested, const int *used,
		       int nused, struct carve_err *err)
{
	struct text t = {0};
	add(&t, "error: unexpected argument '%s' found", word);
	if (suggested)
		add(&t, "\n\n  tip: a similar argument exists: '--%s'", suggested);
	add_usage(&t, v, NULL, 0, used, nused);
	return refuse(&t, err);
}

int cli_refuse_repeat(struct cli_usage_view v, int idx, struct carve_err *err)
{
	struct text t = {0};
	add(&t, "error: the argument '");
	add_flag(&t, &v.args[idx]);
	add(&t, "' cannot be used multiple times");
	add_usage(&t, v, NULL, 0, NULL, 0);
	return refuse(&t, err);
}

int cli_refuse_flag_value(struct cli_usage_view v, int idx, const char *value, const int *used, int nused,
			  struct carve_err *err)
{
	struct text t = {0};
	add(&t, "error: unexpected value '%s' for '--%s' found; no more were expected", value,
	    v.args[idx].name);
	add_usage(&t, v, NULL, 0, used, nused);
	return refuse(&t, err);
}

int cli_refuse_no_value(struct cli_usage_view v, int idx, struct carve_err *err)
{
	struct text t = {0};
	add(&t, "error: a value is required for '");
	add_flag(&t, &v.args[idx]);
	add(&t, "' but none was supplied");
	return refuse(&t, err);
}

int cli_refuse_conflict(struct cli_usage_view v, int idx, const int *with, int nwith, const int *used,
			int nused, struct carve_err *err)
{
	struct text t = {0};
	add(&t, "error: the argument '");
	add_flag(&t, &v.args[idx]);
	add(&t, "' cannot be used with");
	if (nwith == 1) {
		add(&t, " '");
		add_flag(&t, &v.args[with[0]]);
		add(&t, "'");
	} else {
		add(&t, ":");
		for (int i = 0; i < nwith; i++) {
			add(&t, "\n  ");
			add_flag(&t, &v.args[with[i]]);
		}
	}
	add_usage(&t, v, NULL, 0, used, nused);
	return refuse(&t, err);
}

int cli_refuse_missing(struct cli_usage_view v, const int *graph, int ngraph, const int *missing,
		       int nmissing, const int *given, int ngiven, struct carve_err *err)
{
	struct text t = {0};
	add(&t, "error: the following required arguments were not provided:");
	/* clap's get_required_usage_from: the required flags (with what
	 * they require), then the missing ones, less those given. */
	int listed[4 * CLI_MAX_ARGS], n = 0;
	for (int g = 0; g < ngraph; g++)
		add_with_requires(v.args, graph[g], listed, &n);
	for (int m = 0; m < nmissing; m++)
		add_once(listed, &n, missing[m]);
	for (int k = 0; k < n; k++) {
		if (contains(given, ngiven, listed[k]))
			continue;
		add(&t, "\n  ");
		add_flag(&t, &v.args[listed[k]]);
	}
	int used[4 * CLI_MAX_ARGS], nused = 0;
	for (int k = 0; k < ngiven; k++)
		add_once(used, &nused, given[k]);
	for (int m = 0; m < nmissing; m++)
		add_once(used, &nused, missing[m]);
	add_usage(&t, v, graph, ngraph, used, nused);
	return refuse(&t, err);
}

int cli_refuse_command(const char *word, const char *const *names, int count, struct carve_err *err)
{
	struct text t = {0};
	if (!strncmp(word, "-", 1)) {
		add(&t, "error: unexpected argument '%s' found", word);
	} else {
		add(&t, "error: unrecognized subcommand '%s'", word);
		int found[CLI_MAX_ARGS * 2];
		int k = cli_similar(word, names, count, found);
		if (k == 1)
			add(&t, "\n\n  tip: a similar subcommand exists: '%s'", names[found[0]]);
		else if (k > 1) {
			add(&t, "\n\n  tip: some similar subcommands exist: ");
			for (int i = 0; i < k; i++)
				add(&t, "%s'%s'", i ? ", " : "", names[found[i]]);
		}
	}
	add(&t, "\n\nUsage: %s [COMMAND]", bin_name());
	return refuse(&t, err);
}
