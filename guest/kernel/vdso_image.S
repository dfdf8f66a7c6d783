/* The vDSO's image (guest/vdso/, built by mk/kernel.mk), copied into its
 * pages at boot by vdso.c. */
	.section .rodata
	.balign 4096
	.globl vdso_image, vdso_image_end
vdso_image:
	.incbin "build/guest/vdso.so"
vdso_image_end:
	.section .note.GNU-stack, "", @progbits
