/* See gm_fixture.h. */
#include "gm_fixture.h"

#include <stddef.h>

struct guest_mem gm;

int gm_fixture_setup(void **state)
{
	(void)state;
	struct carve_err err = {0};
	if (gm_layout(&gm, 64 * VMM_MIB, &err) < 0 || gm_map(&gm, false, &err) < 0)
		return -1;
	return 0;
}

int gm_fixture_teardown(void **state)
{
	(void)state;
	gm_unmap(&gm);
	return 0;
}
