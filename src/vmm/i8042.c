/* The i8042 keyboard controller (ports 0x60 and 0x64, IRQ 1) with a keyboard
 * behind it, as much of both as Linux's i8042 and atkbd drivers use:
 *
 * - reset: command 0xFE to port 0x64 pulses the reset line (Linux's
 *   reboot=k), which stops the VM;
 * - Ctrl-Alt-Del: the host presses it (i8042_press_ctrl_alt_del) to ask the
 *   guest to shut down, as Firecracker's SendCtrlAltDel does. Linux's VT
 *   keyboard turns it into SIGINT for PID 1 once init has disabled the
 *   kernel's own reboot on it (carve-init does, guest/init/main.c), or into a
 *   reboot (reboot=k: back here, a stop) otherwise.
 *
 * The controller: a status register, the configuration byte (CTR) read and
 * written with 0x20/0x60, self tests, keyboard enable/disable, and an output
 * buffer queue that raises IRQ 1 for each byte while the CTR enables it. No
 * auxiliary (mouse) port: its commands are accepted and it never answers.
 * The keyboard: scan code set 2 without translation (what Nitro's command
 * line, i8042.dumbkbd, makes atkbd assume), ACKs its commands and answers
 * identify, echo and reset like an MF2 keyboard.
 *
 * Every byte the guest writes is taken as given; no value can index past a
 * buffer: the queue is a ring with a count. */
#include <string.h>

#include "vmm/vmm_internal.h"

#define STATUS_OBF 0x01 /* a byte waits in the output buffer */
#define STATUS_SYS 0x04 /* self test passed */
#define STATUS_CMD 0x08 /* the last write went to port 0x64 */
#define STATUS_UNLOCKED 0x10

#define CTR_KBD_INT 0x01
#define CTR_SYS 0x04
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_XLATE 0x40

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTPUT_PORT 0xd0
#define CMD_WRITE_OUTPUT_PORT 0xd1
#define CMD_WRITE_KBD_BUFFER 0xd2
#define CMD_WRITE_AUX_BUFFER 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_RESET 0xfe

#define KBD_ACK 0xfa
#define KBD_BAT_OK 0xaa
#define KBD_SET_LEDS 0xed
#define KBD_ECHO 0xee
#define KBD_SCANCODE_SET 0xf0
#define KBD_IDENTIFY 0xf2
#define KBD_TYPEMATIC 0xf3
#define KBD_ENABLE 0xf4
#define KBD_DISABLE 0xf5
#define KBD_RESET 0xff

void i8042_init(struct i8042 *k, void (*pulse_irq)(void *ctx), void *ctx)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->ctr = CTR_KBD_INT | CTR_SYS;
	k->scanning = true;
	k->pulse_irq = pulse_irq;
	k->irq_ctx = ctx;
}

void i8042_destroy(struct i8042 *k) { pthread_mutex_destroy(&k->lock); }

/* Called with the lock held: the head of the queue is what port 0x60 shows;
 * a new head raises IRQ 1 (an edge) when the keyboard may interrupt. */
static void signal_head(struct i8042 *k)
{
	if (k->count && (k->ctr & CTR_KBD_INT) && !(k->ctr & CTR_KBD_DISABLE) && k->pulse_irq)
		k->pulse_irq(k->irq_ctx);
}

static void queue_byte(struct i8042 *k, uint8_t b)
{
	if (k->count == sizeof(k->out))
		return; /* a full keyboard buffer drops input, as hardware does */
	k->out[(k->head + k->count) % sizeof(k->out)] = b;
	if (++k->count == 1)
		signal_head(k);
}

static uint8_t pop_byte(struct i8042 *k)
{
	if (!k->count)
		return k->last;
	k->last = k->out[k->head];
	k->head = (uint8_t)((k->head + 1) % sizeof(k->out));
	if (--k->count)
		signal_head(k);
	return k->last;
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR: queue_byte(k, k->ctr); break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPUT_PORT:
	case CMD_WRITE_KBD_BUFFER:
	case CMD_WRITE_AUX_BUFFER:
	case CMD_WRITE_AUX: k->pending_cmd = cmd; break; /* the next 0x60 byte is its operand */
	case CMD_AUX_DISABLE: k->ctr |= CTR_AUX_DISABLE; break;
	case CMD_AUX_ENABLE: k->ctr &= (uint8_t)~CTR_AUX_DISABLE; break;
	case CMD_AUX_TEST: queue_byte(k, 0xff); break; /* no auxiliary device */
	case CMD_SELF_TEST: queue_byte(k, 0x55); break;
	case CMD_KBD_TEST: queue_byte(k, 0x00); break;
	case CMD_KBD_DISABLE: k->ctr |= CTR_KBD_DISABLE; break;
	case CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~CTR_KBD_DISABLE;
		signal_head(k);
		break;
	case CMD_READ_OUTPUT_PORT: queue_byte(k, 0x01); break; /* reset line not asserted */
	case CMD_RESET: k->reset_requested = true; break;
	default: break; /* pulse output lines and vendor commands: nothing to do */
	}
}

static void controller_operand(struct i8042 *k, uint8_t cmd, uint8_t val)
{
	switch (cmd) {
	case CMD_WRITE_CTR:
		/* Translation to set 1 is not offered: the keyboard speaks set 2. */
		k->ctr = (uint8_t)(val & ~CTR_XLATE);
		k->guest_configured = true; /* a driver has taken the controller */
		signal_head(k);
		break;
	case CMD_WRITE_KBD_BUFFER: queue_byte(k, val); break;
	case CMD_WRITE_OUTPUT_PORT:
		if (!(val & 0x01)) /* bit 0 low holds the CPU in reset */
			k->reset_requested = true;
		break;
	default: break; /* the auxiliary port has nothing behind it */
	}
}

static void keyboard_byte(struct i8042 *k, uint8_t val)
{
	uint8_t param_of = k->kbd_pending;
	k->kbd_pending = 0;
	if (param_of) { /* the operand of a command that takes one */
		queue_byte(k, KBD_ACK);
		if (param_of == KBD_SCANCODE_SET && val == 0)
			queue_byte(k, 0x02); /* asked which set: set 2 */
		return;
	}
	switch (val) {
	case KBD_SET_LEDS:
	case KBD_TYPEMATIC:
	case KBD_SCANCODE_SET:
		k->kbd_pending = val;
		queue_byte(k, KBD_ACK);
		break;
	case KBD_ECHO: queue_byte(k, KBD_ECHO); break;
	case KBD_IDENTIFY:
		queue_byte(k, KBD_ACK);
		queue_byte(k, 0xab); /* an MF2 keyboard */
		queue_byte(k, 0x83);
		break;
	case KBD_ENABLE:
		k->scanning = true;
		queue_byte(k, KBD_ACK);
		break;
	case KBD_DISABLE:
		k->scanning = false;
		queue_byte(k, KBD_ACK);
		break;
	case KBD_RESET:
		k->scanning = true;
		queue_byte(k, KBD_ACK);
		queue_byte(k, KBD_BAT_OK);
		break;
	default: queue_byte(k, KBD_ACK); break;
	}
}

uint8_t i8042_read(struct i8042 *k, uint16_t port)
{
	pthread_mutex_lock(&k->lock);
	uint8_t v;
	if (port == PORT_I8042_CMD)
		v = (uint8_t)((k->count ? STATUS_OBF : 0) | STATUS_SYS | STATUS_UNLOCKED |
			      (k->last_write_cmd ? STATUS_CMD : 0));
	else
		v = pop_byte(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

bool i8042_write(struct i8042 *k, uint16_t port, uint8_t val)
{
	pthread_mutex_lock(&k->lock);
	k->last_write_cmd = port == PORT_I8042_CMD;
	if (port == PORT_I8042_CMD) {
		k->pending_cmd = 0;
		controller_command(k, val);
	} else if (k->pending_cmd) {
		uint8_t cmd = k->pending_cmd;
		k->pending_cmd = 0;
		controller_operand(k, cmd, val);
	} else {
		keyboard_byte(k, val);
	}
	bool reset = k->reset_requested;
	k->reset_requested = false;
	pthread_mutex_unlock(&k->lock);
	return reset;
}

int i8042_press_ctrl_alt_del(struct i8042 *k)
{
	/* Set 2 make codes, then break codes: Ctrl, Alt, Delete (E0 71). */
	static const uint8_t keys[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};
	pthread_mutex_lock(&k->lock);
	/* Only a driver that has enabled the keyboard's interrupt will read the
	 * keys (Linux's atkbd, the carve kernel's kbd.c); without one pressing them is no
	 * request at all, and the caller stops the VM instead of waiting. */
	bool listening = (k->ctr & CTR_KBD_INT) && !(k->ctr & CTR_KBD_DISABLE) && k->scanning &&
		k->guest_configured;
	if (listening)
		for (size_t i = 0; i < sizeof(keys); i++)
			queue_byte(k, keys[i]);
	pthread_mutex_unlock(&k->lock);
	return listening ? 0 : -1;
}

/* On the board: the data port 0x60 and the command/status port 0x64, one
 * byte-wide device over 0x60-0x64 (0x61-0x63 between them read as nothing
 * is there, all ones, as they did unowned). A write asking for a reset
 * stops the VM. */
static void kbd_read(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len)
{
	struct vmm *vm = ctx;
	(void)vcpu, (void)len;
	uint16_t port = (uint16_t)(PORT_I8042_DATA + off);
	*(uint8_t *)data = port == PORT_I8042_DATA || port == PORT_I8042_CMD ? i8042_read(&vm->kbd, port)
									     : 0xff;
}

static void kbd_write(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len)
{
	struct vmm *vm = ctx;
	(void)len;
	uint16_t port = (uint16_t)(PORT_I8042_DATA + off);
	if ((port == PORT_I8042_DATA || port == PORT_I8042_CMD) &&
	    i8042_write(&vm->kbd, port, *(const uint8_t *)data))
		vmm_stop(vm, VMM_STOP_RESET_I8042, vcpu, "guest reset through the i8042 (0xfe to port 0x64)");
}

int i8042_attach(struct vmm *vm, struct carve_err *err)
{
	struct vmm_pio_device d = {
		.name = "i8042",
		.base = PORT_I8042_DATA,
		.len = PORT_I8042_CMD - PORT_I8042_DATA + 1,
		.byte_wide = true,
		.read = kbd_read,
		.write = kbd_write,
		.ctx = vm,
	};
	return vmm_add_pio_device(vm, &d, err);
}
