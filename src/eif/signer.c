/* sign-eif: add or replace the signature section of an existing image.
 *
 * The whole image is checked first (structure, CRC, PCR0); nothing is written
 * unless every check and the signing itself succeeded. When the signature is
 * the last section (or absent), which is how AWS's and carve's builders lay
 * images out, the new section is written in place at the end and the header
 * rewritten. Otherwise the image is rebuilt into a temporary file and renamed
 * over the original. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "eif/format.h"
#include "eif/signature.h"

#define IO_FAIL(path, op, rc)                                                                    \
	carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: '%s': %s", path, op, \
		   strerror(-(rc)))

/* Rewrites the signature section at the end of the open image. */
static int sign_in_place(struct eif_image *img, const struct eif_report *rep, const uint8_t *sig,
			 size_t sig_len, struct carve_err *err)
{
	int keep = img->signature >= 0 ? img->signature : img->nsections;
	if (keep >= EIF_MAX_SECTIONS)
		return carve_fail(err, E60_EIF_SIGNING,
				  "the image already has %d sections; no room "
				  "for a signature",
				  EIF_MAX_SECTIONS);
	uint64_t sig_hdr_off = img->signature >= 0 ? img->sections[img->signature].offset : img->file_size;
	img->nsections = keep + 1;
	img->signature = keep;
	img->sections[keep] = (struct eif_section){
		.type = EIF_SECTION_SIGNATURE,
		.offset = sig_hdr_off,
		.size = sig_len,
	};
	uint8_t sh[EIF_SECTION_HEADER_SIZE];
	eif_section_header_encode(EIF_SECTION_SIGNATURE, sig_len, sh);
	uint32_t crc = crc32_fast(rep->crc_unsigned_sections, sh, sizeof(sh));
	crc = crc32_fast(crc, sig, sig_len);
	uint64_t new_size = sig_hdr_off + EIF_SECTION_HEADER_SIZE + sig_len;

	uint8_t hdr[EIF_HEADER_SIZE];
	eif_header_encode(img, hdr);
	be32_put(hdr + EIF_CRC_OFFSET, eif_crc_join(hdr, crc, new_size - EIF_HEADER_SIZE));

	/* Section first, header last: until the header is written the old
	 * header still describes a consistent prefix of the file. */
	int rc = pwrite_full(img->fd, sh, sizeof(sh), sig_hdr_off);
	if (rc == 0)
		rc = pwrite_full(img->fd, sig, sig_len, sig_hdr_off + EIF_SECTION_HEADER_SIZE);
	if (rc == 0 && ftruncate(img->fd, (off_t)new_size) < 0)
		rc = -errno;
	if (rc == 0)
		rc = pwrite_full(img->fd, hdr, sizeof(hdr), 0);
	if (rc == 0 && fdatasync(img->fd) < 0)
		rc = -errno;
	if (rc < 0)
		return IO_FAIL(img->path, "Write", rc);
	return 0;
}

/* The general case: copy every section but the old signature into a new
 * file, append the new signature, rename over the original. */
static int sign_by_copy(struct eif_image *img, const char *path, const uint8_t *sig, size_t sig_len,
			struct carve_err *err)
{
	char tmp[4096];
	char *d = strdup(path), *b = strdup(path);
	int n = d && b ? snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dirname(d), basename(b)) : -1;
	free(d);
	free(b);
	if (n < 0 || n >= (int)sizeof(tmp))
		return carve_fail(err, E60_EIF_SIGNING, "the image path is too long");
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return IO_FAIL(path, "Create", -errno);
	struct stat st;
	if (fstat(img->fd, &st) == 0)
		fchmod(fd, st.st_mode & 07777);

	struct eif_image out = *img;
	out.nsections = 0;
	uint64_t end = EIF_HEADER_SIZE;
	struct eif_pump pump;
	int rc = -1;
	if (eif_pump_init(&pump, "Signing image", img->file_size, false) < 0) {
		carve_fail(err, E57_HASHER, "could not set up the CRC");
		goto out_fd;
	}
	for (int i = 0; i <= img->nsections; i++) {
		bool is_new = i == img->nsections;
		if (!is_new && i == img->signature)
			continue;
		const struct eif_section *s = is_new ? NULL : &img->sections[i];
		struct eif_section *o = &out.sections[out.nsections++];
		o->type = is_new ? EIF_SECTION_SIGNATURE : s->type;
		o->size = is_new ? sig_len : s->size;
		o->offset = end;
		end += EIF_SECTION_HEADER_SIZE + o->size;
		uint8_t sh[EIF_SECTION_HEADER_SIZE];
		eif_section_header_encode(o->type, o->size, sh);
		eif_pump_bytes(&pump, sh, sizeof(sh), EIF_ROLE_CRC_ONLY);
		int w = pwrite_full(fd, sh, sizeof(sh), o->offset);
		if (w == 0 && is_new) {
			eif_pump_bytes(&pump, sig, sig_len, EIF_ROLE_CRC_ONLY);
			w = pwrite_full(fd, sig, sig_len, eif_section_payload(o));
		} else if (w == 0) {
			w = eif_pump_fd(&pump, img->fd, eif_section_payload(s), s->size, EIF_ROLE_CRC_ONLY,
					fd, eif_section_payload(o));
		}
		if (w < 0) {
			IO_FAIL(tmp, "Write", w);
			goto out_pump;
		}
	}
	uint32_t crc;
	struct eif_measurements unused;
	eif_pump_finish(&pump, &crc, &unused);
	uint8_t hdr[EIF_HEADER_SIZE];
	eif_header_encode(&out, hdr);
	be32_put(hdr + EIF_CRC_OFFSET, eif_crc_join(hdr, crc, end - EIF_HEADER_SIZE));
	int w = pwrite_full(fd, hdr, sizeof(hdr), 0);
	if (w == 0 && fdatasync(fd) < 0)
		w = -errno;
	if (w == 0 && rename(tmp, path) < 0)
		w = -errno;
	if (w < 0) {
		IO_FAIL(path, "Write", w);
		goto out_pump;
	}
	tmp[0] = '\0';
	rc = 0;
out_pump:
	eif_pump_free(&pump);
out_fd:
	close(fd);
	if (tmp[0])
		unlink(tmp);
	return rc;
}

int eif_sign_file(const char *path, const char *cert_path, const char *key_path, time_t now,
		  struct eif_measurements *m, struct carve_err *err)
{
	uint8_t *pem = NULL, *sig = NULL;
	size_t pem_len, sig_len;
	EVP_PKEY *key = NULL;
	struct eif_image img = {.fd = -1};
	struct eif_report rep = {0};
	int rc = -1;

	X509 *cert = cert_load_pem_file(cert_path, &pem, &pem_len, err);
	if (!cert)
		goto out;
	if (!(key = key_load_private_pem(key_path, err)))
		goto out;
	struct carve_err verr = {0};
	if (cert_check_validity(cert, now, &verr, E60_EIF_SIGNING) < 0) {
		carve_fail(err, E60_EIF_SIGNING, "'%s': %s", cert_path, verr.msg);
		goto out;
	}

	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		IO_FAIL(path, "Open", -errno);
		goto out;
	}
	if (eif_open_fd(&img, fd, path, err) < 0) {
		close(fd);
		goto out;
	}
	img.owns_fd = true;
	if (eif_verify(&img, now, true, &rep, err) < 0)
		goto out;
	if (!rep.crc_ok) {
		carve_fail(err, E35_EIF_PARSING,
			   "'%s' fails its CRC check (stored %08x, computed %08x); "
			   "refusing to sign a damaged image",
			   path, img.crc_stored, rep.crc_computed);
		goto out;
	}
	if (eif_signature_encode(cert, pem, pem_len, key, rep.m.pcr0, &sig, &sig_len, err) < 0)
		goto out;

	bool sig_is_last = img.signature < 0 || img.signature == img.nsections - 1;
	if (sig_is_last ? sign_in_place(&img, &rep, sig, sig_len, err)
			: sign_by_copy(&img, path, sig, sig_len, err))
		goto out;
	*m = rep.m;
	if (eif_pcr8_of_cert(cert, m->pcr8, err) < 0)
		goto out;
	m->has_pcr8 = true;
	rc = 0;
out:
	eif_report_free(&rep);
	eif_close(&img);
	X509_free(cert);
	EVP_PKEY_free(key);
	free(pem);
	free(sig);
	return rc;
}
