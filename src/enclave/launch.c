/* run-enclave's side of starting an enclave: check everything that can be
 * checked before any resources are taken, reserve a name, CID and slot, then
 * start the enclave process (detached, in its own session) and wait for its
 * one-line report: booted (heartbeat received) or why not. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "carve/eif.h"
#include "carve/enclave.h"
#include "carve/launch.h"
#include "carve/log.h"
#include "carve/mempool.h"
#include "carve/util.h"
#include "enclave/pool.h"
#include "enclave/process.h"
#include "enclave/registry.h"

static int online_cpu(int cpu)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/cpu/cpu%d", sysfs_system_root(), cpu);
	return access(path, F_OK) == 0;
}

/* CRC and signature (with the certificate's validity now) must hold. */
static int check_image(struct enclave_spec *spec, struct carve_err *err)
{
	struct eif_image img;
	struct eif_report rep;
	if (eif_open(&img, spec->eif_path, err) < 0)
		return -1;
	int rc = -1;
	if (eif_verify(&img, time(NULL), false, &rep, err) < 0)
		goto out_close;
	if (!rep.crc_ok) {
		carve_fail(err, E35_EIF_PARSING, "'%s' fails its CRC check; the image is damaged",
			   spec->eif_path);
		goto out;
	}
	if (rep.is_signed && (!rep.signature_ok || !rep.cert_valid_now)) {
		carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "'%s': %s", spec->eif_path, rep.signature_problem);
		goto out;
	}
	if (img.flags & EIF_FLAG_ARCH_ARM64) {
		carve_fail(err, E35_EIF_PARSING, "'%s' is an aarch64 image; carve runs x86-64 enclaves",
			   spec->eif_path);
		goto out;
	}
	spec->eif_size = img.file_size;
	spec->m = rep.m;
	if (rep.metadata)
		spec->metadata = strdup(rep.metadata);
	rc = 0;
out:
	eif_report_free(&rep);
out_close:
	eif_close(&img);
	return rc;
}

static int read_report(int fd, pid_t *pid, struct carve_err *err)
{
	char line[4096];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, line + n, sizeof(line) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) == sizeof(line) - 1)
			break;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	json_object *o = json_tokener_parse(line), *v;
	int rc;
	if (!o) {
		rc = carve_fail(err, E36_ENCLAVE_BOOT_FAILURE,
				"the enclave process exited without reporting");
	} else if (json_object_object_get_ex(o, "ok", &v)) {
		json_object_object_get_ex(o, "pid", &v);
		*pid = (pid_t)json_object_get_int(v);
		rc = 0;
	} else {
		json_object *code;
		json_object_object_get_ex(o, "error", &v);
		json_object_object_get_ex(o, "code", &code);
		rc = carve_fail(err, code ? json_object_get_int(code) : E36_ENCLAVE_BOOT_FAILURE, "%s",
				v ? json_object_get_string(v) : "unknown failure");
	}
	json_object_put(o);
	return rc;
}

struct cpu_choice {
	const struct launch_args *a;
	const struct pool *pool;
	const struct cpu_topology *topo;
};

static bool in_list(const int *l, int n, int c)
{
	for (int i = 0; i < n; i++)
		if (l[i] == c)
			return true;
	return false;
}

/* Pool mode, before anything is taken: the request against the whole pool,
 * as nitro-cli's CpuInfo::get_cpu_config (enclave_proc/cpu_info.rs:53-121). */
static int check_against_pool(const struct launch_args *a, const struct pool *pool, struct carve_err *err)
{
	for (int i = 0; i < a->ncpu_ids; i++)
		if (!in_list(pool->cpus, pool->ncpus, a->cpu_ids[i]))
			return carve_fail(err, E21_NO_SUCH_CPU_IN_POOL,
					  "The CPU with ID %d is not available in the NE CPU pool (the pool "
					  "is what 'carve allocator' set up)",
					  a->cpu_ids[i]);
	if (!a->ncpu_ids && a->cpu_count > pool->ncpus)
		return carve_fail(err, E22_INSUFFICIENT_CPUS,
				  "Insufficient CPUs available (requested %d, but maximum is %d)",
				  a->cpu_count, pool->ncpus);
	return 0;
}

/* nitro-cli's driver takes whole cores on x86 (NE_ERR_FULL_CORES_NOT_USED at
 * start, IoctlFailure): every chosen CPU's SMT siblings are chosen too. */
static int check_full_cores(const struct cpu_topology *t, const int *cpus, int n, struct carve_err *err)
{
	for (int i = 0; i < n; i++) {
		int sib[ENCLAVE_MAX_CPUS];
		int k = cpus[i] < t->ncpus ? topology_siblings(t, cpus[i], sib) : 0;
		for (int s = 0; s < k; s++)
			if (!in_list(cpus, n, sib[s]))
				return carve_fail(
					err, E29_IOCTL_FAILURE,
					"The enclave cannot start because full CPU cores have not been "
					"set: CPU %d shares its core with CPU %d (SMT siblings, "
					"thread_siblings_list); give whole cores, an even --cpu-count "
					"on a host with 2 threads per core",
					cpus[i], sib[s]);
	}
	return 0;
}

/* Pool mode: dedicated CPUs from the pool that no other enclave holds, whole
 * cores. Runs under the registry lock, so concurrent starts never share a
 * CPU. The codes are what nitro-cli's driver answers (IoctlFailure, E29). */
static int choose_pool_cpus(void *ctx, const struct registry_entry *others, int n, struct registry_entry *e,
			    struct carve_err *err)
{
	const struct cpu_choice *ch = ctx;
	int used[ENCLAVE_MAX_CPUS], nused = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < others[i].ncpus && nused < ENCLAVE_MAX_CPUS; j++)
			used[nused++] = others[i].cpus[j];
	e->ncpus = 0;
	if (ch->a->ncpu_ids) {
		for (int i = 0; i < ch->a->ncpu_ids; i++) {
			int c = ch->a->cpu_ids[i];
			if (in_list(used, nused, c))
				return carve_fail(
					err, E29_IOCTL_FAILURE,
					"The provided vCPU is already used: CPU %d runs another enclave", c);
			e->cpus[e->ncpus++] = c;
		}
		return check_full_cores(ch->topo, e->cpus, e->ncpus, err);
	}
	/* As the driver picks for a count: a free CPU, then its siblings. */
	for (int i = 0; i < ch->pool->ncpus && e->ncpus < ch->a->cpu_count; i++) {
		int c = ch->pool->cpus[i];
		if (in_list(used, nused, c) || in_list(e->cpus, e->ncpus, c))
			continue;
		int sib[ENCLAVE_MAX_CPUS];
		int k = c < ch->topo->ncpus ? topology_siblings(ch->topo, c, sib) : 0;
		e->cpus[e->ncpus++] = c;
		for (int s = 0; s < k && e->ncpus < ch->a->cpu_count; s++)
			if (sib[s] != c && in_list(ch->pool->cpus, ch->pool->ncpus, sib[s]) &&
			    !in_list(used, nused, sib[s]) && !in_list(e->cpus, e->ncpus, sib[s]))
				e->cpus[e->ncpus++] = sib[s];
	}
	if (e->ncpus < ch->a->cpu_count)
		return carve_fail(err, E29_IOCTL_FAILURE,
				  "The enclave cannot be created because no CPUs are available in the pool: "
				  "%d CPUs requested but only %d of the pool's %d are free",
				  ch->a->cpu_count, e->ncpus, ch->pool->ncpus);
	return check_full_cores(ch->topo, e->cpus, e->ncpus, err);
}

/* Pool mode: the memory must come from the node's reserved pages, 1 GiB
 * ones where it has them free and 2 MiB ones, exactly as the VMM maps them
 * (memory.c: as many 1 GiB pages as whole GiB, 2 MiB pages for the rest),
 * so the plan must cover the request without rounding up. */
static int check_pool_memory(const struct pool *pool, uint64_t mib, struct carve_err *err)
{
	uint64_t total, free_2m, free_1g;
	if (hugepages_read(pool->node, &total, &free_2m) < 0)
		free_2m = 0;
	if (hugepages_read_kb(pool->node, 1048576, &total, &free_1g) < 0)
		free_1g = 0;
	struct hugepage_pool pools[] = {{2ull << 20, free_2m}, {1ull << 30, free_1g}};
	struct hugepage_plan plan;
	if (hugepage_plan(mib << 20, pools, 2, &plan, err) < 0)
		return -1;
	if (plan.total != mib << 20)
		return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
				  "%llu MiB cannot be covered exactly by the free hugepages (%llu of 1 GiB, "
				  "%llu of 2 MiB); raise memory_mib in the allocator configuration and run "
				  "'carve allocator', or ask for a size they cover",
				  (unsigned long long)mib, (unsigned long long)free_1g,
				  (unsigned long long)free_2m);
	return 0;
}

/* Guest memory from a pool of pre-zeroed slabs (carve/mempool.h):
 * $CARVE_MEMORY_POOL's, refused here (E03, before anything of the enclave
 * exists) when it cannot be one; else in pool mode the allocator's
 * (memory_pool in allocator.yaml), used only while it can be one. */
static int memory_pool_choose(struct enclave_spec *spec, const struct pool *pool, struct carve_err *err)
{
	const char *dir = getenv("CARVE_MEMORY_POOL");
	if ((!dir || !*dir) && pool && pool->memory_pool[0]) {
		struct carve_err ignored = {0};
		if (mempool_check(pool->memory_pool, NULL, &ignored) == 0)
			snprintf(spec->memory_pool, sizeof(spec->memory_pool), "%s", pool->memory_pool);
		return 0;
	}
	if (!dir || !*dir)
		return 0;
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return carve_fail(err, E03_INVALID_ARGUMENT, "CARVE_MEMORY_POOL=%s: %s", dir,
				  strerror(errno));
	if (mempool_check(real, NULL, err) < 0)
		return carve_err_context(err, "CARVE_MEMORY_POOL: ");
	snprintf(spec->memory_pool, sizeof(spec->memory_pool), "%s", real);
	return 0;
}

/* A free slab of the enclave's size in its memory pool: its memory is there,
 * allocated and zeroed (in pool mode, from the reserved pages the slab took:
 * they are no longer counted free). */
static bool pool_slab_free(const struct enclave_spec *spec)
{
	struct mempool_census c;
	struct carve_err ignored = {0};
	return spec->memory_pool[0] &&
		mempool_census(spec->memory_pool, spec->mem_mib << 20, &c, &ignored) == 0 && c.free > 0;
}

/* Pool mode's E27 check, where the free reserved pages are short because
 * free slabs of other sizes in the enclave's memory pool hold them: those
 * slabs are deleted (a start outweighs a slab kept for later) and the
 * check made again. */
static int check_pool_memory_or_drain(const struct pool *pool, const struct enclave_spec *spec,
				      struct carve_err *err)
{
	if (check_pool_memory(pool, spec->mem_mib, err) == 0)
		return 0;
	int deleted = 0;
	struct carve_err ignored = {0};
	if (!spec->memory_pool[0] || mempool_drain(spec->memory_pool, &deleted, &ignored) < 0 || !deleted)
		return -1;
	*err = (struct carve_err){0};
	return check_pool_memory(pool, spec->mem_mib, err);
}

/* MemAvailable of /proc/meminfo in MiB; UINT64_MAX when it cannot be read
 * (the check is then left to the kernel). */
static uint64_t host_available_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kib = 0;
	bool found = false;
	char line[128];
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "MemAvailable: %llu kB", &kib) == 1;
	if (f)
		fclose(f);
	return found ? (uint64_t)kib >> 10 : UINT64_MAX;
}

int enclave_launch(const struct launch_args *a, struct launch_result *res, struct carve_err *err)
{
	res->start_failed = false;
	/* Refused in nitro-cli's CLI, before its enclave process starts. */
	if (a->name && enclave_check_name(a->name, err) < 0)
		return -1;
	struct enclave_spec *spec = calloc(1, sizeof(*spec));
	if (!spec)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	int rc = -1;
	/* From here on, nitro-cli's enclave process (run_enclaves), in its
	 * order: the first failure is the one it reports. */
	bool starting = true;
	struct stat st;
	if (!realpath(a->eif_path, spec->eif_path) || stat(spec->eif_path, &st) < 0) {
		carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Open': %s", a->eif_path,
			   strerror(errno));
		goto out;
	}
	if (a->ncpu_ids > 0 && enclave_check_cpu_duplicates(a->cpu_ids, a->ncpu_ids, err) < 0)
		goto out;
	struct pool pool;
	int pool_mode = pool_load(&pool, err);
	if (pool_mode < 0)
		goto out;
	if (pool_mode && check_against_pool(a, &pool, err) < 0)
		goto out;
	if (!pool_mode) {
		for (int i = 0; i < a->ncpu_ids; i++)
			if (!online_cpu(a->cpu_ids[i])) {
				carve_fail(err, E21_NO_SUCH_CPU_IN_POOL, "CPU %d does not exist on this host",
					   a->cpu_ids[i]);
				goto out;
			}
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		if (!a->ncpu_ids && online > 0 && a->cpu_count > online) {
			carve_fail(
				err, E22_INSUFFICIENT_CPUS,
				"Insufficient CPUs available (requested %d, but maximum is %ld, the host's "
				"CPUs)",
				a->cpu_count, online);
			goto out;
		}
	}
	/* carve's own bound (its per-enclave tables), whatever the host has. */
	if (!a->ncpu_ids && (a->cpu_count < 0 || a->cpu_count > ENCLAVE_MAX_CPUS)) {
		carve_fail(err, E22_INSUFFICIENT_CPUS,
			   "Insufficient CPUs available (requested %d, but maximum is %d, the most carve "
			   "gives an enclave)",
			   a->cpu_count, ENCLAVE_MAX_CPUS);
		goto out;
	}
	/* nitro-cli weighs the request against the file's size before reading
	 * it (resource_manager.rs:476-503). */
	if (enclave_check_memory(a->mem_mib, (uint64_t)st.st_size, err) < 0 || check_image(spec, err) < 0)
		goto out;
	/* From here on the enclave's size is what it is granted: the VM, the
	 * pool check, the boot timeout, describe-enclaves and run-enclave's
	 * MemoryMiB, as nitro-cli uses allocated_memory_mib for all of them. */
	spec->mem_mib = enclave_granted_mib(a->mem_mib);
	spec->debug = a->debug;
	spec->owner = getuid();
	spec->console_group_set = a->console_group_set;
	spec->console_gid = a->console_gid;
	spec->af_vsock = a->af_vsock;
	if (a->nprotect < 0 || a->nprotect > ENCLAVE_MAX_PROTECT) {
		carve_fail(err, E03_INVALID_ARGUMENT, "at most %d --protect ranges (%d given)",
			   ENCLAVE_MAX_PROTECT, a->nprotect);
		goto out;
	}
	if (a->nprotect)
		memcpy(spec->protect, a->protect, sizeof(*a->protect) * (size_t)a->nprotect);
	spec->nprotect = a->nprotect;
	spec->subpage_policy = a->subpage_policy;
	if (memory_pool_choose(spec, pool_mode ? &pool : NULL, err) < 0)
		goto out;
	if (a->ncpu_ids > 0) {
		memcpy(spec->cpu_ids, a->cpu_ids, sizeof(int) * (size_t)a->ncpu_ids);
		spec->ncpus = a->ncpu_ids;
		spec->pinned = true;
	} else {
		spec->ncpus = a->cpu_count;
	}
	spec->timeout_ms = a->timeout_ms ? a->timeout_ms
					 : enclave_boot_timeout_ms(spec->eif_size, spec->mem_mib << 20);

	char base[REGISTRY_NAME_MAX];
	if (a->name)
		snprintf(base, sizeof(base), "%s", a->name);
	else
		enclave_default_name(spec->eif_path, base, sizeof(base));
	/* nitro-cli's enclave process says so as it starts on the memory
	 * (resource_manager.rs:624-626): not for a request refused above. */
	fprintf(stderr, "Start allocating memory...\n");
	if (pool_mode && !pool_slab_free(spec) && check_pool_memory_or_drain(&pool, spec, err) < 0)
		goto out;
	if (!pool_mode && enclave_check_host_memory(spec->mem_mib, host_available_mib(), err) < 0)
		goto out;
	/* Then its vCPUs; none is the driver's NE_ERR_NO_VCPUS_ADDED at start
	 * (resource_manager.rs:692-712, :826-828), nitro-cli's own integration
	 * test of --cpu-count 0 (tests/integration/test_commands.py:100-106). */
	if (spec->ncpus == 0) {
		carve_fail(err, E29_IOCTL_FAILURE,
			   "The enclave cannot start because no vCPUs have been added (--cpu-count 0)");
		goto out;
	}
	struct cpu_topology topo;
	if (pool_mode && topology_read(NULL, &topo, err) < 0)
		goto out;
	struct cpu_choice choice = {.a = a, .pool = &pool, .topo = &topo};
	spec->reg.vcpus = spec->ncpus;
	spec->reg.mem_mib = spec->mem_mib;
	spec->reg.debug = spec->debug;
	if (registry_reserve(base, a->cid, getpid(), pool_mode ? choose_pool_cpus : NULL, &choice, &spec->reg,
			     err) < 0)
		goto out;
	if (pool_mode) {
		spec->ncpus = spec->reg.ncpus;
		memcpy(spec->cpu_ids, spec->reg.cpus, sizeof(int) * (size_t)spec->reg.ncpus);
		spec->pinned = true;
	} else {
		fprintf(stderr,
			"No enclave pool is configured ('carve allocator'): development mode, "
			"vCPUs share the host's CPUs and memory is not reserved.\n");
	}
	enclave_format_id(spec->reg.slot, spec->id, sizeof(spec->id));

	/* Making the process is nitro-cli's CLI's part (enclave_proc_spawn). */
	starting = false;
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		registry_release(spec->reg.slot);
		close(spec->reg.alive_fd);
		carve_fail(err, E04_SOCKETPAIR_CREATION, "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		registry_release(spec->reg.slot);
		close(spec->reg.alive_fd);
		carve_fail(err, E05_PROCESS_SPAWN, "fork: %s", strerror(errno));
		goto out;
	}
	if (child == 0) {
		/* Detach: a new session, then a grandchild that init adopts, so
		 * the enclave outlives the CLI and has no controlling terminal. */
		close(pipefd[0]);
		setsid();
		pid_t gc = fork();
		if (gc != 0)
			_exit(gc < 0 ? 1 : 0);
		struct carve_err e2 = {0};
		registry_reservation_update_pid(&spec->reg, getpid(), &e2);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			/* With --verbose the events also reach the terminal. */
			if (!a->keep_stderr && !log_verbose())
				dup2(null, STDERR_FILENO);
		}
		if (chdir("/") < 0)
			_exit(1);
		enclave_process_main(spec, pipefd[1]);
	}
	close(pipefd[1]);
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	pid_t pid = 0;
	starting = true;
	rc = read_report(pipefd[0], &pid, err);
	close(pipefd[0]);
	/* The enclave process holds its own copy of the lock from here on. */
	close(spec->reg.alive_fd);
	spec->reg.alive_fd = -1;
	if (rc < 0)
		goto out;
	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", spec->reg.name);
	snprintf(res->id, sizeof(res->id), "%s", spec->id);
	res->pid = pid;
	res->cid = spec->reg.cid;
	res->ncpus = spec->ncpus;
	res->pinned = spec->pinned;
	memcpy(res->cpu_ids, spec->cpu_ids, sizeof(res->cpu_ids));
	res->mem_mib = spec->mem_mib;
	res->debug = spec->debug;
out:
	res->start_failed = rc < 0 && starting;
	free(spec->metadata);
	free(spec);
	return rc;
}
