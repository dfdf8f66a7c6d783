# carve build.
#
#   make                 release build: build/bin/carve, build/lib/libcarve.a
#   make SAN=1           ASan+UBSan build in build-san/
#   make TSAN=1          ThreadSanitizer build in build-tsan/ (the threaded unit tests)
#   make tests           unit-test binaries (build/tests/*)
#   make fuzz            libFuzzer targets (clang) in build-fuzz/
#   make check           everything the test command runs (see scripts/test.sh)
#   make install         into $(DESTDIR)$(PREFIX), /usr/local by default; make uninstall
#                        (mk/install.mk, scripts/install.sh); make man, make completion
#
# Parts are discovered from the tree: every src/<part>/*.c except src/cli goes
# into libcarve.a; src/cli/*.c makes the carve binary; tests/unit/test_*.c each
# become one test binary; tests/fuzz/fuzz_*.c each become one fuzz target.
# Adding a file needs no edit here.

SAN ?= 0
TSAN ?= 0
ifeq ($(TSAN),1)
# clang: GCC's ThreadSanitizer refuses the fences the virtqueue code needs.
CC := clang
BUILD ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT := -O1
else ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT := -O1
else
BUILD ?= build
SANFLAGS :=
OPT := -O2
endif

CC ?= cc
PKGS := libcbor json-c zlib
# libarchive's and libcrypto's headers only: src/common/libarchive_lazy.c
# loads libarchive when an image or ramdisk is built, so that the VMM and
# enclave processes do not carry it and the eleven libraries it needs;
# src/crypto/libcrypto_lazy.c loads OpenSSL the first time carve hashes,
# signs or reads a certificate, so that a VMM that does none of it does not
# map and relocate it (issue 17).
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libarchive libcrypto)
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lseccomp -lpthread

# -Wno-missing-field-initializers: tables whose rows leave trailing fields
# out (zero: absent) are the idiom here, as in Linux (W=2 only); a field
# left out is never a forgotten one the compiler could know of.
WARN := -Wall -Wextra -Wno-missing-field-initializers -Werror -Wshadow -Wformat=2 -Wvla -Wmissing-prototypes \
	-Wstrict-prototypes
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(OPT) -g $(WARN) \
	-Iinclude -Isrc $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

PARTS := $(filter-out cli,$(notdir $(wildcard src/*)))
LIB_SRCS := $(foreach p,$(PARTS),$(wildcard src/$(p)/*.c))
CLI_SRCS := $(wildcard src/cli/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/lib/libcarve.a
BIN := $(BUILD)/bin/carve

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_LIB_OBJS := $(TEST_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)

# Extra per-subtree make fragments (guest programs, kernels) may add targets.
-include $(wildcard mk/*.mk)

.PHONY: all tests fuzz check clean
all: $(BIN) $(BUILD)/bin/nitro-cli

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJS) $(LIB) $(PKG_LIBS)

# The same binary answers to nitro-cli, so scripts written for AWS's tool run.
$(BUILD)/bin/nitro-cli: $(BIN)
	ln -sf carve $@

# Host programs the integration scripts drive (tests/tools), built here so a
# machine without a compiler (the hardware-KVM bed's L1) can run them.
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
tests: $(UNIT_BINS) $(TEST_TOOLS)

$(BUILD)/tests/tools/%: tests/tools/%.c tests/tools/tool.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL)

# The tools that drive carve's own code (a vhost-vdpa device through
# src/vhost/) link the library.
TOOLS_WITH_LIB := $(BUILD)/tests/tools/vdpa_blk_check
$(TOOLS_WITH_LIB): $(BUILD)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS) $(LDFLAGS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_LIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/lib $(shell pkg-config --cflags cmocka) -MMD -MP \
		-o $@ $< $(TEST_LIB_OBJS) $(LIB) $(PKG_LIBS) $(shell pkg-config --libs cmocka) $(LDFLAGS_ALL)

# test_common_error compiles in the CLI's output.c (not part of libcarve).
$(BUILD)/tests/test_common_error: src/cli/output.c src/cli/cli.h
# test_cli_args compiles in args.c and arg_errors.c, the CLI's flag parser.
$(BUILD)/tests/test_cli_args: src/cli/args.c src/cli/arg_errors.c src/cli/cli.h

# libFuzzer targets: clang only. The library is compiled once with coverage
# instrumentation (fuzzer-no-link), so the whole parser is instrumented, and
# each target links against it.
FUZZ_COMMON := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -O1 -g -Iinclude -Isrc $(PKG_CFLAGS) \
	-fno-sanitize-recover=undefined
FUZZ_CFLAGS := $(FUZZ_COMMON) -fsanitize=fuzzer,address,undefined
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=build-fuzz/obj/%.o)
fuzz: $(FUZZ_BINS)
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_COMMON) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@
build-fuzz/libcarve.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libcarve.a
	clang $(FUZZ_CFLAGS) -o $@ $< build-fuzz/libcarve.a $(PKG_LIBS)

check:
	scripts/test.sh

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_LIB_OBJS:.o=.d) $(wildcard build-fuzz/obj/src/*/*.d)
