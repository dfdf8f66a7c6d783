/* Writes the seed corpus of fuzz_nsm_request: one file per request shape of
 * aws-nitro-enclaves-nsm-api, plus the accepted variants (text byte fields, missing
 * Attestation fields). Run: gen_nsm_corpus DIR. The output is committed in
 * tests/fuzz/corpus/nsm_request/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/cbor.h"

static int emit(const char *dir, const char *name, struct cbor_writer *w)
{
	size_t len;
	uint8_t *buf = cw_take(w, &len);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = buf ? fopen(path, "wb") : NULL;
	int ok = f && fwrite(buf, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = 0;
	free(buf);
	if (!ok)
		fprintf(stderr, "gen_nsm_corpus: cannot write %s\n", path);
	return ok ? 0 : -1;
}

static void variant(struct cbor_writer *w, const char *name, size_t nfields)
{
	cw_init(w, 0);
	cw_map(w, 1);
	cw_text(w, name);
	cw_map(w, nfields);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_nsm_corpus DIR\n");
		return 2;
	}
	const char *d = argv[1];
	struct cbor_writer w;
	int rc = 0;
	static const uint8_t data48[48] = {0xde, 0xad};

	variant(&w, "DescribePCR", 1);
	cw_text(&w, "index"), cw_uint(&w, 0);
	rc |= emit(d, "describe_pcr", &w);

	variant(&w, "ExtendPCR", 2);
	cw_text(&w, "index"), cw_uint(&w, 16);
	cw_text(&w, "data"), cw_bytes(&w, data48, sizeof(data48));
	rc |= emit(d, "extend_pcr", &w);

	variant(&w, "ExtendPCR", 2);
	cw_text(&w, "index"), cw_uint(&w, 17);
	cw_text(&w, "data"), cw_text(&w, "text data");
	rc |= emit(d, "extend_pcr_text", &w);

	variant(&w, "LockPCR", 1);
	cw_text(&w, "index"), cw_uint(&w, 16);
	rc |= emit(d, "lock_pcr", &w);

	variant(&w, "LockPCRs", 1);
	cw_text(&w, "range"), cw_uint(&w, 32);
	rc |= emit(d, "lock_pcrs", &w);

	cw_init(&w, 0);
	cw_text(&w, "DescribeNSM");
	rc |= emit(d, "describe_nsm", &w);

	cw_init(&w, 0);
	cw_text(&w, "GetRandom");
	rc |= emit(d, "get_random", &w);

	variant(&w, "Attestation", 3);
	cw_text(&w, "user_data"), cw_null(&w);
	cw_text(&w, "nonce"), cw_null(&w);
	cw_text(&w, "public_key"), cw_null(&w);
	rc |= emit(d, "attestation_null", &w);

	variant(&w, "Attestation", 3);
	cw_text(&w, "user_data"), cw_bytes(&w, "user", 4);
	cw_text(&w, "nonce"), cw_bytes(&w, "nonce", 5);
	cw_text(&w, "public_key"), cw_bytes(&w, data48, sizeof(data48));
	rc |= emit(d, "attestation_full", &w);

	variant(&w, "Attestation", 0);
	rc |= emit(d, "attestation_empty", &w);

	return rc ? 1 : 0;
}
