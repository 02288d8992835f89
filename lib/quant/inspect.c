/*
 * gb-quant inspect: a GGUF file as records, one a line, tab-separated,
 * the first field naming the record (gguf, kv, tensor, type, total).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "quant.h"
#include "inspect.h"

#define SHOW_STRING 160 /* longer strings are cut, with their length */

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_escaped(FILE *f, const char *s, uint64_t n)
{
	uint64_t show = n > SHOW_STRING ? SHOW_STRING : n;

	for (uint64_t i = 0; i < show; i++) {
		unsigned char c = s[i];

		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	if (show < n)
		fprintf(f, "...(%" PRIu64 " bytes)", n);
}

static void put_value(FILE *f, const struct gguf_kv *kv)
{
	const uint8_t *r = kv->raw;
	const char *s;
	uint64_t n;
	float fl;
	double d;

	switch (kv->type) {
	case GGUF_T_U8: fprintf(f, "%u", (unsigned)r[0]); break;
	case GGUF_T_I8: fprintf(f, "%d", (int8_t)r[0]); break;
	case GGUF_T_U16: fprintf(f, "%u", (unsigned)le(r, 2)); break;
	case GGUF_T_I16: fprintf(f, "%d", (int16_t)le(r, 2)); break;
	case GGUF_T_U32: fprintf(f, "%" PRIu32, (uint32_t)le(r, 4)); break;
	case GGUF_T_I32: fprintf(f, "%" PRId32, (int32_t)le(r, 4)); break;
	case GGUF_T_U64: fprintf(f, "%" PRIu64, le(r, 8)); break;
	case GGUF_T_I64: fprintf(f, "%" PRId64, (int64_t)le(r, 8)); break;
	case GGUF_T_BOOL: fputs(r[0] ? "true" : "false", f); break;
	case GGUF_T_F32:
		memcpy(&fl, r, 4);
		fprintf(f, "%.9g", fl);
		break;
	case GGUF_T_F64:
		memcpy(&d, r, 8);
		fprintf(f, "%.17g", d);
		break;
	case GGUF_T_STRING:
		if (gguf_kv_str(kv, &s, &n) == 0)
			put_escaped(f, s, n);
		break;
	case GGUF_T_ARRAY:
		fprintf(f, "[%" PRIu64 " %s]", kv->arr_n, gguf_vtype_name(kv->arr_type));
		break;
	default:
		fputs("?", f);
	}
}

void gq_inspect(const struct gguf *g, const char *path, FILE *f)
{
	uint64_t bytes[GQ_TYPE_MAX] = { 0 }, count[GQ_TYPE_MAX] = { 0 }, elems[GQ_TYPE_MAX] = { 0 };
	uint64_t params = 0, tbytes = 0;
	char a[32];

	fputs("gguf\t", f);
	put_escaped(f, path, strlen(path));
	fprintf(f, "\tversion %" PRIu32 "\talignment %" PRIu64 "\t%s\t%zu bytes\tdata at %" PRIu64 "\n",
		g->version, g->alignment, gb_size_human(g->size, a, sizeof(a)), g->size, g->data_off);
	for (uint64_t i = 0; i < g->n_kv; i++) {
		fputs("kv\t", f);
		put_escaped(f, g->kv[i].key, strlen(g->kv[i].key));
		fprintf(f, "\t%s\t", gguf_vtype_name(g->kv[i].type));
		put_value(f, &g->kv[i]);
		fputc('\n', f);
	}
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensor[i];

		fputs("tensor\t", f);
		put_escaped(f, t->name, strlen(t->name));
		fprintf(f, "\t%s\t", gq_type(t->type)->name);
		for (uint32_t d = 0; d < t->ndim; d++)
			fprintf(f, "%s%" PRIu64, d ? "x" : "", t->ne[d]);
		fprintf(f, "\t%" PRIu64 "\t%" PRIu64 "\n", t->nbytes, t->offset);
		bytes[t->type] += t->nbytes;
		count[t->type]++;
		elems[t->type] += t->nelem;
		params += t->nelem;
		tbytes += t->nbytes;
	}
	for (uint32_t t = 0; t < GQ_TYPE_MAX; t++)
		if (count[t])
			fprintf(f, "type\t%s\t%" PRIu64 " tensors\t%" PRIu64 " bytes\t%" PRIu64 " weights\t%.2f bits each\n",
				gq_type(t)->name, count[t], bytes[t], elems[t], 8.0 * bytes[t] / elems[t]);
	fprintf(f, "total\t%" PRIu64 " tensors\t%" PRIu64 " bytes\t%" PRIu64 " weights\t%" PRIu64 " keys\n",
		g->n_tensors, tbytes, params, g->n_kv);
}
