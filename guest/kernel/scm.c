/* Control messages of AF_UNIX sendmsg (scm.h): only parsing here, the
 * descriptors themselves are unix_sock.c's. */
#include "scm.h"

#define EINVAL 22

struct cmsg_head {
	uint64_t len;
	int32_t level, type;
};

int scm_parse(const uint8_t *buf, uint64_t len, struct scm_req *out)
{
	memset(out, 0, sizeof(*out));
	uint64_t at = 0;
	while (len >= CMSG_HDR_LEN && at <= len - CMSG_HDR_LEN) {
		struct cmsg_head h;
		memcpy(&h, buf + at, sizeof(h));
		if (h.len < CMSG_HDR_LEN || h.len > len - at)
			return -EINVAL;
		if (h.level == SOL_SOCKET) {
			uint64_t data = h.len - CMSG_HDR_LEN;
			if (h.type == SCM_RIGHTS) {
				uint64_t n = data / 4;
				if (n > SCM_MAX_FD || out->nfds + n > SCM_MAX_FD)
					return -EINVAL;
				memcpy(out->fds + out->nfds, buf + at + CMSG_HDR_LEN, n * 4);
				out->nfds += (int)n;
			} else if (h.type == SCM_CREDENTIALS) {
				if (data != sizeof(out->cred))
					return -EINVAL;
				memcpy(out->cred, buf + at + CMSG_HDR_LEN, sizeof(out->cred));
				/* Linux: -1 is no uid or gid (EINVAL before the pid is
				 * looked for, which is the caller's). The last one counts. */
				if (out->cred[1] == -1 || out->cred[2] == -1)
					return -EINVAL;
				out->creds = true;
			} else {
				return -EINVAL;
			}
		}
		uint64_t step = CMSG_ALIGN8(h.len);
		if (step > len - at)
			break;
		at += step;
	}
	return 0;
}
