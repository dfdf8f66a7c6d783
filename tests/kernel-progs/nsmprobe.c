/* /dev/nsm from inside an enclave, as Linux's nsm driver offers it: raw CBOR
 * requests through NSM_IOCTL_RAW. Prints "ok ..." / "FAIL ..." lines, the
 * decoded DescribeNSM module_id, and an attestation document as one line of
 * hex ("document <hex>") for the host to verify. Exit status: failures.
 * The CBOR is written by hand on purpose: the test checks the bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#define NSM_IOCTL_RAW 0xC0200A00ul

struct nsm_iovec {
	uint64_t addr, len;
};
struct nsm_raw {
	struct nsm_iovec request, response;
};

#include "check.h"
static uint8_t resp[0x3000];

static long nsm(int fd, const void *req, size_t len, size_t cap)
{
	struct nsm_raw raw = {{(uint64_t)(uintptr_t)req, len}, {(uint64_t)(uintptr_t)resp, cap}};
	if (ioctl(fd, NSM_IOCTL_RAW, &raw) < 0)
		return -errno;
	return (long)raw.response.len;
}

/* The value after text key `key` in resp[0..n): its CBOR head's major type
 * and argument, and where its payload starts. -1 if absent. */
static long find(long n, const char *key, int *major, uint64_t *arg)
{
	size_t kl = strlen(key);
	for (long i = 0; i + 1 + (long)kl < n; i++) {
		if (resp[i] != (0x60 | kl) || memcmp(resp + i + 1, key, kl))
			continue;
		long p = i + 1 + (long)kl;
		uint8_t b = resp[p++];
		*major = b >> 5;
		uint8_t ai = b & 31;
		int w = ai < 24 ? 0 : ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : 8;
		uint64_t v = ai < 24 ? ai : 0;
		for (int k = 0; k < w && p < n; k++)
			v = v << 8 | resp[p++];
		*arg = v;
		return p;
	}
	return -1;
}

int main(void)
{
	int fd = open("/dev/nsm", O_RDWR);
	check(fd >= 0, "open /dev/nsm");
	if (fd < 0)
		return 1;

	static const uint8_t describe[] = {0x6b, 'D', 'e', 's', 'c', 'r', 'i', 'b', 'e', 'N', 'S', 'M'};
	long n = nsm(fd, describe, sizeof(describe), sizeof(resp));
	int mt;
	uint64_t a;
	long p = n > 0 ? find(n, "module_id", &mt, &a) : -1;
	check(p > 0 && mt == 3 && p + (long)a <= n, "DescribeNSM answers with a text module_id");
	if (p > 0)
		printf("module_id %.*s\n", (int)a, (const char *)resp + p);
	p = n > 0 ? find(n, "max_pcrs", &mt, &a) : -1;
	check(p > 0 && mt == 0 && a == 32, "DescribeNSM: max_pcrs 32");

	static const uint8_t getrandom_req[] = {0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd', 'o', 'm'};
	uint8_t first[64] = {0};
	n = nsm(fd, getrandom_req, sizeof(getrandom_req), sizeof(resp));
	p = n > 0 ? find(n, "random", &mt, &a) : -1;
	check(p > 0 && mt == 2 && a >= 32 && p + (long)a <= n, "GetRandom answers with random bytes");
	if (p > 0) {
		printf("random %lu bytes\n", (unsigned long)a);
		memcpy(first, resp + p, sizeof(first));
	}
	n = nsm(fd, getrandom_req, sizeof(getrandom_req), sizeof(resp));
	p = n > 0 ? find(n, "random", &mt, &a) : -1;
	check(p > 0 && memcmp(first, resp + p, sizeof(first)) != 0, "GetRandom: two answers differ");

	/* Truncation: response.len is what was copied, at most the capacity. */
	n = nsm(fd, getrandom_req, sizeof(getrandom_req), 5);
	check(n == 5, "a 5-byte response buffer gets 5 bytes");
	/* Errors as Linux's driver gives them. */
	static uint8_t big[0x1001];
	check(nsm(fd, big, sizeof(big), sizeof(resp)) == -EMSGSIZE, "a request over 0x1000 bytes: EMSGSIZE");
	check(nsm(fd, (void *)16, 10, sizeof(resp)) == -EFAULT, "a bad request pointer: EFAULT");
	check(ioctl(fd, 0xC0200A01ul, big) < 0 && errno == EINVAL,
	      "another ioctl number: EINVAL (Linux's nsm driver)");
	check(ioctl(fd, NSM_IOCTL_RAW, (void *)8) < 0 && errno == EFAULT, "a bad nsm_raw pointer: EFAULT");
	char c;
	check(read(fd, &c, 1) < 0 && errno == EINVAL, "read on /dev/nsm: EINVAL");

	/* {"Attestation": {"user_data": null, "nonce": h'0102030405060708', "public_key": null}} */
	static const uint8_t att[] = {0xa1, 0x6b, 'A', 't', 't', 'e',  's', 't', 'a', 't', 'i', 'o',  'n',
				      0xa3, 0x69, 'u', 's', 'e', 'r',  '_', 'd', 'a', 't', 'a', 0xf6, 0x65,
				      'n',  'o',  'n', 'c', 'e', 0x48, 1,   2,   3,   4,   5,   6,    7,
				      8,    0x6a, 'p', 'u', 'b', 'l',  'i', 'c', '_', 'k', 'e', 'y',  0xf6};
	n = nsm(fd, att, sizeof(att), sizeof(resp));
	p = n > 0 ? find(n, "document", &mt, &a) : -1;
	check(p > 0 && mt == 2 && a > 1000 && p + (long)a <= n, "Attestation answers with a document");
	if (p > 0 && p + (long)a <= n) {
		printf("document ");
		for (uint64_t i = 0; i < a; i++)
			printf("%02x", resp[p + (long)i]);
		printf("\n");
	}

	uint8_t r1[16] = {0}, r2[16] = {0}, zero[16] = {0};
	check(getrandom(r1, sizeof(r1), 0) == 16 && getrandom(r2, sizeof(r2), 0) == 16 &&
		      memcmp(r1, r2, 16) && memcmp(r1, zero, 16),
	      "getrandom gives fresh bytes");
	const uint8_t *at = (const uint8_t *)getauxval(AT_RANDOM);
	check(at && memcmp(at, zero, 16), "AT_RANDOM is set");
	check(close(fd) == 0, "close /dev/nsm");
	return failures;
}
