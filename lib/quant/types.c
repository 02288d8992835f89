/* ggml's tensor types, and the two 16-bit float formats. */
#include <string.h>
#include <strings.h>

#include "quant.h"

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

static inline uint32_t bits_of(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static inline float float_of(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

float gq_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ff;

	if (exp == 0x1f) /* inf; NaN quiet, payload kept, as ggml's multiply leaves it */
		return float_of(sign | (man ? 0x7fc00000 : 0x7f800000) | man << 13);
	if (exp == 0) {
		/* zero or subnormal: man * 2^-24, exact in float */
		float v = (float)man * 0x1p-24f;
		return float_of(sign | bits_of(v));
	}
	return float_of(sign | (exp + 112) << 23 | man << 13);
}

uint16_t gq_f32_to_f16(float f)
{
	uint32_t u = bits_of(f);
	uint16_t sign = (u >> 16) & 0x8000;
	uint32_t a = u & 0x7fffffff;

	if (a > 0x7f800000) /* NaN: ggml's one quiet NaN, payload dropped */
		return sign | 0x7e00;
	if (a >= 0x477ff000) /* rounds to 65520 or more: inf */
		return sign | 0x7c00;
	if (a < 0x38800000) {
		/* below the smallest normal half (2^-14): the result is
		 * round(|f| * 2^24) ulps, with the FPU's round-to-nearest-even
		 * doing the rounding */
		float v = float_of(a) * 0x1p24f;
		uint32_t r = (uint32_t)__builtin_rintf(v);
		return sign | r; /* r == 0x400 is the smallest normal, right */
	}
	/* normal: rebias, then round the 13 dropped bits to nearest even;
	 * a carry into the exponent is the right answer */
	uint32_t h = ((a >> 13) - (112 << 10));
	uint32_t rest = a & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++;
	return sign | h;
}

float gq_bf16_to_f32(uint16_t h)
{
	return float_of((uint32_t)h << 16);
}

uint16_t gq_f32_to_bf16(float f)
{
	uint32_t u = bits_of(f);

	if ((u & 0x7fffffff) > 0x7f800000)
		return (u >> 16) | 64; /* quiet NaN */
	return (u + 0x7fff + ((u >> 16) & 1)) >> 16;
}
