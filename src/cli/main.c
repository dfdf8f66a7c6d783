/* carve: nitro-cli's workflow on any Linux host with KVM.
 * The binary also answers to the name nitro-cli. */
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "carve/paths.h"
#include "cli/cli.h"

const struct cli_command cli_commands[] = {
	{"run-enclave", cmd_run_enclave, "start an enclave from an EIF", NULL},
	{"describe-enclaves", cmd_describe_enclaves, "list the running enclaves", NULL},
	{"terminate-enclave", cmd_terminate_enclave, "stop an enclave", NULL},
	{"console", cmd_console, "read a debug-mode enclave's console", NULL},
	{"describe-protection", cmd_describe_protection,
	 "an enclave's sub-page write protection and its counts", NULL},
	{"allocator", cmd_allocator, "reserve the CPU pool and hugepages for enclaves", NULL},
	{"build-enclave", cmd_build_enclave, "build an Enclave Image File (EIF)", NULL},
	{"describe-eif", cmd_describe_eif, "check an EIF and print its measurements and metadata", NULL},
	{"pcr", cmd_pcr, "compute the PCR of a file, or PCR8 of a signing certificate", NULL},
	{"sign-eif", cmd_sign_eif, "add or replace an EIF's signature", NULL},
	{"explain", cmd_explain, "explain an error code", NULL},
	{"vmm", cmd_vmm, "boot a kernel in a bare VM (development)", NULL},
	{"memory-pool", cmd_memory_pool, "fill, drain or list a pool of pre-zeroed guest memory", NULL},
	{"attestation-root", cmd_attestation_root, "print the root certificate of carve's attestation CA",
	 NULL},
	{"verify-attestation", cmd_verify_attestation, "verify an attestation document and print its fields",
	 NULL},
	{"attest", cmd_attest, "make the attestation document an enclave of an image would get", NULL},
	{"vsock-proxy", cmd_vsock_proxy,
	 "AWS's vsock-proxy: an enclave's AF_VSOCK to one allowed TCP service", NULL},
	{NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out,
		"carve %s: Nitro-Enclaves-style enclaves on any Linux host with KVM\n\n"
		"Usage: carve [--verbose] <command> [flags]   (carve <command> --help for its flags)\n\nCommands:\n",
		CARVE_VERSION);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(out, "  %-22s %s\n", c->name, c->summary);
}

/* A closed stdin, stdout or stderr (CI runners, daemons) would make the next
 * open() return 0, 1 or 2, and a file carve opened would then be taken for
 * the console: park /dev/null on any that is closed. Best effort: without a
 * /dev/null (a bare mount namespace) carve runs on as it is. */
static void ensure_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			break;
}

/* nitro-cli 1.5.0's own subcommands: as nitro-cli, carve suggests only
 * these for a mistyped one, as nitro-cli's parser would (carve's own,
 * such as describe-protection, are no answer nitro-cli gives). */
static bool is_nitro_cli_command(const char *name)
{
	static const char *const nitro[] = {"run-enclave",   "describe-enclaves", "terminate-enclave",
					    "build-enclave", "describe-eif",      "console",
					    "pcr",           "sign-eif",          "explain"};
	for (size_t i = 0; i < sizeof(nitro) / sizeof(nitro[0]); i++)
		if (!strcmp(name, nitro[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	ensure_stdio();
	/* Run as vsock-proxy (a link to carve): AWS's command line as it is. */
	if (!strcmp(basename(argv[0]), "vsock-proxy"))
		return cmd_vsock_proxy(argc - 1, argv + 1, NULL);
	carve_set_invoked_as(argv[0]);
	/* No command: the help on stderr and clap's status for a command line
	 * it refuses (nitro-cli's arg_required_else_help). */
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE_EXIT;
	}
	/* carve --verbose <command>: event logs on stderr (carve/log.h). */
	if (!strcmp(argv[1], "--verbose")) {
		setenv("CARVE_VERBOSE", "1", 1);
		argv++;
		argc--;
		if (argc < 2) {
			usage(stderr);
			return CLI_USAGE_EXIT;
		}
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		/* clap prints the Command's name and version, "Nitro CLI 1.5.0"
		 * (aws-nitro-enclaves-cli v1.5.0 src/main.rs:49-53, src/lib.rs:638;
		 * clap_builder Command::_render_version): a script that checks
		 * it sees the nitro-cli release whose interface carve follows. */
		if (carve_invoked_as_nitro_cli())
			printf("Nitro CLI %s\n", NITRO_CLI_COMPAT_VERSION);
		else
			printf("carve %s\n", CARVE_VERSION);
		return 0;
	}
	/* Hidden: what `make man` and `make completion` run (docs.c). */
	if (!strcmp(name, "help-man"))
		return cli_help_man(argc - 2, argv + 2);
	if (!strcmp(name, "help-completion"))
		return cli_help_completion(argc - 2, argv + 2);
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		struct carve_err err = {0};
		cli_action = c->name;
		int rc = c->run(argc - 2, argv + 2, &err);
		if (rc == 0)
			return 0;
		if (err.code == CLI_USAGE_ERROR) {
			fprintf(stderr, "%s\n", err.msg);
			return CLI_USAGE_EXIT;
		}
		if (err.code == 0 && err.msg[0] == '\0')
			return rc; /* the command already reported */
		return cli_report_error(&err);
	}
	/* clap's answer to a word that is no command, with its suggestions
	 * from the commands and its own "help". */
	const char *names[64];
	int n = 0;
	for (const struct cli_command *c = cli_commands; c->name && n < 63; c++)
		if (!carve_invoked_as_nitro_cli() || is_nitro_cli_command(c->name))
			names[n++] = c->name;
	names[n++] = "help";
	struct carve_err err = {0};
	cli_refuse_command(name, names, n, &err);
	fprintf(stderr, "%s\n", err.msg);
	return CLI_USAGE_EXIT;
}
