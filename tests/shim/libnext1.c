/* for t-dlnext: a preloaded library that chains to the next definition
 * of probe() with dlsym(RTLD_NEXT), as interposers do */
#define _GNU_SOURCE
#include <dlfcn.h>

__attribute__((visibility("default"))) int gb_next_probe(void)
{
	int (*next)(void) = (int (*)(void))dlsym(RTLD_NEXT, "gb_next_probe");

	return next ? 100 + next() : -1;
}
