/* The host end of a vsock test, over carve's Unix sockets (docs/vsock.md):
 *   uds_peer listen PATH [BYTES]   accept one connection on PATH; without
 *        BYTES read a line and answer "pong: <line>"; with BYTES read that
 *        many bytes slowly (flow control) and print the count
 *   uds_peer serve PATH N          the line-and-pong of listen, for N connections
 *        one after another
 *   uds_peer connect PATH PORT MSG  say "CONNECT PORT", expect "OK ", send
 *        "MSG\n", print what comes back until end of stream
 *   uds_peer send PATH PORT BYTES  the same, but send BYTES bytes of a
 *        pattern, close, and print their count and checksum (as vsockprobe sink)
 *   uds_peer churn PATH N LINE      N times: connect, send LINE, read the first
 *        line of the answer, close; print how many answered (a control-socket
 *        client as fast as C makes one)
 * Every run ends within 60 s (alarm), or 60 s + 50 ms per connection for
 * serve and churn. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap && read(fd, buf + n, 1) == 1 && buf[n++] != '\n')
		;
	buf[n] = 0;
	return (int)n;
}

int main(int argc, char **argv)
{
	alarm(60);
	if (argc < 3)
		return 2;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[4096];
	if (!strcmp(argv[1], "churn") && argc > 4) {
		int n = atoi(argv[3]), answered = 0;
		alarm(60 + (unsigned)n / 20);
		for (int i = 0; i < n; i++) {
			int c = socket(AF_UNIX, SOCK_STREAM, 0);
			if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
				return perror("connect"), 1;
			dprintf(c, "%s\n", argv[4]);
			answered += line(c, buf, sizeof(buf)) > 0;
			close(c);
		}
		printf("answered %d of %d\n", answered, n);
		return answered == n ? 0 : 1;
	}
	if (!strcmp(argv[1], "listen") || !strcmp(argv[1], "serve")) {
		unlink(argv[2]);
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0)
			return perror("listen"), 1;
		printf("ready\n");
		fflush(stdout);
		if (!strcmp(argv[1], "serve")) {
			int n = argc > 3 ? atoi(argv[3]) : 1, done = 0;
			alarm(60 + (unsigned)n / 20);
			for (; done < n; done++) {
				int c = accept(s, NULL, NULL);
				if (c < 0)
					break;
				line(c, buf, sizeof(buf));
				dprintf(c, "pong: %s", buf);
				close(c);
			}
			printf("served %d\n", done);
			return done == n ? 0 : 1;
		}
		int c = accept(s, NULL, NULL);
		if (c < 0)
			return perror("accept"), 1;
		if (argc > 3) {
			long want = atol(argv[3]), got = 0;
			ssize_t r;
			while (got < want && (r = read(c, buf, 1024)) > 0) {
				got += r;
				usleep(200); /* slower than the enclave writes: credit must hold it back */
			}
			printf("received %ld\n", got);
			return got == want ? 0 : 1;
		}
		line(c, buf, sizeof(buf));
		printf("got: %s", buf);
		dprintf(c, "pong: %s", buf);
		close(c);
		return 0;
	}
	if (argc < 5 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return perror("connect"), 1;
	dprintf(s, "CONNECT %s\n", argv[3]);
	line(s, buf, sizeof(buf));
	if (strncmp(buf, "OK ", 3))
		return fprintf(stderr, "no OK: %s\n", buf), 1;
	if (!strcmp(argv[1], "send")) {
		long want = atol(argv[4]), sent = 0;
		uint32_t sum = 0;
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (char)(i * 7 + 3);
		while (sent < want) {
			size_t n = want - sent < (long)sizeof(buf) ? (size_t)(want - sent) : sizeof(buf);
			ssize_t w = write(s, buf, n);
			if (w <= 0)
				return perror("write"), 1;
			for (ssize_t i = 0; i < w; i++)
				sum = sum * 31 + (uint8_t)buf[i];
			sent += w;
		}
		printf("sent %ld sum %08x\n", sent, sum);
		return 0;
	}
	dprintf(s, "%s\n", argv[4]);
	ssize_t r;
	while ((r = read(s, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)r, stdout);
	return 0;
}
