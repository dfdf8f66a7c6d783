# Extras of the nsm part: developer tools (tools/*.c) and the attestation
# bench (bench/*.c), each one program linked against libcarve.a.
#
#   make tools    build/tools/gen_nsm_corpus, build/tools/nsm_attest_doc
#   make bench    build/bench/attest_rate (bench/nsm_attest.sh runs it)
#
# This fragment is read before the main rules, so it pins the default goal
# to `all` rather than becoming it. `make tests` builds the tools because
# the integration scripts use nsm_attest_doc.
.DEFAULT_GOAL := all
.PHONY: tools bench

NSM_TOOLS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c))
NSM_BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

tools: $(NSM_TOOLS)
bench: $(NSM_BENCHES)
tests: $(NSM_TOOLS)

$(BUILD)/tools/%: tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(LIB) $(PKG_LIBS) $(LDFLAGS_ALL)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(LIB) $(PKG_LIBS) $(LDFLAGS_ALL)
