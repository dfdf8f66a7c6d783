/* carve allocator [--config FILE] [--release]: nitro-enclaves-allocator's job.
 * Reserves hugepages on the pool's NUMA node and records the CPU pool (whole
 * cores, never CPU 0's). With a pool, enclaves get dedicated CPUs and
 * hugepage-backed memory; without one carve runs in development mode. */
#include <errno.h>
#include <grp.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "carve/launch.h"
#include "carve/mempool.h"
#include "carve/paths.h"
#include "carve/util.h"
#include "cli/cli.h"
#include "enclave/pool.h"

static const char *default_config(void)
{
	static const char *const paths[] = {"/etc/carve/allocator.yaml",
					    "/etc/nitro_enclaves/allocator.yaml"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return NULL;
}

/* The enclaves that may hold the pool's CPUs and hugepages. The pool is
 * one for both names (its record is in the state directory), but enclaves
 * started as carve are listed in /run/carve and those started as nitro-cli
 * in /run/nitro_enclaves: unless a variable names one sockets directory for
 * both, both are counted. */
static int count_running(int *total, struct carve_err *err)
{
	bool as_nitro = carve_invoked_as_nitro_cli();
	bool one_dir = getenv("CARVE_SOCKETS_DIR") || getenv("NITRO_CLI_SOCKETS_PATH");
	*total = 0;
	for (int pass = 0; pass < (one_dir ? 1 : 2); pass++) {
		if (pass == 1)
			carve_set_invoked_as(as_nitro ? "carve" : NITRO_CLI_NAME);
		struct enclave_ref *running;
		int n;
		int rc = enclave_find_all(&running, &n, err);
		carve_set_invoked_as(as_nitro ? NITRO_CLI_NAME : "carve");
		if (rc < 0)
			return -1;
		free(running);
		*total += n;
	}
	return 0;
}

/* The allocator's memory pool: its free slabs deleted (their huge pages go
 * back, so the reservation can change) and, if the allocator mounted it,
 * the hugetlbfs unmounted. No enclave runs (checked), so no slab is busy. */
static int memory_pool_remove(const char *dir, bool mounted, struct carve_err *err)
{
	int deleted;
	struct carve_err ignored = {0};
	if (mempool_drain(dir, &deleted, &ignored) < 0 || !mounted)
		return 0; /* not a pool (any more), or not ours to unmount */
	if (umount2(dir, 0) < 0 && errno != EINVAL)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Unmount': %s",
				  dir, strerror(errno));
	return 0;
}

/* A hugetlbfs of 2 MiB pages at dir for the memory pool (carve/mempool.h):
 * its slabs take the pages just reserved. Members of the carve group (the
 * Debian package's enclave users) may make slabs there; each slab is its
 * maker's alone (0600). *mounted: whether this mounted it (a hugetlbfs
 * there already is used as it is, and left mounted at release). */
static int memory_pool_mount(const char *dir, bool *mounted, struct carve_err *err)
{
	uint64_t page;
	struct carve_err probe = {0};
	*mounted = false;
	if (mempool_check(dir, &page, &probe) == 0 && page > 4096)
		return 0;
	if (mkdir_p(dir, 0755) < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Create': %s", dir,
				  strerror(errno));
	char opts[96];
	const struct group *g = getgrnam("carve");
	if (g)
		snprintf(opts, sizeof(opts), "pagesize=2M,mode=1770,gid=%u", (unsigned)g->gr_gid);
	else
		snprintf(opts, sizeof(opts), "pagesize=2M,mode=0700");
	if (mount("none", dir, "hugetlbfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		return carve_fail(err, E19_FILE_OPERATION,
				  "File: '%s', failing operation: 'Mount hugetlbfs for the memory pool': %s",
				  dir, strerror(errno));
	*mounted = true;
	return 0;
}

int cmd_allocator(int argc, char **argv, struct carve_err *err)
{
	const char *config = NULL;
	bool release = false;
	const struct cli_arg args[] = {
		{"config", ARG_STRING, false, &config,
		 "allocator.yaml (memory_mib, cpu_count or cpu_pool, optionally memory_pool); default "
		 "/etc/carve/allocator.yaml, then /etc/nitro_enclaves/allocator.yaml"},
		{"release", ARG_FLAG, false, &release, "give the pool's CPUs and hugepages back to the host"},
		{0},
	};
	int parsed = cli_parse("allocator", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	int nrunning;
	if (count_running(&nrunning, err) < 0)
		return -1;
	if (nrunning > 0)
		return carve_fail(err, E38_COMMAND_NOT_EXECUTED,
				  "%d enclave(s) are running; terminate them before changing the pool",
				  nrunning);
	struct pool old;
	int have_old = pool_load(&old, err);
	if (have_old < 0)
		return -1;
	/* The old memory pool's slabs hold reserved pages: gone before the
	 * reservation changes (a new pool is mounted below if asked for), and
	 * only once the new configuration is known to be good. */
	bool drop_old_memory_pool = have_old && old.memory_pool[0];
	if (release) {
		if (drop_old_memory_pool &&
		    memory_pool_remove(old.memory_pool, old.memory_pool_mounted, err) < 0)
			return -1;
		if (have_old && hugepages_release(old.node, err) < 0)
			return -1;
		if (pool_remove(err) < 0)
			return -1;
		fprintf(stderr, "The enclave pool is released; carve runs in development mode.\n");
		return 0;
	}
	if (!config && !(config = default_config()))
		return carve_fail(err, E01_MISSING_ARGUMENT,
				  "no --config given and no allocator.yaml in "
				  "/etc/carve or /etc/nitro_enclaves");
	uint8_t *text;
	size_t len;
	if (file_read_all(config, 65536, &text, &len, E03_INVALID_ARGUMENT, err) < 0)
		return -1;
	struct allocator_config c;
	int rc = allocator_config_parse((const char *)text, &c, err);
	free(text);
	if (rc < 0)
		return -1;
	struct cpu_topology topo;
	struct pool p;
	if (topology_read(NULL, &topo, err) < 0)
		return -1;
	if ((c.cpu_count ? pool_choose(&topo, c.cpu_count, &p, err)
			 : pool_check(&topo, c.pool_cpus, c.npool_cpus, &p, err)) < 0)
		return -1;
	if (drop_old_memory_pool && memory_pool_remove(old.memory_pool, old.memory_pool_mounted, err) < 0)
		return -1;
	if (have_old && old.node != p.node && hugepages_release(old.node, err) < 0)
		return -1;
	uint64_t granted;
	if (hugepages_reserve(p.node, c.memory_mib, &granted, err) < 0)
		return -1;
	p.memory_mib = granted;
	p.memory_pool_mounted = false;
	if (c.memory_pool[0] && memory_pool_mount(c.memory_pool, &p.memory_pool_mounted, err) < 0)
		return -1;
	snprintf(p.memory_pool, sizeof(p.memory_pool), "%s", c.memory_pool);
	if (pool_save(&p, err) < 0)
		return -1;
	json_object *o = json_object_new_object(), *cpus = json_object_new_array();
	for (int i = 0; i < p.ncpus; i++)
		json_object_array_add(cpus, json_object_new_int(p.cpus[i]));
	json_object_object_add(o, "CPUIDs", cpus);
	json_object_object_add(o, "NUMANode", json_object_new_int(p.node));
	json_object_object_add(o, "MemoryMiB", json_object_new_int64((int64_t)granted));
	json_object_object_add(o, "HugePages2MiB", json_object_new_int64((int64_t)(granted / 2)));
	if (p.memory_pool[0])
		json_object_object_add(o, "MemoryPool", json_object_new_string(p.memory_pool));
	cli_print_json(o);
	json_object_put(o);
	return 0;
}
