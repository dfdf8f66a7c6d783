/* Processes in the carve kernel, checked from the inside: fork and
 * copy-on-write (each side's writes stay its own, a MAP_SHARED mapping is
 * shared), wait4 and waitpid statuses (exit codes, killed by a signal,
 * WNOHANG), a pipe between parent and child (EOF when the writer closes),
 * execve in a child, vfork and posix_spawn, SIGCHLD, kill and process
 * groups, an orphan adopted by pid 1, a fork from a multi-threaded process.
 * Prints "ok ..." or "FAIL ..." per check; exits 1 if anything failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
#include "check.h"

static volatile sig_atomic_t chld_seen;
static void on_chld(int sig) { chld_seen = sig; }

static void *thread_fork(void *arg)
{
	(void)arg;
	pid_t p = fork();
	if (p == 0)
		_exit(9);
	int st = 0;
	waitpid(p, &st, 0);
	return (void *)(long)(WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "child-exec")) /* the image execve runs */
		return argc > 2 ? atoi(argv[2]) : 0;

	check(getpid() == 1, "the first program is pid 1");

	/* fork, copy-on-write */
	static int value = 1;
	char *heap = malloc(1 << 20);
	memset(heap, 'p', 1 << 20);
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*shared = 0;
	pid_t pid = fork();
	if (pid == 0) {
		value = 2;
		memset(heap, 'c', 1 << 20);
		*shared = 42;
		_exit(heap[12345] == 'c' && value == 2 && getppid() == 1 ? 0 : 1);
	}
	int st = -1;
	pid_t w = waitpid(pid, &st, 0);
	check(pid > 1 && w == pid, "fork returns the child's pid; waitpid reaps it");
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child saw its own writes and its parent's pid");
	check(value == 1 && heap[12345] == 'p' && heap[(1 << 20) - 1] == 'p',
	      "copy-on-write: the child's writes did not reach the parent");
	check(*shared == 42, "a MAP_SHARED anonymous page is shared with the child");

	/* statuses */
	pid = fork();
	if (pid == 0)
		_exit(37);
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 37, "exit status 37 reaches the parent");
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	check(waitpid(pid, &st, WNOHANG) == 0, "WNOHANG: a running child is not reaped");
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "kill(SIGTERM): the child ends killed by SIGTERM");
	check(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD, "no children left: ECHILD");

	/* pipe between processes */
	int fds[2];
	pipe(fds);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		for (int i = 0; i < 1000; i++)
			dprintf(fds[1], "line %04d\n", i);
		_exit(0);
	}
	close(fds[1]);
	char buf[65536];
	size_t total = 0;
	ssize_t n;
	while ((n = read(fds[0], buf + total, sizeof(buf) - total)) > 0)
		total += (size_t)n;
	close(fds[0]);
	waitpid(pid, &st, 0);
	check(total == 10000 && !memcmp(buf + 9990, "line 0999\n", 10),
	      "a pipe carries 1000 lines from child to parent, then EOF");

	/* execve in a child */
	pid = fork();
	if (pid == 0) {
		char *args[] = {argv[0], "child-exec", "23", NULL};
		execve(argv[0], args, environ);
		_exit(99);
	}
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "execve in a child: the new image's exit status");

	/* vfork and posix_spawn */
	pid = vfork();
	if (pid == 0) {
		char *args[] = {argv[0], "child-exec", "5", NULL};
		execve(argv[0], args, environ);
		_exit(98);
	}
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 5, "vfork then execve");
	char *sargs[] = {argv[0], "child-exec", "6", NULL};
	int r = posix_spawn(&pid, argv[0], NULL, NULL, sargs, environ);
	waitpid(pid, &st, 0);
	check(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 6, "posix_spawn");

	/* SIGCHLD */
	signal(SIGCHLD, on_chld);
	pid = fork();
	if (pid == 0)
		_exit(0);
	while (!chld_seen)
		usleep(1000);
	waitpid(pid, &st, 0);
	check(chld_seen == SIGCHLD, "SIGCHLD runs the parent's handler when a child ends");
	signal(SIGCHLD, SIG_DFL);

	/* process groups */
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(pid, pid);
	check(getpgid(pid) == pid, "setpgid makes the child a group leader");
	kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "kill of a process group");

	/* an orphan is adopted by pid 1 */
	pipe(fds);
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0) {
			close(fds[0]);
			while (getppid() != 1)
				usleep(1000);
			write(fds[1], "1", 1);
			_exit(0);
		}
		_exit(0);
	}
	close(fds[1]);
	waitpid(pid, &st, 0);
	char c = 0;
	read(fds[0], &c, 1);
	close(fds[0]);
	int reaped = 0;
	while (waitpid(-1, &st, 0) > 0)
		reaped++;
	check(c == '1' && reaped == 1, "an orphan is adopted (and reaped) by pid 1");

	/* fork from a thread */
	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, thread_fork, NULL);
	pthread_join(t, &ret);
	check((long)ret == 9, "fork from a second thread; that thread waits for the child");

	/* many processes */
	int ok = 1;
	for (int i = 0; i < 50; i++) {
		pid = fork();
		if (pid == 0)
			_exit(i);
		if (pid < 0)
			ok = 0;
	}
	int sum = 0, count = 0;
	while ((w = wait(&st)) > 0) {
		sum += WEXITSTATUS(st);
		count++;
	}
	check(ok && count == 50 && sum == 49 * 50 / 2, "50 children at once, each status collected");

	printf("procs: %s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
