/* One-pass CRC-32 and PCR0/1/2 over an EIF's sections (see hasher.h). */
#include "eif/hasher.h"

#include <string.h>
#include <zlib.h>

/* Below this, handing work to the worker costs more than it saves. */
#define PARALLEL_MIN (256 * 1024)

static void run_job(struct eif_hasher *h, struct eif_hasher_job *j)
{
	if (j->app_sha)
		sha384_update(&h->app, j->data, j->len);
	j->crc = crc32_fast(0, j->data, j->len);
}

static void *worker_main(void *arg)
{
	struct eif_hasher *h = arg;
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->job_posted && !h->quit)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->quit)
			break;
		h->job_posted = false;
		pthread_mutex_unlock(&h->lock);
		run_job(h, &h->job);
		pthread_mutex_lock(&h->lock);
		h->job_done = true;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int eif_hasher_init(struct eif_hasher *h)
{
	memset(h, 0, sizeof(*h));
	if (sha384_init(&h->image) < 0 || sha384_init(&h->boot) < 0 || sha384_init(&h->app) < 0) {
		sha384_free(&h->image);
		sha384_free(&h->boot);
		sha384_free(&h->app);
		return -1;
	}
	h->crc = (uint32_t)crc32(0, NULL, 0);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	return 0;
}

/* The worker starts with the first chunk large enough to share, so small
 * images (and fuzzing) never pay for a thread. If it cannot start, all the
 * work stays on the caller's thread: slower, still right. */
static bool want_worker(struct eif_hasher *h)
{
	if (!h->threaded && !h->no_thread)
		h->threaded = pthread_create(&h->thread, NULL, worker_main, h) == 0;
	h->no_thread = !h->threaded;
	return h->threaded;
}

/* Wait for the posted job and fold its CRC share into the running CRC. */
static void sync_worker(struct eif_hasher *h)
{
	if (!h->job_pending)
		return;
	pthread_mutex_lock(&h->lock);
	while (!h->job_done)
		pthread_cond_wait(&h->cond, &h->lock);
	h->job_done = false;
	pthread_mutex_unlock(&h->lock);
	h->crc = (uint32_t)crc32_combine(h->crc, h->job.crc, (z_off_t)h->job.len);
	h->job_pending = false;
}

static void sha_feed(struct eif_hasher *h, enum eif_role role, const void *data, size_t len)
{
	if (role == EIF_ROLE_APP && !h->boot_split) {
		/* PCR1 = everything fed to PCR0 until now. */
		sha384_copy(&h->boot, &h->image);
		h->boot_split = true;
	}
	sha384_update(&h->image, data, len);
	if (role == EIF_ROLE_BOOT && h->boot_split)
		sha384_update(&h->boot, data, len);
}

void eif_hasher_feed(struct eif_hasher *h, enum eif_role role, const void *data, size_t len)
{
	sync_worker(h);
	if (role == EIF_ROLE_CRC_ONLY || len < PARALLEL_MIN || !want_worker(h)) {
		h->crc = crc32_fast(h->crc, data, len);
		if (role != EIF_ROLE_CRC_ONLY) {
			sha_feed(h, role, data, len);
			if (role == EIF_ROLE_APP)
				sha384_update(&h->app, data, len);
		}
		return;
	}
	/* Split: the worker takes the CRC and, for application data, PCR2;
	 * this thread, which also reads the file, takes PCR0/PCR1. With the
	 * folding CRC that balances the two within a few percent
	 * (bench/eif_describe.sh). */
	h->job = (struct eif_hasher_job){.data = data, .len = len, .app_sha = role == EIF_ROLE_APP};
	pthread_mutex_lock(&h->lock);
	h->job_posted = true;
	h->job_done = false;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	h->job_pending = true;

	/* The worker touches only the PCR2 digest and its CRC share, so this
	 * thread may update PCR0/PCR1 meanwhile. */
	sha_feed(h, role, data, len);
}

uint32_t eif_hasher_crc(struct eif_hasher *h)
{
	sync_worker(h);
	return h->crc;
}

void eif_hasher_finish(struct eif_hasher *h, uint32_t *crc, struct eif_measurements *m)
{
	uint8_t digest[SHA384_LEN];
	sync_worker(h);
	*crc = h->crc;
	if (!h->boot_split) {
		sha384_copy(&h->boot, &h->image);
		h->boot_split = true;
	}
	sha384_final(&h->image, digest);
	pcr_from_digest(digest, m->pcr0);
	sha384_final(&h->boot, digest);
	pcr_from_digest(digest, m->pcr1);
	sha384_final(&h->app, digest);
	pcr_from_digest(digest, m->pcr2);
}

void eif_hasher_free(struct eif_hasher *h)
{
	if (h->threaded) {
		sync_worker(h);
		pthread_mutex_lock(&h->lock);
		h->quit = true;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->thread, NULL);
		h->threaded = false;
	}
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	sha384_free(&h->image);
	sha384_free(&h->boot);
	sha384_free(&h->app);
}
