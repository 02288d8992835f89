/* size, percentage and duration parsing: never a crash; every accepted
 * size formats back to a string that parses to the same value */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64], out[64];
	struct gb_sizepct p;
	const char *why;
	uint64_t v, back;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (gb_size_parse(s, &v, &why) == 0) {
		gb_size_str(v, out, sizeof(out));
		if (gb_size_parse(out, &back, &why) < 0 || back != v)
			abort();
	} else if (!why) {
		abort();
	}
	if (gb_sizepct_parse(s, &p, &why) == 0 && p.is_pct && p.pct_milli > 100000)
		abort();
	gb_ms_parse(s, &v, &why);
	return 0;
}
