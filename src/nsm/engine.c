/* The NSM engine: one enclave's module state and the request dispatcher.
 *
 * Requests are decoded before the lock is taken (decoding touches no
 * state); the lock covers the PCR bank and the attester. Every path ends in
 * exactly one complete response in the caller's buffer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "nsm/nsm_internal.h"

struct nsm {
	pthread_mutex_t lock;
	char module_id[NSM_MODULE_ID_MAX + 1];
	bool debug_mode;
	struct nsm_pcr_bank bank;
	struct nsm_attester *attester; /* NULL without a CA */
	unsigned host_pcr;             /* 0: none */
	bool host_measured;
	uint64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
};

static uint64_t realtime_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int nsm_create(struct nsm **out, const struct nsm_config *cfg, struct carve_err *err)
{
	*out = NULL;
	size_t idlen = cfg->module_id ? strlen(cfg->module_id) : 0;
	if (idlen == 0 || idlen > NSM_MODULE_ID_MAX)
		return carve_fail(err, E03_INVALID_ARGUMENT, "the NSM module id must be 1 to %d bytes",
				  NSM_MODULE_ID_MAX);
	if (cfg->host_pcr && (cfg->host_pcr < NSM_LOCKED_AT_START || cfg->host_pcr >= NSM_MAX_PCRS))
		return carve_fail(err, E03_INVALID_ARGUMENT, "the host's PCR must be one of 16..31, not %u",
				  cfg->host_pcr);
	struct nsm *n = calloc(1, sizeof(*n));
	if (!n)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	memcpy(n->module_id, cfg->module_id, idlen + 1);
	n->debug_mode = cfg->debug_mode;
	n->clock_ms = cfg->clock_ms ? cfg->clock_ms : realtime_ms;
	n->clock_ctx = cfg->clock_ctx;
	pcr_bank_init(&n->bank, cfg);
	n->host_pcr = cfg->host_pcr;
	if (n->host_pcr) /* the guest can neither extend nor lock it */
		n->bank.locked |= 1u << n->host_pcr;
	if (cfg->pki && !(n->attester = nsm_attester_new(cfg->pki, n->module_id, err))) {
		free(n);
		return -1;
	}
	if (pthread_mutex_init(&n->lock, NULL) != 0) {
		nsm_attester_free(n->attester);
		free(n);
		return carve_fail(err, E00_UNSPECIFIED, "could not create the NSM lock");
	}
	*out = n;
	return 0;
}

void nsm_destroy(struct nsm *n)
{
	if (!n)
		return;
	pthread_mutex_destroy(&n->lock);
	nsm_attester_free(n->attester);
	free(n);
}

int nsm_host_measure(struct nsm *n, unsigned index, const uint8_t *data, size_t len)
{
	if (!n || !n->host_pcr || index != n->host_pcr)
		return -1;
	pthread_mutex_lock(&n->lock);
	int rc = n->host_measured ? -1 : 0;
	if (rc == 0) {
		pcr_extend(n->bank.pcr[index], data, len);
		n->host_measured = true;
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* 256 bytes from the kernel CSPRNG; getrandom never returns short reads of
 * <= 256 bytes once the pool is initialised, but loop anyway. */
static int fill_random(uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = getrandom(buf + got, len - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static int attest(struct nsm *n, const struct nsm_request *r, struct cbor_writer *w)
{
	if (!n->attester)
		return NSM_INTERNAL_ERROR;
	uint8_t *doc = malloc(NSM_RESPONSE_MAX);
	if (!doc)
		return NSM_INTERNAL_ERROR;
	size_t len = 0;
	int rc = nsm_attester_sign(n->attester, n->clock_ms(n->clock_ctx),
				   (const uint8_t(*)[PCR_LEN])n->bank.pcr, n->debug_mode, r, doc,
				   NSM_RESPONSE_MAX, &len);
	if (rc == NSM_SUCCESS)
		nsm_resp_attestation(w, doc, len);
	free(doc);
	return rc;
}

/* Runs a decoded request with the lock held; writes the success response. */
static int dispatch(struct nsm *n, const struct nsm_request *r, struct cbor_writer *w)
{
	int rc = NSM_SUCCESS;
	switch (r->kind) {
	case NSM_REQ_DESCRIBE_PCR:
		if (r->index >= NSM_MAX_PCRS)
			return NSM_INVALID_INDEX;
		nsm_resp_describe_pcr(w, pcr_bank_is_locked(&n->bank, (unsigned)r->index),
				      n->bank.pcr[r->index]);
		return NSM_SUCCESS;
	case NSM_REQ_EXTEND_PCR:
		if ((rc = pcr_bank_extend(&n->bank, r->index, r->data.data, r->data.len)) == NSM_SUCCESS)
			nsm_resp_extend_pcr(w, n->bank.pcr[r->index]);
		return rc;
	case NSM_REQ_LOCK_PCR:
		if ((rc = pcr_bank_lock(&n->bank, r->index)) == NSM_SUCCESS)
			nsm_resp_text(w, "LockPCR");
		return rc;
	case NSM_REQ_LOCK_PCRS:
		if ((rc = pcr_bank_lock_range(&n->bank, r->index)) == NSM_SUCCESS)
			nsm_resp_text(w, "LockPCRs");
		return rc;
	case NSM_REQ_DESCRIBE_NSM: nsm_resp_describe_nsm(w, n->module_id, &n->bank); return NSM_SUCCESS;
	case NSM_REQ_ATTESTATION: return attest(n, r, w);
	case NSM_REQ_GET_RANDOM: break; /* handled without the lock */
	}
	return NSM_INVALID_OPERATION;
}

static int handle(struct nsm *n, const uint8_t *req, size_t len, struct cbor_writer *w)
{
	if (len > NSM_REQUEST_MAX)
		return NSM_INPUT_TOO_LARGE; /* before decoding, like the driver */
	struct nsm_request r;
	int rc = nsm_request_decode(req, len, &r);
	if (rc == NSM_SUCCESS && r.kind == NSM_REQ_GET_RANDOM) {
		uint8_t random[NSM_RANDOM_LEN];
		if (fill_random(random, sizeof(random)) < 0)
			rc = NSM_INTERNAL_ERROR;
		else
			nsm_resp_random(w, random, sizeof(random));
	} else if (rc == NSM_SUCCESS) {
		pthread_mutex_lock(&n->lock);
		rc = dispatch(n, &r, w);
		pthread_mutex_unlock(&n->lock);
	}
	nsm_request_release(&r);
	return rc;
}

int nsm_handle_request(struct nsm *n, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap,
		       size_t *resp_len)
{
	if (!n || !resp || !resp_len || cap < NSM_RESPONSE_MIN)
		return -1;
	struct cbor_writer w;
	cw_init(&w, cap);
	int rc = handle(n, req, req_len, &w);
	/* The writer fails when the response would pass cap (or, in theory,
	 * on out-of-memory, which cannot be told apart here). */
	if (rc == NSM_SUCCESS && w.failed)
		rc = NSM_BUFFER_TOO_SMALL;
	if (rc == NSM_SUCCESS) {
		memcpy(resp, w.buf, w.len);
		*resp_len = w.len;
	} else {
		*resp_len = nsm_resp_error(rc, resp);
	}
	cw_free(&w);
	return rc;
}
