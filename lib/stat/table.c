/* The human view: the host, each GPU, then a line per process and GPU;
 * 80 columns; colour only when asked (on a terminal). */
#include <string.h>
#include <time.h>

#include "stat/stat.h"

#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define CYAN "\033[36m"
#define RESET "\033[0m"

static const char *phase_colour(int phase)
{
	switch (phase) {
	case GB_PHASE_MODEL_LOAD: return YELLOW;
	case GB_PHASE_INFERENCE: return GREEN;
	case GB_PHASE_STEADY: return CYAN;
	}
	return "";
}

/* the command, cut to w bytes: tabs and newlines as blanks, whatever
 * else may not reach a terminal as \xHH */
static void command(const struct gb_stat_proc *p, char *buf, size_t w)
{
	char c[sizeof(p->cmdline)];
	size_t i;

	snprintf(c, sizeof(c), "%s", *p->cmdline ? p->cmdline : p->comm);
	for (i = 0; c[i]; i++)
		if (c[i] == '\t' || c[i] == '\n')
			c[i] = ' ';
	gb_stat_safe(c, buf, w + 1);
}

static void host_line(const struct gb_snap *s, FILE *f, int colour)
{
	char a[16], b[16], c[16], when[32];

	fprintf(f, "%shost%s    ", colour ? BOLD : "", colour ? RESET : "");
	if (s->pool)
		fprintf(f, "greenboost.ko pool %s, %s free, %s held", gb_stat_size(s->pool_total, a, sizeof(a)),
			gb_stat_size(s->pool_free, b, sizeof(b)), gb_stat_size(s->pool_held, c, sizeof(c)));
	else
		fprintf(f, "no greenboost.ko pool (path B)");
	if (s->tune_profile > 0) {
		time_t t = (time_t)s->tune_applied;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
		fprintf(f, "; gb-tune %s since %s\n", gb_stat_profile_name(s->tune_profile), when);
	} else {
		fprintf(f, "; gb-tune %s\n", gb_stat_profile_name(s->tune_profile));
	}
}

void gb_stat_table(const struct gb_snap *s, FILE *f, int colour, int all)
{
	char a[16], b[16], c[16], d[16], e[16], cmd[24], name[sizeof(s->gpu[0].name)], shown[31];
	char t[4 * sizeof(s->bad[0].file) + 1];
	int i, g;

	host_line(s, f, colour);
	for (g = 0; g < s->ngpu; g++) {
		const struct gb_stat_gpu *u = &s->gpu[g];

		gb_stat_unescape(u->name, name, sizeof(name));
		fprintf(f, "%sgpu %-3d%s %s, %s: T1 %s  T2 %s  T3 %s  (%d process%s)%s\n", colour ? BOLD : "", u->index,
			colour ? RESET : "", gb_stat_safe(name, shown, sizeof(shown)), gb_stat_size(u->vram_physical, a, sizeof(a)),
			gb_stat_size(u->tier[0], b, sizeof(b)), gb_stat_size(u->tier[1], c, sizeof(c)),
			gb_stat_size(u->tier[2], d, sizeof(d)), u->nproc, u->nproc == 1 ? "" : "es",
			u->refused ? (colour ? "  " RED "refusals" RESET : "  refusals") : "");
	}
	if (!s->nproc) {
		fprintf(f, "no GreenBoost processes");
		if (s->nstale || s->nbad)
			fprintf(f, " (%d stale, %d unreadable status files%s)", s->nstale, s->nbad,
				all ? "" : ": gb-stat --all");
		fprintf(f, "\n");
	} else {
		fprintf(f, "\n%s%-7s %-16s %-10s %3s %6s %6s %6s %6s %6s %4s%s\n", colour ? BOLD : "", "PID", "COMMAND",
			"PHASE", "GPU", "T1", "T2", "T3", "T1PEAK", "T2PEAK", "PATH", colour ? RESET : "");
		for (i = 0; i < s->nproc; i++) {
			const struct gb_stat_proc *p = &s->proc[i];
			int any = 0;

			command(p, cmd, 16);
			for (g = 0; g < p->st.ndev && g < GB_STATUS_MAX_DEV; g++) {
				const struct gb_status_dev *v = &p->st.dev[g];

				if (!v->present)
					continue;
				fprintf(f, "%-7d %-16s %s%-10.10s%s %3d %6s %6s %6s %6s %6s %4c%s\n", (int)p->st.pid,
					any ? "" : cmd, colour ? phase_colour(p->st.phase) : "",
					any ? "" : gb_phase_name(p->st.phase), colour ? RESET : "", g,
					gb_stat_size(v->tier[0].bytes, a, sizeof(a)), gb_stat_size(v->tier[1].bytes, b, sizeof(b)),
					gb_stat_size(v->tier[2].bytes, c, sizeof(c)), gb_stat_size(v->tier[0].peak, d, sizeof(d)),
					gb_stat_size(v->tier[1].peak, e, sizeof(e)), p->st.path,
					v->refused ? (colour ? RED " refused" RESET : " refused") : "");
				any = 1;
			}
			if (!any)
				fprintf(f, "%-7d %-16s %s%-10.10s%s %3s %6s %6s %6s %6s %6s %4c\n", (int)p->st.pid, cmd,
					colour ? phase_colour(p->st.phase) : "", gb_phase_name(p->st.phase),
					colour ? RESET : "", "-", "-", "-", "-", "-", "-", p->st.path);
		}
		if (!all && (s->nstale || s->nbad))
			fprintf(f, "%s(%d stale, %d unreadable status files: gb-stat --all)%s\n", colour ? DIM : "",
				s->nstale, s->nbad, colour ? RESET : "");
	}
	if (all) {
		/* the reasons quote what the files say */
		for (i = 0; i < s->nstale; i++) {
			fprintf(f, "stale   %s: ", gb_stat_safe(s->stale[i].file, t, sizeof(t)));
			fprintf(f, "%s\n", gb_stat_safe(s->stale[i].why, t, sizeof(t)));
		}
		for (i = 0; i < s->nbad; i++)
			fprintf(f, "bad     %s\n", gb_stat_safe(s->bad[i].why, t, sizeof(t)));
	}
}
