/* The carve kernel's vDSO: clock_gettime, gettimeofday, time and
 * clock_getres without a system call, reading KVM's paravirtual clock from
 * the page the kernel shares (vdso_data.h) and the TSC, the way the
 * kernel's own time_ns does (guest/kernel/time.c). A clock it does not
 * serve here (the CPU-time clocks, an unknown id) or a kernel without
 * kvmclock goes to the system call, which answers as before.
 *
 * Without it every time read is a system call: Debian's Go makes 202 of
 * its 490 in a short run (measured in the hardware-KVM bed), each an
 * emulated kernel entry on a PVM host and the big kernel lock on SMP.
 * Built position-independent, with no data of its own, no relocations
 * and no libc (mk/kernel.mk). */
#include <stdint.h>

#include "vdso_data.h"

#define NSEC 1000000000ull
#define SYS_gettimeofday 96
#define SYS_time 201
#define SYS_clock_gettime 228
#define SYS_clock_getres 229

struct timespec_k {
	int64_t sec, nsec;
};
struct timeval_k {
	int64_t sec, usec;
};

static const volatile struct vdso_data *data(void) { return (const volatile struct vdso_data *)VDSO_VVAR_VA; }

static long syscall2(long nr, long a, long b)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	/* LFENCE: the TSC is not read ahead of the version check before it. */
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t monotonic_ns(const volatile struct vdso_data *d)
{
	return pvclock_ns(&d->pvti, rdtsc_ordered);
}

/* The kernel's clock ids (guest/kernel/sys_time.c): REALTIME, its COARSE,
 * ALARM and TAI read the wall clock; MONOTONIC, its RAW and COARSE,
 * BOOTTIME and its ALARM the monotonic one. -1: not served here. */
static int clock_kind(long id)
{
	switch (id) {
	case 0:
	case 5:
	case 8:
	case 11: return 0;
	case 1:
	case 4:
	case 6:
	case 7:
	case 9: return 1;
	default: return -1;
	}
}

int __vdso_clock_gettime(long id, struct timespec_k *ts);
int __vdso_clock_gettime(long id, struct timespec_k *ts)
{
	const volatile struct vdso_data *d = data();
	int kind = clock_kind(id);
	if (kind < 0 || !d->have_pvclock)
		return (int)syscall2(SYS_clock_gettime, id, (long)ts);
	uint64_t ns = monotonic_ns(d) + (kind == 0 ? d->boot_wall_ns : 0);
	ts->sec = (int64_t)(ns / NSEC);
	ts->nsec = (int64_t)(ns % NSEC);
	return 0;
}

int __vdso_gettimeofday(struct timeval_k *tv, void *tz);
int __vdso_gettimeofday(struct timeval_k *tv, void *tz)
{
	const volatile struct vdso_data *d = data();
	if (tz || !d->have_pvclock) /* (tz: the system call writes the zone) */
		return (int)syscall2(SYS_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		uint64_t ns = monotonic_ns(d) + d->boot_wall_ns;
		tv->sec = (int64_t)(ns / NSEC);
		tv->usec = (int64_t)(ns % NSEC / 1000);
	}
	return 0;
}

long __vdso_time(long *t);
long __vdso_time(long *t)
{
	const volatile struct vdso_data *d = data();
	if (!d->have_pvclock)
		return syscall2(SYS_time, (long)t, 0);
	long s = (long)((monotonic_ns(d) + d->boot_wall_ns) / NSEC);
	if (t)
		*t = s;
	return s;
}

int __vdso_clock_getres(long id, struct timespec_k *res);
int __vdso_clock_getres(long id, struct timespec_k *res)
{
	if (clock_kind(id) < 0)
		return (int)syscall2(SYS_clock_getres, id, (long)res);
	if (res) { /* one nanosecond, as the kernel answers */
		res->sec = 0;
		res->nsec = 1;
	}
	return 0;
}

/* The plain names too, as Linux's vDSO exports them. */
int clock_gettime(long id, struct timespec_k *ts) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval_k *tv, void *tz) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *t) __attribute__((weak, alias("__vdso_time")));
int clock_getres(long id, struct timespec_k *res) __attribute__((weak, alias("__vdso_clock_getres")));
