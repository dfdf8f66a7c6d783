# carve-init (guest/init): PID 1 for Linux enclaves, a static musl program
# that goes into the bootstrap ramdisk as /init. Its parsing (cmdenv.c) is
# host C too: tests/unit/test_init_cmdenv.c and tests/fuzz/fuzz_init_cmdenv.c
# include it, as other tests include guest sources.
all: init

INIT_BIN := build/guest/init
INIT_SRCS := $(wildcard guest/init/*.c)
INIT_HDRS := $(wildcard guest/init/*.h)
INIT_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -static \
	-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wmissing-prototypes -Wstrict-prototypes

.PHONY: init
init: $(INIT_BIN)

$(INIT_BIN): $(INIT_SRCS) $(INIT_HDRS) mk/init.mk
	@mkdir -p $(dir $@)
	musl-gcc $(INIT_CFLAGS) -o $@ $(INIT_SRCS)

# The Makefile does not read the unit tests' dependency files, so name the
# guest sources the test includes.
$(BUILD)/tests/test_init_cmdenv: guest/init/cmdenv.c guest/init/cmdenv.h
build-fuzz/fuzz_init_cmdenv: guest/init/cmdenv.c guest/init/cmdenv.h
$(BUILD)/tests/test_init_launch: guest/init/launch.c guest/init/cmdenv.c guest/init/init.h guest/init/cmdenv.h
