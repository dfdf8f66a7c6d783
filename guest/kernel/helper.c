/* Bulk memory work done natively at CPL3.
 *
 * On PVM hosts every kernel instruction is emulated, including each
 * iteration of REP STOSQ (measured: ~200 us to zero one 4 KiB page), while
 * CPL3 code runs at native speed. So the kernel zeroes fresh memory in large
 * chunks (and copies large reads) with a few instructions run in user mode: it maps the
 * chunk (2 MiB pages) into a window the program cannot map, enters the stub
 * at CPL3 with IRETQ, and the stub's SYSCALL (number HELPER_DONE_NR) returns
 * to helper_run's caller (boot.S). One round trip zeroes megabytes.
 *
 * The window and the stub live in HELPER_REGION, a GiB vm.c refuses to the
 * program. The stub page is user-executable; outside a run the window is
 * empty, and the done number is ENOSYS for the program. On hardware KVM the
 * same path works (and is merely unnecessary). */
#include "proc.h"

#define WIN_SLOTS 256 /* PD entries 256..511: 512 MiB */
#define LARGE (2ull << 20)

extern const char helper_code[], helper_code_end[];
void helper_run(uint64_t dst, uint64_t count, uint64_t src);

static uint64_t *win_pd; /* the PD whose upper half is the window */
static bool ready;

bool helper_ready(void) { return ready; }

void helper_init(void)
{
	uint64_t pa = page_alloc();
	if (!pa || map_user_page(HELPER_CODE_VA, pa, 0) < 0)
		panic("out of memory for the zeroing stub");
	memcpy(phys_to_virt(pa), helper_code, (size_t)(helper_code_end - helper_code));
	win_pd = user_pd_of(HELPER_WIN_VA);
	if (!win_pd)
		panic("no page directory for the zeroing window");
	ready = true;
}

/* Maps [pa, pa+len) into the window (2 MiB pages); returns its address. */
static uint64_t window_map(uint64_t pa, uint64_t len, uint64_t *nslots)
{
	uint64_t base = ALIGN_DOWN(pa, LARGE), end = ALIGN_UP(pa + len, LARGE);
	uint64_t n = (end - base) / LARGE;
	if (n > WIN_SLOTS)
		panic("helper: chunk %lx+%lx is larger than the window", pa, len);
	/* INVLPG per slot, not a CR3 reload: with shadow paging (PVM) a reload
	 * throws away every shadow entry of the program too. */
	for (uint64_t i = 0; i < n; i++) {
		win_pd[256 + i] = (base + i * LARGE) | PTE_P | PTE_W | PTE_U | PTE_PS | (cpu_nx ? PTE_NX : 0);
		invlpg(HELPER_WIN_VA + i * LARGE);
	}
	*nslots = n;
	return HELPER_WIN_VA + (pa - base);
}

static void window_unmap(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		win_pd[256 + i] = 0;
		invlpg(HELPER_WIN_VA + i * LARGE);
	}
}

void helper_zero(uint64_t pa, uint64_t len)
{
	if (len & 7)
		panic("helper_zero: length %lu is not a multiple of 8", len);
	uint64_t n, va = window_map(pa, len, &n);
	current->in_helper = true;
	helper_run(va, len / 8, 0);
	current->in_helper = false;
	window_unmap(n);
}

void helper_copy_to_user(uint64_t dst, const void *src, uint64_t len)
{
	while (len) {
		/* At most 256 MiB a run, so the window (512 MiB) always fits it. */
		uint64_t chunk = MIN(len, 256ull << 20);
		uint64_t n, va = window_map(virt_to_phys(src), chunk, &n);
		current->in_helper = true;
		helper_run(dst, chunk, va);
		current->in_helper = false;
		window_unmap(n);
		dst += chunk;
		src = (const uint8_t *)src + chunk;
		len -= chunk;
	}
}
