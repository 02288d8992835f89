/* The per-type row functions behind gq_quantize and gq_dequantize
 * (convert.c).  n is a multiple of the type's block; the blocks may sit at
 * any address. */
#ifndef GB_QUANT_ROWS_H
#define GB_QUANT_ROWS_H

#include <stdint.h>

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

#endif
