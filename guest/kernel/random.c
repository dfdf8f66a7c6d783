/* Random bytes for AT_RANDOM and getrandom: RDRAND when the CPU has it (and
 * it runs: the probe is guarded, since an instruction emulator may not know
 * it), mixed into a SplitMix64 stream seeded from the TSC. Without RDRAND the
 * stream is only TSC-seeded, which is said on the console in debug mode. */
#include "virtio.h"

static uint64_t state;
static bool seeded, use_rdrand;
volatile int rdrand_probe; /* idt.c skips a faulting RDRAND while set */
volatile int rdrand_failed;

static uint64_t splitmix(void)
{
	uint64_t z = (state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool rdrand64(uint64_t *v)
{
	uint8_t ok = 0;
	uint64_t x = 0;
	__asm__ volatile("rdrand %0; setc %1" : "+r"(x), "=qm"(ok));
	*v = x;
	return ok;
}

static void seed(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	state = rdtsc() ^ 0x6a09e667f3bcc908ull;
	if (r[2] & (1u << 30)) {
		uint64_t v;
		rdrand_probe = 1;
		bool ok = rdrand64(&v);
		rdrand_probe = 0;
		if (!rdrand_failed && ok) {
			use_rdrand = true;
			state ^= v;
		}
	}
	if (!use_rdrand)
		kdebug("random: no usable RDRAND; using a TSC-seeded generator\n");
	seeded = true;
}

/* Mixes seed material (the NSM's GetRandom at boot) into the stream. */
void random_mix(const void *seed_bytes, size_t n)
{
	if (!seeded)
		seed();
	const uint8_t *p = seed_bytes;
	for (size_t i = 0; i < n; i++) {
		state ^= (uint64_t)p[i] << (8 * (i % 8));
		if (i % 8 == 7)
			state = splitmix();
	}
	state = splitmix();
}

void random_bytes(void *buf, size_t n)
{
	if (!seeded)
		seed();
	uint8_t *p = buf;
	while (n) {
		uint64_t v = splitmix() ^ rdtsc();
		uint64_t hw;
		if (use_rdrand && rdrand64(&hw))
			v ^= hw;
		size_t k = MIN(n, 8);
		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}
