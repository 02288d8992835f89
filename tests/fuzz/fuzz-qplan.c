/* gb-quant's plan parser, against a small model built here: any bytes,
 * never a crash; what it accepts prints and parses back to the same
 * picks, and every pick is one of its tensor's choices */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant.h"
#include "quant/plan.h"

static struct gguf model;
static struct gq_plan plan;

/* token_embd 256x4 bf16, a norm, output 64x2 f16 (no K-quants), blk.0.attn_v 256x2 f32 */
static void build(void)
{
	static const struct { const char *name; uint32_t ndim, type; uint64_t ne0, ne1; } t[] = {
		{ "token_embd.weight", 2, GQ_BF16, 256, 4 },
		{ "output_norm.weight", 1, GQ_F32, 256, 1 },
		{ "output.weight", 2, GQ_F16, 64, 2 },
		{ "blk.0.attn_v.weight", 2, GQ_F32, 256, 2 },
	};
	struct gguf_out_tensor ot[4];
	struct gb_err err;
	uint8_t *hdr, *file;
	uint64_t hlen, fsize;

	memset(ot, 0, sizeof(ot));
	for (int i = 0; i < 4; i++) {
		ot[i].name = t[i].name;
		ot[i].ndim = t[i].ndim;
		ot[i].ne[0] = t[i].ne0;
		ot[i].ne[1] = t[i].ne1;
		ot[i].ne[2] = ot[i].ne[3] = 1;
		ot[i].type = t[i].type;
		gq_nbytes(t[i].type, t[i].ne0 * t[i].ne1, &ot[i].nbytes);
	}
	if (gguf_build_header(NULL, 0, ot, 4, 32, &hdr, &hlen, &fsize, &err) < 0)
		abort();
	file = calloc(1, fsize);
	memcpy(file, hdr, hlen);
	free(hdr);
	if (gguf_parse(&model, file, fsize, &err) < 0 || gq_plan_init(&plan, &model, 0, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int picks[4];
	struct gb_err err;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!model.n_tensors)
		build();
	for (uint64_t i = 0; i < plan.n; i++)
		plan.item[i].pick = 0;
	if (gq_plan_parse(&plan, (const char *)data, size, "fuzz", &err) < 0) {
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort();
		return 0;
	}
	for (uint64_t i = 0; i < plan.n; i++) {
		if (plan.item[i].pick < 0 || plan.item[i].pick >= plan.item[i].nchoice)
			abort();
		picks[i] = plan.item[i].pick;
		plan.item[i].pick = 0;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return 0;
	for (uint64_t i = 0; i < plan.n; i++)
		plan.item[i].pick = picks[i];
	gq_plan_print(&plan, f, "fuzz", 0);
	fclose(f);
	for (uint64_t i = 0; i < plan.n; i++)
		plan.item[i].pick = 0;
	if (gq_plan_parse(&plan, text, len, "printed", &err) < 0)
		abort();
	for (uint64_t i = 0; i < plan.n; i++)
		if (plan.item[i].pick != picks[i])
			abort();
	free(text);
	return 0;
}
