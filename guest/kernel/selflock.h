/* The kernel's self-lock (selflock.c): after boot, its text, read-only data
 * (the system-call table among them), IDT and GDT become read-only in the
 * VMM's sub-page table, for good, through the VMM's lock device. */
#ifndef CARVE_KERNEL_SELFLOCK_H
#define CARVE_KERNEL_SELFLOCK_H

#include <stdint.h>

/* Once, from kmain, after every interrupt gate is set and before the
 * program runs. carve.selflock=0 on the command line leaves it off. */
void selflock_boot(const char *cmdline);

/* carve's test-only system calls: 0x7c00-0x7c7f, answered only when the
 * command line enables them (ENOSYS otherwise). */
#define SYS_CARVE_TEST_FIRST 0x7c00
#define SYS_CARVE_TEST_LAST 0x7c7f
/* carve.test_write_primitive: write(kaddr, src, len, out): copies len (1 to
 * 64) bytes from the program's src to kernel address kaddr (inside the
 * kernel image) with no other check, a planted "write what where"; src 0
 * writes nothing. Then copies the len bytes now at kaddr to out (0: not).
 * Returns 0 or -EFAULT / -EINVAL. */
#define SYS_CARVE_TEST_WRITE 0x7c00
int64_t selflock_test_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

#endif
