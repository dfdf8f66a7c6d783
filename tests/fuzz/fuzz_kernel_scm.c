/* The carve enclave kernel's reader of AF_UNIX control messages
 * (guest/kernel/scm.c), built for the host: any bytes as a sendmsg's
 * control buffer must be refused (EINVAL) or read without going outside
 * the buffer, and what it gives back must be within its bounds
 * (descriptors, credentials without a uid or gid of -1). */
#include <stdlib.h>
#include <string.h>

#include "../../guest/kernel/scm.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SCM_CTL_MAX)
		return 0; /* the kernel refuses longer buffers (ENOBUFS) before parsing */
	uint8_t *copy = malloc(size ? size : 1); /* reads past the end are caught by ASan */
	memcpy(copy, data, size);
	struct scm_req req;
	int r = scm_parse(copy, size, &req);
	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0 && (req.nfds < 0 || req.nfds > SCM_MAX_FD || (uint64_t)req.nfds * 4 > size))
		abort();
	/* Credentials are given whole, never with a uid or gid of -1. */
	if (r == 0 && req.creds && (size < CMSG_HDR_LEN + 12 || req.cred[1] == -1 || req.cred[2] == -1))
		abort();
	free(copy);
	return 0;
}
