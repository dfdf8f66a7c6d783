/* Private to the enclave part: the sockets directory. Every enclave, from
 * its reservation until its process has released everything, has
 *   <slot>.record  its name, CID, CPUs, memory and pid (JSON), and
 *   <slot>.alive   an empty file its owner holds an exclusive flock on: the
 *                  launcher during the start, then the enclave process (the
 *                  descriptor is inherited), so the lock goes when the
 *                  process ends, however it ends (a zombie holds nothing);
 * and, once it can be talked to, <slot>.sock (its control socket). An
 * enclave is alive exactly while its .alive is locked: never judged by
 * whether its socket answers, which anyone can flood or a SIGSTOP can
 * stall. Choosing a slot, name and CID is done under an flock on
 * <dir>/.lock, so concurrent starts never pick the same. */
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
	char id[160]; /* running enclaves only */
	uint64_t cid;
	pid_t pid;
	bool starting; /* no control socket yet */
	int ncpus;     /* dedicated CPUs (pool mode), else 0 */
	int cpus[ENCLAVE_MAX_CPUS];
	int vcpus; /* vCPUs */
	uint64_t mem_mib;
	bool debug;
	int alive_fd; /* registry_reserve: the held lock on <slot>.alive */
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

/* Every enclave whose .alive is locked, from its record. The files of
 * enclaves whose lock is gone (a killed process) are removed on the way.
 * Nothing here talks to an enclave process. *out is malloc'ed. */
int registry_list(struct registry_entry **out, int *n, struct carve_err *err);

/* Under the lock: pick a free slot, a unique name from `base`, and the CID
 * (cid 0: the lowest free from 16 up; else it must be unused, E03), then
 * take <slot>.alive (out->alive_fd; whoever holds a copy keeps the enclave
 * alive) and write the record for `pid`. out's vcpus, mem_mib and debug are
 * recorded as given. */
int registry_reserve(const char *base_name, uint64_t cid, pid_t pid, registry_choose_fn choose,
		     void *choose_ctx, struct registry_entry *out, struct carve_err *err);
/* The record now names another process (the enclave process). */
int registry_reservation_update_pid(const struct registry_entry *e, pid_t pid, struct carve_err *err);
/* Removes the slot's record, lock file and socket; the caller then closes
 * its alive_fd (the lock goes with the last copy). */
void registry_release(uint64_t slot);
/* True while some process holds <slot>.alive. */
bool registry_slot_alive(uint64_t slot);
/* Waits until the slot's owner has gone (its lock released) or timeout_ms
 * passes; 0 when gone. */
int registry_wait_gone(uint64_t slot, int timeout_ms);

struct json_object;
/* A small JSON file of the registry (a record, an exit record), parsed;
 * NULL when it cannot be read or parsed. */
struct json_object *registry_read_json(const char *path);
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
