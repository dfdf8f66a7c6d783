/* nsm-tool: the NSM from inside an enclave, one request per command.
 *   nsm-tool describe-nsm
 *   nsm-tool describe-pcr INDEX
 *   nsm-tool extend-pcr INDEX DATA
 *   nsm-tool lock-pcr INDEX | lock-pcrs RANGE
 *   nsm-tool attest [--nonce HEX] [--user-data TEXT]   (document as hex on stdout)
 *   nsm-tool random
 * Prints results as JSON-ish lines; exits non-zero with the NSM error name. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsm.h"

static const char *const error_names[] = {
	"Success",          "InvalidArgument", "InvalidIndex",  "InvalidResponse", "ReadOnlyIndex",
	"InvalidOperation", "BufferTooSmall",  "InputTooLarge", "InternalError",
};

static int fail(ErrorCode rc)
{
	fprintf(stderr, "nsm-tool: %s\n", (unsigned)rc < 9 ? error_names[rc] : "unknown error");
	return 1;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static int hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr,
			"usage: nsm-tool describe-nsm|describe-pcr I|extend-pcr I DATA|lock-pcr I|"
			"lock-pcrs N|attest [--nonce HEX] [--user-data TEXT]|random\n");
		return 2;
	}
	int fd = nsm_lib_init();
	if (fd < 0) {
		fprintf(stderr, "nsm-tool: cannot open /dev/nsm: %s\n", strerror(errno));
		return 1;
	}
	const char *cmd = argv[1];
	ErrorCode rc;
	if (!strcmp(cmd, "describe-nsm")) {
		NsmDescription d;
		if ((rc = nsm_get_description(fd, &d)) != ERROR_CODE_SUCCESS)
			return fail(rc);
		printf("{\"version\": \"%u.%u.%u\", \"module_id\": \"%s\", \"max_pcrs\": %u, \"locked_pcrs\": [",
		       d.version_major, d.version_minor, d.version_patch, (const char *)d.module_id,
		       d.max_pcrs);
		for (uint32_t i = 0; i < d.locked_pcrs_len; i++)
			printf("%s%u", i ? ", " : "", d.locked_pcrs[i]);
		printf("], \"digest\": \"%s\"}\n", d.digest == DIGEST_SHA384 ? "SHA384" : "other");
	} else if (!strcmp(cmd, "describe-pcr") && argc == 3) {
		bool lock;
		uint8_t data[64];
		uint32_t len = sizeof(data);
		if ((rc = nsm_describe_pcr(fd, (uint16_t)atoi(argv[2]), &lock, data, &len)) !=
		    ERROR_CODE_SUCCESS)
			return fail(rc);
		printf("{\"lock\": %s, \"data\": \"", lock ? "true" : "false");
		for (uint32_t i = 0; i < len; i++)
			printf("%02x", data[i]);
		printf("\"}\n");
	} else if (!strcmp(cmd, "extend-pcr") && argc == 4) {
		uint8_t out[64];
		uint32_t len = sizeof(out);
		if ((rc = nsm_extend_pcr(fd, (uint16_t)atoi(argv[2]), (const uint8_t *)argv[3],
					 (uint32_t)strlen(argv[3]), out, &len)) != ERROR_CODE_SUCCESS)
			return fail(rc);
		print_hex(out, len);
	} else if (!strcmp(cmd, "lock-pcr") && argc == 3) {
		if ((rc = nsm_lock_pcr(fd, (uint16_t)atoi(argv[2]))) != ERROR_CODE_SUCCESS)
			return fail(rc);
	} else if (!strcmp(cmd, "lock-pcrs") && argc == 3) {
		if ((rc = nsm_lock_pcrs(fd, (uint16_t)atoi(argv[2]))) != ERROR_CODE_SUCCESS)
			return fail(rc);
	} else if (!strcmp(cmd, "attest")) {
		uint8_t nonce[1024];
		int nonce_len = -1;
		const char *user = NULL;
		for (int i = 2; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--nonce") &&
			    (nonce_len = hex_to_bytes(argv[i + 1], nonce, sizeof(nonce))) < 0) {
				fprintf(stderr, "nsm-tool: --nonce must be hex\n");
				return 2;
			}
			if (!strcmp(argv[i], "--user-data"))
				user = argv[i + 1];
		}
		static uint8_t doc[0x3000];
		uint32_t len = sizeof(doc);
		rc = nsm_get_attestation_doc(fd, (const uint8_t *)user, user ? (uint32_t)strlen(user) : 0,
					     nonce_len >= 0 ? nonce : NULL,
					     nonce_len >= 0 ? (uint32_t)nonce_len : 0, NULL, 0, doc, &len);
		if (rc != ERROR_CODE_SUCCESS)
			return fail(rc);
		print_hex(doc, len);
	} else if (!strcmp(cmd, "random")) {
		uint8_t buf[256];
		uintptr_t len = sizeof(buf);
		if ((rc = nsm_get_random(fd, buf, &len)) != ERROR_CODE_SUCCESS)
			return fail(rc);
		print_hex(buf, len);
	} else {
		fprintf(stderr, "nsm-tool: unknown command or wrong arguments: %s\n", cmd);
		return 2;
	}
	nsm_lib_exit(fd);
	return 0;
}
