/*
 * specdeq: a GGUF reader and dequantizer written from the format's
 * description (docs/gguf.md, ggml-common.h's block layouts and the
 * dequantize_row_* reference loops), sharing nothing with lib/quant, so
 * that gb-quant's output is checked by code that did not write it.
 *
 * It reads files a program under test wrote: every length, count, offset
 * and size is checked against the file before it is used, and a bad file
 * is reported, never trusted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "specdeq"
#define EXIT_BAD 1 /* a bad file, or files that differ */
#define EXIT_USAGE 100
#define EXIT_SYS 111

#define USAGE "specdeq compare ORIG.gguf QUANT.gguf\n" \
	"       specdeq dump FILE.gguf TENSOR\n" \
	"       specdeq info FILE.gguf"

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, PROG ": fatal: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		die(EXIT_SYS, "unable to allocate %zu x %zu bytes: %s", n, sz, strerror(errno));
	return p;
}

/* ---- ggml types: block size in elements, block size in bytes ---- */

enum {
	T_F32 = 0, T_F16 = 1, T_Q8_0 = 8, T_Q4_K = 12, T_Q5_K = 13, T_Q6_K = 14, T_BF16 = 30,
};

#define QK_K 256

static const struct gtype {
	const char *name;
	uint32_t blck, size;
} gtypes[] = {
	[0] = { "f32", 1, 4 },
	[1] = { "f16", 1, 2 },
	[2] = { "q4_0", 32, 18 },
	[3] = { "q4_1", 32, 20 },
	[6] = { "q5_0", 32, 22 },
	[7] = { "q5_1", 32, 24 },
	[8] = { "q8_0", 32, 34 },
	[9] = { "q8_1", 32, 36 },
	[10] = { "q2_K", QK_K, 84 },
	[11] = { "q3_K", QK_K, 110 },
	[12] = { "q4_K", QK_K, 144 },
	[13] = { "q5_K", QK_K, 176 },
	[14] = { "q6_K", QK_K, 210 },
	[15] = { "q8_K", QK_K, 292 },
	[16] = { "iq2_xxs", QK_K, 66 },
	[17] = { "iq2_xs", QK_K, 74 },
	[18] = { "iq3_xxs", QK_K, 98 },
	[19] = { "iq1_s", QK_K, 50 },
	[20] = { "iq4_nl", 32, 18 },
	[21] = { "iq3_s", QK_K, 110 },
	[22] = { "iq2_s", QK_K, 82 },
	[23] = { "iq4_xs", QK_K, 136 },
	[24] = { "i8", 1, 1 },
	[25] = { "i16", 1, 2 },
	[26] = { "i32", 1, 4 },
	[27] = { "i64", 1, 8 },
	[28] = { "f64", 1, 8 },
	[29] = { "iq1_m", QK_K, 56 },
	[30] = { "bf16", 1, 2 },
	[34] = { "tq1_0", QK_K, 54 },
	[35] = { "tq2_0", QK_K, 66 },
	[39] = { "mxfp4", 32, 17 },
};
#define N_GTYPES (sizeof gtypes / sizeof gtypes[0])

static const struct gtype *gtype(uint32_t t)
{
	return t < N_GTYPES && gtypes[t].name ? &gtypes[t] : NULL;
}

static int can_dequant(uint32_t t)
{
	return t == T_F32 || t == T_F16 || t == T_BF16 || t == T_Q8_0 || t == T_Q4_K ||
		t == T_Q5_K || t == T_Q6_K;
}

/* ---- the file ---- */

enum {
	GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL,
	GT_STRING, GT_ARRAY, GT_U64, GT_I64, GT_F64, GT_COUNT
};

static const char *const gt_names[GT_COUNT] = {
	"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

static const uint8_t gt_sizes[GT_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

struct kv {
	const uint8_t *key;
	size_t keylen;
	uint32_t type;
	const uint8_t *val; /* the value's bytes as stored, past the type */
	size_t vallen;
};

struct tinfo {
	const uint8_t *name;
	size_t namelen;
	uint32_t n_dims;
	uint64_t ne[4];
	uint32_t type;
	uint64_t offset;
	uint64_t nel, nbytes;
};

struct gguf {
	const char *path;
	const uint8_t *p;
	size_t size;
	uint32_t version;
	uint64_t n_kv, n_tensors;
	struct kv *kv;
	struct tinfo *t;
	uint64_t alignment, data_off;
	int n_problems;
};

struct cur {
	const struct gguf *g;
	size_t pos;
};

static void bad(const struct gguf *g, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void bad(const struct gguf *g, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, PROG ": fatal: %s: ", g->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_BAD);
}

/* a file that loads but that ggml's reader, or the format, would refuse */
static void problem(struct gguf *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct gguf *g, const char *fmt, ...)
{
	va_list ap;

	printf("problem\t%s\t", g->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	g->n_problems++;
}

static const uint8_t *take(struct cur *c, size_t n, const char *what)
{
	const uint8_t *p;

	if (n > c->g->size - c->pos)
		bad(c->g, "%s at offset %zu: %zu bytes past the end of the file (%zu bytes)",
			what, c->pos, n - (c->g->size - c->pos), c->g->size);
	p = c->g->p + c->pos;
	c->pos += n;
	return p;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd_u32(struct cur *c, const char *what)
{
	return le(take(c, 4, what), 4);
}

static uint64_t rd_u64(struct cur *c, const char *what)
{
	return le(take(c, 8, what), 8);
}

static const uint8_t *rd_str(struct cur *c, size_t *len, const char *what)
{
	uint64_t n = rd_u64(c, what);

	if (n > c->g->size - c->pos)
		bad(c->g, "%s at offset %zu: length %llu runs past the end of the file", what,
			c->pos - 8, (unsigned long long)n);
	*len = n;
	return take(c, n, what);
}

static int same(const uint8_t *a, size_t alen, const char *b)
{
	return alen == strlen(b) && !memcmp(a, b, alen);
}

/* skip one value of a type, checking it; arrays of arrays are refused, as ggml does */
static void skip_value(struct cur *c, uint32_t type, const char *key, int in_array)
{
	size_t len;

	if (type >= GT_COUNT)
		bad(c->g, "key '%s': invalid value type %u", key, type);
	if (type == GT_STRING) {
		rd_str(c, &len, "string value");
	} else if (type == GT_ARRAY) {
		uint32_t et;
		uint64_t n;

		if (in_array)
			bad(c->g, "key '%s': array of arrays (ggml cannot read it)", key);
		et = rd_u32(c, "array type");
		n = rd_u64(c, "array length");
		if (et >= GT_COUNT || et == GT_ARRAY)
			bad(c->g, "key '%s': invalid array element type %u", key, et);
		if (et != GT_STRING) {
			if (n > (c->g->size - c->pos) / gt_sizes[et])
				bad(c->g, "key '%s': array of %llu %s runs past the end of the file", key,
					(unsigned long long)n, gt_names[et]);
			if (et == GT_BOOL) {
				const uint8_t *b = c->g->p + c->pos;

				for (uint64_t i = 0; i < n; i++)
					if (b[i] > 1)
						bad(c->g, "key '%s': bool %llu is %u, not 0 or 1", key,
							(unsigned long long)i, b[i]);
			}
			take(c, n * gt_sizes[et], "array");
		} else {
			/* each string needs at least its 8-byte length */
			if (n > (c->g->size - c->pos) / 8)
				bad(c->g, "key '%s': array of %llu strings runs past the end of the file",
					key, (unsigned long long)n);
			for (uint64_t i = 0; i < n; i++)
				rd_str(c, &len, "string in array");
		}
	} else {
		const uint8_t *b = take(c, gt_sizes[type], "value");

		if (type == GT_BOOL && *b > 1)
			bad(c->g, "key '%s': bool is %u, not 0 or 1", key, *b);
	}
}

static char *cstr(const uint8_t *p, size_t n)
{
	char *s = xcalloc(n + 1, 1);

	memcpy(s, p, n);
	return s;
}

static struct kv *find_kv(const struct gguf *g, const char *key)
{
	for (uint64_t i = 0; i < g->n_kv; i++)
		if (same(g->kv[i].key, g->kv[i].keylen, key))
			return &g->kv[i];
	return NULL;
}

static struct tinfo *find_tensor(const struct gguf *g, const uint8_t *name, size_t len)
{
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if (g->t[i].namelen == len && !memcmp(g->t[i].name, name, len))
			return &g->t[i];
	return NULL;
}

static void gguf_open(struct gguf *g, const char *path)
{
	struct cur c = { g, 0 };
	struct stat st;
	uint64_t expect = 0;
	int fd;

	memset(g, 0, sizeof *g);
	g->path = path;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(EXIT_SYS, "unable to open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		die(EXIT_SYS, "unable to stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EXIT_BAD, "%s: not a regular file", path);
	g->size = st.st_size;
	if (g->size > 0) {
		g->p = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (g->p == MAP_FAILED)
			die(EXIT_SYS, "unable to map %s: %s", path, strerror(errno));
	}
	close(fd);

	if (memcmp(take(&c, 4, "magic"), "GGUF", 4))
		bad(g, "no GGUF magic");
	g->version = rd_u32(&c, "version");
	if (g->version != 2 && g->version != 3)
		bad(g, "GGUF version %u (2 or 3 expected)", g->version);
	g->n_tensors = rd_u64(&c, "tensor count");
	g->n_kv = rd_u64(&c, "metadata count");
	/* a key-value needs at least 8 + 1 + 4 + 1 bytes, a tensor info 8 + 1 + 4 + 8 + 4 + 8 */
	if (g->n_kv > g->size / 14)
		bad(g, "%llu metadata entries cannot fit in %zu bytes", (unsigned long long)g->n_kv, g->size);
	if (g->n_tensors > g->size / 33)
		bad(g, "%llu tensors cannot fit in %zu bytes", (unsigned long long)g->n_tensors, g->size);

	g->kv = xcalloc(g->n_kv, sizeof *g->kv);
	for (uint64_t i = 0; i < g->n_kv; i++) {
		struct kv *kv = &g->kv[i];
		char *key;
		size_t start;

		kv->key = rd_str(&c, &kv->keylen, "key");
		key = cstr(kv->key, kv->keylen);
		if (!kv->keylen)
			bad(g, "metadata entry %llu has an empty key", (unsigned long long)i);
		if (memchr(kv->key, 0, kv->keylen))
			bad(g, "key %llu has a NUL byte", (unsigned long long)i);
		for (uint64_t j = 0; j < i; j++)
			if (g->kv[j].keylen == kv->keylen && !memcmp(g->kv[j].key, kv->key, kv->keylen))
				bad(g, "duplicate key '%s'", key);
		kv->type = rd_u32(&c, "value type");
		start = c.pos;
		skip_value(&c, kv->type, key, 0);
		kv->val = g->p + start;
		kv->vallen = c.pos - start;
		free(key);
	}

	g->alignment = 32;
	{
		struct kv *a = find_kv(g, "general.alignment");

		if (a) {
			if (a->type != GT_U32)
				bad(g, "general.alignment is %s, not u32", gt_names[a->type]);
			g->alignment = le(a->val, 4);
			if (!g->alignment || (g->alignment & (g->alignment - 1)))
				bad(g, "general.alignment %llu is not a power of 2",
					(unsigned long long)g->alignment);
			if (g->alignment % 8)
				problem(g, "general.alignment %llu is not a multiple of 8 (the spec asks for one)",
					(unsigned long long)g->alignment);
		}
	}

	g->t = xcalloc(g->n_tensors, sizeof *g->t);
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct tinfo *t = &g->t[i];
		const struct gtype *gt;
		char *name;

		t->name = rd_str(&c, &t->namelen, "tensor name");
		name = cstr(t->name, t->namelen);
		if (!t->namelen)
			bad(g, "tensor %llu has an empty name", (unsigned long long)i);
		if (memchr(t->name, 0, t->namelen))
			bad(g, "tensor %llu's name has a NUL byte", (unsigned long long)i);
		if (t->namelen >= 64)
			bad(g, "tensor '%s': name of %zu bytes (ggml takes 63 at most)", name, t->namelen);
		if (find_tensor(g, t->name, t->namelen) != t)
			bad(g, "duplicate tensor name '%s'", name);
		t->n_dims = rd_u32(&c, "tensor dimension count");
		if (t->n_dims < 1 || t->n_dims > 4)
			bad(g, "tensor '%s': %u dimensions (1 to 4)", name, t->n_dims);
		t->nel = 1;
		for (uint32_t d = 0; d < 4; d++) {
			t->ne[d] = d < t->n_dims ? rd_u64(&c, "tensor dimension") : 1;
			if (t->ne[d] >> 62)
				bad(g, "tensor '%s': dimension %u is %llu", name, d, (unsigned long long)t->ne[d]);
			if (t->ne[d] && t->nel > (UINT64_MAX >> 2) / t->ne[d])
				bad(g, "tensor '%s': element count overflows", name);
			t->nel *= t->ne[d];
		}
		t->type = rd_u32(&c, "tensor type");
		gt = gtype(t->type);
		if (!gt)
			bad(g, "tensor '%s': unknown ggml type %u", name, t->type);
		if (t->ne[0] % gt->blck)
			bad(g, "tensor '%s': %s rows of %llu elements, not a multiple of the block (%u)",
				name, gt->name, (unsigned long long)t->ne[0], gt->blck);
		t->nbytes = t->nel / gt->blck * gt->size;
		if (t->nbytes > g->size)
			bad(g, "tensor '%s': %llu bytes, more than the file", name,
				(unsigned long long)t->nbytes);
		t->offset = rd_u64(&c, "tensor offset");
		free(name);
	}

	g->data_off = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
	if (g->n_tensors && g->data_off > g->size)
		bad(g, "data section at %llu, past the end of the file (%zu bytes)",
			(unsigned long long)g->data_off, g->size);
	if (g->n_tensors)
		for (size_t i = c.pos; i < g->data_off; i++)
			if (g->p[i]) {
				problem(g, "padding before the data section is not zero");
				break;
			}

	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct tinfo *t = &g->t[i];
		char *name = cstr(t->name, t->namelen);

		if (t->offset > g->size - g->data_off || t->nbytes > g->size - g->data_off - t->offset)
			bad(g, "tensor '%s': data [%llu, +%llu) runs past the end of the file (%zu bytes)",
				name, (unsigned long long)(g->data_off + t->offset),
				(unsigned long long)t->nbytes, g->size);
		for (uint64_t j = 0; j < i; j++) {
			const struct tinfo *u = &g->t[j];

			if (t->nbytes && u->nbytes && t->offset < u->offset + u->nbytes &&
				u->offset < t->offset + t->nbytes)
				bad(g, "tensor '%s' overlaps tensor %llu", name, (unsigned long long)j);
		}
		if (t->offset % g->alignment)
			problem(g, "tensor '%s': offset %llu is not a multiple of the alignment %llu", name,
				(unsigned long long)t->offset, (unsigned long long)g->alignment);
		/* ggml's gguf reader wants each tensor right after the one before, padded */
		if (t->offset != expect)
			problem(g, "tensor '%s': offset %llu, ggml expects %llu (tensors in order, each padded)",
				name, (unsigned long long)t->offset, (unsigned long long)expect);
		expect = t->offset + (t->nbytes + g->alignment - 1) / g->alignment * g->alignment;
		free(name);
	}
}

static void gguf_close(struct gguf *g)
{
	if (g->size > 0)
		munmap((void *)g->p, g->size);
	free(g->kv);
	free(g->t);
}

/* ---- dequantization, one row at a time ---- */

/* IEEE binary16: sign, 5-bit exponent biased by 15, 10-bit mantissa */
static float half(const uint8_t *p)
{
	uint16_t h = p[0] | p[1] << 8;
	int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
	float v;

	if (exp == 0)
		v = ldexpf((float)man, -24); /* zero and subnormals: man * 2^-14 / 1024 */
	else if (exp == 31)
		v = man ? NAN : INFINITY;
	else
		v = ldexpf((float)(man | 0x400), exp - 25); /* 1.man * 2^(exp-15) */
	return h & 0x8000 ? -v : v;
}

static float bf16(const uint8_t *p)
{
	uint32_t u = (uint32_t)(p[0] | p[1] << 8) << 16;
	float v;

	memcpy(&v, &u, 4);
	return v;
}

static float f32(const uint8_t *p)
{
	uint32_t u = le(p, 4);
	float v;

	memcpy(&v, &u, 4);
	return v;
}

/* the 6-bit scale and min of sub-block j of a q4_K/q5_K superblock, 12 bytes packed */
static void scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

/*
 * block_q8_0: f16 d; int8 qs[32].  x = d * q
 */
static void deq_q8_0(const uint8_t *b, float *y, uint64_t n)
{
	for (uint64_t i = 0; i < n / 32; i++, b += 34) {
		float d = half(b);

		for (int j = 0; j < 32; j++)
			*y++ = (int8_t)b[2 + j] * d;
	}
}

/*
 * block_q4_K: f16 d, f16 dmin, u8 scales[12], u8 qs[128].
 * Eight sub-blocks of 32: x = d*sc * q - dmin*m, q 4 bits; bytes l of
 * each 32-byte group hold sub-block 2g in their low nibbles, 2g+1 in high.
 */
static void deq_q4_K(const uint8_t *b, float *y, uint64_t n)
{
	for (uint64_t i = 0; i < n / QK_K; i++, b += 144) {
		float d = half(b), dmin = half(b + 2);
		const uint8_t *sc = b + 4, *q = b + 16;

		for (int g = 0; g < 4; g++, q += 32) {
			int s0, m0, s1, m1;

			scale_min_k4(2 * g, sc, &s0, &m0);
			scale_min_k4(2 * g + 1, sc, &s1, &m1);
			for (int l = 0; l < 32; l++)
				*y++ = d * s0 * (q[l] & 0xf) - dmin * m0;
			for (int l = 0; l < 32; l++)
				*y++ = d * s1 * (q[l] >> 4) - dmin * m1;
		}
	}
}

/*
 * block_q5_K: f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128].
 * As q4_K with a fifth bit: bit 2g of qh[l] for sub-block 2g, bit 2g+1 for 2g+1.
 */
static void deq_q5_K(const uint8_t *b, float *y, uint64_t n)
{
	for (uint64_t i = 0; i < n / QK_K; i++, b += 176) {
		float d = half(b), dmin = half(b + 2);
		const uint8_t *sc = b + 4, *qh = b + 16, *q = b + 48;

		for (int g = 0; g < 4; g++, q += 32) {
			int s0, m0, s1, m1;

			scale_min_k4(2 * g, sc, &s0, &m0);
			scale_min_k4(2 * g + 1, sc, &s1, &m1);
			for (int l = 0; l < 32; l++)
				*y++ = d * s0 * ((q[l] & 0xf) + ((qh[l] >> (2 * g)) & 1) * 16) - dmin * m0;
			for (int l = 0; l < 32; l++)
				*y++ = d * s1 * ((q[l] >> 4) + ((qh[l] >> (2 * g + 1)) & 1) * 16) - dmin * m1;
		}
	}
}

/*
 * block_q6_K: u8 ql[128], u8 qh[64], int8 scales[16], f16 d.
 * Sixteen sub-blocks of 16: x = d * scale * (q - 32), q 6 bits.  Each half
 * of 128 values uses 64 ql bytes and 32 qh bytes: value 32k + l (k 0..3,
 * l 0..31) takes ql[l + 32*(k&1)]'s low (k < 2) or high nibble and bits
 * 2k..2k+1 of qh[l]; its scale is scales[8*half + 2k + l/16].
 */
static void deq_q6_K(const uint8_t *b, float *y, uint64_t n)
{
	for (uint64_t i = 0; i < n / QK_K; i++, b += 210) {
		float d = half(b + 208);
		const uint8_t *ql = b, *qh = b + 128;
		const int8_t *sc = (const int8_t *)(b + 192);

		for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, y += 128)
			for (int k = 0; k < 4; k++)
				for (int l = 0; l < 32; l++) {
					int lo = k < 2 ? ql[l + 32 * (k & 1)] & 0xf : ql[l + 32 * (k & 1)] >> 4;
					int q = (lo | ((qh[l] >> (2 * k)) & 3) << 4) - 32;

					y[32 * k + l] = d * sc[2 * k + l / 16] * q;
				}
	}
}

static void deq_row(uint32_t type, const uint8_t *src, float *y, uint64_t n)
{
	switch (type) {
	case T_F32:
		for (uint64_t i = 0; i < n; i++)
			y[i] = f32(src + 4 * i);
		break;
	case T_F16:
		for (uint64_t i = 0; i < n; i++)
			y[i] = half(src + 2 * i);
		break;
	case T_BF16:
		for (uint64_t i = 0; i < n; i++)
			y[i] = bf16(src + 2 * i);
		break;
	case T_Q8_0:
		deq_q8_0(src, y, n);
		break;
	case T_Q4_K:
		deq_q4_K(src, y, n);
		break;
	case T_Q5_K:
		deq_q5_K(src, y, n);
		break;
	case T_Q6_K:
		deq_q6_K(src, y, n);
		break;
	}
}

static const uint8_t *row_ptr(const struct gguf *g, const struct tinfo *t, uint64_t r)
{
	uint64_t rowbytes = t->ne[0] / gtype(t->type)->blck * gtype(t->type)->size;

	return g->p + g->data_off + t->offset + r * rowbytes;
}

/* ---- info ---- */

static void print_escaped(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			fputs("\\\\", stdout);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			printf("\\x%02x", s[i]);
		else
			putchar(s[i]);
	}
}

static void print_scalar(uint32_t type, const uint8_t *v)
{
	switch (type) {
	case GT_U8: case GT_U16: case GT_U32: case GT_U64:
		printf("%llu", (unsigned long long)le(v, gt_sizes[type]));
		break;
	case GT_I8:
		printf("%d", (int8_t)v[0]);
		break;
	case GT_I16:
		printf("%d", (int16_t)le(v, 2));
		break;
	case GT_I32:
		printf("%d", (int32_t)le(v, 4));
		break;
	case GT_I64:
		printf("%lld", (long long)le(v, 8));
		break;
	case GT_F32:
		printf("%.9g", f32(v));
		break;
	case GT_F64: {
		uint64_t u = le(v, 8);
		double d;

		memcpy(&d, &u, 8);
		printf("%.17g", d);
		break;
	}
	case GT_BOOL:
		fputs(v[0] ? "true" : "false", stdout);
		break;
	case GT_STRING:
		print_escaped(v + 8, le(v, 8));
		break;
	}
}

static void print_ne(const struct tinfo *t)
{
	for (uint32_t d = 0; d < t->n_dims; d++)
		printf("%s%llu", d ? "x" : "", (unsigned long long)t->ne[d]);
}

static int cmd_info(const char *path)
{
	struct gguf g;

	gguf_open(&g, path);
	printf("version\t%u\n", g.version);
	printf("alignment\t%llu\n", (unsigned long long)g.alignment);
	printf("n_kv\t%llu\n", (unsigned long long)g.n_kv);
	printf("n_tensors\t%llu\n", (unsigned long long)g.n_tensors);
	printf("data_offset\t%llu\n", (unsigned long long)g.data_off);
	printf("file_size\t%zu\n", g.size);
	for (uint64_t i = 0; i < g.n_kv; i++) {
		const struct kv *kv = &g.kv[i];

		fputs("kv\t", stdout);
		print_escaped(kv->key, kv->keylen);
		if (kv->type == GT_ARRAY) {
			uint32_t et = le(kv->val, 4);

			printf("\tarray[%s]\t%llu\n", gt_names[et], (unsigned long long)le(kv->val + 4, 8));
		} else {
			printf("\t%s\t", gt_names[kv->type]);
			print_scalar(kv->type, kv->val);
			putchar('\n');
		}
	}
	for (uint64_t i = 0; i < g.n_tensors; i++) {
		const struct tinfo *t = &g.t[i];

		fputs("tensor\t", stdout);
		print_escaped(t->name, t->namelen);
		printf("\t%s\t", gtype(t->type)->name);
		print_ne(t);
		printf("\t%llu\t%llu\t%s\n", (unsigned long long)t->offset, (unsigned long long)t->nbytes,
			t->offset % g.alignment ? "unaligned" : "aligned");
	}
	gguf_close(&g);
	return g.n_problems ? EXIT_BAD : 0;
}

/* ---- dump ---- */

static int cmd_dump(const char *path, const char *name)
{
	struct gguf g;
	const struct tinfo *t;
	float *row;

	gguf_open(&g, path);
	t = find_tensor(&g, (const uint8_t *)name, strlen(name));
	if (!t)
		die(EXIT_BAD, "%s: no tensor '%s'", path, name);
	if (!can_dequant(t->type))
		die(EXIT_BAD, "%s: tensor '%s' is %s, which this tool does not dequantize", path, name,
			gtype(t->type)->name);
	row = xcalloc(t->ne[0], sizeof *row);
	for (uint64_t r = 0; t->ne[0] && r < t->nel / t->ne[0]; r++) {
		deq_row(t->type, row_ptr(&g, t, r), row, t->ne[0]);
		/* raw float32, little-endian */
		for (uint64_t i = 0; i < t->ne[0]; i++) {
			uint32_t u;
			uint8_t b[4];

			memcpy(&u, &row[i], 4);
			for (int k = 0; k < 4; k++)
				b[k] = u >> (8 * k);
			if (fwrite(b, 1, 4, stdout) != 4)
				die(EXIT_SYS, "unable to write: %s", strerror(errno));
		}
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_SYS, "unable to write: %s", strerror(errno));
	free(row);
	gguf_close(&g);
	return 0;
}

/* ---- compare ---- */

static int cmd_compare(const char *opath, const char *qpath)
{
	static const char *const may_differ[] = { "general.file_type", "general.quantization_version" };
	struct gguf o, q;
	int mismatch = 0;

	gguf_open(&o, opath);
	gguf_open(&q, qpath);

	for (uint64_t i = 0; i < o.n_kv; i++) {
		const struct kv *a = &o.kv[i];
		char *key = cstr(a->key, a->keylen);
		const struct kv *b = find_kv(&q, key);
		int exempt = 0;

		for (size_t k = 0; k < sizeof may_differ / sizeof may_differ[0]; k++)
			exempt |= !strcmp(key, may_differ[k]);
		if (!b && !exempt) {
			printf("meta\t%s\tmissing\n", key);
			mismatch = 1;
		} else if (b && !exempt && (a->type != b->type || a->vallen != b->vallen ||
				memcmp(a->val, b->val, a->vallen))) {
			printf("meta\t%s\tdiffers\n", key);
			mismatch = 1;
		}
		free(key);
	}
	for (uint64_t i = 0; i < q.n_kv; i++) {
		const struct kv *b = &q.kv[i];
		char *key = cstr(b->key, b->keylen);
		int exempt = 0;

		for (size_t k = 0; k < sizeof may_differ / sizeof may_differ[0]; k++)
			exempt |= !strcmp(key, may_differ[k]);
		if (!exempt && !find_kv(&o, key)) {
			printf("meta\t%s\textra\n", key);
			mismatch = 1;
		}
		free(key);
	}

	for (uint64_t i = 0; i < o.n_tensors; i++) {
		const struct tinfo *a = &o.t[i], *b = find_tensor(&q, a->name, a->namelen);
		char *name = cstr(a->name, a->namelen);
		double err2 = 0, ref2 = 0, maxabs = 0;
		int nonfinite = 0;
		float *ra, *rb;

		if (!b) {
			printf("tensor\t%s\tmissing\n", name);
			mismatch = 1;
			free(name);
			continue;
		}
		if (a->n_dims != b->n_dims || memcmp(a->ne, b->ne, sizeof a->ne)) {
			printf("tensor\t%s\tshape\t", name);
			print_ne(a);
			putchar('\t');
			print_ne(b);
			putchar('\n');
			mismatch = 1;
			free(name);
			continue;
		}
		if (!can_dequant(a->type) || !can_dequant(b->type)) {
			printf("tensor\t%s\tunsupported\t%s\t%s\n", name, gtype(a->type)->name,
				gtype(b->type)->name);
			mismatch = 1;
			free(name);
			continue;
		}
		ra = xcalloc(a->ne[0], sizeof *ra);
		rb = xcalloc(a->ne[0], sizeof *rb);
		for (uint64_t r = 0; a->ne[0] && r < a->nel / a->ne[0]; r++) {
			deq_row(a->type, row_ptr(&o, a, r), ra, a->ne[0]);
			deq_row(b->type, row_ptr(&q, b, r), rb, a->ne[0]);
			for (uint64_t k = 0; k < a->ne[0]; k++) {
				double d = (double)rb[k] - ra[k];

				if (!isfinite(d))
					nonfinite = 1;
				else if (fabs(d) > maxabs)
					maxabs = fabs(d);
				err2 += d * d;
				ref2 += (double)ra[k] * ra[k];
			}
		}
		printf("%s\t%s\t%s\t", name, gtype(a->type)->name, gtype(b->type)->name);
		if (nonfinite)
			printf("nan\tnan\n");
		else
			printf("%.6g\t%.6g\n", ref2 > 0 ? sqrt(err2 / ref2) : err2 > 0 ? INFINITY : 0.0, maxabs);
		free(ra);
		free(rb);
		free(name);
	}
	for (uint64_t i = 0; i < q.n_tensors; i++)
		if (!find_tensor(&o, q.t[i].name, q.t[i].namelen)) {
			char *name = cstr(q.t[i].name, q.t[i].namelen);

			printf("tensor\t%s\textra\n", name);
			mismatch = 1;
			free(name);
		}

	if (fflush(stdout) == EOF)
		die(EXIT_SYS, "unable to write: %s", strerror(errno));
	gguf_close(&o);
	gguf_close(&q);
	return mismatch || o.n_problems || q.n_problems ? EXIT_BAD : 0;
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr, PROG ": usage: " USAGE "\n");
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: " USAGE "\n");
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "compare"))
		return cmd_compare(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "info"))
		return cmd_info(argv[2]);
	usage();
}
