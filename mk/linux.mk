# carve's Linux kernel blobs (scripts/linux-blobs.sh): Debian's cloud kernel,
# its command line and a bootstrap ramdisk with carve-init and the modules,
# in build/guest beside the carve kernel. The kernel package is fetched into
# cache/ by scripts/setup.sh; without it make says so and builds the rest.
all: linux-blobs

LINUX_CACHE := $(or $(CARVE_CACHE),cache)/debian-kernel
LINUX_BOOTSTRAP := build/guest/bootstrap-initrd.img
.PHONY: linux-blobs
linux-blobs: $(INIT_BIN)
	@if [ ! -s $(LINUX_CACHE)/version ]; then \
		echo "note: Linux enclave blobs not made: no Debian kernel in $(LINUX_CACHE) (scripts/setup.sh fetches it)"; \
	elif [ ! -s $(LINUX_BOOTSTRAP) ] || [ -n "$$(find $(INIT_BIN) $(LINUX_CACHE)/version scripts/linux-blobs.sh \
		scripts/lib/modules.sh -newer $(LINUX_BOOTSTRAP))" ]; then \
		scripts/linux-blobs.sh build/guest $(INIT_BIN); \
	fi
