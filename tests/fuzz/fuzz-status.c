/* the status file parser: any bytes, never a crash; what it accepts
 * formats and parses back to the same thing */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[65536];
	struct gb_status a, b;
	struct gb_err err;
	int n;

	if (gb_status_parse((const char *)data, size, &a, &err) < 0)
		return 0;
	n = gb_status_format(&a, text, sizeof(text));
	if (n < 0)
		abort();
	if (gb_status_parse(text, (size_t)n, &b, &err) < 0)
		abort();
	if (a.pid != b.pid || a.ndev != b.ndev || strcmp(a.cmdline, b.cmdline) ||
	    memcmp(a.dev, b.dev, sizeof(a.dev)))
		abort();
	return 0;
}
