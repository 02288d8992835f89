/*
 * One snapshot of everything gb-stat shows.  Status files are read with
 * the library's parser, which refuses what it does not understand; a
 * file that does not parse, or speaks for a process that is gone, is
 * counted and kept aside, never fatal.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stat/stat.h"
#include "tune/tune.h"

extern char **environ;

void gb_stat_unescape(const char *in, char *out, size_t n)
{
	size_t j = 0;

	if (!n)
		return;
	while (*in && j + 1 < n) {
		if (in[0] == '\\' && in[1] == '\\') {
			out[j++] = '\\';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 't') {
			out[j++] = '\t';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'n') {
			out[j++] = '\n';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'x' && isxdigit((unsigned char)in[2]) &&
			   isxdigit((unsigned char)in[3])) {
			char h[3] = { in[2], in[3], 0 };

			out[j++] = (char)strtoul(h, NULL, 16);
			in += 4;
		} else {
			out[j++] = *in++;
		}
	}
	out[j] = 0;
}

char *gb_stat_size(uint64_t b, char *buf, size_t n)
{
	static const char units[] = "KMGTP";
	double v = (double)b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, n, "%llu", (unsigned long long)b);
		return buf;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (v < 9.95)
		snprintf(buf, n, "%.1f%c", v, units[u]);
	else
		snprintf(buf, n, "%.0f%c", v, units[u]);
	return buf;
}

const char *gb_stat_profile_name(int profile)
{
	return profile < 0 ? "unreadable" : gb_tune_profile_name(profile);
}

static void *grow(void *p, int n, size_t size)
{
	/* powers of two from 16 */
	if (n >= 16 && (n & (n - 1)))
		return p;
	return realloc(p, (size_t)(n < 16 ? 16 : n * 2) * size);
}

static int add_other(struct gb_stat_other **a, int *n, const char *file, pid_t pid, const char *why)
{
	struct gb_stat_other *na = grow(*a, *n, sizeof(**a));

	if (!na)
		return -1;
	*a = na;
	snprintf(na[*n].file, sizeof(na[*n].file), "%s", file);
	na[*n].pid = pid;
	snprintf(na[*n].why, sizeof(na[*n].why), "%s", why);
	(*n)++;
	return 0;
}

/* NNN.status, NNN a pid */
static pid_t status_name(const char *name)
{
	const char *p = name;
	unsigned long v = 0;

	if (!isdigit((unsigned char)*p))
		return 0;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 0x7fffffff)
			return 0;
	}
	return strcmp(p, ".status") ? 0 : (pid_t)v;
}

static void scan(struct gb_snap *s, const char *dir, int named)
{
	char path[GB_PATH_MAX + 64];
	struct dirent *de;
	struct gb_err err;
	DIR *d = opendir(dir);

	/* a default directory that is not there just means no processes */
	if (!d) {
		if (named || errno != ENOENT)
			gb_warn("unable to read %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		pid_t pid = status_name(de->d_name);
		struct gb_stat_proc *np, *p;

		if (!pid)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		np = grow(s->proc, s->nproc, sizeof(*s->proc));
		if (!np)
			break;
		s->proc = np;
		p = &s->proc[s->nproc];
		memset(p, 0, sizeof(*p));
		snprintf(p->file, sizeof(p->file), "%s", path);
		if (gb_status_read(path, &p->st, &err) < 0) {
			add_other(&s->bad, &s->nbad, path, pid, err.msg);
			continue;
		}
		if (p->st.pid != pid) {
			snprintf(err.msg, sizeof(err.msg), "%s: speaks for pid %d", path, (int)p->st.pid);
			add_other(&s->bad, &s->nbad, path, pid, err.msg);
			continue;
		}
		if (gb_status_is_stale(&p->st)) {
			add_other(&s->stale, &s->nstale, path, pid, "the process is gone");
			continue;
		}
		gb_stat_unescape(p->st.comm, p->comm, sizeof(p->comm));
		gb_stat_unescape(p->st.cmdline, p->cmdline, sizeof(p->cmdline));
		s->nproc++;
	}
	closedir(d);
}

static int by_pid(const void *a, const void *b)
{
	const struct gb_stat_proc *x = a, *y = b;

	return (x->st.pid > y->st.pid) - (x->st.pid < y->st.pid);
}

static uint64_t sysnum(const char *root, const char *path, int *ok)
{
	char full[GB_PATH_MAX * 2], *t;
	uint64_t v;

	if (!gb_tune_path(root, path, full, sizeof(full)) || !(t = gb_read_file(full, 64, NULL))) {
		*ok = 0;
		return 0;
	}
	v = strtoull(t, NULL, 10);
	free(t);
	return v;
}

static void gpus(struct gb_snap *s)
{
	int i, d, g, t;

	for (i = 0; i < s->nproc; i++)
		for (d = 0; d < s->proc[i].st.ndev && d < GB_STATUS_MAX_DEV; d++) {
			const struct gb_status_dev *v = &s->proc[i].st.dev[d];
			struct gb_stat_gpu *u = NULL;

			if (!v->present)
				continue;
			for (g = 0; g < s->ngpu; g++)
				if (s->gpu[g].index == d && !strcmp(s->gpu[g].name, v->name))
					u = &s->gpu[g];
			if (!u) {
				if (s->ngpu == GB_STAT_MAX_GPUS)
					continue;
				u = &s->gpu[s->ngpu++];
				memset(u, 0, sizeof(*u));
				u->index = d;
				snprintf(u->name, sizeof(u->name), "%s", v->name);
			}
			if (v->vram_physical > u->vram_physical)
				u->vram_physical = v->vram_physical;
			for (t = 0; t < GB_TIERS; t++)
				u->tier[t] += v->tier[t].bytes;
			u->refused += v->refused;
			u->nproc++;
		}
}

int gb_stat_collect(struct gb_snap *s, const char *root, const char *const *dirs, int ndirs)
{
	struct gb_conf conf;
	struct gb_err err;
	static struct gb_tune_state ts;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int i, j, ok = 1, r;

	memset(s, 0, sizeof(*s));
	s->taken = gb_wall_time();
	if (ndirs > 0) {
		for (i = 0; i < ndirs && i < GB_STAT_MAX_DIRS; i++)
			snprintf(s->dir[s->ndirs++], GB_PATH_MAX, "%s", dirs[i]);
	} else {
		/* where the shim writes: run_dir, or its fallback */
		if (gb_conf_load(&conf, environ, &err) < 0)
			gb_conf_defaults(&conf);
		if (gb_tune_path(root, conf.run_dir, s->dir[0], GB_PATH_MAX))
			s->ndirs = 1;
		if (xdg && *xdg == '/' && (!root || !*root))
			snprintf(s->dir[s->ndirs++], GB_PATH_MAX, "%s/greenboost", xdg);
	}
	for (i = 0; i < s->ndirs; i++) {
		for (j = 0; j < i && strcmp(s->dir[i], s->dir[j]); j++)
			;
		if (j == i)
			scan(s, s->dir[i], ndirs > 0);
	}
	qsort(s->proc, (size_t)s->nproc, sizeof(*s->proc), by_pid);
	gpus(s);
	s->pool_total = sysnum(root, "/sys/class/misc/greenboost/total_bytes", &ok);
	s->pool_free = sysnum(root, "/sys/class/misc/greenboost/free_bytes", &ok);
	s->pool_held = sysnum(root, "/sys/class/misc/greenboost/held_bytes", &ok);
	s->pool = ok;
	r = gb_tune_state_load(root, &ts, &err);
	s->tune_profile = r < 0 ? -1 : r == 1 ? 0 : ts.profile;
	s->tune_applied = r == 0 ? ts.applied : 0;
	return 0;
}

void gb_stat_free(struct gb_snap *s)
{
	free(s->proc);
	free(s->stale);
	free(s->bad);
	memset(s, 0, sizeof(*s));
}
