/* Event logs: one line per event, "<RFC 3339 time> <enclave id> <event>".
 * An enclave process writes its events to <sockets dir>/<slot>.log, readable
 * after the enclave stopped; with `carve --verbose` (or CARVE_VERBOSE=1) they
 * also go to stderr. Nothing is printed by default. */
#ifndef CARVE_LOG_H
#define CARVE_LOG_H

#include <stdbool.h>

struct event_log {
	int fd; /* -1: no file */
	bool to_stderr;
	char who[160]; /* the enclave id */
};

void event_log_open(struct event_log *l, const char *path, const char *who);
void event_log_close(struct event_log *l);
void event_log(struct event_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* --verbose or CARVE_VERBOSE=1 */
bool log_verbose(void);

#endif
