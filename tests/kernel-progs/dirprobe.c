/* Checks a large directory (tests/integration/kernel_scale.sh):
 *   dirprobe DIR N
 * DIR holds N regular files f00000..f(N-1), each containing its own name.
 * Prints "ok NAME" or "FAIL NAME: why" for each check; the exit status is
 * the number of failures. Listings use getdents64 directly with a small
 * buffer, so a listing is many calls, each resuming where the last stopped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok, const char *fmt, long a, long b)
{
	if (ok) {
		printf("ok %s\n", name);
		return;
	}
	printf("FAIL %s: ", name);
	printf(fmt, a, b);
	printf("\n");
	failures++;
}

struct dirent64_hdr {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* The index of a name fNNNNN, or -1. */
static long file_index(const char *name)
{
	if (name[0] != 'f' || strlen(name) != 6)
		return -1;
	char *end;
	long i = strtol(name + 1, &end, 10);
	return *end ? -1 : i;
}

/* Lists dir with getdents64 in chunks of `chunk` bytes. Each entry fNNNNN
 * is appended to order[] (up to cap) and counted in seen[]; after `after`
 * entries, hook() runs once (to change the directory mid-listing). Returns
 * the number of f entries, or -1. */
static long list(const char *dir, size_t chunk, long *order, long cap, unsigned char *seen, long nseen,
		 long after, void (*hook)(void))
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	char *buf = malloc(chunk);
	long count = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, chunk);
		if (n < 0) {
			count = -1;
			break;
		}
		if (n == 0)
			break;
		for (long pos = 0; pos < n;) {
			struct dirent64_hdr *d = (struct dirent64_hdr *)(buf + pos);
			pos += d->reclen;
			long i = file_index(d->name);
			if (i < 0)
				continue;
			if (count < cap)
				order[count] = i;
			if (i < nseen && seen[i] < 255)
				seen[i]++;
			count++;
		}
		if (hook && count >= after) {
			hook();
			hook = NULL;
		}
	}
	free(buf);
	close(fd);
	return count;
}

static const char *g_dir;
static long g_n;

/* Mid-listing: remove the first and last files, add two new ones. */
static void change_dir(void)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/f%05d", g_dir, 0);
	unlink(p);
	snprintf(p, sizeof(p), "%s/f%05ld", g_dir, g_n - 1);
	unlink(p);
	for (long i = g_n; i < g_n + 2; i++) {
		snprintf(p, sizeof(p), "%s/f%05ld", g_dir, i);
		close(open(p, O_CREAT | O_WRONLY, 0644));
	}
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 100;
	const char *dir = argv[1];
	long n = atol(argv[2]);
	if (n <= 2 || n > 90000)
		return 100;
	g_dir = dir;
	g_n = n;
	char path[4096], buf[64];

	/* Every file found by name, with its own contents. */
	long bad = 0, first_bad = -1;
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%05ld", dir, i);
		int fd = open(path, O_RDONLY);
		ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (r >= 0)
			buf[r] = 0;
		if (r < 0 || strcmp(buf, path + strlen(dir) + 1)) {
			if (first_bad < 0)
				first_bad = i;
			bad++;
		}
	}
	check("lookup: every file by name, with its contents", bad == 0, "%ld bad, the first f%05ld", bad,
	      first_bad);
	struct stat st;
	snprintf(path, sizeof(path), "%s/f%05ld", dir, n);
	int r = stat(path, &st);
	check("lookup: a name past the last is ENOENT", r < 0 && errno == ENOENT, "stat %ld errno %ld", r,
	      errno);
	snprintf(path, sizeof(path), "%s/f%05ld/x", dir, n - 1);
	r = stat(path, &st);
	check("lookup: a file used as a directory is ENOTDIR", r < 0 && errno == ENOTDIR,
	      "stat %ld errno %ld", r, errno);

	/* Two listings, in chunks of different sizes: every file once, same order. */
	long *o1 = calloc((size_t)n + 8, sizeof(long)), *o2 = calloc((size_t)n + 8, sizeof(long));
	unsigned char *seen = calloc((size_t)n + 8, 1);
	long c1 = list(dir, 512, o1, n + 8, seen, n + 8, 0, NULL);
	long once = 0;
	for (long i = 0; i < n; i++)
		once += seen[i] == 1;
	check("readdir: every file listed exactly once", c1 == n && once == n, "%ld listed, %ld once", c1,
	      once);
	memset(seen, 0, (size_t)n + 8);
	long c2 = list(dir, 32768, o2, n + 8, seen, n + 8, 0, NULL);
	check("readdir: a second listing (other chunk size) in the same order",
	      c2 == c1 && !memcmp(o1, o2, (size_t)n * sizeof(long)), "%ld vs %ld entries", c2, c1);

	/* A listing while files come and go: those there throughout appear
	 * once each, none twice (offsets are stable positions). */
	memset(seen, 0, (size_t)n + 8);
	long c3 = list(dir, 512, o2, n + 8, seen, n + 8, n / 2, change_dir);
	long twice = 0, missing = 0;
	for (long i = 1; i < n - 1; i++)
		missing += seen[i] == 0;
	for (long i = 0; i < n + 2; i++)
		twice += seen[i] > 1;
	check("readdir: files present throughout a changing listing appear once each",
	      missing == 0 && twice == 0, "%ld missing, %ld twice", missing, twice);
	check("readdir: a changing listing ends", c3 >= n - 2 && c3 <= n + 2, "%ld entries (n %ld)", c3, n);
	memset(seen, 0, (size_t)n + 8);
	long c4 = list(dir, 4096, o2, n + 8, seen, n + 8, 0, NULL);
	check("readdir: after the change, the new files listed and the removed ones not",
	      c4 == n && !seen[0] && !seen[n - 1] && seen[n] == 1 && seen[n + 1] == 1, "%ld listed (n %ld)",
	      c4, n);
	free(o1);
	free(o2);
	free(seen);
	return failures;
}
