/* vsock-proxy: the parent-side program that lets an enclave reach one TCP
 * service (AWS's vsock-proxy, aws-nitro-enclaves-cli vsock_proxy/, 1.5.0):
 * it listens on an AF_VSOCK port, and for each connection from the enclave
 * opens a TCP connection to the remote address and copies both ways. The
 * remote must be in an allowlist file (vsock-proxy.yaml):
 *
 *   allowlist:
 *   - {address: kms.us-east-1.amazonaws.com, port: 443}
 *   - address: 127.0.0.1
 *     port: 9000
 *
 * A remote is allowed when an entry has its port and either its host name
 * as written or an address the entry's name resolves to (vsock_proxy's
 * check_allowlist). Errors carry vsock_proxy's own words, which carve's
 * vsock-proxy prints as it does. */
#ifndef CARVE_VSOCK_PROXY_H
#define CARVE_VSOCK_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXY_DEFAULT_CONFIG "/etc/nitro_enclaves/vsock-proxy.yaml"
#define PROXY_DEFAULT_WORKERS 4
#define PROXY_ADDRESS_MAX 256
#define PROXY_ENTRIES_MAX 4096

/* One allowlist entry as written; a field that is missing or of the wrong
 * type is an error only when the check reaches the entry, as in vsock_proxy. */
struct proxy_allow {
	bool has_address;
	char address[PROXY_ADDRESS_MAX];
	bool has_port; /* an integer */
	long long port;
};

struct proxy_allowlist {
	struct proxy_allow *items;
	int n;
};

/* Reads the allowlist from YAML text (the subset vsock-proxy.yaml uses: a
 * top-level "allowlist" sequence of flow or block mappings). 0, or -1 with
 * *why "Bad yaml format" or "No allowlist field". */
int proxy_allowlist_parse(const char *text, size_t len, struct proxy_allowlist *out, const char **why);
void proxy_allowlist_free(struct proxy_allowlist *l);

enum proxy_ip { PROXY_IP_MIXED, PROXY_IP_V4, PROXY_IP_V6 };

/* The first address host resolves to (of the type asked for). 0, or -1 with
 * *why in vsock_proxy's words. */
int proxy_resolve(const char *host, enum proxy_ip type, struct sockaddr_storage *out, socklen_t *len,
		  const char **why);

/* vsock_proxy's check: 0 with the remote's address (resolved once), or -1
 * with *why ("The given address and port are not allowed", or the entry or
 * resolution error met first). */
int proxy_check_allowlist(const struct proxy_allowlist *l, const char *host, uint16_t port,
			  enum proxy_ip type, struct sockaddr_storage *addr, socklen_t *alen,
			  const char **why);

struct proxy_config {
	uint32_t local_port;
	const char *remote_host;
	uint16_t remote_port;
	enum proxy_ip ip;
	int workers; /* connections served at once; more wait their turn */
};

/* Listens on AF_VSOCK local_port (any local CID: on a carve host the
 * enclave's CID 3 is the host kernel's CID 2) and serves until an error.
 * Returns -1 with *why when it cannot listen or accept. */
int proxy_serve(const struct proxy_config *c, const char **why);

#endif
