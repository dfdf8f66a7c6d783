/* Links libnsm (guest/lib) into a static program. With /dev/nsm it asks for
 * random bytes, the module description, PCR0 (printed in hex, to compare
 * with describe-eif) and an attestation document (its size and first bytes:
 * a COSE_Sign1 starts 84 44 a1 01 38 22); without /dev/nsm it says so and
 * exits 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../guest/lib/nsm.h"

static void hex(const char *label, const uint8_t *p, size_t n)
{
	printf("%s", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

int main(void)
{
	int32_t fd = nsm_lib_init();
	if (fd < 0) {
		printf("nsm: no /dev/nsm (%s)\n", strerror(errno));
		return 0;
	}
	static uint8_t buf[16384];
	uintptr_t len = 256;
	ErrorCode e = nsm_get_random(fd, buf, &len);
	printf("nsm: GetRandom -> %d, %lu bytes\n", (int)e, (unsigned long)len);
	NsmDescription d;
	ErrorCode e2 = nsm_get_description(fd, &d);
	printf("nsm: DescribeNSM -> %d, module %s, %u PCRs\n", (int)e2, (const char *)d.module_id,
	       d.max_pcrs);
	bool lock = false;
	uint32_t plen = 64;
	ErrorCode e3 = nsm_describe_pcr(fd, 0, &lock, buf, &plen);
	hex(lock ? "nsm: PCR0 locked " : "nsm: PCR0 unlocked ", buf, e3 ? 0 : plen);
	uint32_t dlen = sizeof(buf);
	ErrorCode e4 = nsm_get_attestation_doc(fd, (const uint8_t *)"carve", 5, (const uint8_t *)"\x01\x02",
					       2, NULL, 0, buf, &dlen);
	printf("nsm: Attestation -> %d, %u bytes\n", (int)e4, e4 ? 0 : dlen);
	hex("nsm: document starts ", buf, e4 || dlen < 6 ? 0 : 6);
	nsm_lib_exit(fd);
	return e || e2 || e3 || e4 ? 1 : 0;
}
