/* carve describe-enclaves [--metadata]: a JSON array, [] when none run. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "carve/launch.h"
#include "cli/cli.h"

int cmd_describe_enclaves(int argc, char **argv, struct carve_err *err)
{
	bool metadata = false;
	const struct cli_arg args[] = {
		{"metadata", ARG_FLAG, false, &metadata, "add each image's name, version and build metadata"},
		{0},
	};
	int parsed = cli_parse("describe-enclaves", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	char **lines;
	int n;
	if (enclave_describe_all(metadata, &lines, &n, err) < 0)
		return -1;
	json_object *arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *o = json_tokener_parse(lines[i]);
		if (o)
			json_object_array_add(arr, o);
		free(lines[i]);
	}
	free(lines);
	cli_print_json(arr);
	json_object_put(arr);
	return 0;
}
