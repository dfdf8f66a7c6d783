/* The carve log port (VMM_LOG_PORT): a guest's init writes lines of text
 * there (one `rep outsb` a line) and the VMM hands each whole line to the
 * caller, which puts it in the enclave's event log. That is how a sealed
 * (non-debug) enclave still tells its operator what its init did and why it
 * failed, without the console.
 *
 * Everything here is guest-controlled: bytes outside printable ASCII become
 * '?', a line is cut at GUEST_LOG_LINE_MAX characters, and after
 * GUEST_LOG_MAX_LINES lines one last line says the rest is dropped, so a
 * guest cannot fill the host's disk through the event log. */
#include <stdio.h>
#include <string.h>

#include "vmm/vmm_internal.h"

void guest_log_init(struct guest_log *g, void (*emit)(void *ctx, const char *line), void *ctx)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	g->emit = emit;
	g->ctx = ctx;
}

void guest_log_destroy(struct guest_log *g) { pthread_mutex_destroy(&g->lock); }

/* Called with the lock held. */
static void end_line(struct guest_log *g)
{
	g->line[g->len] = '\0';
	g->len = 0;
	if (g->lines > GUEST_LOG_MAX_LINES)
		return;
	if (++g->lines > GUEST_LOG_MAX_LINES) {
		g->emit(g->ctx, "(the guest wrote more lines; they are dropped)");
		return;
	}
	g->emit(g->ctx, g->line);
}

void guest_log_write(struct guest_log *g, const uint8_t *data, size_t len)
{
	if (!g->emit)
		return;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (c == '\n') {
			end_line(g);
			continue;
		}
		if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c > 0x7e)
			c = '?';
		g->line[g->len++] = (char)c;
		if (g->len == GUEST_LOG_LINE_MAX)
			end_line(g);
	}
	pthread_mutex_unlock(&g->lock);
}

static void port_read(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len)
{
	(void)ctx, (void)vcpu, (void)off;
	memset(data, 0xff, len);
}

static void port_write(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len)
{
	(void)vcpu, (void)off;
	guest_log_write(ctx, data, len);
}

int guest_log_attach(struct vmm *vm, struct carve_err *err)
{
	struct vmm_pio_device d = {
		.name = "carve log port",
		.base = VMM_LOG_PORT,
		.len = 1,
		.byte_wide = true,
		.read = port_read,
		.write = port_write,
		.ctx = &vm->guest_log,
	};
	return vmm_add_pio_device(vm, &d, err);
}
