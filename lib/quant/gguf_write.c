/*
 * The GGUF header writer.  It holds its input to the reader's rules (the
 * same value walker, the same name limits, the same layout checks), so
 * that whatever it writes gguf_parse takes back, and so does ggml, which
 * wants every tensor at exactly the previous one's end rounded up to the
 * alignment, in header order.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "gguf_int.h"

static inline void put32(uint8_t **p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*(*p)++ = (uint8_t)(v >> 8 * i);
}

static inline void put64(uint8_t **p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*(*p)++ = (uint8_t)(v >> 8 * i);
}

static inline void putb(uint8_t **p, const void *s, uint64_t n)
{
	if (n)
		memcpy(*p, s, n);
	*p += n;
}

static int add(uint64_t *sum, uint64_t n)
{
	return __builtin_add_overflow(*sum, n, sum) ? -1 : 0;
}

/* round up to a power of two a; -1 on overflow */
static int align_up(uint64_t *v, uint64_t a)
{
	if (*v > UINT64_MAX - (a - 1))
		return -1;
	*v = (*v + a - 1) & ~(a - 1);
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	const char *const *x = *(const char *const *const *)a;
	const char *const *y = *(const char *const *const *)b;
	int r = strcmp(*x, *y);

	return r ? r : (x > y) - (x < y);
}

/* Two equal names among n: 1 with the indexes of the first pair, 0 if
 * none, -1 out of memory.  Sorting pointers into names[] keeps each
 * name's index, and the tie-break keeps equal names in index order. */
static int find_dup(const char *const *names, uint64_t n, uint64_t *first, uint64_t *dup)
{
	const char *const **ix;
	uint64_t i;
	int r = 0;

	if (n < 2)
		return 0;
	if (n > SIZE_MAX / sizeof(*ix) || !(ix = malloc(n * sizeof(*ix))))
		return -1;
	for (i = 0; i < n; i++)
		ix[i] = &names[i];
	qsort(ix, n, sizeof(*ix), cmp_ref);
	for (i = 1; i < n; i++)
		if (!strcmp(*ix[i - 1], *ix[i])) {
			*first = (uint64_t)(ix[i - 1] - names);
			*dup = (uint64_t)(ix[i] - names);
			r = 1;
			break;
		}
	free(ix);
	return r;
}

static int check_kv(const struct gguf_out_kv *kv, uint64_t i, uint64_t alignment, int *has_align,
		    uint64_t *len, struct gb_err *err)
{
	char show[400], why[600];
	const char *w;
	uint64_t klen, used;

	if (!kv->key)
		return gb_err_set(err, "kv %" PRIu64 ": no key", i);
	klen = strlen(kv->key);
	if (gguf__name_check(kv->key, klen, 1, &w) < 0)
		return gb_err_set(err, "kv %" PRIu64 ": %s", i, w);
	gguf__show(kv->key, klen, show, sizeof(show));
	if (!kv->raw)
		return gb_err_set(err, "kv %" PRIu64 " (%s): no value", i, show);
	if (gguf__value_len(kv->type, kv->raw, kv->raw_len, 0, &used, why, sizeof(why)) < 0)
		return gb_err_set(err, "kv %" PRIu64 " (%s): %s", i, show, why);
	if (used != kv->raw_len)
		return gb_err_set(err, "kv %" PRIu64 " (%s): the %s value is %" PRIu64 " bytes, raw_len says %" PRIu64,
			    i, show, gguf_vtype_name(kv->type), used, kv->raw_len);
	if (!strcmp(kv->key, "general.alignment")) {
		const uint8_t *p = kv->raw;
		uint32_t a;

		if (kv->type != GGUF_T_U32)
			return gb_err_set(err, "general.alignment is of type %s, not u32", gguf_vtype_name(kv->type));
		a = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		if (a != alignment)
			return gb_err_set(err, "general.alignment is %" PRIu32 " but the header is laid out for %" PRIu64,
				    a, alignment);
		*has_align = 1;
	}
	/* key length, key, type, value */
	if (add(len, 8) < 0 || add(len, klen) < 0 || add(len, 4) < 0 || add(len, kv->raw_len) < 0)
		return gb_err_set(err, "kv %" PRIu64 " (%s): the header size overflows", i, show);
	return 0;
}

static int check_tensor(struct gguf_out_tensor *t, uint64_t i, uint64_t alignment, uint64_t *len,
			uint64_t *data, struct gb_err *err)
{
	const struct gq_type_info *ti;
	char show[400];
	const char *w;
	uint64_t nlen, nelem = 1, nb;
	uint32_t d;

	if (!t->name)
		return gb_err_set(err, "tensor %" PRIu64 ": no name", i);
	nlen = strlen(t->name);
	if (gguf__name_check(t->name, nlen, 0, &w) < 0)
		return gb_err_set(err, "tensor %" PRIu64 ": %s", i, w);
	gguf__show(t->name, nlen, show, sizeof(show));
	if (t->ndim < 1 || t->ndim > GGUF_MAX_DIMS)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): n_dims %" PRIu32 " is not in 1..%d",
			    i, show, t->ndim, GGUF_MAX_DIMS);
	for (d = 0; d < t->ndim; d++) {
		if (!t->ne[d])
			return gb_err_set(err, "tensor %" PRIu64 " (%s): ne[%" PRIu32 "] is 0", i, show, d);
		if (__builtin_mul_overflow(nelem, t->ne[d], &nelem) || nelem > INT64_MAX)
			return gb_err_set(err, "tensor %" PRIu64 " (%s): the element count overflows at ne[%" PRIu32 "]",
				    i, show, d);
	}
	ti = gq_type(t->type);
	if (!ti)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): unknown type %" PRIu32, i, show, t->type);
	if (t->ne[0] % ti->blck)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): ne[0] %" PRIu64 " is not a multiple of %s's block of %" PRIu32,
			    i, show, t->ne[0], ti->name, ti->blck);
	if (gq_nbytes(t->type, nelem, &nb) < 0)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): the size overflows", i, show);
	/* the reader computes the size from the shape; a file whose data
	 * disagrees with its header would read back as something else */
	if (nb != t->nbytes)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): nbytes %" PRIu64 ", but %" PRIu64 " %s elements take %" PRIu64,
			    i, show, t->nbytes, nelem, ti->name, nb);
	if (align_up(data, alignment) < 0)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): the data size overflows", i, show);
	t->offset = *data;
	if (add(data, nb) < 0)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): the data size overflows", i, show);
	/* name length, name, n_dims, ne[], type, offset */
	if (add(len, 8) < 0 || add(len, nlen) < 0 || add(len, 4 + 8 * (uint64_t)t->ndim + 4 + 8) < 0)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): the header size overflows", i, show);
	return 0;
}

int gguf_build_header(const struct gguf_out_kv *kv, uint64_t nkv,
		      struct gguf_out_tensor *t, uint64_t nt, uint64_t alignment,
		      uint8_t **hdr, uint64_t *hdr_len, uint64_t *file_size,
		      struct gb_err *err)
{
	uint64_t len = 24, data = 0, i, hl, fs, first, dup;
	const char **names;
	int has_align = 0, r;
	char show[400];
	uint8_t *h, *p;

	*hdr = NULL;
	/* it is written as a u32 */
	if (!alignment || (alignment & (alignment - 1)) || alignment > (1ULL << 31))
		return gb_err_set(err, "alignment %" PRIu64 " is not a power of two up to 2^31", alignment);
	if ((nkv && !kv) || (nt && !t))
		return gb_err_set(err, "no key/value or tensor table");
	for (i = 0; i < nkv; i++)
		if (check_kv(&kv[i], i, alignment, &has_align, &len, err) < 0)
			return -1;
	/* a reader would assume the default and find every tensor misplaced */
	if (!has_align && alignment != GGUF_DEFAULT_ALIGNMENT)
		return gb_err_set(err, "alignment %" PRIu64 " is not the default %d but there is no general.alignment key",
			    alignment, GGUF_DEFAULT_ALIGNMENT);
	for (i = 0; i < nt; i++)
		if (check_tensor(&t[i], i, alignment, &len, &data, err) < 0)
			return -1;

	/* unique keys and names, through one table for both */
	i = nkv > nt ? nkv : nt;
	if (i > SIZE_MAX / sizeof(*names) || !(names = malloc((i ? i : 1) * sizeof(*names))))
		return gb_err_set(err, "out of memory");
	for (i = 0; i < nkv; i++)
		names[i] = kv[i].key;
	r = find_dup(names, nkv, &first, &dup);
	if (r > 0) {
		free(names);
		return gb_err_set(err, "kv %" PRIu64 " (%s): duplicate key, also kv %" PRIu64, dup,
			    gguf__show(kv[dup].key, strlen(kv[dup].key), show, sizeof(show)), first);
	}
	if (r == 0) {
		for (i = 0; i < nt; i++)
			names[i] = t[i].name;
		r = find_dup(names, nt, &first, &dup);
	}
	free(names);
	if (r < 0)
		return gb_err_set(err, "out of memory");
	if (r > 0)
		return gb_err_set(err, "tensor %" PRIu64 " (%s): duplicate name, also tensor %" PRIu64, dup,
			    gguf__show(t[dup].name, strlen(t[dup].name), show, sizeof(show)), first);

	hl = len;
	if (align_up(&hl, alignment) < 0 || align_up(&data, alignment) < 0 ||
	    __builtin_add_overflow(hl, data, &fs))
		return gb_err_set(err, "the file size overflows");
	if (hl > SIZE_MAX)
		return gb_err_set(err, "a header of %" PRIu64 " bytes is too large", hl);
	h = calloc(1, (size_t)hl);
	if (!h)
		return gb_err_set(err, "out of memory for a header of %" PRIu64 " bytes", hl);

	p = h;
	putb(&p, GGUF_MAGIC, 4);
	put32(&p, 3);
	put64(&p, nt);
	put64(&p, nkv);
	for (i = 0; i < nkv; i++) {
		uint64_t kl = strlen(kv[i].key);

		put64(&p, kl);
		putb(&p, kv[i].key, kl);
		put32(&p, kv[i].type);
		putb(&p, kv[i].raw, kv[i].raw_len);
	}
	for (i = 0; i < nt; i++) {
		uint64_t nl = strlen(t[i].name);
		uint32_t d;

		put64(&p, nl);
		putb(&p, t[i].name, nl);
		put32(&p, t[i].ndim);
		for (d = 0; d < t[i].ndim; d++)
			put64(&p, t[i].ne[d]);
		put32(&p, t[i].type);
		put64(&p, t[i].offset);
	}
	/* the padding up to hl is calloc's zeros */
	*hdr = h;
	*hdr_len = hl;
	*file_size = fs;
	return 0;
}
