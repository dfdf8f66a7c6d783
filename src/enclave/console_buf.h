/* Private to the enclave part: the console ring buffer of an enclave
 * process. The serial output is appended as it arrives; any number of readers
 * each keep a position and catch up at their own pace. Memory is bounded: a
 * reader that falls more than a buffer behind skips ahead and is told how
 * much it missed. One thread (the enclave process's event loop) uses it. */
#ifndef CARVE_ENCLAVE_CONSOLE_BUF_H
#define CARVE_ENCLAVE_CONSOLE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct console_buf {
	uint8_t *data;
	size_t cap;
	uint64_t written; /* bytes appended since the start */
};

int console_buf_init(struct console_buf *cb, size_t cap);
void console_buf_free(struct console_buf *cb);
void console_buf_append(struct console_buf *cb, const void *data, size_t len);
/* The oldest position still held. */
uint64_t console_buf_start(const struct console_buf *cb);
/* Copies up to max bytes from *pos and advances it. If *pos fell out of the
 * buffer it moves to the oldest byte held and *dropped says how many bytes
 * were skipped. Returns the count copied. */
size_t console_buf_read(const struct console_buf *cb, uint64_t *pos, void *out, size_t max,
			uint64_t *dropped);

#endif
