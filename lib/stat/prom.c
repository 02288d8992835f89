/*
 * gb-stat --prometheus: the text exposition format, for node_exporter's
 * textfile collector.  Names follow Prometheus's conventions: a
 * greenboost_ prefix, base units in the name (_bytes), _total for
 * counters, and a label per dimension (pid, gpu, tier, state).
 */
#include <string.h>

#include "stat/stat.h"

/* a label value: \\, \" and \n escaped as the format has it; any other
 * byte gb_stat_printable refuses as the text \xHH (the status file's
 * escape), its backslash escaped */
static void label(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = gb_stat_printable(p);

		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p++);
		else if (*p == '\n')
			fputs("\\n", f), p++;
		else if (!n)
			fprintf(f, "\\\\x%02x", *p++);
		else
			fwrite(p, 1, (size_t)n, f), p += n;
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{pid="..",comm="..",gpu=".."[,tier=".."]} */
static void proc_labels(FILE *f, const char *name, const struct gb_stat_proc *p, int gpu, const char *tier)
{
	fprintf(f, "%s{pid=\"%d\",comm=\"", name, (int)p->st.pid);
	label(f, p->comm);
	fprintf(f, "\",gpu=\"%d\"", gpu);
	if (tier)
		fprintf(f, ",tier=\"%s\"", tier);
	fputs("} ", f);
}

void gb_stat_prom(const struct gb_snap *s, FILE *f)
{
	static const char *const tiers[GB_TIERS] = { "t1", "t2", "t3" };
	char name[sizeof(s->gpu[0].name)];
	int i, d, t;

	head(f, "greenboost_processes", "gauge", "Processes running under the GreenBoost shim.");
	fprintf(f, "greenboost_processes %d\n", s->nproc);
	head(f, "greenboost_status_files_stale", "gauge", "Status files of processes that are gone.");
	fprintf(f, "greenboost_status_files_stale %d\n", s->nstale);
	head(f, "greenboost_status_files_unreadable", "gauge", "Status files that could not be read or parsed.");
	fprintf(f, "greenboost_status_files_unreadable %d\n", s->nbad);
	if (s->pool) {
		head(f, "greenboost_pool_bytes", "gauge", "greenboost.ko's pool of 2 MB pages, by state.");
		fprintf(f, "greenboost_pool_bytes{state=\"total\"} %llu\n", (unsigned long long)s->pool_total);
		fprintf(f, "greenboost_pool_bytes{state=\"free\"} %llu\n", (unsigned long long)s->pool_free);
		fprintf(f, "greenboost_pool_bytes{state=\"held\"} %llu\n", (unsigned long long)s->pool_held);
	}
	head(f, "greenboost_tune_info", "gauge", "The gb-tune profile in force.");
	fprintf(f, "greenboost_tune_info{profile=\"%s\"} 1\n", gb_stat_profile_name(s->tune_profile));

	head(f, "greenboost_gpu_vram_bytes", "gauge", "VRAM of the GPU, as the processes on it saw it.");
	for (i = 0; i < s->ngpu; i++) {
		gb_stat_unescape(s->gpu[i].name, name, sizeof(name));
		fprintf(f, "greenboost_gpu_vram_bytes{gpu=\"%d\",name=\"", s->gpu[i].index);
		label(f, name);
		fprintf(f, "\"} %llu\n", (unsigned long long)s->gpu[i].vram_physical);
	}
	head(f, "greenboost_gpu_memory_bytes", "gauge", "Memory placed by GreenBoost for the GPU, by tier, all processes.");
	for (i = 0; i < s->ngpu; i++)
		for (t = 0; t < GB_TIERS; t++) {
			gb_stat_unescape(s->gpu[i].name, name, sizeof(name));
			fprintf(f, "greenboost_gpu_memory_bytes{gpu=\"%d\",name=\"", s->gpu[i].index);
			label(f, name);
			fprintf(f, "\",tier=\"%s\"} %llu\n", tiers[t], (unsigned long long)s->gpu[i].tier[t]);
		}

	head(f, "greenboost_process_info", "gauge", "A process under the shim: its phase and host-memory path.");
	for (i = 0; i < s->nproc; i++) {
		fprintf(f, "greenboost_process_info{pid=\"%d\",comm=\"", (int)s->proc[i].st.pid);
		label(f, s->proc[i].comm);
		fprintf(f, "\",uid=\"%u\",phase=\"%s\",path=\"%c\"} 1\n", (unsigned)s->proc[i].st.uid,
			gb_phase_name(s->proc[i].st.phase), s->proc[i].st.path);
	}
#define EACH_DEV(body)                                                                   \
	for (i = 0; i < s->nproc; i++)                                                   \
		for (d = 0; d < s->proc[i].st.ndev && d < GB_STATUS_MAX_DEV; d++) {      \
			const struct gb_status_dev *v = &s->proc[i].st.dev[d];           \
			if (!v->present)                                                 \
				continue;                                                \
			body                                                             \
		}
	head(f, "greenboost_process_memory_bytes", "gauge", "Memory a process has in each tier.");
	EACH_DEV(for (t = 0; t < GB_TIERS; t++) {
		proc_labels(f, "greenboost_process_memory_bytes", &s->proc[i], d, tiers[t]);
		fprintf(f, "%llu\n", (unsigned long long)v->tier[t].bytes);
	})
	head(f, "greenboost_process_memory_peak_bytes", "gauge", "The most a process has had in each tier.");
	EACH_DEV(for (t = 0; t < GB_TIERS; t++) {
		proc_labels(f, "greenboost_process_memory_peak_bytes", &s->proc[i], d, tiers[t]);
		fprintf(f, "%llu\n", (unsigned long long)v->tier[t].peak);
	})
	head(f, "greenboost_process_allocations", "gauge", "Allocations a process has in each tier.");
	EACH_DEV(for (t = 0; t < GB_TIERS; t++) {
		proc_labels(f, "greenboost_process_allocations", &s->proc[i], d, tiers[t]);
		fprintf(f, "%llu\n", (unsigned long long)v->tier[t].count);
	})
	head(f, "greenboost_process_vram_limit_bytes", "gauge", "The VRAM a process may use.");
	EACH_DEV(proc_labels(f, "greenboost_process_vram_limit_bytes", &s->proc[i], d, NULL);
		 fprintf(f, "%llu\n", (unsigned long long)v->vram_limit);)
	head(f, "greenboost_process_t2_pool_bytes", "gauge", "Of T2, bytes from greenboost.ko's pool (path A).");
	EACH_DEV(proc_labels(f, "greenboost_process_t2_pool_bytes", &s->proc[i], d, NULL);
		 fprintf(f, "%llu\n", (unsigned long long)v->t2_pool_bytes);)
	head(f, "greenboost_process_t2_hugetlb_bytes", "gauge", "Of T2, bytes on hugetlb pages.");
	EACH_DEV(proc_labels(f, "greenboost_process_t2_hugetlb_bytes", &s->proc[i], d, NULL);
		 fprintf(f, "%llu\n", (unsigned long long)v->t2_hugetlb_bytes);)
	head(f, "greenboost_process_staged_bytes_total", "counter", "Bytes copied from T2 into VRAM by t2_stream.");
	EACH_DEV(proc_labels(f, "greenboost_process_staged_bytes_total", &s->proc[i], d, NULL);
		 fprintf(f, "%llu\n", (unsigned long long)v->staged_bytes);)
	head(f, "greenboost_process_refused_total", "counter", "Allocations answered out of memory.");
	EACH_DEV(proc_labels(f, "greenboost_process_refused_total", &s->proc[i], d, NULL);
		 fprintf(f, "%llu\n", (unsigned long long)v->refused);)
#undef EACH_DEV
}
