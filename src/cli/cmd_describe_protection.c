/* carve describe-protection (--enclave-id ID | --enclave-name NAME)
 *                           [--gfn N --pages M]
 * A running enclave's sub-page write protection (docs/vmm.md), from its
 * enclave process: the runs of protected pages and the writes applied and
 * refused so far, or each page's 32-bit write map over a range of frames
 * (as KVM_SUBPAGES_GET_ACCESS would give it). carve's own command. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "carve/control.h"
#include "carve/launch.h"
#include "cli/cli.h"

/* A frame number or a page count: decimal or 0x hex, nothing else. */
static int parse_u64(const char *flag, const char *text, uint64_t max, uint64_t *out, struct carve_err *err)
{
	char *end;
	int base = text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? 16 : 10;
	const char *digits = base == 16 ? text + 2 : text;
	unsigned long long v = strtoull(digits, &end, base);
	if (!*digits || *end || digits[0] == '-' || digits[0] == '+' || digits[0] == ' ' || v > max)
		return carve_fail(err, E03_INVALID_ARGUMENT, "'--%s %s' is not a number from 0 to %llu", flag,
				  text, (unsigned long long)max);
	*out = v;
	return 0;
}

int cmd_describe_protection(int argc, char **argv, struct carve_err *err)
{
	const char *id = NULL, *name = NULL, *gfn_text = NULL, *pages_text = NULL;
	const struct cli_arg args[] = {
		{"enclave-id", ARG_STRING, false, &id, "the enclave's id", .conflicts = "enclave-name",
		 .unless = "enclave-name"},
		{"enclave-name", ARG_STRING, false, &name, "the enclave's name", .conflicts = "enclave-id",
		 .unless = "enclave-id"},
		{"gfn", ARG_STRING, false, &gfn_text, "first guest frame (GPA / 4096) of a range to show",
		 .requires = "pages"},
		{"pages", ARG_STRING, false, &pages_text, "frames in the range, 1 to 512", .requires = "gfn"},
		{0},
	};
	int parsed = cli_parse("describe-protection", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	uint64_t gfn = 0, pages = 0;
	if (gfn_text &&
	    (parse_u64("gfn", gfn_text, CONTROL_SUBPAGES_MAX_GFN, &gfn, err) < 0 ||
	     parse_u64("pages", pages_text, CONTROL_SUBPAGES_MAX_PAGES, &pages, err) < 0))
		return -1;
	if (gfn_text && (pages == 0 || gfn + pages - 1 > CONTROL_SUBPAGES_MAX_GFN))
		return carve_fail(err, E03_INVALID_ARGUMENT, "'--pages %s': 1 to %d frames below 2^36",
				  pages_text, CONTROL_SUBPAGES_MAX_PAGES);
	struct enclave_ref ref;
	if (enclave_find(id, name, &ref, NULL, err) < 0)
		return -1;
	char *line;
	if (enclave_subpages(&ref, gfn, (uint32_t)pages, &line, err) < 0)
		return -1;
	json_object *o = json_tokener_parse(line);
	free(line);
	if (!o)
		return carve_fail(err, E17_SERDE, "enclave %s answered with something that is not JSON",
				  ref.id);
	cli_print_json(o);
	json_object_put(o);
	return 0;
}
