/* carve-init: PID 1 of a Linux enclave. The steps, in order (README.md has
 * the whole contract):
 *   1. block all signals (init takes them with sigtimedwait, launch.c);
 *   2. devtmpfs on /dev, /dev/console as stdin/stdout/stderr;
 *   3. carve.quiet on the kernel command line; Ctrl-Alt-Del to SIGINT;
 *   4. kernel modules from the bootstrap ramdisk;
 *   5. the heartbeat to the parent;
 *   6. /cmd, /env, /workdir;
 *   7. switch root into /rootfs and mount what a program expects;
 *   8. start the program, reap until it exits, forward termination signals;
 *   9. its status to the carve exit port, power off.
 * A failure at any step prints "carve-init: <step>: <why>" and ends the
 * enclave with a status of its own (init.h) instead of panicking the kernel.
 *
 * Not PID 1, it runs only as "init --dry-run DIR": steps 4 and 6 read from
 * DIR (an unpacked ramdisk) without loading or starting anything. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "init.h"

static int dry_run(const char *dir)
{
	power_set_dry_run();
	say("dry run on %s: nothing is loaded, mounted or started", dir);
	modules_load(dir, true);
	struct config c;
	config_load(dir, &c, false);
	for (size_t i = 0; i < c.argv.n; i++)
		say("argv[%zu] = \"%s\"", i, c.argv.v[i]);
	for (size_t i = 0; i < c.env.n; i++)
		say("env[%zu] = \"%s\"", i, c.env.v[i]);
	say("lookup PATH = %s", c.lookup_path);
	say("working directory = %s", c.workdir);
	cmdenv_free(&c.argv);
	cmdenv_free(&c.env);
	free(c.workdir);
	return 0;
}

int main(int argc, char **argv)
{
	if (getpid() != 1) {
		if (argc == 3 && !strcmp(argv[1], "--dry-run"))
			return dry_run(argv[2]);
		fprintf(stderr,
			"carve-init is PID 1 of a carve Linux enclave; on its own it only runs as\n"
			"  %s --dry-run DIR   (DIR: unpacked ramdisks; prints what it would do)\n",
			argc ? argv[0] : "init");
		return 2;
	}
	/* The kernel may pass init words of its command line as arguments;
	 * PID 1 ignores them. */
	sigset_t all;
	sigfillset(&all);
	int mask_err = sigprocmask(SIG_BLOCK, &all, NULL) < 0 ? errno : 0;

	log_port_open();
	mount_dev_and_console();
	log_set_quiet(kernel_cmdline_has("carve.quiet"));
	say("started");
	if (mask_err)
		die(ST_SETUP, "block signals: %s", strerror(mask_err));
	/* Ctrl-Alt-Del then reaches init as SIGINT, which it forwards to the
	 * program like SIGTERM, instead of the kernel rebooting at once. */
	if (reboot(RB_DISABLE_CAD) < 0)
		warn("disable ctrl-alt-del reboot: %s", strerror(errno));

	modules_load("", false);
	heartbeat();
	struct config c;
	config_load("", &c, true);
	switch_root("/rootfs");
	mount_program_filesystems();
	pid_t pid = launch(&c);
	power_off(supervise(pid));
}
