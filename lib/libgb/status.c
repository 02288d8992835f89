/*
 * The per-process status file, format version 1 (greenboost(7)):
 * one "key<TAB>value" a line, keys [a-z0-9_.], device keys prefixed
 * "devN.", values without tabs or newlines, the last line ending in '\n'.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gb.h"

#define STATUS_MAX (64 * 1024)

static const char *const phase_names[] = { "INIT", "MODEL_LOAD", "INFERENCE", "STEADY" };
static const char *const tier_names[GB_TIERS] = { "t1", "t2", "t3" };
static const char *const kind_names[] = { "mem", "vmm" };

const char *gb_phase_name(int phase)
{
	return phase >= 0 && phase < 4 ? phase_names[phase] : "UNKNOWN";
}

int gb_phase_from_name(const char *s)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, phase_names[i]))
			return i;
	return -1;
}

const char *gb_alloc_kind_name(int kind)
{
	return kind >= 0 && kind < 2 ? kind_names[kind] : "unknown";
}

int gb_alloc_kind_from_name(const char *s)
{
	int i;

	for (i = 0; i < 2; i++)
		if (!strcmp(s, kind_names[i]))
			return i;
	return -1;
}

void gb_status_escape(const char *in, size_t inlen, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, j = 0;

	if (!n)
		return;
	for (i = 0; i < inlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		char e[4];
		size_t el;

		if (ch == '\\') {
			e[0] = '\\', e[1] = '\\', el = 2;
		} else if (ch == '\t') {
			e[0] = '\\', e[1] = 't', el = 2;
		} else if (ch == '\n') {
			e[0] = '\\', e[1] = 'n', el = 2;
		} else if (ch < 0x20 || ch == 0x7f) {
			e[0] = '\\', e[1] = 'x', e[2] = hex[ch >> 4], e[3] = hex[ch & 15], el = 4;
		} else {
			e[0] = (char)ch, el = 1;
		}
		if (j + el >= n)
			break;
		memcpy(out + j, e, el);
		j += el;
	}
	out[j] = 0;
}

struct out {
	char *buf;
	size_t n, len;
	int overflow;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	r = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= o->n - o->len)
		o->overflow = 1;
	else
		o->len += (size_t)r;
}

/* Text fields hold the escaped form already (the writer escapes with
 * gb_status_escape, the parser keeps what the file says), so they are
 * written as they are; a control character that slipped in still
 * cannot break the line structure. */
static void put_text(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s && !o->overflow; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			put(o, "\\x%c%c", hex[ch >> 4], hex[ch & 15]);
		else if (o->len + 1 < o->n)
			o->buf[o->len++] = (char)ch, o->buf[o->len] = 0;
		else
			o->overflow = 1;
	}
}

int gb_status_format(const struct gb_status *st, char *buf, size_t n)
{
	struct out o = { buf, n, 0, 0 };
	int d, t, k, na;

	if (!n)
		return -1;
	put(&o, "version\t%d\n", GB_STATUS_VERSION);
	put(&o, "pid\t%d\n", (int)st->pid);
	put(&o, "starttime\t%llu\n", (unsigned long long)st->starttime);
	put(&o, "uid\t%u\n", (unsigned)st->uid);
	put(&o, "comm\t");
	put_text(&o, st->comm);
	put(&o, "\ncmdline\t");
	put_text(&o, st->cmdline);
	put(&o, "\n");
	put(&o, "updated\t%.3f\n", st->updated);
	put(&o, "path\t%c\n", st->path ? st->path : 'B');
	put(&o, "phase\t%s\n", gb_phase_name(st->phase));
	put(&o, "phase_since\t%.3f\n", st->phase_since);
	put(&o, "threshold\t%llu\n", (unsigned long long)st->threshold);
	put(&o, "host_limit\t%llu\n", (unsigned long long)st->host_limit);
	put(&o, "report\t%s\n", st->report == GB_REPORT_PHYSICAL ? "physical" : "virtual");
	put(&o, "devices\t%d\n", st->ndev);
	for (d = 0; d < st->ndev && d < GB_STATUS_MAX_DEV; d++) {
		const struct gb_status_dev *v = &st->dev[d];

		if (!v->present)
			continue;
		put(&o, "dev%d.name\t", d);
		put_text(&o, v->name);
		put(&o, "\n");
		put(&o, "dev%d.vram_physical\t%llu\n", d, (unsigned long long)v->vram_physical);
		put(&o, "dev%d.vram_limit\t%llu\n", d, (unsigned long long)v->vram_limit);
		put(&o, "dev%d.kv_reserve\t%llu\n", d, (unsigned long long)v->kv_reserve);
		put(&o, "dev%d.reported_total\t%llu\n", d, (unsigned long long)v->reported_total);
		put(&o, "dev%d.reported_free\t%llu\n", d, (unsigned long long)v->reported_free);
		for (t = 0; t < GB_TIERS; t++) {
			put(&o, "dev%d.%s_bytes\t%llu\n", d, tier_names[t], (unsigned long long)v->tier[t].bytes);
			put(&o, "dev%d.%s_count\t%llu\n", d, tier_names[t], (unsigned long long)v->tier[t].count);
			put(&o, "dev%d.%s_peak\t%llu\n", d, tier_names[t], (unsigned long long)v->tier[t].peak);
		}
		put(&o, "dev%d.t2_hugetlb_bytes\t%llu\n", d, (unsigned long long)v->t2_hugetlb_bytes);
		put(&o, "dev%d.t2_pool_bytes\t%llu\n", d, (unsigned long long)v->t2_pool_bytes);
		put(&o, "dev%d.vmm_bytes\t%llu\n", d, (unsigned long long)v->vmm_bytes);
		put(&o, "dev%d.stage_bytes\t%llu\n", d, (unsigned long long)v->stage_bytes);
		put(&o, "dev%d.staged_bytes\t%llu\n", d, (unsigned long long)v->staged_bytes);
		put(&o, "dev%d.refused\t%llu\n", d, (unsigned long long)v->refused);
		na = v->nallocs < 0 ? 0 : v->nallocs > GB_STATUS_MAX_ALLOCS ? GB_STATUS_MAX_ALLOCS : v->nallocs;
		put(&o, "dev%d.allocs\t%d\n", d, na);
		for (k = 0; k < na; k++) {
			const struct gb_status_alloc *a = &v->alloc[k];

			put(&o, "dev%d.alloc%d.bytes\t%llu\n", d, k, (unsigned long long)a->bytes);
			put(&o, "dev%d.alloc%d.t1_bytes\t%llu\n", d, k, (unsigned long long)a->t1_bytes);
			put(&o, "dev%d.alloc%d.t2_bytes\t%llu\n", d, k, (unsigned long long)a->t2_bytes);
			put(&o, "dev%d.alloc%d.kind\t%s\n", d, k, gb_alloc_kind_name(a->kind));
		}
	}
	return o.overflow ? -1 : (int)o.len;
}

/* ---- parsing ---- */

static int perr(struct gb_err *err, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(struct gb_err *err, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (line)
		n = snprintf(err->msg, sizeof(err->msg), "line %zu: ", line);
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return 0;
}

/* seconds with up to 9 decimals */
static int parse_time(const char *s, double *out)
{
	uint64_t ip = 0, fp = 0, scale = 1;
	const char *dot = strchr(s, '.');
	char whole[24];

	if (dot) {
		size_t l = (size_t)(dot - s);

		if (l == 0 || l >= sizeof(whole) || strlen(dot + 1) > 9 || !dot[1])
			return -1;
		memcpy(whole, s, l);
		whole[l] = 0;
		if (parse_u64(whole, &ip) < 0 || parse_u64(dot + 1, &fp) < 0)
			return -1;
		for (l = strlen(dot + 1); l; l--)
			scale *= 10;
	} else if (parse_u64(s, &ip) < 0)
		return -1;
	*out = (double)ip + (double)fp / (double)scale;
	return 0;
}

static int copy_str(char *dst, size_t n, const char *v)
{
	size_t l = strlen(v);

	if (l >= n)
		return -1;
	/* all of it: a key given twice leaves no tail of the first value */
	memset(dst, 0, n);
	memcpy(dst, v, l);
	return 0;
}

/* the fields of a listed allocation, each a bit in alloc_seen.fields */
static const char *const alloc_fields[] = { "bytes", "t1_bytes", "t2_bytes", "kind" };
#define ALLOC_FIELDS 4

/* What the lines so far said of each allocation: which of its fields,
 * and where it was first named.  Checked once the whole file is read,
 * since keys may come in any order. */
struct alloc_seen {
	unsigned char fields[GB_STATUS_MAX_DEV][GB_STATUS_MAX_ALLOCS];
	size_t line[GB_STATUS_MAX_DEV][GB_STATUS_MAX_ALLOCS]; /* 0: not named */
};

/* "allocK.FIELD" of device idx */
static int alloc_key(struct gb_status_dev *d, uint64_t idx, struct alloc_seen *seen, const char *key,
		     const char *sub, const char *v, size_t line, struct gb_err *err)
{
	const char *p = sub + 5;
	struct gb_status_alloc *a;
	uint64_t k = 0, x;
	int f;

	for (; isdigit((unsigned char)*p); p++) {
		k = k * 10 + (unsigned)(*p - '0');
		if (k >= GB_STATUS_MAX_ALLOCS)
			return perr(err, line, "allocation index out of range in '%s'", key);
	}
	if (*p != '.' || !p[1])
		return perr(err, line, "bad allocation key '%s'", key);
	p++;
	if (!seen->line[idx][k])
		seen->line[idx][k] = line;
	for (f = 0; f < ALLOC_FIELDS && strcmp(p, alloc_fields[f]); f++)
		;
	if (f == ALLOC_FIELDS)
		return 0; /* unknown field: newer writer */
	a = &d->alloc[k];
	if (f == 3) {
		a->kind = gb_alloc_kind_from_name(v);
		if (a->kind < 0)
			return perr(err, line, "unknown allocation kind '%s'", v);
	} else if (parse_u64(v, &x) < 0) {
		return perr(err, line, "'%s' is not a number", key);
	} else {
		*(f == 0 ? &a->bytes : f == 1 ? &a->t1_bytes : &a->t2_bytes) = x;
	}
	seen->fields[idx][k] |= (unsigned char)(1 << f);
	return 0;
}

/* every allocation named is counted in devN.allocs, and every one
 * counted has all its fields */
static int allocs_check(const struct gb_status *st, const struct alloc_seen *seen, struct gb_err *err)
{
	int d, k, f;

	for (d = 0; d < GB_STATUS_MAX_DEV; d++)
		for (k = 0; k < GB_STATUS_MAX_ALLOCS; k++) {
			if (k >= st->dev[d].nallocs) {
				if (seen->line[d][k])
					return perr(err, seen->line[d][k], "dev%d.alloc%d is listed but dev%d.allocs is %d",
						    d, k, d, st->dev[d].nallocs);
				continue;
			}
			for (f = 0; f < ALLOC_FIELDS; f++)
				if (!(seen->fields[d][k] & (1 << f)))
					return perr(err, 0, "dev%d.alloc%d.%s is missing", d, k, alloc_fields[f]);
		}
	return 0;
}

static int dev_key(struct gb_status *st, struct alloc_seen *seen, const char *key, const char *v, size_t line,
		   struct gb_err *err)
{
	uint64_t x, idx = 0;
	const char *p = key + 3, *sub;
	struct gb_status_dev *d;
	int t;

	if (!isdigit((unsigned char)*p))
		return perr(err, line, "bad device key '%s'", key);
	for (; isdigit((unsigned char)*p); p++) {
		idx = idx * 10 + (unsigned)(*p - '0');
		if (idx >= GB_STATUS_MAX_DEV)
			return perr(err, line, "device index out of range in '%s'", key);
	}
	if (*p != '.')
		return perr(err, line, "bad device key '%s'", key);
	sub = p + 1;
	d = &st->dev[idx];
	d->present = 1;
	if ((int)idx + 1 > st->ndev)
		st->ndev = (int)idx + 1;
	if (!strcmp(sub, "name"))
		return copy_str(d->name, sizeof(d->name), v) < 0 ? perr(err, line, "device name too long") : 0;
	if (!strncmp(sub, "alloc", 5) && isdigit((unsigned char)sub[5]))
		return alloc_key(d, idx, seen, key, sub, v, line, err);
	if (parse_u64(v, &x) < 0)
		return perr(err, line, "'%s' is not a number", key);
	if (!strcmp(sub, "allocs")) {
		if (x > GB_STATUS_MAX_ALLOCS)
			return perr(err, line, "'%s' is more than %d", key, GB_STATUS_MAX_ALLOCS);
		d->nallocs = (int)x;
		return 0;
	}
#define U(f) if (!strcmp(sub, #f)) { d->f = x; return 0; }
	U(vram_physical) U(vram_limit) U(kv_reserve) U(reported_total) U(reported_free)
	U(t2_hugetlb_bytes) U(t2_pool_bytes) U(vmm_bytes) U(stage_bytes) U(staged_bytes) U(refused)
#undef U
	for (t = 0; t < GB_TIERS; t++) {
		size_t tl = strlen(tier_names[t]);

		if (strncmp(sub, tier_names[t], tl) || sub[tl] != '_')
			continue;
		if (!strcmp(sub + tl + 1, "bytes"))
			return d->tier[t].bytes = x, 0;
		if (!strcmp(sub + tl + 1, "count"))
			return d->tier[t].count = x, 0;
		if (!strcmp(sub + tl + 1, "peak"))
			return d->tier[t].peak = x, 0;
	}
	return 0; /* unknown device field: newer writer */
}

int gb_status_parse(const char *buf, size_t len, struct gb_status *st, struct gb_err *err)
{
	size_t pos = 0, line = 0;
	int have_version = 0, have_pid = 0;
	struct alloc_seen seen;
	char l[2048];

	memset(st, 0, sizeof(*st));
	memset(&seen, 0, sizeof(seen));
	st->path = 'B';
	if (len > STATUS_MAX)
		return perr(err, 0, "larger than %d bytes", STATUS_MAX);
	if (len == 0)
		return perr(err, 0, "empty");
	if (buf[len - 1] != '\n')
		return perr(err, 0, "truncated (no final newline)");
	while (pos < len) {
		size_t start = pos, n;
		char *tab, *key, *v, *q;
		uint64_t x;

		while (pos < len && buf[pos] != '\n')
			pos++;
		n = pos - start;
		pos++;
		line++;
		if (n >= sizeof(l))
			return perr(err, line, "line too long");
		memcpy(l, buf + start, n);
		l[n] = 0;
		if (memchr(l, 0, n))
			return perr(err, line, "NUL byte");
		tab = strchr(l, '\t');
		if (!tab)
			return perr(err, line, "no tab between key and value");
		*tab = 0;
		key = l;
		v = tab + 1;
		if (!*key)
			return perr(err, line, "empty key");
		for (q = key; *q; q++)
			if (!(islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_' || *q == '.'))
				return perr(err, line, "bad character in key");
		for (q = v; *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				return perr(err, line, "control character in value of '%s'", key);
		if (line == 1 && strcmp(key, "version"))
			return perr(err, line, "first line must be 'version'");
		if (!strcmp(key, "version")) {
			if (have_version || parse_u64(v, &x) < 0)
				return perr(err, line, "bad version");
			if (x != GB_STATUS_VERSION)
				return perr(err, line, "unsupported version %llu (this reader knows %d)",
					    (unsigned long long)x, GB_STATUS_VERSION);
			st->version = (int)x;
			have_version = 1;
		} else if (!strcmp(key, "pid")) {
			if (parse_u64(v, &x) < 0 || x == 0 || x > 0x7fffffff)
				return perr(err, line, "bad pid");
			st->pid = (pid_t)x;
			have_pid = 1;
		} else if (!strcmp(key, "starttime")) {
			if (parse_u64(v, &st->starttime) < 0)
				return perr(err, line, "bad starttime");
		} else if (!strcmp(key, "uid")) {
			if (parse_u64(v, &x) < 0 || x > 0xffffffffULL)
				return perr(err, line, "bad uid");
			st->uid = (uid_t)x;
		} else if (!strcmp(key, "comm")) {
			if (copy_str(st->comm, sizeof(st->comm), v) < 0)
				return perr(err, line, "comm too long");
		} else if (!strcmp(key, "cmdline")) {
			if (copy_str(st->cmdline, sizeof(st->cmdline), v) < 0)
				return perr(err, line, "cmdline too long");
		} else if (!strcmp(key, "updated")) {
			if (parse_time(v, &st->updated) < 0)
				return perr(err, line, "bad time in 'updated'");
		} else if (!strcmp(key, "phase_since")) {
			if (parse_time(v, &st->phase_since) < 0)
				return perr(err, line, "bad time in 'phase_since'");
		} else if (!strcmp(key, "path")) {
			if ((v[0] != 'A' && v[0] != 'B') || v[1])
				return perr(err, line, "path must be A or B");
			st->path = v[0];
		} else if (!strcmp(key, "phase")) {
			st->phase = gb_phase_from_name(v);
			if (st->phase < 0)
				return perr(err, line, "unknown phase '%s'", v);
		} else if (!strcmp(key, "threshold")) {
			if (parse_u64(v, &st->threshold) < 0)
				return perr(err, line, "bad threshold");
		} else if (!strcmp(key, "host_limit")) {
			if (parse_u64(v, &st->host_limit) < 0)
				return perr(err, line, "bad host_limit");
		} else if (!strcmp(key, "report")) {
			if (!strcmp(v, "virtual"))
				st->report = GB_REPORT_VIRTUAL;
			else if (!strcmp(v, "physical"))
				st->report = GB_REPORT_PHYSICAL;
			else
				return perr(err, line, "unknown report '%s'", v);
		} else if (!strcmp(key, "devices")) {
			if (parse_u64(v, &x) < 0 || x > GB_STATUS_MAX_DEV)
				return perr(err, line, "bad device count");
		} else if (!strncmp(key, "dev", 3) && isdigit((unsigned char)key[3])) {
			if (dev_key(st, &seen, key, v, line, err) < 0)
				return -1;
		}
		/* other keys: written by a newer version, skipped */
	}
	if (!have_version)
		return perr(err, 0, "no version line");
	if (!have_pid)
		return perr(err, 0, "no pid line");
	return allocs_check(st, &seen, err);
}

/* ---- files ---- */

char *gb_status_path(const char *dir, pid_t pid, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%d.status", dir, (int)pid);
	return buf;
}

int gb_status_write(const char *dir, const struct gb_status *st)
{
	char tmp[GB_PATH_MAX + 64], path[GB_PATH_MAX + 64], *text;
	int len, fd = -1, e;
	ssize_t w, off = 0;

	/* on the heap: the first write runs on an application thread */
	text = malloc(STATUS_MAX);
	if (!text)
		return -1;
	len = gb_status_format(st, text, STATUS_MAX);
	if (len < 0) {
		free(text);
		errno = EOVERFLOW;
		return -1;
	}
	/* an unpredictable name in a directory every user can write to */
	snprintf(tmp, sizeof(tmp), "%s/.%d.status.XXXXXX", dir, (int)st->pid);
	gb_status_path(dir, st->pid, path, sizeof(path));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		free(text);
		errno = e;
		return -1;
	}
	fchmod(fd, 0644);
	while (off < len) {
		w = write(fd, text + off, (size_t)(len - off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += w;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	/* fails (EPERM) where someone else's file squats the name: no status */
	if (rename(tmp, path) < 0)
		goto fail;
	free(text);
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(text);
	errno = e;
	return -1;
}

int gb_status_read(const char *path, struct gb_status *st, struct gb_err *err)
{
	struct stat sb;
	size_t len;
	char *t;
	int r, fd, e;

	/* In a directory every user can write to: no links followed, no
	 * waiting on a FIFO put there, and a file speaks only for its owner.
	 * The checks are on what was opened, not on the name. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
			 errno == ELOOP ? "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		snprintf(err->msg, sizeof(err->msg), "%s: not a regular file", path);
		return -1;
	}
	t = gb_read_fd(fd, STATUS_MAX, &len);
	e = errno;
	close(fd);
	errno = e;
	if (!t) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
			 errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
		return -1;
	}
	r = gb_status_parse(t, len, st, err);
	free(t);
	if (r < 0) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, m);
		return -1;
	}
	if (sb.st_uid != st->uid && sb.st_uid != 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: owned by uid %u but claims uid %u", path,
			 (unsigned)sb.st_uid, (unsigned)st->uid);
		return -1;
	}
	return 0;
}

int gb_status_is_stale(const struct gb_status *st)
{
	char proc[32];
	struct stat sb;
	uint64_t t;

	if (kill(st->pid, 0) < 0 && errno == ESRCH)
		return 1;
	/* the pid was reused: another start time, or another user */
	t = gb_proc_starttime(st->pid);
	if (t && st->starttime && t != st->starttime)
		return 1;
	snprintf(proc, sizeof(proc), "/proc/%d", (int)st->pid);
	return stat(proc, &sb) == 0 && sb.st_uid != st->uid;
}

static int usable_dir(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return 0;
	return access(dir, W_OK | X_OK) == 0;
}

const char *gb_run_dir_pick(const char *dir, char *buf, size_t n, int *fellback)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	*fellback = 0;
	if (dir && *dir) {
		/* shared between users like /tmp: sticky and world-writable */
		if (mkdir(dir, 01777) == 0)
			chmod(dir, 01777);
		if (usable_dir(dir)) {
			snprintf(buf, n, "%s", dir);
			return buf;
		}
	}
	if (!xdg || *xdg != '/')
		return NULL;
	snprintf(buf, n, "%s/greenboost", xdg);
	mkdir(buf, 0700);
	if (!usable_dir(buf))
		return NULL;
	*fellback = 1;
	return buf;
}
