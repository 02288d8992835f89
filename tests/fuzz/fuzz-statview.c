/* a status file, whatever its bytes, through every view of gb-stat (table,
 * dump, JSON, Prometheus), and when it does not parse, the parser's
 * message through the lists of unreadable files: never a crash, and no
 * view lets through a control character (C0 but the line and field
 * separators, DEL, C1) or a byte that is not UTF-8 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stat/stat.h"

static void clean(const char *buf, size_t n, const char *allowed)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + n;

	while (p < end) {
		int l = gb_stat_utf8_len(p);

		if (*p && strchr(allowed, *p)) {
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

static void check(const struct gb_snap *s, view *v, const char *allowed)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (!f)
		return;
	v(s, f);
	fclose(f);
	if (allowed)
		clean(out, n, allowed);
	free(out);
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
	check(&s, json, "\n");
	check(&s, prom, "\n");
	check(&s, dump, "\t\n");
	check(&s, table, "\n");
	check(&s, colour, NULL); /* its own escapes; only never a crash */
	return 0;
}
