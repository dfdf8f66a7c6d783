# Enclave applications (guest/apps): static musl programs linked with libnsm,
# the ones the demo and the tests put in EIFs.
APPS_DIR := build/guest/apps
APPS := $(APPS_DIR)/hello $(APPS_DIR)/nsm-tool

.PHONY: apps
apps: $(APPS)
all: apps

$(APPS_DIR)/%: guest/apps/%.c build/guest/lib/musl/libnsm.a guest/lib/nsm.h
	@mkdir -p $(dir $@)
	musl-gcc -static -O2 -Wall -Wextra -Werror -Iguest/lib -o $@ $< build/guest/lib/musl/libnsm.a
