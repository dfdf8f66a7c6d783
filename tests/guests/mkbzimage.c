/* Wraps the test guest's flat binary (loaded at 1 MiB, 64-bit entry at
 * +0x200) in a bzImage setup header, so the VMM's bzImage path is tested
 * end to end on any host (Debian's bzImage needs its decompressor to run).
 *
 *   mkbzimage FLAT OUT INITRD_ADDR_MAX CMDLINE_SIZE
 *
 * Header layout: Linux Documentation/arch/x86/boot.rst (protocol 2.15). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETUP_SECTS 4

static void le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v);
	le16(p + 2, v >> 16);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: mkbzimage FLAT OUT INITRD_ADDR_MAX CMDLINE_SIZE\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "rb");
	if (!in)
		return perror(argv[1]), 1;
	static uint8_t flat[4 << 20];
	size_t n = fread(flat, 1, sizeof(flat), in);
	fclose(in);
	uint8_t setup[(SETUP_SECTS + 1) * 512];
	memset(setup, 0, sizeof(setup));
	setup[0x1f1] = SETUP_SECTS;
	le16(setup + 0x1fe, 0xaa55);
	setup[0x200] = 0xeb; /* jmp over the header: its end is 0x202 + 0x6a */
	setup[0x201] = 0x6a;
	memcpy(setup + 0x202, "HdrS", 4);
	le16(setup + 0x206, 0x020f);
	setup[0x211] = 0x01;                                           /* LOADED_HIGH */
	le32(setup + 0x214, 0x100000);                                 /* code32_start */
	le32(setup + 0x22c, (uint32_t)strtoul(argv[3], NULL, 0));      /* initrd_addr_max */
	le32(setup + 0x230, 0x200000);                                 /* kernel_alignment */
	setup[0x234] = 0;                                              /* linked at 1 MiB: not relocatable */
	le16(setup + 0x236, 0x1);                                      /* XLF_KERNEL_64 */
	le32(setup + 0x238, (uint32_t)strtoul(argv[4], NULL, 0));      /* cmdline_size */
	le32(setup + 0x260, (uint32_t)((n + 0xfff) & ~(size_t)0xfff)); /* init_size */
	FILE *out = fopen(argv[2], "wb");
	if (!out || fwrite(setup, 1, sizeof(setup), out) != sizeof(setup) || fwrite(flat, 1, n, out) != n ||
	    fclose(out) != 0)
		return perror(argv[2]), 1;
	return 0;
}
