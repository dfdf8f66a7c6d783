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
#include "cpu.h"
#include "proc.h"

#define WIN_SLOTS 256 /* PD entries 256..511: 512 MiB */
#define LARGE (2ull << 20)

/* helper_stub.S: copy, zero, or a list of copies. */
extern const char helper_stub[], helper_stub_end[];
void helper_run(uint64_t dst, uint64_t count, uint64_t src);

static uint64_t *win_pd; /* the PD whose upper half is the window */
static bool ready;
static uint64_t list_pa; /* the page holding a list run's copies */
/* A fault on a program address ended the run: how far it got. */
static bool run_faulted;
static uint64_t fault_done, fault_left;

/* With more than one CPU online the helper is not used: the window is
 * user-accessible during a run and the helper region is the same in every
 * address space, so a program's thread on another CPU could reach the
 * memory a run maps there (fresh pages, the kernel side of a copy). The
 * kernel then zeroes and copies itself: natively on hardware KVM (where SMP
 * matters), emulated (slower, but correct) on PVM hosts. */
bool helper_ready(void) { return ready && cpus_online == 1; }

void helper_init(void)
{
	uint64_t pa = page_alloc();
	if (!pa || map_user_page(HELPER_CODE_VA, pa, 0) < 0)
		panic("out of memory for the zeroing stub");
	memcpy(phys_to_virt(pa), helper_stub, (size_t)(helper_stub_end - helper_stub));
	win_pd = user_pd_of(HELPER_WIN_VA);
	if (!win_pd)
		panic("no page directory for the zeroing window");
	if (!(list_pa = page_alloc()))
		panic("out of memory for the copy list");
	ready = true;
}

/* Maps [pa, pa+len) into the window (2 MiB pages) from slot first on;
 * returns its address. */
static uint64_t window_map_at(uint64_t first, uint64_t pa, uint64_t len, uint64_t *nslots)
{
	uint64_t base = ALIGN_DOWN(pa, LARGE), end = ALIGN_UP(pa + len, LARGE);
	uint64_t n = (end - base) / LARGE;
	if (n > WIN_SLOTS - first)
		panic("helper: chunk %lx+%lx is larger than the window", pa, len);
	/* The slots are empty (window_unmap invalidated each one), and no CPU
	 * caches a translation through a not-present entry: no INVLPG here,
	 * each one an emulated instruction and a shadow-MMU operation on PVM
	 * hosts. */
	for (uint64_t i = 0; i < n; i++)
		win_pd[256 + first + i] = (base + i * LARGE) | PTE_P | PTE_W | PTE_U | PTE_PS |
			(cpu_nx ? PTE_NX : 0);
	*nslots = n;
	return HELPER_WIN_VA + first * LARGE + (pa - base);
}

static uint64_t window_map(uint64_t pa, uint64_t len, uint64_t *nslots)
{
	return window_map_at(0, pa, len, nslots);
}

/* INVLPG per slot, not a CR3 reload: with shadow paging (PVM) a reload
 * throws away every shadow entry of the program too. */
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

bool helper_user_range(uint64_t uaddr, uint64_t len)
{
	if (!len)
		return true; /* nothing is touched (user_ok says the same) */
	if (uaddr >= USER_TOP || len > USER_TOP - uaddr)
		return false;
	/* The window itself is user-accessible during a run: never a target. */
	return uaddr + len <= HELPER_REGION || uaddr >= HELPER_REGION_END;
}

/* A fault on a program address that vm_fault could not resolve, during a
 * run: the run ends there (idt.c), as a copy_from_user would return EFAULT. */
void helper_fault(uint64_t copies_done, uint64_t left)
{
	run_faulted = true;
	fault_done = copies_done;
	fault_left = left;
	helper_resume();
}

/* helper_copy_list without the helper (helper_ready): the same copies by
 * the kernel, a fault ending the list at the piece it met. */
static uint64_t copy_list_in_kernel(const struct hcopy *c, int n)
{
	uint64_t done = 0;
	for (int i = 0; i < n; i++) {
		int r;
		if (c[i].dst_kernel && c[i].src_kernel) {
			memcpy(phys_to_virt(c[i].dst), phys_to_virt(c[i].src), c[i].len);
			r = 0;
		} else if (c[i].dst_kernel) {
			r = copy_from_user(phys_to_virt(c[i].dst), c[i].src, c[i].len);
		} else if (c[i].src_kernel) {
			r = copy_to_user(c[i].dst, phys_to_virt(c[i].src), c[i].len);
		} else {
			r = -1; /* program to program: no caller asks for that */
		}
		if (r < 0)
			break;
		done += c[i].len;
	}
	return done;
}

uint64_t helper_copy_list(const struct hcopy *c, int n)
{
	if (n <= 0 || n > HELPER_LIST_MAX)
		panic("helper: a list of %d copies", n);
	if (!helper_ready())
		return copy_list_in_kernel(c, n);
	struct {
		uint64_t dst, src, len;
	} *line = phys_to_virt(list_pa);
	/* Kernel sides go into the window, each range from the next free slot
	 * on unless one already mapped holds it (the same ring or buffer area
	 * is often on both sides of several copies); the list page first. */
	struct {
		uint64_t base, end, va; /* physical 2 MiB blocks [base, end) at va */
	} maps[1 + 2 * HELPER_LIST_MAX];
	int nmaps = 0;
	uint64_t used = 0, ns;
	uint64_t list_va = window_map_at(used, list_pa, PAGE_SIZE, &ns);
	maps[nmaps++] = (typeof(maps[0])){ALIGN_DOWN(list_pa, LARGE), ALIGN_DOWN(list_pa, LARGE) + ns * LARGE,
					  list_va - (list_pa - ALIGN_DOWN(list_pa, LARGE))};
	used += ns;
	uint64_t total = 0;
	for (int i = 0; i < n; i++) {
		uint64_t side[2] = {c[i].dst, c[i].src};
		for (int k = 0; k < 2; k++) {
			if (!(k ? c[i].src_kernel : c[i].dst_kernel))
				continue; /* a program address the caller checked with helper_user_range */
			uint64_t pa = side[k], va = 0;
			for (int m = 0; m < nmaps && !va; m++)
				if (pa >= maps[m].base && pa + c[i].len <= maps[m].end)
					va = maps[m].va + (pa - maps[m].base);
			if (!va) {
				va = window_map_at(used, pa, c[i].len, &ns);
				maps[nmaps++] = (typeof(maps[0])){ALIGN_DOWN(pa, LARGE),
								  ALIGN_DOWN(pa, LARGE) + ns * LARGE,
								  va - (pa - ALIGN_DOWN(pa, LARGE))};
				used += ns;
			}
			side[k] = va;
		}
		line[i].dst = side[0];
		line[i].src = side[1];
		line[i].len = c[i].len;
		total += c[i].len;
	}
	run_faulted = false;
	current->in_helper = true;
	helper_run(0, (uint64_t)n, list_va);
	current->in_helper = false;
	window_unmap(used);
	if (!run_faulted)
		return total;
	uint64_t done = 0;
	for (uint64_t i = 0; i < fault_done && i < (uint64_t)n; i++)
		done += c[i].len;
	if (fault_done < (uint64_t)n && fault_left <= c[fault_done].len)
		done += c[fault_done].len - fault_left;
	return done;
}
