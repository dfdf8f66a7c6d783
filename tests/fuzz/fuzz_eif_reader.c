/* libFuzzer target: the whole EIF read path on arbitrary bytes, the way
 * describe-eif and the loader use it: open (structure checks), then the full
 * streaming verify (CRC, PCRs, metadata, signature section CBOR and COSE). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "carve/eif.h"
#include "carve/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.eif", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write_full(fd, data, size) < 0) {
		close(fd);
		return 0;
	}
	struct eif_image img;
	struct carve_err err = {0};
	if (eif_open_fd(&img, fd, "fuzz.eif", &err) == 0) {
		struct eif_report rep;
		if (eif_verify(&img, 1700000000, false, &rep, &err) == 0)
			eif_report_free(&rep);
		uint8_t *section;
		size_t len;
		carve_err_clear(&err);
		if (eif_read_section(&img, img.cmdline, EIF_CMDLINE_MAX, &section, &len, &err) == 0)
			free(section);
		eif_close(&img);
	}
	close(fd);
	return 0;
}
