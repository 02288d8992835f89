/* The GGUF reader and header writer: round trips of every value type and
 * layout, then every way a file can be wrong, each refused with a message
 * that says what.  "t-gguf --seeds DIR" writes the fuzzer's seed corpus. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "quant/quant.h"

/* ---- a byte buffer to build files and values in ---- */

struct b {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct b *b, const void *s, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void u8_(struct b *b, uint8_t v)
{
	put(b, &v, 1);
}

static void u16_(struct b *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(b, x, 2);
}

static void u32_(struct b *b, uint32_t v)
{
	uint8_t x[4];

	for (int i = 0; i < 4; i++)
		x[i] = (uint8_t)(v >> 8 * i);
	put(b, x, 4);
}

static void u64_(struct b *b, uint64_t v)
{
	uint8_t x[8];

	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> 8 * i);
	put(b, x, 8);
}

static void strn(struct b *b, const char *s, size_t n)
{
	u64_(b, n);
	put(b, s, n);
}

static void str(struct b *b, const char *s)
{
	strn(b, s, strlen(s));
}

static void pad(struct b *b, size_t a)
{
	while (b->n % a)
		u8_(b, 0);
}

static void zeros(struct b *b, size_t n)
{
	while (n--)
		u8_(b, 0);
}

static void reset(struct b *b)
{
	b->n = 0;
}

/* hand-built files */
static void hdr(struct b *b, uint32_t ver, uint64_t nt, uint64_t nkv)
{
	reset(b);
	put(b, "GGUF", 4);
	u32_(b, ver);
	u64_(b, nt);
	u64_(b, nkv);
}

static void kv_u32(struct b *b, const char *key, uint32_t v)
{
	str(b, key);
	u32_(b, GGUF_T_U32);
	u32_(b, v);
}

static void ti(struct b *b, const char *name, uint32_t ndim, const uint64_t *ne, uint32_t type, uint64_t off)
{
	str(b, name);
	u32_(b, ndim);
	for (uint32_t d = 0; d < ndim; d++)
		u64_(b, ne[d]);
	u32_(b, type);
	u64_(b, off);
}

static int one_line(const char *s)
{
	return *s && !strchr(s, '\n');
}

static int rejects(const struct b *b, const char *has)
{
	struct gguf g;
	struct gb_err err;

	memset(&err, 0, sizeof(err));
	if (gguf_parse(&g, b->p, b->n, &err) == 0) {
		printf("# accepted\n");
		gguf_free(&g);
		return 0;
	}
	printf("# %s\n", err.msg);
	return strstr(err.msg, has) && one_line(err.msg);
}

static int accepts(const struct b *b)
{
	struct gguf g;
	struct gb_err err;

	if (gguf_parse(&g, b->p, b->n, &err) < 0) {
		printf("# %s\n", err.msg);
		return 0;
	}
	gguf_free(&g);
	return 1;
}

/* ---- the values of the round trip ---- */

#define NV 40
static struct gguf_out_kv okv[NV];
static struct b vals[NV];
static int nkv;

static struct b *val(const char *key, uint32_t type)
{
	struct b *v = &vals[nkv];

	reset(v);
	okv[nkv].key = key;
	okv[nkv].type = type;
	nkv++;
	return v;
}

static void seal(void)
{
	for (int i = 0; i < nkv; i++) {
		okv[i].raw = vals[i].p;
		okv[i].raw_len = vals[i].n;
	}
}

static void arr(struct b *v, uint32_t et, uint64_t n)
{
	u32_(v, et);
	u64_(v, n);
}

static void all_values(int with_align, uint32_t align)
{
	struct b *v;
	float f = 1.5f;
	double d = 2.25;
	char tok[32];
	int i;

	nkv = 0;
	str(val("general.architecture", GGUF_T_STRING), "llama");
	u8_(val("t.u8", GGUF_T_U8), 200);
	u8_(val("t.i8", GGUF_T_I8), (uint8_t)-5);
	u8_(val("t.i8pos", GGUF_T_I8), 100);
	u16_(val("t.u16", GGUF_T_U16), 60000);
	u16_(val("t.i16", GGUF_T_I16), (uint16_t)-300);
	u32_(val("t.u32", GGUF_T_U32), 4000000000u);
	u32_(val("t.i32", GGUF_T_I32), (uint32_t)-7);
	u32_(val("t.i32pos", GGUF_T_I32), 7);
	put(val("t.f32", GGUF_T_F32), &f, 4);
	u8_(val("t.bool", GGUF_T_BOOL), 1);
	u8_(val("t.bool2", GGUF_T_BOOL), 2);
	u64_(val("t.u64", GGUF_T_U64), 1ULL << 40);
	u64_(val("t.i64", GGUF_T_I64), (uint64_t)-1);
	put(val("t.f64", GGUF_T_F64), &d, 8);
	str(val("t.empty", GGUF_T_STRING), "");
	strn(val("t.binary", GGUF_T_STRING), "a\0b\n\xff", 5);

	v = val("tokenizer.ggml.tokens", GGUF_T_ARRAY);
	arr(v, GGUF_T_STRING, 1001);
	for (i = 0; i < 1000; i++) {
		snprintf(tok, sizeof(tok), "tok%d", i);
		str(v, tok);
	}
	str(v, "");
	v = val("tokenizer.ggml.scores", GGUF_T_ARRAY);
	arr(v, GGUF_T_F32, 1000);
	for (i = 0; i < 1000; i++) {
		f = (float)i / 3;
		put(v, &f, 4);
	}
	v = val("t.arr_i64", GGUF_T_ARRAY);
	arr(v, GGUF_T_I64, 2);
	u64_(v, 5);
	u64_(v, (uint64_t)-5);
	v = val("t.arr_empty", GGUF_T_ARRAY);
	arr(v, GGUF_T_STRING, 0);
	v = val("t.arr_bool", GGUF_T_ARRAY);
	arr(v, GGUF_T_BOOL, 3);
	u8_(v, 0), u8_(v, 1), u8_(v, 0);
	/* [[1,2,3], ["x", ""], [], [[7]]] */
	v = val("t.nested", GGUF_T_ARRAY);
	arr(v, GGUF_T_ARRAY, 4);
	arr(v, GGUF_T_U8, 3);
	u8_(v, 1), u8_(v, 2), u8_(v, 3);
	arr(v, GGUF_T_STRING, 2);
	str(v, "x");
	str(v, "");
	arr(v, GGUF_T_U32, 0);
	arr(v, GGUF_T_ARRAY, 1);
	arr(v, GGUF_T_U16, 1);
	u16_(v, 7);
	if (with_align)
		u32_(val("general.alignment", GGUF_T_U32), align);
	seal();
}

#define NT 6
static struct gguf_out_tensor ot[NT];

static void all_tensors(void)
{
	static const struct gguf_out_tensor t[NT] = {
		{ "token_embd.weight", 2, { 64, 3, 1, 1 }, GQ_Q8_0, 0, 0 },
		{ "blk.0.attn_norm.weight", 1, { 10, 1, 1, 1 }, GQ_F32, 0, 0 },
		{ "blk.0.ffn_down.weight", 2, { 256, 2, 1, 1 }, GQ_Q4_K, 0, 0 },
		{ "x.bf16", 4, { 2, 3, 4, 5 }, GQ_BF16, 0, 0 },
		{ "output.weight", 1, { 256, 1, 1, 1 }, GQ_Q6_K, 0, 0 },
		{ "y.f16", 3, { 1, 1, 3, 1 }, GQ_F16, 0, 0 },
	};

	memcpy(ot, t, sizeof(t));
	for (int i = 0; i < NT; i++) {
		uint64_t n = ot[i].ne[0] * ot[i].ne[1] * ot[i].ne[2] * ot[i].ne[3];

		if (gq_nbytes(ot[i].type, n, &ot[i].nbytes) < 0)
			abort();
	}
}

/* the header plus each tensor's bytes, a pattern per tensor */
static uint8_t *assemble(const uint8_t *h, uint64_t hl, uint64_t fs, const struct gguf_out_tensor *t, int nt)
{
	uint8_t *f = calloc(1, fs);

	if (!f)
		abort();
	memcpy(f, h, hl);
	for (int i = 0; i < nt; i++)
		for (uint64_t j = 0; j < t[i].nbytes; j++)
			f[hl + t[i].offset + j] = (uint8_t)(i * 31 + j * 7 + 1);
	return f;
}

static int same_kvs(const struct gguf *g)
{
	if (g->n_kv != (uint64_t)nkv)
		return 0;
	for (int i = 0; i < nkv; i++) {
		const struct gguf_kv *kv = &g->kv[i];

		if (strcmp(kv->key, okv[i].key) || kv->type != okv[i].type || kv->raw_len != okv[i].raw_len ||
		    memcmp(kv->raw, okv[i].raw, kv->raw_len)) {
			printf("# kv %d (%s) differs\n", i, okv[i].key);
			return 0;
		}
		if (kv->type == GGUF_T_ARRAY) {
			const uint8_t *r = okv[i].raw;
			uint64_t n = 0;

			for (int k = 7; k >= 0; k--)
				n = n << 8 | r[4 + k];
			if (kv->arr_type != (uint32_t)(r[0] | r[1] << 8 | r[2] << 16 | (uint32_t)r[3] << 24) ||
			    kv->arr_n != n) {
				printf("# kv %d (%s): array type or count\n", i, okv[i].key);
				return 0;
			}
		}
		if (gguf_get(g, okv[i].key) != kv)
			return 0;
	}
	return 1;
}

static int same_tensors(const struct gguf *g, const uint8_t *f, uint64_t hl)
{
	if (g->n_tensors != NT || g->data_off != hl)
		return 0;
	for (int i = 0; i < NT; i++) {
		const struct gguf_tensor *t = &g->tensor[i];
		uint64_t n = 1;

		for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
			if (d < ot[i].ndim)
				n *= ot[i].ne[d];
			if (t->ne[d] != (d < ot[i].ndim ? ot[i].ne[d] : 1))
				return 0;
		}
		if (strcmp(t->name, ot[i].name) || t->ndim != ot[i].ndim || t->type != ot[i].type ||
		    t->offset != ot[i].offset || t->nelem != n || t->nbytes != ot[i].nbytes ||
		    t->data != f + hl + ot[i].offset || gguf_tensor_find(g, ot[i].name) != t) {
			printf("# tensor %d (%s) differs\n", i, ot[i].name);
			return 0;
		}
		for (uint64_t j = 0; j < t->nbytes; j++)
			if (t->data[j] != (uint8_t)(i * 31 + j * 7 + 1))
				return 0;
	}
	return 1;
}

/* ggml's own reader wants each tensor at the previous end, aligned */
static int ggml_layout(uint64_t align, uint64_t hl, uint64_t fs)
{
	uint64_t at = 0;

	for (int i = 0; i < NT; i++) {
		if (ot[i].offset != at)
			return 0;
		at += (ot[i].nbytes + align - 1) / align * align;
	}
	return hl % align == 0 && fs == hl + at;
}

static void round_trips(void)
{
	static const uint32_t aligns[] = { 32, 64, 1, 4096 };
	struct gb_err err;
	struct gguf g;
	const struct gguf_kv *kv;
	const char *s;
	uint64_t v, len, hl, fs;
	uint8_t *h, *f;

	for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
		uint32_t al = aligns[a];

		all_values(al != 32, al);
		all_tensors();
		if (!ok(gguf_build_header(okv, nkv, ot, NT, al, &h, &hl, &fs, &err) == 0,
			"alignment %u: header built", al)) {
			printf("# %s\n", err.msg);
			continue;
		}
		ok(ggml_layout(al, hl, fs), "alignment %u: tensors one after another, as ggml lays them out", al);
		f = assemble(h, hl, fs, ot, NT);
		if (!ok(gguf_parse(&g, f, fs, &err) == 0, "alignment %u: parses back", al)) {
			printf("# %s\n", err.msg);
			free(h), free(f);
			continue;
		}
		ok(g.version == 3 && g.alignment == al && g.base == f && g.size == fs && !g.mapped,
		   "alignment %u: version, alignment, buffer", al);
		ok(same_kvs(&g), "alignment %u: every key, type and value byte for byte", al);
		ok(same_tensors(&g, f, hl), "alignment %u: every tensor's name, shape, type, offset, size and bytes", al);
		gguf_free(&g);

		/* v2 reads the same */
		f[4] = 2;
		ok(gguf_parse(&g, f, fs, &err) == 0 && g.version == 2 && same_kvs(&g), "alignment %u: version 2 too", al);
		gguf_free(&g);
		free(h);
		free(f);
	}

	/* the getters, on the last build (alignment 4096) */
	all_values(1, 4096);
	all_tensors();
	if (gguf_build_header(okv, nkv, ot, NT, 4096, &h, &hl, &fs, &err) < 0)
		abort();
	f = assemble(h, hl, fs, ot, NT);
	if (gguf_parse(&g, f, fs, &err) < 0)
		abort();
	ok(gguf_kv_uint(gguf_get(&g, "t.u8"), &v) == 0 && v == 200, "u8");
	ok(gguf_kv_uint(gguf_get(&g, "t.i8"), &v) < 0, "a negative i8 is not a uint");
	ok(gguf_kv_uint(gguf_get(&g, "t.i8pos"), &v) == 0 && v == 100, "i8");
	ok(gguf_kv_uint(gguf_get(&g, "t.u16"), &v) == 0 && v == 60000, "u16");
	ok(gguf_kv_uint(gguf_get(&g, "t.i16"), &v) < 0, "a negative i16 is not a uint");
	ok(gguf_kv_uint(gguf_get(&g, "t.u32"), &v) == 0 && v == 4000000000u, "u32");
	ok(gguf_kv_uint(gguf_get(&g, "t.i32"), &v) < 0, "a negative i32 is not a uint");
	ok(gguf_kv_uint(gguf_get(&g, "t.i32pos"), &v) == 0 && v == 7, "i32");
	ok(gguf_kv_uint(gguf_get(&g, "t.u64"), &v) == 0 && v == 1ULL << 40, "u64");
	ok(gguf_kv_uint(gguf_get(&g, "t.i64"), &v) < 0, "a negative i64 is not a uint");
	ok(gguf_kv_uint(gguf_get(&g, "t.bool"), &v) == 0 && v == 1, "bool");
	ok(gguf_kv_uint(gguf_get(&g, "t.bool2"), &v) == 0 && v == 1, "bool: any nonzero byte is true");
	ok(gguf_kv_uint(gguf_get(&g, "t.f32"), &v) < 0 && gguf_kv_uint(gguf_get(&g, "t.f64"), &v) < 0,
	   "floats are not uints");
	ok(gguf_kv_uint(gguf_get(&g, "general.architecture"), &v) < 0, "a string is not a uint");
	ok(gguf_kv_uint(gguf_get(&g, "t.arr_i64"), &v) < 0, "an array is not a uint");
	ok(gguf_kv_uint(NULL, &v) < 0 && gguf_kv_str(NULL, &s, &len) < 0, "NULL kv: -1");
	ok(gguf_kv_uint(gguf_get(&g, "general.alignment"), &v) == 0 && v == 4096 && g.alignment == 4096,
	   "general.alignment");
	ok(gguf_kv_str(gguf_get(&g, "general.architecture"), &s, &len) == 0 && len == 5 && !memcmp(s, "llama", 5),
	   "string");
	ok(gguf_kv_str(gguf_get(&g, "t.empty"), &s, &len) == 0 && len == 0, "empty string");
	ok(gguf_kv_str(gguf_get(&g, "t.binary"), &s, &len) == 0 && len == 5 && !memcmp(s, "a\0b\n\xff", 5),
	   "a string with NUL and newline, byte for byte");
	ok(gguf_kv_str(gguf_get(&g, "t.u32"), &s, &len) < 0, "a u32 is not a string");
	kv = gguf_get(&g, "tokenizer.ggml.tokens");
	ok(kv && kv->type == GGUF_T_ARRAY && kv->arr_type == GGUF_T_STRING && kv->arr_n == 1001 &&
	   kv->raw == g.kv[17].raw, "array of strings: type, count, raw");
	kv = gguf_get(&g, "t.nested");
	ok(kv && kv->arr_type == GGUF_T_ARRAY && kv->arr_n == 4, "array of arrays: type, count");
	kv = gguf_get(&g, "t.u32");
	ok(kv && kv->raw_len == 4 && kv->arr_type == 0 && kv->arr_n == 0, "a scalar: raw_len, no array fields");
	ok(!gguf_get(&g, "t.nope") && !gguf_get(&g, NULL) && !gguf_get(&g, "t.u3"), "no such key");
	ok(!gguf_tensor_find(&g, "nope") && !gguf_tensor_find(&g, NULL), "no such tensor");
	is_str(gguf_vtype_name(GGUF_T_U32), "u32", "vtype name u32");
	is_str(gguf_vtype_name(GGUF_T_STRING), "string", "vtype name string");
	is_str(gguf_vtype_name(GGUF_T_ARRAY), "array", "vtype name array");
	is_str(gguf_vtype_name(GGUF_T_F64), "f64", "vtype name f64");
	is_str(gguf_vtype_name(13), "unknown", "vtype name 13");
	gguf_free(&g);
	ok(g.n_kv == 0 && !g.kv && !g.tensor, "gguf_free clears");
	gguf_free(&g);
	free(h);
	free(f);

	/* no kvs, no tensors: 24 bytes, padded */
	if (gguf_build_header(NULL, 0, NULL, 0, 32, &h, &hl, &fs, &err) < 0)
		abort();
	ok(hl == 32 && fs == 32, "an empty header: 32 bytes");
	ok(gguf_parse(&g, h, hl, &err) == 0 && g.n_kv == 0 && g.n_tensors == 0 && g.data_off == 32, "and reads back");
	gguf_free(&g);
	ok(gguf_parse(&g, h, 24, &err) == 0 && g.data_off == 32, "without its padding too (no tensors to read)");
	gguf_free(&g);
	free(h);
}

/* ---- gguf_open ---- */

static void opens(void)
{
	char dir[256], path[300], path2[300];
	const char *tmp = getenv("TEST_TMP");
	struct gb_err err;
	struct gguf g;
	uint64_t hl, fs;
	uint8_t *h, *f;
	int fd;

	snprintf(dir, sizeof(dir), "%s/t-gguf.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/m.gguf", dir);
	all_values(0, 32);
	all_tensors();
	if (gguf_build_header(okv, nkv, ot, NT, 32, &h, &hl, &fs, &err) < 0)
		abort();
	f = assemble(h, hl, fs, ot, NT);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, f, fs) != (ssize_t)fs || close(fd) < 0)
		abort();
	if (ok(gguf_open(&g, path, &err) == 0, "gguf_open")) {
		ok(g.mapped && g.size == fs && same_kvs(&g), "mapped, every kv");
		ok(g.n_tensors == NT && !memcmp(g.tensor[2].data, f + hl + ot[2].offset, ot[2].nbytes),
		   "tensor data through the map");
		gguf_free(&g);
	} else {
		printf("# %s\n", err.msg);
	}

	ok(gguf_open(&g, dir, &err) < 0 && strstr(err.msg, "is a directory") && !strncmp(err.msg, dir, strlen(dir)),
	   "a directory: refused, named");
	printf("# %s\n", err.msg);
	snprintf(path2, sizeof(path2), "%s/empty.gguf", dir);
	fd = open(path2, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	ok(gguf_open(&g, path2, &err) < 0 && strstr(err.msg, "empty file") && !strncmp(err.msg, path2, strlen(path2)),
	   "an empty file: refused, named");
	printf("# %s\n", err.msg);
	unlink(path2);
	snprintf(path2, sizeof(path2), "%s/none.gguf", dir);
	ok(gguf_open(&g, path2, &err) < 0 && strstr(err.msg, "No such file") && !strncmp(err.msg, path2, strlen(path2)),
	   "a missing file: refused, named");
	/* a bad file's message starts with its path */
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, f, hl - 1) < 0 || close(fd) < 0)
		abort();
	ok(gguf_open(&g, path, &err) < 0 && !strncmp(err.msg, path, strlen(path)) &&
	   strstr(err.msg, "run past the end") && one_line(err.msg), "a truncated file: path: reason");
	printf("# %s\n", err.msg);
	snprintf(path2, sizeof(path2), "%s/fifo", dir);
	if (mkfifo(path2, 0600) == 0) {
		ok(gguf_open(&g, path2, &err) < 0 && strstr(err.msg, "not a regular file"), "a FIFO: refused, no hang");
		unlink(path2);
	}
	unlink(path);
	rmdir(dir);
	free(h);
	free(f);
}

/* ---- the reader refuses ---- */

static void truncations(void)
{
	struct gguf_out_tensor t[2] = {
		{ "a", 2, { 32, 2, 1, 1 }, GQ_Q8_0, 68, 0 },
		{ "b", 1, { 16, 1, 1, 1 }, GQ_F32, 64, 0 },
	};
	struct gb_err err;
	struct gguf g;
	uint64_t hl, fs, n, bad = 0, badmsg = 0;
	uint8_t *h, *f;

	nkv = 0;
	str(val("general.name", GGUF_T_STRING), "tiny");
	u32_(val("n", GGUF_T_U32), 3);
	{
		struct b *v = val("toks", GGUF_T_ARRAY);

		arr(v, GGUF_T_STRING, 3);
		str(v, "a"), str(v, "bc"), str(v, "");
		v = val("nest", GGUF_T_ARRAY);
		arr(v, GGUF_T_ARRAY, 2);
		arr(v, GGUF_T_U8, 1);
		u8_(v, 9);
		arr(v, GGUF_T_STRING, 1);
		str(v, "z");
	}
	seal();
	if (gguf_build_header(okv, nkv, t, 2, 32, &h, &hl, &fs, &err) < 0)
		abort();
	/* the last tensor ends the file: no padding after it, so every
	 * shorter length cuts into something that is needed */
	f = assemble(h, hl, fs, t, 2);
	ok(fs == hl + t[1].offset + t[1].nbytes, "the small file ends with its last tensor's data");
	ok(gguf_parse(&g, f, fs, &err) == 0, "whole, it parses");
	gguf_free(&g);
	for (n = 0; n < fs; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, f, n);
		memset(&err, 0, sizeof(err));
		if (gguf_parse(&g, cut, n, &err) == 0) {
			bad++;
			gguf_free(&g);
		} else if (!one_line(err.msg)) {
			badmsg++;
		}
		free(cut);
	}
	is_int(bad, 0, "cut at each of its %llu bytes, never accepted", (unsigned long long)fs);
	is_int(badmsg, 0, "and each time a one-line message");
	memset(&err, 0, sizeof(err));
	gguf_parse(&g, f, 250, &err);
	ok(strstr(err.msg, "tensor 1 (b): truncated: a dimension at offset 248") != NULL,
	   "the message names the entry: %s", err.msg);
	free(h);
	free(f);
}

static void refusals(void)
{
	static struct b b;
	static char name[300];
	uint64_t ne[5] = { 16, 1, 1, 1, 1 }; /* five for n_dims 5 */
	uint64_t big[4];
	int i;

	/* header */
	reset(&b);
	ok(rejects(&b, "empty"), "0 bytes");
	put(&b, "GGU", 3);
	ok(rejects(&b, "truncated"), "3 bytes of the magic");
	hdr(&b, 3, 0, 0);
	b.p[3] = 'X';
	ok(rejects(&b, "not a GGUF file"), "bad magic");
	hdr(&b, 3, 0, 0);
	b.p[0] = 0;
	b.p[1] = '\n';
	ok(rejects(&b, "'\\x00\\x0aUF'"), "bad magic, shown escaped on one line");
	hdr(&b, 1, 0, 0);
	ok(rejects(&b, "version 1 is not supported"), "version 1");
	hdr(&b, 0, 0, 0);
	ok(rejects(&b, "unsupported GGUF version 0"), "version 0");
	hdr(&b, 4, 0, 0);
	ok(rejects(&b, "unsupported GGUF version 4"), "version 4");
	hdr(&b, 0x03000000, 0, 0);
	ok(rejects(&b, "big-endian"), "a big-endian file");
	hdr(&b, 3, 0, 0);
	b.n = 20;
	ok(rejects(&b, "header: truncated: n_kv"), "cut in n_kv");
	hdr(&b, 2, 0, 0);
	ok(accepts(&b), "version 2, nothing in it");

	/* counts */
	hdr(&b, 3, 0, UINT64_MAX);
	ok(rejects(&b, "n_kv 18446744073709551615 and n_tensors 0 cannot fit"), "n_kv 2^64-1");
	hdr(&b, 3, 1ULL << 62, 0);
	ok(rejects(&b, "cannot fit"), "n_tensors 2^62");
	hdr(&b, 3, 1ULL << 59, 1ULL << 60);
	ok(rejects(&b, "cannot fit"), "both huge (the sum would overflow)");
	hdr(&b, 3, 0, 1000);
	kv_u32(&b, "a", 1);
	ok(rejects(&b, "cannot fit"), "n_kv 1000 in a 41-byte file");
	hdr(&b, 3, 2, 0);
	ti(&b, "a", 1, ne, GQ_F32, 0);
	ok(rejects(&b, "cannot fit"), "n_tensors 2 with room for one");

	/* keys and values */
	hdr(&b, 3, 0, 1);
	u64_(&b, UINT64_MAX);
	u32_(&b, 0);
	u32_(&b, 0);
	ok(rejects(&b, "kv 0: truncated: a key of 18446744073709551615 bytes"), "huge key length");
	hdr(&b, 3, 0, 1);
	str(&b, "k");
	u32_(&b, GGUF_T_STRING);
	u64_(&b, UINT64_MAX - 3);
	ok(rejects(&b, "kv 0 (k): truncated: a string of 18446744073709551612 bytes"), "huge string length");
	hdr(&b, 3, 0, 1);
	str(&b, "k");
	u32_(&b, GGUF_T_ARRAY);
	arr(&b, GGUF_T_U32, UINT64_MAX / 2);
	ok(rejects(&b, "an array of 9223372036854775807 u32 values"), "huge array count");
	hdr(&b, 3, 0, 1);
	str(&b, "k");
	u32_(&b, GGUF_T_ARRAY);
	arr(&b, GGUF_T_STRING, 1ULL << 61);
	zeros(&b, 64);
	ok(rejects(&b, "an array of 2305843009213693952 string values"), "huge array of strings");
	hdr(&b, 3, 0, 1);
	str(&b, "tokens");
	u32_(&b, GGUF_T_ARRAY);
	arr(&b, GGUF_T_STRING, 3);
	str(&b, "a");
	u64_(&b, 100);
	put(&b, "bcdefghijklmnopqrstuvwxyz", 25);
	ok(rejects(&b, "kv 0 (tokens): element [1]: truncated: a string of 100 bytes"), "a string in an array runs out");
	hdr(&b, 3, 0, 1);
	str(&b, "");
	u32_(&b, GGUF_T_U8);
	u8_(&b, 0);
	zeros(&b, 8);
	ok(rejects(&b, "kv 0: empty key"), "empty key");
	hdr(&b, 3, 0, 1);
	strn(&b, "a\0b", 3);
	u32_(&b, GGUF_T_U8);
	u8_(&b, 0);
	ok(rejects(&b, "kv 0: NUL byte inside the key: a\\x00b"), "a NUL in the key");
	hdr(&b, 3, 0, 1);
	str(&b, "k");
	u32_(&b, 13);
	zeros(&b, 8);
	ok(rejects(&b, "kv 0 (k): unknown value type 13"), "value type 13");
	hdr(&b, 3, 0, 1);
	str(&b, "k\n");
	u32_(&b, 0xffffffff);
	zeros(&b, 8);
	ok(rejects(&b, "kv 0 (k\\x0a): unknown value type 4294967295"), "value type 2^32-1, key shown escaped");
	hdr(&b, 3, 0, 1);
	str(&b, "k");
	u32_(&b, GGUF_T_ARRAY);
	arr(&b, 13, 0);
	ok(rejects(&b, "unknown array element type 13"), "array element type 13");
	hdr(&b, 3, 0, 1);
	str(&b, "deep");
	u32_(&b, GGUF_T_ARRAY);
	for (i = 0; i < 17; i++)
		arr(&b, GGUF_T_ARRAY, 1);
	arr(&b, GGUF_T_U8, 0);
	ok(rejects(&b, "kv 0 (deep): element [0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: arrays nested more than 16 deep"),
	   "arrays nested 18 deep");
	hdr(&b, 3, 0, 1);
	str(&b, "deep");
	u32_(&b, GGUF_T_ARRAY);
	for (i = 0; i < 15; i++)
		arr(&b, GGUF_T_ARRAY, 1);
	arr(&b, GGUF_T_U8, 0);
	ok(accepts(&b), "arrays nested 16 deep");
	hdr(&b, 3, 0, 3);
	kv_u32(&b, "a", 1);
	kv_u32(&b, "b", 1);
	kv_u32(&b, "a", 2);
	ok(rejects(&b, "kv 2 (a): duplicate key, also kv 0"), "duplicate key");
	hdr(&b, 3, 0, 1);
	memset(name, 'k', 300);
	strn(&b, name, 300);
	u32_(&b, GGUF_T_U8);
	u8_(&b, 0);
	ok(accepts(&b), "a 300-byte key");

	/* alignment */
	hdr(&b, 3, 0, 1);
	kv_u32(&b, "general.alignment", 48);
	ok(rejects(&b, "general.alignment 48 is not a power of two"), "alignment 48");
	hdr(&b, 3, 0, 1);
	kv_u32(&b, "general.alignment", 0);
	ok(rejects(&b, "general.alignment 0 is not a power of two"), "alignment 0");
	hdr(&b, 3, 0, 1);
	str(&b, "general.alignment");
	u32_(&b, GGUF_T_U64);
	u64_(&b, 32);
	ok(rejects(&b, "general.alignment is of type u64, not u32"), "alignment as a u64");
	hdr(&b, 3, 0, 1);
	str(&b, "general.alignment");
	u32_(&b, GGUF_T_STRING);
	str(&b, "32");
	ok(rejects(&b, "general.alignment is of type string, not u32"), "alignment as a string");

	/* tensors */
#define T1(nm, nd, n, ty, off, datalen) do { \
		hdr(&b, 3, 1, 0); ti(&b, nm, nd, n, ty, off); pad(&b, 32); zeros(&b, datalen); } while (0)
	T1("w", 1, ne, GQ_F32, 0, 64);
	ok(accepts(&b), "one f32 tensor");
	T1("w", 0, ne, GQ_F32, 0, 64);
	ok(rejects(&b, "tensor 0 (w): n_dims 0 is not in 1..4"), "n_dims 0");
	T1("w", 5, ne, GQ_F32, 0, 64);
	ok(rejects(&b, "tensor 0 (w): n_dims 5 is not in 1..4"), "n_dims 5");
	memcpy(big, (uint64_t[]){ 16, 0, 1, 1 }, sizeof(big));
	T1("w", 2, big, GQ_F32, 0, 64);
	ok(rejects(&b, "tensor 0 (w): ne[1] is 0"), "ne 0");
	memcpy(big, (uint64_t[]){ 1ULL << 32, 1ULL << 32, 1, 1 }, sizeof(big));
	T1("w", 2, big, GQ_F32, 0, 64);
	ok(rejects(&b, "the element count overflows at ne[1]"), "ne product 2^64");
	memcpy(big, (uint64_t[]){ 1ULL << 62, 2, 1, 1 }, sizeof(big));
	T1("w", 2, big, GQ_I8, 0, 64);
	ok(rejects(&b, "the element count overflows at ne[1]"), "ne product 2^63, past int64_t");
	memcpy(big, (uint64_t[]){ 1ULL << 62, 1, 1, 1 }, sizeof(big));
	T1("w", 2, big, GQ_F64, 0, 64);
	ok(rejects(&b, "the size of 4611686018427387904 f64 elements overflows"), "2^62 f64: the byte size overflows");
	memcpy(big, (uint64_t[]){ 1ULL << 61, 1, 1, 1 }, sizeof(big));
	T1("w", 2, big, GQ_F32, 0, 64);
	ok(rejects(&b, "run past the end of the file"), "2^61 f32: fits in a u64, not in the file");
	T1("w", 1, ne, 4, 0, 64);
	ok(rejects(&b, "tensor 0 (w): unknown type 4"), "type 4 (removed Q4_2)");
	T1("w", 1, ne, 31, 0, 64);
	ok(rejects(&b, "tensor 0 (w): unknown type 31"), "type 31");
	T1("w", 1, ne, 200, 0, 64);
	ok(rejects(&b, "tensor 0 (w): unknown type 200"), "type 200");
	memcpy(big, (uint64_t[]){ 33, 1, 1, 1 }, sizeof(big));
	T1("w", 1, big, GQ_Q8_0, 0, 64);
	ok(rejects(&b, "ne[0] 33 is not a multiple of q8_0's block of 32"), "q8_0 row of 33");
	memcpy(big, (uint64_t[]){ 128, 2, 1, 1 }, sizeof(big));
	T1("w", 2, big, GQ_Q4_K, 0, 300);
	ok(rejects(&b, "ne[0] 128 is not a multiple of q4_K's block of 256"), "q4_K row of 128 (256 in all)");
	T1("w", 1, ne, GQ_F32, 16, 96);
	ok(rejects(&b, "tensor 0 (w): offset 16 is not a multiple of the alignment 32"), "misaligned offset");
	T1("w", 1, ne, GQ_F32, 0, 63);
	ok(rejects(&b, "tensor 0 (w): 64 bytes at offset 0 run past the end of the file"), "one byte short");
	T1("w", 1, ne, GQ_F32, UINT64_MAX & ~31ULL, 64);
	ok(rejects(&b, "run past the end of the file"), "offset near 2^64 (no wrap-around)");
	T1("w", 1, ne, GQ_F32, 32, 64);
	ok(rejects(&b, "run past the end of the file"), "offset 32 + 64 bytes in 64");
	T1("", 1, ne, GQ_F32, 0, 64);
	ok(rejects(&b, "tensor 0: empty name"), "empty name");
	memset(name, 'n', 256);
	name[256] = 0;
	T1(name, 1, ne, GQ_F32, 0, 64);
	ok(rejects(&b, "tensor 0: name longer than 255 bytes"), "a 256-byte name");
	name[255] = 0;
	T1(name, 1, ne, GQ_F32, 0, 64);
	ok(accepts(&b), "a 255-byte name");
	hdr(&b, 3, 1, 0);
	strn(&b, "a\0b", 3);
	u32_(&b, 1);
	u64_(&b, 16);
	u32_(&b, GQ_F32);
	u64_(&b, 0);
	pad(&b, 32);
	zeros(&b, 64);
	ok(rejects(&b, "NUL byte inside the name"), "a NUL in the name");

	hdr(&b, 3, 2, 0);
	ti(&b, "a", 1, ne, GQ_F32, 0);
	ti(&b, "b", 1, ne, GQ_F32, 32);
	pad(&b, 32);
	zeros(&b, 96);
	ok(rejects(&b, "tensor 1 (b) at offset 32 overlaps tensor 0 (a) at offset 0 (64 bytes)"), "overlapping tensors");
	hdr(&b, 3, 3, 0);
	ti(&b, "a", 1, ne, GQ_F32, 128);
	ti(&b, "b", 1, ne, GQ_F32, 0);
	ti(&b, "c", 1, ne, GQ_F32, 96);
	pad(&b, 32);
	zeros(&b, 192);
	ok(rejects(&b, "tensor 0 (a) at offset 128 overlaps tensor 2 (c) at offset 96"), "overlap out of file order");
	hdr(&b, 3, 2, 0);
	ti(&b, "a", 1, ne, GQ_F32, 64);
	ti(&b, "b", 1, ne, GQ_F32, 0);
	pad(&b, 32);
	zeros(&b, 128);
	ok(accepts(&b), "tensors out of order, not overlapping");
	hdr(&b, 3, 2, 0);
	ti(&b, "a", 1, ne, GQ_F32, 0);
	ti(&b, "a", 1, ne, GQ_F32, 64);
	pad(&b, 32);
	zeros(&b, 128);
	ok(rejects(&b, "tensor 1 (a): duplicate name, also tensor 0"), "duplicate tensor name");
	hdr(&b, 3, 1, 1);
	kv_u32(&b, "general.alignment", 64);
	ti(&b, "a", 1, ne, GQ_F32, 32);
	pad(&b, 64);
	zeros(&b, 128);
	ok(rejects(&b, "offset 32 is not a multiple of the alignment 64"), "general.alignment 64 applies to offsets");
	hdr(&b, 3, 1, 1);
	kv_u32(&b, "general.alignment", 64);
	ti(&b, "a", 1, ne, GQ_F32, 0);
	pad(&b, 32); /* the data placed at 96, as if the alignment were 32 */
	zeros(&b, 64);
	ok(rejects(&b, "run past the end"), "the data section starts at the alignment, not at 32");
	hdr(&b, 3, 1, 0);
	ti(&b, "a", 1, ne, GQ_F32, 0);
	pad(&b, 32);
	zeros(&b, 64 + 100);
	ok(accepts(&b), "bytes after the last tensor are no one's business");
}

/* ---- the writer refuses ---- */

static int wrejects(const struct gguf_out_kv *kv, int n, struct gguf_out_tensor *t, int nt, uint64_t al,
		    const char *has)
{
	struct gb_err err;
	uint64_t hl, fs;
	uint8_t *h = (uint8_t *)1;

	memset(&err, 0, sizeof(err));
	if (gguf_build_header(kv, n, t, nt, al, &h, &hl, &fs, &err) == 0) {
		printf("# accepted\n");
		free(h);
		return 0;
	}
	printf("# %s\n", err.msg);
	return !h && strstr(err.msg, has) && one_line(err.msg);
}

static void writer_refusals(void)
{
	static struct b v1, v2;
	struct gguf_out_kv kv[3];
	struct gguf_out_tensor t[2];
	static char name[300];

	memset(t, 0, sizeof(t));
	t[0] = (struct gguf_out_tensor){ "a", 1, { 32, 1, 1, 1 }, GQ_Q8_0, 34, 0 };
	t[1] = (struct gguf_out_tensor){ "b", 2, { 4, 2, 1, 1 }, GQ_F16, 16, 0 };
	reset(&v1);
	u32_(&v1, 64);
	reset(&v2);
	str(&v2, "hello");
	kv[0] = (struct gguf_out_kv){ "general.alignment", GGUF_T_U32, v1.p, v1.n };
	kv[1] = (struct gguf_out_kv){ "s", GGUF_T_STRING, v2.p, v2.n };

	ok(wrejects(NULL, 0, t, 2, 0, "alignment 0 is not a power of two"), "writer: alignment 0");
	ok(wrejects(NULL, 0, t, 2, 48, "alignment 48 is not a power of two"), "writer: alignment 48");
	ok(wrejects(NULL, 0, t, 2, 1ULL << 32, "not a power of two up to 2^31"), "writer: alignment 2^32");
	ok(wrejects(kv + 1, 1, t, 2, 64, "no general.alignment key"), "writer: alignment 64, no key saying so");
	ok(wrejects(kv, 2, t, 2, 128, "general.alignment is 64 but the header is laid out for 128"),
	   "writer: general.alignment disagrees");
	kv[2] = (struct gguf_out_kv){ "general.alignment", GGUF_T_I32, v1.p, v1.n };
	ok(wrejects(kv + 2, 1, t, 2, 64, "general.alignment is of type i32, not u32"), "writer: general.alignment an i32");
	kv[2] = (struct gguf_out_kv){ "s", GGUF_T_U32, v1.p, v1.n };
	ok(wrejects(kv, 3, t, 2, 64, "kv 2 (s): duplicate key, also kv 1"), "writer: duplicate key");
	kv[2] = (struct gguf_out_kv){ "x", GGUF_T_U32, v1.p, 5 };
	ok(wrejects(kv, 3, t, 2, 64, "kv 2 (x): the u32 value is 4 bytes, raw_len says 5"), "writer: raw_len too long");
	kv[2] = (struct gguf_out_kv){ "x", GGUF_T_STRING, v2.p, v2.n - 1 };
	ok(wrejects(kv, 3, t, 2, 64, "kv 2 (x): truncated: a string of 5 bytes"), "writer: raw_len too short");
	kv[2] = (struct gguf_out_kv){ "x", 13, v1.p, 4 };
	ok(wrejects(kv, 3, t, 2, 64, "unknown value type 13"), "writer: value type 13");
	kv[2] = (struct gguf_out_kv){ "", GGUF_T_U32, v1.p, 4 };
	ok(wrejects(kv, 3, t, 2, 64, "kv 2: empty key"), "writer: empty key");
	kv[2] = (struct gguf_out_kv){ "x", GGUF_T_U32, NULL, 4 };
	ok(wrejects(kv, 3, t, 2, 64, "kv 2 (x): no value"), "writer: no value");
	ok(wrejects(kv, 2, t, 2, 64, "") == 0, "writer: the good part is accepted");

	t[1].name = "a";
	ok(wrejects(kv, 2, t, 2, 64, "tensor 1 (a): duplicate name, also tensor 0"), "writer: duplicate name");
	t[1].name = "";
	ok(wrejects(kv, 2, t, 2, 64, "tensor 1: empty name"), "writer: empty name");
	memset(name, 'n', 256);
	t[1].name = name;
	ok(wrejects(kv, 2, t, 2, 64, "name longer than 255 bytes"), "writer: 256-byte name");
	t[1].name = "b";
	t[1].ndim = 0;
	ok(wrejects(kv, 2, t, 2, 64, "tensor 1 (b): n_dims 0 is not in 1..4"), "writer: n_dims 0");
	t[1].ndim = 5;
	ok(wrejects(kv, 2, t, 2, 64, "tensor 1 (b): n_dims 5 is not in 1..4"), "writer: n_dims 5");
	t[1].ndim = 2;
	t[1].ne[1] = 0;
	ok(wrejects(kv, 2, t, 2, 64, "tensor 1 (b): ne[1] is 0"), "writer: ne 0");
	t[1].ne[1] = 2;
	t[1].type = 4;
	ok(wrejects(kv, 2, t, 2, 64, "tensor 1 (b): unknown type 4"), "writer: type 4");
	t[1].type = GQ_F16;
	t[1].nbytes = 15;
	ok(wrejects(kv, 2, t, 2, 64, "nbytes 15, but 8 f16 elements take 16"), "writer: nbytes disagrees with the shape");
	t[1].nbytes = 16;
	t[0].ne[0] = 16;
	ok(wrejects(kv, 2, t, 2, 64, "ne[0] 16 is not a multiple of q8_0's block of 32"), "writer: a part block");
	t[0].ne[0] = 32;
	t[0].ne[0] = 1ULL << 33;
	t[0].ndim = 2;
	t[0].ne[1] = 1ULL << 31;
	ok(wrejects(kv, 2, t, 2, 64, "the element count overflows"), "writer: ne product 2^64");
}

/* ---- seeds for tests/fuzz/corpus/gguf ---- */

static int write_seed(const char *dir, const char *name, uint64_t al, uint32_t version,
		      const struct gguf_out_kv *kv, int n, struct gguf_out_tensor *t, int nt)
{
	char path[512];
	struct gb_err err;
	uint64_t hl, fs;
	uint8_t *h, *f;
	FILE *o;

	if (gguf_build_header(kv, n, t, nt, al, &h, &hl, &fs, &err) < 0) {
		fprintf(stderr, "t-gguf: %s: %s\n", name, err.msg);
		return -1;
	}
	f = assemble(h, hl, fs, t, nt);
	f[4] = (uint8_t)version;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	o = fopen(path, "wb");
	if (!o || fwrite(f, 1, fs, o) != fs || fclose(o)) {
		perror(path);
		return -1;
	}
	printf("%s: %llu bytes\n", path, (unsigned long long)fs);
	free(h);
	free(f);
	return 0;
}

static int seeds(const char *dir)
{
	struct gguf_out_tensor t[5] = {
		{ "token_embd.weight", 2, { 32, 4, 1, 1 }, GQ_Q8_0, 136, 0 },
		{ "blk.0.attn_norm.weight", 1, { 32, 1, 1, 1 }, GQ_F32, 128, 0 },
		{ "blk.0.ffn_down.weight", 2, { 256, 1, 1, 1 }, GQ_Q4_K, 144, 0 },
		{ "output.weight", 1, { 256, 1, 1, 1 }, GQ_Q6_K, 210, 0 },
		{ "x.bf16", 4, { 2, 2, 2, 2 }, GQ_BF16, 32, 0 },
	};
	struct b *v;
	int r = 0, i;
	float f;

	if (write_seed(dir, "empty", 32, 3, NULL, 0, NULL, 0) < 0)
		return 1;

	/* a tiny llama: the metadata a real one has, small tensors */
	nkv = 0;
	str(val("general.architecture", GGUF_T_STRING), "llama");
	str(val("general.name", GGUF_T_STRING), "seed");
	u32_(val("llama.block_count", GGUF_T_U32), 1);
	f = 1e-5f;
	put(val("llama.attention.layer_norm_rms_epsilon", GGUF_T_F32), &f, 4);
	u32_(val("general.file_type", GGUF_T_U32), 7);
	u32_(val("general.quantization_version", GGUF_T_U32), 2);
	str(val("tokenizer.ggml.model", GGUF_T_STRING), "llama");
	v = val("tokenizer.ggml.tokens", GGUF_T_ARRAY);
	arr(v, GGUF_T_STRING, 16);
	for (i = 0; i < 16; i++) {
		char tok[8];

		snprintf(tok, sizeof(tok), "t%d", i);
		str(v, tok);
	}
	v = val("tokenizer.ggml.scores", GGUF_T_ARRAY);
	arr(v, GGUF_T_F32, 16);
	for (i = 0; i < 16; i++) {
		f = -(float)i;
		put(v, &f, 4);
	}
	v = val("tokenizer.ggml.token_type", GGUF_T_ARRAY);
	arr(v, GGUF_T_I32, 16);
	for (i = 0; i < 16; i++)
		u32_(v, 1);
	u8_(val("tokenizer.ggml.add_bos_token", GGUF_T_BOOL), 1);
	seal();
	r |= write_seed(dir, "llama", 32, 3, okv, nkv, t, 5);

	/* version 2, alignment 64, a nested array and every scalar type */
	all_values(1, 64);
	/* the token list of all_values is big; keep the seed small */
	memmove(okv + 17, okv + 19, (nkv - 19) * sizeof(okv[0]));
	nkv -= 2;
	r |= write_seed(dir, "values-v2-align64", 64, 2, okv, nkv, t + 1, 2);
	/* what only a hand-made file has: tensors out of order with gaps,
	 * bytes after the last one */
	{
		static struct b b;
		uint64_t ne[2] = { 64, 2 };
		char path[512];
		FILE *o;

		hdr(&b, 3, 3, 1);
		kv_u32(&b, "general.alignment", 16);
		ti(&b, "late", 2, ne, GQ_Q8_0, 256);
		ti(&b, "early", 1, ne, GQ_F16, 0);
		ti(&b, "mid", 1, ne, GQ_I8, 160);
		pad(&b, 16);
		for (i = 0; i < 256 + 136 + 40; i++)
			u8_(&b, (uint8_t)(i * 13));
		snprintf(path, sizeof(path), "%s/gaps", dir);
		o = fopen(path, "wb");
		if (!o || fwrite(b.p, 1, b.n, o) != b.n || fclose(o))
			return 1;
		printf("%s: %zu bytes\n", path, b.n);
	}
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seeds"))
		return seeds(argv[2]);
	round_trips();
	opens();
	truncations();
	refusals();
	writer_refusals();
	return done();
}
