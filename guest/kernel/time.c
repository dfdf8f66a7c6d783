/* Clocks and sleeping.
 *
 * The clock is the TSC. Its rate and the wall-clock time come from KVM's
 * paravirtual clock when CPUID offers it (no calibration loop at boot: boot
 * instructions are emulated on PVM hosts), else the TSC is calibrated against
 * PIT channel 2 over 10 ms and the wall clock starts at the epoch.
 *
 * Sleeps halt the CPU until the LAPIC timer fires: TSC-deadline mode when the
 * CPU has it, else one-shot mode calibrated against the TSC. */
#include "cpu.h"
#include "../vdso/vdso_data.h"

#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_TSC_DEADLINE 0x6e0
#define LAPIC_PHYS 0xfee00000ull
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define VEC_TIMER 64
#define LVT_TSC_DEADLINE (2u << 17)
#define LVT_MASKED (1u << 16)

struct wall_clock {
	uint32_t version, sec, nsec;
};

/* KVM's clock page, registered with the host: a page of its own, which
 * every program's vDSO reads too (vdso.c maps it read-only, so nothing
 * else of the kernel's may share it). */
static volatile union {
	struct vdso_data d;
	uint8_t page[PAGE_SIZE];
} vvar __attribute__((aligned(PAGE_SIZE)));
#define pvti (vvar.d.pvti)
static volatile struct wall_clock wall;
static bool have_pvclock, have_deadline;
static uint64_t hz, tsc0, boot_wall_ns, lapic_per_ms;

static volatile uint32_t *lapic(uint32_t reg)
{
	return (volatile uint32_t *)((uint8_t *)phys_to_virt(LAPIC_PHYS) + reg);
}

uint64_t tsc_hz(void) { return hz; }

uint64_t time_vvar_pa(void) { return virt_to_phys((const void *)&vvar); }

uint64_t time_ns(void)
{
	if (have_pvclock)
		return pvclock_ns(&pvti, rdtsc);
	return (uint64_t)((unsigned __int128)(rdtsc() - tsc0) * 1000000000u / hz);
}

uint64_t time_realtime_ns(void) { return boot_wall_ns + time_ns(); }

static bool kvm_clock_present(void)
{
	uint32_t r[4];
	cpuid(0x40000000, 0, r);
	if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d || r[0] < 0x40000001)
		return false;
	cpuid(0x40000001, 0, r);
	return r[0] & (1u << 3); /* KVM_FEATURE_CLOCKSOURCE2 */
}

/* PIT channel 2, gated through port 0x61, counting 10 ms in mode 0. */
static uint64_t calibrate_pit(void)
{
	uint8_t gate = inb(0x61);
	outb(0x61, (uint8_t)((gate & ~0x02) | 0x01));
	outb(0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
	outb(0x42, 11932 & 0xff);
	outb(0x42, 11932 >> 8);
	uint64_t t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		;
	uint64_t t1 = rdtsc();
	outb(0x61, gate);
	return (t1 - t0) * 100;
}

void time_init(void)
{
	uint32_t r[4];
	if (kvm_clock_present()) {
		wrmsr(MSR_KVM_SYSTEM_TIME_NEW, virt_to_phys((const void *)&pvti) | 1);
		wrmsr(MSR_KVM_WALL_CLOCK_NEW, virt_to_phys((const void *)&wall));
		if (pvti.mul) {
			have_pvclock = true;
			uint64_t h = (1000000000ull << 32) / pvti.mul;
			hz = pvti.shift < 0 ? h << -pvti.shift : h >> pvti.shift;
			/* The wall clock is the time at system_time 0. */
			boot_wall_ns = (uint64_t)wall.sec * 1000000000ull + wall.nsec;
			vvar.d.boot_wall_ns = boot_wall_ns;
			vvar.d.have_pvclock = 1;
		}
	}
	if (!have_pvclock) {
		tsc0 = rdtsc();
		hz = calibrate_pit();
		if (!hz)
			panic("cannot calibrate the TSC");
	}
	cpuid(1, 0, r);
	have_deadline = r[2] & (1u << 24);
	*lapic(LAPIC_SVR) = 0x100 | 0xff; /* APIC on, spurious vector 255 */
	if (have_deadline) {
		*lapic(LAPIC_LVT_TIMER) = VEC_TIMER | LVT_TSC_DEADLINE;
	} else {
		/* Calibrated once: every vCPU's LAPIC runs at the same rate. */
		*lapic(LAPIC_TIMER_DIV) = 0xb; /* divide by 1 */
		*lapic(LAPIC_LVT_TIMER) = VEC_TIMER;
		*lapic(LAPIC_TIMER_INIT) = 0xffffffffu;
		uint64_t end = rdtsc() + hz / 1000;
		while (rdtsc() < end)
			;
		lapic_per_ms = 0xffffffffu - *lapic(LAPIC_TIMER_CUR);
		*lapic(LAPIC_TIMER_INIT) = 0;
	}
	kdebug("clock: TSC %lu Hz (%s), timer %s\n", hz, have_pvclock ? "kvmclock" : "PIT-calibrated",
	       have_deadline ? "TSC-deadline" : "LAPIC one-shot");
}

static void arm(uint64_t ns_from_now)
{
	if (have_deadline) {
		wrmsr(MSR_TSC_DEADLINE,
		      rdtsc() + (uint64_t)((unsigned __int128)ns_from_now * hz / 1000000000u) + 1);
	} else {
		uint64_t count = ns_from_now / 1000 * lapic_per_ms / 1000 + 1;
		*lapic(LAPIC_TIMER_INIT) = (uint32_t)MIN(count, 0xffffffffull);
	}
}

/* An AP's LAPIC and timer, as time_init set up the boot CPU's. The clock
 * itself is the boot CPU's kvmclock page: KVM keeps the vCPUs' TSCs in
 * step, which is what kvmclock's own stable bit relies on. */
void timer_init_cpu(void)
{
	*lapic(LAPIC_SVR) = 0x100 | 0xff;
	if (have_deadline) {
		*lapic(LAPIC_LVT_TIMER) = VEC_TIMER | LVT_TSC_DEADLINE;
	} else {
		*lapic(LAPIC_TIMER_DIV) = 0xb;
		*lapic(LAPIC_LVT_TIMER) = VEC_TIMER;
	}
}

void timer_arm(uint64_t deadline)
{
	if (deadline == UINT64_MAX) {
		if (have_deadline)
			wrmsr(MSR_TSC_DEADLINE, 0);
		else
			*lapic(LAPIC_TIMER_INIT) = 0;
		return;
	}
	uint64_t now = time_ns();
	arm(deadline > now ? deadline - now : 0);
}

void timer_interrupt(void) { *lapic(LAPIC_EOI) = 0; }
