/* The Enclave Image File format (aws-nitro-enclaves-image-format, src/defs).
 *
 * An EIF is a 548-byte big-endian header, then sections packed back to back,
 * each a 12-byte section header and its payload. carve reads EIFs streaming:
 * the file is never held in memory whole; one pass checks the CRC and
 * computes PCR0/1/2 together.
 */
#ifndef CARVE_EIF_H
#define CARVE_EIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "carve/crypto.h"
#include "carve/error.h"

#define EIF_MAGIC "\x2e\x65\x69\x66" /* ".eif" */
#define EIF_CURRENT_VERSION 4
#define EIF_HEADER_SIZE 548
#define EIF_CRC_OFFSET 544
#define EIF_SECTION_HEADER_SIZE 12
#define EIF_MAX_SECTIONS 32
#define EIF_FLAG_ARCH_ARM64 0x1
#define EIF_DEFAULT_MEM (1ull << 30)
#define EIF_DEFAULT_CPUS 2

/* Bounds for sections carve keeps in memory. */
#define EIF_CMDLINE_MAX (64 * 1024)
#define EIF_METADATA_MAX (1024 * 1024)
#define EIF_SIGNATURE_MAX (64 * 1024)
#define EIF_USER_METADATA_MAX 4096 /* --metadata file, as nitro-cli */

enum eif_section_type {
	EIF_SECTION_INVALID = 0,
	EIF_SECTION_KERNEL = 1,
	EIF_SECTION_CMDLINE = 2,
	EIF_SECTION_RAMDISK = 3,
	EIF_SECTION_SIGNATURE = 4,
	EIF_SECTION_METADATA = 5,
};

struct eif_section {
	uint16_t type;
	uint16_t flags;
	uint64_t offset; /* file offset of the 12-byte section header */
	uint64_t size;   /* payload size */
};

static inline uint64_t eif_section_payload(const struct eif_section *s)
{
	return s->offset + EIF_SECTION_HEADER_SIZE;
}

/* An EIF whose header and section table have been checked (eif_open). */
struct eif_image {
	int fd;
	bool owns_fd; /* opened by eif_open, closed by eif_close */
	char *path;
	uint64_t file_size;
	uint16_t version;
	uint16_t flags;
	uint64_t default_mem;
	uint64_t default_cpus;
	uint32_t crc_stored;
	uint8_t header[EIF_HEADER_SIZE];
	int nsections;
	struct eif_section sections[EIF_MAX_SECTIONS];
	int kernel; /* index into sections */
	int cmdline;
	int metadata;  /* -1 if absent */
	int signature; /* -1 if absent */
	int nramdisks;
	int ramdisks[EIF_MAX_SECTIONS];
};

struct eif_measurements {
	uint8_t pcr0[PCR_LEN];
	uint8_t pcr1[PCR_LEN];
	uint8_t pcr2[PCR_LEN];
	uint8_t pcr8[PCR_LEN];
	bool has_pcr8;
};

/* What a full check of an image found (eif_verify). */
struct eif_report {
	struct eif_measurements m;
	uint32_t crc_computed;
	bool crc_ok;
	/* CRC of the section bytes (from offset 548) before the signature
	 * section, or of all of them when unsigned: what signing builds on. */
	uint32_t crc_unsigned_sections;
	/* Signature section, when present. */
	bool is_signed;
	bool signature_ok;           /* COSE valid under the cert and payload == PCR0 */
	bool cert_valid_now;         /* inside notBefore..notAfter at verify time */
	char signature_problem[256]; /* why signature_ok or cert_valid_now is false */
	X509 *cert;                  /* the signing certificate (owned) */
	uint8_t *cert_pem;           /* as stored in the image */
	size_t cert_pem_len;
	/* Metadata section JSON, NUL-terminated, when present. */
	char *metadata;
	size_t metadata_len;
};

/* Open and check the structure: header, version, flags, section table (inside
 * the file, packed, no overlap, known types), exactly one kernel and cmdline,
 * at least one ramdisk. No payload is read. E35 on any defect. */
int eif_open(struct eif_image *img, const char *path, struct carve_err *err);
/* Same on an already open descriptor (not closed by eif_close). */
int eif_open_fd(struct eif_image *img, int fd, const char *name, struct carve_err *err);
void eif_close(struct eif_image *img);

/* One streaming pass: CRC, PCR0/1/2, metadata and signature sections, PCR8 and
 * the signature check at time `now`. Returns 0 with the report filled even when
 * the CRC or signature is wrong (the report says so); -1 on I/O errors or when
 * the signature section is malformed. show_progress draws a TTY progress line. */
int eif_verify(struct eif_image *img, time_t now, bool show_progress, struct eif_report *rep,
	       struct carve_err *err);
void eif_report_free(struct eif_report *rep);

/* Read one section's payload (bounded by max) into a malloc'ed buffer. */
int eif_read_section(struct eif_image *img, int index, size_t max, uint8_t **data, size_t *len,
		     struct carve_err *err);

/* PCR8 of a certificate: SHA384(Z || SHA384(DER)). */
int eif_pcr8_of_cert(X509 *cert, uint8_t pcr8[PCR_LEN], struct carve_err *err);
/* PCR of any file: SHA384(Z || SHA384(bytes)), streamed. */
int eif_pcr_of_file(const char *path, uint8_t pcr[PCR_LEN], struct carve_err *err);

/* ---- building (builder.c) ---- */

struct eif_build_opts {
	const char *kernel_path;
	const char *cmdline;
	const char **ramdisk_paths;
	int nramdisks;
	const char *output_path;
	const char *image_name;    /* NULL: output file name without .eif */
	const char *image_version; /* NULL: "1.0" */
	const char *metadata_path; /* user JSON, at most 4096 bytes; NULL: none */
	const char *docker_info;   /* JSON object for DockerInfo (an image's inspect data); NULL: null */
	const char *build_tool;    /* NULL: "carve" */
	const char *build_tool_version;
	time_t build_time; /* -1: now, or SOURCE_DATE_EPOCH when set */
	bool arm64;        /* header flag; carve runs x86-64 only */
	/* Signing: both or neither. */
	const char *cert_path;
	const char *key_path;
	bool show_progress;
};

/* Writes the EIF to a temporary file beside output_path and renames it into
 * place, so a failure leaves no partial file and never clobbers an existing
 * one. Fills *m with the measurements (PCR8 when signed). E48 on bad input,
 * E60 on signing problems. */
int eif_build(const struct eif_build_opts *o, struct eif_measurements *m, struct carve_err *err);

/* ---- signing (signer.c) ---- */

/* Adds or replaces the signature section of the EIF at path, after checking
 * the whole image; the CRC is fixed. The certificate must be valid at `now`.
 * Fills *m (with PCR8). Nothing is written if any check fails. */
int eif_sign_file(const char *path, const char *cert_path, const char *key_path, time_t now,
		  struct eif_measurements *m, struct carve_err *err);

/* Encodes the signature section payload for PCR0 (CBOR array of one
 * PcrSignature, byte fields as arrays of uints, the serde quirk). */
int eif_signature_encode(X509 *cert, const uint8_t *cert_pem, size_t cert_pem_len, EVP_PKEY *key,
			 const uint8_t pcr0[PCR_LEN], uint8_t **out, size_t *out_len, struct carve_err *err);

#endif
