/* gb-quant inspect; included after quant.h */
#ifndef GB_QUANT_INSPECT_H
#define GB_QUANT_INSPECT_H

#include <stdio.h>

void gq_inspect(const struct gguf *g, const char *path, FILE *f);

#endif
