/* CPU topology, pool selection and the allocator configuration. */
#include "enclave/pool.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/pki.h"
#include "carve/util.h"

static int read_int_file(const char *path, int *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int ok = fscanf(f, "%d", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

const char *sysfs_system_root(void)
{
	const char *test = getenv("CARVE_TEST_SYSFS");
	return test && *test ? test : "/sys/devices/system";
}

/* A core's key: the lowest CPU of its thread_siblings_list ("0,4", "0-1"),
 * the kernel's own grouping of SMT threads (core_id repeats across dies and
 * packages). -1 when the file is missing or unreadable. */
static int core_key(const char *path)
{
	char text[1024];
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	text[strcspn(text, "\n")] = '\0';
	int cpus[ENCLAVE_MAX_CPUS];
	struct carve_err ignored = {0};
	int k = enclave_parse_cpu_values(text, cpus, ENCLAVE_MAX_CPUS, &ignored);
	if (k <= 0)
		return -1;
	int low = cpus[0];
	for (int i = 1; i < k; i++)
		low = cpus[i] < low ? cpus[i] : low;
	return low;
}

int topology_read(const char *sysfs_root, struct cpu_topology *t, struct carve_err *err)
{
	memset(t, 0, sizeof(*t));
	const char *root = sysfs_root ? sysfs_root : sysfs_system_root();
	char path[4096];
	for (int cpu = 0; cpu < ENCLAVE_MAX_CPUS; cpu++) {
		snprintf(path, sizeof(path), "%s/cpu/cpu%d", root, cpu);
		if (access(path, F_OK) != 0)
			continue;
		t->ncpus = cpu + 1;
		int online = 1;
		snprintf(path, sizeof(path), "%s/cpu/cpu%d/online", root, cpu);
		read_int_file(path, &online); /* cpu0 often has no "online" file */
		t->online[cpu] = online;
		snprintf(path, sizeof(path), "%s/cpu/cpu%d/topology/thread_siblings_list", root, cpu);
		int core = core_key(path);
		/* An offline CPU has no topology: a core of its own. */
		t->core[cpu] = core >= 0 ? core : cpu;
		t->node[cpu] = 0;
		for (int n = 0; n < 64; n++) {
			snprintf(path, sizeof(path), "%s/cpu/cpu%d/node%d", root, cpu, n);
			if (access(path, F_OK) == 0) {
				t->node[cpu] = n;
				break;
			}
		}
	}
	if (t->ncpus == 0)
		return carve_fail(err, E24_CPU_ERROR, "no CPUs under %s/cpu", root);
	return 0;
}

int topology_siblings(const struct cpu_topology *t, int cpu, int *out)
{
	int n = 0;
	for (int c = 0; c < t->ncpus; c++)
		if (t->online[c] && t->core[c] == t->core[cpu] && t->node[c] == t->node[cpu])
			out[n++] = c;
	return n;
}

int pool_choose(const struct cpu_topology *t, int cpu_count, struct pool *p, struct carve_err *err)
{
	memset(p, 0, sizeof(*p));
	if (cpu_count < 1)
		return carve_fail(err, E03_INVALID_ARGUMENT, "cpu_count must be at least 1");
	int max_nodes = 0;
	for (int c = 0; c < t->ncpus; c++)
		if (t->node[c] + 1 > max_nodes)
			max_nodes = t->node[c] + 1;
	int best = 0;
	for (int node = 0; node < max_nodes; node++) {
		struct pool cand = {.node = node};
		bool taken[ENCLAVE_MAX_CPUS] = {false};
		for (int c = 0; c < t->ncpus && cand.ncpus < cpu_count; c++) {
			if (!t->online[c] || t->node[c] != node || taken[c] || t->core[c] == t->core[0])
				continue;
			int sib[ENCLAVE_MAX_CPUS];
			int k = topology_siblings(t, c, sib);
			if (cand.ncpus + k > cpu_count)
				continue; /* only whole cores */
			for (int i = 0; i < k; i++) {
				taken[sib[i]] = true;
				cand.cpus[cand.ncpus++] = sib[i];
			}
		}
		if (cand.ncpus == cpu_count) {
			*p = cand;
			return 0;
		}
		if (cand.ncpus > best)
			best = cand.ncpus;
	}
	return carve_fail(err, E22_INSUFFICIENT_CPUS,
			  "%d CPUs were asked for the pool, but at most %d whole cores' CPUs on one NUMA "
			  "node are free of CPU 0's core",
			  cpu_count, best);
}

int pool_check(const struct cpu_topology *t, const int *cpus, int n, struct pool *p, struct carve_err *err)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < n; i++) {
		int c = cpus[i];
		if (c >= t->ncpus || !t->online[c])
			return carve_fail(err, E21_NO_SUCH_CPU_IN_POOL, "CPU %d is not online on this host",
					  c);
		if (t->core[c] == t->core[0])
			return carve_fail(err, E20_INVALID_CPU_CONFIGURATION,
					  "CPU %d is CPU 0 or its sibling; the host keeps that core", c);
		if (t->node[c] != t->node[cpus[0]])
			return carve_fail(err, E20_INVALID_CPU_CONFIGURATION,
					  "the pool spans NUMA nodes %d and %d; use one node",
					  t->node[cpus[0]], t->node[c]);
		int sib[ENCLAVE_MAX_CPUS];
		int k = topology_siblings(t, c, sib);
		for (int s = 0; s < k; s++) {
			bool listed = false;
			for (int j = 0; j < n; j++)
				listed |= cpus[j] == sib[s];
			if (!listed)
				return carve_fail(err, E20_INVALID_CPU_CONFIGURATION,
						  "CPU %d's core also has CPU %d; the pool takes whole cores",
						  c, sib[s]);
		}
		p->cpus[p->ncpus++] = c;
	}
	p->node = n ? t->node[cpus[0]] : 0;
	return 0;
}

int allocator_config_parse(const char *text, struct allocator_config *c, struct carve_err *err)
{
	memset(c, 0, sizeof(*c));
	const char *start = strstr(text, "\n---");
	if (!strncmp(text, "---", 3))
		start = text;
	const char *p = start ? strchr(start + 1, '\n') : text;
	p = p ? p : text;
	bool have_mem = false;
	char line[512];
	while (*p) {
		size_t n = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), p);
		p += n + (p[n] == '\n');
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *key = line, *val = colon + 1;
		while (isspace((unsigned char)*key))
			key++;
		for (char *e = key + strlen(key); e > key && isspace((unsigned char)e[-1]); *--e = '\0')
			;
		while (isspace((unsigned char)*val) || *val == '"' || *val == '\'')
			val++;
		for (char *e = val + strlen(val);
		     e > val && (isspace((unsigned char)e[-1]) || e[-1] == '"' || e[-1] == '\''); *--e = '\0')
			;
		if (!strcmp(key, "memory_mib")) {
			char *end;
			unsigned long long v = strtoull(val, &end, 10);
			if (*end || !*val || v == 0)
				return carve_fail(err, E03_INVALID_ARGUMENT,
						  "memory_mib '%s' is not a positive number", val);
			c->memory_mib = v;
			have_mem = true;
		} else if (!strcmp(key, "cpu_count")) {
			char *end;
			long v = strtol(val, &end, 10);
			if (*end || !*val || v < 1 || v > ENCLAVE_MAX_CPUS)
				return carve_fail(err, E03_INVALID_ARGUMENT,
						  "cpu_count '%s' is not a CPU count", val);
			c->cpu_count = (int)v;
		} else if (!strcmp(key, "cpu_pool")) {
			int k = enclave_parse_cpu_list(val, c->pool_cpus, ENCLAVE_MAX_CPUS, err);
			if (k < 0)
				return -1;
			c->npool_cpus = k;
		} else if (!strcmp(key, "memory_pool")) {
			if (val[0] != '/' || strlen(val) >= sizeof(c->memory_pool) || strstr(val, ","))
				return carve_fail(err, E03_INVALID_ARGUMENT,
						  "memory_pool '%s' is not an absolute directory path", val);
			snprintf(c->memory_pool, sizeof(c->memory_pool), "%s", val);
		} else {
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "unknown allocator setting '%s' (memory_mib, cpu_count, cpu_pool, "
					  "memory_pool)",
					  key);
		}
	}
	if (!have_mem)
		return carve_fail(err, E01_MISSING_ARGUMENT, "the allocator configuration needs memory_mib");
	if (!c->cpu_count == !c->npool_cpus)
		return carve_fail(err, c->cpu_count ? E02_CONFLICTING_ARGUMENT : E01_MISSING_ARGUMENT,
				  "the allocator configuration needs exactly one of cpu_count and cpu_pool");
	return 0;
}

static void pool_path(char *out, size_t len) { snprintf(out, len, "%s/pool.json", pki_state_dir()); }

int pool_save(const struct pool *p, struct carve_err *err)
{
	char path[4096];
	pool_path(path, sizeof(path));
	mkdir_p(pki_state_dir(), 0755);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "cpus", json_int_array(p->cpus, p->ncpus));
	json_object_object_add(o, "node", json_object_new_int(p->node));
	json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)p->memory_mib));
	if (p->memory_pool[0]) {
		json_object_object_add(o, "memory_pool", json_object_new_string(p->memory_pool));
		json_object_object_add(o, "memory_pool_mounted",
				       json_object_new_boolean(p->memory_pool_mounted));
	}
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	int rc = file_write_atomic(path, text, strlen(text), err);
	json_object_put(o);
	return rc;
}

int pool_load(struct pool *p, struct carve_err *err)
{
	memset(p, 0, sizeof(*p));
	char path[4096];
	pool_path(path, sizeof(path));
	if (access(path, F_OK) != 0)
		return 0;
	uint8_t *data;
	size_t len;
	if (file_read_all(path, 65536, &data, &len, E19_FILE_OPERATION, err) < 0)
		return -1;
	json_object *o = json_tokener_parse((const char *)data), *v;
	free(data);
	int rc = -1;
	if (!o || !json_object_object_get_ex(o, "cpus", &v) ||
	    (p->ncpus = json_int_array_read(v, p->cpus, ENCLAVE_MAX_CPUS)) < 0) {
		p->ncpus = 0;
		carve_fail(err, E17_SERDE, "'%s' is not a carve pool; run 'carve allocator' again", path);
		goto out;
	}
	if (json_object_object_get_ex(o, "node", &v))
		p->node = json_object_get_int(v);
	if (json_object_object_get_ex(o, "memory_mib", &v))
		p->memory_mib = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "memory_pool", &v) && json_object_is_type(v, json_type_string) &&
	    json_object_get_string(v)[0] == '/')
		snprintf(p->memory_pool, sizeof(p->memory_pool), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "memory_pool_mounted", &v))
		p->memory_pool_mounted = json_object_get_boolean(v);
	rc = 1;
out:
	json_object_put(o);
	return rc;
}

int pool_remove(struct carve_err *err)
{
	char path[4096];
	pool_path(path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Remove': %s",
				  path, strerror(errno));
	return 0;
}
