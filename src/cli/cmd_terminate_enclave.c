/* carve terminate-enclave (--enclave-id ID | --enclave-name NAME | --all) */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/launch.h"
#include "cli/cli.h"

static json_object *terminated_json(const struct enclave_ref *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "EnclaveName", json_object_new_string(r->name));
	json_object_object_add(o, "EnclaveID", json_object_new_string(r->id));
	json_object_object_add(o, "Terminated", json_object_new_boolean(1));
	return o;
}

int cmd_terminate_enclave(int argc, char **argv, struct carve_err *err)
{
	const char *id = NULL, *name = NULL;
	bool all = false;
	const struct cli_arg args[] = {
		/* nitro-cli's order and relations: exactly one of the three
		 * (src/lib.rs:717-742). */
		{"enclave-id", ARG_STRING, false, &id, "the enclave's id", .conflicts = "all enclave-name",
		 .unless = "all enclave-name"},
		{"all", ARG_FLAG, false, &all, "every enclave you may terminate",
		 .conflicts = "enclave-id enclave-name", .unless = "enclave-id enclave-name"},
		{"enclave-name", ARG_STRING, false, &name, "the enclave's name",
		 .conflicts = "enclave-id all", .unless = "enclave-id all"},
		{0},
	};
	int parsed = cli_parse("terminate-enclave", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	if (!all) {
		struct enclave_ref ref;
		int matches;
		if (enclave_find(id, name, &ref, &matches, err) < 0) {
			/* Terminate is idempotent: another terminate (or the program's
			 * exit) stopped it a moment ago, and that is what was asked. */
			if (matches != 0 || enclave_find_just_stopped(id, name, &ref) < 0)
				return -1;
		} else if (enclave_terminate(&ref, err) < 0) {
			return -1;
		}
		fprintf(stderr, "Successfully terminated enclave %s.\n", ref.id);
		json_object *o = terminated_json(&ref);
		cli_print_json(o);
		json_object_put(o);
		return 0;
	}
	struct enclave_ref *refs;
	int n;
	if (enclave_find_all(&refs, &n, err) < 0)
		return -1;
	json_object *arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct carve_err one = {0};
		/* Enclaves of other users refuse (E18); --all skips them. */
		if (enclave_terminate(&refs[i], &one) == 0) {
			fprintf(stderr, "Successfully terminated enclave %s.\n", refs[i].id);
			json_object_array_add(arr, terminated_json(&refs[i]));
		} else if (one.code != E18_FILE_PERMISSIONS) {
			fprintf(stderr, "Could not terminate enclave %s: %s\n", refs[i].id, one.msg);
		}
	}
	free(refs);
	cli_print_json(arr);
	json_object_put(arr);
	return 0;
}
