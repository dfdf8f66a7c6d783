/* libFuzzer target: CPU lists ("2,3,6-9"), as a user gives them (--cpu-ids,
 * allocator.yaml's cpu_pool) and as sysfs holds them (thread_siblings_list,
 * which tests may replace through CARVE_TEST_SYSFS). The parsers must refuse
 * or accept any bytes without reading outside them or overrunning the
 * output; what they accept is in range, and a refusal has a code. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carve/enclave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX 16 /* small, so "0-300" runs into the bound */

static void check(int n, const int *cpus, const struct carve_err *err)
{
	if (n < 0) {
		if (err->code == 0)
			__builtin_trap();
		return;
	}
	if (n == 0 || n > OUT_MAX)
		__builtin_trap();
	for (int i = 0; i < n; i++)
		if (cpus[i] < 0 || cpus[i] >= ENCLAVE_MAX_CPUS)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A terminated exact-size copy: the parsers take C strings. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	int cpus[OUT_MAX];
	struct carve_err err = {0};
	int n = enclave_parse_cpu_values(text, cpus, OUT_MAX, &err);
	check(n, cpus, &err);
	if (n > 0) {
		carve_err_clear(&err);
		if (enclave_check_cpu_duplicates(cpus, n, &err) < 0 &&
		    err.code != E20_INVALID_CPU_CONFIGURATION)
			__builtin_trap();
	}
	carve_err_clear(&err);
	n = enclave_parse_cpu_list(text, cpus, OUT_MAX, &err);
	check(n, cpus, &err);
	for (int i = 1; i < n; i++)
		if (cpus[i] <= cpus[i - 1]) /* sorted and unique */
			__builtin_trap();
	free(text);
	return 0;
}
