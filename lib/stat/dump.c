/*
 * gb-stat dump: tab-separated records, one a line, the first field the
 * record's kind (gb-stat(1) lists the fields; new ones are only ever
 * added at the end).  Text fields keep the status file's escapes, so a
 * tab or newline in a command line cannot split a record, and what else
 * may not reach a terminal (gb_stat_printable) is escaped the same way,
 * \xHH.  Sizes in bytes, times in seconds since the epoch.
 */
#include <string.h>

#include "stat/stat.h"

void gb_stat_dump(const struct gb_snap *s, FILE *f, int all)
{
	/* each byte at most 4 */
	char a[4 * sizeof(s->proc[0].st.cmdline) + 1], b[4 * sizeof(s->proc[0].st.comm) + 1];
	int i, d;

	fprintf(f, "host\t%d\t%llu\t%llu\t%llu\t%s\t%.3f\t%d\t%d\t%d\n", s->pool, (unsigned long long)s->pool_total,
		(unsigned long long)s->pool_free, (unsigned long long)s->pool_held, gb_stat_profile_name(s->tune_profile),
		s->tune_applied, s->nproc, s->nstale, s->nbad);
	for (i = 0; i < s->ngpu; i++) {
		const struct gb_stat_gpu *u = &s->gpu[i];

		fprintf(f, "gpu\t%d\t%s\t%llu\t%llu\t%llu\t%llu\t%d\t%llu\n", u->index, gb_stat_safe(u->name, a, sizeof(a)),
			(unsigned long long)u->vram_physical, (unsigned long long)u->tier[0],
			(unsigned long long)u->tier[1], (unsigned long long)u->tier[2], u->nproc,
			(unsigned long long)u->refused);
	}
	for (i = 0; i < s->nproc; i++) {
		const struct gb_status *st = &s->proc[i].st;

		fprintf(f, "process\t%d\t%u\t%s\t%s\t%c\t%.3f\t%.3f\t%llu\t%s\n", (int)st->pid, (unsigned)st->uid,
			*st->comm ? gb_stat_safe(st->comm, b, sizeof(b)) : "(none)", gb_phase_name(st->phase), st->path,
			st->phase_since, st->updated, (unsigned long long)st->host_limit,
			*st->cmdline ? gb_stat_safe(st->cmdline, a, sizeof(a)) : "(none)");
		for (d = 0; d < st->ndev && d < GB_STATUS_MAX_DEV; d++) {
			const struct gb_status_dev *v = &st->dev[d];

			if (!v->present)
				continue;
			fprintf(f, "device\t%d\t%d\t%s\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n",
				(int)st->pid, d, *v->name ? gb_stat_safe(v->name, a, sizeof(a)) : "(none)",
				(unsigned long long)v->vram_limit,
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
	/* the reasons quote what the files say */
	for (i = 0; i < s->nstale; i++) {
		fprintf(f, "stale\t%d\t%s\t", (int)s->stale[i].pid, gb_stat_safe(s->stale[i].file, a, sizeof(a)));
		fprintf(f, "%s\n", gb_stat_safe(s->stale[i].why, a, sizeof(a)));
	}
	for (i = 0; i < s->nbad; i++) {
		fprintf(f, "bad\t%d\t%s\t", (int)s->bad[i].pid, gb_stat_safe(s->bad[i].file, a, sizeof(a)));
		fprintf(f, "%s\n", gb_stat_safe(s->bad[i].why, a, sizeof(a)));
	}
}
