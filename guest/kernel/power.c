/* Stopping the machine. The program's exit status goes out on the carve exit
 * port (a 32-bit OUT to 0xF4, the ABI the carve VMM reads); then the VM powers
 * off through the ACPI sleep-control register (S5), and, should that not stop
 * it, through the i8042 reset line. */
#include "kernel.h"

#define CARVE_EXIT_PORT 0xf4
#define ACPI_SLEEP_CTL 0x600
#define ACPI_SLP_S5 ((5 << 2) | 0x20) /* SLP_TYP = 5 (\_S5), SLP_EN */
#define I8042_CMD 0x64

_Noreturn void machine_exit(int status)
{
	outl(CARVE_EXIT_PORT, (uint32_t)status);
	outb(ACPI_SLEEP_CTL, ACPI_SLP_S5);
	outb(I8042_CMD, 0xfe);
	for (;;)
		__asm__ volatile("cli; hlt");
}
