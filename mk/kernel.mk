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

.PHONY: kernel kernel-progs
kernel: $(KERNEL_ELF)

$(KERNEL_ELF): $(KERNEL_SRCS) $(KERNEL_HDRS) guest/kernel/kernel.ld mk/kernel.mk
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

$(KPROG_DIR)/musl/%: tests/kernel-progs/%.c
	@mkdir -p $(dir $@)
	musl-gcc -static -O2 -Wall -Wextra -Werror -o $@ $<
$(KPROG_DIR)/glibc/%: tests/kernel-progs/%.c
	@mkdir -p $(dir $@)
	gcc -static -O2 -Wall -Wextra -Werror -o $@ $<
$(KPROG_DIR)/glibc-pie/%: tests/kernel-progs/%.c
	@mkdir -p $(dir $@)
	gcc -static-pie -fPIE -O2 -Wall -Wextra -Werror -o $@ $<
