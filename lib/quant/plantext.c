/*
 * The plan as text: one tensor a line, tab-separated, comments start
 * with '#'.  gb-quant plan writes it, gb-quant apply --plan reads it back,
 * people edit it in between (gb-quant(1), PLAN FORMAT).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quant.h"
#include "plan.h"

static void shape(const struct gguf_tensor *t, char *buf, size_t n)
{
	size_t o = 0;

	for (uint32_t d = 0; d < t->ndim && o < n; d++)
		o += snprintf(buf + o, n - o, "%s%" PRIu64, d ? "x" : "", t->ne[d]);
}

/* Names are one field: whitespace, control bytes, backslashes and a
 * leading '#' are written \xHH, and read back by unescape(). */
static int escaped(const char *s, const unsigned char *c)
{
	return *c <= ' ' || *c == 0x7f || *c == '\\' || (*c == '#' && c == (const unsigned char *)s);
}

static void put_name(FILE *f, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (escaped(s, c))
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
}

/* the same, into buf (cut short if need be), for messages */
static char *esc(const char *s, char *buf, size_t n)
{
	size_t o = 0;

	for (const unsigned char *c = (const unsigned char *)s; *c && o + 5 < n; c++) {
		if (escaped(s, c))
			o += snprintf(buf + o, n - o, "\\x%02x", *c);
		else
			buf[o++] = *c;
	}
	buf[o] = 0;
	return buf;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* in place; -1 on a bad escape or an escaped NUL */
static int unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		int h, l;

		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		if (s[1] != 'x' || (h = hexval(s[2])) < 0 || (l = hexval(s[3])) < 0 || !(h | l))
			return -1;
		*o++ = (char)(h << 4 | l);
		s += 3;
	}
	*o = 0;
	return 0;
}

void gq_plan_print(const struct gq_plan *p, FILE *f, const char *model, uint64_t budget)
{
	uint64_t bytes[GQ_TYPE_MAX] = { 0 }, count[GQ_TYPE_MAX] = { 0 }, size = gq_plan_size(p);
	double e = gq_plan_error(p);
	char a[32], b[32];

	fputs("# gb-quant plan for ", f);
	put_name(f, model);
	fprintf(f, ": %" PRIu64 " tensors", p->n);
	if (budget)
		fprintf(f, ", budget %s (%" PRIu64 " bytes)", gb_size_str(budget, a, sizeof(a)), budget);
	fputs("\n# tensor\ttype\tbytes\terror\tfrom\tshape\n", f);
	for (uint64_t i = 0; i < p->n; i++) {
		const struct gq_item *it = &p->item[i];
		const struct gq_choice *c = &it->choice[it->pick];
		char sh[128];

		shape(it->t, sh, sizeof(sh));
		put_name(f, it->t->name);
		fprintf(f, "\t%s\t%" PRIu64 "\t", gq_type(c->type)->name, c->nbytes);
		if (c->err < 0)
			fputs("-", f);
		else
			fprintf(f, "%.6f", c->err);
		fprintf(f, "\t%s\t%s\n", gq_type(it->src)->name, sh);
		bytes[c->type] += c->nbytes;
		count[c->type]++;
	}
	fprintf(f, "# file\t%s\t%" PRIu64 " bytes", gb_size_human(size, a, sizeof(a)), size);
	fprintf(f, "\tkeeping everything %s", gb_size_human(gq_plan_keep_size(p), a, sizeof(a)));
	fprintf(f, "\tsmallest %s\n", gb_size_human(gq_plan_min_size(p), b, sizeof(b)));
	if (e >= 0)
		fprintf(f, "# error\t%.6f\tweighted relative RMS over all weights\n", e);
	for (uint32_t t = 0; t < GQ_TYPE_MAX; t++)
		if (count[t])
			fprintf(f, "# type\t%s\t%" PRIu64 " tensors\t%s\n", gq_type(t)->name, count[t],
				gb_size_human(bytes[t], a, sizeof(a)));
}

/* the next field: runs of tabs and spaces separate */
static char *field(char **s)
{
	char *b = *s, *e;

	while (*b == ' ' || *b == '\t')
		b++;
	if (!*b)
		return NULL;
	e = b;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	*s = *e ? e + 1 : e;
	*e = 0;
	return b;
}

int gq_plan_parse(struct gq_plan *p, const char *text, size_t len, const char *name,
		  struct gb_err *err)
{
	char line[4096];
	uint8_t *seen = calloc(p->n + 1, 1);
	size_t pos = 0;
	unsigned lineno = 0;
	int ret = -1;

	if (!seen)
		return gb_err_set(err, "out of memory");
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
		char *s = line, *tname, *tyname, shown[256];
		uint64_t i;
		int type, k;

		lineno++;
		if (n >= sizeof(line)) {
			gb_err_set(err, "%s:%u: line longer than %zu bytes", name, lineno, sizeof(line) - 1);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = 0;
		pos += n + 1;
		if (strlen(line) != n) {
			gb_err_set(err, "%s:%u: a NUL byte in the line", name, lineno);
			goto out;
		}
		if (n && line[n - 1] == '\r')
			line[n - 1] = 0;
		tname = field(&s);
		if (!tname || *tname == '#')
			continue;
		if (unescape(tname) < 0) {
			gb_err_set(err, "%s:%u: a bad \\x escape in the tensor name", name, lineno);
			goto out;
		}
		esc(tname, shown, sizeof(shown));
		tyname = field(&s);
		for (char *c = tyname; c && *c; c++)
			if ((unsigned char)*c < ' ' || *c == 0x7f)
				*c = '?'; /* only ever shown in a message */
		if (!tyname) {
			gb_err_set(err, "%s:%u: %s: no type (a line is: TENSOR TYPE ...)", name, lineno, shown);
			goto out;
		}
		for (i = 0; i < p->n; i++)
			if (!strcmp(p->item[i].t->name, tname))
				break;
		if (i == p->n) {
			gb_err_set(err, "%s:%u: the model has no tensor %s", name, lineno, shown);
			goto out;
		}
		if (seen[i]) {
			gb_err_set(err, "%s:%u: %s: a second line for this tensor", name, lineno, shown);
			goto out;
		}
		seen[i] = 1;
		type = !strcasecmp(tyname, "keep") ? (int)p->item[i].src : gq_type_from_name(tyname);
		if (type < 0) {
			gb_err_set(err, "%s:%u: %s: unknown type %s", name, lineno, shown, tyname);
			goto out;
		}
		for (k = 0; k < p->item[i].nchoice; k++)
			if (p->item[i].choice[k].type == (uint32_t)type)
				break;
		if (k == p->item[i].nchoice) {
			const struct gq_item *it = &p->item[i];
			char opts[128] = "";
			size_t o = 0;

			for (int c = 0; c < it->nchoice && o < sizeof(opts); c++)
				o += snprintf(opts + o, sizeof(opts) - o, "%s%s", c ? " " : "",
					      gq_type(it->choice[c].type)->name);
			char why[96] = "";

			if (it->fixed)
				snprintf(why, sizeof(why), " (%s)", it->fixed);
			gb_err_set(err, "%s:%u: %s cannot be %s%s: it can be %s", name, lineno, shown,
			     gq_type(type)->name, why, opts);
			goto out;
		}
		p->item[i].pick = k;
	}
	for (uint64_t i = 0; i < p->n; i++)
		if (!seen[i]) {
			char n[256];

			gb_err_set(err, "%s: no line for tensor %s", name, esc(p->item[i].t->name, n, sizeof(n)));
			goto out;
		}
	ret = 0;
out:
	free(seen);
	return ret;
}
