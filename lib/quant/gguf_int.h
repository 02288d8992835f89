/* Inside libgbquant: the rules gguf.c's reader and gguf_write.c's writer
 * share, so whatever the writer takes the reader takes back.  Not API. */
#ifndef GB_QUANT_GGUF_INT_H
#define GB_QUANT_GGUF_INT_H

#include <stddef.h>
#include <stdint.h>

/* s escaped for a message into buf */
const char *gguf__show(const void *s, uint64_t len, char *buf, size_t n);
/* a key or tensor name of len bytes is allowed; else -1 and why */
int gguf__name_check(const void *s, uint64_t len, int is_key, const char **why);
/* bytes a value of type t at p (len bytes left, at its file offset) takes */
int gguf__value_len(uint32_t t, const void *p, uint64_t len, uint64_t at, uint64_t *used,
		    char *why, size_t n);

#endif
