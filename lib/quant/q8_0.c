/*
 * Q8_0: blocks of 32 weights, an fp16 scale d and 32 signed bytes q, the
 * weight being q * d.  This follows ggml's reference quantizer
 * (quantize_row_q8_0_ref in ggml-quants.c, MIT) operation for operation:
 * llama-quantize uses it whether or not it has an importance matrix.
 */
#include <math.h>
#include <stdint.h>

#include "quant.h"
#include "rows.h"

GQ_NO_FP_CONTRACT

#define Q8_0_BYTES (2 + GQ_QK8_0)

/* roundf(): to nearest, halves away from zero, as ggml does.  The libm
 * call costs more than the rest of the block, and GCC only inlines it
 * under -ffast-math.  Below 2^22 the magic number rounds to nearest even;
 * v - r is exact (Sterbenz), so a tie shows as exactly 0.5, and then
 * v +- 0.5, also exact, is the integer away from zero. */
static inline float round_away(float v)
{
	if (!(fabsf(v) < 0x1p22f))
		return roundf(v);

	float r = (v + 12582912.f) - 12582912.f;

	if (fabsf(v - r) == 0.5f)
		r = v + copysignf(0.5f, v);
	return r;
}

/* ggml converts the float straight to int8_t, which C leaves undefined
 * past the range; compiled for x86 that is cvttss2si, 32 bits kept, the
 * low byte stored, and INT32_MIN for NaN, infinities and beyond.  Values
 * past 127 come from a block with a NaN, which the max skips. */
static inline uint8_t q8_of(float r)
{
	return (uint8_t)(fabsf(r) < 0x1p31f ? (int32_t)r : INT32_MIN);
}

void gq_q8_0_quantize(const float *x, uint8_t *y, int64_t n)
{
	for (int64_t i = 0; i < n / GQ_QK8_0; i++, x += GQ_QK8_0, y += Q8_0_BYTES) {
		float amax = 0.0f;

		/* ggml's MAX(amax, fabsf(v)), NaN behaviour included */
		for (int j = 0; j < GQ_QK8_0; j++) {
			float a = fabsf(x[j]);

			amax = amax > a ? amax : a;
		}

		const float d = amax / 127;
		const float id = d ? 1.0f / d : 0.0f;

		gq_put16(y, gq_f32_to_f16(d));
		for (int j = 0; j < GQ_QK8_0; j++)
			y[2 + j] = q8_of(round_away(x[j] * id));
	}
}

void gq_q8_0_dequantize(const uint8_t *x, float *y, int64_t n)
{
	for (int64_t i = 0; i < n / GQ_QK8_0; i++, x += Q8_0_BYTES, y += GQ_QK8_0) {
		const float d = gq_f16_to_f32(gq_get16(x));

		for (int j = 0; j < GQ_QK8_0; j++)
			y[j] = (int8_t)x[2 + j] * d;
	}
}
