/* libgbquant's quantizers: blocks worked out by hand, ggml's bytes for a
 * fixed row, error bounds, the float rows, which types, determinism.
 *
 * The hand-made blocks and the hashes below were checked against ggml's
 * reference quantizers (ggml_quantize_chunk without an importance matrix,
 * ggml-base of llama.cpp e95dae18d64a, built -O3 without -march). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "quant/quant.h"

#define N 4096 /* a row: 128 Q8_0 blocks, 16 k-quant blocks */

static const uint32_t supported[] = { GQ_F32, GQ_F16, GQ_BF16, GQ_Q8_0, GQ_Q4_K, GQ_Q5_K, GQ_Q6_K };

static uint32_t seed = 2463534242u;

static uint32_t xorshift(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return seed;
}

/* Roughly normal, sd about 1.15: the sum of 4 uniforms in [-1, 1) in steps
 * of 2^-12.  Integers and powers of two only, so the same floats on any
 * IEEE machine and with any libm. */
static float normalish(void)
{
	int32_t s = 0;

	for (int k = 0; k < 4; k++)
		s += (int32_t)(xorshift() >> 19) - 4096;
	return (float)s * 0x1p-12f;
}

/* ggml's row for the hashes: normalish values, each run of 32 times
 * k / 256, k in 1..64 (exact: at most 21 significant bits) */
static void ggml_row(float *x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = normalish();
	for (int i = 0; i < n; i += 32) {
		float sc = (float)(1 + xorshift() % 64) * 0x1p-8f;

		for (int k = 0; k < 32; k++)
			x[i + k] *= sc;
	}
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t row_bytes(uint32_t type, int64_t n)
{
	uint64_t b = 0;

	gq_nbytes(type, n, &b);
	return b;
}

/* compare with an expected block, printing the first difference */
static int same_bytes(const uint8_t *got, const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			printf("#   byte %zu: got %02x, expected %02x\n", i, got[i], want[i]);
			return 0;
		}
	}
	return 1;
}

static void hand_blocks(void)
{
	float x[256];
	uint8_t q[512], want[512];

	/*
	 * Q8_0 of 0, 1, .., 31: amax 31, d = 31/127 = 0.24409449 = 1.9527559
	 * * 2^-3, as a half 0x33d0 (exponent 12, mantissa .9527559 * 1024 =
	 * 975.6 -> 976 = 0x3d0); q = round(j * 127/31), never a tie since 31
	 * is prime: 0 4 8 12 16 20 25 29 33 37 41 45 49 53 57 61 66 70 74 78
	 * 82 86 90 94 98 102 107 111 115 119 123 127.
	 */
	static const uint8_t q8_ramp[34] = {
		0xd0, 0x33, 0, 4, 8, 12, 16, 20, 25, 29, 33, 37, 41, 45, 49, 53, 57, 61,
		66, 70, 74, 78, 82, 86, 90, 94, 98, 102, 107, 111, 115, 119, 123, 127,
	};
	for (int i = 0; i < 32; i++)
		x[i] = i;
	gq_quantize(GQ_Q8_0, x, q, 32);
	ok(same_bytes(q, q8_ramp, 34), "q8_0 of 0..31: d 0x33d0, q = round(127 j / 31)");

	/* amax 127: d = 1 (0x3c00), and halves round away from zero as
	 * ggml's roundf does, not to even: 2.5 -> 3, -2.5 -> -3, 0.5 -> 1,
	 * -0.5 -> -1, 1.5 -> 2, -1.5 -> -2, 126.5 -> 127, -126.5 -> -127 */
	static const float ties[10] = { 127, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -1.5f, 126.5f, -126.5f, 3.49f };
	static const uint8_t q8_ties[12] = { 0x00, 0x3c, 127, 3, 0xfd, 1, 0xff, 2, 0xfe, 127, 0x81, 3 };
	memset(x, 0, sizeof(x));
	memcpy(x, ties, sizeof(ties));
	memset(want, 0, sizeof(want));
	memcpy(want, q8_ties, sizeof(q8_ties));
	gq_quantize(GQ_Q8_0, x, q, 32);
	ok(same_bytes(q, want, 34), "q8_0 rounds halves away from zero");

	/* A NaN weight: ggml's max skips it, and the larger weights before
	 * it (-1.6 -> -135.5 -> -135 at d = 1.5/127) wrap to a byte as x86
	 * converts them: 0x79; the NaN itself becomes 0.  ggml's bytes. */
	static const uint8_t q8_nan[34] = {
		0x0c, 0x22, 0x79, 0x81, 0x89, 0x00, 0x9a, 0xa3, 0xab, 0xb4, 0xbc, 0xc5, 0xcd, 0xd6, 0xde, 0xe7, 0xef,
		0xf8, 0x00, 0x08, 0x11, 0x19, 0x22, 0x2a, 0x33, 0x3b, 0x44, 0x4c, 0x55, 0x5d, 0x66, 0x6e, 0x77, 0x7f,
	};
	for (int i = 0; i < 32; i++)
		x[i] = (i - 16) * 0.1f;
	x[3] = NAN;
	gq_quantize(GQ_Q8_0, x, q, 32);
	ok(same_bytes(q, q8_nan, 34), "q8_0 of a block with a NaN: ggml's bytes");

	/* zeros, and negative zeros, are all-zero blocks in every type */
	for (int neg = 0; neg < 2; neg++) {
		for (int i = 0; i < 256; i++)
			x[i] = neg ? -0.0f : 0.0f;
		for (size_t t = 3; t < sizeof(supported) / sizeof(supported[0]); t++) {
			uint64_t nb = row_bytes(supported[t], 256);

			memset(q, 0x55, sizeof(q));
			gq_quantize(supported[t], x, q, 256);
			memset(want, 0, sizeof(want));
			ok(same_bytes(q, want, nb), "%s of %s is %llu zero bytes", gq_type(supported[t])->name,
			   neg ? "-0.0" : "zeros", (unsigned long long)nb);
		}
	}

	/*
	 * Q4_K of x = i % 16: every sub-block 0..15 twice, fitted exactly by
	 * scale 1, min 0, so no trial scale can beat it.  Scales all equal:
	 * 6-bit scale 63, min 0; d = half(1/63) = 0x2410 (65/4096), dmin 0.
	 * Packed: bytes 0-3 scale 63 | (63 >> 4) << 6 = 0xff (the top bits of
	 * sub-blocks 4-7), 4-7 mins 0, 8-11 low nibbles 0x0f of sub-blocks 4-7.
	 * Levels against d * 63 = 4095/4096: round(x * 4096/4095) = x; a byte
	 * holds weight l of a run of 64 low and l + 32 high: 0x00 0x11 .. 0xff.
	 */
	for (int i = 0; i < 256; i++)
		x[i] = i % 16;
	memset(want, 0, sizeof(want));
	want[0] = 0x10, want[1] = 0x24;
	memset(want + 4, 0xff, 4);
	memset(want + 12, 0x0f, 4);
	for (int i = 0; i < 128; i++)
		want[16 + i] = 0x11 * (i % 16);
	gq_quantize(GQ_Q4_K, x, q, 256);
	ok(same_bytes(q, want, 144), "q4_K of i %% 16: d 1/63, scales 63, nibbles as x");

	/* Q5_K of x = i % 32: the same header; the low nibbles of 0..31 twice
	 * a run, and qh[l] has all four runs' fifth bits, 2r and 2r + 1, set
	 * for l >= 16 */
	for (int i = 0; i < 256; i++)
		x[i] = i % 32;
	memset(want + 16, 0, 16);
	memset(want + 32, 0xff, 16);
	for (int i = 0; i < 128; i++)
		want[48 + i] = 0x11 * (i % 16);
	gq_quantize(GQ_Q5_K, x, q, 256);
	ok(same_bytes(q, want, 176), "q5_K of i %% 32: fifth bits in qh, low nibbles in qs");

	/*
	 * Q6_K of x = i % 16 - 8: each sub-block's largest |x| is the -8 first,
	 * iscale -32 / -8 = 4, levels l = 4x, and the scale sum(w x l) /
	 * sum(w l^2) = 1/4 exactly; no trial beats an exact fit.  The block scale -128 / (1/4):
	 * d = half(-1/512) = 0x9800, every sub-block scale -128 (0x80).  Levels
	 * x / (d * -128) = 4x, stored + 32: 4 (i % 16).  ql[l] = low nibbles of
	 * weights l and l + 64: (4 (l % 4)) * 0x11; qh[l] = the top two bits of
	 * weights l, l + 32, l + 64, l + 96, all (l % 16) / 4: times 0x55.
	 */
	for (int i = 0; i < 256; i++)
		x[i] = i % 16 - 8;
	for (int i = 0; i < 128; i++)
		want[i] = 0x11 * (4 * (i % 4));
	for (int i = 0; i < 64; i++)
		want[128 + i] = 0x55 * ((i % 16) / 4);
	memset(want + 192, 0x80, 16);
	want[208] = 0x00, want[209] = 0x98;
	gq_quantize(GQ_Q6_K, x, q, 256);
	ok(same_bytes(q, want, 210), "q6_K of i %% 16 - 8: d -1/512, scales -128, levels 4x + 32");
}

/* 16 rows of 4096 of ggml_row(): FNV-1a of ggml's output */
static void ggml_hashes(void)
{
	static const struct {
		uint32_t type;
		uint64_t fnv;
	} want[] = {
		{ GQ_F16, 0xe01975a29babe891ull },
		{ GQ_BF16, 0x95407ad291cda7adull },
		{ GQ_Q8_0, 0x29af2d613f0eb30full },
		{ GQ_Q4_K, 0x3c59bef5bc7e8238ull },
		{ GQ_Q5_K, 0xb87216cf935b4debull },
		{ GQ_Q6_K, 0x1bd685e572b92eadull },
	};
	static float x[16 * N];
	static uint8_t q[16 * N * 2];

	seed = 2463534242u;
	ggml_row(x, 16 * N);
	ok(fnv1a((const uint8_t *)x, sizeof(x)) == 0x4126c315c516e9a8ull, "the hashed row is the one ggml was given");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t nb = row_bytes(want[i].type, 16 * N);

		gq_quantize(want[i].type, x, q, 16 * N);
		uint64_t h = fnv1a(q, nb);
		if (!ok(h == want[i].fnv, "%s: 16 rows hash as ggml's bytes do", gq_type(want[i].type)->name))
			printf("#   got %016llx\n", (unsigned long long)h);
	}
}

/* ggml's get_scale_min_k4, from the format's description */
static void k4_scale(const uint8_t *s, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
		*m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
	}
}

/* The worst |x - x'| in steps of its sub-block, the step read from the
 * block's bytes.  Q8_0's is the whole block's d. */
static double worst_steps(uint32_t type, const float *x, const float *y, const uint8_t *q, int64_t n)
{
	const struct gq_type_info *t = gq_type(type);
	double worst = 0;

	for (int64_t b = 0; b < n / t->blck; b++, x += t->blck, y += t->blck, q += t->size) {
		int sub = type == GQ_Q8_0 ? 32 : type == GQ_Q6_K ? 16 : 32;

		for (uint32_t j = 0; j < t->blck / sub; j++) {
			double step;
			int sc, m;

			switch (type) {
			case GQ_Q8_0:
				step = gq_f16_to_f32(q[0] | q[1] << 8);
				break;
			case GQ_Q6_K:
				step = fabs(gq_f16_to_f32(q[208] | q[209] << 8) * (int8_t)q[192 + j]);
				break;
			default:
				k4_scale(q + 4, j, &sc, &m);
				step = gq_f16_to_f32(q[0] | q[1] << 8) * sc;
				break;
			}
			for (int i = 0; i < sub; i++) {
				double e = fabs(x[j * sub + i] - y[j * sub + i]);

				if (e > 0 && (step <= 0 || e / step > worst))
					worst = step > 0 ? e / step : INFINITY;
			}
		}
	}
	return worst;
}

/*
 * Round trips of normal rows at the scales of real weights.  Measured over
 * 2000 rows at sd 0.01 to 1: relative RMS error 0.0051 (worst 0.0053) for
 * Q8_0, 0.069 (0.072) Q4_K, 0.035 (0.036) Q5_K, 0.017 (0.018) Q6_K; worst
 * error 0.56, 1.17, 1.33 and 0.86 steps.  Q8_0's bound is exact: half a
 * step, plus 127 times d's rounding to a half (2^-11 of it).  The k-quants
 * round the scale and min to 6 or 8 bits after choosing them, and a level
 * can then clamp.
 */
static void round_trips(void)
{
	static const struct {
		uint32_t type;
		double rms, steps;
	} lim[] = {
		{ GQ_Q8_0, 0.007, 0.5 + 127.0 / 2048 + 0.001 },
		{ GQ_Q4_K, 0.08, 1.5 },
		{ GQ_Q5_K, 0.04, 1.6 },
		{ GQ_Q6_K, 0.02, 1.0 },
	};
	static float x[N], y[N];
	static uint8_t q[N * 2];

	for (size_t t = 0; t < sizeof(lim) / sizeof(lim[0]); t++) {
		double worst_rms = 0, worst = 0;

		for (int r = 0; r < 32; r++) {
			float sd = r % 2 ? 1.0f : 0.02f;
			double se = 0, sx = 0;

			for (int i = 0; i < N; i++)
				x[i] = normalish() * sd;
			gq_quantize(lim[t].type, x, q, N);
			gq_dequantize(lim[t].type, q, y, N);
			for (int i = 0; i < N; i++) {
				se += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
				sx += (double)x[i] * x[i];
			}
			if (sqrt(se / sx) > worst_rms)
				worst_rms = sqrt(se / sx);
			double w = worst_steps(lim[t].type, x, y, q, N);
			if (w > worst)
				worst = w;
		}
		const char *name = gq_type(lim[t].type)->name;
		ok(worst_rms < lim[t].rms, "%s: relative RMS error %.4f < %g", name, worst_rms, lim[t].rms);
		ok(worst <= lim[t].steps, "%s: worst error %.3f steps <= %.3f", name, worst, lim[t].steps);
	}
}

static void float_rows(void)
{
	static float x[65536], y[65536];
	static uint16_t h[65536], back[65536];
	int n = 0, bad = 0;

	/* every finite half and both infinities, through float and back */
	for (int i = 0; i < 65536; i++)
		if ((i & 0x7c00) != 0x7c00 || !(i & 0x3ff))
			h[n++] = i;
	gq_dequantize(GQ_F16, h, x, n);
	gq_quantize(GQ_F16, x, back, n);
	gq_dequantize(GQ_F16, back, y, n);
	for (int i = 0; i < n; i++)
		bad += back[i] != h[i] || memcmp(&x[i], &y[i], 4) || x[i] != gq_f16_to_f32(h[i]);
	ok(!bad && n == 63490, "f16: all %d non-NaN halves come back bit for bit", n);

	n = bad = 0;
	for (int i = 0; i < 65536; i++)
		if ((i & 0x7f80) != 0x7f80 || !(i & 0x7f))
			h[n++] = i;
	gq_dequantize(GQ_BF16, h, x, n);
	gq_quantize(GQ_BF16, x, back, n);
	for (int i = 0; i < n; i++)
		bad += back[i] != h[i] || x[i] != gq_bf16_to_f32(h[i]);
	ok(!bad, "bf16: all %d non-NaN values come back bit for bit", n);

	/* NaN stays NaN, as ggml's one quiet NaN */
	float nan;
	uint32_t u = 0x7f800001;
	memcpy(&nan, &u, 4);
	gq_quantize(GQ_F16, &nan, back, 1);
	gq_quantize(GQ_BF16, &nan, back + 1, 1);
	ok(back[0] == 0x7e00 && (back[1] & 0x7f80) == 0x7f80 && (back[1] & 0x7f), "NaN: f16 0x7e00, bf16 a NaN");

	/* convert.c's branch-free rows agree with types.c's converters:
	 * every 4099th float pattern (all signs, exponents, NaNs) */
	bad = 0;
	for (uint64_t b = 0; b < (1ull << 32); b += 4099ull * 65536) {
		for (int i = 0; i < 65536; i++) {
			uint32_t v = (uint32_t)(b + 4099ull * i);
			memcpy(&x[i], &v, 4);
		}
		gq_quantize(GQ_F16, x, h, 65536);
		for (int i = 0; i < 65536; i++)
			bad += h[i] != gq_f32_to_f16(x[i]);
		gq_quantize(GQ_BF16, x, h, 65536);
		for (int i = 0; i < 65536; i++)
			bad += h[i] != gq_f32_to_bf16(x[i]);
	}
	ok(!bad, "f16 and bf16 rows round as gq_f32_to_f16 and gq_f32_to_bf16 (%d differ)", bad);

	/* f32 is a copy, NaN payloads and all */
	for (int i = 0; i < 4096; i++) {
		uint32_t v = xorshift();
		memcpy(&x[i], &v, 4);
	}
	gq_quantize(GQ_F32, x, y, 4096);
	gq_dequantize(GQ_F32, y, y + 4096, 4096);
	ok(!memcmp(x, y, 4096 * 4) && !memcmp(x, y + 4096, 4096 * 4), "f32: bits copied both ways");
}

static void which_types(void)
{
	int q = 0, d = 0, wrong = 0;

	for (uint32_t t = 0; t < GQ_TYPE_MAX + 8; t++) {
		int want = 0;

		for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
			want |= supported[i] == t;
		q += !!gq_can_quantize(t);
		d += !!gq_can_dequantize(t);
		wrong += !!gq_can_quantize(t) != want || !!gq_can_dequantize(t) != want;
	}
	ok(!wrong && q == 7 && d == 7, "gq_can_quantize and gq_can_dequantize: only f32 f16 bf16 q8_0 q4_K q5_K q6_K");
	ok(!gq_can_quantize(UINT32_MAX) && !gq_can_quantize(GQ_Q4_0) && !gq_can_quantize(GQ_Q8_K),
	   "not q4_0, not q8_K, not 2^32 - 1");
}

/* the same bytes again, from and to unaligned buffers, block by block */
static void determinism(void)
{
	static float x[N], xu[N + 1];
	static uint8_t a[N * 4], b[N * 4 + 1], c[N * 4];

	for (int i = 0; i < N; i++)
		x[i] = normalish() * 0.03f;
	for (size_t t = 0; t < sizeof(supported) / sizeof(supported[0]); t++) {
		uint32_t type = supported[t];
		const struct gq_type_info *ti = gq_type(type);
		uint64_t nb = row_bytes(type, N);
		int same = 1;

		gq_quantize(type, x, a, N);
		gq_quantize(type, x, c, N);
		same &= !memcmp(a, c, nb);
		/* from a copy 4 bytes off, into an odd address */
		memcpy(xu + 1, x, sizeof(x));
		gq_quantize(type, xu + 1, b + 1, N);
		same &= !memcmp(a, b + 1, nb);
		for (int64_t i = 0; i < N; i += ti->blck)
			gq_quantize(type, x + i, c + i / ti->blck * ti->size, ti->blck);
		same &= !memcmp(a, c, nb);
		ok(same, "%s: the same bytes twice, unaligned, and block by block", ti->name);
	}
}

int main(void)
{
	hand_blocks();
	ggml_hashes();
	round_trips();
	float_rows();
	which_types();
	determinism();
	return done();
}
