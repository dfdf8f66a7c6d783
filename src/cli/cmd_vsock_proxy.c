/* carve vsock-proxy (also run as `vsock-proxy`): AWS's vsock-proxy, the
 * parent-side bridge from an enclave's AF_VSOCK connections to one allowed
 * TCP service (include/carve/vsock_proxy.h). Its command line and its
 * messages are vsock_proxy's (aws-nitro-enclaves-cli 1.5.0,
 * vsock_proxy/src/main.rs): usage errors as its argument parser prints them
 * (exit 2), the rest as `Error: "..."` (exit 1), checked in its order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/util.h"
#include "carve/vsock_proxy.h"
#include "cli/cli.h"

#define USAGE "Usage: vsock-proxy [OPTIONS] <local_port> <remote_addr> <remote_port>"

/* The argument parser's complaint: what, then the usage. */
static int usage_error(const char *what)
{
	fprintf(stderr, "error: %s\n\n" USAGE "\n\nFor more information, try '--help'.\n", what);
	return 2;
}

static int unexpected(const char *arg)
{
	char what[512];
	snprintf(what, sizeof(what), "unexpected argument '%.400s' found", arg);
	return usage_error(what);
}

static int fail(const char *msg)
{
	fprintf(stderr, "Error: \"%s\"\n", msg);
	return 1;
}

void cli_vsock_proxy_help(FILE *out)
{
	fprintf(out,
		"Vsock-TCP proxy\n\n" USAGE "\n\n"
		"Arguments:\n"
		"  <local_port>   Local Vsock port to listen for incoming connections.\n"
		"  <remote_addr>  Address of the server to be proxyed.\n"
		"  <remote_port>  Remote TCP port of the server to be proxyed.\n\n"
		"Options:\n"
		"  -4, --ipv4                      Force the proxy to use IPv4 addresses only.\n"
		"  -6, --ipv6                      Force the proxy to use IPv6 addresses only.\n"
		"  -w, --num_workers <workers>     Set the maximum number of simultaneous\n"
		"                                  connections supported. [default: 4]\n"
		"      --config <config_file>      YAML file containing the services that\n"
		"                                  can be forwarded.\n"
		"                                   [default: " PROXY_DEFAULT_CONFIG "]\n"
		"  -h, --help                      Print help\n"
		"  -V, --version                   Print version\n\n"
		"On a carve host the proxy listens on the host's own CID (the enclave's\n"
		"CID 3 reaches it through vhost-vsock, docs/vsock.md).\n");
}

/* An option's value: "--opt=V", "--opt V" or "-wV" / "-w V". NULL when missing. */
static const char *option_value(int argc, char **argv, int *i, const char *arg, size_t name_len)
{
	if (arg[name_len] == '=')
		return arg + name_len + 1;
	if (arg[name_len])
		return arg + name_len; /* -w8 */
	return *i + 1 < argc ? argv[++*i] : NULL;
}

static int check_allowlist(const char *config, const char *host, uint16_t port, enum proxy_ip ip)
{
	char msg[256];
	const char *why = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	struct carve_err err = {0};
	/* 1 MiB is far beyond any allowlist; a larger file is not one. */
	int r = file_read_all(config, 1 << 20, &text, &len, E19_FILE_OPERATION, &err);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "Error at checking the allowlist: %s",
			 strstr(err.msg, "'Open'") ? "Could not open the file" : "Could not read the file");
		return fail(msg);
	}
	struct proxy_allowlist list;
	struct sockaddr_storage addr;
	socklen_t alen;
	r = proxy_allowlist_parse((const char *)text, len, &list, &why);
	free(text);
	if (r == 0) {
		r = proxy_check_allowlist(&list, host, port, ip, &addr, &alen, &why);
		proxy_allowlist_free(&list);
	}
	if (r < 0) {
		snprintf(msg, sizeof(msg), "Error at checking the allowlist: %s", why);
		return fail(msg);
	}
	return 0;
}

int cmd_vsock_proxy(int argc, char **argv, struct carve_err *err)
{
	(void)err;
	const char *pos[3] = {NULL, NULL, NULL}, *workers = "4", *config = PROXY_DEFAULT_CONFIG;
	bool v4 = false, v6 = false;
	int npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_vsock_proxy_help(stdout);
			return 0;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("Vsock-TCP proxy %s\n", CARVE_VERSION);
			return 0;
		}
		if (!strcmp(a, "-4") || !strcmp(a, "--ipv4")) {
			v4 = true;
		} else if (!strcmp(a, "-6") || !strcmp(a, "--ipv6")) {
			v6 = true;
		} else if (!strncmp(a, "--num_workers", 13) && (!a[13] || a[13] == '=')) {
			if (!(workers = option_value(argc, argv, &i, a, 13)))
				return usage_error(
					"a value is required for '--num_workers <workers>' but none was supplied");
		} else if (!strncmp(a, "-w", 2)) {
			if (!(workers = option_value(argc, argv, &i, a, 2)))
				return usage_error(
					"a value is required for '--num_workers <workers>' but none was supplied");
		} else if (!strncmp(a, "--config", 8) && (!a[8] || a[8] == '=')) {
			if (!(config = option_value(argc, argv, &i, a, 8)))
				return usage_error(
					"a value is required for '--config <config_file>' but none was supplied");
		} else if ((a[0] == '-' && a[1]) || npos == 3) {
			return unexpected(a); /* an unknown flag, or a fourth word */
		} else {
			pos[npos++] = a;
		}
	}
	if (v4 && v6)
		return usage_error("the argument '--ipv4' cannot be used with '--ipv6'");
	if (npos < 3) {
		static const char *names[3] = {"<local_port>", "<remote_addr>", "<remote_port>"};
		fprintf(stderr, "error: the following required arguments were not provided:\n");
		for (int i = npos; i < 3; i++)
			fprintf(stderr, "  %s\n", names[i]);
		fprintf(stderr, "\n" USAGE "\n\nFor more information, try '--help'.\n");
		return 2;
	}
	/* main.rs's order: local port, remote port, workers, the allowlist. */
	char *end;
	errno = 0;
	unsigned long local = strtoul(pos[0], &end, 10);
	if (!*pos[0] || *end || errno || local > UINT32_MAX || pos[0][0] == '-' || pos[0][0] == '+')
		return fail("Local port is not valid");
	unsigned long remote = strtoul(pos[2], &end, 10);
	if (!*pos[2] || *end || errno || remote > UINT16_MAX || pos[2][0] == '-' || pos[2][0] == '+')
		return fail("Remote port is not valid");
	unsigned long nworkers = strtoul(workers, &end, 10);
	if (!*workers || *end || errno || workers[0] == '-' || workers[0] == '+' || nworkers > 1u << 20)
		return fail("Number of workers is not valid");
	if (nworkers == 0)
		return fail("Number of workers must not be 0");
	enum proxy_ip ip = v4 ? PROXY_IP_V4 : v6 ? PROXY_IP_V6 : PROXY_IP_MIXED;
	int r = check_allowlist(config, pos[1], (uint16_t)remote, ip);
	if (r)
		return r;
	struct proxy_config c = {
		.local_port = (uint32_t)local,
		.remote_host = pos[1],
		.remote_port = (uint16_t)remote,
		.ip = ip,
		.workers = (int)nworkers,
	};
	const char *why = NULL;
	proxy_serve(&c, &why);
	return fail(why ? why : "the proxy stopped");
}
