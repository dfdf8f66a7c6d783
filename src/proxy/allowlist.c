/* vsock-proxy's allowlist (include/carve/vsock_proxy.h): the YAML subset
 * its file uses, and its check, in its order and with its messages
 * (aws-nitro-enclaves-cli 1.5.0, vsock_proxy/src/proxy.rs check_allowlist,
 * dns.rs resolve). The text is the user's: every line is bounded, every
 * value cut to its buffer, and anything outside the subset is "Bad yaml
 * format" rather than a guess. */
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/vsock_proxy.h"

#define LINE_MAX_LEN 1024

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* A scalar: trimmed, one pair of quotes removed. false when it does not fit. */
static bool scalar(const char *p, const char *end, char *out, size_t cap)
{
	p = skip_space(p, end);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - p >= 2 && (*p == '"' || *p == '\'') && end[-1] == *p) {
		p++;
		end--;
	}
	if ((size_t)(end - p) >= cap)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

static bool is_integer(const char *v)
{
	char *e;
	if (!*v)
		return false;
	(void)strtoll(v, &e, 10);
	return !*e;
}

/* "key: value" into the entry; false for anything else. YAML types a plain
 * 443 as an integer and "443" as text: vsock_proxy wants an integer port
 * and a text address. */
static bool key_value(const char *p, const char *end, struct proxy_allow *a)
{
	const char *colon = memchr(p, ':', (size_t)(end - p));
	if (!colon)
		return false;
	char key[64], val[PROXY_ADDRESS_MAX];
	if (!scalar(p, colon, key, sizeof(key)) || !scalar(colon + 1, end, val, sizeof(val)) || !key[0])
		return false;
	const char *raw = skip_space(colon + 1, end);
	bool quoted = raw < end && (*raw == '"' || *raw == '\'');
	if (!strcmp(key, "address")) {
		a->has_address = quoted ||
			(val[0] && !is_integer(val) && strcmp(val, "~") && strcmp(val, "null"));
		snprintf(a->address, sizeof(a->address), "%s", val);
	} else if (!strcmp(key, "port")) {
		a->has_port = !quoted && is_integer(val);
		a->port = a->has_port ? strtoll(val, NULL, 10) : 0;
	}
	return true; /* other keys are ignored, as vsock_proxy ignores them */
}

/* "{k: v, k: v}" on one line. */
static bool flow_mapping(const char *p, const char *end, struct proxy_allow *a)
{
	p = skip_space(p, end);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - p < 2 || *p != '{' || end[-1] != '}')
		return false;
	p++;
	end--;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		if (skip_space(p, stop) < stop && !key_value(p, stop, a))
			return false;
		p = comma ? comma + 1 : end;
	}
	return true;
}

/* The line [p, end) without a trailing comment. */
static const char *cut_comment(const char *p, const char *end)
{
	char quote = 0;
	for (const char *q = p; q < end; q++) {
		if (quote) {
			quote = *q == quote ? 0 : quote;
		} else if (*q == '"' || *q == '\'') {
			quote = *q;
		} else if (*q == '#' && (q == p || q[-1] == ' ' || q[-1] == '\t')) {
			return q;
		}
	}
	return end;
}

static int add_item(struct proxy_allowlist *l, const char **why)
{
	if (l->n >= PROXY_ENTRIES_MAX) {
		*why = "Bad yaml format";
		return -1;
	}
	struct proxy_allow *grown = realloc(l->items, (size_t)(l->n + 1) * sizeof(*grown));
	if (!grown) {
		*why = "Could not read the file";
		return -1;
	}
	l->items = grown;
	memset(&l->items[l->n], 0, sizeof(l->items[0]));
	l->n++;
	return 0;
}

int proxy_allowlist_parse(const char *text, size_t len, struct proxy_allowlist *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	const char *p = text, *end = text + len;
	bool in_list = false, seen_list = false, list_is_seq = false;
	int item_indent = -1, key_indent = -1; /* the dashes' column, the item's keys' */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end, *next = nl ? nl + 1 : end;
		if (line_end - p > LINE_MAX_LEN || memchr(p, '\0', (size_t)(line_end - p)))
			goto bad;
		const char *stop = cut_comment(p, line_end);
		while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t' || stop[-1] == '\r'))
			stop--;
		const char *s = skip_space(p, stop);
		int indent = (int)(s - p);
		p = next;
		if (s == stop ||
		    (indent == 0 && stop - s >= 3 && (!memcmp(s, "---", 3) || !memcmp(s, "...", 3))))
			continue; /* blank, comment, document markers */
		if (indent == 0 && *s != '-') {
			/* A top-level key. */
			const char *colon = memchr(s, ':', (size_t)(stop - s));
			if (!colon)
				goto bad;
			char key[64];
			if (!scalar(s, colon, key, sizeof(key)))
				goto bad;
			in_list = !strcmp(key, "allowlist");
			if (in_list) {
				if (seen_list)
					goto bad; /* a key twice */
				seen_list = true;
				const char *v = skip_space(colon + 1, stop);
				/* An unclosed flow collection is a YAML error, not
				 * a value of another type. */
				if (v < stop &&
				    ((*v == '{' && stop[-1] != '}') || (*v == '[' && stop[-1] != ']')))
					goto bad;
				/* "allowlist: []" is an empty sequence; another
				 * value is no sequence at all. */
				list_is_seq = v == stop || (stop - v == 2 && v[0] == '[' && v[1] == ']');
			}
			continue;
		}
		if (!in_list)
			continue; /* another key's contents: not ours to read */
		if (*s == '-' && (s + 1 == stop || s[1] == ' ')) {
			if (!list_is_seq)
				goto bad;
			if (item_indent < 0)
				item_indent = indent;
			else if (indent != item_indent)
				goto bad;
			if (add_item(out, why) < 0)
				return -1;
			const char *rest = skip_space(s + 1, stop);
			key_indent = rest == stop ? -1 : indent + (int)(rest - s);
			if (rest == stop)
				continue;
			struct proxy_allow *a = &out->items[out->n - 1];
			if (*rest == '{' ? !flow_mapping(rest, stop, a) : !key_value(rest, stop, a))
				goto bad;
			continue;
		}
		/* A block mapping's next key, in the column of its first. */
		if (key_indent < 0 && indent > item_indent)
			key_indent = indent;
		if (!out->n || indent != key_indent || !key_value(s, stop, &out->items[out->n - 1]))
			goto bad;
	}
	if (!seen_list || !list_is_seq) {
		proxy_allowlist_free(out);
		*why = "No allowlist field";
		return -1;
	}
	return 0;
bad:
	proxy_allowlist_free(out);
	*why = "Bad yaml format";
	return -1;
}

void proxy_allowlist_free(struct proxy_allowlist *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* An IPv4 or IPv6 result of the type asked for (vsock_proxy's filter in
 * dns.rs resolve). */
static bool accepted(const struct addrinfo *a, enum proxy_ip type)
{
	if (a->ai_addrlen > sizeof(struct sockaddr_storage))
		return false;
	if (a->ai_family == AF_INET)
		return type != PROXY_IP_V6;
	return a->ai_family == AF_INET6 && type != PROXY_IP_V4;
}

int proxy_resolve(const char *host, enum proxy_ip type, struct sockaddr_storage *out, socklen_t *len,
		  const char **why)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
		*why = "DNS lookup failed!";
		return -1;
	}
	int rc = -1;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (!accepted(a, type))
			continue;
		memcpy(out, a->ai_addr, a->ai_addrlen);
		*len = a->ai_addrlen;
		rc = 0;
		break;
	}
	freeaddrinfo(res);
	if (rc < 0)
		*why = "No accepted IP was found.";
	return rc;
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr));
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

/* Whether any address name resolves to (of the type) is remote. */
static bool resolves_to(const char *name, enum proxy_ip type, const struct sockaddr_storage *remote)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return false;
	bool hit = false;
	for (struct addrinfo *a = res; a && !hit; a = a->ai_next) {
		if (!accepted(a, type))
			continue;
		struct sockaddr_storage s = {0};
		memcpy(&s, a->ai_addr, a->ai_addrlen);
		hit = same_ip(&s, remote);
	}
	freeaddrinfo(res);
	return hit;
}

int proxy_check_allowlist(const struct proxy_allowlist *l, const char *host, uint16_t port,
			  enum proxy_ip type, struct sockaddr_storage *addr, socklen_t *alen,
			  const char **why)
{
	/* The remote is resolved first: a name that does not resolve fails
	 * before any entry is looked at. */
	if (proxy_resolve(host, type, addr, alen, why) < 0)
		return -1;
	for (int i = 0; i < l->n; i++) {
		const struct proxy_allow *a = &l->items[i];
		if (!a->has_address) {
			*why = "No address field";
			return -1;
		}
		if (!a->has_port) {
			*why = "No port field or invalid type";
			return -1;
		}
		if ((uint16_t)a->port != port) /* vsock_proxy's `as u16` */
			continue;
		if (!strcmp(a->address, host) || resolves_to(a->address, type, addr))
			return 0;
	}
	*why = "The given address and port are not allowed";
	return -1;
}
