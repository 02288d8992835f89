/* a status file, whatever its bytes, through every view of gb-stat (table,
 * dump, JSON, Prometheus), and when it does not parse, the parser's
 * message through the lists of unreadable files: never a crash, and no
 * view lets through a control character (C0 but the line and field
 * separators, DEL, C1) or a byte that is not UTF-8 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stat/stat.h"

/* the oracle, not what is fuzzed: no coverage traced in its loop over
 * every byte the views wrote */
#if defined(__clang__)
__attribute__((no_sanitize("coverage")))
#endif
static void clean(const char *buf, size_t n, int tab)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + n;

	while (p < end) {
		int l = gb_stat_utf8_len(p);

		if (*p == '\n' || (tab && *p == '\t')) {
			p++;
			continue;
		}
		if (!l || (size_t)(end - p) < (size_t)l || *p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0))
			abort();
		p += l;
	}
}

typedef void view(const struct gb_snap *s, FILE *f);

static void json(const struct gb_snap *s, FILE *f) { gb_stat_json(s, f, 1); }
static void prom(const struct gb_snap *s, FILE *f) { gb_stat_prom(s, f); }
static void dump(const struct gb_snap *s, FILE *f) { gb_stat_dump(s, f, 1); }
static void table(const struct gb_snap *s, FILE *f) { gb_stat_table(s, f, 0, 1); }
static void colour(const struct gb_snap *s, FILE *f) { gb_stat_table(s, f, 1, 1); }

static void check(const struct gb_snap *s, view *v, int tab)
{
	/* one stream over one buffer for every run (opening a stream is
	 * most of the time otherwise); far more than a view of one file */
	static char out[1 << 20];
	static FILE *f;
	long n;

	if (!f && !(f = fmemopen(out, sizeof(out), "w")))
		abort();
	rewind(f);
	v(s, f);
	fflush(f);
	n = ftell(f);
	if (tab >= 0)
		clean(out, (size_t)n, tab);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gb_stat_proc proc;
	static struct gb_stat_other bad;
	struct gb_snap s;
	struct gb_err err;

	memset(&s, 0, sizeof(s));
	if (gb_status_parse((const char *)data, size, &proc.st, &err) < 0) {
		snprintf(bad.file, sizeof(bad.file), "/run/greenboost/1.status");
		bad.pid = 1;
		snprintf(bad.why, sizeof(bad.why), "%s: %s", bad.file, err.msg);
		s.nbad = 1;
		s.bad = &bad;
	} else {
		gb_stat_unescape(proc.st.comm, proc.comm, sizeof(proc.comm));
		gb_stat_unescape(proc.st.cmdline, proc.cmdline, sizeof(proc.cmdline));
		s.nproc = 1;
		s.proc = &proc;
		s.ngpu = 1;
		snprintf(s.gpu[0].name, sizeof(s.gpu[0].name), "%s", proc.st.dev[0].name);
	}
	check(&s, json, 0);
	check(&s, dump, 1);
	check(&s, table, 0);
	/* Prometheus quotes no reason, and the colours are the table's */
	if (s.nproc) {
		check(&s, prom, 0);
		check(&s, colour, -1); /* its own escapes; only never a crash */
	}
	return 0;
}
