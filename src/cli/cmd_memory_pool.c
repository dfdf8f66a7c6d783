/* carve memory-pool --dir DIR [--fill MIB [--count N]] [--drain]: the pool
 * of pre-zeroed guest memory that carve vmm --memory-pool takes slabs from
 * (carve/mempool.h, docs/vmm.md § Memory pool). Fills it ahead of time (the
 * zeroing done now, not at a start), drains it, and prints what it holds;
 * slabs of processes that died are deleted on the way. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "carve/mempool.h"
#include "carve/util.h"
#include "cli/cli.h"

int cmd_memory_pool(int argc, char **argv, struct carve_err *err)
{
	const char *dir = NULL, *fill = NULL, *count_text = NULL;
	bool drain = false;
	const struct cli_arg args[] = {
		{"dir", ARG_STRING, true, &dir, "the pool: a directory on hugetlbfs (or tmpfs)"},
		{"fill", ARG_STRING, false, &fill, "add slabs of MIB MiB each, zeroed now",
		 .conflicts = "drain", .value_name = "MIB"},
		{"count", ARG_STRING, false, &count_text, "how many slabs --fill adds (default 1)",
		 .requires = "fill", .value_name = "N"},
		{"drain", ARG_FLAG, false, &drain, "delete every free slab (their memory goes back)"},
		{0},
	};
	int parsed = cli_parse("memory-pool", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	if (mempool_check(dir, NULL, err) < 0)
		return -1;
	int deleted = 0;
	if (drain && mempool_drain(dir, &deleted, err) < 0)
		return -1;
	if (fill) {
		unsigned long mib, count = 1;
		if (cli_parse_uint("fill", fill, 1ul << 26, &mib, err) < 0 ||
		    (count_text && cli_parse_uint("count", count_text, 4096, &count, err) < 0))
			return -1;
		if (mib == 0 || count == 0)
			return carve_fail(err, E03_INVALID_ARGUMENT, "--fill and --count must be 1 or more");
		if (mempool_fill(dir, (uint64_t)mib << 20, (int)count, err) < 0)
			return -1;
	}
	struct mempool_census c;
	if (mempool_census(dir, 0, &c, err) < 0)
		return -1;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Pool", json_object_new_string(dir));
	json_object_object_add(o, "FreeSlabs", json_object_new_int(c.free));
	json_object_object_add(o, "FreeMiB", json_object_new_int64((int64_t)(c.free_bytes >> 20)));
	json_object_object_add(o, "BusySlabs", json_object_new_int(c.busy));
	json_object_object_add(o, "BusyMiB", json_object_new_int64((int64_t)(c.busy_bytes >> 20)));
	json_object_object_add(o, "StaleDeleted", json_object_new_int(c.stale));
	if (drain)
		json_object_object_add(o, "Drained", json_object_new_int(deleted));
	cli_print_json(o);
	json_object_put(o);
	return 0;
}
