/* Argument rules of run-enclave, with nitro-cli's error codes. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/enclave.h"

int enclave_parse_memory(const char *text, uint64_t *mib, struct carve_err *err)
{
	const char *p = text;
	if (!isdigit((unsigned char)*p))
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "--memory '%s' is not a size: use a number of MiB, or a number "
				  "with M, G or T (e.g. 512M, 2G)",
				  text);
	uint64_t v = 0;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return carve_fail(err, E03_INVALID_ARGUMENT, "--memory '%s' is too large", text);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = 0;
	switch (*p) {
	case '\0':
	case 'M':
	case 'm': break;
	case 'G':
	case 'g': shift = 10; break;
	case 'T':
	case 't': shift = 20; break;
	default:
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "--memory '%s' has an unknown unit; use M, G or T", text);
	}
	if (*p && p[1])
		return carve_fail(err, E03_INVALID_ARGUMENT, "--memory '%s' has trailing characters", text);
	/* 0 is a size: nitro-cli takes it here (commands_parser.rs:308-335) and
	 * refuses it with the memory rules, E26 (enclave_check_memory). */
	/* Bytes must fit 64 bits after rounding up to whole pages
	 * (enclave_granted_mib), hence 21 and not 20. */
	if (v > (UINT64_MAX >> 21) >> shift)
		return carve_fail(err, E03_INVALID_ARGUMENT, "--memory '%s' is too large", text);
	*mib = v << shift;
	return 0;
}

uint64_t enclave_granted_mib(uint64_t requested_mib)
{
	uint64_t g = ENCLAVE_MEM_GRANULE_MIB;
	return (requested_mib + g - 1) / g * g;
}

int enclave_check_memory(uint64_t mib, uint64_t eif_size, struct carve_err *err)
{
	/* nitro-cli compares the request itself with 4 x the EIF
	 * (resource_manager.rs EnclaveHandle::new), before any rounding. */
	uint64_t need_bytes = eif_size * ENCLAVE_MEM_EIF_RATIO;
	uint64_t need_mib = (need_bytes + (1u << 20) - 1) >> 20;
	if (mib < need_mib)
		return carve_fail(err, E26_INSUFFICIENT_MEMORY_REQUESTED,
				  "At least %llu MB must be allocated (which is %d times the EIF file size); "
				  "%llu MB were requested",
				  (unsigned long long)need_mib, ENCLAVE_MEM_EIF_RATIO,
				  (unsigned long long)mib);
	/* The 64 MiB floor is the driver's, on the pages it was given
	 * (NE_MIN_ENCLAVE_MEM_SIZE), so 63 MiB, granted as 64, starts. */
	if (enclave_granted_mib(mib) < ENCLAVE_MIN_MEM_MIB)
		return carve_fail(err, E26_INSUFFICIENT_MEMORY_REQUESTED,
				  "At least %d MB must be allocated; %llu MB were requested",
				  ENCLAVE_MIN_MEM_MIB, (unsigned long long)mib);
	return 0;
}

int enclave_check_host_memory(uint64_t mib, uint64_t available_mib, struct carve_err *err)
{
	if (mib > available_mib)
		return carve_fail(
			err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
			"%llu MiB requested but the host has %llu MiB available (MemAvailable); "
			"without an enclave pool ('carve allocator') the memory comes from the host's "
			"free memory and is all used at start",
			(unsigned long long)mib, (unsigned long long)available_mib);
	return 0;
}

int enclave_parse_cid(const char *text, uint64_t *cid, struct carve_err *err)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)text[0]))
		return carve_fail(err, E03_INVALID_ARGUMENT, "--enclave-cid '%s' is not a number", text);
	unsigned long long v = strtoull(text, &end, 10);
	if (*end || errno == ERANGE || v >= UINT32_MAX)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "--enclave-cid '%s' is out of range: use 4 to %u, or 0 to let carve choose",
				  text, UINT32_MAX - 1);
	if (v != 0 && v <= ENCLAVE_PARENT_CID)
		return carve_fail(
			err, E03_INVALID_ARGUMENT,
			"--enclave-cid %llu is reserved (1-2 the host, 3 the parent); use 4 or more", v);
	*cid = v;
	return 0;
}

uint64_t enclave_boot_timeout_ms(uint64_t eif_size, uint64_t mem_bytes)
{
	const uint64_t step_ms = 90000, eif_unit = 6ull << 30, mem_unit = 100ull << 30;
	uint64_t eif_steps = (eif_size + eif_unit - 1) / eif_unit;
	uint64_t mem_steps = (mem_bytes + mem_unit - 1) / mem_unit;
	return eif_steps * step_ms + mem_steps * step_ms;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int enclave_parse_cpu_values(const char *text, int *cpus, int max, struct carve_err *err)
{
	int n = 0;
	const char *p = text;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return carve_fail(err, E23_MALFORMED_CPU_ID, "'%s' is not a CPU list (e.g. 2,3,6-9)",
					  text);
		long lo = strtol(p, &end, 10), hi = lo;
		p = end;
		if (*p == '-') {
			if (!isdigit((unsigned char)p[1]))
				return carve_fail(err, E23_MALFORMED_CPU_ID, "'%s' is not a CPU list", text);
			hi = strtol(p + 1, &end, 10);
			p = end;
		}
		if (lo > hi)
			return carve_fail(err, E24_CPU_ERROR, "CPU range %ld-%ld runs backwards", lo, hi);
		if (hi >= ENCLAVE_MAX_CPUS)
			return carve_fail(err, E23_MALFORMED_CPU_ID,
					  "CPU %ld is beyond the %d carve supports", hi, ENCLAVE_MAX_CPUS);
		for (long c = lo; c <= hi; c++) {
			if (n >= max)
				return carve_fail(err, E20_INVALID_CPU_CONFIGURATION, "too many CPUs in '%s'",
						  text);
			cpus[n++] = (int)c;
		}
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return carve_fail(err, E23_MALFORMED_CPU_ID, "'%s' is not a CPU list", text);
	}
	if (n == 0)
		return carve_fail(err, E20_INVALID_CPU_CONFIGURATION, "the CPU list is empty");
	return n;
}

int enclave_check_cpu_duplicates(const int *cpus, int n, struct carve_err *err)
{
	/* nitro-cli's words and detail (cpu_info.rs:86-101): how many repeats,
	 * then which CPUs. */
	char which[256] = "";
	int repeats = 0;
	for (int i = 0; i < n; i++) {
		bool first = true, again = false;
		for (int j = 0; j < n; j++) {
			if (cpus[j] != cpus[i])
				continue;
			first &= j >= i;
			again |= j > i;
		}
		if (!first)
			repeats++;
		else if (again)
			snprintf(which + strlen(which), sizeof(which) - strlen(which), "%s%d",
				 which[0] ? ", " : "", cpus[i]);
	}
	if (repeats == 0)
		return 0;
	return carve_fail(err, E20_INVALID_CPU_CONFIGURATION,
			  "CPU IDs list contains %d duplicate(s): CPU(s) %s listed more than once", repeats,
			  which);
}

int enclave_parse_cpu_list(const char *text, int *cpus, int max, struct carve_err *err)
{
	int n = enclave_parse_cpu_values(text, cpus, max, err);
	if (n < 0)
		return -1;
	qsort(cpus, (size_t)n, sizeof(*cpus), cmp_int);
	for (int i = 1; i < n; i++)
		if (cpus[i] == cpus[i - 1])
			return carve_fail(err, E20_INVALID_CPU_CONFIGURATION, "CPU %d is listed twice",
					  cpus[i]);
	return n;
}

int enclave_check_name(const char *name, struct carve_err *err)
{
	size_t n = strlen(name);
	if (n == 0 || n > ENCLAVE_NAME_MAX)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "--enclave-name must be 1 to %d bytes; it has %zu", ENCLAVE_NAME_MAX, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return carve_fail(
				err, E03_INVALID_ARGUMENT,
				"--enclave-name must not hold control characters (byte %zu is 0x%02x)", i,
				(unsigned)(unsigned char)name[i]);
	return 0;
}

void enclave_default_name(const char *eif_path, char *out, size_t out_len)
{
	const char *base = strrchr(eif_path, '/');
	base = base ? base + 1 : eif_path;
	size_t n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".eif"))
		n -= 4;
	if (n > ENCLAVE_NAME_MAX) /* a long file name: its first bytes */
		n = ENCLAVE_NAME_MAX;
	size_t j = 0;
	for (size_t i = 0; i < n && j + 1 < out_len; i++) /* control bytes become '_' */
		out[j++] = (unsigned char)base[i] < 0x20 || base[i] == 0x7f ? '_' : base[i];
	if (j == 0 && out_len > 7) {
		snprintf(out, out_len, "enclave");
		return;
	}
	if (out_len)
		out[j] = '\0';
}

static bool name_taken(const char *name, const char *const *taken, int ntaken)
{
	for (int i = 0; i < ntaken; i++)
		if (!strcmp(taken[i], name))
			return true;
	return false;
}

void enclave_unique_name(const char *base, const char *const *taken, int ntaken, char *out, size_t out_len)
{
	/* The suffix always fits: base is cut to leave it room, so a long base
	 * can never make base_1, base_2, ... the same string (which spun). */
	snprintf(out, out_len, "%s", base);
	for (int i = 1; name_taken(out, taken, ntaken); i++) {
		char suffix[16];
		int sn = snprintf(suffix, sizeof(suffix), "_%d", i);
		int keep = (int)out_len - 1 - sn;
		snprintf(out, out_len, "%.*s%s", keep > 0 ? keep : 0, base, suffix);
	}
}

void enclave_format_id(uint64_t slot, char *out, size_t out_len)
{
	char tag[64] = "";
	FILE *f = fopen("/sys/devices/virtual/dmi/id/board_asset_tag", "re");
	if (f) {
		char raw[64];
		if (fgets(raw, sizeof(raw), f)) {
			size_t j = 0;
			for (size_t i = 0; raw[i] && j + 1 < sizeof(tag); i++)
				if (!isspace((unsigned char)raw[i]))
					tag[j++] = raw[i];
			tag[j] = '\0';
		}
		fclose(f);
	}
	snprintf(out, out_len, "%s-enc%llx", tag[0] ? tag : "i-0000000000000000", (unsigned long long)slot);
}

int enclave_parse_id(const char *id, uint64_t *slot)
{
	const char *p = NULL;
	for (const char *q = strstr(id, "-enc"); q; q = strstr(q + 1, "-enc"))
		p = q;
	if (!p || !isxdigit((unsigned char)p[4]))
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 4, &end, 16);
	if (*end || errno)
		return -1;
	*slot = v;
	return 0;
}
