/* a GGUF file, whatever its bytes: the reader refuses it in one line or
 * everything it hands out lies inside the buffer; then the header is
 * written again from what was read, and the new file reads back the same
 * (and writes the same header a second time) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static int inside(const uint8_t *p, uint64_t n, const uint8_t *base, size_t size)
{
	return p >= base && n <= size && (size_t)(p - base) <= size - n;
}

static void look(const struct gguf *g, const uint8_t *data, size_t size)
{
	volatile uint8_t sink = 0;
	const char *s;
	uint64_t i, v, len;

	CHECK(g->version == 2 || g->version == 3);
	CHECK(g->alignment && !(g->alignment & (g->alignment - 1)));
	CHECK(g->data_off % g->alignment == 0);
	for (i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *kv = &g->kv[i];

		CHECK(*kv->key && strlen(kv->key) <= 65535);
		CHECK(gguf_get(g, kv->key) == kv);
		CHECK(inside(kv->raw, kv->raw_len, data, size) && kv->raw_len);
		CHECK(kv->type <= GGUF_T_F64 && strcmp(gguf_vtype_name(kv->type), "unknown"));
		if (gguf_kv_uint(kv, &v) == 0)
			CHECK(kv->type != GGUF_T_STRING && kv->type != GGUF_T_ARRAY &&
			      kv->type != GGUF_T_F32 && kv->type != GGUF_T_F64);
		if (gguf_kv_str(kv, &s, &len) == 0) {
			CHECK(kv->type == GGUF_T_STRING && len + 8 == kv->raw_len);
			if (len)
				sink ^= (uint8_t)s[len - 1];
		}
		if (kv->type == GGUF_T_ARRAY)
			CHECK(kv->arr_type <= GGUF_T_F64 && kv->raw_len >= 12);
	}
	for (i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensor[i];
		uint64_t n = 1, nb;

		CHECK(*t->name && strlen(t->name) <= 255);
		CHECK(gguf_tensor_find(g, t->name) == t);
		CHECK(t->ndim >= 1 && t->ndim <= GGUF_MAX_DIMS);
		for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
			CHECK(t->ne[d] >= 1 && (d < t->ndim || t->ne[d] == 1));
			CHECK(!__builtin_mul_overflow(n, t->ne[d], &n));
		}
		CHECK(n == t->nelem && n <= INT64_MAX);
		CHECK(gq_nbytes(t->type, n, &nb) == 0 && nb == t->nbytes);
		CHECK(t->ne[0] % gq_type(t->type)->blck == 0);
		CHECK(t->offset % g->alignment == 0);
		CHECK(t->data == g->base + g->data_off + t->offset);
		CHECK(inside(t->data, t->nbytes, data, size));
		sink ^= t->data[0] ^ t->data[t->nbytes - 1];
	}
	(void)sink;
}

static void same(const struct gguf *a, const struct gguf *b)
{
	uint64_t i;

	CHECK(b->version == 3 && a->alignment == b->alignment);
	CHECK(a->n_kv == b->n_kv && a->n_tensors == b->n_tensors);
	for (i = 0; i < a->n_kv; i++) {
		const struct gguf_kv *x = &a->kv[i], *y = &b->kv[i];

		CHECK(!strcmp(x->key, y->key) && x->type == y->type && x->raw_len == y->raw_len);
		CHECK(!memcmp(x->raw, y->raw, x->raw_len));
		CHECK(x->arr_type == y->arr_type && x->arr_n == y->arr_n);
	}
	for (i = 0; i < a->n_tensors; i++) {
		const struct gguf_tensor *x = &a->tensor[i], *y = &b->tensor[i];

		CHECK(!strcmp(x->name, y->name) && x->ndim == y->ndim && x->type == y->type);
		CHECK(!memcmp(x->ne, y->ne, sizeof(x->ne)) && x->nelem == y->nelem && x->nbytes == y->nbytes);
		CHECK(!memcmp(x->data, y->data, x->nbytes));
	}
}

static int build(const struct gguf *g, uint8_t **hdr, uint64_t *hl, uint64_t *fs,
		 struct gguf_out_tensor **tp)
{
	struct gguf_out_kv *kv = calloc(g->n_kv + 1, sizeof(*kv));
	struct gguf_out_tensor *t = calloc(g->n_tensors + 1, sizeof(*t));
	struct gb_err err;
	uint64_t i;
	int r;

	CHECK(kv && t);
	for (i = 0; i < g->n_kv; i++)
		kv[i] = (struct gguf_out_kv){ g->kv[i].key, g->kv[i].type, g->kv[i].raw, g->kv[i].raw_len };
	for (i = 0; i < g->n_tensors; i++) {
		t[i].name = g->tensor[i].name;
		t[i].ndim = g->tensor[i].ndim;
		memcpy(t[i].ne, g->tensor[i].ne, sizeof(t[i].ne));
		t[i].type = g->tensor[i].type;
		t[i].nbytes = g->tensor[i].nbytes;
	}
	r = gguf_build_header(kv, g->n_kv, t, g->n_tensors, g->alignment, hdr, hl, fs, &err);
	if (r < 0)
		fprintf(stderr, "gguf_build_header refused what gguf_parse took: %s\n", err.msg);
	free(kv);
	*tp = t;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf_out_tensor *t, *t2;
	uint8_t *h, *h2, *f;
	uint64_t hl, fs, hl2, fs2, i;
	struct gb_err err;
	struct gguf g, g2;

	memset(&err, 0, sizeof(err));
	if (gguf_parse(&g, data, size, &err) < 0) {
		CHECK(err.msg[0] && !strchr(err.msg, '\n'));
		CHECK(!g.kv && !g.tensor);
		return 0;
	}
	look(&g, data, size);

	/* the writer lays out each tensor at the alignment; at 2^31 the
	 * header alone is 2 GiB of zeros, valid and not worth the memory */
	if (g.alignment > (1u << 16)) {
		gguf_free(&g);
		return 0;
	}
	CHECK(build(&g, &h, &hl, &fs, &t) == 0);
	f = calloc(1, fs);
	CHECK(f);
	memcpy(f, h, hl);
	for (i = 0; i < g.n_tensors; i++)
		memcpy(f + hl + t[i].offset, g.tensor[i].data, t[i].nbytes);
	if (gguf_parse(&g2, f, fs, &err) < 0) {
		fprintf(stderr, "the rewritten file does not parse: %s\n", err.msg);
		abort();
	}
	look(&g2, f, fs);
	same(&g, &g2);
	for (i = 0; i < g.n_tensors; i++)
		CHECK(g2.tensor[i].offset == t[i].offset);

	/* written again from the rewritten file: the same bytes */
	CHECK(build(&g2, &h2, &hl2, &fs2, &t2) == 0);
	CHECK(hl2 == hl && fs2 == fs && !memcmp(h, h2, hl));

	free(t);
	free(t2);
	free(h);
	free(h2);
	free(f);
	gguf_free(&g2);
	gguf_free(&g);
	return 0;
}
