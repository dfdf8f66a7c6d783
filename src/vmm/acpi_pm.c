/* The hardware-reduced ACPI registers the FADT points at (acpi.c): the sleep
 * control and status registers and the reset register, all in I/O space.
 *
 * Poweroff (ACPI spec "Sleep Control and Status Registers"): the OS writes
 * SLP_TYP (bits 2-4, from the DSDT's \_S5 package) with SLP_EN (bit 5) to the
 * sleep control register. Reset: the OS writes RESET_VALUE to RESET_REG.
 * Other sleep states are not offered (no \_S1-\_S4 in the DSDT) and writes that
 * ask for them are ignored. */
#include "vmm/vmm_internal.h"

#define SLP_EN 0x20
#define SLP_TYP(v) (((v) >> 2) & 7)

static void pm_read(void *ctx, int vcpu, uint16_t off, void *data, uint32_t len)
{
	(void)ctx, (void)vcpu, (void)off, (void)len;
	/* SLEEP_STS: WAK_STS never set, we never wake from a sleep state;
	 * the control and reset registers read as 0. */
	*(uint8_t *)data = 0;
}

static void pm_write(void *ctx, int vcpu, uint16_t off, const void *data, uint32_t len)
{
	struct vmm *vm = ctx;
	uint8_t val = *(const uint8_t *)data;
	(void)len;
	switch (PORT_ACPI_SLEEP_CTL + off) {
	case PORT_ACPI_SLEEP_CTL:
		if ((val & SLP_EN) && SLP_TYP(val) == ACPI_S5_TYPE)
			vmm_stop(vm, VMM_STOP_POWEROFF, vcpu, "guest powered off through ACPI (S5)");
		break;
	case PORT_ACPI_RESET:
		if (val == ACPI_RESET_VALUE)
			vmm_stop(vm, VMM_STOP_RESET_ACPI, vcpu,
				 "guest reset through the ACPI reset register");
		break;
	default: /* SLEEP_STS: write-1-to-clear bits we never set */ break;
	}
}

int acpi_pm_attach(struct vmm *vm, struct carve_err *err)
{
	struct vmm_pio_device d = {
		.name = "ACPI PM",
		.base = PORT_ACPI_SLEEP_CTL,
		.len = 3,
		.byte_wide = true,
		.read = pm_read,
		.write = pm_write,
		.ctx = vm,
	};
	return vmm_add_pio_device(vm, &d, err);
}
