/* Tries to overwrite the carve kernel's own text through the test-only
 * write primitive (carve.test_write_primitive: system call 0x7c00, see
 * guest/kernel/selflock.h): reads 16 bytes at the kernel address argv[1]
 * (hex), writes them inverted, reads them back, and says which it saw:
 *   "selfwrite: written"            the kernel's text changed
 *   "selfwrite: refused, old bytes" the write had no effect (locked)
 *   "selfwrite: no primitive"       the kernel has no such call (ENOSYS)
 * and exits 0, 0 and 2. With the VMM's policy stop the enclave stops at
 * the write and nothing after it is printed. "selfwrite sleep N" only
 * sleeps N seconds (an enclave to look at while it runs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYS_CARVE_TEST_WRITE 0x7c00
#define LEN 16

static void show(const char *what, const unsigned char *b)
{
	printf("selfwrite: %s", what);
	for (int i = 0; i < LEN; i++)
		printf(" %02x", b[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: selfwrite KERNEL-ADDRESS-IN-HEX\n");
		return 64;
	}
	if (!strcmp(argv[1], "sleep") && argc > 2) {
		printf("selfwrite: sleeping\n");
		fflush(stdout);
		sleep((unsigned)atoi(argv[2]));
		return 0;
	}
	unsigned long addr = strtoul(argv[1], NULL, 16);
	unsigned char old[LEN], want[LEN], now[LEN];
	if (syscall(SYS_CARVE_TEST_WRITE, addr, 0UL, (unsigned long)LEN, old) < 0) {
		printf("selfwrite: %s\n", errno == ENOSYS ? "no primitive" : strerror(errno));
		return errno == ENOSYS ? 2 : 1;
	}
	show("before", old);
	for (int i = 0; i < LEN; i++)
		want[i] = (unsigned char)~old[i];
	fflush(stdout);
	if (syscall(SYS_CARVE_TEST_WRITE, addr, want, (unsigned long)LEN, now) < 0) {
		printf("selfwrite: the write call failed: %s\n", strerror(errno));
		return 1;
	}
	show("after", now);
	if (!memcmp(now, want, LEN)) {
		printf("selfwrite: written\n");
		return 0;
	}
	if (!memcmp(now, old, LEN)) {
		printf("selfwrite: refused, old bytes\n");
		return 0;
	}
	printf("selfwrite: neither the old bytes nor the new\n");
	return 1;
}
