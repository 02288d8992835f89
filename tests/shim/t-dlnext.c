/*
 * dlsym(RTLD_NEXT) must still resolve relative to its caller with the
 * shim's dlsym in front (the override tail-calls the real one).  Run
 * with LD_PRELOAD="shim libnext1.so libnext2.so".
 */
#include "common.h"

int main(void)
{
	int (*probe)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "gb_next_probe");

	ok(probe != NULL, "libnext1 is preloaded");
	is_int(probe ? probe() : -1, 102, "libnext1's RTLD_NEXT lookup finds libnext2, not itself");
	ok(dlsym(RTLD_NEXT, "gb_no_such_symbol") == NULL, "RTLD_NEXT of a missing name is NULL");
	return done();
}
