/* subreaper SECONDS CMD [ARG...]: runs CMD as a child subreaper (what a
 * container's init or a service manager is), waits for CMD, then keeps every
 * orphan that ends under it unreaped for SECONDS: a daemon CMD left behind
 * (an enclave process) that dies meanwhile is a zombie, as under an init
 * that never reaps. Prints "subreaper: reaped N" at the end. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: subreaper SECONDS CMD [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return perror("prctl"), 1;
	pid_t pid = fork();
	if (pid < 0)
		return perror("fork"), 1;
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("exec");
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	fflush(stdout);
	sleep((unsigned)atoi(argv[1])); /* orphans that die now stay zombies */
	int reaped = 0;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		reaped++;
	printf("subreaper: reaped %d\n", reaped);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
