/* Ends the way argv[1] says, so the tests can check the kernel's report and
 * exit status: segv (NULL write), ill (UD2), div (divide by zero), abort,
 * exit N; or never: spin (says "spinning", then spins in main, for a test
 * that asks a hung enclave where it is). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "segv";
	fflush(stdout);
	if (!strcmp(how, "segv")) {
		volatile int *p = NULL;
		*p = 42;
	} else if (!strcmp(how, "ill")) {
		__asm__ volatile("ud2");
	} else if (!strcmp(how, "div")) {
		/* In asm: the compiler rewrites 1 / z without a divide. */
		unsigned long q = 1, d = 0, zero = 0;
		__asm__ volatile("div %2" : "+a"(q), "+d"(d) : "r"(zero));
		printf("%lu\n", q);
	} else if (!strcmp(how, "abort")) {
		abort();
	} else if (!strcmp(how, "exit") && argc > 2) {
		exit(atoi(argv[2]));
	} else if (!strcmp(how, "spin")) {
		puts("spinning");
		fflush(stdout);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	return 3;
}
