/* The console: the 8250 UART at COM1, polled. stdin, stdout and stderr of the
 * program are this port, byte for byte (no '\n' to CRLF translation, so the
 * host sees exactly what the program wrote). Output goes through the carve
 * VMM's console port when it has one (an exit per 16 KiB instead of one per
 * byte), else to the UART, waiting for THRE per burst; the VMM's UART drains
 * instantly, so this never spins long. */
#include "kernel.h"

#define COM1 0x3f8
#define LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

/* The carve VMM's console port (include/carve/vmm.h, VMM_CONSOLE_PORT): a
 * record (length, then bytes) in memory, its physical address written to the
 * port, one exit for up to CPORT_MAX bytes. Present when a 32-bit read of the
 * port gives the magic; any other VMM gives all ones and the UART is used. */
#define CPORT 0xf6
#define CPORT_MAGIC 0x43525643u
#define CPORT_MAX 16384
static struct {
	uint32_t len;
	char data[CPORT_MAX];
} cport_rec;
static bool cport;

static inline uint32_t inl_port(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void console_init(void)
{
	outb(COM1 + 1, 0x00); /* no UART interrupts: the kernel polls */
	outb(COM1 + 3, 0x80); /* DLAB: 115200 baud */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x07); /* FIFOs on and cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
	cport = inl_port(CPORT) == CPORT_MAGIC;
}

/* Without the port, output goes in bursts: wait for THRE once, then one REP OUTSB of up to a
 * FIFO's worth (16 bytes, the 16550's transmit FIFO, enabled in init), so a
 * real 16550 loses nothing. KVM still exits to the VMM once per byte of a
 * REP OUTSB (its emulator hands OUTS over one element at a time; only INS is
 * read ahead), so the LSR poll per 16 bytes is what bursts save, besides
 * decoding; the VMM batches the bytes into few write()s on its side. */
#define TX_FIFO 16

void console_write(const char *s, size_t n)
{
	while (cport && n) {
		size_t k = MIN(n, sizeof(cport_rec.data));
		memcpy(cport_rec.data, s, k);
		cport_rec.len = (uint32_t)k;
		outl(CPORT, (uint32_t)virt_to_phys(&cport_rec));
		s += k;
		n -= k;
	}
	while (n) {
		size_t k = MIN(n, TX_FIFO);
		while (!(inb(COM1 + LSR) & LSR_THRE))
			;
		const char *p = s;
		size_t c = k;
		__asm__ volatile("rep outsb" : "+S"(p), "+c"(c) : "d"(COM1) : "memory");
		s += k;
		n -= k;
	}
}

bool console_readable(void) { return inb(COM1 + LSR) & LSR_DR; }

size_t console_read(char *buf, size_t n)
{
	size_t got = 0;
	while (got < n && console_readable())
		buf[got++] = (char)inb(COM1);
	return got;
}
