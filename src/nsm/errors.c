/* nsm-api ErrorCode names: on the wire only the names matter. */
#include "carve/nsm.h"

const char *nsm_error_name(int code)
{
	static const char *const names[] = {
		"Success",          "InvalidArgument", "InvalidIndex",  "InvalidResponse", "ReadOnlyIndex",
		"InvalidOperation", "BufferTooSmall",  "InputTooLarge", "InternalError",
	};
	if (code < 0 || (unsigned)code >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[code];
}
