/* carve-init: PID 1 for Linux enclaves. Declarations shared by its files;
 * the order of the steps is in main.c, the contract in README.md. */
#ifndef CARVE_INIT_H
#define CARVE_INIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "cmdenv.h"

/* How the enclave ends when init itself fails before (or while) starting the
 * program. They sit above 128 + any signal number so they cannot be taken for
 * a program killed by a signal; 126 and 127 are the shells' "cannot execute"
 * and "not found". A program can of course exit with these values itself. */
enum {
	ST_CANNOT_EXEC = 126, /* the program exists but execve refused it */
	ST_NOT_FOUND = 127,   /* no such program (or its interpreter) */
	ST_SETUP = 240,       /* init's own setup: signal mask, memory */
	ST_DEV = 241,         /* devtmpfs on /dev, the console */
	ST_MODULE = 242,      /* a kernel module would not load */
	ST_HEARTBEAT = 243,   /* the vsock heartbeat to the parent */
	ST_CONFIG = 244,      /* /cmd, /env, /workdir or the module list unreadable or malformed */
	ST_ROOT = 245,        /* switching root into /rootfs, or its mounts */
	ST_LAUNCH = 246,      /* fork, or the working directory */
};

/* Where the bootstrap ramdisk keeps modules: the list of .ko file names in
 * load order, one a line, and the files beside it. */
#define MODULES_DIR "/lib/carve-modules"
#define MODULES_ORDER MODULES_DIR "/order"
/* The default lookup PATH, Nitro's DEFAULT_PATH_ENV. */
#define DEFAULT_PATH "/sbin:/usr/sbin:/bin:/usr/bin"

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* log.c: one line per call on stderr (the console), "carve-init: " first,
 * and on the carve log port (the host's event log) once it is open. */
void log_set_quiet(bool quiet);
void log_port_open(void);                          /* PID 1 only: ioperm on the log port */
void log_port_close(void);                         /* in the program's child: it gets no port access */
void say(const char *fmt, ...) PRINTF_LIKE(1, 2);  /* progress; silenced by carve.quiet */
void warn(const char *fmt, ...) PRINTF_LIKE(1, 2); /* always shown */
/* Prints the line and ends the enclave with status (power.c). */
_Noreturn void die(int status, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* power.c */
void power_set_dry_run(void);
_Noreturn void power_off(int status);

/* mounts.c */
void mount_dev_and_console(void);
bool kernel_cmdline_has(const char *word);
void switch_root(const char *newroot);
void mount_program_filesystems(void);

/* modules.c: root is "" in the enclave, a directory in --dry-run. */
void modules_load(const char *root, bool dry);

/* heartbeat.c */
void heartbeat(void);

/* config.c: /cmd, /env, /workdir. */
struct config {
	struct cmdenv_list argv, env;
	char *workdir;           /* "/" unless /workdir says otherwise */
	const char *lookup_path; /* PATH execvpe searches */
};
void config_load(const char *root, struct config *c, bool unlink_files);

/* launch.c */
pid_t launch(const struct config *c);
int supervise(pid_t main_pid);

#endif
