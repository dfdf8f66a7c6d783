/* virtio-mmio version 2 (virtio 1.x §4.2.2) for the slots listed on the
 * command line (virtio_mmio.device=SIZE@BASE:GSI), and their interrupts.
 *
 * Each slot's GSI is routed through the IOAPIC (edge-triggered, as the VMM
 * declares its virtio interrupts: an irqfd per device) to a vector of its
 * own, so the handler reads and acknowledges that device's InterruptStatus
 * only: each register access is an exit to the VMM's user space, the
 * dearest kind (with one vector for all, every interrupt read every
 * device's). The handler then sets a flag; the
 * code that waits for a device sleeps with HLT (time_sleep_until) and walks
 * the used rings itself. Only VIRTIO_F_VERSION_1 is negotiated. */
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "errno.h"
#include "virtio.h"

/* Register offsets and status bits: Linux's uapi headers (freestanding
 * #defines), the same the host's device uses. */
#define R_MAGIC VIRTIO_MMIO_MAGIC_VALUE
#define R_VERSION VIRTIO_MMIO_VERSION
#define R_DEVICE_ID VIRTIO_MMIO_DEVICE_ID
#define R_DEVICE_FEATURES VIRTIO_MMIO_DEVICE_FEATURES
#define R_DEVICE_FEATURES_SEL VIRTIO_MMIO_DEVICE_FEATURES_SEL
#define R_DRIVER_FEATURES VIRTIO_MMIO_DRIVER_FEATURES
#define R_DRIVER_FEATURES_SEL VIRTIO_MMIO_DRIVER_FEATURES_SEL
#define R_INTERRUPT_STATUS VIRTIO_MMIO_INTERRUPT_STATUS
#define R_INTERRUPT_ACK VIRTIO_MMIO_INTERRUPT_ACK
#define R_STATUS VIRTIO_MMIO_STATUS
#define VIRTIO_MAGIC 0x74726976 /* "virt" */
#define ST_ACKNOWLEDGE VIRTIO_CONFIG_S_ACKNOWLEDGE
#define ST_DRIVER VIRTIO_CONFIG_S_DRIVER
#define ST_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define ST_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define ST_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define ST_FAILED VIRTIO_CONFIG_S_FAILED

#define IOAPIC_PHYS 0xfec00000ull
#define LAPIC_PHYS 0xfee00000ull
#define VEC_VIRTIO 80 /* device i of devs: VEC_VIRTIO + i */

static struct vdev devs[MAX_VIRTIO_DEVS];
static int ndevs;
static volatile bool pending;
static uint64_t irqs; /* for the debug log: proof the interrupts arrive */

uint32_t vdev_read(struct vdev *d, uint32_t off) { return *(volatile uint32_t *)(d->regs + off); }
void vdev_write(struct vdev *d, uint32_t off, uint32_t v) { *(volatile uint32_t *)(d->regs + off) = v; }

void vdev_fail(struct vdev *d, const char *what)
{
	if (d->broken)
		return;
	d->broken = true;
	kprintf("carve: virtio device %u: %s; no longer used\n", d->id, what);
	vdev_write(d, R_STATUS, vdev_read(d, R_STATUS) | ST_FAILED);
}

bool vdev_event(void)
{
	bool p = pending;
	pending = false;
	return p;
}

/* Device i's interrupt, with interrupts off (irq_stubs.S). */
static void virtio_irq(int i)
{
	uint32_t st = vdev_read(&devs[i], R_INTERRUPT_STATUS);
	if (st)
		vdev_write(&devs[i], R_INTERRUPT_ACK, st);
	if (st & 2) /* configuration change: for us, only NEEDS_RESET matters */
		if (vdev_read(&devs[i], R_STATUS) & ST_NEEDS_RESET)
			devs[i].broken = true;
	pending = true;
	irqs++;
	sched_event();
	*(volatile uint32_t *)((uint8_t *)phys_to_virt(LAPIC_PHYS) + 0xb0) = 0; /* EOI */
}

/* One handler and stub per device slot (irq_stubs.S's virtio_irq<i>_stub). */
#define VIRTIO_IRQ(i)                               \
	void virtio_irq##i(void);                   \
	void virtio_irq##i(void) { virtio_irq(i); } \
	extern void virtio_irq##i##_stub(void);
VIRTIO_IRQ(0)
VIRTIO_IRQ(1)
VIRTIO_IRQ(2)
VIRTIO_IRQ(3)
VIRTIO_IRQ(4)
VIRTIO_IRQ(5)
VIRTIO_IRQ(6)
VIRTIO_IRQ(7)
static void (*const irq_stubs[])(void) = {virtio_irq0_stub, virtio_irq1_stub, virtio_irq2_stub,
					  virtio_irq3_stub, virtio_irq4_stub, virtio_irq5_stub,
					  virtio_irq6_stub, virtio_irq7_stub};
_Static_assert(sizeof(irq_stubs) / sizeof(irq_stubs[0]) == MAX_VIRTIO_DEVS, "a stub per device slot");

void ioapic_route(uint32_t gsi, uint8_t vec)
{
	volatile uint32_t *sel = phys_to_virt(IOAPIC_PHYS),
			  *win = (volatile uint32_t *)((uint8_t *)sel + 0x10);
	uint32_t apic_id = *(volatile uint32_t *)((uint8_t *)phys_to_virt(LAPIC_PHYS) + 0x20) >> 24;
	*sel = 1; /* IOAPICVER: bits 16-23 = last redirection entry */
	if (gsi > ((*win >> 16) & 0xff)) {
		kprintf("carve: interrupt GSI %u is beyond the IOAPIC's pins\n", gsi);
		return;
	}
	*sel = 0x11 + 2 * gsi;
	*win = apic_id << 24;
	*sel = 0x10 + 2 * gsi;
	*win = vec; /* fixed delivery, physical, active high, edge, unmasked */
}

/* Reset, feature negotiation, up to FEATURES_OK (§3.1.1). */
static int vdev_begin(struct vdev *d)
{
	vdev_write(d, R_STATUS, 0);
	if (vdev_read(d, R_STATUS) != 0)
		return -EIO;
	vdev_write(d, R_STATUS, ST_ACKNOWLEDGE);
	vdev_write(d, R_STATUS, ST_ACKNOWLEDGE | ST_DRIVER);
	vdev_write(d, R_DEVICE_FEATURES_SEL, 1);
	if (!(vdev_read(d, R_DEVICE_FEATURES) & 1)) /* VIRTIO_F_VERSION_1 is bit 32 */
		return -ENODEV;
	vdev_write(d, R_DRIVER_FEATURES_SEL, 0);
	vdev_write(d, R_DRIVER_FEATURES, 0);
	vdev_write(d, R_DRIVER_FEATURES_SEL, 1);
	vdev_write(d, R_DRIVER_FEATURES, 1);
	vdev_write(d, R_STATUS, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK);
	if (!(vdev_read(d, R_STATUS) & ST_FEATURES_OK))
		return -ENODEV;
	return 0;
}

void devices_exit(void)
{
	vsock_exit();
	if (ndevs)
		kdebug("virtio: %lu device interrupts\n", irqs);
}

void devices_init(void)
{
	/* The legacy PICs see the same GSIs: idt.c remapped and masked them. */
	for (int i = 0; i < MAX_VIRTIO_DEVS; i++)
		idt_set_irq_gate(VEC_VIRTIO + i, irq_stubs[i]);
	for (int i = 0; i < boot_opts.nvirtio; i++) {
		const struct virtio_mmio_dev *s = &boot_opts.virtio[i];
		if (s->size < 0x200 || s->base + s->size > DIRECT_MAP_SIZE) {
			kprintf("carve: virtio-mmio slot at 0x%lx is outside the mapped memory; skipped\n",
				s->base);
			continue;
		}
		struct vdev *d = &devs[ndevs];
		*d = (struct vdev){.regs = phys_to_virt(s->base), .gsi = s->irq};
		if (vdev_read(d, R_MAGIC) != VIRTIO_MAGIC || vdev_read(d, R_VERSION) != 2) {
			kprintf("carve: no virtio-mmio v2 device at 0x%lx; skipped\n", s->base);
			continue;
		}
		d->id = vdev_read(d, R_DEVICE_ID);
		if (d->id != VIRTIO_ID_VSOCK && d->id != VIRTIO_ID_NSM) {
			if (d->id)
				kdebug("virtio device id %u at 0x%lx: no driver\n", d->id, s->base);
			continue;
		}
		int r = vdev_begin(d);
		if (r == 0)
			r = d->id == VIRTIO_ID_NSM ? nsm_attach(d) : vsock_attach(d);
		if (r < 0) {
			kprintf("carve: virtio device %u at 0x%lx failed to start (error %d)\n", d->id,
				s->base, r);
			vdev_write(d, R_STATUS, ST_FAILED);
			continue;
		}
		ndevs++;
		ioapic_route(d->gsi, (uint8_t)(VEC_VIRTIO + ndevs - 1));
		vdev_write(d, R_STATUS, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
		kdebug("virtio device %u at 0x%lx, GSI %u\n", d->id, s->base, d->gsi);
		if (d->id == VIRTIO_ID_NSM)
			nsm_start();
		else
			vsock_start();
	}
	if (vsock_present()) {
		int r = vsock_heartbeat();
		if (r < 0) {
			kprintf("carve: heartbeat to the parent (vsock CID 3 port 9000) failed: error %d\n",
				-r);
			proc_exit(1);
		}
		kdebug("heartbeat: ok\n");
	} else {
		kdebug("no vsock device: no heartbeat\n");
	}
}
