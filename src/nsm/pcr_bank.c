/* The PCR bank: 32 SHA-384 registers (the Nitro Enclaves User Guide's PCRs; QEMU's nitro-enclave machine).
 *
 * At start PCR0/1/2 hold the image measurements, PCR8 the signing
 * certificate's, PCR3/PCR4 the parent identity strings extended into zero
 * (QEMU's model), and PCRs 0..15 are locked, which is what AWS's nsm-check
 * expects of a real NSM. PCRs 16..31 start zero and unlocked.
 */
#include <string.h>

#include "nsm/nsm_internal.h"

void pcr_bank_init(struct nsm_pcr_bank *b, const struct nsm_config *cfg)
{
	memset(b, 0, sizeof(*b));
	if (cfg->pcr0)
		memcpy(b->pcr[0], cfg->pcr0, PCR_LEN);
	if (cfg->pcr1)
		memcpy(b->pcr[1], cfg->pcr1, PCR_LEN);
	if (cfg->pcr2)
		memcpy(b->pcr[2], cfg->pcr2, PCR_LEN);
	if (cfg->parent_role)
		pcr_extend(b->pcr[3], cfg->parent_role, strlen(cfg->parent_role));
	if (cfg->parent_id)
		pcr_extend(b->pcr[4], cfg->parent_id, strlen(cfg->parent_id));
	if (cfg->pcr8)
		memcpy(b->pcr[8], cfg->pcr8, PCR_LEN);
	b->locked = (1u << NSM_LOCKED_AT_START) - 1;
}

bool pcr_bank_is_locked(const struct nsm_pcr_bank *b, unsigned index)
{
	return index < NSM_MAX_PCRS && (b->locked >> index & 1);
}

int pcr_bank_extend(struct nsm_pcr_bank *b, uint64_t index, const uint8_t *data, size_t len)
{
	if (index >= NSM_MAX_PCRS)
		return NSM_INVALID_INDEX;
	if (pcr_bank_is_locked(b, (unsigned)index))
		return NSM_READ_ONLY_INDEX;
	pcr_extend(b->pcr[index], data, len);
	return NSM_SUCCESS;
}

/* Locking a locked PCR is refused like writing to it: nsm-check expects
 * LockPCR on 0..15 to fail, and ReadOnlyIndex says why. */
int pcr_bank_lock(struct nsm_pcr_bank *b, uint64_t index)
{
	if (index >= NSM_MAX_PCRS)
		return NSM_INVALID_INDEX;
	if (pcr_bank_is_locked(b, (unsigned)index))
		return NSM_READ_ONLY_INDEX;
	b->locked |= 1u << index;
	return NSM_SUCCESS;
}

/* Locks [0, range). Already locked PCRs in the range are fine: nsm-check
 * sends range = max_pcrs with 0..15 locked and expects success. */
int pcr_bank_lock_range(struct nsm_pcr_bank *b, uint64_t range)
{
	if (range > NSM_MAX_PCRS)
		return NSM_INVALID_INDEX;
	if (range == NSM_MAX_PCRS)
		b->locked = UINT32_MAX;
	else
		b->locked |= (1u << range) - 1;
	return NSM_SUCCESS;
}
