/* nsm_attest_doc: an attestation document for given measurements, signed by
 * the CA in $CARVE_STATE_DIR, through the same library path `carve attest`
 * uses (nsm_attest_once). For tests and for poking at verifiers while the
 * EIF reader is not linked into carve.
 *
 *   nsm_attest_doc --output FILE [--pcr0 HEX] [--pcr1 HEX] [--pcr2 HEX]
 *                  [--pcr8 HEX] [--nonce HEX] [--user-data HEX]
 *                  [--public-key HEX] [--module-id ID] [--debug-mode]
 *                  [--time EPOCH]
 * --time issues the CA (if new), the leaf and the timestamp at EPOCH, to
 * make documents that are expired or not yet valid. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carve/nsm.h"
#include "carve/pki.h"
#include "carve/util.h"

static uint64_t fixed_ms(void *ctx) { return *(const uint64_t *)ctx; }

static int die(const char *what)
{
	fprintf(stderr, "nsm_attest_doc: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'},    {"pcr0", required_argument, 0, '0'},
		{"pcr1", required_argument, 0, '1'},      {"pcr2", required_argument, 0, '2'},
		{"pcr8", required_argument, 0, '8'},      {"nonce", required_argument, 0, 'n'},
		{"user-data", required_argument, 0, 'u'}, {"public-key", required_argument, 0, 'k'},
		{"module-id", required_argument, 0, 'm'}, {"debug-mode", no_argument, 0, 'd'},
		{"time", required_argument, 0, 't'},      {0, 0, 0, 0},
	};
	uint8_t pcr[9][PCR_LEN];
	bool have[9] = {0};
	uint8_t fields[3][NSM_USER_FIELD_MAX + 1];
	long flen[3] = {-1, -1, -1}; /* nonce, user data, public key */
	const char *output = NULL;
	struct nsm_config cfg = {.module_id = "i-0000000000000000-enc0000000000000000"};
	time_t now = time(NULL);
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int slot = c == '0' ? 0 : c == '1' ? 1 : c == '2' ? 2 : c == '8' ? 8 : -1;
		int field = c == 'n' ? 0 : c == 'u' ? 1 : c == 'k' ? 2 : -1;
		if (slot >= 0) {
			if (hex_decode(optarg, pcr[slot], PCR_LEN) != PCR_LEN)
				return die("a PCR must be 96 hex digits");
			have[slot] = true;
		} else if (field >= 0) {
			if ((flen[field] = hex_decode(optarg, fields[field], sizeof(fields[field]))) < 0)
				return die("bad hex (or more than 1025 bytes)");
		} else if (c == 'o') {
			output = optarg;
		} else if (c == 'm') {
			cfg.module_id = optarg;
		} else if (c == 'd') {
			cfg.debug_mode = true;
		} else if (c == 't') {
			now = (time_t)strtoll(optarg, NULL, 10);
		} else {
			return die("unknown option; see the comment at the top of tools/nsm_attest_doc.c");
		}
	}
	if (!output)
		return die("--output is required");
	cfg.pcr0 = have[0] ? pcr[0] : NULL;
	cfg.pcr1 = have[1] ? pcr[1] : NULL;
	cfg.pcr2 = have[2] ? pcr[2] : NULL;
	cfg.pcr8 = have[8] ? pcr[8] : NULL;
	uint64_t ms = (uint64_t)now * 1000;
	cfg.clock_ms = fixed_ms;
	cfg.clock_ctx = &ms;

	struct carve_err err = {0};
	struct pki pki;
	if (pki_open(&pki, pki_state_dir(), now, &err) < 0)
		return die(err.msg);
	cfg.pki = &pki;
	uint8_t *doc;
	size_t doc_len;
	int rc = nsm_attest_once(&cfg, flen[1] >= 0 ? fields[1] : NULL, (size_t)(flen[1] > 0 ? flen[1] : 0),
				 flen[0] >= 0 ? fields[0] : NULL, (size_t)(flen[0] > 0 ? flen[0] : 0),
				 flen[2] >= 0 ? fields[2] : NULL, (size_t)(flen[2] > 0 ? flen[2] : 0), &doc,
				 &doc_len, &err);
	pki_free(&pki);
	if (rc < 0)
		return die(err.msg);
	FILE *f = fopen(output, "wb");
	int ok = f && fwrite(doc, 1, doc_len, f) == doc_len;
	if (f && fclose(f) != 0)
		ok = 0;
	free(doc);
	return ok ? 0 : die("cannot write the output file");
}
