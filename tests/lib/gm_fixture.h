/* Test fixture: 64 MiB of mapped guest memory, for unit tests of the VMM's
 * boot structures (cmocka group setup/teardown). */
#ifndef CARVE_TEST_GM_FIXTURE_H
#define CARVE_TEST_GM_FIXTURE_H

#include "carve/vmm.h"

extern struct guest_mem gm;
int gm_fixture_setup(void **state);
int gm_fixture_teardown(void **state);

#endif
