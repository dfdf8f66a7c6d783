/* Starting the program and watching it as PID 1.
 *
 * The child reports a failed chdir or execve back through a close-on-exec
 * pipe, so init can say what went wrong and end with 126/127/246 instead of
 * the program "exiting" with a made-up status. Init keeps every signal
 * blocked and takes them with sigtimedwait: SIGCHLD to reap (orphans too),
 * SIGTERM/SIGINT/SIGHUP to pass on to the program's process group. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

/* Overridable so the host unit test (tests/unit/test_init_launch.c) runs fast. */
#ifndef GRACE_S
#define GRACE_S 5 /* after a forwarded signal, before SIGKILL */
#endif
#ifndef KILL_WAIT_S
#define KILL_WAIT_S 2 /* after SIGKILL, before giving up on the program */
#endif

enum { STEP_CHDIR = 1, STEP_EXEC = 2 };
struct report {
	int step;
	int err;
};

static _Noreturn void child(const struct config *c, int report_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	log_port_close(); /* init's port access is not the program's */
	/* Its own session and process group (pgid == pid): init signals the
	 * group, and the program has no controlling terminal, as on Nitro. */
	setsid();
	struct report r = {STEP_CHDIR, 0};
	if (chdir(c->workdir) < 0) {
		r.err = errno;
		(void)!write(report_fd, &r, sizeof(r));
		_exit(ST_LAUNCH);
	}
	/* musl's execvpe searches the caller's PATH, not envp's. */
	setenv("PATH", c->lookup_path, 1);
	execvpe(c->argv.v[0], c->argv.v, c->env.v);
	r.step = STEP_EXEC;
	r.err = errno;
	(void)!write(report_fd, &r, sizeof(r));
	_exit(r.err == ENOENT ? ST_NOT_FOUND : ST_CANNOT_EXEC);
}

pid_t launch(const struct config *c)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die(ST_LAUNCH, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die(ST_LAUNCH, "fork: %s", strerror(errno));
	if (pid == 0)
		child(c, p[1]);
	close(p[1]);
	struct report r;
	ssize_t n;
	do /* 0 bytes: the pipe closed on a successful execve */
		n = read(p[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(r)) {
		waitpid(pid, NULL, 0);
		if (r.step == STEP_CHDIR)
			die(ST_LAUNCH, "working directory %s: %s", c->workdir, strerror(r.err));
		const char *prog = c->argv.v[0];
		const char *hint = "";
		if (r.err == ENOENT && strchr(prog, '/') && access(prog, F_OK) == 0)
			hint = " (the file is there: its interpreter or dynamic loader is not)";
		else if (r.err == ENOENT && !strchr(prog, '/'))
			hint = " (not found in PATH)";
		die(r.err == ENOENT ? ST_NOT_FOUND : ST_CANNOT_EXEC, "exec %s: %s%s", prog, strerror(r.err),
		    hint);
	}
	say("starting %s (pid %d)", c->argv.v[0], (int)pid);
	return pid;
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGTERM: return "SIGTERM";
	case SIGINT: return "SIGINT";
	case SIGHUP: return "SIGHUP";
	default: return "a signal";
	}
}

/* To the whole group (the program and what it started), or to the program
 * alone if it moved itself out of that group. */
static void signal_program(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0)
		kill(pid, sig);
}

static int exit_status(int st)
{
	if (WIFEXITED(st)) {
		int s = WEXITSTATUS(st);
		if (s)
			warn("program exited with status %d", s);
		else
			say("program exited with status 0");
		return s;
	}
	int sig = WTERMSIG(st);
	warn("program killed by signal %d (%s), status %d", sig, strsignal(sig), 128 + sig);
	return 128 + sig;
}

int supervise(pid_t main_pid)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	bool stopping = false, killed = false;
	struct timespec deadline = {0, 0};
	for (;;) {
		/* Reap everything that has exited; orphans end up here too. */
		for (;;) {
			int st;
			pid_t p = waitpid(-1, &st, WNOHANG);
			if (p == main_pid)
				return exit_status(st);
			if (p > 0)
				continue;
			if (p < 0 && errno == EINTR)
				continue;
			if (p < 0 && errno == ECHILD)
				die(ST_LAUNCH, "the program (pid %d) is gone but was never reaped",
				    (int)main_pid);
			break;
		}
		int sig;
		if (stopping) {
			struct timespec now, left;
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = deadline.tv_sec - now.tv_sec;
			left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			if (left.tv_sec < 0)
				left.tv_sec = left.tv_nsec = 0;
			sig = sigtimedwait(&set, NULL, &left);
		} else {
			sig = sigwaitinfo(&set, NULL);
		}
		if (sig < 0 && errno == EAGAIN) { /* the deadline passed */
			if (killed) {
				warn("program (pid %d) still there %d s after SIGKILL: giving up on it",
				     (int)main_pid, KILL_WAIT_S);
				return 128 + SIGKILL;
			}
			warn("program did not stop within %d s: sending SIGKILL", GRACE_S);
			signal_program(main_pid, SIGKILL);
			killed = true;
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_sec += KILL_WAIT_S;
			continue;
		}
		if (sig < 0 || sig == SIGCHLD)
			continue;
		if (sig == SIGINT) {
			/* The kernel sends PID 1 SIGINT for Ctrl-Alt-Del, which is how
			 * the host's terminate asks (src/vmm/i8042.c): the program
			 * gets SIGTERM, what every service expects before a stop. */
			warn("got SIGINT (Ctrl-Alt-Del: the host asks the enclave to stop): "
			     "passing SIGTERM to the program");
			signal_program(main_pid, SIGTERM);
		} else {
			warn("got %s: passing it to the program", signame(sig));
			signal_program(main_pid, sig);
		}
		if (!stopping) {
			stopping = true;
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_sec += GRACE_S;
		}
	}
}
