/* The host's words for sub-page protection (carve vmm --protect,
 * --subpage-policy): user-controlled text, parsed strictly. */
#include <string.h>

#include "vmm/vmm_internal.h"

/* 2^48: the most guest physical space any x86 KVM gives. */
#define PROTECT_LIMIT (1ull << 48)

/* One number, decimal or 0x hex, nothing else (no sign, no spaces, no
 * octal, no overflow); ends at `stop` or the string's end. Returns the
 * characters used, 0 when there is no valid number there. */
static size_t number(const char *s, char stop, uint64_t *out)
{
	size_t i = 0;
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	size_t start = i;
	uint64_t v = 0;
	for (;; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return 0;
		v = v * base + d;
	}
	if (i == start || (s[i] != stop && s[i] != '\0'))
		return 0;
	/* "0123" would read as octal in C: refuse the ambiguity. */
	if (base == 10 && i - start > 1 && s[start] == '0')
		return 0;
	*out = v;
	return i;
}

int vmm_parse_protect(const char *text, struct vmm_protect *out, struct carve_err *err)
{
	uint64_t gpa, len;
	size_t a = number(text, ':', &gpa);
	if (!a || text[a] != ':')
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "'--protect %s': give GPA:LEN[:ro|:rw], numbers in decimal or 0x hex",
				  text);
	size_t b = number(text + a + 1, ':', &len);
	if (!b)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "'--protect %s': the length after ':' is not a decimal or 0x hex number",
				  text);
	const char *mode = text + a + 1 + b;
	bool writable = false;
	if (!strcmp(mode, ":rw"))
		writable = true;
	else if (*mode && strcmp(mode, ":ro") != 0)
		return carve_fail(err, E03_INVALID_ARGUMENT, "'--protect %s': the mode is ro or rw, not '%s'",
				  text, mode + 1);
	if (len == 0 || gpa % SUBPAGE_SIZE || len % SUBPAGE_SIZE)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "'--protect %s': address and length must be multiples of %u (sub-pages), "
				  "the length not 0",
				  text, SUBPAGE_SIZE);
	if (gpa >= PROTECT_LIMIT || len > PROTECT_LIMIT - gpa)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "'--protect %s': the range ends beyond 2^48, above any guest RAM", text);
	*out = (struct vmm_protect){.gpa = gpa, .len = len, .writable = writable};
	return 0;
}

int vmm_parse_subpage_policy(const char *text, enum vmm_subpage_policy *out, struct carve_err *err)
{
	if (!strcmp(text, "refuse"))
		*out = VMM_SUBPAGE_REFUSE;
	else if (!strcmp(text, "stop"))
		*out = VMM_SUBPAGE_STOP;
	else
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "'--subpage-policy %s': use 'refuse' (drop the write, run on) or 'stop'",
				  text);
	return 0;
}
