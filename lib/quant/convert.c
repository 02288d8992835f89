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
			gq_put16(y + 2 * i, gq_f16_of(x[i]));
		break;
	case GQ_BF16:
		for (int64_t i = 0; i < n; i++)
			gq_put16(y + 2 * i, gq_bf16_of(x[i]));
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
			y[i] = gq_f32_of_f16(gq_get16(x + 2 * i));
		break;
	case GQ_BF16:
		for (int64_t i = 0; i < n; i++)
			y[i] = gq_float_of((uint32_t)gq_get16(x + 2 * i) << 16);
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
