/* The enclave process's confinement: what it still does works (threads,
 * Unix sockets, files), what it must never do ends it with one line that
 * names the call. Each case runs in a child, which the filter then binds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carve/confine.h"

enum attempt { NOTHING, EXEC, FORK, INET_SOCKET, PTRACE_ME };

static void *thread_main(void *arg)
{
	return arg;
}

/* Runs `what` in a confined child; returns its exit status and leaves what
 * it wrote to its event log in log (NUL-terminated). */
static int run_confined(enum attempt what, char *log, size_t cap)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDERR_FILENO); /* the handler also writes there */
		struct carve_err err = {0};
		if (enclave_confine(p[1], "i-test-enc1", &err) < 0)
			_exit(2);
		/* Still allowed: threads, Unix sockets, files. */
		pthread_t t;
		if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, NULL) != 0)
			_exit(3);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0)
			_exit(4);
		close(s);
		if (!prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))
			_exit(5);
		switch (what) {
		case EXEC: execl("/bin/true", "true", (char *)NULL); break;
		case FORK: fork(); break;
		case INET_SOCKET: socket(AF_INET, SOCK_STREAM, 0); break;
		case PTRACE_ME: prctl(PR_SET_DUMPABLE, 1); syscall(101 /* ptrace */, 0, 0, 0, 0); break;
		case NOTHING: break;
		}
		_exit(0);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(p[0], log + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	log[n] = '\0';
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static void allowed_calls_work(void **state)
{
	(void)state;
	char log[512];
	assert_int_equal(run_confined(NOTHING, log, sizeof(log)), 0);
	assert_string_equal(log, "");
}

static void forbidden_calls_end_it(void **state)
{
	(void)state;
	static const struct {
		enum attempt what;
		const char *name;
	} cases[] = {
		{EXEC, "execve"}, {FORK, "clone"}, {INET_SOCKET, "socket"}, {PTRACE_ME, "ptrace"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char log[512], want[128];
		assert_int_equal(run_confined(cases[i].what, log, sizeof(log)), 128 + SIGSYS);
		snprintf(want, sizeof(want), "i-test-enc1 seccomp: forbidden system call %s (", cases[i].name);
		assert_non_null(strstr(log, want));
		assert_non_null(strstr(log, ": the enclave process stops\n"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allowed_calls_work),
		cmocka_unit_test(forbidden_calls_end_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
