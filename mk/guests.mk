# Test guests (tests/guests): freestanding ELF64 kernels the integration tests
# boot. Built without SSE/AVX and without a red zone: guest kernel code must
# run in KVM's instruction emulator on PVM hosts (DESIGN.md).
all: guests

GUEST_DIR := build/guests
GUEST_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-pic -no-pie -fno-stack-protector \
	-mgeneral-regs-only -mno-red-zone -fno-asynchronous-unwind-tables \
	-fcf-protection=none -Wall -Wextra -Werror
GUEST_LDFLAGS := -nostdlib -static -Wl,-T,tests/guests/guest.ld -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments

.PHONY: guests
guests: $(GUEST_DIR)/carve-guest.elf

$(GUEST_DIR)/carve-guest.elf: tests/guests/start.S tests/guests/guest.c tests/guests/guest.ld
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ tests/guests/start.S tests/guests/guest.c

# The same guest wrapped as a bzImage (tests/guests/mkbzimage.c): initrds must
# end below 32 MiB (initrd_addr_max) and the command line is at most 255 bytes.
guests: $(GUEST_DIR)/carve-guest.bz

$(GUEST_DIR)/mkbzimage: tests/guests/mkbzimage.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<

$(GUEST_DIR)/carve-guest-bz.elf: tests/guests/start.S tests/guests/guest.c tests/guests/guest-bz.ld
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) $(subst guest.ld,guest-bz.ld,$(GUEST_LDFLAGS)) -o $@ tests/guests/start.S tests/guests/guest.c

$(GUEST_DIR)/carve-guest.bz: $(GUEST_DIR)/carve-guest-bz.elf $(GUEST_DIR)/mkbzimage
	objcopy -O binary --set-section-flags .bss=alloc,load,contents $< $@.flat
	$(GUEST_DIR)/mkbzimage $@.flat $@ 0x1ffffff 255
	rm -f $@.flat
