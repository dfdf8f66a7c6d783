/* Private to the enclave part: the CPU pool and reserved hugepages that
 * `carve allocator` sets up (aws-nitro-enclaves-cli's allocator), recorded in
 * <state dir>/pool.json. Without a pool carve runs in development mode. */
#ifndef CARVE_ENCLAVE_POOL_H
#define CARVE_ENCLAVE_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "carve/enclave.h"
#include "carve/error.h"

struct cpu_topology {
	int ncpus;
	int node[ENCLAVE_MAX_CPUS]; /* NUMA node, 0 when unknown */
	int core[ENCLAVE_MAX_CPUS]; /* a key shared by a core's threads */
	bool online[ENCLAVE_MAX_CPUS];
};

#define POOL_PATH_MAX 512

struct pool {
	int ncpus;
	int cpus[ENCLAVE_MAX_CPUS];
	int node;
	uint64_t memory_mib;
	/* A hugetlbfs the allocator mounted for the memory pool of pre-zeroed
	 * slabs (carve/mempool.h) enclaves use by default, or "". */
	char memory_pool[POOL_PATH_MAX];
	bool memory_pool_mounted; /* by the allocator: unmounted by it too */
};

/* /sys/devices/system, or $CARVE_TEST_SYSFS: a stand-in tree for tests only,
 * so a test can present a host with SMT siblings, NUMA nodes or hugepages
 * this machine lacks. */
const char *sysfs_system_root(void);
/* Reads <root>/cpu (root: `sysfs_root`, else sysfs_system_root()). A core
 * is a CPU's topology/thread_siblings_list, as the kernel groups them. */
int topology_read(const char *sysfs_root, struct cpu_topology *t, struct carve_err *err);
/* The online CPUs of cpu's core (itself included); returns the count. */
int topology_siblings(const struct cpu_topology *t, int cpu, int *out);
/* cpu_count full cores on one NUMA node, never CPU 0 or its siblings;
 * E22 when there are not enough, E20 when cpu_count splits a core. */
int pool_choose(const struct cpu_topology *t, int cpu_count, struct pool *p, struct carve_err *err);
/* A given list must be whole cores on one node without CPU 0's core (E20,
 * E21). */
int pool_check(const struct cpu_topology *t, const int *cpus, int n, struct pool *p, struct carve_err *err);

/* allocator.yaml: "memory_mib: N" and "cpu_count: N" or "cpu_pool: 2,3,6-9"
 * (lines before a "---" are skipped, as nitro's allocator does); carve's
 * own "memory_pool: /absolute/dir" asks for a memory pool there. */
struct allocator_config {
	uint64_t memory_mib;
	int cpu_count;
	int pool_cpus[ENCLAVE_MAX_CPUS];
	int npool_cpus;
	char memory_pool[POOL_PATH_MAX];
};
int allocator_config_parse(const char *text, struct allocator_config *c, struct carve_err *err);

/* <state dir>/pool.json */
int pool_save(const struct pool *p, struct carve_err *err);
/* 1 with *p when a pool is configured, 0 when not (development mode). */
int pool_load(struct pool *p, struct carve_err *err);
int pool_remove(struct carve_err *err);

/* 2 MiB hugepages of a node (hugepages_sys.c). */
int hugepages_read(int node, uint64_t *total, uint64_t *free_pages);
/* The same for pages of `kb` KiB (1048576: 1 GiB pages); -1 when the node has no such pool. */
int hugepages_read_kb(int node, unsigned kb, uint64_t *total, uint64_t *free_pages);
/* Sets the node's reservation to cover mib; all or nothing (E27). */
int hugepages_reserve(int node, uint64_t mib, uint64_t *granted_mib, struct carve_err *err);
int hugepages_release(int node, struct carve_err *err);

#endif
