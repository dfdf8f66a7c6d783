/* An 8250/16550A UART at COM1 (ports 0x3f8-0x3ff, GSI 4): transmit to the
 * console fd, receive from the input fd through a 64-byte FIFO.
 *
 * Registers (offset, DLAB=0): 0 RBR/THR, 1 IER, 2 IIR (read) / FCR (write),
 * 3 LCR, 4 MCR, 5 LSR, 6 MSR, 7 SCR; with DLAB=1, 0/1 are the divisor latch.
 * Transmission is instantaneous, so THR is always empty; the THRE interrupt
 * fires when enabled and again after each write, and is cleared by reading IIR
 * (as on real hardware), which is what Linux's 8250 driver expects. Every
 * value a guest writes is masked to the bits the register has. What the
 * guest transmits may be batched on the host side (serial_batch): the guest
 * still sees a UART that sends each byte at once. */
#include <string.h>

#include "carve/util.h"
#include "vmm/vmm_internal.h"

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_FIFO 0xc0
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DCD 0x80
#define UART_MSR_DSR 0x20
#define UART_MSR_CTS 0x10

void serial_init(struct serial *s, int out_fd, int in_fd, void (*set_irq)(void *ctx, int level), void *ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->in_fd = in_fd;
	s->set_irq = set_irq;
	s->irq_ctx = ctx;
	s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	s->dll = 12; /* 9600 baud until the guest sets a divisor */
}

void serial_destroy(struct serial *s) { pthread_mutex_destroy(&s->lock); }

/* Which interrupt is pending, by 8250 priority: receive data, then THRE. */
static uint8_t pending_iir(const struct serial *s)
{
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_irq_pending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

/* Called with the lock held; drives the line only on changes. */
static void update_irq(struct serial *s)
{
	bool level = pending_iir(s) != UART_IIR_NO_INT;
	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_ctx, level);
	}
}

/* Called with the lock held. A console that went away must not stop the
 * guest: its bytes are dropped from then on. */
static void flush_locked(struct serial *s)
{
	if (s->tx_len && s->out_fd >= 0 && write_full(s->out_fd, s->tx, (size_t)s->tx_len) < 0)
		s->out_fd = -1;
	s->tx_len = 0;
}

static void transmit(struct serial *s, uint8_t val)
{
	if (!s->tx_kick) {
		s->tx[0] = val;
		s->tx_len = 1;
		flush_locked(s);
		return;
	}
	s->tx[s->tx_len++] = val;
	if (s->tx_len == 1)
		s->tx_kick(s->kick_ctx);
	else if (s->tx_len == (int)sizeof(s->tx))
		flush_locked(s);
}

void serial_transmit_bulk(struct serial *s, const uint8_t *data, size_t len)
{
	pthread_mutex_lock(&s->lock);
	if (s->out_fd >= 0 && !s->tx_kick) {
		if (write_full(s->out_fd, data, len) < 0)
			s->out_fd = -1;
	} else {
		for (size_t i = 0; i < len && s->out_fd >= 0; i++)
			transmit(s, data[i]);
	}
	pthread_mutex_unlock(&s->lock);
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_batch(struct serial *s, void (*kick)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	s->tx_kick = kick;
	s->kick_ctx = ctx;
	pthread_mutex_unlock(&s->lock);
}

uint8_t serial_read(struct serial *s, uint16_t off)
{
	uint8_t v = 0xff;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case 0:
		if (s->lcr & UART_LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % (int)sizeof(s->rx);
			s->rx_count--;
		} else {
			v = 0;
		}
		break;
	case 1: v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier; break;
	case 2:
		v = pending_iir(s) | ((s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
		/* Reading IIR acknowledges a THRE interrupt. */
		if ((v & 0x0f) == UART_IIR_THRI)
			s->thr_irq_pending = false;
		break;
	case 3: v = s->lcr; break;
	case 4: v = s->mcr; break;
	case 5: v = (uint8_t)(UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0)); break;
	case 6:
		if (s->mcr & UART_MCR_LOOP) {
			/* Loopback wires the modem outputs to the inputs: DTR->DSR,
			 * RTS->CTS, OUT1->RI, OUT2->DCD (Linux's autoconfig checks). */
			v = (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) |
				      ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		} else {
			v = s->msr;
		}
		break;
	case 7: v = s->scr; break;
	default: break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

void serial_write(struct serial *s, uint16_t off, uint8_t val)
{
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case 0:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = val;
		} else {
			if (s->mcr & UART_MCR_LOOP) {
				if (s->rx_count < (int)sizeof(s->rx)) {
					s->rx[(s->rx_head + s->rx_count) % (int)sizeof(s->rx)] = val;
					s->rx_count++;
				}
			} else if (s->out_fd >= 0) {
				transmit(s, val);
			}
			s->thr_irq_pending = true;
		}
		break;
	case 1:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
		} else {
			/* Enabling THRI with an empty THR raises the interrupt at once. */
			if ((val & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
				s->thr_irq_pending = true;
			s->ier = val & 0x0f;
		}
		break;
	case 2:
		s->fcr = val & 0xc9;
		if (val & UART_FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case 3: s->lcr = val; break;
	case 4: s->mcr = val & 0x1f; break;
	case 7: s->scr = val; break;
	default: break; /* LSR and MSR are read-only */
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_receive(struct serial *s, const uint8_t *data, int len)
{
	int n = 0;
	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < (int)sizeof(s->rx)) {
		s->rx[(s->rx_head + s->rx_count) % (int)sizeof(s->rx)] = data[n++];
		s->rx_count++;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* COM1 on the board: ports 0x3f8-0x3ff, byte-wide. */
static void com1_read(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len)
{
	(void)vcpu, (void)len;
	*(uint8_t *)data = serial_read(ctx, off);
}

static void com1_write(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len)
{
	(void)vcpu, (void)len;
	serial_write(ctx, off, *(const uint8_t *)data);
}

int serial_attach(struct vmm *vm, struct carve_err *err)
{
	struct vmm_pio_device d = {
		.name = "COM1",
		.base = PORT_COM1,
		.len = 8,
		.byte_wide = true,
		.read = com1_read,
		.write = com1_write,
		.ctx = &vm->com1,
	};
	return vmm_add_pio_device(vm, &d, err);
}
