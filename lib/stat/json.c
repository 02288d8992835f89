/* gb-stat --json: one object, the dump's records as arrays of objects.
 * Strings are the unescaped text: printable UTF-8 as it is, controls
 * (C0, DEL, C1) as \u00XX, and any byte that is not UTF-8 as U+FFFD, so
 * the output is plain printable text even on a terminal. */
#include <string.h>

#include "stat/stat.h"

static void str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		int n = gb_stat_printable(p);

		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (n) {
			fwrite(p, 1, (size_t)n, f);
			p += n;
		} else if (gb_stat_utf8_len(p) == 2) {
			/* a C1 control, U+0080-U+009F */
			fprintf(f, "\\u%04x", ((p[0] & 0x1f) << 6) | (p[1] & 0x3f));
			p += 2;
		} else if (*p < 0x80) {
			fprintf(f, "\\u%04x", *p++);
		} else {
			fputs("\\ufffd", f);
			p++;
		}
	}
	fputc('"', f);
}

static void others(FILE *f, const char *name, const struct gb_stat_other *o, int n)
{
	int i;

	fprintf(f, ",\"%s\":[", name);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{\"pid\":%d,\"file\":", i ? "," : "", (int)o[i].pid);
		str(f, o[i].file);
		fputs(",\"why\":", f);
		str(f, o[i].why);
		fputc('}', f);
	}
	fputc(']', f);
}

void gb_stat_json(const struct gb_snap *s, FILE *f, int all)
{
	static const char *const tiers[GB_TIERS] = { "t1", "t2", "t3" };
	char name[sizeof(s->gpu[0].name)];
	int i, d, t;

	fprintf(f, "{\"version\":1,\"time\":%.3f,\"host\":{\"pool\":", s->taken);
	if (s->pool)
		fprintf(f, "{\"total_bytes\":%llu,\"free_bytes\":%llu,\"held_bytes\":%llu}", (unsigned long long)s->pool_total,
			(unsigned long long)s->pool_free, (unsigned long long)s->pool_held);
	else
		fputs("null", f);
	fprintf(f, ",\"tune\":{\"profile\":\"%s\",\"applied\":%.3f}},\"gpus\":[", gb_stat_profile_name(s->tune_profile),
		s->tune_applied);
	for (i = 0; i < s->ngpu; i++) {
		const struct gb_stat_gpu *u = &s->gpu[i];

		gb_stat_unescape(u->name, name, sizeof(name));
		fprintf(f, "%s{\"index\":%d,\"name\":", i ? "," : "", u->index);
		str(f, name);
		fprintf(f, ",\"vram_bytes\":%llu,\"t1_bytes\":%llu,\"t2_bytes\":%llu,\"t3_bytes\":%llu,\"processes\":%d,"
			   "\"refused\":%llu}",
			(unsigned long long)u->vram_physical, (unsigned long long)u->tier[0], (unsigned long long)u->tier[1],
			(unsigned long long)u->tier[2], u->nproc, (unsigned long long)u->refused);
	}
	fputs("],\"processes\":[", f);
	for (i = 0; i < s->nproc; i++) {
		const struct gb_stat_proc *p = &s->proc[i];
		const struct gb_status *st = &p->st;
		int first = 1;

		fprintf(f, "%s{\"pid\":%d,\"uid\":%u,\"comm\":", i ? "," : "", (int)st->pid, (unsigned)st->uid);
		str(f, p->comm);
		fputs(",\"cmdline\":", f);
		str(f, p->cmdline);
		fprintf(f, ",\"phase\":\"%s\",\"phase_since\":%.3f,\"path\":\"%c\",\"updated\":%.3f,\"host_limit\":%llu,"
			   "\"devices\":[",
			gb_phase_name(st->phase), st->phase_since, st->path, st->updated, (unsigned long long)st->host_limit);
		for (d = 0; d < st->ndev && d < GB_STATUS_MAX_DEV; d++) {
			const struct gb_status_dev *v = &st->dev[d];

			if (!v->present)
				continue;
			gb_stat_unescape(v->name, name, sizeof(name));
			fprintf(f, "%s{\"index\":%d,\"name\":", first ? "" : ",", d);
			str(f, name);
			fprintf(f, ",\"vram_limit\":%llu", (unsigned long long)v->vram_limit);
			for (t = 0; t < GB_TIERS; t++)
				fprintf(f, ",\"%s_bytes\":%llu,\"%s_peak\":%llu,\"%s_count\":%llu", tiers[t],
					(unsigned long long)v->tier[t].bytes, tiers[t], (unsigned long long)v->tier[t].peak,
					tiers[t], (unsigned long long)v->tier[t].count);
			fprintf(f, ",\"t2_pool_bytes\":%llu,\"t2_hugetlb_bytes\":%llu,\"vmm_bytes\":%llu,\"staged_bytes\":%llu,"
				   "\"refused\":%llu}",
				(unsigned long long)v->t2_pool_bytes, (unsigned long long)v->t2_hugetlb_bytes,
				(unsigned long long)v->vmm_bytes, (unsigned long long)v->staged_bytes,
				(unsigned long long)v->refused);
			first = 0;
		}
		fputs("]}", f);
	}
	fputc(']', f);
	fprintf(f, ",\"stale_count\":%d,\"bad_count\":%d", s->nstale, s->nbad);
	if (all) {
		others(f, "stale", s->stale, s->nstale);
		others(f, "bad", s->bad, s->nbad);
	}
	fputs("}\n", f);
}
