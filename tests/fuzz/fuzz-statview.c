/* a status file, whatever its bytes, through every view of gb-stat (table,
 * dump, JSON, Prometheus): never a crash, and the JSON and Prometheus
 * output stay free of raw control characters */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stat/stat.h"

static void clean(const char *buf, size_t n, int allow_nl)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 && !(allow_nl && buf[i] == '\n'))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gb_stat_proc proc;
	struct gb_snap s;
	struct gb_err err;
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	if (gb_status_parse((const char *)data, size, &proc.st, &err) < 0)
		return 0;
	gb_stat_unescape(proc.st.comm, proc.comm, sizeof(proc.comm));
	gb_stat_unescape(proc.st.cmdline, proc.cmdline, sizeof(proc.cmdline));
	memset(&s, 0, sizeof(s));
	s.nproc = 1;
	s.proc = &proc;
	s.ngpu = 1;
	snprintf(s.gpu[0].name, sizeof(s.gpu[0].name), "%s", proc.st.dev[0].name);

	f = open_memstream(&out, &n);
	if (!f)
		return 0;
	gb_stat_json(&s, f, 1);
	fflush(f);
	clean(out, n, 1);
	fclose(f);
	free(out);

	out = NULL;
	f = open_memstream(&out, &n);
	if (!f)
		return 0;
	gb_stat_prom(&s, f);
	fflush(f);
	clean(out, n, 1);
	fclose(f);
	free(out);

	out = NULL;
	f = open_memstream(&out, &n);
	if (!f)
		return 0;
	gb_stat_dump(&s, f, 1);
	gb_stat_table(&s, f, 1, 1);
	fclose(f);
	free(out);
	return 0;
}
