/*
 * Choosing a type per tensor: llama.cpp's rules decide what may be
 * quantized to what, the model's own weights decide how much each choice
 * costs, and a multiple-choice knapsack picks the least total error that
 * fits the budget.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "plan.h"

static int ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && !memcmp(s + a - b, tail, b);
}

/* ggml_n_dims: trailing dimensions of 1 do not count */
static int n_dims(const struct gguf_tensor *t)
{
	int n = GGUF_MAX_DIMS;

	while (n > 1 && t->ne[n - 1] == 1)
		n--;
	return n;
}

/* Tensors llama.cpp never quantizes (llama_model_quantize_impl): routers,
 * position and type embeddings, state-space and RWKV mixing parameters. */
static const char *const never[] = {
	"ffn_gate_inp.weight", "pos_embd", "token_types", "ssm_conv1d.weight",
	"ssm_x.weight", "ssm_dt.weight", "time_mix_first.weight", "time_mix_w0.weight",
	"time_mix_w1.weight", "time_mix_w2.weight", "time_mix_decay_w1.weight",
	"time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
	"altup", "laurel",
};

static const char *kept_by_rule(const struct gguf_tensor *t)
{
	if (!ends_with(t->name, "weight"))
		return "not a weight";
	if (n_dims(t) < 2)
		return "1-D";
	if (strstr(t->name, "_norm.weight"))
		return "norm";
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (strstr(t->name, never[i]))
			return "llama.cpp keeps it";
	return NULL;
}

static int is_float(uint32_t type)
{
	return type == GQ_F32 || type == GQ_F16 || type == GQ_BF16;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static void add_choice(struct gq_item *it, uint32_t type, uint64_t alignment)
{
	struct gq_choice *c;
	uint64_t nb;

	if (it->nchoice >= GQ_MAX_CHOICES || gq_nbytes(type, it->t->nelem, &nb) < 0 ||
	    it->t->ne[0] % gq_type(type)->blck)
		return;
	if (it->nchoice > 0 && (type == it->src || nb >= it->choice[0].nbytes))
		return; /* never larger than what the input has */
	c = &it->choice[it->nchoice++];
	c->type = type;
	c->nbytes = nb;
	c->padded = align_up(nb, alignment);
	c->err = it->nchoice == 1 ? 0 : -1;
}

/* llama.cpp gives these more bits in its own mixes (Q4_K_M raises attn_v
 * and ffn_down, every K mix keeps the output at Q6_K or better): their
 * error counts more here too. */
static double importance(const char *name, int is_output)
{
	if (is_output)
		return 2.0;
	if (strstr(name, "attn_v.weight") || strstr(name, "ffn_down"))
		return 1.5;
	return 1.0;
}

int gq_plan_init(struct gq_plan *p, const struct gguf *g, int allow_requant, struct gb_err *err)
{
	static const uint32_t lossy[] = { GQ_Q8_0, GQ_Q6_K, GQ_Q5_K, GQ_Q4_K };
	int has_output = gguf_tensor_find(g, "output.weight") != NULL;
	uint64_t fsize;

	memset(p, 0, sizeof(*p));
	p->g = g;
	p->n = g->n_tensors;
	p->item = calloc(p->n ? p->n : 1, sizeof(*p->item));
	if (!p->item)
		return gb_err_set(err, "out of memory");
	for (uint64_t i = 0; i < p->n; i++) {
		struct gq_item *it = &p->item[i];
		const struct gguf_tensor *t = &g->tensor[i];
		const struct gq_type_info *ti = gq_type(t->type);
		/* a model with tied embeddings reads its output from token_embd */
		int is_output = !strcmp(t->name, "output.weight") ||
				(!has_output && !strcmp(t->name, "token_embd.weight"));

		it->t = t;
		it->src = t->type;
		it->weight = importance(t->name, is_output);
		it->nchoice = 0;
		add_choice(it, t->type, g->alignment);
		if (it->nchoice != 1) {
			gq_plan_free(p);
			return gb_err_set(err, "tensor %s: %" PRIu64 " elements of %s do not make whole blocks",
				    t->name, t->nelem, ti ? ti->name : "an unknown type");
		}
		if ((it->fixed = kept_by_rule(t)))
			continue;
		if (ti->quantized && !allow_requant) {
			gq_plan_free(p);
			return gb_err_set(err, "tensor %s is already %s: gb-quant quantizes f32, f16 and bf16 "
				    "weights (--allow-requantize to quantize it again, losing more)",
				    t->name, ti->name);
		}
		if (!is_float(t->type) && !(ti->quantized && gq_can_dequantize(t->type))) {
			it->fixed = ti->quantized ? "cannot requantize this type" : "not a float type";
			continue;
		}
		if (t->type == GQ_F32) {
			add_choice(it, GQ_BF16, g->alignment);
			add_choice(it, GQ_F16, g->alignment);
		}
		for (size_t k = 0; k < sizeof(lossy) / sizeof(lossy[0]); k++) {
			/* the output is read by every token: Q6_K at least */
			if (is_output && (lossy[k] == GQ_Q5_K || lossy[k] == GQ_Q4_K))
				continue;
			add_choice(it, lossy[k], g->alignment);
		}
		if (it->nchoice == 1)
			it->fixed = t->ne[0] % GQ_QK8_0 ? "rows not a multiple of 32" : "nothing smaller";
	}

	/* the header does not depend on the types, only on whether any
	 * changes (general.file_type and .quantization_version): measure both */
	if (gq_plan_header(p, 1, NULL, NULL, &p->hdr_len, &fsize, err) < 0 ||
	    gq_plan_header(p, 0, NULL, NULL, &p->hdr_keep, &fsize, err) < 0) {
		gq_plan_free(p);
		return -1;
	}
	return 0;
}

void gq_plan_free(struct gq_plan *p)
{
	free(p->item);
	p->item = NULL;
	p->n = 0;
}

/* ---- measuring ---- */

struct measure {
	struct gq_plan *p;
	pthread_mutex_t lock;
	uint64_t next;
	int failed;
};

static void measure_item(struct gq_item *it, float *x, float *y, void *q)
{
	const struct gguf_tensor *t = it->t;
	uint64_t ne0 = t->ne[0], rows = t->nelem / ne0, want, step, rowbytes;
	double num[GQ_MAX_CHOICES] = { 0 }, den = 0;
	int finite = 0;

	gq_nbytes(it->src, ne0, &rowbytes);
	want = (GQ_SAMPLE_ELEMS + ne0 - 1) / ne0;
	step = want >= rows ? 1 : rows / want;
	for (uint64_t r = 0; r < rows; r += step) {
		gq_dequantize(it->src, t->data + r * rowbytes, x, ne0);
		for (uint64_t j = 0; j < ne0; j++)
			den += (double)x[j] * x[j];
		for (int k = 1; k < it->nchoice; k++) {
			uint32_t type = it->choice[k].type;

			gq_quantize(type, x, q, ne0);
			gq_dequantize(type, q, y, ne0);
			for (uint64_t j = 0; j < ne0; j++) {
				double d = (double)x[j] - y[j];
				num[k] += d * d;
			}
		}
	}
	for (int k = 1; k < it->nchoice; k++) {
		double e = den > 0 ? sqrt(num[k] / den) : (num[k] > 0 ? INFINITY : 0);

		if (!isfinite(den) || !isfinite(num[k]) || isnan(e))
			e = INFINITY;
		it->choice[k].err = e;
		finite |= isfinite(e);
	}
	/* NaN or inf among the weights sampled (or a type that cannot hold
	 * them): quantizing would spread them over whole blocks; kept as is */
	if (!finite) {
		it->nchoice = 1;
		it->fixed = "weights not all finite";
	}
}

static void *measure_worker(void *arg)
{
	struct measure *m = arg;
	float *x = NULL, *y = NULL;
	void *q = NULL;
	uint64_t cap = 0;

	for (;;) {
		struct gq_item *it;
		uint64_t i;

		pthread_mutex_lock(&m->lock);
		while (m->next < m->p->n && m->p->item[m->next].nchoice < 2)
			m->next++;
		i = m->next++;
		pthread_mutex_unlock(&m->lock);
		if (i >= m->p->n)
			break;
		it = &m->p->item[i];
		if (it->t->ne[0] > cap) {
			cap = it->t->ne[0];
			free(x);
			free(y);
			free(q);
			x = malloc(cap * sizeof(float));
			y = malloc(cap * sizeof(float));
			q = malloc(cap * sizeof(float)); /* no type is wider than f32 */
			if (!x || !y || !q) {
				pthread_mutex_lock(&m->lock);
				m->failed = 1;
				m->next = m->p->n;
				pthread_mutex_unlock(&m->lock);
				break;
			}
		}
		measure_item(it, x, y, q);
	}
	free(x);
	free(y);
	free(q);
	return NULL;
}

int gq_plan_measure(struct gq_plan *p, int threads, struct gb_err *err)
{
	struct measure m = { .p = p, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t tid[256];
	int n = threads < 1 ? 1 : threads > 256 ? 256 : threads, started = 0;

	for (int i = 1; i < n; i++) {
		if (pthread_create(&tid[started], NULL, measure_worker, &m))
			break;
		started++;
	}
	measure_worker(&m);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (m.failed)
		return gb_err_set(err, "out of memory measuring the quantization error");
	return 0;
}

/* ---- solving ---- */

int gq_plan_converts(const struct gq_plan *p)
{
	for (uint64_t i = 0; i < p->n; i++)
		if (p->item[i].choice[p->item[i].pick].type != p->item[i].src)
			return 1;
	return 0;
}

uint64_t gq_plan_size(const struct gq_plan *p)
{
	uint64_t s = gq_plan_converts(p) ? p->hdr_len : p->hdr_keep;

	for (uint64_t i = 0; i < p->n; i++)
		s += p->item[i].choice[p->item[i].pick].padded;
	return s;
}

static uint64_t min_padded(const struct gq_item *it, int *which)
{
	uint64_t m = UINT64_MAX;

	for (int k = 0; k < it->nchoice; k++)
		if (it->choice[k].padded < m) {
			m = it->choice[k].padded;
			if (which)
				*which = k;
		}
	return m;
}

uint64_t gq_plan_min_size(const struct gq_plan *p)
{
	uint64_t s = 0;
	int converts = 0;

	for (uint64_t i = 0; i < p->n; i++) {
		int k = 0;

		s += min_padded(&p->item[i], &k);
		converts |= k != 0; /* choice 0 is keep */
	}
	return s + (converts ? p->hdr_len : p->hdr_keep);
}

uint64_t gq_plan_keep_size(const struct gq_plan *p)
{
	uint64_t s = p->hdr_keep;

	for (uint64_t i = 0; i < p->n; i++)
		s += p->item[i].choice[0].padded;
	return s;
}

static double cost(const struct gq_item *it, int k)
{
	double e = it->choice[k].err;

	return it->weight * (double)it->t->nelem * e * e;
}

double gq_plan_error(const struct gq_plan *p)
{
	double num = 0, den = 0;

	for (uint64_t i = 0; i < p->n; i++) {
		const struct gq_item *it = &p->item[i];

		if (it->choice[it->pick].err < 0)
			return -1;
		num += cost(it, it->pick);
		den += it->weight * (double)it->t->nelem;
	}
	return den > 0 ? sqrt(num / den) : 0;
}

/* The knapsack is solved exactly over sizes rounded up to a granule, so
 * the file never exceeds the budget.  The granule depends on the model
 * alone, never on the budget: a larger budget can then only allow more,
 * and the error never grows with it.  It is chosen to keep the table
 * near 64 M cells (tensors x granules), which costs a fraction of a
 * second and gives away at most one granule per tensor. */
#define DP_CELLS (1ull << 26)

int gq_plan_solve(struct gq_plan *p, uint64_t budget, struct gb_err *err)
{
	uint64_t nvar = 0, range = 0, base, cap, g;
	uint64_t *var = NULL;
	uint32_t (*units)[GQ_MAX_CHOICES] = NULL;
	double *prev = NULL, *next = NULL;
	uint8_t *ch = NULL;
	int ret = -1;

	for (uint64_t i = 0; i < p->n; i++) {
		struct gq_item *it = &p->item[i];

		for (int k = 0; k < it->nchoice; k++)
			if (it->choice[k].err < 0)
				return gb_err_set(err, "tensor %s: the error of %s was not measured", it->t->name,
					    gq_type(it->choice[k].type)->name);
		it->pick = 0;
	}
	if (gq_plan_keep_size(p) <= budget)
		return 0; /* it fits as it is: nothing is quantized */
	base = gq_plan_min_size(p);
	if (base > budget) {
		char a[32], b[32];

		return gb_err_set(err, "a budget of %s (%" PRIu64 " bytes) is too small: the smallest this "
			    "model can be is %s (%" PRIu64 " bytes)", gb_size_str(budget, a, sizeof(a)), budget,
			    gb_size_human(base, b, sizeof(b)), base);
	}

	var = malloc(p->n * sizeof(*var) + 1);
	if (!var)
		goto oom;
	for (uint64_t i = 0; i < p->n; i++) {
		struct gq_item *it = &p->item[i];
		int k;

		if (it->nchoice < 2)
			continue;
		var[nvar++] = i;
		min_padded(it, &k);
		range += it->choice[0].padded - it->choice[k].padded;
	}
	{
		/* every padded size is a multiple of the alignment: a granule
		 * that is one too loses nothing when the table is small */
		unsigned __int128 want = ((unsigned __int128)range * nvar + DP_CELLS - 1) / DP_CELLS;
		uint64_t a = p->g->alignment;

		g = want > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)want;
		g = g < a ? a : (g + a - 1) / a * a;
	}
	p->granule = g;
	cap = (budget - base) / g;
	if (cap > range / g + 1)
		cap = range / g + 1;

	units = malloc(nvar * sizeof(*units) + 1);
	prev = malloc((cap + 1) * sizeof(double));
	next = malloc((cap + 1) * sizeof(double));
	ch = malloc(nvar * (cap + 1) + 1);
	if (!units || !prev || !next || !ch)
		goto oom;
	for (uint64_t v = 0; v < nvar; v++) {
		struct gq_item *it = &p->item[var[v]];
		uint64_t lo = min_padded(it, NULL);

		for (int k = 0; k < it->nchoice; k++) {
			uint64_t u = (it->choice[k].padded - lo + g - 1) / g;
			units[v][k] = u > cap ? UINT32_MAX : (uint32_t)u;
		}
	}
	for (uint64_t c = 0; c <= cap; c++)
		prev[c] = 0;
	for (uint64_t v = 0; v < nvar; v++) {
		struct gq_item *it = &p->item[var[v]];
		uint8_t *row = ch + v * (cap + 1);
		double *t;

		for (uint64_t c = 0; c <= cap; c++) {
			double best = INFINITY;
			int bk = -1;

			for (int k = 0; k < it->nchoice; k++) {
				double val;

				if (units[v][k] > c)
					continue;
				val = prev[c - units[v][k]] + cost(it, k);
				if (bk < 0 || val < best) {
					best = val;
					bk = k;
				}
			}
			next[c] = best;
			row[c] = (uint8_t)bk; /* the smallest choice always fits */
		}
		t = prev;
		prev = next;
		next = t;
	}
	for (uint64_t c = cap, v = nvar; v-- > 0;) {
		int k = ch[v * (cap + 1) + c];

		p->item[var[v]].pick = k;
		c -= units[v][k];
	}
	ret = 0;
	goto out;
oom:
	gb_err_set(err, "out of memory planning %" PRIu64 " tensors", p->n);
out:
	free(var);
	free(units);
	free(prev);
	free(next);
	free(ch);
	return ret;
}

/* llama_ftype of the type that holds most of the quantizable weights */
uint32_t gq_plan_ftype(const struct gq_plan *p)
{
	uint64_t count[GQ_TYPE_MAX] = { 0 };
	uint32_t best = GQ_F32;
	int any = 0;

	for (int pass = 0; pass < 2 && !any; pass++)
		for (uint64_t i = 0; i < p->n; i++) {
			const struct gq_item *it = &p->item[i];

			if (pass == 0 && it->nchoice < 2)
				continue;
			count[it->choice[it->pick].type] += it->t->nelem;
			any = 1;
		}
	for (uint32_t t = 0; t < GQ_TYPE_MAX; t++)
		if (count[t] > count[best])
			best = t;
	switch (best) {
	case GQ_F16: return 1;     /* LLAMA_FTYPE_MOSTLY_F16 */
	case GQ_Q8_0: return 7;    /* MOSTLY_Q8_0 */
	case GQ_Q4_K: return 15;   /* MOSTLY_Q4_K_M */
	case GQ_Q5_K: return 17;   /* MOSTLY_Q5_K_M */
	case GQ_Q6_K: return 18;   /* MOSTLY_Q6_K */
	case GQ_BF16: return 32;   /* MOSTLY_BF16 */
	case GQ_Q4_0: return 2;
	case GQ_Q4_1: return 3;
	case GQ_Q5_0: return 8;
	case GQ_Q5_1: return 9;
	case GQ_Q2_K: return 10;
	case GQ_Q3_K: return 12;   /* MOSTLY_Q3_K_M */
	default: return 0;         /* ALL_F32 */
	}
}
