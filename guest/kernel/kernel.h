/* The carve enclave kernel: shared types, layout and the small freestanding
 * library every file uses (klib.c). Processes and threads on one CPU.
 *
 * Address space: user space is the lower half (below USER_TOP); all physical
 * memory is mapped at PHYS_BASE (the direct map, 2 MiB pages, first 4 GiB) and
 * the kernel image at KERNEL_VBASE + its physical address. Kernel pages are
 * never user-accessible.
 *
 * Kernel code runs in KVM's instruction emulator on PVM hosts (DESIGN.md), so
 * it is built general-regs-only and every hot path is kept short. */
#ifndef CARVE_KERNEL_H
#define CARVE_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096ull
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PHYS_BASE 0xffff800000000000ull
#define KERNEL_VBASE 0xffffffff80000000ull
#define USER_TOP 0x00007ffffffff000ull /* one guard page below the canonical hole */
#define DIRECT_MAP_SIZE (4ull << 30)

#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void *phys_to_virt(uint64_t pa) { return (void *)(pa + PHYS_BASE); }
static inline uint64_t virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)va;
	return v >= KERNEL_VBASE ? v - KERNEL_VBASE : v - PHYS_BASE;
}

/* ---- klib.c ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
int ksnprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with carve.debug on the command line. */
void kdebug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- console.c: COM1 ---- */
void console_init(void);
void console_write(const char *s, size_t n);
/* Non-blocking: bytes available now (0 if none). */
size_t console_read(char *buf, size_t n);
bool console_readable(void);

/* ---- cpu.h-level helpers ---- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

/* ---- cmdline.c ---- */
#define MAX_VIRTIO_DEVS 8
struct virtio_mmio_dev {
	uint64_t base, size;
	uint32_t irq;
};
struct boot_opts {
	bool debug;        /* carve.debug */
	bool strace;       /* carve.strace */
	bool nosmp;        /* carve.nosmp: tasks on one CPU (default: every vCPU) */
	uint32_t slice_ms; /* carve.slice_ms=N: the scheduler's time slice (0: 10 ms) */
	int nvirtio;
	struct virtio_mmio_dev virtio[MAX_VIRTIO_DEVS];
};
extern struct boot_opts boot_opts;
void cmdline_parse(const char *cmdline);

/* ---- power.c ---- */
/* Reports the status on the carve exit port, then powers the VM off. */
_Noreturn void machine_exit(int status);
/* After a panic report: status 255, said on the console too. */
_Noreturn void kernel_fail(void);

/* ---- mm.c: physical pages and the kernel heap ---- */
void mm_init(const uint8_t *zero_page, uint64_t reserve_lo, uint64_t reserve_hi);
uint64_t page_alloc(void);      /* zeroed page, physical address; 0 if none */
uint64_t pages_alloc(size_t n); /* n contiguous zeroed pages; 0 if none */
void page_free(uint64_t pa);
/* page_free without waiting for a pending TLB shootdown (smp.c, after it). */
void page_free_now(uint64_t pa);
/* True if pa's free must wait for a pending shootdown (smp.c keeps it). */
bool tlb_defer_free(uint64_t pa);
/* Pages shared copy-on-write: another owner (page_get), one fewer (page_put,
 * which frees the page with its last owner), and the count of owners. */
int page_get(uint64_t pa);
void page_put(uint64_t pa);
unsigned page_owners(uint64_t pa);
void pages_free(uint64_t pa, size_t n);
void *kmalloc(size_t n); /* zeroed; NULL if none */
void kfree(void *p);
uint64_t mm_free_bytes(void);
uint64_t mm_total_bytes(void);

/* ---- paging.c ---- */
#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PS 0x80ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
void paging_init(void);
/* Maps one user page; replaces what was there. 0 or -ENOMEM. */
int map_user_page(uint64_t va, uint64_t pa, uint64_t flags);
/* Clears the mapping; returns the old PTE (0 if none). */
uint64_t unmap_user_page(uint64_t va);
/* The PTE of a user page, 0 if not present. */
uint64_t user_pte(uint64_t va);
int set_user_pte_flags(uint64_t va, uint64_t flags);
#define PTE_BORROWED (1ull << 9) /* software bit: the page is the initrd's, never freed */
#define PTE_COW (1ull << 10)     /* software bit: shared since a fork; a write copies it */
/* The address space in CR3 (a task switch changes it); a reload of it. */
void paging_switch(uint64_t *pml4);
void paging_flush(void);
/* A user translation at va went or narrowed in the tables in CR3: INVLPG
 * here, a shootdown for the other CPUs (smp.c). */
void tlb_page_changed(uint64_t va);
uint64_t *paging_current(void);
uint64_t *kernel_pml4(void); /* the boot tables: the kernel half and nothing of a program */
/* A new address space's top table: the kernel half and the helper region as
 * every other; NULL if out of memory. */
uint64_t *pt_new(void);
void pt_free(uint64_t *pml4);
/* va's PTE slot in pml4 (tables created); NULL if none. */
uint64_t *pt_slot(uint64_t *pml4, uint64_t va);
void user_range_walk(uint64_t start, uint64_t end, void (*fn)(uint64_t va, uint64_t *pte, void *ctx),
		     void *ctx);

uint64_t *user_pd_of(uint64_t va);    /* the PD holding va's PDE, created if needed */
uint64_t *user_pte_slot(uint64_t va); /* va's PTE slot, tables created; NULL if none */

/* ---- helper.c: bulk zeroing at CPL3 ---- */
#define HELPER_REGION 0x7fff80000000ull /* 1 GiB the program cannot map */
#define HELPER_REGION_END (HELPER_REGION + (1ull << 30))
#define HELPER_CODE_VA HELPER_REGION
#define HELPER_WIN_VA (HELPER_REGION + (256ull << 21))
#define HELPER_DONE_NR 0x7ca7
void helper_init(void);
bool helper_ready(void);
/* Zeroes [pa, pa+len) (8-byte multiple, at most 510 MiB) natively. */
void helper_zero(uint64_t pa, uint64_t len);
/* Copies len bytes of physically contiguous kernel memory to user memory
 * the caller has checked writable (user_ok), natively. */
void helper_copy_to_user(uint64_t dst, const void *src, uint64_t len);
/* Below this a copy is as cheap in the kernel as a round trip to CPL3
 * (measured here: 4 KiB about even, 64 KiB 1.8 ms natively vs 7.7 ms). */
#define HELPER_COPY_MIN 8192
/* Several copies in one round trip to CPL3 (the round trip is what costs:
 * about 200 us on PVM hosts, whatever the size). A kernel side is a
 * physical address (contiguous for its length); a program side is a user
 * address the caller checked with helper_user_range, and the CPU checks its
 * pages as the program's own access would: a page vm_fault cannot supply
 * ends the run. Returns the bytes copied, in list order, up to that fault. */
struct hcopy {
	uint64_t dst, src, len;
	bool dst_kernel, src_kernel;
};
#define HELPER_LIST_MAX 64
uint64_t helper_copy_list(const struct hcopy *c, int n);
/* [uaddr, uaddr+len) is below USER_TOP and outside the helper's region. */
bool helper_user_range(uint64_t uaddr, uint64_t len);
void helper_fault(uint64_t copies_done, uint64_t left); /* idt.c, during a run */
_Noreturn void helper_resume(void);

/* ---- idt.c / traps ---- */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
void idt_init(void);
void trap_dispatch(struct trap_frame *tf);
void gdt_init(void);

/* ---- time.c ---- */
void time_init(void);
uint64_t time_ns(void);          /* monotonic since boot */
uint64_t time_realtime_ns(void); /* wall clock */
/* Sleeps until the deadline (monotonic ns), other tasks running meanwhile.
 * With a wake function: returns once wake() is true or after any event
 * (the caller looks again and may sleep again). -EINTR when the task is
 * interrupted (a signal, or its process is exiting), else 0. */
int time_sleep_until(uint64_t deadline_ns, bool (*wake)(void));
/* The LAPIC timer fires at deadline (monotonic ns); UINT64_MAX: never. */
void timer_arm(uint64_t deadline_ns);
void timer_interrupt(void);
uint64_t tsc_hz(void);
/* The physical address of the page holding KVM's clock (vdso.c maps it). */
uint64_t time_vvar_pa(void);

/* ---- vdso.c ---- */
/* Maps the vDSO and its clock page for every program (after helper_init). */
void vdso_init(void);
/* Where programs find it (AT_SYSINFO_EHDR), 0 if it is not mapped; its
 * clock page is the page before. */
uint64_t vdso_base(void);
uint64_t vdso_size(void); /* of its pages */

/* ---- random.c ---- */
void random_bytes(void *buf, size_t n);

/* ---- syscall.c ---- */
void syscall_init(void);
/* The vector a system call's trap frame carries (boot.S). */
#define SYSCALL_VECTOR 0x80
void syscall_handler(struct trap_frame *tf);
/* Enters user mode in a new image (boot, execve) on the current task's
 * empty kernel stack; never returns. */
_Noreturn void enter_user(uint64_t rip, uint64_t rsp);
_Noreturn void enter_user_on(uint64_t rip, uint64_t rsp, uint64_t kstack_top);

#endif
