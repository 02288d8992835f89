/* lib/cuabi.h against the CUDA toolkit's own headers, value by value.
 * Built only where the toolkit is installed. */
#include <stddef.h>
#include <cuda.h>
#include <cuda_runtime_api.h>

#include "tap.h"

extern const long long gb_cuabi_ours[];

#define V(x) (long long)(x),
#define V2(label, ours, theirs) (long long)(theirs),
static const long long theirs[] = {
#include "cuabi-list.h"
};
#undef V
#undef V2
#define V(x) #x,
#define V2(label, ours, theirs) #label,
static const char *const names[] = {
#include "cuabi-list.h"
};

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		if (!ok(gb_cuabi_ours[i] == theirs[i], "%s", names[i]))
			printf("#   ours %lld, CUDA's %lld\n", gb_cuabi_ours[i], theirs[i]);
	return done();
}
