/*
 * The k-quants Q4_K, Q5_K and Q6_K: super-blocks of 256 weights with
 * 6- or 8-bit scales for each sub-block of 32 or 16.  This follows ggml's
 * reference quantizers (quantize_row_q{4,5,6}_K_ref and their helpers in
 * ggml-quants.c, MIT), which llama-quantize uses when it has no importance
 * matrix, operation for operation: a single float rounded differently
 * changes a scale, and then the bytes.
 */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "rows.h"

GQ_NO_FP_CONTRACT

#define Q4_K_BYTES 144
#define Q5_K_BYTES 176
#define Q6_K_BYTES 210

/* ggml's GROUP_MAX_EPS: a Q6_K sub-block whose largest |x|, or a block
 * whose largest |scale|, is below it quantizes to zeros */
#define GROUP_MAX_EPS 1e-15f

/* Round to nearest, ties to even, by letting the FPU do it at 1.5 * 2^23
 * where the spacing of floats is 1; |f| must be below 2^22. */
static inline int nearest_int(float f)
{
	float v = f + 12582912.f;
	int32_t i;

	memcpy(&i, &v, sizeof(i));
	return (i & 0x007fffff) - 0x00400000;
}

/* in this form the compiler sees a max and a min, which vectorize */
static inline int clamp(int l, int lo, int hi)
{
	l = l > lo ? l : lo;
	return l < hi ? l : hi;
}

/* Four lanes, one a sub-block: GCC's vector extension, plain IEEE float
 * operations lane by lane, an SSE or NEON register */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4i nearest_int4(v4f f)
{
	v4i i = (v4i)(f + 12582912.f);

	return (i & 0x007fffff) - 0x00400000;
}

/* m ? a : b, m a comparison's all-ones or zero */
static inline v4f sel(v4i m, v4f a, v4f b)
{
	return (v4f)((m & (v4i)a) | (~m & (v4i)b));
}

/* nearest_int(iscale * (x - min)) clamped to [lo, hi], as a float */
static inline v4f level4(v4f iscale, v4f x, v4f min, int lo, int hi)
{
	const v4i zero = { 0 }, bot = zero + lo, top = zero + hi;
	v4i l = nearest_int4(iscale * (x - min));

	l = (l & ~(l < bot)) | (bot & (l < bot));
	l = (l & ~(l > top)) | (top & (l > top));
	return __builtin_convertvector(l, v4f);
}

/*
 * ggml's make_qkx2_quants for the 8 sub-blocks of 32 weights of a Q4_K or
 * Q5_K block, without use_mad: for each, the scale and minimum for
 * x ~ scale * L - min, L in [0, nmax], chosen among nstep + 1 trial scales
 * by the weighted squared error.  x[i][h] and w[i][h] hold weight i of
 * sub-blocks 4h..4h+3; L (32 a sub-block), scale and the_min come back per
 * sub-block.
 *
 * ggml does one sub-block after the other, each a chain of dependent float
 * sums and tests; here the 8 run in lockstep, every branch a per-lane
 * select, two vectors of 4 so that one's sums fill the other's latency.
 * Each lane does ggml's operations in ggml's order, so the floats are
 * ggml's.
 */
static void qkx2_quants(const v4f x[32][2], const v4f w[32][2], uint8_t *L, float *scale_out, float *the_min,
			int nmax, float rmin, float rdelta, int nstep)
{
	const v4f zero = { 0 };
	v4f min[2], max[2], sum_w[2], sum_x[2], flat_min[2], iscale[2], scale[2], best[2];
	v4f win_iscale[2], win_min[2];
	v4i flat[2];
	v4f laux[32][2];

	for (int h = 0; h < 2; h++) {
		min[h] = max[h] = x[0][h];
		sum_w[h] = w[0][h];
		sum_x[h] = sum_w[h] * x[0][h];
	}
	for (int i = 1; i < 32; i++) {
		for (int h = 0; h < 2; h++) {
			min[h] = sel(x[i][h] < min[h], x[i][h], min[h]);
			max[h] = sel(x[i][h] > max[h], x[i][h], max[h]);
			sum_w[h] += w[i][h];
			sum_x[h] += w[i][h] * x[i][h];
		}
	}
	for (int h = 0; h < 2; h++) {
		min[h] = sel(min[h] > zero, zero, min[h]);
		/* ggml returns at once for these: levels 0, scale 0 */
		flat[h] = max[h] == min[h];
		flat_min[h] = min[h];
		iscale[h] = (float)nmax / (max[h] - min[h]);
		scale[h] = 1.f / iscale[h];
		best[h] = zero;
	}
	for (int i = 0; i < 32; i++) {
		for (int h = 0; h < 2; h++) {
			v4f l = level4(iscale[h], x[i][h], min[h], 0, nmax);
			v4f diff = scale[h] * l + min[h] - x[i][h];
			best[h] += w[i][h] * (diff * diff);
		}
	}
	/* the levels are made again at the end from the winner's iscale and
	 * min, cheaper than keeping the winner's at every trial */
	for (int h = 0; h < 2; h++) {
		win_iscale[h] = iscale[h];
		win_min[h] = min[h];
	}

	for (int is = 0; is <= nstep; is++) {
		v4f sum_l[2] = { zero, zero }, sum_l2[2] = { zero, zero }, sum_xl[2] = { zero, zero };
		v4f err[2] = { zero, zero }, this_scale[2], this_min[2];
		v4i ok[2];

		for (int h = 0; h < 2; h++)
			iscale[h] = (rmin + rdelta * is + nmax) / (max[h] - min[h]);
		for (int i = 0; i < 32; i++) {
			for (int h = 0; h < 2; h++) {
				laux[i][h] = level4(iscale[h], x[i][h], min[h], 0, nmax);
				v4f wl = w[i][h] * laux[i][h];
				sum_l[h] += wl;
				sum_l2[h] += wl * laux[i][h];
				sum_xl[h] += wl * x[i][h];
			}
		}
		for (int h = 0; h < 2; h++) {
			v4f D = sum_w[h] * sum_l2[h] - sum_l[h] * sum_l[h];
			v4f s = (sum_w[h] * sum_xl[h] - sum_x[h] * sum_l[h]) / D;
			v4f m = (sum_l2[h] * sum_x[h] - sum_l[h] * sum_xl[h]) / D;
			v4i pos = m > zero;

			this_scale[h] = sel(pos, sum_xl[h] / sum_l2[h], s);
			this_min[h] = sel(pos, zero, m);
			ok[h] = D > zero;
		}
		for (int i = 0; i < 32; i++) {
			for (int h = 0; h < 2; h++) {
				v4f diff = this_scale[h] * laux[i][h] + this_min[h] - x[i][h];
				err[h] += w[i][h] * (diff * diff);
			}
		}

		/* a trial is skipped unless D > 0, and taken if strictly better;
		 * the later trials then start from its min, as in ggml */
		v4i better[2];
		for (int h = 0; h < 2; h++) {
			better[h] = ok[h] & (err[h] < best[h]);
			win_iscale[h] = sel(better[h], iscale[h], win_iscale[h]);
			win_min[h] = sel(better[h], min[h], win_min[h]);
			best[h] = sel(better[h], err[h], best[h]);
			scale[h] = sel(better[h], this_scale[h], scale[h]);
			min[h] = sel(better[h], this_min[h], min[h]);
		}
	}
	for (int i = 0; i < 32; i++)
		for (int h = 0; h < 2; h++)
			laux[i][h] = level4(win_iscale[h], x[i][h], win_min[h], 0, nmax);

	for (int j = 0; j < 8; j++) {
		int h = j / 4, k = j % 4;

		scale_out[j] = flat[h][k] ? 0.f : scale[h][k];
		the_min[j] = -(flat[h][k] ? flat_min[h][k] : min[h][k]);
		for (int i = 0; i < 32; i++)
			L[32 * j + i] = flat[h][k] ? 0 : (uint8_t)laux[i][h][k];
	}
}

/* ggml's get_scale_min_k4: sub-block j's 6-bit scale and min out of the
 * 12 packed bytes (j < 4 in the low bits of 0..7, j >= 4 split between a
 * nibble of 8..11 and the top two bits of 0..7) */
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
	if (j < 4) {
		*d = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*d = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

/*
 * The common half of Q4_K and Q5_K: the header of block b (fp16 d and dmin,
 * then the 12 bytes of scales and mins) and the levels L[256] in [0, nmax]
 * of its 256 weights x.  The constants are ggml's for each type.
 */
static void k_block(const float *x, uint8_t *b, uint8_t *L, int nmax, float rmin, int nstep)
{
	v4f xt[32][2], wt[32][2];
	float scales[8], mins[8];
	float max_scale = 0, max_min = 0;
	uint8_t *sc = b + 4;

	/* weights: the sub-block's RMS plus |x| */
	for (int j = 0; j < 8; j++) {
		const float *xj = x + 32 * j;
		float sum_x2 = 0;

		for (int i = 0; i < 32; i++)
			sum_x2 += xj[i] * xj[i];
		float av_x = sqrtf(sum_x2 / 32);
		for (int i = 0; i < 32; i++) {
			xt[i][j / 4][j % 4] = xj[i];
			wt[i][j / 4][j % 4] = av_x + fabsf(xj[i]);
		}
	}
	qkx2_quants(xt, wt, L, scales, mins, nmax, rmin, 0.1f, nstep);
	for (int j = 0; j < 8; j++) {
		if (scales[j] > max_scale)
			max_scale = scales[j];
		if (mins[j] > max_min)
			max_min = mins[j];
	}

	float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
	float inv_min = max_min > 0 ? 63.f / max_min : 0.f;

	for (int j = 0; j < 8; j++) {
		/* through uint8_t as in ggml: a negative level wraps, then clamps */
		uint8_t ls = nearest_int(inv_scale * scales[j]);
		uint8_t lm = nearest_int(inv_min * mins[j]);

		ls = ls < 63 ? ls : 63;
		lm = lm < 63 ? lm : 63;
		if (j < 4) {
			sc[j] = ls;
			sc[j + 4] = lm;
		} else {
			sc[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
			sc[j - 4] |= (ls >> 4) << 6;
			sc[j] |= (lm >> 4) << 6;
		}
	}
	uint16_t hd = gq_f32_to_f16(max_scale / 63.f);
	uint16_t hm = gq_f32_to_f16(max_min / 63.f);
	gq_put16(b, hd);
	gq_put16(b + 2, hm);

	/* the levels again, against the scales as stored; a sub-block whose
	 * scale rounded to 0 keeps qkx2_quants' levels, as in ggml */
	const float fd = gq_f16_to_f32(hd), fm = gq_f16_to_f32(hm);
	for (int j = 0; j < 8; j++) {
		uint8_t s, m;

		scale_min_k4(j, sc, &s, &m);
		const float d = fd * s;
		if (!d)
			continue;
		const float dm = fm * m;
		for (int i = 0; i < 32; i++) {
			int l = nearest_int((x[32 * j + i] + dm) / d);

			L[32 * j + i] = clamp(l, 0, nmax);
		}
	}
}

void gq_q4_K_quantize(const float *x, uint8_t *y, int64_t n)
{
	uint8_t L[GQ_QK_K];

	for (int64_t i = 0; i < n / GQ_QK_K; i++, x += GQ_QK_K, y += Q4_K_BYTES) {
		uint8_t *q = y + 16;

		k_block(x, y, L, 15, -1.f, 20);
		/* 64 weights a run of 32 bytes: the first 32 in the low nibbles */
		for (int j = 0; j < GQ_QK_K; j += 64, q += 32)
			for (int l = 0; l < 32; l++)
				q[l] = L[j + l] | L[j + l + 32] << 4;
	}
}

void gq_q5_K_quantize(const float *x, uint8_t *y, int64_t n)
{
	uint8_t L[GQ_QK_K];

	for (int64_t i = 0; i < n / GQ_QK_K; i++, x += GQ_QK_K, y += Q5_K_BYTES) {
		uint8_t *qh = y + 16, *ql = y + 48;
		uint8_t m1 = 1, m2 = 2;

		k_block(x, y, L, 31, -0.5f, 15);
		/* low nibbles as Q4_K; the fifth bits of run r in bits 2r and
		 * 2r + 1 of qh */
		memset(qh, 0, 32);
		for (int j = 0; j < GQ_QK_K; j += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
			for (int l = 0; l < 32; l++) {
				int l1 = L[j + l], l2 = L[j + l + 32];

				if (l1 > 15) {
					l1 -= 16;
					qh[l] |= m1;
				}
				if (l2 > 15) {
					l2 -= 16;
					qh[l] |= m2;
				}
				ql[l] = l1 | l2 << 4;
			}
		}
	}
}

void gq_q4_K_dequantize(const uint8_t *x, float *y, int64_t n)
{
	for (int64_t i = 0; i < n / GQ_QK_K; i++, x += Q4_K_BYTES) {
		const float d = gq_f16_to_f32(gq_get16(x));
		const float min = gq_f16_to_f32(gq_get16(x + 2));
		const uint8_t *sc = x + 4, *q = x + 16;

		for (int j = 0; j < 8; j += 2, q += 32) {
			uint8_t s, m;

			scale_min_k4(j, sc, &s, &m);
			const float d1 = d * s, m1 = min * m;
			scale_min_k4(j + 1, sc, &s, &m);
			const float d2 = d * s, m2 = min * m;
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (q[l] & 0xf) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * (q[l] >> 4) - m2;
		}
	}
}

void gq_q5_K_dequantize(const uint8_t *x, float *y, int64_t n)
{
	for (int64_t i = 0; i < n / GQ_QK_K; i++, x += Q5_K_BYTES) {
		const float d = gq_f16_to_f32(gq_get16(x));
		const float min = gq_f16_to_f32(gq_get16(x + 2));
		const uint8_t *sc = x + 4, *qh = x + 16, *ql = x + 48;
		uint8_t u1 = 1, u2 = 2;

		for (int j = 0; j < 8; j += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
			uint8_t s, m;

			scale_min_k4(j, sc, &s, &m);
			const float d1 = d * s, m1 = min * m;
			scale_min_k4(j + 1, sc, &s, &m);
			const float d2 = d * s, m2 = min * m;
			for (int l = 0; l < 32; l++)
				*y++ = d1 * ((ql[l] & 0xf) + (qh[l] & u1 ? 16 : 0)) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
		}
	}
}

/* one trial of qx_quants below, every lane: the sums of w x l and w l^2 */
static inline void qx_sums(const v4f x[16][4], const v4f w[16][4], const v4f wx[16][4], const v4f iscale[4],
			   v4f sumlx[4], v4f suml2[4])
{
	const v4f zero = { 0 };

	for (int g = 0; g < 4; g++)
		sumlx[g] = suml2[g] = zero;
	for (int i = 0; i < 16; i++) {
		for (int g = 0; g < 4; g++) {
			v4f l = level4(iscale[g], x[i][g], zero, -32, 31);

			sumlx[g] += wx[i][g] * l;
			suml2[g] += w[i][g] * l * l;
		}
	}
}

/*
 * ggml's make_qx_quants for the 16 sub-blocks of 16 weights of a Q6_K
 * block, with nmax 32 and weights x^2 (rmse_type 1, no importance): for
 * each, a signed scale for x ~ scale * (L - 32), L in [0, 63], the best of
 * 19 trial scales around -32 / max.  x[i][g] holds weight i of sub-blocks
 * 4g..4g+3.  In lockstep, lane by lane in ggml's order, as qkx2_quants.
 */
static void qx_quants(const v4f x[16][4], int8_t *L, float *scale_out)
{
	const v4f zero = { 0 };
	v4f max[4], amax[4], w[16][4], wx[16][4], iscale[4], scale[4], best[4], win_iscale[4];
	v4i none[4];

	for (int g = 0; g < 4; g++)
		max[g] = amax[g] = zero;
	for (int i = 0; i < 16; i++) {
		for (int g = 0; g < 4; g++) {
			v4f ax = (v4f)((v4i)x[i][g] & 0x7fffffff);
			v4i up = ax > amax[g];

			amax[g] = sel(up, ax, amax[g]);
			max[g] = sel(up, x[i][g], max[g]);
			w[i][g] = x[i][g] * x[i][g];
			wx[i][g] = w[i][g] * x[i][g];
		}
	}

	/* ggml's first guess, then is = -9..9 but 0 */
	v4f sumlx[4], suml2[4];

	for (int g = 0; g < 4; g++)
		iscale[g] = -32.f / max[g];
	qx_sums(x, w, wx, iscale, sumlx, suml2);
	for (int g = 0; g < 4; g++) {
		scale[g] = sel(suml2[g] != zero, sumlx[g] / suml2[g], zero);
		best[g] = scale[g] * sumlx[g];
		win_iscale[g] = iscale[g];
	}
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		for (int g = 0; g < 4; g++)
			iscale[g] = -(32 + 0.1f * is) / max[g];
		qx_sums(x, w, wx, iscale, sumlx, suml2);
		for (int g = 0; g < 4; g++) {
			v4i better = (suml2[g] > zero) & (sumlx[g] * sumlx[g] > best[g] * suml2[g]);
			v4f s = sumlx[g] / suml2[g];

			scale[g] = sel(better, s, scale[g]);
			best[g] = sel(better, s * sumlx[g], best[g]);
			win_iscale[g] = sel(better, iscale[g], win_iscale[g]);
		}
	}

	/* ggml's GROUP_MAX_EPS: below it, levels 0 and scale 0 */
	for (int g = 0; g < 4; g++)
		none[g] = amax[g] < GROUP_MAX_EPS;
	for (int i = 0; i < 16; i++) {
		for (int g = 0; g < 4; g++) {
			v4f l = level4(win_iscale[g], x[i][g], zero, -32, 31);

			for (int k = 0; k < 4; k++)
				L[16 * (4 * g + k) + i] = none[g][k] ? 0 : 32 + (int)l[k];
		}
	}
	for (int j = 0; j < 16; j++)
		scale_out[j] = none[j / 4][j % 4] ? 0.f : scale[j / 4][j % 4];
}

void gq_q6_K_quantize(const float *x, uint8_t *y, int64_t n)
{
	int8_t L[GQ_QK_K];
	float scales[16];
	v4f xt[16][4];

	for (int64_t i = 0; i < n / GQ_QK_K; i++, x += GQ_QK_K, y += Q6_K_BYTES) {
		uint8_t *ql = y, *qh = y + 128;
		int8_t *sc = (int8_t *)(y + 192);
		float max_scale = 0, max_abs_scale = 0;

		for (int j = 0; j < 16; j++)
			for (int k = 0; k < 16; k++)
				xt[k][j / 4][j % 4] = x[16 * j + k];
		qx_quants(xt, L, scales);
		for (int ib = 0; ib < 16; ib++) {
			float abs_scale = fabsf(scales[ib]);
			if (abs_scale > max_abs_scale) {
				max_abs_scale = abs_scale;
				max_scale = scales[ib];
			}
		}
		if (max_abs_scale < GROUP_MAX_EPS) {
			memset(y, 0, Q6_K_BYTES);
			continue;
		}

		float iscale = -128.f / max_scale;
		uint16_t hd = gq_f32_to_f16(1 / iscale);
		gq_put16(y + 208, hd);
		for (int ib = 0; ib < 16; ib++) {
			int l = nearest_int(iscale * scales[ib]);

			sc[ib] = l < 127 ? l : 127;
		}

		/* the levels against the scales as stored; a zero scale keeps
		 * qx_quants' levels, as in ggml */
		const float fd = gq_f16_to_f32(hd);
		for (int j = 0; j < 16; j++) {
			const float d = fd * sc[j];

			if (!d)
				continue;
			for (int k = 0; k < 16; k++) {
				int l = nearest_int(x[16 * j + k] / d);

				L[16 * j + k] = 32 + clamp(l, -32, 31);
			}
		}

		/* each half of 128: low nibbles of runs 0 and 2, then 1 and 3,
		 * in ql; the two high bits of run r in bits 2r of qh */
		for (int j = 0; j < GQ_QK_K; j += 128, ql += 64, qh += 32) {
			for (int l = 0; l < 32; l++) {
				const int8_t *Lj = L + j + l;

				ql[l] = (Lj[0] & 0xf) | (Lj[64] & 0xf) << 4;
				ql[l + 32] = (Lj[32] & 0xf) | (Lj[96] & 0xf) << 4;
				qh[l] = Lj[0] >> 4 | (Lj[32] >> 4) << 2 | (Lj[64] >> 4) << 4 | (Lj[96] >> 4) << 6;
			}
		}
	}
}

void gq_q6_K_dequantize(const uint8_t *x, float *y, int64_t n)
{
	for (int64_t i = 0; i < n / GQ_QK_K; i++, x += Q6_K_BYTES) {
		const float d = gq_f16_to_f32(gq_get16(x + 208));
		const uint8_t *ql = x, *qh = x + 128;
		const int8_t *sc = (const int8_t *)(x + 192);

		for (int j = 0; j < GQ_QK_K; j += 128, y += 128, ql += 64, qh += 32, sc += 8) {
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((ql[l] & 0xf) | ((qh[l] >> 0) & 3) << 4) - 32;
				int q2 = ((ql[l + 32] & 0xf) | ((qh[l] >> 2) & 3) << 4) - 32;
				int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
				int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;

				y[l] = d * sc[is] * q1;
				y[l + 32] = d * sc[is + 2] * q2;
				y[l + 64] = d * sc[is + 4] * q3;
				y[l + 96] = d * sc[is + 6] * q4;
			}
		}
	}
}
