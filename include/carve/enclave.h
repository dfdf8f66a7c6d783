/* One enclave's rules and resources, as nitro-cli applies them
 * (aws-nitro-enclaves-cli): memory and CPU requests,
 * CIDs, names and ids, the boot timeout, the hugepage plan and the CPU pool.
 * Pure logic here; the enclave process that holds a VM builds on it. */
#ifndef CARVE_ENCLAVE_H
#define CARVE_ENCLAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/eif.h"
#include "carve/error.h"

#define ENCLAVE_MIN_MEM_MIB 64
#define ENCLAVE_MEM_EIF_RATIO 4 /* memory >= 4 x EIF size (nitro-cli PR #198) */
#define ENCLAVE_PARENT_CID 3
#define ENCLAVE_HOST_CID 2
#define ENCLAVE_MAX_CPUS 256
#define ENCLAVE_HEARTBEAT_PORT 9000
#define ENCLAVE_HEARTBEAT_BYTE 0xB7
#define ENCLAVE_CONSOLE_PORT_OFFSET 10000 /* debug console: CID 0, port CID + 10000 */

/* "--memory": an integer with an optional unit: none/M/m MiB, G/g GiB, T/t
 * TiB. Junk and overflow are E03; 0 passes, for enclave_check_memory's E26. */
int enclave_parse_memory(const char *text, uint64_t *mib, struct carve_err *err);
/* E26 when the request is below 4 x the EIF size (in bytes), or what it is
 * granted (below) is below 64 MiB. */
int enclave_check_memory(uint64_t mib, uint64_t eif_size, struct carve_err *err);
/* The memory an enclave gets for a request: whole 2 MiB pages covering it.
 * nitro-cli maps whole hugepages until the request is covered and reports
 * their sum as MemoryMiB (resource_manager.rs ResourceAllocator::allocate,
 * init_memory); with 2 MiB pages, the size carve's guest memory comes in,
 * 65 MiB is 66. */
#define ENCLAVE_MEM_GRANULE_MIB 2
uint64_t enclave_granted_mib(uint64_t requested_mib);
/* Development mode (no pool): every MiB is populated at start, so more
 * than the host's available memory is E27 instead of the OOM killer. */
int enclave_check_host_memory(uint64_t mib, uint64_t available_mib, struct carve_err *err);
/* "--enclave-cid": 0 means choose one; 1..3, UINT32_MAX and above are E03. */
int enclave_parse_cid(const char *text, uint64_t *cid, struct carve_err *err);

/* nitro-cli's heartbeat timeout: ceil(eif / 6 GiB) x 90 s +
 * ceil(memory / 100 GiB) x 90 s. */
uint64_t enclave_boot_timeout_ms(uint64_t eif_size, uint64_t mem_bytes);

/* "2,3,6-9" -> sorted, unique CPU ids. E23 for a non-number, E24 for a
 * backwards range, E20 for a duplicate. Returns the count or -1. */
int enclave_parse_cpu_list(const char *text, int *cpus, int max, struct carve_err *err);
/* The same list as given: in order, repeats kept (E23, E24 as above). */
int enclave_parse_cpu_values(const char *text, int *cpus, int max, struct carve_err *err);
/* E20 when a CPU is listed more than once, in nitro-cli's words. */
int enclave_check_cpu_duplicates(const int *cpus, int n, struct carve_err *err);

/* A unique name: `base` if unused, else base_1, base_2, ... (nitro-cli's
 * new_enclave_name). `taken` lists the names in use. */
void enclave_unique_name(const char *base, const char *const *taken, int ntaken, char *out, size_t out_len);
/* Enclave names: 1 to ENCLAVE_NAME_MAX bytes, no control characters (E03).
 * Room is left below the registry's 127 for a "_N" suffix. */
#define ENCLAVE_NAME_MAX 100
int enclave_check_name(const char *name, struct carve_err *err);
/* Default name: the EIF file name without directories and ".eif", cut to
 * ENCLAVE_NAME_MAX bytes, control bytes as '_' ("enclave" if empty). */
void enclave_default_name(const char *eif_path, char *out, size_t out_len);
/* "i-...-enc<slot hex>": the board asset tag when the host has one (EC2),
 * else i-0000000000000000, as nitro-cli. */
void enclave_format_id(uint64_t slot, char *out, size_t out_len);
/* The slot number after the last "-enc"; -1 if `id` is not an enclave id. */
int enclave_parse_id(const char *id, uint64_t *slot);

/* ---- booting an EIF ---- */

#define EIF_BOOT_GPA (8ull << 20) /* where Nitro places the whole image */

/* What the VMM boots from an EIF: the image itself (for guest address
 * EIF_BOOT_GPA), the kernel, the command line with `extra` appended, and the
 * ramdisks concatenated. */
struct eif_boot {
	uint8_t *image, *kernel, *initrd;
	size_t image_len, kernel_len, initrd_len;
	char *cmdline;
	struct eif_measurements m;
};

/* Checks the image (structure, CRC) and reads it. E35 damaged, E34 too big
 * for mem_bytes at 8 MiB. */
int eif_boot_load(const char *path, uint64_t mem_bytes, struct eif_boot *b, struct carve_err *err);
/* Adds words to the command line the kernel gets (not measured: the EIF's
 * cmdline section is what PCR0/PCR1 cover). */
int eif_boot_append_cmdline(struct eif_boot *b, const char *extra, struct carve_err *err);
/* An ELF kernel (the carve enclave kernel) rather than a bzImage. */
bool eif_boot_is_elf(const struct eif_boot *b);
void eif_boot_free(struct eif_boot *b);

/* ---- hugepages ---- */

struct hugepage_pool {
	uint64_t size; /* page size in bytes */
	uint64_t free; /* pages available */
};

struct hugepage_plan {
	int n;
	struct {
		uint64_t size;
		uint64_t count;
	} use[8];
	uint64_t total; /* bytes the plan maps, >= the request */
};

/* The smallest set of pages that covers `bytes`: the least total memory,
 * then the fewest pages (so a 256 MiB enclave never takes a 1 GiB page while
 * 2 MiB pages are free; nitro-cli issue #602). pools may be in any order.
 * E27 when the free pages cannot cover the request. */
int hugepage_plan(uint64_t bytes, const struct hugepage_pool *pools, int npools, struct hugepage_plan *plan,
		  struct carve_err *err);

#endif
