/*
 * mkmodel: write a tiny llama-architecture GGUF v3 model with random
 * weights, for gb-quant's tests.
 *
 * The file is what llama.cpp's loader asks of a llama model: the hparams it
 * reads without a default, every tensor LLM_ARCH_LLAMA creates (a missing or
 * extra one fails the load), u32 for every integer key (its loader checks the
 * GGUF type of each key it reads), and an SPM vocabulary whose byte tokens
 * include <0x0A>, the newline it looks up at load time.
 *
 * Every tensor's values come from its own stream, seeded from --seed and the
 * tensor's name, so a model of one --type is the same model as another of the
 * same seed, rounded, whatever --layers or --vocab say about the others; and
 * --jobs threads, each writing whole tensors at their offsets, write the same
 * file as one (bench/llama makes models of 13-30 GiB with it).
 *
 * Written independently of lib/quant: it is one half of the check on it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "mkmodel"
#define EXIT_USAGE 100
#define EXIT_SYS 111

#define USAGE "mkmodel [--type f32|f16|bf16] [--layers N] [--dim N] [--ff N] [--heads N] [--kv-heads N]\n" \
	"               [--vocab N] [--ctx N] [--seed N] [--alignment N] [--odd] [--jobs N] OUT.gguf"

/* GGUF metadata value types */
enum {
	GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL,
	GT_STRING, GT_ARRAY, GT_U64, GT_I64, GT_F64,
};

/* ggml tensor types this tool writes */
enum { T_F32 = 0, T_F16 = 1, T_BF16 = 30 };

/* tokens before the filler: <unk> <s> </s> and the 256 byte tokens */
#define N_FIXED_TOKENS (3 + 256)

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": fatal: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, PROG ": usage: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, PROG ": usage: " USAGE "\n");
	exit(EXIT_USAGE);
}

/* ---- a growable byte buffer, little-endian writers ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_put(struct buf *b, const void *src, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap - b->len < n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			die(EXIT_SYS, "unable to allocate %zu bytes: %s", cap, strerror(errno));
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
	uint8_t le[4];

	for (int i = 0; i < 4; i++)
		le[i] = v >> (8 * i);
	buf_put(b, le, 4);
}

static void put_u64(struct buf *b, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = v >> (8 * i);
	buf_put(b, le, 8);
}

static void put_f32(struct buf *b, float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	put_u32(b, u);
}

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	put_u64(b, n);
	buf_put(b, s, n);
}

static void put_pad(struct buf *b, size_t align)
{
	static const uint8_t zero[256];

	while (b->len % align) {
		size_t n = align - b->len % align;

		buf_put(b, zero, n < sizeof zero ? n : sizeof zero);
	}
}

/* ---- metadata ---- */

struct kvs {
	struct buf b;
	uint64_t n;
};

static void kv_key(struct kvs *kv, const char *key, uint32_t type)
{
	put_str(&kv->b, key);
	put_u32(&kv->b, type);
	kv->n++;
}

static void kv_u32(struct kvs *kv, const char *key, uint32_t v)
{
	kv_key(kv, key, GT_U32);
	put_u32(&kv->b, v);
}

static void kv_f32(struct kvs *kv, const char *key, float v)
{
	kv_key(kv, key, GT_F32);
	put_f32(&kv->b, v);
}

static void kv_str(struct kvs *kv, const char *key, const char *v)
{
	kv_key(kv, key, GT_STRING);
	put_str(&kv->b, v);
}

static void kv_arr(struct kvs *kv, const char *key, uint32_t elem_type, uint64_t n)
{
	kv_key(kv, key, GT_ARRAY);
	put_u32(&kv->b, elem_type);
	put_u64(&kv->b, n);
}

/*
 * Filler token i: a distinct lowercase word, every other one with the
 * SentencePiece word-start mark U+2581, so the vocabulary looks like one.
 */
static void filler_token(uint32_t i, char *out, size_t outsz)
{
	char word[16];
	size_t n = 0, k = 0;
	uint32_t v = i / 2;

	/* bijective base 26: a..z, aa..zz, ... */
	do {
		word[n++] = 'a' + v % 26;
		v = v / 26;
	} while (v-- > 0 && n < sizeof word);
	if (i % 2 == 0) {
		memcpy(out, "\xe2\x96\x81", 3);
		k = 3;
	}
	while (n > 0 && k + 1 < outsz)
		out[k++] = word[--n];
	out[k] = '\0';
}

static void add_vocab(struct kvs *kv, uint32_t vocab)
{
	char tok[32];

	kv_str(kv, "tokenizer.ggml.model", "llama");

	kv_arr(kv, "tokenizer.ggml.tokens", GT_STRING, vocab);
	put_str(&kv->b, "<unk>");
	put_str(&kv->b, "<s>");
	put_str(&kv->b, "</s>");
	for (uint32_t i = 0; i < 256; i++) {
		snprintf(tok, sizeof tok, "<0x%02X>", i);
		put_str(&kv->b, tok);
	}
	for (uint32_t i = N_FIXED_TOKENS; i < vocab; i++) {
		filler_token(i - N_FIXED_TOKENS, tok, sizeof tok);
		put_str(&kv->b, tok);
	}

	/* SPM merges the highest-scoring pair first: shorter ids score higher */
	kv_arr(kv, "tokenizer.ggml.scores", GT_F32, vocab);
	for (uint32_t i = 0; i < vocab; i++)
		put_f32(&kv->b, i < N_FIXED_TOKENS ? 0.0f : (float)N_FIXED_TOKENS - (float)i);

	/* llama_token_type: 1 normal, 2 unknown, 3 control, 6 byte */
	kv_arr(kv, "tokenizer.ggml.token_type", GT_I32, vocab);
	for (uint32_t i = 0; i < vocab; i++)
		put_u32(&kv->b, i == 0 ? 2 : i < 3 ? 3 : i < N_FIXED_TOKENS ? 6 : 1);

	kv_u32(kv, "tokenizer.ggml.bos_token_id", 1);
	kv_u32(kv, "tokenizer.ggml.eos_token_id", 2);
	kv_u32(kv, "tokenizer.ggml.unknown_token_id", 0);
}

/* ---- deterministic gaussians: splitmix64 and Box-Muller ---- */

struct rng {
	uint64_t s;
	int have_spare;
	double spare;
};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in (0, 1]: never 0, so log() below is finite */
static double uniform(struct rng *r)
{
	return ((splitmix64(&r->s) >> 11) + 1) * 0x1.0p-53;
}

static double gauss(struct rng *r)
{
	double u1, u2, rad;

	if (r->have_spare) {
		r->have_spare = 0;
		return r->spare;
	}
	u1 = uniform(r);
	u2 = uniform(r);
	rad = sqrt(-2.0 * log(u1));
	r->spare = rad * sin(2.0 * M_PI * u2);
	r->have_spare = 1;
	return rad * cos(2.0 * M_PI * u2);
}

static void rng_init(struct rng *r, uint64_t seed, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	r->s = seed ^ h;
	splitmix64(&r->s);
	r->have_spare = 0;
}

/* ---- float conversions, round to nearest even ---- */

static uint16_t f32_to_f16(float f)
{
	uint32_t x, sign, exp, man, h, rem;
	int e;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	exp = (x >> 23) & 0xff;
	man = x & 0x7fffff;
	if (exp == 0xff)
		return sign | 0x7c00 | (man ? 0x200 : 0);
	e = (int)exp - 127 + 15;
	if (e >= 31)
		return sign | 0x7c00;
	if (e <= 0) {
		/* half subnormal: units of 2^-24 */
		uint32_t m = man | 0x800000, shift = 14 - e, q;

		if (exp == 0 || shift > 24)
			return sign;
		q = m >> shift;
		rem = m & ((1u << shift) - 1);
		if (rem > (1u << (shift - 1)) || (rem == (1u << (shift - 1)) && (q & 1)))
			q++;
		return sign | q;
	}
	h = ((uint32_t)e << 10) | (man >> 13);
	rem = man & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++; /* a carry into the exponent is still right, up to inf */
	return sign | h;
}

static uint16_t f32_to_bf16(float f)
{
	uint32_t x;

	memcpy(&x, &f, 4);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (x >> 16) | 0x40;
	return (x + 0x7fff + ((x >> 16) & 1)) >> 16;
}

/* ---- the model ---- */

struct opts {
	uint32_t type;
	uint32_t layers, dim, ff, heads, kv_heads, vocab, ctx;
	uint64_t seed;
	uint32_t alignment; /* 0: not written, 32 used */
	int odd;
	uint32_t jobs;
	const char *out;
};

struct tensor {
	char name[64];
	uint32_t type;
	uint64_t ne0, ne1; /* ne1 == 0: one dimension */
	int norm;          /* values near 1, not near 0 */
	uint64_t offset, nbytes;
};

static uint32_t type_size(uint32_t t)
{
	return t == T_F32 ? 4 : 2;
}

static void add_tensor(struct tensor *t, size_t *n, const char *name, uint32_t type,
	uint64_t ne0, uint64_t ne1, int norm)
{
	struct tensor *p = &t[(*n)++];

	snprintf(p->name, sizeof p->name, "%s", name);
	p->type = type;
	p->ne0 = ne0;
	p->ne1 = ne1;
	p->norm = norm;
	p->nbytes = ne0 * (ne1 ? ne1 : 1) * type_size(type);
}

/* the next n values of t, as stored, into out; r carries the tensor's
 * stream from one call to the next */
static void fill_values(const struct tensor *t, struct rng *r, uint64_t n, uint8_t *out)
{
	for (uint64_t i = 0; i < n; i++) {
		float v = t->norm ? (float)(1.0 + 0.05 * gauss(r)) : (float)(0.02 * gauss(r));
		uint32_t u;
		uint16_t h;

		switch (t->type) {
		case T_F32:
			memcpy(&u, &v, 4);
			for (int k = 0; k < 4; k++)
				*out++ = u >> (8 * k);
			break;
		case T_F16:
			h = f32_to_f16(v);
			*out++ = h & 0xff;
			*out++ = h >> 8;
			break;
		default:
			h = f32_to_bf16(v);
			*out++ = h & 0xff;
			*out++ = h >> 8;
			break;
		}
	}
}

static void pwrite_all(int fd, const void *p, size_t n, uint64_t off, const char *path)
{
	const uint8_t *c = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_SYS, "unable to write %s: %s", path, strerror(errno));
		}
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
}

/* the tensors' data, by --jobs threads taking whole tensors in turn */
struct writer {
	const struct opts *o;
	const struct tensor *t;
	size_t nt;
	uint64_t data_off;
	int fd;
	const char *path;
	_Atomic size_t next;
};

#define CHUNK_VALUES (1u << 20)

static void *write_tensors(void *arg)
{
	struct writer *w = arg;
	uint8_t *chunk = malloc((size_t)CHUNK_VALUES * 4);
	size_t i;

	if (!chunk)
		die(EXIT_SYS, "unable to allocate: %s", strerror(errno));
	while ((i = atomic_fetch_add(&w->next, 1)) < w->nt) {
		const struct tensor *t = &w->t[i];
		uint64_t n = t->ne0 * (t->ne1 ? t->ne1 : 1), done = 0, off = w->data_off + t->offset;
		struct rng r;

		rng_init(&r, w->o->seed, t->name);
		while (done < n) {
			uint64_t k = n - done < CHUNK_VALUES ? n - done : CHUNK_VALUES;
			size_t bytes = (size_t)k * type_size(t->type);

			fill_values(t, &r, k, chunk);
			pwrite_all(w->fd, chunk, bytes, off, w->path);
			off += bytes;
			done += k;
		}
	}
	free(chunk);
	return NULL;
}

static void build(const struct opts *o)
{
	uint32_t kv_dim = o->dim / o->heads * o->kv_heads;
	uint32_t align = o->alignment ? o->alignment : 32;
	size_t nt = 0, maxt = 3 + 9 * (size_t)o->layers;
	struct tensor *t = calloc(maxt, sizeof *t);
	struct kvs kv = { 0 };
	struct buf hdr = { 0 };
	char name[64], *tmp;
	uint64_t off = 0;
	int fd;

	if (!t)
		die(EXIT_SYS, "unable to allocate: %s", strerror(errno));

	/* shapes in ggml order: ne0 is the row length, the input dimension */
	add_tensor(t, &nt, "token_embd.weight", o->type, o->dim, o->vocab, 0);
	add_tensor(t, &nt, "output_norm.weight", T_F32, o->dim, 0, 1);
	add_tensor(t, &nt, "output.weight", o->type, o->dim, o->vocab, 0);
	for (uint32_t l = 0; l < o->layers; l++) {
		static const struct {
			const char *suffix;
			int in, out; /* 0 dim, 1 kv_dim, 2 ff; -1 no second dimension */
			int norm;
		} L[] = {
			{ "attn_norm", 0, -1, 1 },
			{ "attn_q", 0, 0, 0 },
			{ "attn_k", 0, 1, 0 },
			{ "attn_v", 0, 1, 0 },
			{ "attn_output", 0, 0, 0 },
			{ "ffn_norm", 0, -1, 1 },
			{ "ffn_gate", 0, 2, 0 },
			{ "ffn_up", 0, 2, 0 },
			{ "ffn_down", 2, 0, 0 },
		};
		uint32_t dims[3] = { o->dim, kv_dim, o->ff };

		for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
			snprintf(name, sizeof name, "blk.%u.%s.weight", l, L[i].suffix);
			add_tensor(t, &nt, name, L[i].norm ? T_F32 : o->type, dims[L[i].in],
				L[i].out < 0 ? 0 : dims[L[i].out], L[i].norm);
		}
	}

	kv_str(&kv, "general.architecture", "llama");
	kv_str(&kv, "general.name", "greenboost-mkmodel");
	kv_u32(&kv, "general.file_type", o->type == T_F32 ? 0 : o->type == T_F16 ? 1 : 32);
	if (o->alignment)
		kv_u32(&kv, "general.alignment", o->alignment);
	kv_u32(&kv, "llama.context_length", o->ctx);
	kv_u32(&kv, "llama.embedding_length", o->dim);
	kv_u32(&kv, "llama.block_count", o->layers);
	kv_u32(&kv, "llama.feed_forward_length", o->ff);
	kv_u32(&kv, "llama.attention.head_count", o->heads);
	kv_u32(&kv, "llama.attention.head_count_kv", o->kv_heads);
	kv_u32(&kv, "llama.rope.dimension_count", o->dim / o->heads);
	kv_f32(&kv, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	kv_u32(&kv, "llama.vocab_size", o->vocab);
	add_vocab(&kv, o->vocab);

	buf_put(&hdr, "GGUF", 4);
	put_u32(&hdr, 3);
	put_u64(&hdr, nt);
	put_u64(&hdr, kv.n);
	buf_put(&hdr, kv.b.p, kv.b.len);
	for (size_t i = 0; i < nt; i++) {
		put_str(&hdr, t[i].name);
		put_u32(&hdr, t[i].ne1 ? 2 : 1);
		put_u64(&hdr, t[i].ne0);
		if (t[i].ne1)
			put_u64(&hdr, t[i].ne1);
		put_u32(&hdr, t[i].type);
		/* offsets follow one another, each padded: ggml's reader insists */
		t[i].offset = off;
		put_u64(&hdr, off);
		off += (t[i].nbytes + align - 1) / align * align;
	}
	put_pad(&hdr, align);

	if (asprintf(&tmp, "%s.tmp.XXXXXX", o->out) < 0)
		die(EXIT_SYS, "unable to allocate: %s", strerror(errno));
	fd = mkstemp(tmp);
	if (fd < 0)
		die(EXIT_SYS, "unable to create %s: %s", tmp, strerror(errno));
	/* the padding after each tensor is the file's own zeros */
	if (ftruncate(fd, (off_t)(hdr.len + off)) < 0)
		die(EXIT_SYS, "unable to size %s: %s", tmp, strerror(errno));
	pwrite_all(fd, hdr.p, hdr.len, 0, tmp);
	{
		struct writer w = { .o = o, .t = t, .nt = nt, .data_off = hdr.len, .fd = fd, .path = tmp };
		uint32_t jobs = o->jobs < nt ? o->jobs : (uint32_t)nt;
		pthread_t *th = calloc(jobs, sizeof *th);
		int e;

		if (!th)
			die(EXIT_SYS, "unable to allocate: %s", strerror(errno));
		for (uint32_t j = 1; j < jobs; j++)
			if ((e = pthread_create(&th[j], NULL, write_tensors, &w)) != 0)
				die(EXIT_SYS, "unable to start a thread: %s", strerror(e));
		write_tensors(&w);
		for (uint32_t j = 1; j < jobs; j++)
			pthread_join(th[j], NULL);
		free(th);
	}
	if (fchmod(fd, 0644) < 0)
		die(EXIT_SYS, "unable to chmod %s: %s", tmp, strerror(errno));
	if (close(fd) < 0)
		die(EXIT_SYS, "unable to write %s: %s", tmp, strerror(errno));
	if (rename(tmp, o->out) < 0) {
		int e = errno;

		unlink(tmp);
		die(EXIT_SYS, "unable to rename %s to %s: %s", tmp, o->out, strerror(e));
	}
	free(tmp);
	free(hdr.p);
	free(kv.b.p);
	free(t);
}

static uint64_t parse_num(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s)
		die_usage("%s needs a value", opt);
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		die_usage("%s: invalid value '%s' (%llu to %llu)", opt, s,
			(unsigned long long)min, (unsigned long long)max);
	return v;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.type = T_F32, .layers = 2, .heads = 4, .kv_heads = 2, .vocab = 512,
		.ctx = 512, .seed = 1,
	};
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = argv[i + 1];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: " USAGE "\n");
			return 0;
		} else if (!strcmp(a, "--type")) {
			if (!v)
				die_usage("--type needs a value");
			if (!strcmp(v, "f32"))
				o.type = T_F32;
			else if (!strcmp(v, "f16"))
				o.type = T_F16;
			else if (!strcmp(v, "bf16"))
				o.type = T_BF16;
			else
				die_usage("--type: unknown type '%s' (f32, f16 or bf16)", v);
			i++;
		} else if (!strcmp(a, "--layers")) {
			o.layers = parse_num(a, v, 1, 1000), i++;
		} else if (!strcmp(a, "--dim")) {
			o.dim = parse_num(a, v, 1, 65536), i++;
		} else if (!strcmp(a, "--ff")) {
			o.ff = parse_num(a, v, 1, 262144), i++;
		} else if (!strcmp(a, "--heads")) {
			o.heads = parse_num(a, v, 1, 1024), i++;
		} else if (!strcmp(a, "--kv-heads")) {
			o.kv_heads = parse_num(a, v, 1, 1024), i++;
		} else if (!strcmp(a, "--vocab")) {
			o.vocab = parse_num(a, v, N_FIXED_TOKENS, 1u << 20), i++;
		} else if (!strcmp(a, "--ctx")) {
			o.ctx = parse_num(a, v, 1, UINT32_MAX), i++;
		} else if (!strcmp(a, "--seed")) {
			o.seed = parse_num(a, v, 0, UINT64_MAX), i++;
		} else if (!strcmp(a, "--alignment")) {
			o.alignment = parse_num(a, v, 1, 1u << 20), i++;
			if (o.alignment & (o.alignment - 1))
				die_usage("--alignment: %u is not a power of 2", o.alignment);
		} else if (!strcmp(a, "--jobs") || !strcmp(a, "-j")) {
			o.jobs = parse_num(a, v, 1, 1024), i++;
		} else if (!strcmp(a, "--odd")) {
			o.odd = 1;
		} else if (a[0] == '-' && a[1]) {
			die_usage("unknown option '%s'", a);
		} else if (o.out) {
			die_usage("one output file only");
		} else {
			o.out = a;
		}
	}
	if (!o.out)
		die_usage(NULL);
	if (!o.jobs)
		o.jobs = 1;

	/* --odd: rows a whole number of 32-blocks but not of 256-superblocks */
	if (!o.dim)
		o.dim = o.odd ? 96 : 256;
	if (!o.ff)
		o.ff = o.odd ? 160 : 512;
	if (o.dim % o.heads)
		die_usage("--dim %u is not a multiple of --heads %u", o.dim, o.heads);
	if ((o.dim / o.heads) % 2)
		die_usage("head size %u (dim/heads) must be even for RoPE", o.dim / o.heads);
	if (o.heads % o.kv_heads)
		die_usage("--heads %u is not a multiple of --kv-heads %u", o.heads, o.kv_heads);

	build(&o);
	return 0;
}
