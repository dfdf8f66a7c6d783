/* Ending the enclave. The status goes out on the carve exit port first (a
 * 32-bit OUT to 0xF4: the carve VMM stops the VM there and reports it, the
 * same ABI as the carve enclave kernel's guest/kernel/power.c); then the
 * kernel powers off. PID 1 never just exits: that would panic the kernel and
 * lose the status. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

#define CARVE_EXIT_PORT 0xF4

static bool dry_run; /* owned here: --dry-run on a host must never power off */

/* The serial driver sends in the background, and the exit port stops the VM
 * at once: wait until the console's queue is empty, ours and the program's
 * lines alike. Bounded (2 s), unlike tcdrain, should the UART never drain. */
static void drain_console(void)
{
	for (int i = 0; i < 200; i++) {
		int queued = 0;
		if (ioctl(STDERR_FILENO, TIOCOUTQ, &queued) < 0 || queued <= 0)
			return;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
}

void power_set_dry_run(void) { dry_run = true; }

void power_off(int status)
{
	if (dry_run) {
		warn("dry run: would end the enclave with status %d", status);
		exit(status);
	}
	say("powering off (status %d)", status);
	drain_console();
	sync();
	/* Outside carve (or without the permission) there is no exit port; the
	 * power-off below still ends the enclave, only without the status. */
	if (ioperm(CARVE_EXIT_PORT, 4, 1) == 0)
		outl((unsigned)status, CARVE_EXIT_PORT);
	reboot(RB_POWER_OFF);
	reboot(RB_AUTOBOOT);
	/* Only reached if the kernel refused both: exiting PID 1 panics it,
	 * and the panic= on the command line then restarts or stops it. */
	_exit(status);
}
