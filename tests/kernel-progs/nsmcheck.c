/* Links libnsm (guest/lib) into a static program. With /dev/nsm it asks for
 * random bytes and the module description; without (the carve kernel has no
 * NSM device until the virtio devices exist) it says so and exits 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../guest/lib/nsm.h"

int main(void)
{
	int32_t fd = nsm_lib_init();
	if (fd < 0) {
		printf("nsm: no /dev/nsm (%s)\n", strerror(errno));
		return 0;
	}
	uint8_t buf[256];
	uintptr_t len = sizeof(buf);
	ErrorCode e = nsm_get_random(fd, buf, &len);
	printf("nsm: GetRandom -> %d, %lu bytes\n", (int)e, (unsigned long)len);
	NsmDescription d;
	e = nsm_get_description(fd, &d);
	printf("nsm: DescribeNSM -> %d, module %s, %u PCRs\n", (int)e, (const char *)d.module_id, d.max_pcrs);
	nsm_lib_exit(fd);
	return e == ERROR_CODE_SUCCESS ? 0 : 1;
}
