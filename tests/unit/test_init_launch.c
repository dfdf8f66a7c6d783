/* carve-init's launch and supervision (guest/init/launch.c), built for the
 * host and run as an ordinary process that is a child subreaper: exec
 * failures reported by the child, the working directory, the environment and
 * PATH lookup, exit and signal statuses, reaping of orphans, and forwarding
 * of SIGTERM with the SIGKILL after the grace time. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define GRACE_S 1
#define KILL_WAIT_S 1
#include "../../guest/init/cmdenv.c"
#include "../../guest/init/launch.c"

/* Stubs for log.c and power.c: keep the last line, and turn die() into a
 * jump back to the test with its status. */
static char last_line[512];
static jmp_buf die_jump;
static int die_status;

__attribute__((format(printf, 1, 0))) static void keep(const char *fmt, va_list ap)
{
	vsnprintf(last_line, sizeof(last_line), fmt, ap);
}
void log_port_close(void) {}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	keep(fmt, ap);
	va_end(ap);
}
void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	keep(fmt, ap);
	va_end(ap);
}
void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	keep(fmt, ap);
	va_end(ap);
	die_status = status;
	longjmp(die_jump, 1);
}

static char dir[] = "/tmp/carve-init-launch.XXXXXX";

static void make_config(struct config *c, const char *argv_lines, const char *env_lines, const char *workdir)
{
	char why[CMDENV_WHY_LEN];
	memset(c, 0, sizeof(*c));
	assert_int_equal(cmdenv_parse(argv_lines, strlen(argv_lines), &c->argv, why, sizeof(why)), 0);
	assert_int_equal(cmdenv_parse(env_lines, strlen(env_lines), &c->env, why, sizeof(why)), 0);
	c->workdir = (char *)workdir;
	c->lookup_path = cmdenv_get(&c->env, "PATH");
	if (!c->lookup_path)
		c->lookup_path = DEFAULT_PATH;
}

static void free_config(struct config *c)
{
	cmdenv_free(&c->argv);
	cmdenv_free(&c->env);
}

/* Runs the program to its end; returns its status, or -(die status). */
static int run(const char *argv_lines, const char *env_lines, const char *workdir)
{
	struct config c;
	make_config(&c, argv_lines, env_lines, workdir);
	volatile int rc;
	if (setjmp(die_jump)) {
		rc = -die_status;
	} else {
		pid_t pid = launch(&c);
		rc = supervise(pid);
	}
	free_config(&c);
	return rc;
}

#define ENV "PATH=/usr/bin:/bin\n"

static void test_exit_status(void **state)
{
	(void)state;
	assert_int_equal(run("/bin/sh\n-c\nexit 0\n", ENV, "/"), 0);
	assert_string_equal(last_line, "program exited with status 0");
	assert_int_equal(run("/bin/sh\n-c\nexit 7\n", ENV, "/"), 7);
	assert_string_equal(last_line, "program exited with status 7");
	assert_int_equal(run("/bin/sh\n-c\nkill -9 $$\n", ENV, "/"), 137);
	assert_string_equal(last_line, "program killed by signal 9 (Killed), status 137");
}

static void test_exec_failures(void **state)
{
	(void)state;
	assert_int_equal(run("/nonexistent/prog\n", ENV, "/"), -ST_NOT_FOUND);
	assert_string_equal(last_line, "exec /nonexistent/prog: No such file or directory");
	assert_int_equal(run("no-such-program-here\n", ENV, "/"), -ST_NOT_FOUND);
	assert_string_equal(last_line,
			    "exec no-such-program-here: No such file or directory (not found in PATH)");
	/* A file that is not executable, and a directory. */
	char path[256];
	snprintf(path, sizeof(path), "%s/plain", dir);
	FILE *f = fopen(path, "w");
	fputs("data\n", f);
	fclose(f);
	strcat(path, "\n");
	assert_int_equal(run(path, ENV, "/"), -ST_CANNOT_EXEC);
	assert_non_null(strstr(last_line, "Permission denied"));
	assert_int_equal(run("/\n", ENV, "/"), -ST_CANNOT_EXEC);
	/* A script whose interpreter is missing: the file is there. */
	snprintf(path, sizeof(path), "%s/script", dir);
	f = fopen(path, "w");
	fputs("#!/nonexistent/interp\n", f);
	fclose(f);
	chmod(path, 0755);
	strcat(path, "\n");
	assert_int_equal(run(path, ENV, "/"), -ST_NOT_FOUND);
	assert_non_null(strstr(last_line, "its interpreter or dynamic loader is not"));
}

static void test_lookup_env_workdir(void **state)
{
	(void)state;
	/* The image's PATH is the lookup PATH... */
	assert_int_equal(run("sh\n-c\nexit 3\n", "PATH=/bin\n", "/"), 3);
	assert_int_equal(run("sh\n-c\nexit 3\n", "PATH=/nowhere\n", "/"), -ST_NOT_FOUND);
	/* ...and without one, the default. The environment is passed exactly:
	 * no PATH is added to it. */
	assert_int_equal(run("sh\n-c\ntest \"$A\" = \"x y\" && test -z \"$HOME\"\n", "A=x y\n", "/"), 0);
	/* (sh keeps a PATH of its own but does not export it: env shows ours.) */
	assert_int_equal(run("sh\n-c\nenv | grep -q ^PATH= && exit 1; exit 0\n", "A=1\n", "/"), 0);
	assert_int_equal(run("sh\n-c\nenv | grep -q ^PATH=/bin$ || exit 1; exit 0\n", "PATH=/bin\n", "/"), 0);
	/* Arguments, empty ones included, arrive as they are. */
	assert_int_equal(run("/bin/sh\n-c\ntest $# = 2 && test -z \"$1\" && test \"$2\" = 'b c'\nsh\n\nb c\n",
			     ENV, "/"),
			 0);
	/* The working directory. */
	char script[512];
	snprintf(script, sizeof(script), "/bin/sh\n-c\ntest \"$(pwd)\" = %s\n", dir);
	assert_int_equal(run(script, ENV, dir), 0);
	assert_int_equal(run("/bin/sh\n-c\nexit 0\n", ENV, "/nonexistent-dir"), -ST_LAUNCH);
	assert_string_equal(last_line, "working directory /nonexistent-dir: No such file or directory");
}

static void test_orphans_reaped(void **state)
{
	(void)state;
	/* The subshell leaves a sleep behind, which comes to us (subreaper) and
	 * exits before the program does. */
	assert_int_equal(run("/bin/sh\n-c\n(sleep 0.1 &); sleep 0.4; exit 4\n", ENV, "/"), 4);
	/* Nothing is left unreaped. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void wait_for_file(const char *path)
{
	for (int i = 0; i < 500 && access(path, F_OK); i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

/* Starts the program, waits until it says it is ready, then sends us sig:
 * supervise must pass it on. */
static int run_signalled(const char *script, int sig)
{
	char ready[256], env[512];
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(env, sizeof(env), ENV "READY=%s\n", ready);
	struct config c;
	make_config(&c, script, env, "/");
	volatile int rc;
	if (setjmp(die_jump)) {
		rc = -die_status;
	} else {
		pid_t pid = launch(&c);
		wait_for_file(ready);
		kill(getpid(), sig);
		rc = supervise(pid);
	}
	free_config(&c);
	return rc;
}

static void test_signal_forwarding(void **state)
{
	(void)state;
	/* The program handles SIGTERM: its status is the enclave's. */
	assert_int_equal(
		run_signalled(
			"/bin/sh\n-c\ntrap 'exit 42' TERM; touch \"$READY\"; while :; do sleep 0.05; done\n",
			SIGTERM),
		42);
	/* SIGINT is the kernel's Ctrl-Alt-Del, the host's terminate: the
	 * program gets SIGTERM for it. SIGHUP is passed on as it is. */
	assert_int_equal(
		run_signalled(
			"/bin/sh\n-c\ntrap 'exit 43' TERM; touch \"$READY\"; while :; do sleep 0.05; done\n",
			SIGINT),
		43);
	assert_int_equal(
		run_signalled("/bin/sh\n-c\ntouch \"$READY\"; while :; do sleep 0.05; done\n", SIGINT), 143);
	assert_int_equal(
		run_signalled("/bin/sh\n-c\ntouch \"$READY\"; while :; do sleep 0.05; done\n", SIGHUP), 129);
	/* A program that ignores SIGTERM is killed after the grace time. */
	time_t t0 = time(NULL);
	assert_int_equal(
		run_signalled("/bin/sh\n-c\ntrap '' TERM; touch \"$READY\"; while :; do sleep 0.05; done\n",
			      SIGTERM),
		137);
	assert_true(time(NULL) - t0 >= GRACE_S - 1);
	assert_string_equal(last_line, "program killed by signal 9 (Killed), status 137");
	/* Its leftover sleep was in the same group and was killed with it. */
	nanosleep(&(struct timespec){0, 200000000}, NULL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	/* As PID 1 would: orphans come to us, and the signals init waits for
	 * are blocked so sigtimedwait takes them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	return sigprocmask(SIG_BLOCK, &set, NULL);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),        cmocka_unit_test(test_exec_failures),
		cmocka_unit_test(test_lookup_env_workdir), cmocka_unit_test(test_orphans_reaped),
		cmocka_unit_test(test_signal_forwarding),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
