/*
 * The plan: for each tensor of a model, which type it is written in.
 * Included after quant.h.
 */
#ifndef GB_QUANT_PLAN_H
#define GB_QUANT_PLAN_H

#include <stdio.h>

#include "quant.h"

#define GQ_MAX_CHOICES 8
/* weights measured per tensor and type, rows spread evenly */
#define GQ_SAMPLE_ELEMS (1u << 18)
/* what llama.cpp writes in general.quantization_version (GGML_QNT_VERSION) */
#define GQ_QNT_VERSION 2

struct gq_choice {
	uint32_t type;
	uint64_t nbytes;        /* of the tensor in this type */
	uint64_t padded;        /* rounded up to the alignment: its share of the file */
	double err;             /* relative RMS error against the source; -1 unmeasured */
};

struct gq_item {
	const struct gguf_tensor *t;
	uint32_t src;           /* the type it has in the input */
	double weight;          /* importance: how much its error counts */
	const char *fixed;      /* why it has one choice only ("norm", "1-D"...), else NULL */
	int nchoice;
	struct gq_choice choice[GQ_MAX_CHOICES]; /* choice[0] is keep */
	int pick;
};

struct gq_plan {
	const struct gguf *g;
	uint64_t n;
	struct gq_item *item;
	uint64_t hdr_len;       /* the output's header, padded, once a tensor is converted */
	uint64_t hdr_keep;      /* when none is: the input's metadata as it is */
	uint64_t granule;       /* the knapsack's size unit, bytes */
};

/* Candidates for every tensor by llama.cpp's rules; everything kept.
 * Quantized inputs are refused unless allow_requant. */
int gq_plan_init(struct gq_plan *p, const struct gguf *g, int allow_requant, struct gb_err *err);
void gq_plan_free(struct gq_plan *p);
/* measure every candidate's error on the model's own weights */
int gq_plan_measure(struct gq_plan *p, int threads, struct gb_err *err);
/* least weighted error within budget bytes of file; an impossible budget
 * is an error naming the smallest size that can be reached */
int gq_plan_solve(struct gq_plan *p, uint64_t budget, struct gb_err *err);

/* the file the picks make, in bytes */
uint64_t gq_plan_size(const struct gq_plan *p);
/* some tensor is written in another type than the input's */
int gq_plan_converts(const struct gq_plan *p);
/* smallest and largest reachable files */
uint64_t gq_plan_min_size(const struct gq_plan *p);
uint64_t gq_plan_keep_size(const struct gq_plan *p);
/* sqrt(sum weight*n*err^2 / sum weight*n) over the picks; -1 if unmeasured */
double gq_plan_error(const struct gq_plan *p);
/* general.file_type (llama_ftype) for the picks: the type holding most weights */
uint32_t gq_plan_ftype(const struct gq_plan *p);

/* the plan as text (gb-quant(1) PLAN FORMAT) */
void gq_plan_print(const struct gq_plan *p, FILE *f, const char *model, uint64_t budget);
/* set the picks from plan text; every tensor exactly once, each type
 * among its choices */
int gq_plan_parse(struct gq_plan *p, const char *text, size_t len, const char *name,
		  struct gb_err *err);

/* The output's header for the picks (the metadata changed only when
 * converted): *hdr and *ot, with each tensor's offset, are malloc'd when
 * asked for (may be NULL); the file is *fsize bytes. */
int gq_plan_header(const struct gq_plan *p, int converted, struct gguf_out_tensor **ot,
		   uint8_t **hdr, uint64_t *hdr_len, uint64_t *fsize, struct gb_err *err);

struct gq_progress {
	uint64_t done, total;   /* input bytes */
	const char *current;    /* tensor name */
};

/* Write out: a temporary file beside it, renamed over it when complete.
 * progress (may be NULL) is called from the calling thread about five
 * times a second. */
int gq_apply(const struct gq_plan *p, const char *out, int threads,
	     void (*progress)(const struct gq_progress *), struct gb_err *err);

#endif
