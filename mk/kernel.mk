# The carve enclave kernel (guest/kernel) and the guest programs its tests run
# (tests/kernel-progs). Kernel code is built without SSE/AVX and without a
# red zone: on PVM hosts it runs in KVM's instruction emulator (DESIGN.md).
all: kernel

KERNEL_ELF := build/guest/carve-kernel.elf
KERNEL_SRCS := $(wildcard guest/kernel/*.c) $(wildcard guest/kernel/*.S)
KERNEL_HDRS := $(wildcard guest/kernel/*.h)
KERNEL_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-pic -no-pie -fno-stack-protector \
	-mgeneral-regs-only -mno-red-zone -mcmodel=kernel -fno-asynchronous-unwind-tables \
	-fcf-protection=none -fno-builtin -mno-sse -mno-mmx -mno-avx \
	-Wall -Wextra -Werror -Wshadow -Wvla -Wmissing-prototypes -Wstrict-prototypes
KERNEL_LDFLAGS := -nostdlib -static -Wl,-T,guest/kernel/kernel.ld -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments

# The VMA tree is host C too (tests/unit/test_kernel_vma.c includes it); the
# Makefile does not read the unit tests' dependency files, so name it here.
$(BUILD)/tests/test_kernel_vma: guest/kernel/vma.c guest/kernel/vma.h guest/kernel/kernel.h

.PHONY: kernel kernel-progs
kernel: $(KERNEL_ELF)

# The vDSO (guest/vdso/): a shared object with one read-and-execute segment,
# no relocations and no libc, carried in the kernel (vdso_image.S).
VDSO_SO := build/guest/vdso.so
VDSO_CFLAGS := -std=gnu11 -O2 -fPIC -shared -nostdlib -ffreestanding -fno-stack-protector \
	-fcf-protection=none -fno-asynchronous-unwind-tables -fno-unwind-tables -mgeneral-regs-only \
	-Wall -Wextra -Werror -Wmissing-prototypes -Wl,-T,guest/vdso/vdso.lds \
	-Wl,--version-script=guest/vdso/vdso.map -Wl,-soname=linux-vdso.so.1 -Wl,--hash-style=both \
	-Wl,--build-id=none -Wl,-z,noexecstack
$(VDSO_SO): guest/vdso/vdso.c guest/vdso/vdso_data.h guest/vdso/vdso.lds guest/vdso/vdso.map mk/kernel.mk
	@mkdir -p $(dir $@)
	@echo "  VDSO    $@"
	@gcc $(VDSO_CFLAGS) -o $@ guest/vdso/vdso.c
	@! readelf -rW $@ | grep -q 'R_X86_64' || { echo "$@ has relocations"; rm -f $@; exit 1; }

$(KERNEL_ELF): $(KERNEL_SRCS) $(KERNEL_HDRS) guest/kernel/kernel.ld mk/kernel.mk $(VDSO_SO) guest/vdso/vdso_data.h
	@mkdir -p $(dir $@)
	@echo "  KERNEL  $@"
	@gcc $(KERNEL_CFLAGS) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_SRCS) -lgcc

# Test programs: static musl (musl-gcc) and static glibc builds of each.
KPROG_DIR := build/guest/progs
KPROG_SRCS := $(wildcard tests/kernel-progs/*.c)
KPROG_MUSL := $(KPROG_SRCS:tests/kernel-progs/%.c=$(KPROG_DIR)/musl/%)
KPROG_GLIBC := $(KPROG_SRCS:tests/kernel-progs/%.c=$(KPROG_DIR)/glibc/%)
KPROG_PIE := $(KPROG_DIR)/glibc-pie/hello
kernel-progs: $(KPROG_MUSL) $(KPROG_GLIBC) $(KPROG_PIE)
all: kernel-progs

$(KPROG_DIR)/musl/%: tests/kernel-progs/%.c tests/kernel-progs/check.h
	@mkdir -p $(dir $@)
	musl-gcc -static -O2 -Wall -Wextra -Werror -o $@ $<
$(KPROG_DIR)/glibc/%: tests/kernel-progs/%.c tests/kernel-progs/check.h
	@mkdir -p $(dir $@)
	gcc -static -O2 -Wall -Wextra -Werror -o $@ $<
$(KPROG_DIR)/glibc-pie/%: tests/kernel-progs/%.c tests/kernel-progs/check.h
	@mkdir -p $(dir $@)
	gcc -static-pie -fPIE -O2 -Wall -Wextra -Werror -o $@ $<

# libnsm for enclave programs: a static library per libc, and the programs
# that link it (nsmcheck) are built with its sources.
LIBNSM_SRCS := guest/lib/nsm.c guest/lib/nsm_cbor.c
LIBNSM_HDRS := guest/lib/nsm.h guest/lib/nsm_cbor.h
LIBNSM_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes
.PHONY: libnsm
libnsm: build/guest/lib/musl/libnsm.a build/guest/lib/glibc/libnsm.a
all: libnsm
build/guest/lib/musl/libnsm.a: $(LIBNSM_SRCS) $(LIBNSM_HDRS)
	@mkdir -p $(dir $@)/obj
	musl-gcc $(LIBNSM_CFLAGS) -c guest/lib/nsm.c -o $(dir $@)/obj/nsm.o
	musl-gcc $(LIBNSM_CFLAGS) -c guest/lib/nsm_cbor.c -o $(dir $@)/obj/nsm_cbor.o
	rm -f $@ && ar rcs $@ $(dir $@)/obj/nsm.o $(dir $@)/obj/nsm_cbor.o
build/guest/lib/glibc/libnsm.a: $(LIBNSM_SRCS) $(LIBNSM_HDRS)
	@mkdir -p $(dir $@)/obj
	gcc $(LIBNSM_CFLAGS) -c guest/lib/nsm.c -o $(dir $@)/obj/nsm.o
	gcc $(LIBNSM_CFLAGS) -c guest/lib/nsm_cbor.c -o $(dir $@)/obj/nsm_cbor.o
	rm -f $@ && ar rcs $@ $(dir $@)/obj/nsm.o $(dir $@)/obj/nsm_cbor.o
$(KPROG_DIR)/musl/nsmcheck: tests/kernel-progs/nsmcheck.c build/guest/lib/musl/libnsm.a
	@mkdir -p $(dir $@)
	musl-gcc -static -O2 -Wall -Wextra -Werror -o $@ $< build/guest/lib/musl/libnsm.a
$(KPROG_DIR)/glibc/nsmcheck: tests/kernel-progs/nsmcheck.c build/guest/lib/glibc/libnsm.a
	@mkdir -p $(dir $@)
	gcc -static -O2 -Wall -Wextra -Werror -o $@ $< build/guest/lib/glibc/libnsm.a

# Programs on runtimes nobody here wrote (tests/programs), for
# kernel_programs.sh on the host and in the bed: a Go program built by Debian's
# golang-go, a Rust one by the machine's rustc. Each is built where its
# toolchain exists (scripts/setup.sh installs both); the test says which is not.
TPROG_DIR := build/guest/programs
GO := $(shell command -v go 2>/dev/null)
RUSTC := $(shell command -v rustc 2>/dev/null)
TPROGS := $(if $(GO),$(TPROG_DIR)/go-goroutines $(TPROG_DIR)/go-http $(TPROG_DIR)/go-pprof) \
	$(if $(RUSTC),$(TPROG_DIR)/rust-threads)
.PHONY: programs
programs: $(TPROGS)
all: programs
$(TPROG_DIR)/go-%: tests/programs/go-%/main.go
	@mkdir -p $(dir $@)
	@echo "  GO      $@"
	@cd $(dir $<) && CGO_ENABLED=0 GOFLAGS=-mod=mod GOCACHE=$(abspath build/go-cache) \
		$(GO) build -o $(abspath $@) main.go
$(TPROG_DIR)/rust-threads: tests/programs/rust-threads/main.rs
	@mkdir -p $(dir $@)
	@echo "  RUSTC   $@"
	@MAKEFLAGS= $(RUSTC) -O -C target-feature=+crt-static $< -o $@ # (no jobserver for it: rustc warns)
