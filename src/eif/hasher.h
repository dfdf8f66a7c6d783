/* Private to the eif part: computes the EIF CRC-32 and PCR0/1/2 in one pass.
 *
 * PCR0 hashes every kernel, cmdline and ramdisk payload; PCR1 the boot part
 * (kernel, cmdline, first ramdisk); PCR2 the application ramdisks. PCR0 and
 * PCR1 share their prefix, so PCR1 is a snapshot of PCR0's state taken when
 * the first application byte arrives. Application bytes must be hashed twice
 * (PCR0 and PCR2); on large chunks a worker thread takes the PCR2 digest and
 * a share of the CRC (joined with crc32_combine) while the caller's thread
 * does PCR0, so one pass costs about one SHA-384 of the file in wall time.
 */
#ifndef CARVE_EIF_HASHER_H
#define CARVE_EIF_HASHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/crypto.h"
#include "carve/eif.h"
#include "carve/util.h"

enum eif_role {
	EIF_ROLE_CRC_ONLY, /* EIF header, section headers, metadata, signature */
	EIF_ROLE_BOOT,     /* kernel, cmdline, first ramdisk: PCR0 and PCR1 */
	EIF_ROLE_APP,      /* later ramdisks: PCR0 and PCR2 */
};

struct eif_hasher_job {
	const uint8_t *data;
	size_t len;
	bool app_sha; /* feed data to the PCR2 digest */
	uint32_t crc; /* CRC-32 of data, from zero */
};

struct eif_hasher {
	struct sha384 image; /* PCR0 */
	struct sha384 boot;  /* PCR1, once split from image */
	struct sha384 app;   /* PCR2 */
	bool boot_split;
	uint32_t crc; /* CRC of everything fed so far, once synced */
	/* worker thread */
	bool threaded;  /* the worker is running */
	bool no_thread; /* it could not be started; stay single-threaded */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool job_posted, job_done, quit;
	struct eif_hasher_job job;
	bool job_pending; /* posted and not yet folded into crc */
};

int eif_hasher_init(struct eif_hasher *h);
/* Feed bytes. Large chunks are handed in part to the worker; the caller must
 * keep `data` unchanged until its next call into the hasher. */
void eif_hasher_feed(struct eif_hasher *h, enum eif_role role, const void *data, size_t len);
/* The CRC of everything fed so far (waits for the worker). */
uint32_t eif_hasher_crc(struct eif_hasher *h);
/* Waits for the worker and returns the CRC so far and the three PCRs. */
void eif_hasher_finish(struct eif_hasher *h, uint32_t *crc, struct eif_measurements *m);
void eif_hasher_free(struct eif_hasher *h);

#endif
