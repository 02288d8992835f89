/* The per-type row functions behind gq_quantize and gq_dequantize
 * (convert.c).  n is a multiple of the type's block; the blocks may sit at
 * any address. */
#ifndef GB_QUANT_ROWS_H
#define GB_QUANT_ROWS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

void gq_q8_0_quantize(const float *x, uint8_t *y, int64_t n);
void gq_q8_0_dequantize(const uint8_t *x, float *y, int64_t n);
void gq_q4_K_quantize(const float *x, uint8_t *y, int64_t n);
void gq_q4_K_dequantize(const uint8_t *x, float *y, int64_t n);
void gq_q5_K_quantize(const float *x, uint8_t *y, int64_t n);
void gq_q5_K_dequantize(const uint8_t *x, float *y, int64_t n);
void gq_q6_K_quantize(const float *x, uint8_t *y, int64_t n);
void gq_q6_K_dequantize(const uint8_t *x, float *y, int64_t n);

/* the files are little-endian whatever the host */
static inline void gq_put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static inline uint16_t gq_get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

/*
 * Byte identity with ggml depends on every float operation being rounded
 * on its own, in ggml's order.  GCC contracts a*b+c into an FMA whenever
 * the target has one (CFLAGS=-march=...), and ignores the standard pragma,
 * so it gets its own.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define GQ_NO_FP_CONTRACT _Pragma("GCC optimize(\"fp-contract=off\")")
#else
#define GQ_NO_FP_CONTRACT _Pragma("STDC FP_CONTRACT OFF")
#endif

static inline uint32_t gq_bits_of(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float gq_float_of(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/*
 * f16 and bf16, one value at a time (types.c) and whole rows (convert.c):
 * the same bits as ggml for every input (checked exhaustively), and no
 * branches, so that the row loops vectorize.
 * The f16 ones are ggml's (ggml_compute_fp32_to_fp16 and back, after
 * Maratyszcza's FP16 library, MIT): the FPU does the rounding, at a scale
 * where float's spacing is half's.
 */
static inline uint16_t gq_f16_of(float f)
{
	const uint32_t w = gq_bits_of(f), shl1_w = w + w, sign = w & 0x80000000;
	uint32_t bias = shl1_w & 0xff000000;
	float base = (fabsf(f) * 0x1p+112f) * 0x1p-110f;

	bias = bias < 0x71000000 ? 0x71000000 : bias;
	base = gq_float_of((bias >> 1) + 0x07800000) + base;

	const uint32_t b = gq_bits_of(base);
	const uint32_t nonsign = ((b >> 13) & 0x7c00) + (b & 0x0fff);
	return (sign >> 16) | (shl1_w > 0xff000000 ? 0x7e00 : nonsign);
}

static inline float gq_f32_of_f16(uint16_t h)
{
	const uint32_t w = (uint32_t)h << 16, sign = w & 0x80000000, two_w = w + w;
	const float normal = gq_float_of((two_w >> 4) + (0xe0u << 23)) * 0x1p-112f;
	const float denormal = gq_float_of((two_w >> 17) | (126u << 23)) - 0.5f;

	return gq_float_of(sign | (two_w < (1u << 27) ? gq_bits_of(denormal) : gq_bits_of(normal)));
}

static inline uint16_t gq_bf16_of(float f)
{
	const uint32_t u = gq_bits_of(f);

	return (u & 0x7fffffff) > 0x7f800000 ? (u >> 16) | 64 : (u + 0x7fff + ((u >> 16) & 1)) >> 16;
}

#endif
