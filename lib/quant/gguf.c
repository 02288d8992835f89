/*
 * The GGUF reader.  A file is checked from end to end before anyone looks
 * at it: every length against the bytes left, every count against what
 * those bytes could hold, every product for overflow.  Only keys and names
 * are copied; values stay encoded where they lie, so that the writer can
 * pass them on byte for byte.
 *
 * Tables grow as entries are actually read, never from a count the file
 * claims: a 20-byte file saying it has 2^60 tensors costs nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quant.h"
#include "gguf_int.h"

/* gguf.md allows keys of up to 2^16-1 bytes; ggml itself stops tensor
 * names at 63 (GGML_MAX_NAME 64 with the NUL), other writers go further,
 * so take what is plainly a name */
#define GGUF_KEY_MAX 65535
#define GGUF_NAME_MAX 255
/* arrays of arrays: the spec has them, no writer nests deep; the bound
 * keeps a hostile file from taking the stack */
#define GGUF_NEST_MAX 16
/* the least a key/value and a tensor info can take: a one-byte key and a
 * u8 value; a one-byte name, one dimension */
#define KV_MIN (8 + 1 + 4 + 1)
#define TI_MIN (8 + 1 + 4 + 8 + 4 + 8)

/* the size of each fixed-size value type; 0 for string and array */
static const uint8_t vsize[] = {
	[GGUF_T_U8] = 1, [GGUF_T_I8] = 1, [GGUF_T_U16] = 2, [GGUF_T_I16] = 2,
	[GGUF_T_U32] = 4, [GGUF_T_I32] = 4, [GGUF_T_F32] = 4, [GGUF_T_BOOL] = 1,
	[GGUF_T_STRING] = 0, [GGUF_T_ARRAY] = 0,
	[GGUF_T_U64] = 8, [GGUF_T_I64] = 8, [GGUF_T_F64] = 8,
};

static const char *const vnames[] = {
	"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

const char *gguf_vtype_name(uint32_t t)
{
	return t <= GGUF_T_F64 ? vnames[t] : "unknown";
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/*
 * Names come from the file: control bytes would break the one-line
 * message, and a 64 KiB key would fill it.  Shared with gguf_write.c.
 */
const char *gguf__show(const void *s, uint64_t len, char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = s;
	size_t j = 0;
	uint64_t i;

	for (i = 0; i < len && j + 8 < n && i < 80; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			buf[j++] = '\\';
			buf[j++] = 'x';
			buf[j++] = hex[p[i] >> 4];
			buf[j++] = hex[p[i] & 15];
		} else {
			buf[j++] = (char)p[i];
		}
	}
	if (i < len) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j] = 0;
	return buf;
}

/* a key (is_key) or a tensor name: why is a phrase for a message */
int gguf__name_check(const void *s, uint64_t len, int is_key, const char **why)
{
	if (!len) {
		*why = is_key ? "empty key" : "empty name";
		return -1;
	}
	if (len > (is_key ? GGUF_KEY_MAX : GGUF_NAME_MAX)) {
		*why = is_key ? "key longer than 65535 bytes" : "name longer than 255 bytes";
		return -1;
	}
	if (memchr(s, 0, len)) {
		*why = is_key ? "NUL byte inside the key" : "NUL byte inside the name";
		return -1;
	}
	return 0;
}

/* "element [5]: " before what went wrong inside an array; nested,
 * "element [0][5]: " */
static void in_element(char *why, size_t n, uint64_t i)
{
	char tmp[768];
	int inner = !strncmp(why, "element [", 9);

	snprintf(tmp, sizeof(tmp), "%s", inner ? why + 8 : why);
	snprintf(why, n, "element [%" PRIu64 "]%s%s", i, inner ? "" : ": ", tmp);
}

static int value_len(uint32_t t, const uint8_t *p, uint64_t len, uint64_t at, int depth,
		     uint64_t *used, char *why, size_t n)
{
	uint64_t cnt, off, i, u, min;
	uint32_t et;

	if (t > GGUF_T_F64) {
		snprintf(why, n, "unknown value type %" PRIu32, t);
		return -1;
	}
	if (vsize[t]) {
		if (len < vsize[t]) {
			snprintf(why, n, "truncated: a %s at offset %" PRIu64 " needs %u bytes, %" PRIu64 " left",
				 vnames[t], at, vsize[t], len);
			return -1;
		}
		*used = vsize[t];
		return 0;
	}
	if (t == GGUF_T_STRING) {
		if (len < 8) {
			snprintf(why, n, "truncated: a string length at offset %" PRIu64 " needs 8 bytes, %" PRIu64 " left",
				 at, len);
			return -1;
		}
		cnt = le64(p);
		if (cnt > len - 8) {
			snprintf(why, n, "truncated: a string of %" PRIu64 " bytes at offset %" PRIu64 ", %" PRIu64 " left",
				 cnt, at + 8, len - 8);
			return -1;
		}
		*used = 8 + cnt;
		return 0;
	}
	if (depth >= GGUF_NEST_MAX) {
		snprintf(why, n, "arrays nested more than %d deep", GGUF_NEST_MAX);
		return -1;
	}
	if (len < 12) {
		snprintf(why, n, "truncated: an array header at offset %" PRIu64 " needs 12 bytes, %" PRIu64 " left",
			 at, len);
		return -1;
	}
	et = le32(p);
	cnt = le64(p + 4);
	if (et > GGUF_T_F64) {
		snprintf(why, n, "unknown array element type %" PRIu32, et);
		return -1;
	}
	/* checked against the least each element takes before walking them,
	 * so the walk is bounded by the bytes there are */
	min = vsize[et] ? vsize[et] : et == GGUF_T_STRING ? 8 : 12;
	if (cnt > (len - 12) / min) {
		snprintf(why, n, "truncated: an array of %" PRIu64 " %s values at offset %" PRIu64 " cannot fit in the %" PRIu64 " bytes left",
			 cnt, vnames[et], at, len - 12);
		return -1;
	}
	off = 12;
	if (vsize[et]) {
		*used = off + cnt * vsize[et];
		return 0;
	}
	for (i = 0; i < cnt; i++) {
		if (et == GGUF_T_STRING) {
			/* the common case (token lists of 100k+ entries), inline */
			if (len - off < 8 || (u = le64(p + off)) > len - off - 8) {
				value_len(et, p + off, len - off, at + off, depth + 1, &u, why, n);
				in_element(why, n, i);
				return -1;
			}
			off += 8 + u;
			continue;
		}
		if (value_len(et, p + off, len - off, at + off, depth + 1, &u, why, n) < 0) {
			in_element(why, n, i);
			return -1;
		}
		off += u;
	}
	*used = off;
	return 0;
}

/* The length of one encoded value of type t at p (len bytes there, at is
 * its offset for messages).  Shared with gguf_write.c. */
int gguf__value_len(uint32_t t, const void *p, uint64_t len, uint64_t at, uint64_t *used,
		    char *why, size_t n)
{
	return value_len(t, p, len, at, 0, used, why, n);
}

/* ---- the reader ---- */

struct cur {
	const uint8_t *p;
	uint64_t size, off;
	char ctx[160];          /* "kv 3 (general.name)", "tensor 12 (blk.0.attn_q.weight)" */
	struct gb_err *err;
};

static int need(struct cur *c, uint64_t n, const char *what)
{
	if (c->size - c->off >= n)
		return 0;
	return gb_err_set(c->err, "%s: truncated: %s at offset %" PRIu64 " needs %" PRIu64 " bytes, %" PRIu64 " left",
		    c->ctx, what, c->off, n, c->size - c->off);
}

static int rd32(struct cur *c, uint32_t *v, const char *what)
{
	if (need(c, 4, what) < 0)
		return -1;
	*v = le32(c->p + c->off);
	c->off += 4;
	return 0;
}

static int rd64(struct cur *c, uint64_t *v, const char *what)
{
	if (need(c, 8, what) < 0)
		return -1;
	*v = le64(c->p + c->off);
	c->off += 8;
	return 0;
}

/* a key or a name: a malloc'd NUL-terminated copy */
static int rdname(struct cur *c, int is_key, char **out)
{
	const char *why;
	uint64_t len;
	char show[400];

	if (rd64(c, &len, is_key ? "the key length" : "the name length") < 0)
		return -1;
	if (len > c->size - c->off)
		return gb_err_set(c->err, "%s: truncated: a %s of %" PRIu64 " bytes at offset %" PRIu64 ", %" PRIu64 " left",
			    c->ctx, is_key ? "key" : "name", len, c->off, c->size - c->off);
	if (gguf__name_check(c->p + c->off, len, is_key, &why) < 0)
		return gb_err_set(c->err, "%s: %s%s%s", c->ctx, why, len ? ": " : "",
			    gguf__show(c->p + c->off, len, show, sizeof(show)));
	*out = malloc(len + 1);
	if (!*out)
		return gb_err_set(c->err, "%s: out of memory", c->ctx);
	memcpy(*out, c->p + c->off, len);
	(*out)[len] = 0;
	c->off += len;
	return 0;
}

/* room for one more entry, doubling: the table follows what was read */
static int grow(void **v, uint64_t *cap, uint64_t n, size_t sz, struct gb_err *err)
{
	uint64_t nc;
	void *t;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	if (nc > SIZE_MAX / sz || !(t = realloc(*v, nc * sz)))
		return gb_err_set(err, "out of memory");
	*v = t;
	*cap = nc;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct gguf_kv *x = *(const struct gguf_kv *const *)a, *y = *(const struct gguf_kv *const *)b;
	int r = strcmp(x->key, y->key);

	return r ? r : (x > y) - (x < y);
}

static int cmp_name(const void *a, const void *b)
{
	const struct gguf_tensor *x = *(const struct gguf_tensor *const *)a;
	const struct gguf_tensor *y = *(const struct gguf_tensor *const *)b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x > y) - (x < y);
}

static int cmp_off(const void *a, const void *b)
{
	const struct gguf_tensor *x = *(const struct gguf_tensor *const *)a;
	const struct gguf_tensor *y = *(const struct gguf_tensor *const *)b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return (x > y) - (x < y);
}

static int parse_kv(struct cur *c, uint64_t i, struct gguf_kv *kv)
{
	char show[400], why[600];
	uint64_t used;

	snprintf(c->ctx, sizeof(c->ctx), "kv %" PRIu64, i);
	if (rdname(c, 1, &kv->key) < 0)
		return -1;
	snprintf(c->ctx, sizeof(c->ctx), "kv %" PRIu64 " (%s)", i,
		 gguf__show(kv->key, strlen(kv->key), show, sizeof(show)));
	if (rd32(c, &kv->type, "the value type") < 0)
		return -1;
	if (value_len(kv->type, c->p + c->off, c->size - c->off, c->off, 0, &used, why, sizeof(why)) < 0)
		return gb_err_set(c->err, "%s: %s", c->ctx, why);
	kv->raw = c->p + c->off;
	kv->raw_len = used;
	if (kv->type == GGUF_T_ARRAY) {
		kv->arr_type = le32(kv->raw);
		kv->arr_n = le64(kv->raw + 4);
	}
	c->off += used;
	return 0;
}

static int parse_tensor(struct cur *c, uint64_t i, uint64_t align, struct gguf_tensor *t)
{
	const struct gq_type_info *ti;
	char show[400];
	uint32_t d;

	snprintf(c->ctx, sizeof(c->ctx), "tensor %" PRIu64, i);
	if (rdname(c, 0, &t->name) < 0)
		return -1;
	snprintf(c->ctx, sizeof(c->ctx), "tensor %" PRIu64 " (%s)", i,
		 gguf__show(t->name, strlen(t->name), show, sizeof(show)));
	if (rd32(c, &t->ndim, "n_dims") < 0)
		return -1;
	if (t->ndim < 1 || t->ndim > GGUF_MAX_DIMS)
		return gb_err_set(c->err, "%s: n_dims %" PRIu32 " is not in 1..%d", c->ctx, t->ndim, GGUF_MAX_DIMS);
	t->nelem = 1;
	for (d = 0; d < GGUF_MAX_DIMS; d++) {
		t->ne[d] = 1;
		if (d >= t->ndim)
			continue;
		if (rd64(c, &t->ne[d], "a dimension") < 0)
			return -1;
		if (!t->ne[d])
			return gb_err_set(c->err, "%s: ne[%" PRIu32 "] is 0", c->ctx, d);
		/* ggml counts elements in int64_t, and so do the quantizers */
		if (__builtin_mul_overflow(t->nelem, t->ne[d], &t->nelem) || t->nelem > INT64_MAX)
			return gb_err_set(c->err, "%s: the element count overflows at ne[%" PRIu32 "] = %" PRIu64,
				    c->ctx, d, t->ne[d]);
	}
	if (rd32(c, &t->type, "the type") < 0)
		return -1;
	ti = gq_type(t->type);
	if (!ti)
		return gb_err_set(c->err, "%s: unknown type %" PRIu32, c->ctx, t->type);
	if (t->ne[0] % ti->blck)
		return gb_err_set(c->err, "%s: ne[0] %" PRIu64 " is not a multiple of %s's block of %" PRIu32,
			    c->ctx, t->ne[0], ti->name, ti->blck);
	if (gq_nbytes(t->type, t->nelem, &t->nbytes) < 0)
		return gb_err_set(c->err, "%s: the size of %" PRIu64 " %s elements overflows", c->ctx, t->nelem, ti->name);
	if (rd64(c, &t->offset, "the data offset") < 0)
		return -1;
	if (t->offset % align)
		return gb_err_set(c->err, "%s: offset %" PRIu64 " is not a multiple of the alignment %" PRIu64,
			    c->ctx, t->offset, align);
	return 0;
}

static void release(struct gguf *g, uint64_t nkv, uint64_t nt)
{
	uint64_t i;

	if (g->kv)
		for (i = 0; i < nkv; i++)
			free(g->kv[i].key);
	if (g->tensor)
		for (i = 0; i < nt; i++)
			free(g->tensor[i].name);
	free(g->kv);
	free(g->tensor);
	g->kv = NULL;
	g->tensor = NULL;
}

static int find_alignment(struct gguf *g, struct gb_err *err)
{
	const struct gguf_kv *kv = gguf_get(g, "general.alignment");
	uint32_t a;

	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	if (!kv)
		return 0;
	/* ggml reads it as a u32 and nothing else */
	if (kv->type != GGUF_T_U32)
		return gb_err_set(err, "general.alignment is of type %s, not u32", gguf_vtype_name(kv->type));
	a = le32(kv->raw);
	if (!a || (a & (a - 1)))
		return gb_err_set(err, "general.alignment %" PRIu32 " is not a power of two", a);
	g->alignment = a;
	return 0;
}

static int check_unique_keys(struct gguf *g, struct gb_err *err)
{
	const struct gguf_kv **ix;
	char show[400];
	uint64_t i;

	if (g->n_kv < 2)
		return 0;
	ix = malloc(g->n_kv * sizeof(*ix));
	if (!ix)
		return gb_err_set(err, "out of memory");
	for (i = 0; i < g->n_kv; i++)
		ix[i] = &g->kv[i];
	qsort(ix, g->n_kv, sizeof(*ix), cmp_key);
	for (i = 1; i < g->n_kv; i++)
		if (!strcmp(ix[i - 1]->key, ix[i]->key)) {
			gb_err_set(err, "kv %td (%s): duplicate key, also kv %td", ix[i] - g->kv,
			     gguf__show(ix[i]->key, strlen(ix[i]->key), show, sizeof(show)), ix[i - 1] - g->kv);
			free(ix);
			return -1;
		}
	free(ix);
	return 0;
}

static int check_tensors(struct gguf *g, struct gb_err *err)
{
	const struct gguf_tensor **ix;
	char s1[400], s2[400];
	uint64_t i, avail;
	int r = -1;

	/* with no tensors a writer may stop short of the padding; there is
	 * nothing there to read */
	avail = g->data_off <= g->size ? g->size - g->data_off : 0;
	for (i = 0; i < g->n_tensors; i++) {
		struct gguf_tensor *t = &g->tensor[i];

		if (t->offset > avail || t->nbytes > avail - t->offset)
			return gb_err_set(err, "tensor %" PRIu64 " (%s): %" PRIu64 " bytes at offset %" PRIu64
				    " run past the end of the file (data section of %" PRIu64 " bytes at %" PRIu64 ")",
				    i, gguf__show(t->name, strlen(t->name), s1, sizeof(s1)), t->nbytes, t->offset,
				    avail, g->data_off);
		t->data = g->base + g->data_off + t->offset;
	}
	if (g->n_tensors < 2)
		return 0;
	ix = malloc(g->n_tensors * sizeof(*ix));
	if (!ix)
		return gb_err_set(err, "out of memory");
	for (i = 0; i < g->n_tensors; i++)
		ix[i] = &g->tensor[i];
	qsort(ix, g->n_tensors, sizeof(*ix), cmp_name);
	for (i = 1; i < g->n_tensors; i++)
		if (!strcmp(ix[i - 1]->name, ix[i]->name)) {
			gb_err_set(err, "tensor %td (%s): duplicate name, also tensor %td", ix[i] - g->tensor,
			     gguf__show(ix[i]->name, strlen(ix[i]->name), s1, sizeof(s1)), ix[i - 1] - g->tensor);
			goto out;
		}
	qsort(ix, g->n_tensors, sizeof(*ix), cmp_off);
	for (i = 1; i < g->n_tensors; i++) {
		const struct gguf_tensor *a = ix[i - 1], *b = ix[i];

		if (a->offset + a->nbytes > b->offset) {
			gb_err_set(err, "tensor %td (%s) at offset %" PRIu64 " overlaps tensor %td (%s) at offset %"
			     PRIu64 " (%" PRIu64 " bytes)",
			     b - g->tensor, gguf__show(b->name, strlen(b->name), s1, sizeof(s1)), b->offset,
			     a - g->tensor, gguf__show(a->name, strlen(a->name), s2, sizeof(s2)), a->offset,
			     a->nbytes);
			goto out;
		}
	}
	r = 0;
out:
	free(ix);
	return r;
}

int gguf_parse(struct gguf *g, const void *buf, size_t size, struct gb_err *err)
{
	struct cur c = { .p = buf, .size = size, .err = err };
	uint64_t nkv, nt, cap, i, room;
	char show[64];
	uint32_t ver;

	memset(g, 0, sizeof(*g));
	g->base = buf;
	g->size = size;
	snprintf(c.ctx, sizeof(c.ctx), "header");
	if (!size)
		return gb_err_set(err, "empty, not a GGUF file");
	if (size < 4 || memcmp(buf, GGUF_MAGIC, 4)) {
		if (size >= 4 || memcmp(buf, GGUF_MAGIC, size))
			return gb_err_set(err, "not a GGUF file: it starts with '%s', not 'GGUF'",
				    gguf__show(buf, size < 4 ? size : 4, show, sizeof(show)));
		return gb_err_set(err, "truncated: %zu bytes, a GGUF header takes 24", size);
	}
	c.off = 4;
	if (rd32(&c, &ver, "the version") < 0)
		return -1;
	if (ver == 1)
		return gb_err_set(err, "GGUF version 1 is not supported (only 2 and 3): convert the file again with a newer llama.cpp");
	if (ver && !(ver & 0xffff))
		return gb_err_set(err, "GGUF version 0x%08" PRIx32 ": a big-endian file? only little-endian files are read", ver);
	if (ver != 2 && ver != 3)
		return gb_err_set(err, "unsupported GGUF version %" PRIu32 " (only 2 and 3)", ver);
	if (rd64(&c, &nt, "n_tensors") < 0 || rd64(&c, &nkv, "n_kv") < 0)
		return -1;
	g->version = ver;
	/* a clear message now rather than "truncated" at entry 40 million */
	room = size - c.off;
	if (nkv > room / KV_MIN || nt > room / TI_MIN || nkv * KV_MIN > room - nt * TI_MIN)
		return gb_err_set(err, "n_kv %" PRIu64 " and n_tensors %" PRIu64 " cannot fit in a file of %zu bytes",
			    nkv, nt, size);

	for (i = 0, cap = 0; i < nkv; i++) {
		if (grow((void **)&g->kv, &cap, i, sizeof(*g->kv), err) < 0)
			goto bad;
		memset(&g->kv[i], 0, sizeof(g->kv[i]));
		if (parse_kv(&c, i, &g->kv[i]) < 0) {
			g->n_kv = i + 1;
			goto bad;
		}
		g->n_kv = i + 1;
	}
	if (check_unique_keys(g, err) < 0 || find_alignment(g, err) < 0)
		goto bad;

	for (i = 0, cap = 0; i < nt; i++) {
		if (grow((void **)&g->tensor, &cap, i, sizeof(*g->tensor), err) < 0)
			goto bad;
		memset(&g->tensor[i], 0, sizeof(g->tensor[i]));
		if (parse_tensor(&c, i, g->alignment, &g->tensor[i]) < 0) {
			g->n_tensors = i + 1;
			goto bad;
		}
		g->n_tensors = i + 1;
	}
	/* c.off <= size and alignment <= 2^31: no overflow */
	g->data_off = (c.off + g->alignment - 1) & ~(g->alignment - 1);
	if (check_tensors(g, err) < 0)
		goto bad;
	return 0;
bad:
	release(g, g->n_kv, g->n_tensors);
	memset(g, 0, sizeof(*g));
	return -1;
}

int gguf_open(struct gguf *g, const char *path, struct gb_err *err)
{
	struct gb_err e;
	struct stat st;
	void *p;
	int fd;

	memset(g, 0, sizeof(*g));
	/* O_NONBLOCK: a FIFO named by mistake is refused by fstat below
	 * instead of hanging the open */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return gb_err_set(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int en = errno;

		close(fd);
		return gb_err_set(err, "%s: %s", path, strerror(en));
	}
	if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
		close(fd);
		return gb_err_set(err, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
	}
	if (!st.st_size) {
		close(fd);
		return gb_err_set(err, "%s: empty file, not a GGUF model", path);
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return gb_err_set(err, "%s: too large to map", path);
	}
	/* MAP_PRIVATE, read-only: nothing we do reaches the file.  A file
	 * truncated by someone else while mapped still faults (SIGBUS);
	 * that is the price of not reading 100 GB into memory. */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		int en = errno;

		close(fd);
		return gb_err_set(err, "%s: mmap: %s", path, strerror(en));
	}
	close(fd);
	if (gguf_parse(g, p, (size_t)st.st_size, &e) < 0) {
		munmap(p, (size_t)st.st_size);
		return gb_err_set(err, "%s: %s", path, e.msg);
	}
	g->mapped = 1;
	return 0;
}

void gguf_free(struct gguf *g)
{
	if (!g)
		return;
	release(g, g->n_kv, g->n_tensors);
	if (g->mapped && g->base)
		munmap((void *)g->base, g->size);
	memset(g, 0, sizeof(*g));
}

const struct gguf_kv *gguf_get(const struct gguf *g, const char *key)
{
	uint64_t i;

	if (!key)
		return NULL;
	for (i = 0; i < g->n_kv; i++)
		if (!strcmp(g->kv[i].key, key))
			return &g->kv[i];
	return NULL;
}

const struct gguf_tensor *gguf_tensor_find(const struct gguf *g, const char *name)
{
	uint64_t i;

	if (!name)
		return NULL;
	for (i = 0; i < g->n_tensors; i++)
		if (!strcmp(g->tensor[i].name, name))
			return &g->tensor[i];
	return NULL;
}

int gguf_kv_uint(const struct gguf_kv *kv, uint64_t *v)
{
	const uint8_t *p;

	if (!kv || kv->type > GGUF_T_F64 || !vsize[kv->type] || kv->raw_len < vsize[kv->type])
		return -1;
	p = kv->raw;
	switch (kv->type) {
	case GGUF_T_U8:
		*v = p[0];
		return 0;
	case GGUF_T_BOOL:
		/* ggml: any nonzero byte is true */
		*v = p[0] != 0;
		return 0;
	case GGUF_T_I8:
		if (p[0] & 0x80)
			return -1;
		*v = p[0];
		return 0;
	case GGUF_T_U16:
		*v = (uint64_t)p[0] | (uint64_t)p[1] << 8;
		return 0;
	case GGUF_T_I16:
		if (p[1] & 0x80)
			return -1;
		*v = (uint64_t)p[0] | (uint64_t)p[1] << 8;
		return 0;
	case GGUF_T_U32:
		*v = le32(p);
		return 0;
	case GGUF_T_I32:
		if (p[3] & 0x80)
			return -1;
		*v = le32(p);
		return 0;
	case GGUF_T_U64:
		*v = le64(p);
		return 0;
	case GGUF_T_I64:
		if (p[7] & 0x80)
			return -1;
		*v = le64(p);
		return 0;
	}
	return -1; /* f32, f64 */
}

int gguf_kv_str(const struct gguf_kv *kv, const char **s, uint64_t *len)
{
	if (!kv || kv->type != GGUF_T_STRING || kv->raw_len < 8)
		return -1;
	*len = le64(kv->raw);
	if (*len > kv->raw_len - 8)
		return -1;
	*s = (const char *)kv->raw + 8;
	return 0;
}
