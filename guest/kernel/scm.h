/* The control messages of an AF_UNIX sendmsg (SOL_SOCKET's SCM_RIGHTS and
 * SCM_CREDENTIALS), read from a kernel copy of the caller's buffer. Kept
 * apart from the sockets so the host can fuzz it (tests/fuzz). */
#ifndef CARVE_SCM_H
#define CARVE_SCM_H

#include "kernel.h"

#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define SCM_CREDENTIALS 2
#define SCM_MAX_FD 253     /* Linux's: descriptors in one message */
#define SCM_CTL_MAX 20480u /* Linux's optmem_max: a longer control buffer is ENOBUFS */
#define CMSG_HDR_LEN 16u   /* struct cmsghdr: u64 len, int level, int type */
#define CMSG_ALIGN8(n) (((n) + 7) & ~(uint64_t)7)

struct scm_req {
	int nfds;
	int fds[SCM_MAX_FD]; /* descriptor numbers, in order, as the caller gave them */
	bool creds;          /* an SCM_CREDENTIALS message came */
	int32_t cred[3];     /* its pid, uid, gid (neither id -1) */
};

/* Walks buf as Linux's __scm_send does: each header's length checked
 * against what is left, other levels skipped, unknown SOL_SOCKET types
 * and malformed ones EINVAL, more than SCM_MAX_FD descriptors EINVAL,
 * credentials with a uid or gid of -1 EINVAL (the last credentials
 * given count; whether their pid exists is the caller's to ask).
 * 0 or -EINVAL; out is filled. */
int scm_parse(const uint8_t *buf, uint64_t len, struct scm_req *out);

#endif
