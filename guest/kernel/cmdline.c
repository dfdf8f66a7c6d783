/* The kernel command line: words we act on and words we record.
 *   carve.debug                         debug messages on the console
 *   carve.strace                        every system call and its result on the console
 *   carve.nosmp                         run every task on the first vCPU only (the
 *                                       others stay waiting for INIT/SIPI); without
 *                                       it every vCPU runs tasks (SMP)
 *   carve.smp                           SMP, the default (kept for command lines
 *                                       that name it; carve.nosmp wins over it)
 *   carve.slice_ms=N                    the scheduler's time slice, 1 to 60000 ms
 *                                       (default 10; tests use a long one)
 *   virtio_mmio.device=SIZE@BASE:IRQ    a virtio-mmio device (Linux's syntax:
 *                                       SIZE with K/M/G suffix, BASE in hex)
 * Anything else is ignored, as Linux ignores unknown parameters. */
#include "kernel.h"

struct boot_opts boot_opts;

/* Parses a number (0x.. hex or decimal) with an optional K/M/G suffix. */
static bool parse_num(const char **pp, const char *end, uint64_t *out, bool suffix)
{
	const char *p = *pp;
	uint64_t v = 0;
	unsigned base = 10;
	if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	const char *start = p;
	for (; p < end; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (p == start)
		return false;
	if (suffix && p < end) {
		unsigned shift = *p == 'K' || *p == 'k' ? 10
			: *p == 'M' || *p == 'm'        ? 20
			: *p == 'G' || *p == 'g'        ? 30
							: 0;
		if (shift) {
			if (v > (UINT64_MAX >> shift))
				return false;
			v <<= shift;
			p++;
		}
	}
	*pp = p;
	*out = v;
	return true;
}

static void parse_virtio(const char *p, const char *end)
{
	uint64_t size, base, irq;
	if (!parse_num(&p, end, &size, true) || p >= end || *p++ != '@' ||
	    !parse_num(&p, end, &base, false) || p >= end || *p++ != ':' ||
	    !parse_num(&p, end, &irq, false) || irq > 255 || size == 0 || size > (1ull << 32) ||
	    base + size < base) {
		kprintf("carve: ignoring malformed virtio_mmio.device entry\n");
		return;
	}
	if (boot_opts.nvirtio >= MAX_VIRTIO_DEVS) {
		kprintf("carve: more than %d virtio_mmio.device entries; ignoring the rest\n",
			MAX_VIRTIO_DEVS);
		return;
	}
	boot_opts.virtio[boot_opts.nvirtio++] = (struct virtio_mmio_dev){base, size, (uint32_t)irq};
}

static void parse_slice(const char *p, const char *end)
{
	uint64_t ms;
	if (!parse_num(&p, end, &ms, false) || p != end || ms < 1 || ms > 60000) {
		kprintf("carve: ignoring malformed carve.slice_ms (1 to 60000)\n");
		return;
	}
	boot_opts.slice_ms = (uint32_t)ms;
}

void cmdline_parse(const char *s)
{
	static const char vkey[] = "virtio_mmio.device=", skey[] = "carve.slice_ms=";
	while (*s) {
		while (*s == ' ')
			s++;
		const char *w = s;
		while (*s && *s != ' ')
			s++;
		size_t n = (size_t)(s - w);
		if (n == 11 && !strncmp(w, "carve.debug", 11))
			boot_opts.debug = true;
		else if (n == 12 && !strncmp(w, "carve.strace", 12))
			boot_opts.strace = true;
		else if (n == 11 && !strncmp(w, "carve.nosmp", 11))
			boot_opts.nosmp = true;
		else if (n > sizeof(vkey) - 1 && !strncmp(w, vkey, sizeof(vkey) - 1))
			parse_virtio(w + sizeof(vkey) - 1, s);
		else if (n >= sizeof(skey) - 1 && !strncmp(w, skey, sizeof(skey) - 1))
			parse_slice(w + sizeof(skey) - 1, s);
	}
}
