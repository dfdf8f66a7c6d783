/* carve run-enclave: nitro-cli's flags, JSON and messages. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/launch.h"
#include "carve/util.h"
#include "cli/cli.h"

/* --config FILE: nitro-cli's RunEnclavesArgs keys, snake_case. */
static int load_config(const char *path, struct launch_args *a, const char **eif, bool *attach,
		       json_object **keep, struct carve_err *err)
{
	uint8_t *data;
	size_t len;
	if (file_read_all(path, 65536, &data, &len, E03_INVALID_ARGUMENT, err) < 0)
		return -1;
	json_object *o = json_tokener_parse((const char *)data), *v;
	free(data);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return carve_fail(err, E17_SERDE, "'%s' is not a JSON object", path);
	}
	*keep = o;
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		static const char *const known[] = {"eif_path",       "memory_mib",  "cpu_count",
						    "cpu_ids",        "enclave_cid", "debug_mode",
						    "attach_console", "enclave_name"};
		bool ok = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
			ok |= !strcmp(key, known[i]);
		if (!ok)
			return carve_fail(err, E17_SERDE, "'%s': unknown key \"%s\"", path, key);
	}
	if (!json_object_object_get_ex(o, "eif_path", &v) || !json_object_is_type(v, json_type_string))
		return carve_fail(err, E01_MISSING_ARGUMENT, "'%s' needs \"eif_path\"", path);
	*eif = json_object_get_string(v);
	if (!json_object_object_get_ex(o, "memory_mib", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) <= 0)
		return carve_fail(err, E01_MISSING_ARGUMENT,
				  "'%s' needs \"memory_mib\" as a positive integer", path);
	/* The same rule as --memory: bytes must fit 64 bits (2^44 + 64 MiB wrapped to 64). */
	char mib_text[32];
	snprintf(mib_text, sizeof(mib_text), "%lld", (long long)json_object_get_int64(v));
	if (enclave_parse_memory(mib_text, &a->mem_mib, err) < 0)
		return -1;
	json_object *count = NULL, *ids = NULL;
	json_object_object_get_ex(o, "cpu_count", &count);
	json_object_object_get_ex(o, "cpu_ids", &ids);
	if (!count == !ids)
		return carve_fail(err, count ? E02_CONFLICTING_ARGUMENT : E01_MISSING_ARGUMENT,
				  "'%s' needs exactly one of \"cpu_count\" and \"cpu_ids\"", path);
	if (count) {
		/* A u32 in nitro-cli's RunEnclavesArgs: 0 is the start's to
		 * refuse (E29), a negative count is no count. */
		if (!json_object_is_type(count, json_type_int) || json_object_get_int64(count) < 0)
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "\"cpu_count\" must be an integer, 0 or more");
		a->cpu_count = json_object_get_int(count);
	} else {
		if (!json_object_is_type(ids, json_type_array))
			return carve_fail(err, E03_INVALID_ARGUMENT, "\"cpu_ids\" must be an array");
		size_t n = json_object_array_length(ids);
		if (n == 0 || n > ENCLAVE_MAX_CPUS)
			return carve_fail(err, E20_INVALID_CPU_CONFIGURATION,
					  "\"cpu_ids\" must list 1 to %d CPUs", ENCLAVE_MAX_CPUS);
		/* Repeats are the start's to refuse, after the image (E20,
		 * enclave_launch), as nitro-cli's enclave process does. */
		for (size_t i = 0; i < n; i++) {
			json_object *c = json_object_array_get_idx(ids, i);
			if (!json_object_is_type(c, json_type_int) || json_object_get_int(c) < 0)
				return carve_fail(err, E23_MALFORMED_CPU_ID, "\"cpu_ids\" holds a non-CPU");
			a->cpu_ids[i] = json_object_get_int(c);
		}
		a->ncpu_ids = (int)n;
	}
	if (json_object_object_get_ex(o, "enclave_cid", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_int))
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "\"enclave_cid\" must be an integer or null");
		char text[32];
		snprintf(text, sizeof(text), "%s", json_object_get_string(v));
		if (enclave_parse_cid(text, &a->cid, err) < 0)
			return -1;
	}
	/* Typed as nitro-cli's serde reads them: "false" is not false (it would
	 * have started a debug enclave with a readable console). */
	static const char *const flags[] = {"debug_mode", "attach_console"};
	for (size_t i = 0; i < 2; i++)
		if (json_object_object_get_ex(o, flags[i], &v) &&
		    !json_object_is_type(v, json_type_boolean) && !json_object_is_type(v, json_type_null))
			return carve_fail(err, E03_INVALID_ARGUMENT, "\"%s\" must be true, false or null",
					  flags[i]);
	if (json_object_object_get_ex(o, "debug_mode", &v))
		a->debug = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "attach_console", &v))
		*attach |= json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "enclave_name", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string))
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "\"enclave_name\" must be a string or null");
		a->name = json_object_get_string(v);
	}
	return 0;
}

/* --console-group NAME|GID: who besides the owner and root may read a debug
 * enclave's console (live, and saved after it stopped). */
static int parse_console_group(const char *text, bool debug, struct launch_args *a, struct carve_err *err)
{
	if (!debug)
		return carve_fail(err, E02_CONFLICTING_ARGUMENT,
				  "--console-group needs --debug-mode (or "
				  "--attach-console): only a debug enclave's console is readable at all");
	struct group *g = getgrnam(text);
	if (g) {
		a->console_gid = g->gr_gid;
	} else {
		char *end;
		errno = 0;
		unsigned long v = strtoul(text, &end, 10);
		if (!*text || *end || errno || v >= (gid_t)-1 || text[0] == '-')
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "--console-group '%s' is no group on this "
					  "host (give its name or number)",
					  text);
		a->console_gid = (gid_t)v;
	}
	a->console_group_set = true;
	return 0;
}

/* A start that failed is reported as nitro-cli reports its enclave
 * process's failure (enclave_proc_comm.rs:301-365, main.rs:106-118): the
 * process's own error as forwarded, then "Failed connections: 1", then the
 * CLI's E39, whose status is the exit status; all on stderr. err becomes
 * that E39. */
static void report_failed_start(struct carve_err *err)
{
	struct carve_err inner = *err;
	cli_report_error(&inner);
	fprintf(stderr, "Failed connections: 1\n");
	carve_err_clear(err);
	carve_fail(err, E39_ENCLAVE_PROCESS_CONNECTION,
		   "Failed to connect to 1 enclave processes: the enclave process reported E%02d above "
		   "and stopped",
		   inner.code);
}

int cmd_run_enclave(int argc, char **argv, struct carve_err *err)
{
	const char *eif = NULL, *memory = NULL, *count = NULL, *cid = NULL, *name = NULL, *config = NULL;
	const char *console_group = NULL, *af_vsock = NULL, *policy = NULL;
	struct cli_list ids = {0}, protect_list = {0};
	struct vmm_protect protect[ENCLAVE_MAX_PROTECT];
	bool debug = false, attach = false;
	/* nitro-cli's flags in its order (src/lib.rs:642-716, which its
	 * "required arguments" list follows), with its relations; carve's own
	 * after them. */
	const struct cli_arg args[] = {
		{"cpu-ids", ARG_STRING_LIST, false, &ids,
		 "host CPUs for the vCPUs: 2 3, 2,3 or the flag repeated", .conflicts = "cpu-count config",
		 .unless = "cpu-count config"},
		{"cpu-count", ARG_STRING, false, &count, "number of vCPUs", .conflicts = "cpu-ids config",
		 .unless = "cpu-ids config"},
		{"memory", ARG_STRING, false, &memory,
		 "memory: MiB, or with a unit M/G/T (at least 64 MiB and 4x the EIF)", .conflicts = "config",
		 .unless = "config"},
		{"eif-path", ARG_STRING, false, &eif, "the Enclave Image File to run", .conflicts = "config",
		 .unless = "config"},
		{"enclave-cid", ARG_STRING, false, &cid, "vsock CID (4 and up; default: chosen)",
		 .conflicts = "config"},
		{"debug-mode", ARG_FLAG, false, &debug,
		 "keep the console readable (attestation PCRs are zero)", .conflicts = "config"},
		{"attach-console", ARG_FLAG, false, &attach,
		 "print the console after starting (implies --debug-mode)"},
		{"enclave-name", ARG_STRING, false, &name, "name (default: the EIF file name)",
		 .conflicts = "config"},
		{"config", ARG_STRING, false, &config, "JSON file with these settings (nitro-cli's keys)",
		 .value_name = "json-config"},
		{"console-group", ARG_STRING, false, &console_group,
		 "with --debug-mode: a group whose members may read the console too (carve's own)"},
		{"af-vsock", ARG_STRING, false, &af_vsock, CLI_AF_VSOCK_HELP},
		{"protect", ARG_STRING_LIST, false, &protect_list,
		 "GPA:LEN[:ro|:rw]: make guest RAM read-only (ro) or writable again in 128-byte sub-pages; repeat (carve's own)"},
		{"subpage-policy", ARG_STRING, false, &policy,
		 "refuse (default) or stop the enclave on a write to a protected sub-page, --protect's or one the "
		 "enclave's kernel locked (carve's own)"},
		{0},
	};
	json_object *cfg_json = NULL;
	struct launch_args a = {0};
	int rc = cli_parse("run-enclave", args, argc, argv, err);
	if (rc != CLI_PARSED) {
		rc = rc < 0 ? -1 : 0;
		goto out;
	}
	if (config) {
		if ((rc = load_config(config, &a, &eif, &attach, &cfg_json, err)) < 0)
			goto out;
	} else {
		if ((rc = enclave_parse_memory(memory, &a.mem_mib, err)) < 0)
			goto out;
		if (count) {
			/* Any u32 is a count here (commands_parser.rs:500-512); 0
			 * and more CPUs than there are are the start's to refuse
			 * (E29, E22). */
			char *end;
			errno = 0;
			unsigned long long v = strtoull(count, &end, 10);
			if (!isdigit((unsigned char)count[0]) || *end || errno || v > UINT32_MAX) {
				rc = carve_fail(
					err, E03_INVALID_ARGUMENT,
					"`cpu-count` is not a number: '%s' (a count of CPUs, 1 to %d)", count,
					ENCLAVE_MAX_CPUS);
				goto out;
			}
			a.cpu_count = v > INT_MAX ? INT_MAX : (int)v;
		} else {
			/* Each --cpu-ids value may itself be a list. */
			char joined[4096] = "";
			for (int i = 0; i < ids.count; i++)
				snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
					 i ? "," : "", ids.items[i]);
			int n = enclave_parse_cpu_values(joined, a.cpu_ids, ENCLAVE_MAX_CPUS, err);
			if (n < 0) {
				/* nitro-cli: InvalidArgument, "`cpu-id` is not a number"
				 * (commands_parser.rs:482-497). */
				if (err->code == E23_MALFORMED_CPU_ID)
					err->code = E03_INVALID_ARGUMENT;
				rc = carve_err_context(err, "`cpu-id` is not a number: ");
				goto out;
			}
			a.ncpu_ids = n;
		}
		if (cid && (rc = enclave_parse_cid(cid, &a.cid, err)) < 0)
			goto out;
		a.debug = debug;
		a.name = name;
	}
	a.eif_path = eif;
	if (attach)
		a.debug = true;
	if (console_group && (rc = parse_console_group(console_group, a.debug, &a, err)) < 0)
		goto out;
	if ((rc = cli_parse_af_vsock(af_vsock, &a.af_vsock, err)) < 0)
		goto out;
	if (protect_list.count > ENCLAVE_MAX_PROTECT) {
		rc = carve_fail(err, E03_INVALID_ARGUMENT, "at most %d --protect ranges (%d given)",
				ENCLAVE_MAX_PROTECT, protect_list.count);
		goto out;
	}
	for (int i = 0; i < protect_list.count; i++)
		if ((rc = vmm_parse_protect(protect_list.items[i], &protect[i], err)) < 0)
			goto out;
	a.protect = protect;
	a.nprotect = protect_list.count;
	if (policy && (rc = vmm_parse_subpage_policy(policy, &a.subpage_policy, err)) < 0)
		goto out;
	/* nitro-cli says so only for an explicit --enclave-cid 0
	 * (aws-nitro-enclaves-cli v1.5.0 src/common/commands_parser.rs:397-399). */
	if (cid && !config && !a.cid)
		fprintf(stderr, "The enclave CID will be auto-generated as the provided CID is 0\n");
	struct launch_result res;
	if ((rc = enclave_launch(&a, &res, err)) < 0) {
		if (res.start_failed)
			report_failed_start(err);
		goto out;
	}
	fprintf(stderr, "Started enclave with enclave-cid: %llu, memory: %llu MiB, cpu-ids: [",
		(unsigned long long)res.cid, (unsigned long long)res.mem_mib);
	json_object *o = json_object_new_object(), *cpus = json_object_new_array();
	for (int i = 0; res.pinned && i < res.ncpus; i++) {
		json_object_array_add(cpus, json_object_new_int(res.cpu_ids[i]));
		fprintf(stderr, "%s%d", i ? ", " : "", res.cpu_ids[i]);
	}
	fprintf(stderr, "]%s\n", res.pinned ? "" : " (development mode: vCPUs share the host's CPUs)");
	json_object_object_add(o, "EnclaveName", json_object_new_string(res.name));
	json_object_object_add(o, "EnclaveID", json_object_new_string(res.id));
	json_object_object_add(o, "ProcessID", json_object_new_int(res.pid));
	json_object_object_add(o, "EnclaveCID", json_object_new_int64((int64_t)res.cid));
	json_object_object_add(o, "NumberOfCPUs", json_object_new_int(res.ncpus));
	json_object_object_add(o, "CPUIDs", cpus);
	json_object_object_add(o, "MemoryMiB", json_object_new_int64((int64_t)res.mem_mib));
	cli_print_json(o);
	json_object_put(o);
	if (attach) {
		char *cargv[] = {"--enclave-id", res.id};
		rc = cmd_console(2, cargv, err);
	}
out:
	json_object_put(cfg_json);
	cli_list_free(&ids);
	cli_list_free(&protect_list);
	return rc;
}
