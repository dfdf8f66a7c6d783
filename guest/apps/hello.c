/* hello: the demo enclave application.
 *
 * It prints a greeting and its environment, then serves one attestation
 * request on vsock port 5000: the parent sends a nonce as one line of hex,
 * and hello answers with the NSM attestation document bound to that nonce
 * (and to the greeting, as user_data), prefixed by its length as 4 bytes
 * little-endian. Then it exits 0. Runs unchanged on the carve enclave kernel
 * and on Linux in a Nitro enclave.
 *   hello [--port N] [--greeting TEXT]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsm.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define VMADDR_CID_ANY 0xffffffffu

struct sockaddr_vm {
	unsigned short svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_flags;
	unsigned char svm_zero[3];
};

extern char **environ;

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line of at most cap-1 bytes, without its '\n'. */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return (int)n;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int main(int argc, char **argv)
{
	unsigned port = 5000;
	const char *greeting = "hello from a carve enclave";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--greeting"))
			greeting = argv[i + 1];
	}
	printf("%s\n", greeting);
	printf("environment:\n");
	for (char **e = environ; e && *e; e++)
		printf("  %s\n", *e);
	fflush(stdout);

	int fd = nsm_lib_init();
	if (fd < 0) {
		fprintf(stderr, "hello: cannot open /dev/nsm: %s\n", strerror(errno));
		return 1;
	}
	int ls = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
	if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(ls, 1) < 0) {
		fprintf(stderr, "hello: cannot listen on vsock port %u: %s\n", port, strerror(errno));
		return 1;
	}
	printf("waiting for a nonce on vsock port %u\n", port);
	fflush(stdout);
	int c = accept(ls, NULL, NULL);
	if (c < 0) {
		fprintf(stderr, "hello: accept: %s\n", strerror(errno));
		return 1;
	}
	char line[2 * 512 + 2];
	uint8_t nonce[512];
	int n = read_line(c, line, sizeof(line));
	if (n <= 0 || n % 2) {
		fprintf(stderr, "hello: expected a nonce as one line of hex\n");
		return 1;
	}
	for (int i = 0; i < n / 2; i++) {
		int hi = hex_nibble(line[2 * i]), lo = hex_nibble(line[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			fprintf(stderr, "hello: the nonce is not hex\n");
			return 1;
		}
		nonce[i] = (uint8_t)(hi << 4 | lo);
	}
	static uint8_t doc[0x3000];
	uint32_t doc_len = sizeof(doc);
	ErrorCode rc = nsm_get_attestation_doc(fd, (const uint8_t *)greeting, (uint32_t)strlen(greeting),
					       nonce, (uint32_t)(n / 2), NULL, 0, doc, &doc_len);
	if (rc != ERROR_CODE_SUCCESS) {
		fprintf(stderr, "hello: the NSM refused the attestation request (error %d)\n", rc);
		return 1;
	}
	uint8_t len_le[4] = {(uint8_t)doc_len, (uint8_t)(doc_len >> 8), (uint8_t)(doc_len >> 16),
			     (uint8_t)(doc_len >> 24)};
	if (write_all(c, len_le, 4) < 0 || write_all(c, doc, doc_len) < 0) {
		fprintf(stderr, "hello: sending the document failed\n");
		return 1;
	}
	printf("sent a %u-byte attestation document bound to the nonce\n", doc_len);
	shutdown(c, SHUT_WR);
	char drain[16];
	while (read(c, drain, sizeof(drain)) > 0)
		;
	close(c);
	close(ls);
	nsm_lib_exit(fd);
	return 0;
}
