/* the configuration file parser: any bytes, never a crash; an accepted
 * file leaves every value within its key's bounds */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gb_conf c;
	struct gb_err err;
	char buf[GB_PATH_MAX + 16];
	size_t i;

	gb_conf_defaults(&c);
	if (gb_conf_parse(&c, "fuzz.conf", (const char *)data, size, &err) < 0) {
		if (!memchr(err.msg, 0, sizeof(err.msg)))
			abort();
		return 0;
	}
	for (i = 0; i < gb_conf_nkeys; i++) {
		const struct gb_conf_key *k = &gb_conf_keys[i];
		struct gb_conf d;

		/* what it holds prints and parses back */
		gb_conf_value_str(&c, k, buf, sizeof(buf));
		gb_conf_defaults(&d);
		if (gb_conf_set(&d, k, buf, "x", &err) < 0)
			abort();
		if (k->type == GB_CT_SIZE && *(uint64_t *)((char *)&c + k->off) > k->max)
			abort();
	}
	return 0;
}
