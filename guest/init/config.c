/* What to run: /cmd (argv, one word a line), /env (NAME=value a line) and
 * /workdir (one line, optional; a carve addition) at the root of the
 * application ramdisk, as nitro-cli's builder writes them (reference
 *aws-nitro-enclaves-cli, build-enclave). They are read before the root switch, since they
 * sit beside rootfs/, and unlinked so the program cannot see them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

#define WORKDIR_MAX 4096

/* Returns false if the file does not exist; any other problem is fatal. */
static bool read_lines(const char *path, struct cmdenv_list *out)
{
	char *data = NULL;
	size_t len = 0;
	int rc = cmdenv_read_file(path, CMDENV_FILE_MAX, &data, &len);
	if (rc == -ENOENT)
		return false;
	if (rc == -EFBIG)
		die(ST_CONFIG, "%s: larger than %u bytes", path, CMDENV_FILE_MAX);
	if (rc < 0)
		die(ST_CONFIG, "read %s: %s", path, strerror(-rc));
	char why[CMDENV_WHY_LEN];
	rc = cmdenv_parse(data, len, out, why, sizeof(why));
	free(data);
	if (rc < 0)
		die(ST_CONFIG, "%s: %s", path, why);
	return true;
}

static void fixed_list(const char *text, struct cmdenv_list *out)
{
	char why[CMDENV_WHY_LEN];
	if (cmdenv_parse(text, strlen(text), out, why, sizeof(why)) < 0)
		die(ST_SETUP, "%s", why);
}

void config_load(const char *root, struct config *c, bool unlink_files)
{
	char cmd[4096], env[4096], wd[4096];
	snprintf(cmd, sizeof(cmd), "%s/cmd", root);
	snprintf(env, sizeof(env), "%s/env", root);
	snprintf(wd, sizeof(wd), "%s/workdir", root);
	memset(c, 0, sizeof(*c));

	if (!read_lines(cmd, &c->argv)) {
		warn("no %s: running sh, as Nitro's init does", cmd);
		fixed_list("sh", &c->argv);
	}
	if (c->argv.n == 0 || !c->argv.v[0][0])
		die(ST_CONFIG, "%s names no program (%s)", cmd,
		    c->argv.n ? "its first line is empty" : "it is empty");

	if (!read_lines(env, &c->env)) {
		warn("no %s: the program's environment is PATH=%s", env, DEFAULT_PATH);
		fixed_list("PATH=" DEFAULT_PATH, &c->env);
	}
	size_t bad = cmdenv_drop_invalid_env(&c->env);
	if (bad)
		warn("%s: left out %zu line(s) that are not NAME=value", env, bad);
	/* The program is looked up on the image's own PATH (as Docker does);
	 * Nitro's init used its own PATH, which is this default. */
	c->lookup_path = cmdenv_get(&c->env, "PATH");
	if (!c->lookup_path)
		c->lookup_path = DEFAULT_PATH;

	char *data = NULL, why[CMDENV_WHY_LEN];
	size_t len = 0;
	int rc = cmdenv_read_file(wd, WORKDIR_MAX, &data, &len);
	if (rc == -ENOENT) {
		c->workdir = strdup("/");
		if (!c->workdir)
			die(ST_SETUP, "out of memory");
	} else if (rc < 0) {
		die(ST_CONFIG, "read %s: %s", wd, rc == -EFBIG ? "larger than 4 KiB" : strerror(-rc));
	} else {
		rc = cmdenv_one_line(data, len, &c->workdir, why, sizeof(why));
		free(data);
		if (rc < 0)
			die(ST_CONFIG, "%s: %s", wd, why);
	}

	if (unlink_files) {
		unlink(cmd);
		unlink(env);
		unlink(wd);
	}
	say("command %s with %zu arguments, %zu environment entries, in %s", c->argv.v[0], c->argv.n - 1,
	    c->env.n, c->workdir);
}
