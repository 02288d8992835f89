/* ggml's tensor types, and the two 16-bit float formats. */
#include <string.h>
#include <strings.h>

#include "quant.h"
#include "rows.h"

GQ_NO_FP_CONTRACT

#define T(id, n, b, s, q) [id] = { n, b, s, q }

/* ggml.c type_traits: elements per block, bytes per block */
static const struct gq_type_info types[GQ_TYPE_MAX] = {
	T(GQ_F32, "f32", 1, 4, 0),
	T(GQ_F16, "f16", 1, 2, 0),
	T(GQ_Q4_0, "q4_0", 32, 18, 1),
	T(GQ_Q4_1, "q4_1", 32, 20, 1),
	T(GQ_Q5_0, "q5_0", 32, 22, 1),
	T(GQ_Q5_1, "q5_1", 32, 24, 1),
	T(GQ_Q8_0, "q8_0", 32, 34, 1),
	T(GQ_Q8_1, "q8_1", 32, 36, 1),
	T(GQ_Q2_K, "q2_K", 256, 84, 1),
	T(GQ_Q3_K, "q3_K", 256, 110, 1),
	T(GQ_Q4_K, "q4_K", 256, 144, 1),
	T(GQ_Q5_K, "q5_K", 256, 176, 1),
	T(GQ_Q6_K, "q6_K", 256, 210, 1),
	T(GQ_Q8_K, "q8_K", 256, 292, 1),
	T(GQ_IQ2_XXS, "iq2_xxs", 256, 66, 1),
	T(GQ_IQ2_XS, "iq2_xs", 256, 74, 1),
	T(GQ_IQ3_XXS, "iq3_xxs", 256, 98, 1),
	T(GQ_IQ1_S, "iq1_s", 256, 50, 1),
	T(GQ_IQ4_NL, "iq4_nl", 32, 18, 1),
	T(GQ_IQ3_S, "iq3_s", 256, 110, 1),
	T(GQ_IQ2_S, "iq2_s", 256, 82, 1),
	T(GQ_IQ4_XS, "iq4_xs", 256, 136, 1),
	T(GQ_I8, "i8", 1, 1, 0),
	T(GQ_I16, "i16", 1, 2, 0),
	T(GQ_I32, "i32", 1, 4, 0),
	T(GQ_I64, "i64", 1, 8, 0),
	T(GQ_F64, "f64", 1, 8, 0),
	T(GQ_IQ1_M, "iq1_m", 256, 56, 1),
	T(GQ_BF16, "bf16", 1, 2, 0),
	T(GQ_TQ1_0, "tq1_0", 256, 54, 1),
	T(GQ_TQ2_0, "tq2_0", 256, 66, 1),
	T(GQ_MXFP4, "mxfp4", 32, 17, 1),
};

const struct gq_type_info *gq_type(uint32_t type)
{
	if (type >= GQ_TYPE_MAX || !types[type].name)
		return NULL;
	return &types[type];
}

int gq_type_from_name(const char *name)
{
	for (int i = 0; i < GQ_TYPE_MAX; i++)
		if (types[i].name && !strcasecmp(types[i].name, name))
			return i;
	return -1;
}

int gq_nbytes(uint32_t type, uint64_t n, uint64_t *bytes)
{
	const struct gq_type_info *t = gq_type(type);

	if (!t || n % t->blck)
		return -1;
	if (__builtin_mul_overflow(n / t->blck, (uint64_t)t->size, bytes))
		return -1;
	return 0;
}

float gq_f16_to_f32(uint16_t h)
{
	return gq_f32_of_f16(h);
}

uint16_t gq_f32_to_f16(float f)
{
	return gq_f16_of(f);
}

float gq_bf16_to_f32(uint16_t h)
{
	return gq_float_of((uint32_t)h << 16);
}

uint16_t gq_f32_to_bf16(float f)
{
	return gq_bf16_of(f);
}
