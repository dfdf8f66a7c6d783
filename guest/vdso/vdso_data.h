/* What the carve kernel shares with every program's vDSO (guest/vdso/vdso.c,
 * guest/kernel/vdso.c): one page, mapped read-only into every address space
 * at VDSO_VVAR_VA, holding KVM's paravirtual clock (the host updates it in
 * place) and the wall-clock time at the clock's zero. The vDSO's code is
 * mapped right after it. Both addresses are in the kernel's helper region
 * (guest/kernel/kernel.h), a GiB the program cannot map, shared by every
 * address space, so fork and exec need do nothing for them. */
#ifndef CARVE_VDSO_DATA_H
#define CARVE_VDSO_DATA_H

#include <stdint.h>

#define VDSO_VVAR_VA 0x7fff80010000ull
#define VDSO_VA (VDSO_VVAR_VA + 0x1000)
#define VDSO_MAX_PAGES 4

/* KVM's struct pvclock_vcpu_time_info (Linux's arch/x86 ABI). */
struct vdso_pvclock {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags, pad[2];
};

/* Nanoseconds since the clock's zero, KVM's formula, retried while the
 * host updates the page (an odd version, or one that changed under the
 * read). read_tsc: the kernel's plain RDTSC, the vDSO's ordered one. One
 * piece of code for both, so the kernel and every program agree. */
static inline uint64_t pvclock_ns(const volatile struct vdso_pvclock *p, uint64_t (*read_tsc)(void))
{
	uint32_t v;
	uint64_t ns;
	do {
		v = p->version;
		__asm__ volatile("" ::: "memory");
		uint64_t delta = read_tsc() - p->tsc_timestamp;
		int8_t shift = p->shift;
		if (shift < 0)
			delta >>= -shift;
		else
			delta <<= shift;
		ns = p->system_time + (uint64_t)(((unsigned __int128)delta * p->mul) >> 32);
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != p->version);
	return ns;
}

struct vdso_data {
	struct vdso_pvclock pvti;
	uint64_t boot_wall_ns; /* CLOCK_REALTIME at the clock's zero */
	uint32_t have_pvclock; /* else the vDSO makes the system call */
};

#endif
