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

bool acpi_pm_io(struct vcpu *v, uint16_t port, bool write, uint8_t *val)
{
	switch (port) {
	case PORT_ACPI_SLEEP_CTL:
		if (!write)
			*val = 0;
		else if ((*val & SLP_EN) && SLP_TYP(*val) == ACPI_S5_TYPE)
			vmm_stop(v->vm, VMM_STOP_POWEROFF, v->index, "guest powered off through ACPI (S5)");
		return true;
	case PORT_ACPI_SLEEP_STS:
		if (!write)
			*val = 0; /* WAK_STS never set: we never wake from a sleep state */
		return true;
	case PORT_ACPI_RESET:
		if (!write)
			*val = 0;
		else if (*val == ACPI_RESET_VALUE)
			vmm_stop(v->vm, VMM_STOP_RESET_ACPI, v->index, "guest reset through the ACPI reset register");
		return true;
	default:
		return false;
	}
}
