/*
 * Configuration: one table lists every key with its type, default and
 * bounds.  The file parser, the GB_* environment, gb-run's options, its
 * --help and the man page all follow it (tests/bats/docs.bats checks the
 * documents against `gb-run --print-config`).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb.h"

#ifndef GB_SYSCONFDIR
#define GB_SYSCONFDIR "/etc"
#endif

#define OFF(f) offsetof(struct gb_conf, f)

static const char *const report_choices[] = { "virtual", "physical", NULL };
static const char *const level_choices[] = { "error", "warn", "info", "debug", NULL };

const struct gb_conf_key gb_conf_keys[] = {
	{ "enable", GB_CT_BOOL, "on", "on|off",
	  "intercept CUDA allocations (off: the shim passes everything through)",
	  OFF(enable), 0, 0, 0, NULL },
	{ "threshold", GB_CT_SIZE, "1M", "SIZE",
	  "allocations smaller than this pass straight through to the driver",
	  OFF(threshold), 0, GB_TiB, 0, NULL },
	{ "vram_limit", GB_CT_SIZEPCT, "100%", "SIZE|PCT",
	  "VRAM this process may use per GPU (percent of the card); emulates a smaller card",
	  OFF(vram_limit), 64 * GB_MiB, 1ULL << 50, 100000, NULL },
	{ "host_limit", GB_CT_SIZEPCT, "75%", "SIZE|PCT",
	  "pinned host memory (tier T2) this process may use (percent of MemAvailable at start)",
	  OFF(host_limit), 0, 1ULL << 50, 100000, NULL },
	{ "kv_reserve", GB_CT_SIZEPCT, "5%", "SIZE|PCT",
	  "VRAM held back from model loading for the KV cache (percent of vram_limit)",
	  OFF(kv_reserve), 0, 1ULL << 50, 90000, NULL },
	{ "report", GB_CT_ENUM, "virtual", "virtual|physical",
	  "memory size reported to applications: vram_limit + host_limit, or vram_limit alone",
	  OFF(report), 0, 0, 0, report_choices },
	{ "hugepages", GB_CT_BOOL, "on", "on|off",
	  "back T2 with 2 MB pages from the hugepage pool while it has free pages",
	  OFF(hugepages), 0, 0, 0, NULL },
	{ "pool_device", GB_CT_PATH, "/dev/greenboost", "PATH",
	  "the kernel module's pool of 2 MB pages, used for T2 while it has pages (empty: never)",
	  OFF(pool_device), 0, 0, 0, NULL },
	{ "t2_stream", GB_CT_BOOL, "off", "on|off",
	  "copy T2 memory into VRAM with the copy engine for each kernel that reads it (inference)",
	  OFF(t2_stream), 0, 0, 0, NULL },
	{ "t2_overlap", GB_CT_BOOL, "on", "on|off",
	  "let t2_stream copy a kernel's T2 memory while the kernel before it runs",
	  OFF(t2_overlap), 0, 0, 0, NULL },
	{ "t2_stage", GB_CT_SIZE, "512M", "SIZE",
	  "VRAM set aside for t2_stream's copies; larger allocations are read in place",
	  OFF(t2_stage), 16 * GB_MiB, 64 * GB_GiB, 0, NULL },
	{ "phase_gap", GB_CT_MS, "2s", "DURATION",
	  "a pause in large allocations this long ends the MODEL_LOAD phase",
	  OFF(phase_gap_ms), 1, 24ULL * 3600 * 1000, 0, NULL },
	{ "steady_after", GB_CT_MS, "10s", "DURATION",
	  "INFERENCE becomes STEADY after this long without large allocations or frees",
	  OFF(steady_after_ms), 1, 24ULL * 3600 * 1000, 0, NULL },
	{ "log_level", GB_CT_ENUM, "warn", "error|warn|info|debug",
	  "how much the shim logs",
	  OFF(log_level), 0, 0, 0, level_choices },
	{ "log_file", GB_CT_PATH, "", "PATH",
	  "append the shim's log lines to this file instead of standard error",
	  OFF(log_file), 0, 0, 0, NULL },
	{ "status", GB_CT_BOOL, "on", "on|off",
	  "keep a status file for each process under run_dir",
	  OFF(status), 0, 0, 0, NULL },
	{ "run_dir", GB_CT_PATH, "/run/greenboost", "DIR",
	  "directory of status files ($XDG_RUNTIME_DIR/greenboost when not writable)",
	  OFF(run_dir), 0, 0, 0, NULL },
	{ "status_interval", GB_CT_MS, "500ms", "DURATION",
	  "status files are rewritten at most this often",
	  OFF(status_interval_ms), 50, 3600 * 1000, 0, NULL },
};

const size_t gb_conf_nkeys = sizeof(gb_conf_keys) / sizeof(gb_conf_keys[0]);

_Static_assert(sizeof(gb_conf_keys) / sizeof(gb_conf_keys[0]) <=
	       sizeof(((struct gb_conf *)0)->origin) / sizeof(((struct gb_conf *)0)->origin[0]),
	       "origin[] too small for the key table");

const struct gb_conf_key *gb_conf_key_find(const char *name)
{
	size_t i;

	for (i = 0; i < gb_conf_nkeys; i++)
		if (!strcmp(gb_conf_keys[i].name, name))
			return &gb_conf_keys[i];
	return NULL;
}

static size_t key_index(const struct gb_conf_key *k)
{
	return (size_t)(k - gb_conf_keys);
}

char *gb_conf_env_name(const struct gb_conf_key *k, char *buf, size_t n)
{
	size_t i, j = 0;

	if (n < 4)
		return NULL;
	memcpy(buf, "GB_", 3);
	j = 3;
	for (i = 0; k->name[i] && j + 1 < n; i++)
		buf[j++] = (char)toupper((unsigned char)k->name[i]);
	buf[j] = 0;
	return buf;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1", NULL };
	static const char *const no[] = { "off", "no", "false", "0", NULL };
	int i;

	for (i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i]))
			return *out = 1, 0;
	for (i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i]))
			return *out = 0, 0;
	return -1;
}

/* err->msg gets "WHERE: key: reason" */
static int fail(struct gb_err *err, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct gb_err *err, const char *where, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!err)
		return -1;
	if (where && *where)
		n = snprintf(err->msg, sizeof(err->msg), "%s: ", where);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int set_value(struct gb_conf *c, const struct gb_conf_key *k, const char *v,
		     struct gb_err *err, const char *where)
{
	char *field = (char *)c + k->off;
	const char *why = NULL;
	char a[32], b[32];
	int i;

	switch (k->type) {
	case GB_CT_BOOL:
		if (parse_bool(v, (int *)field) < 0)
			return fail(err, where, "%s: invalid value '%s': expected on or off", k->name, v);
		return 0;
	case GB_CT_SIZE: {
		uint64_t x;

		if (gb_size_parse(v, &x, &why) < 0)
			return fail(err, where, "%s: invalid size '%s': %s (expected e.g. 512K, 1M, 12G)",
				    k->name, v, why);
		if (x < k->min || x > k->max)
			return fail(err, where, "%s: %s out of range %s to %s", k->name, v,
				    gb_size_str(k->min, a, sizeof(a)), gb_size_str(k->max, b, sizeof(b)));
		*(uint64_t *)field = x;
		return 0;
	}
	case GB_CT_SIZEPCT: {
		struct gb_sizepct x;

		if (gb_sizepct_parse(v, &x, &why) < 0)
			return fail(err, where, "%s: invalid size '%s': %s (expected e.g. 12G, 512M or 80%%)",
				    k->name, v, why);
		if (x.is_pct && x.pct_milli > k->pct_max)
			return fail(err, where, "%s: %s is over the largest percentage, %u%%", k->name, v,
				    k->pct_max / 1000);
		if (!x.is_pct && (x.bytes < k->min || x.bytes > k->max))
			return fail(err, where, "%s: %s out of range %s to %s", k->name, v,
				    gb_size_str(k->min, a, sizeof(a)), gb_size_str(k->max, b, sizeof(b)));
		*(struct gb_sizepct *)field = x;
		return 0;
	}
	case GB_CT_MS: {
		uint64_t x;

		if (gb_ms_parse(v, &x, &why) < 0)
			return fail(err, where, "%s: invalid duration '%s': %s (expected e.g. 500ms, 2s)",
				    k->name, v, why);
		if (x < k->min || x > k->max)
			return fail(err, where, "%s: %s out of range %llums to %llums", k->name, v,
				    (unsigned long long)k->min, (unsigned long long)k->max);
		*(uint64_t *)field = x;
		return 0;
	}
	case GB_CT_ENUM:
		for (i = 0; k->choices[i]; i++)
			if (!strcmp(v, k->choices[i])) {
				*(int *)field = i;
				return 0;
			}
		return fail(err, where, "%s: invalid value '%s': expected one of %s", k->name, v, k->arg);
	case GB_CT_PATH:
		if (strlen(v) >= GB_PATH_MAX)
			return fail(err, where, "%s: path longer than %d bytes", k->name, GB_PATH_MAX - 1);
		if (*v && *v != '/')
			return fail(err, where, "%s: '%s' is not an absolute path", k->name, v);
		strcpy(field, v);
		return 0;
	}
	return fail(err, where, "%s: unknown key type", k->name);
}

int gb_conf_set(struct gb_conf *c, const struct gb_conf_key *k, const char *value,
		const char *origin, struct gb_err *err)
{
	if (set_value(c, k, value, err, origin) < 0)
		return -1;
	snprintf(c->origin[key_index(k)], sizeof(c->origin[0]), "%s", origin ? origin : "");
	return 0;
}

void gb_conf_defaults(struct gb_conf *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < gb_conf_nkeys; i++) {
		/* the table's defaults are valid by construction: t-conf checks it */
		set_value(c, &gb_conf_keys[i], gb_conf_keys[i].def, NULL, "");
		strcpy(c->origin[i], "default");
	}
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = 0;
	*end = 0;
	return s;
}

int gb_conf_parse(struct gb_conf *c, const char *name, const char *text, size_t len,
		  struct gb_err *err)
{
	size_t seen[sizeof(c->origin) / sizeof(c->origin[0])] = { 0 };
	size_t pos = 0, lineno = 0;
	char line[1024], where[GB_PATH_MAX + 1200];

	while (pos < len) {
		size_t start = pos, l;
		char *key, *val, *eq, *p;
		const struct gb_conf_key *k;

		while (pos < len && text[pos] != '\n')
			pos++;
		l = pos - start;
		if (pos < len)
			pos++;
		lineno++;
		if (l >= sizeof(line)) {
			snprintf(where, sizeof(where), "%s:%zu", name, lineno);
			return fail(err, where, "line longer than %zu bytes", sizeof(line) - 1);
		}
		memcpy(line, text + start, l);
		line[l] = 0;
		if (memchr(line, 0, l)) {
			snprintf(where, sizeof(where), "%s:%zu", name, lineno);
			return fail(err, where, "NUL byte in line");
		}
		for (p = line; *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\r') {
				snprintf(where, sizeof(where), "%s:%zu", name, lineno);
				return fail(err, where, "control character in line");
			}
		key = trim(line, line + l);
		if (!*key || *key == '#')
			continue;
		/* the line itself goes into every message from here on */
		snprintf(where, sizeof(where), "%s:%zu: \"%s\"", name, lineno, key);
		eq = strchr(key, '=');
		if (!eq)
			return fail(err, where, "expected 'key = value'");
		val = trim(eq + 1, eq + 1 + strlen(eq + 1));
		key = trim(key, eq);
		if (!*key)
			return fail(err, where, "missing key before '='");
		k = gb_conf_key_find(key);
		if (!k)
			return fail(err, where, "unknown key '%s'", key);
		if (seen[key_index(k)])
			return fail(err, where, "%s set twice (first on line %zu)", k->name, seen[key_index(k)]);
		if (set_value(c, k, val, err, where) < 0)
			return -1;
		seen[key_index(k)] = lineno;
		snprintf(c->origin[key_index(k)], sizeof(c->origin[0]), "%s:%zu", name, lineno);
	}
	return 0;
}

int gb_conf_load_file(struct gb_conf *c, const char *path, int must_exist, struct gb_err *err)
{
	size_t len;
	char *text = gb_read_file(path, 1 << 20, &len);
	int r;

	if (!text) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return fail(err, path, "unable to read: %s", errno == EFBIG ? "file larger than 1 MiB" : strerror(errno));
	}
	r = gb_conf_parse(c, path, text, len, err);
	free(text);
	return r;
}

int gb_conf_load_env(struct gb_conf *c, char *const *envp, struct gb_err *err,
		     void (*unknown)(const char *name))
{
	char name[64], where[96];
	size_t i;

	for (i = 0; i < gb_conf_nkeys; i++) {
		const struct gb_conf_key *k = &gb_conf_keys[i];
		size_t nl;
		char *const *e;

		gb_conf_env_name(k, name, sizeof(name));
		nl = strlen(name);
		for (e = envp; e && *e; e++)
			if (!strncmp(*e, name, nl) && (*e)[nl] == '=') {
				snprintf(where, sizeof(where), "%s", name);
				if (gb_conf_set(c, k, *e + nl + 1, where, err) < 0)
					return -1;
			}
	}
	if (unknown) {
		static const char *const other[] = { "GB_CONFIG", "GB_CUDA_LIB", "GB_NVML_LIB", "GB_SHIM", NULL };
		char *const *e;

		for (e = envp; e && *e; e++) {
			const char *eq = strchr(*e, '=');
			int known = 0;

			if (strncmp(*e, "GB_", 3) || !eq || (size_t)(eq - *e) >= sizeof(name))
				continue;
			memcpy(name, *e, eq - *e);
			name[eq - *e] = 0;
			for (i = 0; other[i] && !known; i++)
				known = !strcmp(name, other[i]);
			for (i = 0; i < gb_conf_nkeys && !known; i++) {
				char kn[64];

				known = !strcmp(name, gb_conf_env_name(&gb_conf_keys[i], kn, sizeof(kn)));
			}
			if (!known)
				unknown(name);
		}
	}
	return 0;
}

const char *gb_conf_path(void)
{
	const char *p = getenv(GB_CONF_DEFAULT_PATH_ENV);

	return p && *p ? p : GB_SYSCONFDIR "/greenboost/greenboost.conf";
}

int gb_conf_load(struct gb_conf *c, char *const *envp, struct gb_err *err)
{
	const char *p = getenv(GB_CONF_DEFAULT_PATH_ENV);

	gb_conf_defaults(c);
	/* an explicitly named file must exist; the default one may not */
	if (gb_conf_load_file(c, gb_conf_path(), p && *p, err) < 0)
		return -1;
	return gb_conf_load_env(c, envp, err, NULL);
}

char *gb_conf_value_str(const struct gb_conf *c, const struct gb_conf_key *k, char *buf, size_t n)
{
	const char *field = (const char *)c + k->off;

	switch (k->type) {
	case GB_CT_BOOL:
		snprintf(buf, n, "%s", *(const int *)field ? "on" : "off");
		break;
	case GB_CT_SIZE:
		gb_size_str(*(const uint64_t *)field, buf, n);
		break;
	case GB_CT_SIZEPCT:
		gb_sizepct_str((const struct gb_sizepct *)field, buf, n);
		break;
	case GB_CT_MS: {
		uint64_t ms = *(const uint64_t *)field;

		if (ms && ms % 1000 == 0)
			snprintf(buf, n, "%llus", (unsigned long long)(ms / 1000));
		else
			snprintf(buf, n, "%llums", (unsigned long long)ms);
		break;
	}
	case GB_CT_ENUM:
		snprintf(buf, n, "%s", k->choices[*(const int *)field]);
		break;
	case GB_CT_PATH:
		snprintf(buf, n, "%s", field);
		break;
	default:
		snprintf(buf, n, "?");
	}
	return buf;
}
