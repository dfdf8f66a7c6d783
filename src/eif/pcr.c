/* Stand-alone PCR values: of a file (nitro-cli pcr --input) and of a signing
 * certificate (PCR8, over its DER encoding). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/eif.h"
#include "carve/util.h"

#define PCR_CHUNK (1u << 20)

int eif_pcr8_of_cert(X509 *cert, uint8_t pcr8[PCR_LEN], struct carve_err *err)
{
	uint8_t *der, digest[SHA384_LEN];
	size_t len;
	if (cert_to_der(cert, &der, &len, err) < 0)
		return -1;
	sha384_oneshot(der, len, digest);
	free(der);
	pcr_from_digest(digest, pcr8);
	return 0;
}

int eif_pcr_of_file(const char *path, uint8_t pcr[PCR_LEN], struct carve_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Open': %s", path,
				  strerror(errno));
	struct stat st;
	struct sha384 h;
	uint8_t *buf = malloc(PCR_CHUNK);
	int rc = -1;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		carve_fail(err, E19_FILE_OPERATION, "'%s' is a directory", path);
		goto out_close;
	}
	if (!buf || sha384_init(&h) < 0) {
		carve_fail(err, E57_HASHER, "could not set up SHA-384");
		goto out_close;
	}
	struct progress prog;
	progress_begin(&prog, "Hashing", S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
	uint64_t done = 0;
	for (;;) {
		ssize_t n = read(fd, buf, PCR_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Read': %s", path,
				   strerror(errno));
			goto out_hash;
		}
		if (n == 0)
			break;
		sha384_update(&h, buf, (size_t)n);
		done += (uint64_t)n;
		progress_update(&prog, done);
	}
	uint8_t digest[SHA384_LEN];
	sha384_final(&h, digest);
	pcr_from_digest(digest, pcr);
	rc = 0;
out_hash:
	progress_end(&prog);
	sha384_free(&h);
out_close:
	free(buf);
	close(fd);
	return rc;
}
