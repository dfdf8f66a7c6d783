/* Private to the enclave part: the sockets directory, where every running
 * enclave process has a control socket <slot>.sock, and every enclave being
 * started a reservation <slot>.starting holding its name and CID, so
 * concurrent run-enclave calls never pick the same name, CID or slot.
 * Choosing is done under an flock on <dir>/.lock. */
#ifndef CARVE_ENCLAVE_REGISTRY_H
#define CARVE_ENCLAVE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "carve/enclave.h"
#include "carve/error.h"

#define REGISTRY_NAME_MAX 128

struct registry_entry {
	uint64_t slot;
	char name[REGISTRY_NAME_MAX];
	char id[160];           /* running enclaves only */
	uint64_t cid;
	pid_t pid;
	bool starting;          /* a reservation, not yet a running enclave */
	int ncpus;              /* dedicated CPUs (pool mode), else 0 */
	int cpus[ENCLAVE_MAX_CPUS];
};

/* Picks what must not be shared (the pool's CPUs) while the registry is
 * locked, seeing every other enclave; fills e->cpus. */
typedef int (*registry_choose_fn)(void *ctx, const struct registry_entry *others, int n,
				  struct registry_entry *e, struct carve_err *err);

/* $CARVE_SOCKETS_DIR, or /run/carve. */
const char *registry_dir(void);
/* Creates the directory if needed (mode 0755: everyone may list and
 * connect; the sockets themselves decide who may do what). */
int registry_ensure_dir(struct carve_err *err);
/* <dir>/<slot hex>.<suffix> */
void registry_path(uint64_t slot, const char *suffix, char *out, size_t len);

int registry_lock(int *fd, struct carve_err *err);
void registry_unlock(int fd);

/* Every enclave with a live socket or a live reservation. Sockets nobody
 * answers and reservations whose process is gone are removed on the way
 * (stale state from a killed enclave process). *out is malloc'ed. */
int registry_list(struct registry_entry **out, int *n, struct carve_err *err);

/* Under the lock: pick a free slot, a unique name from `base`, and the CID
 * (cid 0: the lowest free from 16 up; else it must be unused, E03), then
 * write the reservation for `pid`. */
int registry_reserve(const char *base_name, uint64_t cid, pid_t pid, registry_choose_fn choose,
		     void *choose_ctx, struct registry_entry *out, struct carve_err *err);
/* The reservation now belongs to another process (the enclave process). */
int registry_reservation_update_pid(const struct registry_entry *e, pid_t pid, struct carve_err *err);
void registry_release(uint64_t slot);

/* The newest <slot>.exited record (a stopped enclave) with this name. */
int registry_find_exited(const char *name, uint64_t *slot);

/* Connects to <slot>.sock; -1 with errno on failure. */
int registry_connect(uint64_t slot);
struct control_request;
/* Connects and sends one request; the socket, or -1 with errno. */
int registry_send(uint64_t slot, const struct control_request *req);
/* Reads one line (with its '\n', NUL-terminated), waiting at most
 * timeout_ms (0: no limit); its length, or -1. */
int registry_read_line(int fd, char *buf, size_t cap, int timeout_ms);

#endif
