/* lib/cuabi.h's side of t-cuabi */
#include "cuabi.h"

#define V(x) (long long)(x),
#define V2(label, ours, theirs) (long long)(ours),
const long long gb_cuabi_ours[] = {
#include "cuabi-list.h"
};
