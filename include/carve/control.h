/* The control protocol between the carve CLI and an enclave process, over the
 * enclave's Unix socket in the sockets directory.
 *
 * Each message is one line of JSON (at most CONTROL_MSG_MAX bytes with its
 * '\n'), so it can be spoken by hand with socat. Requests:
 *   {"cmd": "describe", "metadata": bool}   -> one JSON object (the enclave)
 *   {"cmd": "terminate"}                     -> {"EnclaveID", "EnclaveName", "Terminated": true}
 *   {"cmd": "console"}                       -> {"ok": true} then the raw console bytes,
 *                                               buffered ones first, until the enclave stops
 *   {"cmd": "subpages"[, "gfn": N, "npages": M]}
 *                                            -> the sub-page write protection: the runs of
 *                                               protected pages and the counts, or with a
 *                                               range (M 1..512) each page's 32-bit map, as
 *                                               KVM_SUBPAGES_GET_ACCESS would give it
 * Errors come back as {"error": "<text>", "code": <E-code>}. Only the
 * enclave's owner and root may terminate; everyone may describe and read the
 * console of a debug-mode enclave (the process checks SO_PEERCRED). */
#ifndef CARVE_CONTROL_H
#define CARVE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/error.h"

#define CONTROL_MSG_MAX 65536
/* A request is far shorter ({"cmd": "describe", "metadata": true}); the
 * enclave process reads at most this much of one. */
#define CONTROL_REQUEST_MAX 1024

enum control_cmd {
	CONTROL_DESCRIBE,
	CONTROL_TERMINATE,
	CONTROL_CONSOLE,
	CONTROL_SUBPAGES,
};

#define CONTROL_SUBPAGES_MAX_PAGES 512
#define CONTROL_SUBPAGES_MAX_GFN ((1ull << 36) - 1) /* 48-bit guest physical addresses */

struct control_request {
	enum control_cmd cmd;
	bool metadata;
	/* subpages: a range of frames (both given, or neither) */
	bool has_range;
	uint64_t gfn;
	uint32_t npages;
};

/* Parses one request line (without or with its '\n'). E17 with a message
 * naming what is wrong for anything else. */
int control_parse_request(const char *line, size_t len, struct control_request *req, struct carve_err *err);
/* Formats a request as one line with its '\n'; returns the length or -1. */
int control_format_request(const struct control_request *req, char *out, size_t cap);

#endif
