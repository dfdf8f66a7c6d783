/* The guest's sub-page lock device (docs/vmm.md § The guest's lock device):
 * 0x60 I/O ports of 32-bit registers (carve/vmm.h: SELFLOCK_REG_*) through
 * which an enclave's kernel removes write permission from its own memory.
 *
 * The guest writes ADDR and LEN (a guest physical range, multiples of 128
 * bytes, inside one RAM region), then COMMAND = LOCK: the range's
 * sub-pages become read-only in the VM's table with a one-way change
 * (SUBPAGE_ONE_WAY), which nothing, the guest's later commands and the
 * host's included, can undo; the pages move into read-only memory slots
 * while every other vCPU is held out of KVM_RUN (subpage_remap.c). SEAL
 * ends locking for the VM's life and measures the locked map's digest
 * into an NSM PCR (vmm_config.lock_sealed). STATUS says how the last
 * command went; each refusal has its own value and changes nothing.
 *
 * Every register value is the guest's: checked here, before anything
 * changes (alignment, RAM, the table's page budget, KVM's slot budget). */
#include <errno.h>
#include <stdarg.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "carve/crypto.h"
#include "vmm/vmm_internal.h"

#define SELFLOCK_VERSION 1
#define SELFLOCK_LOG_PER_MINUTE 32 /* lock lines; a kernel locks a handful */
#define DIGEST_TAG "CARVE-SUBPAGE-LOCK-1"

static void digest_page(void *ctx, uint64_t gfn, uint32_t locked)
{
	uint8_t rec[12];
	for (int i = 0; i < 8; i++)
		rec[i] = (uint8_t)(gfn >> (8 * i));
	for (int i = 0; i < 4; i++)
		rec[8 + i] = (uint8_t)(locked >> (8 * i));
	sha384_update(ctx, rec, sizeof(rec));
}

void vmm_selflock_digest(struct vmm *vm, uint8_t out[48])
{
	struct sha384 h;
	if (sha384_init(&h) < 0) {
		memset(out, 0, 48);
		return;
	}
	sha384_update(&h, DIGEST_TAG, strlen(DIGEST_TAG));
	subpage_locked_each(&vm->subpages, digest_page, &h);
	sha384_final(&h, out);
	sha384_free(&h);
}

void vmm_selflock_state(struct vmm *vm, struct vmm_selflock_state *s)
{
	pthread_mutex_lock(&vm->selflock.lock);
	s->sealed = vm->selflock.sealed;
	s->pcr = vm->selflock.pcr;
	pthread_mutex_unlock(&vm->selflock.lock);
	s->locked_pages = subpage_locked_each(&vm->subpages, NULL, NULL);
	vmm_selflock_digest(vm, s->digest);
}

int vmm_subpage_get_locked(struct vmm *vm, uint64_t gfn, uint32_t npages, uint32_t *locked)
{
	return subpage_get_locked(&vm->subpages, gfn, npages, locked);
}

static int cap(struct vmm *vm, atomic_int *cached, int which)
{
	if (atomic_load(cached) == 0) {
		int r = vm->kvm.vm_fd >= 0 ? ioctl(vm->kvm.vm_fd, KVM_CHECK_EXTENSION, which) : -1;
		atomic_store(cached, r > 0 ? r : -1);
	}
	return atomic_load(cached);
}

static void event(struct vmm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(struct vmm *vm, const char *fmt, ...)
{
	if (!vm->event && !vm->verbose)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (vm->event)
		vm->event(vm->event_ctx, line);
	else
		fprintf(stderr, "vmm: %s\n", line);
}

/* The checks of a LOCK request on the guest's values, before anything
 * changes; SELFLOCK_S_OK or why not. */
static uint32_t check_lock(struct vmm *vm, uint64_t addr, uint64_t len, uint64_t *first, uint64_t *last)
{
	if (len == 0 || addr % SUBPAGE_SIZE || len % SUBPAGE_SIZE)
		return SELFLOCK_S_ALIGN;
	if (addr + len < addr || !gm_layout_contains(&vm->mem, addr, len))
		return SELFLOCK_S_RANGE;
	*first = addr >> SUBPAGE_PAGE_SHIFT;
	*last = (addr + len - 1) >> SUBPAGE_PAGE_SHIFT;
	return SELFLOCK_S_OK;
}

/* Both commands run with every other vCPU held out (a LOCK remaps memory;
 * a SEAL must not race one), so "sealed" is decided once. */
static uint32_t do_lock(struct vmm *vm, int vcpu, uint64_t addr, uint64_t len, uint64_t first, uint64_t last)
{
	struct selflock *d = &vm->selflock;
	int slots = cap(vm, &d->nr_memslots, KVM_CAP_NR_MEMSLOTS);
	size_t need = vmm_slots_with(vm, first, last);
	if (!d->remap && (slots <= 0 || need > (size_t)slots))
		return SELFLOCK_S_SLOTS;
	/* The page budget: subpage_set_range refuses past it, changing nothing. */
	int r = subpage_set_range(&vm->subpages, addr, len, false, SUBPAGE_ONE_WAY);
	if (r < 0)
		return r == -ENOSPC ? SELFLOCK_S_PAGES : SELFLOCK_S_HOST;
	r = d->remap ? d->remap(vm, vcpu, first, last) : vmm_subpage_remap(vm, vcpu, first, last);
	if (r < 0)
		return SELFLOCK_S_HOST;
	unsigned long dropped = 0;
	if (d->log_ready && rate_limit_allow(&d->log, monotonic_ns(), &dropped))
		event(vm,
		      "guest lock: 0x%llx+0x%llx (pages 0x%llx-0x%llx) is read-only for good, by vCPU %d%s",
		      (unsigned long long)addr, (unsigned long long)len, (unsigned long long)first,
		      (unsigned long long)last, vcpu, dropped ? " (earlier lock lines left out)" : "");
	return SELFLOCK_S_OK;
}

static uint32_t do_seal(struct vmm *vm, int vcpu)
{
	struct selflock *d = &vm->selflock;
	uint8_t digest[48];
	vmm_selflock_digest(vm, digest);
	int pcr = d->lock_sealed ? d->lock_sealed(d->lock_sealed_ctx, digest) : -1;
	pthread_mutex_lock(&d->lock);
	d->sealed = true;
	d->pcr = pcr;
	pthread_mutex_unlock(&d->lock);
	char hex[97];
	for (int i = 0; i < 48; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	size_t pages = subpage_locked_each(&vm->subpages, NULL, NULL);
	if (pcr >= 0)
		event(vm, "guest lock sealed by vCPU %d: %zu page(s) locked, digest %s, measured into PCR%d",
		      vcpu, pages, hex, pcr);
	else
		event(vm,
		      "guest lock sealed by vCPU %d: %zu page(s) locked, digest %s (no NSM: not measured)",
		      vcpu, pages, hex);
	return SELFLOCK_S_OK;
}

static uint32_t run_command(struct vmm *vm, int vcpu, uint32_t cmd)
{
	struct selflock *d = &vm->selflock;
	if (cmd != SELFLOCK_CMD_LOCK && cmd != SELFLOCK_CMD_SEAL)
		return SELFLOCK_S_COMMAND;
	pthread_mutex_lock(&d->lock);
	uint64_t addr = d->addr, len = d->len;
	pthread_mutex_unlock(&d->lock);
	uint64_t first = 0, last = 0;
	if (cmd == SELFLOCK_CMD_LOCK) {
		uint32_t st = check_lock(vm, addr, len, &first, &last);
		if (st != SELFLOCK_S_OK)
			return st;
		if (!d->remap && cap(vm, &d->readonly_mem, KVM_CAP_READONLY_MEM) <= 0)
			return SELFLOCK_S_UNSUPPORTED;
	}
	if (vmm_pause_others(vm, vcpu) < 0)
		return SELFLOCK_S_HOST;
	pthread_mutex_lock(&d->lock);
	bool sealed = d->sealed;
	pthread_mutex_unlock(&d->lock);
	uint32_t st = sealed               ? SELFLOCK_S_SEALED
		: cmd == SELFLOCK_CMD_LOCK ? do_lock(vm, vcpu, addr, len, first, last)
					   : do_seal(vm, vcpu);
	vmm_resume_others(vm);
	return st;
}

static void command(struct vmm *vm, int vcpu, uint32_t cmd)
{
	uint32_t st = run_command(vm, vcpu, cmd);
	pthread_mutex_lock(&vm->selflock.lock);
	vm->selflock.status = st;
	pthread_mutex_unlock(&vm->selflock.lock);
}

static uint32_t read_reg(struct vmm *vm, uint16_t off)
{
	struct selflock *d = &vm->selflock;
	if (off >= SELFLOCK_REG_DIGEST && off < SELFLOCK_REG_DIGEST + 48) {
		uint8_t digest[48];
		vmm_selflock_digest(vm, digest);
		uint32_t v;
		memcpy(&v, digest + (off - SELFLOCK_REG_DIGEST),
		       4); /* bytes in order: x86 is little-endian */
		return v;
	}
	uint32_t v = 0;
	pthread_mutex_lock(&d->lock);
	switch (off) {
	case SELFLOCK_REG_ID: v = SELFLOCK_ID; break;
	case SELFLOCK_REG_VERSION: v = SELFLOCK_VERSION; break;
	case SELFLOCK_REG_GRANULE: v = SUBPAGE_SIZE; break;
	case SELFLOCK_REG_STATUS: v = d->status; break;
	case SELFLOCK_REG_ADDR_LO: v = (uint32_t)d->addr; break;
	case SELFLOCK_REG_ADDR_HI: v = (uint32_t)(d->addr >> 32); break;
	case SELFLOCK_REG_LEN_LO: v = (uint32_t)d->len; break;
	case SELFLOCK_REG_LEN_HI: v = (uint32_t)(d->len >> 32); break;
	case SELFLOCK_REG_COMMAND: v = 0; break;
	case SELFLOCK_REG_STATE:
		v = (d->sealed ? SELFLOCK_STATE_SEALED : 0) |
			(d->remap || d->readonly_mem > 0 ? SELFLOCK_STATE_SUPPORTED : 0);
		break;
	case SELFLOCK_REG_PCR: v = d->pcr < 0 ? 0xffffffffu : (uint32_t)d->pcr; break;
	case SELFLOCK_REG_BUDGET: {
		size_t used = subpage_pages(&vm->subpages);
		v = vm->subpages.max_pages > used ? (uint32_t)(vm->subpages.max_pages - used) : 0;
		break;
	}
	default: v = 0xffffffffu; break;
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

static void selflock_read(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len)
{
	struct vmm *vm = ctx;
	(void)vcpu;
	if (len != 4 || off % 4 || off >= VMM_SELFLOCK_PORTS) {
		memset(data, 0xff, len);
		pthread_mutex_lock(&vm->selflock.lock);
		vm->selflock.status = SELFLOCK_S_ACCESS;
		pthread_mutex_unlock(&vm->selflock.lock);
		return;
	}
	if (off == SELFLOCK_REG_STATE) /* ask KVM once, outside the device lock */
		(void)cap(vm, &vm->selflock.readonly_mem, KVM_CAP_READONLY_MEM);
	uint32_t v = read_reg(vm, off);
	memcpy(data, &v, 4);
}

static void selflock_write(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len)
{
	struct vmm *vm = ctx;
	struct selflock *d = &vm->selflock;
	uint32_t v = 0;
	if (len == 4)
		memcpy(&v, data, 4);
	if (len == 4 && off == SELFLOCK_REG_COMMAND) {
		command(vm, vcpu, v);
		return;
	}
	pthread_mutex_lock(&d->lock);
	switch (len == 4 ? off : 0xffff) {
	case SELFLOCK_REG_ADDR_LO: d->addr = (d->addr & ~0xffffffffull) | v; break;
	case SELFLOCK_REG_ADDR_HI: d->addr = (d->addr & 0xffffffffull) | (uint64_t)v << 32; break;
	case SELFLOCK_REG_LEN_LO: d->len = (d->len & ~0xffffffffull) | v; break;
	case SELFLOCK_REG_LEN_HI: d->len = (d->len & 0xffffffffull) | (uint64_t)v << 32; break;
	default: d->status = SELFLOCK_S_ACCESS; break; /* read-only, unaligned or not 32-bit */
	}
	pthread_mutex_unlock(&d->lock);
}

int selflock_attach(struct vmm *vm, struct carve_err *err)
{
	struct selflock *d = &vm->selflock;
	pthread_mutex_init(&d->lock, NULL);
	d->status = SELFLOCK_S_NONE;
	d->pcr = -1;
	rate_limit_init(&d->log, SELFLOCK_LOG_PER_MINUTE, 60 * 1000);
	d->log_ready = true;
	struct vmm_pio_device dev = {
		.name = "carve sub-page lock",
		.base = VMM_SELFLOCK_PORT,
		.len = VMM_SELFLOCK_PORTS,
		.read = selflock_read,
		.write = selflock_write,
		.ctx = vm,
	};
	return vmm_add_pio_device(vm, &dev, err);
}
