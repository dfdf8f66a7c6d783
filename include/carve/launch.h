/* Starting, finding and talking to enclaves: what the CLI's run-enclave,
 * describe-enclaves, terminate-enclave and console call. */
#ifndef CARVE_LAUNCH_H
#define CARVE_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "carve/enclave.h"
#include "carve/error.h"
#include "carve/machine.h"

struct launch_args {
	const char *eif_path;
	uint64_t mem_mib;
	int cpu_count; /* when no cpu_ids */
	int cpu_ids[ENCLAVE_MAX_CPUS];
	int ncpu_ids;
	uint64_t cid; /* 0: choose */
	bool debug;
	bool console_group_set; /* console_gid's members may read the console too */
	gid_t console_gid;
	const char *name;               /* NULL: from the EIF file name */
	uint64_t timeout_ms;            /* 0: nitro-cli's formula */
	bool keep_stderr;               /* the enclave process logs to our stderr */
	enum machine_af_vsock af_vsock; /* the CID also the host kernel's (AUTO: where it can be) */
	/* Sub-page write protection (carve/vmm.h), at most ENCLAVE_MAX_PROTECT. */
	const struct vmm_protect *protect;
	int nprotect;
	enum vmm_subpage_policy subpage_policy;
};
#define ENCLAVE_MAX_PROTECT 64

struct launch_result {
	char name[128];
	char id[160];
	pid_t pid;
	uint64_t cid;
	int ncpus;
	bool pinned;
	int cpu_ids[ENCLAVE_MAX_CPUS];
	uint64_t mem_mib;
	bool debug;
	/* On failure: the start itself failed (the image, CPUs, memory, the
	 * boot), what nitro-cli's enclave process reports and its CLI then
	 * ends with "Failed connections: 1" and E39; false when the request
	 * was refused before (a name, a fork). */
	bool start_failed;
};

/* Checks, in nitro-cli's order (enclave_proc/commands.rs run_enclaves): the
 * image file (E19), the CPUs against the pool or host (E20, E21, E22), the
 * E26 memory rule, the image (CRC E35, signature E59), the memory available
 * (E27), the vCPUs (E29: none, or not whole cores in pool mode); then
 * reserves a name/CID/slot, starts the enclave process and waits for its
 * heartbeat. E36 with the reason when the enclave does not boot. */
int enclave_launch(const struct launch_args *a, struct launch_result *res, struct carve_err *err);

/* ---- running enclaves (client.c) ---- */

struct enclave_ref {
	uint64_t slot;
	char name[128];
	char id[160];
};

/* The host side of enclaves' vsock (docs/vsock.md): $CARVE_VSOCK_DIR, else
 * <sockets dir>/vsock. */
void enclave_vsock_dir(char *out, size_t len);

/* Every running enclave's describe JSON (one line each, malloc'ed strings). */
int enclave_describe_all(bool metadata, char ***lines, int *n, struct carve_err *err);
/* By id (E11, as nitro-cli, if no such enclave) or by name (E58 unless exactly one).
 * *matches (may be NULL) tells why it failed: how many running enclaves
 * matched, 0 for none, more than 1 for an ambiguous name; -1 when the
 * registry itself could not be read. */
int enclave_find(const char *id, const char *name, struct enclave_ref *out, int *matches,
		 struct carve_err *err);
/* Every running enclave. */
int enclave_find_all(struct enclave_ref **out, int *n, struct carve_err *err);
/* Terminates and waits until it has stopped. E18 if not permitted. */
int enclave_terminate(const struct enclave_ref *ref, struct carve_err *err);
/* An enclave with this id (or name) that stopped in the last 30 s: what a
 * terminate racing the one that stopped it finds. 0 and *out filled, or -1. */
int enclave_find_just_stopped(const char *id, const char *name, struct enclave_ref *out);
/* Connects to the console; returns a socket streaming the console bytes, or
 * -1 (E44 for a non-debug enclave). */
int enclave_console_open(const struct enclave_ref *ref, struct carve_err *err);
/* The enclave's sub-page write protection ("subpages" control request;
 * with npages > 0 the maps of [gfn, gfn + npages)): its JSON line in *json
 * (malloc'ed), or -1 (E39 when it does not answer, its E-code when it
 * refuses). */
int enclave_subpages(const struct enclave_ref *ref, uint64_t gfn, uint32_t npages, char **json,
		     struct carve_err *err);
/* The saved console of a stopped enclave, by id or name: a path to read, or
 * -1 when there is none (E11 by id, E58 by name, as enclave_find). */
int enclave_saved_console(const char *id, const char *name, char *path, size_t len, bool *debug,
			  struct carve_err *err);

#endif
