/* Exercises the system calls ordinary programs use and prints "ok NAME" or
 * "FAIL NAME: why" for each; the exit status is the number of failures. It
 * expects the ramdisk to hold /etc/motd with the text "carve motd\n". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok, const char *why)
{
	if (ok)
		printf("ok %s\n", name);
	else {
		printf("FAIL %s: %s (errno %d)\n", name, why, errno);
		failures++;
	}
}

static long ms_between(struct timespec a, struct timespec b)
{
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

int main(void)
{
	char buf[256];
	int fd = open("/etc/motd", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	check("read-ramdisk-file", n == 11 && !memcmp(buf, "carve motd\n", 11), "content differs");
	struct stat st;
	check("fstat", fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 11 && S_ISREG(st.st_mode), "bad stat");
	check("lseek", lseek(fd, 6, SEEK_SET) == 6 && read(fd, buf, 4) == 4 && !memcmp(buf, "motd", 4),
	      "seek/read");
	void *m = mmap(NULL, 11, PROT_READ, MAP_PRIVATE, fd, 0);
	check("mmap-file", m != MAP_FAILED && !memcmp(m, "carve motd\n", 11), "mapping differs");
	close(fd);

	check("open-missing", open("/nope", O_RDONLY) < 0 && errno == ENOENT, "expected ENOENT");
	check("mkdir", mkdir("/tmp/d", 0755) == 0, "mkdir failed");
	fd = open("/tmp/d/f", O_CREAT | O_RDWR | O_TRUNC, 0644);
	check("create", fd >= 0, "open O_CREAT failed");
	check("write", write(fd, "hello world", 11) == 11, "short write");
	check("pread", pread(fd, buf, 5, 6) == 5 && !memcmp(buf, "world", 5), "pread content");
	close(fd);
	check("rename",
	      rename("/tmp/d/f", "/tmp/d/g") == 0 && access("/tmp/d/g", F_OK) == 0 &&
		      access("/tmp/d/f", F_OK) < 0,
	      "rename");
	DIR *d = opendir("/tmp/d");
	struct dirent *de;
	int seen = 0;
	while (d && (de = readdir(d)))
		if (!strcmp(de->d_name, "g"))
			seen = 1;
	if (d)
		closedir(d);
	check("getdents", seen, "g not listed");
	check("unlink", unlink("/tmp/d/g") == 0 && rmdir("/tmp/d") == 0, "unlink/rmdir");
	check("chdir-getcwd", chdir("/etc") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/etc"), "cwd");
	check("relative-open", (fd = open("motd", O_RDONLY)) >= 0 && close(fd) == 0, "relative open");
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	check("readlink-exe", n > 0 && (buf[n] = 0, strstr(buf, "sysprobe") != NULL), "exe path");

	size_t big = 64 << 20;
	char *a = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check("mmap-anon-64M", a != MAP_FAILED, "mmap failed");
	if (a != MAP_FAILED) {
		a[0] = 1;
		a[big - 1] = 2;
		check("anon-zero-fill", a[4096] == 0 && a[0] == 1 && a[big - 1] == 2, "contents");
		check("mprotect", mprotect(a, 4096, PROT_READ) == 0, "mprotect");
		check("munmap", munmap(a, big) == 0, "munmap");
	}
	/* A munmap over a huge range (here one that covers where the kernel keeps
	 * private mappings, below the stack) must not break later allocations. */
	check("munmap-huge-range", munmap((void *)0x7ff800000000ul, 0x7c0000000ul) == 0, "munmap");
	char *q = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int touched = q != MAP_FAILED;
	for (size_t i = 0; touched && i < (16u << 20); i += 4096)
		q[i] = 1;
	check("touch-16M-after-munmap", touched && q[(16 << 20) - 4096] == 1, "allocation after munmap");
	char *p = malloc(1 << 20);
	check("malloc-1M", p != NULL && (memset(p, 7, 1 << 20), p[12345] == 7), "malloc");
	free(p);
	/* The brk system call itself (musl's sbrk refuses to grow). */
	char *b0 = (char *)syscall(SYS_brk, 0);
	char *b1 = (char *)syscall(SYS_brk, b0 + 8192);
	check("brk", b1 == b0 + 8192 && (b0[8191] = 1, b0[8191] == 1), "brk did not grow");

	struct timespec t0, t1, rt;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct timespec sl = {0, 30 * 1000000};
	nanosleep(&sl, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = ms_between(t0, t1);
	check("nanosleep-30ms", ms >= 30 && ms < 1000, "slept the wrong time");
	clock_gettime(CLOCK_REALTIME, &rt);
	check("realtime-after-2020", rt.tv_sec > 1577836800, "wall clock not set");
	unsigned char r1[16] = {0}, r2[16] = {0};
	check("getrandom", getrandom(r1, 16, 0) == 16 && getrandom(r2, 16, 0) == 16 && memcmp(r1, r2, 16),
	      "random");
	struct utsname u;
	check("uname", uname(&u) == 0 && !strcmp(u.sysname, "Linux") && !strcmp(u.machine, "x86_64"),
	      "uname");
	check("ids", getpid() == 1 && getuid() == 0 && geteuid() == 0, "ids");
	int fd2 = dup(1);
	check("dup-write", fd2 > 2 && write(fd2, "", 0) == 0 && close(fd2) == 0, "dup");
	check("isatty-stdout", isatty(1), "stdout is not a tty");
	check("fcntl-cloexec", fcntl(1, F_SETFD, FD_CLOEXEC) == 0 && fcntl(1, F_GETFD) == FD_CLOEXEC,
	      "fcntl");
	/* An fd is an unsigned int: the upper half of its register is not part
	 * of it (Linux's close, fcntl and dup2 take the low 32 bits). */
	long high = 1L << 32;
	int fd3 = dup(1);
	check("fd-register-upper-half",
	      syscall(SYS_fcntl, high | fd3, F_GETFD) == 0 && syscall(SYS_dup2, fd3, high | fd3) == fd3 &&
		      syscall(SYS_close, high | fd3) == 0 && fcntl(fd3, F_GETFD) < 0,
	      "the fd's upper 32 bits were used");
	printf("failures=%d\n", failures);
	return failures;
}
