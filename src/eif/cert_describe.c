/* describe-eif's SigningCertificate (see cert_describe.h). Each field is
 * what the Rust openssl crate's formatting gives:
 *  - keys and Algorithm: Asn1ObjectRef's Display, OBJ_obj2txt(.., 0): the
 *    long name, or the dotted OID;
 *  - values: Asn1StringRef's Debug, the str Debug of ASN1_STRING_to_UTF8's
 *    result ("error" when that fails), then '"' removed;
 *  - NotBefore/NotAfter: Asn1TimeRef's Display, ASN1_TIME_print;
 *  - Signature: {:02X?} of the bytes, "[" "]" removed, ", " made ":". */
#include <json-c/json.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/json_serde.h"
#include "eif/cert_describe.h"

/* One UTF-8 code point at s (n bytes left); *len its length. Bytes that are
 * not UTF-8 cannot come from ASN1_STRING_to_UTF8; they are taken one at a
 * time as themselves. */
static uint32_t next_char(const unsigned char *s, size_t n, size_t *len)
{
	uint32_t c = s[0];
	size_t need = c < 0x80       ? 1
		: (c & 0xe0) == 0xc0 ? 2
		: (c & 0xf0) == 0xe0 ? 3
		: (c & 0xf8) == 0xf0 ? 4
				     : 1;
	if (need == 1 || need > n) {
		*len = 1;
		return c;
	}
	c &= 0x7fu >> need;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*len = 1;
			return s[0];
		}
		c = c << 6 | (s[i] & 0x3f);
	}
	*len = need;
	return c;
}

/* Rust's char::is_printable and grapheme-extend test, for what a name
 * holds: ASCII exactly; beyond it the C1 controls, U+00AD and the
 * combining marks (U+0300..U+036F, U+200B..U+200F, U+2028..U+202E,
 * U+FEFF) are escaped, the rest printed. Rust's full Unicode tables escape
 * a few more rare code points. */
static bool printable(uint32_t c)
{
	if (c < 0x20 || c == 0x7f)
		return false;
	if (c < 0x80)
		return true;
	if (c < 0xa0 || c == 0xad || (c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0x2028 && c <= 0x202e) || c == 0xfeff)
		return false;
	return true;
}

char *rust_debug_unquoted(const char *utf8, size_t len)
{
	/* At most "\u{10ffff}" (10 bytes) for each input byte. */
	char *out = malloc(len * 10 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)utf8;
	for (size_t i = 0; i < len;) {
		size_t n;
		uint32_t c = next_char(s + i, len - i, &n);
		switch (c) {
		case '\0': memcpy(out + o, "\\0", 2), o += 2; break;
		case '\t': memcpy(out + o, "\\t", 2), o += 2; break;
		case '\r': memcpy(out + o, "\\r", 2), o += 2; break;
		case '\n': memcpy(out + o, "\\n", 2), o += 2; break;
		case '\\': memcpy(out + o, "\\\\", 2), o += 2; break;
		/* Debug writes \" and the replace drops the quote: a lone '\'. */
		case '"': out[o++] = '\\'; break;
		default:
			if (printable(c)) {
				memcpy(out + o, s + i, n);
				o += n;
			} else {
				o += (size_t)sprintf(out + o, "\\u{%x}", c);
			}
		}
		i += n;
	}
	out[o] = '\0';
	return out;
}

static char *object_text(const ASN1_OBJECT *obj)
{
	int n = OBJ_obj2txt(NULL, 0, obj, 0);
	if (n < 0)
		return strdup("error");
	char *text = malloc((size_t)n + 1);
	if (text && OBJ_obj2txt(text, n + 1, obj, 0) < 0) {
		free(text);
		return strdup("error");
	}
	return text;
}

json_object *eif_cert_name_json(const X509_NAME *name)
{
	json_object *map = json_object_new_object();
	if (!map)
		return NULL;
	/* A json-c object replaces a key's value in place, as BTreeMap::insert;
	 * the sorted copy then gives BTreeMap's order. */
	for (int i = 0; i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		char *key = object_text(X509_NAME_ENTRY_get_object(e));
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
		char *val = n >= 0 ? rust_debug_unquoted((const char *)utf8, (size_t)n) : strdup("error");
		OPENSSL_free(utf8);
		if (key && val)
			json_object_object_add(map, key, json_object_new_string(val));
		free(key);
		free(val);
	}
	json_object *sorted = json_sorted_copy(map);
	json_object_put(map);
	return sorted;
}

static json_object *time_json(const ASN1_TIME *t)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char buf[64] = "";
	if (bio && ASN1_TIME_print(bio, t) == 1) {
		int n = BIO_read(bio, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	BIO_free(bio);
	return json_object_new_string(buf);
}

json_object *eif_cert_describe(X509 *cert)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "IssuerName", eif_cert_name_json(X509_get_issuer_name(cert)));

	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *alg;
	X509_get0_signature(&sig, &alg, cert);
	const ASN1_OBJECT *alg_obj;
	X509_ALGOR_get0(&alg_obj, NULL, NULL, alg);
	char *alg_text = object_text(alg_obj);
	json_object_object_add(o, "Algorithm", json_object_new_string(alg_text ? alg_text : ""));
	free(alg_text);
	json_object_object_add(o, "NotBefore", time_json(X509_get0_notBefore(cert)));
	json_object_object_add(o, "NotAfter", time_json(X509_get0_notAfter(cert)));

	int len = ASN1_STRING_length(sig);
	const unsigned char *p = ASN1_STRING_get0_data(sig);
	char *hex = malloc((size_t)(len > 0 ? len : 0) * 3 + 1);
	if (hex) {
		size_t pos = 0;
		hex[0] = '\0';
		for (int i = 0; i < len; i++)
			pos += (size_t)sprintf(hex + pos, i ? ":%02X" : "%02X", p[i]);
		json_object_object_add(o, "Signature", json_object_new_string(hex));
		free(hex);
	}
	return o;
}
