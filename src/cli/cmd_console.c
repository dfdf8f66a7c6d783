/* carve console (--enclave-id ID | --enclave-name NAME) [--disconnect-timeout S]
 * The serial console of a debug-mode enclave, streamed until it stops; for an
 * enclave that stopped within the last hour, its saved console. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "carve/launch.h"
#include "carve/util.h"
#include "cli/cli.h"

static int copy_to_stdout(int fd, long timeout_s, struct carve_err *err)
{
	uint64_t deadline = timeout_s > 0 ? monotonic_ns() + (uint64_t)timeout_s * 1000000000ull : 0;
	char buf[1024];
	for (;;) {
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = monotonic_ns();
			if (now >= deadline)
				return 0;
			wait_ms = (int)((deadline - now) / 1000000 + 1);
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return 0;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return carve_fail(err, E45_CONSOLE_READ, "reading the console: %s", strerror(errno));
		if (n == 0)
			return 0;
		if (write_full(STDOUT_FILENO, buf, (size_t)n) < 0)
			return carve_fail(err, E46_CONSOLE_WRITE, "writing the console: %s", strerror(errno));
	}
}

/* The enclave's CID and whether it is a debug enclave, from its describe
 * entry; -1 when it is not listed (it stopped meanwhile). */
static int describe_cid(const struct enclave_ref *ref, uint64_t *cid, bool *debug, struct carve_err *err)
{
	char **lines;
	int n, found = -1;
	if (enclave_describe_all(false, &lines, &n, err) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		json_object *o = json_tokener_parse(lines[i]), *v;
		if (found < 0 && o && json_object_object_get_ex(o, "EnclaveID", &v) &&
		    !strcmp(json_object_get_string(v), ref->id)) {
			if (json_object_object_get_ex(o, "EnclaveCID", &v))
				*cid = (uint64_t)json_object_get_int64(v);
			*debug = json_object_object_get_ex(o, "Flags", &v) &&
				!strcmp(json_object_get_string(v), "DEBUG_MODE");
			found = 0;
		}
		json_object_put(o);
		free(lines[i]);
	}
	free(lines);
	return found;
}

int cmd_console(int argc, char **argv, struct carve_err *err)
{
	const char *id = NULL, *name = NULL, *timeout = NULL;
	const struct cli_arg args[] = {
		/* nitro-cli's order and relations (src/lib.rs:814-836). */
		{"enclave-id", ARG_STRING, false, &id, "the enclave's id", .conflicts = "enclave-name",
		 .unless = "enclave-name"},
		{"disconnect-timeout", ARG_STRING, false, &timeout, "stop after this many seconds"},
		{"enclave-name", ARG_STRING, false, &name, "the enclave's name", .conflicts = "enclave-id",
		 .unless = "enclave-id"},
		{0},
	};
	int parsed = cli_parse("console", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	long secs = 0;
	if (timeout) {
		char *end;
		secs = strtol(timeout, &end, 10);
		if (*end || secs <= 0)
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "--disconnect-timeout '%s' must be a "
					  "positive number of seconds",
					  timeout);
	}
	struct enclave_ref ref;
	struct carve_err find_err = {0};
	if (enclave_find(id, name, &ref, NULL, &find_err) < 0) {
		/* Not running: perhaps it stopped recently and left its console. */
		char path[4096];
		bool debug;
		struct carve_err saved_err = {0};
		if (enclave_saved_console(id, name, path, sizeof(path), &debug, &saved_err) < 0) {
			*err = find_err;
			return -1;
		}
		if (!debug)
			return carve_fail(err, E44_CONSOLE_CONNECTION,
					  "The enclave was not started with the debug flag set, include "
					  "'--debug-mode' in the run-enclave command");
		fprintf(stderr, "The enclave has stopped; its last console output follows.\n");
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return carve_fail(err, E45_CONSOLE_READ, "cannot open '%s': %s", path,
					  strerror(errno));
		int rc = copy_to_stdout(fd, 0, err);
		close(fd);
		return rc;
	}
	/* nitro-cli checks the debug flag first, then says on stdout which
	 * CID it connects to and that it did (src/main.rs:250-273,
	 * src/lib.rs:407 and :427); the enclave process checks the flag again. */
	uint64_t cid = 0;
	bool debug = false;
	if (describe_cid(&ref, &cid, &debug, err) == 0 && !debug)
		return carve_fail(err, E44_CONSOLE_CONNECTION,
				  "The enclave was not started with the debug flag set, include "
				  "'--debug-mode' in the run-enclave command");
	carve_err_clear(err);
	printf("Connecting to the console for enclave %llu...\n", (unsigned long long)cid);
	fflush(stdout);
	int fd = enclave_console_open(&ref, err);
	if (fd < 0)
		return -1;
	printf("Successfully connected to the console.\n");
	fflush(stdout);
	int rc = copy_to_stdout(fd, secs, err);
	close(fd);
	return rc;
}
