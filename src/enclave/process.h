/* Private to the enclave part: the enclave process, one per enclave. It holds
 * the VM, answers the control socket, keeps the console, and exits when the
 * enclave stops (aws-nitro-enclaves-cli, the enclave process). */
#ifndef CARVE_ENCLAVE_PROCESS_H
#define CARVE_ENCLAVE_PROCESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "carve/eif.h"
#include "carve/enclave.h"
#include "carve/launch.h"
#include "carve/machine.h"
#include "enclave/registry.h"

struct enclave_spec {
	char eif_path[PATH_MAX];
	uint64_t eif_size;
	uint64_t mem_mib;
	int ncpus;
	int cpu_ids[ENCLAVE_MAX_CPUS];
	bool pinned; /* cpu_ids are dedicated CPUs to pin vCPUs to */
	bool debug;
	uid_t owner;
	bool console_group_set; /* members of console_gid may read the console too */
	gid_t console_gid;
	struct registry_entry reg; /* slot, name, CID */
	char id[160];
	struct eif_measurements m;
	char *metadata;      /* the image's metadata JSON, or NULL */
	uint64_t timeout_ms; /* heartbeat wait */
	enum machine_af_vsock af_vsock;
	struct vmm_protect protect[ENCLAVE_MAX_PROTECT]; /* sub-page write protection */
	int nprotect;
	enum vmm_subpage_policy subpage_policy;
	char memory_pool[PATH_MAX]; /* $CARVE_MEMORY_POOL (carve/mempool.h), or "" */
};

/* The enclave process's life: boot, heartbeat, serve, stop. Reports the boot
 * result as one JSON line on report_fd, then closes it. Never returns. */
void enclave_process_main(const struct enclave_spec *spec, int report_fd) __attribute__((noreturn));

/* The fields describe-enclaves prints for every enclave, in nitro-cli's
 * order, whoever knows them: the enclave process itself, or the registry's
 * record when the process does not answer. */
struct enclave_summary {
	const char *name;
	const char *id;
	pid_t pid;
	uint64_t cid;
	int vcpus;
	const int *cpu_ids; /* dedicated CPUs (pool mode) */
	int ncpu_ids;
	uint64_t mem_mib;
	bool debug;
};
struct json_object *enclave_summary_json(const struct enclave_summary *s, const char *state);

/* The answer to a "subpages" control request (protection.c); NULL for a
 * range the table refuses. */
struct control_request;
struct vmm;
struct json_object *enclave_subpages_json(struct vmm *vm, const struct control_request *req);

/* The JSON object describe-enclaves prints for this enclave. */
struct json_object *enclave_describe_json(const struct enclave_spec *spec, const char *state, bool metadata,
					  pid_t pid);

#endif
