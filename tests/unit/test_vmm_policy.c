/* KVM capability checks and the CPUID policy, without /dev/kvm. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vmm_internal.h"

struct fake_kvm {
	int missing; /* capability reported as 0 */
	int max_vcpus;
	int memslots; /* 0: plenty */
};

static int fake_check(void *ctx, int cap)
{
	const struct fake_kvm *f = ctx;
	if (cap == f->missing)
		return 0;
	if (cap == KVM_CAP_MAX_VCPUS)
		return f->max_vcpus;
	if (cap == KVM_CAP_NR_MEMSLOTS)
		return f->memslots ? f->memslots : 32764;
	return 1;
}

static void caps_all_present(void **state)
{
	(void)state;
	struct fake_kvm f = {.missing = -1, .max_vcpus = 1024};
	struct carve_err err = {0};
	assert_int_equal(kvm_check_caps(fake_check, &f, 2, 2, &err), 0);
}

static void caps_missing_named(void **state)
{
	(void)state;
	const struct {
		int cap;
		const char *name;
	} cases[] = {
		{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
		{KVM_CAP_ENFORCE_PV_FEATURE_CPUID, "KVM_CAP_ENFORCE_PV_FEATURE_CPUID"},
		{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
		{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_kvm f = {.missing = cases[i].cap, .max_vcpus = 1024};
		struct carve_err err = {0};
		assert_int_equal(kvm_check_caps(fake_check, &f, 1, 1, &err), -1);
		assert_int_equal(err.code, E71_KVM_CAPABILITY_MISSING);
		if (!strstr(err.msg, cases[i].name))
			fail_msg("'%s' does not name %s", err.msg, cases[i].name);
	}
}

static void caps_too_many_vcpus(void **state)
{
	(void)state;
	struct fake_kvm f = {.missing = -1, .max_vcpus = 4};
	struct carve_err err = {0};
	assert_int_equal(kvm_check_caps(fake_check, &f, 8, 1, &err), -1);
	assert_int_equal(err.code, E22_INSUFFICIENT_CPUS);
}

/* Fewer memory slots than the guest's memory regions: a KVM limit, E71. */
static void caps_too_few_memslots(void **state)
{
	(void)state;
	struct fake_kvm f = {.missing = -1, .max_vcpus = 1024, .memslots = 2};
	struct carve_err err = {0};
	assert_int_equal(kvm_check_caps(fake_check, &f, 1, 2, &err), 0);
	assert_int_equal(kvm_check_caps(fake_check, &f, 1, 3, &err), -1);
	assert_int_equal(err.code, E71_KVM_CAPABILITY_MISSING);
	if (!strstr(err.msg, "KVM_CAP_NR_MEMSLOTS"))
		fail_msg("'%s' does not name KVM_CAP_NR_MEMSLOTS", err.msg);
}

static struct kvm_cpuid2 *base_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 8 * sizeof(struct kvm_cpuid_entry2));
	struct kvm_cpuid_entry2 *e = c->entries;
	e[0] = (struct kvm_cpuid_entry2){.function = 1, .ebx = 0x00000800, .ecx = 0x8000, .edx = 0};
	e[1] = (struct kvm_cpuid_entry2){
		.function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX};
	e[2] = (struct kvm_cpuid_entry2){
		.function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX};
	e[3] = (struct kvm_cpuid_entry2){.function = 0x40000001, .eax = 0x1007efb, .edx = 1};
	e[4] = (struct kvm_cpuid_entry2){.function = 0xa, .eax = 0x07300805};
	e[5] = (struct kvm_cpuid_entry2){.function = 0x80000008, .eax = 0x3030};
	c->nent = 6;
	return c;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static void cpuid_policy(void **state)
{
	(void)state;
	struct kvm_cpuid2 *base = base_cpuid();
	struct kvm_cpuid2 *c = cpuid_for_vcpu(base, 2, 4, VMM_CPU_HOST);
	const struct kvm_cpuid_entry2 *l1 = find(c, 1, 0);
	assert_int_equal(l1->ebx >> 24, 2);          /* initial APIC ID */
	assert_int_equal((l1->ebx >> 16) & 0xff, 4); /* logical processors */
	assert_int_equal((l1->ebx >> 8) & 0xff, 8);  /* CLFLUSH size kept */
	assert_true(l1->ecx & (1u << 31));           /* hypervisor present */
	assert_false(l1->ecx & (1u << 15));          /* PDCM hidden */
	assert_true(l1->edx & (1u << 28));           /* HTT with > 1 CPU */
	const struct kvm_cpuid_entry2 *pv = find(c, 0x40000001, 0);
	assert_int_equal(pv->eax & ~KVM_PV_ALLOWED, 0);
	assert_int_equal(pv->eax, 0x1007efb & KVM_PV_ALLOWED);
	assert_false(pv->eax & (1u << 4)); /* ASYNC_PF */
	assert_false(pv->eax & (1u << 5)); /* STEAL_TIME */
	assert_int_equal(pv->edx, 0);
	assert_int_equal(find(c, 0xb, 0)->edx, 2);
	assert_int_equal(find(c, 0xb, 1)->ebx, 4);
	assert_int_equal(find(c, 0xb, 1)->eax, 2); /* bits to shift for the package */
	assert_int_equal(find(c, 0xa, 0)->eax, 0);
	assert_int_equal(find(c, 0x80000008, 0)->ecx & 0xff, 3);
	assert_int_equal(find(c, 0x80000008, 0)->eax, 0x3030); /* address sizes kept */
	free(c);
	/* Only subleaf 0 of 0xB reported (as some hosts do): 1 and 2 are added. */
	base->entries[2] = base->entries[5];
	base->nent = 5;
	c = cpuid_for_vcpu(base, 1, 2, VMM_CPU_HOST);
	assert_non_null(find(c, 0xb, 1));
	assert_int_equal(find(c, 0xb, 1)->ebx, 2);
	assert_int_equal(find(c, 0xb, 1)->ecx, (2u << 8) | 1);
	assert_int_equal(find(c, 0xb, 1)->edx, 1);
	assert_int_equal(find(c, 0xb, 2)->ecx, 2); /* level type 0: the end */
	assert_true(find(c, 0xb, 2)->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_null(find(c, 0x1f, 1)); /* 0x1F is not invented when absent */
	free(c);
	c = cpuid_for_vcpu(base, 0, 1, VMM_CPU_HOST);
	assert_false(find(c, 1, 0)->edx & (1u << 28));
	free(c);
	free(base);
}

static void cpuid_baseline(void **state)
{
	(void)state;
	struct kvm_cpuid2 *base = calloc(1, sizeof(*base) + 4 * sizeof(struct kvm_cpuid_entry2));
	base->entries[0] = (struct kvm_cpuid_entry2){.function = 1, .ecx = 0xffffffff, .edx = 0xffffffff};
	base->entries[1] = (struct kvm_cpuid_entry2){.function = 7, .ebx = 0xffffffff, .ecx = 0xffffffff};
	base->entries[2] = (struct kvm_cpuid_entry2){.function = 0xd, .eax = 7, .ebx = 0x340};
	base->nent = 3;
	struct kvm_cpuid2 *h = cpuid_for_vcpu(base, 0, 1, VMM_CPU_HOST);
	assert_true(find(h, 1, 0)->ecx & (1u << 28));
	assert_true(find(h, 7, 0)->ebx & (1u << 8));
	struct kvm_cpuid2 *c = cpuid_for_vcpu(base, 0, 1, VMM_CPU_BASELINE);
	assert_false(find(c, 1, 0)->ecx & (1u << 28)); /* AVX */
	assert_false(find(c, 1, 0)->ecx & (1u << 26)); /* XSAVE */
	assert_false(find(c, 1, 0)->ecx & (1u << 13)); /* CMPXCHG16B */
	assert_true(find(c, 1, 0)->ecx & 1u);          /* SSE3 stays */
	assert_true(find(c, 1, 0)->edx & (1u << 26));  /* SSE2 stays */
	assert_false(find(c, 7, 0)->ebx & (1u << 8));  /* BMI2 */
	assert_false(find(c, 7, 0)->ebx & (1u << 5));  /* AVX2 */
	assert_true(find(c, 7, 0)->ebx & 1u);          /* FSGSBASE stays */
	assert_int_equal(find(c, 0xd, 0)->eax, 0);
	free(h);
	free(c);
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(caps_all_present),    cmocka_unit_test(caps_missing_named),
		cmocka_unit_test(caps_too_many_vcpus), cmocka_unit_test(caps_too_few_memslots),
		cmocka_unit_test(cpuid_policy),        cmocka_unit_test(cpuid_baseline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
