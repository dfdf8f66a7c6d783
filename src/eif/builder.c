/* Building an EIF v4 (aws-nitro-enclaves-image-format, src/defs): header, kernel,
 * cmdline, metadata, ramdisks, optional signature, packed back to back.
 *
 * Inputs are streamed into a temporary file beside the output while the same
 * pass computes the CRC and the PCRs; the header is written last, when every
 * size is known, and its CRC is joined to the sections' with crc32_combine.
 * Only a complete image is renamed into place. */
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
#include "eif/metadata.h"

struct build_input {
	const char *path;
	int fd;
	uint64_t size;
};

struct build_state {
	const struct eif_build_opts *o;
	struct build_input kernel;
	struct build_input ramdisks[EIF_MAX_SECTIONS];
	char *metadata;
	size_t metadata_len;
	X509 *cert;
	uint8_t *cert_pem;
	size_t cert_pem_len;
	EVP_PKEY *key;
	struct eif_image img; /* the layout being written */
	char tmp_path[4096];
	int out_fd;
};

static int open_input(struct build_input *in, const char *path, const char *what, struct carve_err *err)
{
	in->path = path;
	in->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: refused below, not waited on */
	if (in->fd < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Open' (%s): %s",
				  path, what, strerror(errno));
	struct stat st;
	if (fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return carve_fail(err, E48_EIF_BUILDING, "the %s '%s' is not a regular file", what, path);
	in->size = (uint64_t)st.st_size;
	posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

static int check_options(const struct eif_build_opts *o, struct carve_err *err)
{
	if (!o->kernel_path)
		return carve_fail(err, E01_MISSING_ARGUMENT, "a kernel is required (--kernel)");
	if (!o->cmdline)
		return carve_fail(err, E01_MISSING_ARGUMENT, "a command line is required (--cmdline)");
	if (o->nramdisks < 1)
		return carve_fail(err, E01_MISSING_ARGUMENT, "at least one ramdisk is required (--ramdisk)");
	if (!o->output_path)
		return carve_fail(err, E01_MISSING_ARGUMENT, "an output file is required (--output-file)");
	/* kernel, cmdline, metadata, ramdisks, signature */
	if (o->nramdisks > EIF_MAX_SECTIONS - 4)
		return carve_fail(err, E48_EIF_BUILDING, "%d ramdisks given; an EIF holds at most %d",
				  o->nramdisks, EIF_MAX_SECTIONS - 4);
	if (!o->cert_path != !o->key_path)
		return carve_fail(err, E01_MISSING_ARGUMENT,
				  "--signing-certificate and --private-key go together");
	if (strlen(o->cmdline) > EIF_CMDLINE_MAX)
		return carve_fail(err, E48_EIF_BUILDING, "the command line is longer than %d bytes",
				  EIF_CMDLINE_MAX);
	return 0;
}

static int load_signer(struct build_state *b, time_t now, struct carve_err *err)
{
	const struct eif_build_opts *o = b->o;
	b->cert = cert_load_pem_file(o->cert_path, &b->cert_pem, &b->cert_pem_len, err);
	if (!b->cert)
		return -1;
	b->key = key_load_private_pem(o->key_path, err);
	if (!b->key)
		return -1;
	if (!key_cose_alg(b->key))
		return carve_fail(err, E60_EIF_SIGNING, "'%s' is not an EC key on P-256, P-384 or P-521",
				  o->key_path);
	if (!cert_matches_key(b->cert, b->key))
		return carve_fail(err, E60_EIF_SIGNING, "the private key '%s' does not belong to '%s'",
				  o->key_path, o->cert_path);
	/* An image signed with a certificate outside its window cannot run
	 * (run-enclave refuses it with E59): refuse now, not at launch. */
	struct carve_err verr = {0};
	if (cert_check_validity(b->cert, now, &verr, E60_EIF_SIGNING) < 0)
		return carve_fail(err, E60_EIF_SIGNING, "'%s': %s", o->cert_path, verr.msg);
	return 0;
}

/* Adds a section to the layout; returns its payload offset. */
static uint64_t layout_add(struct eif_image *img, uint16_t type, uint64_t size, uint64_t *end)
{
	struct eif_section *s = &img->sections[img->nsections++];
	s->type = type;
	s->offset = *end;
	s->size = size;
	*end = s->offset + EIF_SECTION_HEADER_SIZE + size;
	return s->offset + EIF_SECTION_HEADER_SIZE;
}

static int write_section_header(struct build_state *b, struct eif_pump *p, const struct eif_section *s,
				struct carve_err *err)
{
	uint8_t sh[EIF_SECTION_HEADER_SIZE];
	eif_section_header_encode(s->type, s->size, sh);
	eif_pump_bytes(p, sh, sizeof(sh), EIF_ROLE_CRC_ONLY);
	int rc = pwrite_full(b->out_fd, sh, sizeof(sh), s->offset);
	if (rc < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s",
				  b->tmp_path, strerror(-rc));
	return 0;
}

static int write_bytes(struct build_state *b, struct eif_pump *p, const void *data, size_t len, uint64_t off,
		       enum eif_role role, struct carve_err *err)
{
	eif_pump_bytes(p, data, len, role);
	int rc = pwrite_full(b->out_fd, data, len, off);
	if (rc < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s",
				  b->tmp_path, strerror(-rc));
	return 0;
}

static int copy_input(struct build_state *b, struct eif_pump *p, struct build_input *in, uint64_t off,
		      enum eif_role role, struct carve_err *err)
{
	int rc = eif_pump_fd(p, in->fd, 0, in->size, role, b->out_fd, off);
	if (rc == -EIO)
		return carve_fail(err, E48_EIF_BUILDING, "'%s' shrank while it was being read", in->path);
	if (rc < 0)
		return carve_fail(err, E19_FILE_OPERATION, "copying '%s' into the image: %s", in->path,
				  strerror(-rc));
	return 0;
}

/* Streams every section but the signature; returns the sections' CRC and
 * the measurements. */
static int write_sections(struct build_state *b, uint32_t *crc, struct eif_measurements *m,
			  struct carve_err *err)
{
	struct eif_image *img = &b->img;
	const struct eif_section *last = &img->sections[img->nsections - 1];
	uint64_t total = eif_section_payload(last) + last->size;
	struct eif_pump pump;
	if (eif_pump_init(&pump, "Building image", total, b->o->show_progress) < 0)
		return carve_fail(err, E57_HASHER, "could not set up SHA-384");
	int rc = -1;
	size_t rd = 0;
	for (int i = 0; i < img->nsections; i++) {
		const struct eif_section *s = &img->sections[i];
		if (s->type == EIF_SECTION_SIGNATURE)
			break;
		if (write_section_header(b, &pump, s, err) < 0)
			goto out;
		uint64_t off = eif_section_payload(s);
		int r = 0;
		switch (s->type) {
		case EIF_SECTION_KERNEL: r = copy_input(b, &pump, &b->kernel, off, EIF_ROLE_BOOT, err); break;
		case EIF_SECTION_CMDLINE:
			r = write_bytes(b, &pump, b->o->cmdline, (size_t)s->size, off, EIF_ROLE_BOOT, err);
			break;
		case EIF_SECTION_METADATA:
			r = write_bytes(b, &pump, b->metadata, b->metadata_len, off, EIF_ROLE_CRC_ONLY, err);
			break;
		case EIF_SECTION_RAMDISK:
			r = copy_input(b, &pump, &b->ramdisks[rd], off,
				       rd == 0 ? EIF_ROLE_BOOT : EIF_ROLE_APP, err);
			rd++;
			break;
		}
		if (r < 0)
			goto out;
	}
	eif_pump_finish(&pump, crc, m);
	rc = 0;
out:
	eif_pump_free(&pump);
	return rc;
}

static int create_temp(struct build_state *b, struct carve_err *err)
{
	char *copy = strdup(b->o->output_path);
	if (!copy)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	char *dir_copy = strdup(copy), *base_copy = strdup(copy);
	int n = snprintf(b->tmp_path, sizeof(b->tmp_path), "%s/.%s.XXXXXX", dirname(dir_copy),
			 basename(base_copy));
	free(copy);
	free(dir_copy);
	free(base_copy);
	if (n >= (int)sizeof(b->tmp_path))
		return carve_fail(err, E48_EIF_BUILDING, "the output path is too long");
	b->out_fd = mkostemp(b->tmp_path, O_CLOEXEC);
	if (b->out_fd < 0) {
		int e = errno;
		b->tmp_path[0] = '\0';
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Create': %s",
				  b->o->output_path, strerror(e));
	}
	/* mkstemp makes 0600; an image is not secret, give it the usual mode. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(b->out_fd, 0666 & ~mask);
	return 0;
}

static void build_state_free(struct build_state *b)
{
	if (b->kernel.fd >= 0)
		close(b->kernel.fd);
	for (int i = 0; i < b->o->nramdisks && i < EIF_MAX_SECTIONS; i++)
		if (b->ramdisks[i].fd >= 0)
			close(b->ramdisks[i].fd);
	if (b->out_fd >= 0)
		close(b->out_fd);
	if (b->tmp_path[0])
		unlink(b->tmp_path);
	free(b->metadata);
	X509_free(b->cert);
	free(b->cert_pem);
	EVP_PKEY_free(b->key);
}

int eif_build(const struct eif_build_opts *o, struct eif_measurements *m, struct carve_err *err)
{
	if (check_options(o, err) < 0)
		return -1;
	struct build_state b = {.o = o, .out_fd = -1, .kernel.fd = -1};
	for (int i = 0; i < EIF_MAX_SECTIONS; i++)
		b.ramdisks[i].fd = -1;
	int rc = -1;
	time_t now = time(NULL);

	if (open_input(&b.kernel, o->kernel_path, "kernel", err) < 0)
		goto out;
	if (b.kernel.size == 0) {
		carve_fail(err, E48_EIF_BUILDING, "the kernel '%s' is empty", o->kernel_path);
		goto out;
	}
	for (int i = 0; i < o->nramdisks; i++)
		if (open_input(&b.ramdisks[i], o->ramdisk_paths[i], "ramdisk", err) < 0)
			goto out;
	if (eif_metadata_build(o, b.kernel.fd, &b.metadata, &b.metadata_len, err) < 0)
		goto out;
	if (o->cert_path && load_signer(&b, now, err) < 0)
		goto out;

	struct eif_image *img = &b.img;
	img->version = EIF_CURRENT_VERSION;
	img->flags = o->arm64 ? EIF_FLAG_ARCH_ARM64 : 0;
	img->default_mem = EIF_DEFAULT_MEM;
	img->default_cpus = EIF_DEFAULT_CPUS;
	uint64_t end = EIF_HEADER_SIZE;
	layout_add(img, EIF_SECTION_KERNEL, b.kernel.size, &end);
	layout_add(img, EIF_SECTION_CMDLINE, strlen(o->cmdline), &end);
	layout_add(img, EIF_SECTION_METADATA, b.metadata_len, &end);
	for (int i = 0; i < o->nramdisks; i++)
		layout_add(img, EIF_SECTION_RAMDISK, b.ramdisks[i].size, &end);
	if (create_temp(&b, err) < 0)
		goto out;
	uint32_t crc_sections;
	memset(m, 0, sizeof(*m));
	if (write_sections(&b, &crc_sections, m, err) < 0)
		goto out;
	uint64_t sections_len = end - EIF_HEADER_SIZE;

	if (b.key) {
		uint8_t *sig;
		size_t sig_len;
		if (eif_signature_encode(b.cert, b.cert_pem, b.cert_pem_len, b.key, m->pcr0, &sig, &sig_len,
					 err) < 0)
			goto out;
		uint64_t sig_off = layout_add(img, EIF_SECTION_SIGNATURE, sig_len, &end);
		uint8_t sh[EIF_SECTION_HEADER_SIZE];
		eif_section_header_encode(EIF_SECTION_SIGNATURE, sig_len, sh);
		crc_sections = crc32_fast(crc_sections, sh, sizeof(sh));
		crc_sections = crc32_fast(crc_sections, sig, sig_len);
		sections_len += EIF_SECTION_HEADER_SIZE + sig_len;
		int w = pwrite_full(b.out_fd, sh, sizeof(sh), sig_off - EIF_SECTION_HEADER_SIZE);
		if (w == 0)
			w = pwrite_full(b.out_fd, sig, sig_len, sig_off);
		free(sig);
		if (w < 0) {
			carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s",
				   b.tmp_path, strerror(-w));
			goto out;
		}
		if (eif_pcr8_of_cert(b.cert, m->pcr8, err) < 0)
			goto out;
		m->has_pcr8 = true;
	}

	uint8_t hdr[EIF_HEADER_SIZE];
	eif_header_encode(img, hdr);
	be32_put(hdr + EIF_CRC_OFFSET, eif_crc_join(hdr, crc_sections, sections_len));
	int w = pwrite_full(b.out_fd, hdr, sizeof(hdr), 0);
	if (w == 0 && fdatasync(b.out_fd) < 0)
		w = -errno;
	if (w < 0) {
		carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s", b.tmp_path,
			   strerror(-w));
		goto out;
	}
	if (rename(b.tmp_path, o->output_path) < 0) {
		carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Rename': %s",
			   o->output_path, strerror(errno));
		goto out;
	}
	b.tmp_path[0] = '\0';
	rc = 0;
out:
	build_state_free(&b);
	return rc;
}
