/* The i8042 keyboard, for one thing: the host's request to stop. carve's
 * terminate presses Ctrl-Alt-Del (src/vmm/i8042.c) once a guest driver has
 * enabled the keyboard's interrupt, and waits (8 s) for the enclave to end
 * by itself. Here that press becomes SIGTERM for pid 1, the enclave's
 * program, as Nitro's init passes its SIGTERM on; the program may clean up
 * and exit, or ignore it and be stopped when the host's wait is over.
 *
 * Scan code set 2, untranslated (what the VMM's keyboard speaks): make codes,
 * F0 before a break code, E0 before an extended key (Delete is E0 71). Bytes
 * from the port are taken as they come; nothing indexes by them. */
#include "proc.h"
#include "virtio.h"

#define KBD_DATA 0x60
#define KBD_CMD 0x64
#define STATUS_OBF 0x01
#define STATUS_IBF 0x02
#define CMD_WRITE_CTR 0x60
#define CTR_KBD_INT 0x01
#define CTR_SYS 0x04
#define KBD_ENABLE 0xf4
#define VEC_KBD 66
#define GSI_KBD 1
#define LAPIC_EOI ((volatile uint32_t *)((uint8_t *)phys_to_virt(0xfee00000ull) + 0xb0))

#define SC_CTRL 0x14
#define SC_ALT 0x11
#define SC_DELETE 0x71 /* after E0 */

static bool ctrl, alt, extended, release;

static void wait_input_empty(void)
{
	for (int i = 0; i < 100000 && (inb(KBD_CMD) & STATUS_IBF); i++)
		;
}

/* One scan code byte: track Ctrl and Alt, act on Delete with both held. */
static void scan_byte(uint8_t b)
{
	if (b == 0xe0) {
		extended = true;
		return;
	}
	if (b == 0xf0) {
		release = true;
		return;
	}
	bool down = !release;
	if (b == SC_CTRL)
		ctrl = down;
	else if (b == SC_ALT)
		alt = down;
	else if (b == SC_DELETE && extended && down && ctrl && alt && init_process) {
		kdebug("Ctrl-Alt-Del from the host: SIGTERM to pid 1\n");
		signal_send(init_process, NULL, SIGTERM, 0);
	}
	extended = release = false;
}

/* Called from irq_stubs.S with interrupts off. */
void kbd_irq(void);
void kbd_irq(void)
{
	for (int i = 0; i < 16 && (inb(KBD_CMD) & STATUS_OBF); i++)
		scan_byte(inb(KBD_DATA));
	sched_event();
	*LAPIC_EOI = 0;
}

extern void kbd_irq_stub(void);

void kbd_init(void)
{
	if (inb(KBD_CMD) == 0xff)
		return; /* no controller behind the port */
	idt_set_irq_gate(VEC_KBD, kbd_irq_stub);
	ioapic_route(GSI_KBD, VEC_KBD);
	while (inb(KBD_CMD) & STATUS_OBF)
		(void)inb(KBD_DATA);
	wait_input_empty();
	outb(KBD_CMD, CMD_WRITE_CTR);
	wait_input_empty();
	outb(KBD_DATA, CTR_KBD_INT | CTR_SYS);
	wait_input_empty();
	outb(KBD_DATA, KBD_ENABLE); /* its ACK comes as an interrupt, and is dropped */
}
