/* vsock-proxy's data path (include/carve/vsock_proxy.h): one AF_VSOCK
 * listener, and per accepted connection a thread that connects to the
 * remote over TCP and copies both ways until either side ends, as
 * vsock_proxy's worker does. At most `workers` connections are served at
 * once; the next ones wait for a slot, as they wait for a free thread in
 * vsock_proxy's pool. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "carve/vsock_proxy.h"

#define COPY_CHUNK 8192 /* vsock_proxy's BUFF_SIZE */

struct job {
	int client;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	sem_t *slots;
};

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* One chunk from src to dst: false when src ended or either failed. */
static bool transfer(int src, int dst)
{
	char buf[COPY_CHUNK];
	ssize_t n;
	do
		n = read(src, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	return n > 0 && write_all(dst, buf, (size_t)n);
}

static void *serve_connection(void *arg)
{
	struct job *j = arg;
	while (sem_wait(j->slots) < 0 && errno == EINTR) {
	}
	int server = socket(j->remote.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (server < 0 || connect(server, (struct sockaddr *)&j->remote, j->remote_len) < 0) {
		fprintf(stderr, "vsock-proxy: could not connect to the remote: %s\n", strerror(errno));
	} else {
		struct pollfd p[2] = {{.fd = j->client, .events = POLLIN}, {.fd = server, .events = POLLIN}};
		for (bool open = true; open;) {
			if (poll(p, 2, -1) < 0) {
				open = errno == EINTR;
				continue;
			}
			if (p[0].revents)
				open = transfer(j->client, server);
			if (open && p[1].revents)
				open = transfer(server, j->client);
		}
	}
	if (server >= 0)
		close(server);
	close(j->client);
	sem_post(j->slots);
	free(j);
	return NULL;
}

int proxy_serve(const struct proxy_config *c, const char **why)
{
	static sem_t slots;
	sem_init(&slots, 0, (unsigned)c->workers);
	/* vsock_proxy binds the parent's CID 3; on a carve host the enclave's
	 * CID 3 arrives as the host's own CID, so any local CID. */
	int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = c->local_port, .svm_cid = VMADDR_CID_ANY};
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 64) < 0) {
		*why = "Could not listen for connections: Could not bind to the vsock port";
		if (l >= 0)
			close(l);
		return -1;
	}
	for (;;) {
		int client = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (client < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			*why = "Could not accept connection: Could not accept connection";
			close(l);
			return -1;
		}
		struct job *j = calloc(1, sizeof(*j));
		const char *rwhy = NULL;
		/* Resolved for each connection (vsock_proxy resolves again when
		 * the DNS TTL ran out; getaddrinfo has no TTL to give). */
		if (!j || proxy_resolve(c->remote_host, c->ip, &j->remote, &j->remote_len, &rwhy) < 0) {
			free(j);
			close(client);
			*why = rwhy ? rwhy : "out of memory";
			close(l);
			return -1;
		}
		/* getaddrinfo was asked for the host only: the port is ours. */
		if (j->remote.ss_family == AF_INET)
			((struct sockaddr_in *)&j->remote)->sin_port = htons(c->remote_port);
		else
			((struct sockaddr_in6 *)&j->remote)->sin6_port = htons(c->remote_port);
		j->client = client;
		j->slots = &slots;
		pthread_t th;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, serve_connection, j) != 0) {
			close(client);
			free(j);
		}
		pthread_attr_destroy(&attr);
	}
}
