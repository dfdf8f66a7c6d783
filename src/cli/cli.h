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
int cmd_allocator(int argc, char **argv, struct carve_err *err);
int cmd_vmm(int argc, char **argv, struct carve_err *err);
int cmd_attestation_root(int argc, char **argv, struct carve_err *err);
int cmd_verify_attestation(int argc, char **argv, struct carve_err *err);
int cmd_attest(int argc, char **argv, struct carve_err *err);
int cmd_vsock_proxy(int argc, char **argv, struct carve_err *err);

/* Defined in main.c; the table of every command. */
extern const struct cli_command cli_commands[];

/* ---- argument parsing (args.c) ----
 * Commands describe their flags in a table; parsing fills the slots and
 * reports unknown, repeated, and missing flags with E01/E02/E03. Flags take
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
};

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
void cli_list_free(struct cli_list *l);
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
