/*
 * libgbquant: what gb-quant is made of.
 *
 *   types     ggml's tensor types: block size, bytes per block, names;
 *             fp16/bf16 conversion                          (types.c)
 *   quants    ggml's reference quantizers and dequantizers for Q8_0,
 *             Q4_K, Q5_K, Q6_K, byte for byte               (q8_0.c, kquants.c)
 *   gguf      a bounds-checked GGUF v2/v3 reader over a buffer or an
 *             mmap, and the header writer                   (gguf.c, gguf_write.c)
 *   plan      llama.cpp's rules, measured error, the
 *             multiple-choice knapsack, the plan text       (plan.c, plantext.c)
 *   apply     stream IN to OUT through worker threads       (apply.c)
 *
 * Errors are returned in a struct gb_err (gb.h) as one line without the
 * program name; the program prints "gb-quant: fatal: MSG".
 */
#ifndef GB_QUANT_H
#define GB_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "gb.h"

/* ---- types (ggml.h enum ggml_type; the numbers are the file format) ---- */

enum gq_type {
	GQ_F32 = 0,
	GQ_F16 = 1,
	GQ_Q4_0 = 2,
	GQ_Q4_1 = 3,
	GQ_Q5_0 = 6,
	GQ_Q5_1 = 7,
	GQ_Q8_0 = 8,
	GQ_Q8_1 = 9,
	GQ_Q2_K = 10,
	GQ_Q3_K = 11,
	GQ_Q4_K = 12,
	GQ_Q5_K = 13,
	GQ_Q6_K = 14,
	GQ_Q8_K = 15,
	GQ_IQ2_XXS = 16,
	GQ_IQ2_XS = 17,
	GQ_IQ3_XXS = 18,
	GQ_IQ1_S = 19,
	GQ_IQ4_NL = 20,
	GQ_IQ3_S = 21,
	GQ_IQ2_S = 22,
	GQ_IQ4_XS = 23,
	GQ_I8 = 24,
	GQ_I16 = 25,
	GQ_I32 = 26,
	GQ_I64 = 27,
	GQ_F64 = 28,
	GQ_IQ1_M = 29,
	GQ_BF16 = 30,
	GQ_TQ1_0 = 34,
	GQ_TQ2_0 = 35,
	GQ_MXFP4 = 39,
	GQ_TYPE_MAX = 64 /* ids at or above are unknown */
};

/* ggml's block sizes */
#define GQ_QK8_0 32
#define GQ_QK_K 256

struct gq_type_info {
	const char *name;   /* ggml's name: "f32", "bf16", "q8_0", "q4_K" */
	uint32_t blck;      /* elements per block */
	uint32_t size;      /* bytes per block */
	int quantized;      /* not a plain float type (F32, F16, BF16, F64) or integer type */
};

/* NULL for an unknown or removed type id */
const struct gq_type_info *gq_type(uint32_t type);
/* case-insensitive ggml name ("Q4_K", "q4_k", "bf16"); -1 if unknown */
int gq_type_from_name(const char *name);
/* bytes of n elements; -1 when n is not a whole number of blocks, the type
 * is unknown, or the result overflows */
int gq_nbytes(uint32_t type, uint64_t n, uint64_t *bytes);

/* IEEE half and bfloat16, rounding to nearest even as ggml does
 * (ggml_compute_fp32_to_fp16 / ggml_compute_fp32_to_bf16, NaN kept NaN) */
float gq_f16_to_f32(uint16_t h);
uint16_t gq_f32_to_f16(float f);
float gq_bf16_to_f32(uint16_t h);
uint16_t gq_f32_to_bf16(float f);

/* ---- quantizers ---- */

/* gq_quantize writes: F32, F16, BF16, Q8_0, Q4_K, Q5_K, Q6_K.
 * gq_dequantize reads those too. */
int gq_can_quantize(uint32_t type);
int gq_can_dequantize(uint32_t type);

/* n elements, a multiple of the type's block; ggml's reference (no
 * importance matrix) quantizer: quantize_row_*_ref, byte for byte */
void gq_quantize(uint32_t type, const float *x, void *y, int64_t n);
void gq_dequantize(uint32_t type, const void *x, float *y, int64_t n);

/* ---- GGUF ---- */

enum gguf_vtype {
	GGUF_T_U8 = 0,
	GGUF_T_I8 = 1,
	GGUF_T_U16 = 2,
	GGUF_T_I16 = 3,
	GGUF_T_U32 = 4,
	GGUF_T_I32 = 5,
	GGUF_T_F32 = 6,
	GGUF_T_BOOL = 7,
	GGUF_T_STRING = 8,
	GGUF_T_ARRAY = 9,
	GGUF_T_U64 = 10,
	GGUF_T_I64 = 11,
	GGUF_T_F64 = 12,
};

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

struct gguf_kv {
	char *key;              /* NUL-terminated copy */
	uint32_t type;          /* enum gguf_vtype */
	const uint8_t *raw;     /* the encoded value as in the file, after the type */
	uint64_t raw_len;
	uint32_t arr_type;      /* GGUF_T_ARRAY: element type and count */
	uint64_t arr_n;
};

struct gguf_tensor {
	char *name;             /* NUL-terminated copy */
	uint32_t ndim;
	uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the row length; unused dimensions are 1 */
	uint32_t type;          /* enum gq_type */
	uint64_t offset;        /* from the start of the data section */
	uint64_t nelem;
	uint64_t nbytes;
	const uint8_t *data;    /* base + data_off + offset */
};

struct gguf {
	const uint8_t *base;    /* the whole file */
	size_t size;
	int mapped;             /* base is our mmap */
	uint32_t version;       /* 2 or 3 */
	uint64_t alignment;     /* general.alignment, else 32 */
	uint64_t n_kv, n_tensors;
	struct gguf_kv *kv;
	struct gguf_tensor *tensor;
	uint64_t data_off;      /* start of the data section, aligned */
};

/* Parse a whole GGUF file in memory.  Every count, length, offset and size
 * is checked against the buffer; tensors must be of known types, lie inside
 * the data section at aligned offsets and not overlap; names and keys are
 * unique.  -1 with err set to one line naming what and where. */
int gguf_parse(struct gguf *g, const void *buf, size_t size, struct gb_err *err);
/* open and mmap read-only, then gguf_parse; messages start with the path */
int gguf_open(struct gguf *g, const char *path, struct gb_err *err);
void gguf_free(struct gguf *g);

const struct gguf_kv *gguf_get(const struct gguf *g, const char *key);
const struct gguf_tensor *gguf_tensor_find(const struct gguf *g, const char *name);
/* any integer or bool value; -1 if kv is NULL, not an integer or negative */
int gguf_kv_uint(const struct gguf_kv *kv, uint64_t *v);
/* a string value, not NUL-terminated; -1 if kv is NULL or not a string */
int gguf_kv_str(const struct gguf_kv *kv, const char **s, uint64_t *len);
/* "gguf_vtype" name: "u32", "string", "array" */
const char *gguf_vtype_name(uint32_t t);

/* The output side: metadata values are copied raw (struct gguf_kv.raw),
 * or given encoded by the caller. */
struct gguf_out_kv {
	const char *key;
	uint32_t type;
	const void *raw;        /* encoded as in a file, after the type field */
	uint64_t raw_len;
};

struct gguf_out_tensor {
	const char *name;
	uint32_t ndim;
	uint64_t ne[GGUF_MAX_DIMS];
	uint32_t type;
	uint64_t nbytes;        /* in: the caller's (gq_nbytes) */
	uint64_t offset;        /* out: from the start of the data section */
};

/* Lay out and encode a v3 header: tensors placed in order, each at an
 * aligned offset.  *hdr (malloc'd, hdr_len bytes, padded with zeros to
 * the alignment) is the file up to the data section; the file is
 * hdr_len + the sum of every tensor's nbytes rounded up to the alignment
 * (each tensor is followed by zero padding, the last one too). */
int gguf_build_header(const struct gguf_out_kv *kv, uint64_t nkv,
		      struct gguf_out_tensor *t, uint64_t nt, uint64_t alignment,
		      uint8_t **hdr, uint64_t *hdr_len, uint64_t *file_size,
		      struct gb_err *err);

#endif
