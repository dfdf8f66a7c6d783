/* The carve command line: one file per command, each a `cmd_*` function taking
 * the arguments after the command name. Commands format and parse; the work is
 * done by the parts they call. */
#ifndef CARVE_CLI_H
#define CARVE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "carve/eif.h"
#include "carve/error.h"
#include "carve/machine.h"

struct json_object;

#define CARVE_VERSION "0.1.0"
/* The nitro-cli release whose command line and output carve follows; what
 * `nitro-cli --version` prints. */
#define NITRO_CLI_COMPAT_VERSION "1.5.0"

/* A command returns 0, or a carve_code after filling err. */
typedef int (*cli_command_fn)(int argc, char **argv, struct carve_err *err);

struct cli_command {
	const char *name;
	cli_command_fn run;
	const char *summary;
	const char *usage;
};

/* The commands, one file each (cmd_<name>.c). */
int cmd_build_enclave(int argc, char **argv, struct carve_err *err);
int cmd_describe_eif(int argc, char **argv, struct carve_err *err);
int cmd_pcr(int argc, char **argv, struct carve_err *err);
int cmd_sign_eif(int argc, char **argv, struct carve_err *err);
int cmd_explain(int argc, char **argv, struct carve_err *err);
int cmd_run_enclave(int argc, char **argv, struct carve_err *err);
int cmd_describe_enclaves(int argc, char **argv, struct carve_err *err);
int cmd_terminate_enclave(int argc, char **argv, struct carve_err *err);
int cmd_console(int argc, char **argv, struct carve_err *err);
int cmd_describe_protection(int argc, char **argv, struct carve_err *err);
int cmd_allocator(int argc, char **argv, struct carve_err *err);
int cmd_vmm(int argc, char **argv, struct carve_err *err);
int cmd_memory_pool(int argc, char **argv, struct carve_err *err);
int cmd_attestation_root(int argc, char **argv, struct carve_err *err);
int cmd_verify_attestation(int argc, char **argv, struct carve_err *err);
int cmd_attest(int argc, char **argv, struct carve_err *err);
int cmd_vsock_proxy(int argc, char **argv, struct carve_err *err);
/* vsock-proxy's --help (AWS's text, its own parser: no cli_arg table). */
void cli_vsock_proxy_help(FILE *out);
/* Hidden commands (not in the table, not in the help): `carve help-man DIR`
 * writes the manual pages, `carve help-completion` prints bash completion,
 * both from the command table and each command's flag table (docs.c). */
int cli_help_man(int argc, char **argv);
int cli_help_completion(int argc, char **argv);

/* Defined in main.c; the table of every command. */
extern const struct cli_command cli_commands[];

/* ---- argument parsing (args.c, arg_errors.c) ----
 * Commands describe their flags in a table, with nitro-cli's clap relations
 * (src/lib.rs create_app!) where it has them. Parsing fills the slots; a
 * command line it refuses (an unknown, repeated or valueless flag, a
 * conflict, a required flag missing) is answered as clap answers nitro-cli's:
 * its message in err->msg, code CLI_USAGE_ERROR, exit status 2. What a
 * value means stays the command's to check, with Exx codes. Flags take
 * "--name value" and "--name=value". */
enum cli_arg_kind {
	ARG_STRING,      /* const char * */
	ARG_STRING_LIST, /* repeatable, and "--name a b" takes several: const char ** array + count */
	ARG_FLAG,        /* bool, no value */
};

struct cli_arg {
	const char *name; /* without the leading "--" */
	enum cli_arg_kind kind;
	bool required;
	void *slot; /* const char **, struct cli_list *, or bool * */
	const char *help;
	/* Flag names, space-separated (clap's conflicts_with_all,
	 * required_unless_present_any, requires); either side of a conflict
	 * may declare it. */
	const char *conflicts;
	const char *unless; /* required unless one of these is given */
	const char *requires;
	const char *value_name; /* the <placeholder> in messages; NULL: the flag's name */
};

/* The most flags one command may declare. */
#define CLI_MAX_ARGS 32
/* err->code of a command line the parser refused: err->msg is clap's whole
 * message, printed as it is; the exit status is 2, clap's. */
#define CLI_USAGE_ERROR (-2)
#define CLI_USAGE_EXIT 2

struct cli_list {
	const char **items;
	int count;
};

/* CLI_PARSED: go on. CLI_HELP_SHOWN: --help was given and the command's
 * help (its summary from the command table, then its flags) is printed; the
 * command returns 0. -1: err is filled. */
#define CLI_PARSED 0
#define CLI_HELP_SHOWN 1
int cli_parse(const char *command, const struct cli_arg *args, int argc, char **argv, struct carve_err *err);
/* While set, --help calls fn with the command's table instead of printing
 * the text (NULL: the text again). docs.c renders the manual pages and the
 * bash completion this way, running each command with --help, so they come
 * from the very tables --help prints and cannot drift from it. */
typedef void (*cli_help_renderer)(void *ctx, const char *command, const char *summary,
				  const struct cli_arg *args);
void cli_set_help_renderer(cli_help_renderer fn, void *ctx);
void cli_list_free(struct cli_list *l);
/* Whether a space-separated list of flag names holds name. */
bool cli_name_listed(const char *list, const char *name);
/* The table indexes of the flags a list names, in its order; returns how many. */
int cli_listed_flags(const struct cli_arg *args, const char *list, int *out);

/* The parser's refusals in clap's words (arg_errors.c); each fills err
 * with CLI_USAGE_ERROR and returns -1. Flags are table indexes. */
struct cli_usage_view {
	const char *command;
	const struct cli_arg *args;
};
/* The names more than 0.7 like typed (strsim's Jaro, clap's measure),
 * least like first, as indexes into names; returns how many. */
int cli_similar(const char *typed, const char *const *names, int count, int *out);
/* clap's own --help, where a flag index may stand for it (a suggestion
 * shown in a usage line). */
#define CLI_HELP_FLAG CLI_MAX_ARGS
/* The flag clap would suggest for an unknown "--typed" (its own "help"
 * included), or NULL; *idx is its table index, CLI_HELP_FLAG or -1. */
const char *cli_closest_flag(const struct cli_arg *args, const char *typed, int *idx);
int cli_refuse_unknown(struct cli_usage_view v, const char *word, const char *suggested, const int *used,
		       int nused, struct carve_err *err);
int cli_refuse_repeat(struct cli_usage_view v, int idx, struct carve_err *err);
int cli_refuse_flag_value(struct cli_usage_view v, int idx, const char *value, const int *used, int nused,
			  struct carve_err *err);
int cli_refuse_no_value(struct cli_usage_view v, int idx, struct carve_err *err);
int cli_refuse_conflict(struct cli_usage_view v, int idx, const int *with, int nwith, const int *used,
			int nused, struct carve_err *err);
int cli_refuse_missing(struct cli_usage_view v, const int *graph, int ngraph, const int *missing,
		       int nmissing, const int *given, int ngiven, struct carve_err *err);
/* A first word that is no command (or a flag carve does not take there). */
int cli_refuse_command(const char *word, const char *const *names, int count, struct carve_err *err);
/* A flag's decimal value from 0 to max: 0, or -1 with E47 naming the flag. */
int cli_parse_uint(const char *flag, const char *text, unsigned long max, unsigned long *out,
		   struct carve_err *err);
/* --af-vsock auto|on|off (NULL: auto), for run-enclave and vmm. */
int cli_parse_af_vsock(const char *text, enum machine_af_vsock *mode, struct carve_err *err);
#define CLI_AF_VSOCK_HELP                                                                                 \
	"auto|on|off|kernel: the enclave's CID also on the host's AF_VSOCK (vhost-vsock; auto: where it " \
	"exists; kernel: its rings handed to the kernel after the heartbeat, host = CID 2; carve's own)"

/* ---- output (output.c) ---- */
/* Pretty JSON on stdout the way nitro-cli (serde_json) prints it. */
void cli_print_json(struct json_object *obj);
/* Prints an error the way nitro-cli does and returns its exit status. Where
 * there is a logs directory (carve_logs_dir), the error also goes to
 * <logs>/err<RFC 3339 time>.log, named on stderr, as nitro-cli does. */
int cli_report_error(const struct carve_err *err);
/* The command being run, for the error log (main.c sets it). */
extern const char *cli_action;
/* {"HashAlgorithm": ..., "PCR0": ..., "PCR1": ..., "PCR2": ...[, "PCR8"]} */
struct json_object *cli_measurements_json(const struct eif_measurements *m);
/* "warning: ..." on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
