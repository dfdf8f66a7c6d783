/* ELF64 kernels (a vmlinux, or a small freestanding kernel): PT_LOAD segments
 * copied to their physical addresses, entered in 64-bit mode with RSI = zero
 * page (the Linux 64-bit boot protocol, Linux Documentation/arch/x86/boot.rst).
 *
 * Every header field is checked against the file and guest RAM before a byte
 * is copied; segments must sit in RAM below 4 GiB and above 1 MiB, where the
 * VMM's own boot structures are not. */
#include <elf.h>
#include <string.h>

#include "vmm/vmm_internal.h"

int elf_is_elf(const uint8_t *img, size_t len) { return len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0; }

int elf_load(const struct guest_mem *gm, const uint8_t *img, size_t len, struct boot_plan *plan,
	     struct carve_err *err)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return carve_fail(err, E75_GUEST_KERNEL_LOAD, "the ELF kernel is truncated (%zu bytes)", len);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD, "the kernel is not a little-endian ELF64 file");
	if (eh.e_machine != EM_X86_64)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD, "the ELF kernel is for machine %u, not x86-64",
				  eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD, "the ELF kernel is not an executable (type %u)",
				  eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD,
				  "the ELF kernel is truncated: its program headers lie outside the file");
	uint64_t lo = UINT64_MAX, hi = 0, entry = 0;
	bool entry_found = false;
	uint64_t low_end = gm_low_end(gm);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return carve_fail(
				err, E75_GUEST_KERNEL_LOAD,
				"the ELF kernel is truncated: segment %u needs bytes %llu-%llu of a "
				"%zu-byte file",
				i, (unsigned long long)ph.p_offset,
				(unsigned long long)ph.p_offset + ph.p_filesz, len);
		if (ph.p_paddr < LAYOUT_HIMEM || ph.p_paddr > low_end || ph.p_memsz > low_end - ph.p_paddr)
			return carve_fail(err, E34_MEMORY_OVERFLOW,
					  "ELF segment %u (0x%llx, %llu bytes) does not fit in guest RAM "
					  "between 1 MiB and 0x%llx; give the VM more memory",
					  i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
					  (unsigned long long)low_end);
		uint8_t *dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return carve_fail(err, E34_MEMORY_OVERFLOW, "ELF segment %u is outside guest RAM", i);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr < lo)
			lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > hi)
			hi = ph.p_paddr + ph.p_memsz;
		/* vmlinux gives a physical entry; other kernels may give a virtual
		 * one inside a segment. */
		if (!entry_found && eh.e_entry >= ph.p_paddr && eh.e_entry - ph.p_paddr < ph.p_memsz) {
			entry = eh.e_entry;
			entry_found = true;
		} else if (!entry_found && eh.e_entry >= ph.p_vaddr && eh.e_entry - ph.p_vaddr < ph.p_memsz) {
			entry = ph.p_paddr + (eh.e_entry - ph.p_vaddr);
			entry_found = true;
		}
	}
	if (hi == 0)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD, "the ELF kernel has no loadable segment");
	if (!entry_found)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD,
				  "the ELF kernel's entry point 0x%llx is in no loadable segment",
				  (unsigned long long)eh.e_entry);
	memset(plan->zero_page, 0, sizeof(plan->zero_page));
	plan->entry = entry;
	plan->kernel_start = lo;
	plan->kernel_end = hi;
	plan->initrd_max = 0xffffffffu;
	plan->cmdline_max = (uint32_t)LAYOUT_CMDLINE_MAX - 1;
	/* An ELF kernel has no setup header; give the fields a bzImage would. */
	plan->zero_page[0x230] = 0x00; /* kernel_alignment = 16 MiB (LE 0x01000000) */
	plan->zero_page[0x231] = 0x00;
	plan->zero_page[0x232] = 0x00;
	plan->zero_page[0x233] = 0x01;
	return 0;
}
