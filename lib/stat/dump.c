/*
 * gb-stat dump: tab-separated records, one a line, the first field the
 * record's kind (gb-stat(1) lists the fields; new ones are only ever
 * added at the end).  Text fields keep the status file's escapes, so a
 * tab or newline in a command line cannot split a record.  Sizes in
 * bytes, times in seconds since the epoch.
 */
#include <string.h>

#include "stat/stat.h"

/* a message or a path, with any control character made a space */
static const char *clean(const char *in, char *out, size_t n)
{
	size_t i;

	snprintf(out, n, "%s", in);
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return out;
}

void gb_stat_dump(const struct gb_snap *s, FILE *f, int all)
{
	char a[GB_PATH_MAX + 64], b[256];
	int i, d;

	fprintf(f, "host\t%d\t%llu\t%llu\t%llu\t%s\t%.3f\t%d\t%d\t%d\n", s->pool, (unsigned long long)s->pool_total,
		(unsigned long long)s->pool_free, (unsigned long long)s->pool_held, gb_stat_profile_name(s->tune_profile),
		s->tune_applied, s->nproc, s->nstale, s->nbad);
	for (i = 0; i < s->ngpu; i++) {
		const struct gb_stat_gpu *u = &s->gpu[i];

		fprintf(f, "gpu\t%d\t%s\t%llu\t%llu\t%llu\t%llu\t%d\t%llu\n", u->index, u->name,
			(unsigned long long)u->vram_physical, (unsigned long long)u->tier[0],
			(unsigned long long)u->tier[1], (unsigned long long)u->tier[2], u->nproc,
			(unsigned long long)u->refused);
	}
	for (i = 0; i < s->nproc; i++) {
		const struct gb_status *st = &s->proc[i].st;

		fprintf(f, "process\t%d\t%u\t%s\t%s\t%c\t%.3f\t%.3f\t%llu\t%s\n", (int)st->pid, (unsigned)st->uid,
			*st->comm ? st->comm : "(none)", gb_phase_name(st->phase), st->path, st->phase_since, st->updated,
			(unsigned long long)st->host_limit, *st->cmdline ? st->cmdline : "(none)");
		for (d = 0; d < st->ndev && d < GB_STATUS_MAX_DEV; d++) {
			const struct gb_status_dev *v = &st->dev[d];

			if (!v->present)
				continue;
			fprintf(f, "device\t%d\t%d\t%s\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n",
				(int)st->pid, d, *v->name ? v->name : "(none)", (unsigned long long)v->vram_limit,
				(unsigned long long)v->tier[0].bytes, (unsigned long long)v->tier[0].peak,
				(unsigned long long)v->tier[1].bytes, (unsigned long long)v->tier[1].peak,
				(unsigned long long)v->tier[2].bytes, (unsigned long long)v->tier[2].peak,
				(unsigned long long)v->t2_pool_bytes, (unsigned long long)v->t2_hugetlb_bytes,
				(unsigned long long)v->vmm_bytes, (unsigned long long)v->staged_bytes,
				(unsigned long long)v->refused);
		}
	}
	if (!all)
		return;
	for (i = 0; i < s->nstale; i++)
		fprintf(f, "stale\t%d\t%s\t%s\n", (int)s->stale[i].pid, clean(s->stale[i].file, a, sizeof(a)),
			clean(s->stale[i].why, b, sizeof(b)));
	for (i = 0; i < s->nbad; i++)
		fprintf(f, "bad\t%d\t%s\t%s\n", (int)s->bad[i].pid, clean(s->bad[i].file, a, sizeof(a)),
			clean(s->bad[i].why, b, sizeof(b)));
}
