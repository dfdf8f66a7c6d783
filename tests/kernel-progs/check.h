/* The "ok WHAT" / "FAIL WHAT" lines the kernel tests count, one a check
 * (self_checks in tests/lib/carve_kernel.sh), and the failures a program
 * returns as its status. Each line is flushed: a fork or a crash after it
 * neither doubles nor loses it. */
#ifndef CARVE_KERNEL_PROGS_CHECK_H
#define CARVE_KERNEL_PROGS_CHECK_H

#include <stdio.h>

static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	fflush(stdout);
	if (!ok)
		failures++;
}

#endif
