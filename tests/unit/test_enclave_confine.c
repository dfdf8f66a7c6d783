/* The enclave process's confinement: what it still does works (threads,
 * Unix sockets, files), what it must never do ends it with one line that
 * names the call. Each case runs in a child, which the filter then binds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdbool.h>
#include <termios.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carve/confine.h"

enum attempt { NOTHING, EXEC, FORK, INET_SOCKET, PTRACE_ME };

static void *thread_main(void *arg) { return arg; }

/* Runs body(arg, log_fd) in a child whose stderr is /dev/null (the SIGSYS
 * handler also writes there); returns its exit status and leaves what it
 * wrote to log_fd in log (NUL-terminated). */
static int in_child(void (*body)(const void *arg, int log_fd), const void *arg, char *log, size_t cap)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDERR_FILENO);
		body(arg, p[1]);
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

/* Confined, then still allowed: threads, Unix sockets, files; then `what`. */
static void confined_body(const void *arg, int log_fd)
{
	enum attempt what = *(const enum attempt *)arg;
	struct carve_err err = {0};
	if (enclave_confine(log_fd, "i-test-enc1", &err) < 0)
		_exit(2);
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
	case PTRACE_ME:
		prctl(PR_SET_DUMPABLE, 1);
		syscall(101 /* ptrace */, 0, 0, 0, 0);
		break;
	case NOTHING: break;
	}
}

static int run_confined(enum attempt what, char *log, size_t cap)
{
	return in_child(confined_body, &what, log, cap);
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
		{EXEC, "execve"},
		{FORK, "clone"},
		{INET_SOCKET, "socket"},
		{PTRACE_ME, "ptrace"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char log[512], want[128];
		assert_int_equal(run_confined(cases[i].what, log, sizeof(log)), 128 + SIGSYS);
		snprintf(want, sizeof(want), "i-test-enc1 seccomp: forbidden system call %s (",
			 cases[i].name);
		assert_non_null(strstr(log, want));
		assert_non_null(strstr(log, ": the enclave process stops\n"));
	}
}

/* ---- layer 2: each thread kind's allow-list ---- */

enum kind_attempt { KIND_ALLOWED, OPEN_FILE, CREATE_FILE, TTY_IOCTL, CONNECT };

struct kind_case {
	enum confine_kind kind;
	enum kind_attempt what;
};

/* What each kind needs in its work, then the attempt. */
static void *kind_thread(void *arg)
{
	const struct kind_case *c = arg;
	confine_this_thread(c->kind);
	if (c->kind == CONFINE_VCPU_THREAD && ioctl(-1, _IO(0xAE, 0x80) /* KVM_RUN */, 0) == 0)
		_exit(6); /* refused by the kernel (EBADF), not by the filter */
	if (c->kind == CONFINE_DEVICE_THREAD) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int f = open("/dev/null", O_RDONLY);
		if (s < 0 || f < 0)
			_exit(7);
		close(s);
		close(f);
		/* vhost's ioctls (the kernel datapath's hand-over): refused by
		 * the kernel (EBADF), not by the filter. */
		if (ioctl(-1, _IOW(0xAF, 0x61, int) /* VHOST_VSOCK_SET_RUNNING */, NULL) == 0)
			_exit(8);
	}
	if (c->kind == CONFINE_CONTROL_THREAD) {
		char path[] = "/tmp/carve-confine-XXXXXX";
		int f = mkstemp(path);
		if (f < 0 || unlink(path) < 0)
			_exit(8);
		close(f);
	}
	switch (c->what) {
	case OPEN_FILE: open("/dev/null", O_RDONLY); break;
	case CREATE_FILE: open("/tmp/carve-confine-never", O_WRONLY | O_CREAT, 0600); break;
	case TTY_IOCTL: ioctl(0, TCGETS, NULL); break;
	case CONNECT: {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		connect(s, (struct sockaddr *)&a, sizeof(a));
		break;
	}
	case KIND_ALLOWED: break;
	}
	return NULL;
}

struct kind_run {
	bool arm;
	struct kind_case c;
};

static void kind_body(const void *arg, int log_fd)
{
	const struct kind_run *k = arg;
	struct carve_err err = {0};
	if (k->arm && enclave_confine(log_fd, "i-test-enc2", &err) < 0)
		_exit(2);
	pthread_t t;
	if (pthread_create(&t, NULL, kind_thread, (void *)&k->c) != 0 || pthread_join(t, NULL) != 0)
		_exit(3);
}

static int run_kind(bool arm, struct kind_case c, char *log, size_t cap)
{
	struct kind_run k = {arm, c};
	return in_child(kind_body, &k, log, cap);
}

static void each_kind_does_its_work(void **state)
{
	(void)state;
	char log[512];
	for (int k = CONFINE_VCPU_THREAD; k <= CONFINE_CONTROL_THREAD; k++) {
		assert_int_equal(run_kind(true, (struct kind_case){k, KIND_ALLOWED}, log, sizeof(log)), 0);
		assert_string_equal(log, "");
	}
}

static void each_kind_refuses_the_rest(void **state)
{
	(void)state;
	static const struct {
		struct kind_case c;
		const char *call, *kind;
	} cases[] = {
		{{CONFINE_VCPU_THREAD, OPEN_FILE}, "openat", "vCPU"},
		{{CONFINE_VCPU_THREAD, TTY_IOCTL}, "ioctl", "vCPU"},
		{{CONFINE_VCPU_THREAD, CONNECT}, "socket", "vCPU"},
		{{CONFINE_DEVICE_THREAD, TTY_IOCTL}, "ioctl", "device"},
		{{CONFINE_DEVICE_THREAD, CREATE_FILE}, "openat", "device"},
		{{CONFINE_CONTROL_THREAD, CONNECT}, "socket", "control"},
		{{CONFINE_CONTROL_THREAD, TTY_IOCTL}, "ioctl", "control"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char log[512], want[160];
		assert_int_equal(run_kind(true, cases[i].c, log, sizeof(log)), 128 + SIGSYS);
		snprintf(want, sizeof(want), "i-test-enc2 seccomp: forbidden system call %s (",
			 cases[i].call);
		assert_non_null(strstr(log, want));
		snprintf(want, sizeof(want), ") in %s thread ", cases[i].kind);
		assert_non_null(strstr(log, want));
	}
}

/* Outside an enclave process (carve vmm, tests) the threads run unconfined. */
static void unarmed_is_a_no_op(void **state)
{
	(void)state;
	char log[512];
	assert_int_equal(
		run_kind(false, (struct kind_case){CONFINE_VCPU_THREAD, OPEN_FILE}, log, sizeof(log)), 0);
	assert_int_equal(
		run_kind(false, (struct kind_case){CONFINE_DEVICE_THREAD, CREATE_FILE}, log, sizeof(log)), 0);
	unlink("/tmp/carve-confine-never");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allowed_calls_work),      cmocka_unit_test(forbidden_calls_end_it),
		cmocka_unit_test(each_kind_does_its_work), cmocka_unit_test(each_kind_refuses_the_rest),
		cmocka_unit_test(unarmed_is_a_no_op),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
