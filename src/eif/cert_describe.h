/* describe-eif's "SigningCertificate", as nitro-cli builds it from the
 * signing certificate (aws-nitro-enclaves-image-format
 * src/utils/eif_reader.rs get_certificate_info, SignCertificateInfo). */
#ifndef CARVE_EIF_CERT_DESCRIBE_H
#define CARVE_EIF_CERT_DESCRIBE_H

#include <openssl/x509.h>
#include <stddef.h>

struct json_object;

/* {"IssuerName", "Algorithm", "NotBefore", "NotAfter", "Signature"} in that
 * order; NULL when out of memory. */
struct json_object *eif_cert_describe(X509 *cert);

/* An X.509 name as nitro-cli's map: each attribute's OpenSSL long name
 * ("commonName"; the dotted OID when OpenSSL has no name for it) to its value
 * in Rust's Debug form with every '"' removed; keys in byte order (a
 * BTreeMap), a repeated attribute keeping its last value. */
struct json_object *eif_cert_name_json(const X509_NAME *name);

/* format!("{:?}", s) of a UTF-8 string with the '"' characters taken out
 * (.replace(&['"'][..], "")): malloc'ed, NULL when out of memory. */
char *rust_debug_unquoted(const char *utf8, size_t len);

#endif
