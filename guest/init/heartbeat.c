/* The boot heartbeat (aws-nitro-enclaves-cli's heartbeat): connect to the
 * parent, CID 3 port 9000, send 0xB7, read it back. The parent counts the
 * enclave as started when this arrives, and gives up after its boot timeout
 * if it never does. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define VSOCK_CID_PARENT 3
#define HEARTBEAT_PORT 9000
#define HEARTBEAT_BYTE 0xB7
#define RETRY_FOR_MS 2000
#define RETRY_EVERY_MS 100
#define ANSWER_TIMEOUT_S 30

/* struct sockaddr_vm of <linux/vm_sockets.h>, which musl does not ship. */
struct vsock_addr {
	unsigned short svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_flags;
	unsigned char svm_zero[3];
};

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The transport may still be probing when init gets here (ENODEV), or the
 * first packets may race its setup (ETIMEDOUT, ECONNRESET): retry those
 * briefly. Anything else, or still failing after RETRY_FOR_MS, is fatal. */
static int connect_parent(void)
{
	int64_t start = now_ms();
	for (int attempt = 1;; attempt++) {
		int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die(ST_HEARTBEAT, "vsock socket: %s%s", strerror(errno),
			    errno == EAFNOSUPPORT ? " (no vsock: are the vsock modules in the list?)" : "");
		struct vsock_addr a = {
			.svm_family = AF_VSOCK, .svm_cid = VSOCK_CID_PARENT, .svm_port = HEARTBEAT_PORT};
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		int e = errno;
		close(fd);
		bool transient = e == ENODEV || e == ETIMEDOUT || e == ECONNRESET || e == EINTR;
		if (!transient || now_ms() - start >= RETRY_FOR_MS)
			die(ST_HEARTBEAT, "heartbeat: connect to cid %d port %d: %s (%d attempts)",
			    VSOCK_CID_PARENT, HEARTBEAT_PORT, strerror(e), attempt);
		nanosleep(&(struct timespec){0, RETRY_EVERY_MS * 1000000L}, NULL);
	}
}

void heartbeat(void)
{
	int fd = connect_parent();
	/* A parent that accepted but never answers should not hang init for ever. */
	struct timeval tv = {ANSWER_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	unsigned char b = HEARTBEAT_BYTE;
	ssize_t n;
	do
		n = send(fd, &b, 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		die(ST_HEARTBEAT, "heartbeat: send: %s", n < 0 ? strerror(errno) : "nothing sent");
	do
		n = recv(fd, &b, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die(ST_HEARTBEAT, "heartbeat: no answer from the parent: %s",
		    errno == EAGAIN ? "timed out" : strerror(errno));
	if (n == 0)
		die(ST_HEARTBEAT, "heartbeat: the parent closed the connection without answering");
	if (b != HEARTBEAT_BYTE)
		die(ST_HEARTBEAT, "heartbeat: the parent answered 0x%02x, expected 0x%02x", b,
		    HEARTBEAT_BYTE);
	close(fd);
	say("heartbeat ok");
}
