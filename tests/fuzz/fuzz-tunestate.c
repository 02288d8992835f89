/* gb-tune's state file parser, and the value normaliser it shares with
 * the /proc and /sys reader: any bytes, never a crash; what the parser
 * accepts (version 1 or 2) formats as version 2 and parses back to the
 * same thing */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gb_tune_state a, b;
	static char text[1 << 16];
	char val[GB_TUNE_VAL], *z;
	struct gb_err err;
	int n;

	/* the value normaliser wants a C string */
	z = malloc(size + 1);
	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = 0;
	if (gb_sysval_norm(z, val, sizeof(val)) == 0 && !gb_sysval_valid(val))
		abort();
	free(z);

	if (gb_tune_state_parse((const char *)data, size, &a, &err) < 0)
		return 0;
	n = gb_tune_state_format(&a, text, sizeof(text));
	if (n < 0)
		abort();
	if (gb_tune_state_parse(text, (size_t)n, &b, &err) < 0)
		abort();
	/* a version 1 file comes back as version 2, the rest the same */
	if (b.version != GB_TUNE_STATE_VERSION || a.profile != b.profile || strcmp(a.boot, b.boot) || a.n != b.n ||
	    memcmp(a.rec, b.rec, sizeof(a.rec)) || strcmp(a.swapfile, b.swapfile) || a.swap_bytes != b.swap_bytes ||
	    strcmp(a.swapold, b.swapold) || a.swapold_bytes != b.swapold_bytes || a.npersist != b.npersist ||
	    memcmp(a.persist, b.persist, sizeof(a.persist)) || strcmp(a.fstab_line, b.fstab_line))
		abort();
	return 0;
}
