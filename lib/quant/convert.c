/* gq_quantize and gq_dequantize: the float types here, the block types in
 * q8_0.c and kquants.c. */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "rows.h"

GQ_NO_FP_CONTRACT

int gq_can_quantize(uint32_t type)
{
	switch (type) {
	case GQ_F32:
	case GQ_F16:
	case GQ_BF16:
	case GQ_Q8_0:
	case GQ_Q4_K:
	case GQ_Q5_K:
	case GQ_Q6_K:
		return 1;
	}
	return 0;
}

int gq_can_dequantize(uint32_t type)
{
	return gq_can_quantize(type);
}

static inline uint32_t bits_of(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float float_of(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/*
 * Whole rows of f16 and bf16 go through these rather than types.c's
 * converters: the same bits for every input (checked exhaustively against
 * both them and ggml), but without branches, so that the loops vectorize.
 * The f16 ones are ggml's (ggml_compute_fp32_to_fp16 and back, after
 * Maratyszcza's FP16 library, MIT): the FPU does the rounding, at a scale
 * where float's spacing is half's.
 */
static inline uint16_t f16_of(float f)
{
	const uint32_t w = bits_of(f), shl1_w = w + w, sign = w & 0x80000000;
	uint32_t bias = shl1_w & 0xff000000;
	float base = (fabsf(f) * 0x1p+112f) * 0x1p-110f;

	bias = bias < 0x71000000 ? 0x71000000 : bias;
	base = float_of((bias >> 1) + 0x07800000) + base;

	const uint32_t b = bits_of(base);
	const uint32_t nonsign = ((b >> 13) & 0x7c00) + (b & 0x0fff);
	return (sign >> 16) | (shl1_w > 0xff000000 ? 0x7e00 : nonsign);
}

static inline float f32_of_f16(uint16_t h)
{
	const uint32_t w = (uint32_t)h << 16, sign = w & 0x80000000, two_w = w + w;
	const float normal = float_of((two_w >> 4) + (0xe0u << 23)) * 0x1p-112f;
	const float denormal = float_of((two_w >> 17) | (126u << 23)) - 0.5f;

	return float_of(sign | (two_w < (1u << 27) ? bits_of(denormal) : bits_of(normal)));
}

static inline uint16_t bf16_of(float f)
{
	const uint32_t u = bits_of(f);

	return (u & 0x7fffffff) > 0x7f800000 ? (u >> 16) | 64 : (u + 0x7fff + ((u >> 16) & 1)) >> 16;
}

/* Rows are written as ggml writes them: f16 and bf16 rounded to nearest
 * even (ggml_fp32_to_fp16_row, ggml_fp32_to_bf16_row_ref), f32 as is. */
void gq_quantize(uint32_t type, const float *x, void *out, int64_t n)
{
	uint8_t *y = out;

	switch (type) {
	case GQ_F32:
		memcpy(y, x, (size_t)n * sizeof(float));
		break;
	case GQ_F16:
		for (int64_t i = 0; i < n; i++)
			gq_put16(y + 2 * i, f16_of(x[i]));
		break;
	case GQ_BF16:
		for (int64_t i = 0; i < n; i++)
			gq_put16(y + 2 * i, bf16_of(x[i]));
		break;
	case GQ_Q8_0:
		gq_q8_0_quantize(x, y, n);
		break;
	case GQ_Q4_K:
		gq_q4_K_quantize(x, y, n);
		break;
	case GQ_Q5_K:
		gq_q5_K_quantize(x, y, n);
		break;
	case GQ_Q6_K:
		gq_q6_K_quantize(x, y, n);
		break;
	}
}

void gq_dequantize(uint32_t type, const void *in, float *y, int64_t n)
{
	const uint8_t *x = in;

	switch (type) {
	case GQ_F32:
		memcpy(y, x, (size_t)n * sizeof(float));
		break;
	case GQ_F16:
		for (int64_t i = 0; i < n; i++)
			y[i] = f32_of_f16(gq_get16(x + 2 * i));
		break;
	case GQ_BF16:
		for (int64_t i = 0; i < n; i++)
			y[i] = float_of((uint32_t)gq_get16(x + 2 * i) << 16);
		break;
	case GQ_Q8_0:
		gq_q8_0_dequantize(x, y, n);
		break;
	case GQ_Q4_K:
		gq_q4_K_dequantize(x, y, n);
		break;
	case GQ_Q5_K:
		gq_q5_K_dequantize(x, y, n);
		break;
	case GQ_Q6_K:
		gq_q6_K_dequantize(x, y, n);
		break;
	}
}
