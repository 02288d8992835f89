/* libgb configuration: the table, the file, the environment */
#include <fcntl.h>
#include <unistd.h>

#include "gb.h"
#include "../tap.h"

static int unknown;

static void cb(const char *n)
{
	unknown += !strcmp(n, "GB_NOPE");
}

static int parse(struct gb_conf *c, const char *text, struct gb_err *err)
{
	gb_conf_defaults(c);
	memset(err, 0, sizeof(*err));
	return gb_conf_parse(c, "test.conf", text, strlen(text), err);
}

static void bad(const char *text, const char *msg)
{
	struct gb_conf c;
	struct gb_err err;

	if (!ok(parse(&c, text, &err) < 0 && strstr(err.msg, msg), "rejects %s", msg))
		printf("#   message: %s\n", err.msg);
}

int main(void)
{
	struct gb_conf c;
	struct gb_err err;
	char buf[512], path[] = "/tmp/gb-t-conf-XXXXXX";
	size_t i;
	int fd;

	/* every default is valid and prints back as written in the table */
	gb_conf_defaults(&c);
	for (i = 0; i < gb_conf_nkeys; i++) {
		const struct gb_conf_key *k = &gb_conf_keys[i];
		struct gb_conf d;

		gb_conf_defaults(&d);
		ok(gb_conf_set(&d, k, k->def, "t", &err) == 0, "default of %s is valid", k->name);
		is_str(gb_conf_value_str(&c, k, buf, sizeof(buf)), k->def, "default of %s prints back", k->name);
		is_str(c.origin[i], "default", "origin of %s is default", k->name);
		ok(k->help && *k->help && k->arg && *k->arg, "%s has help and an argument name", k->name);
	}
	ok(c.enable == 1 && c.threshold == GB_MiB && c.vram_limit.is_pct && c.vram_limit.pct_milli == 100000,
	   "defaults: enable on, threshold 1M, vram_limit 100%%");
	ok(c.report == GB_REPORT_VIRTUAL && c.log_level == GB_LOG_WARN && c.status_interval_ms == 500,
	   "defaults: report virtual, log_level warn, status_interval 500ms");

	ok(parse(&c, "# comment\n\n  vram_limit = 12G  \nthreshold=2M\r\nreport = physical\nhugepages = off\n"
		 "\tkv_reserve\t=\t1.5G\nphase_gap = 500ms\nrun_dir = /tmp/x\n", &err) == 0,
	   "a good file parses (%s)", err.msg);
	ok(!c.vram_limit.is_pct && c.vram_limit.bytes == 12 * GB_GiB, "vram_limit 12G");
	is_int(c.threshold, 2 * GB_MiB, "threshold 2M with CRLF line end");
	is_int(c.report, GB_REPORT_PHYSICAL, "report physical");
	is_int(c.hugepages, 0, "hugepages off");
	is_int(c.kv_reserve.bytes, 3 * GB_GiB / 2, "kv_reserve with tabs");
	is_int(c.phase_gap_ms, 500, "phase_gap 500ms");
	is_str(c.run_dir, "/tmp/x", "run_dir");
	is_str(c.origin[gb_conf_key_find("threshold") - gb_conf_keys], "test.conf:4", "origin names file and line");
	ok(parse(&c, "", &err) == 0, "an empty file parses");
	ok(parse(&c, "log_file =\n", &err) == 0 && c.log_file[0] == 0, "an empty path is allowed");

	bad("vram_limit = 12Q\n", "test.conf:1: \"vram_limit = 12Q\": vram_limit: invalid size '12Q'");
	bad("\n\nfoo = 1\n", "test.conf:3: \"foo = 1\": unknown key 'foo'");
	bad("vram_limit\n", "expected 'key = value'");
	bad("= 12G\n", "missing key before '='");
	bad("threshold = 1M\nthreshold = 2M\n", "threshold set twice (first on line 1)");
	bad("enable = maybe\n", "enable: invalid value 'maybe': expected on or off");
	bad("report = both\n", "report: invalid value 'both': expected one of virtual|physical");
	bad("vram_limit = 32M\n", "vram_limit: 32M out of range 64M to");
	bad("kv_reserve = 95%\n", "kv_reserve: 95% is over the largest percentage, 90%");
	bad("vram_limit = 120%\n", "percentage over 100%");
	bad("threshold = 50%\n", "threshold: invalid size '50%'");
	bad("status_interval = 10ms\n", "status_interval: 10ms out of range 50ms");
	bad("phase_gap = soon\n", "phase_gap: invalid duration 'soon'");
	bad("run_dir = relative/dir\n", "run_dir: 'relative/dir' is not an absolute path");
	bad("threshold = 1M\x01\n", "test.conf:1: control character in line");
	{
		char big[2048];

		memset(big, '#', sizeof(big));
		big[sizeof(big) - 1] = 0;
		bad(big, "line longer than 1023 bytes");
	}
	{
		static const char nul[] = "threshold = 1M\0x\n";
		struct gb_conf d;

		gb_conf_defaults(&d);
		ok(gb_conf_parse(&d, "n.conf", nul, sizeof(nul) - 1, &err) < 0 && strstr(err.msg, "NUL"),
		   "rejects a NUL byte");
	}
	/* a failing line leaves nothing half-set after it */
	gb_conf_defaults(&c);
	ok(gb_conf_parse(&c, "t", "threshold = 4M\nvram_limit = x\n", 30, &err) < 0 && c.threshold == 4 * GB_MiB &&
	   c.vram_limit.is_pct, "an error stops at its line");

	/* environment over file */
	{
		char *env[] = { "GB_VRAM_LIMIT=8G", "GB_REPORT=physical", "PATH=/bin", "GB_NOPE=1", NULL };
		char *badenv[] = { "GB_THRESHOLD=lots", NULL };

		parse(&c, "vram_limit = 12G\nreport = virtual\n", &err);
		ok(gb_conf_load_env(&c, env, &err, cb) == 0, "environment loads");
		is_int(c.vram_limit.bytes, 8 * GB_GiB, "GB_VRAM_LIMIT overrides the file");
		is_int(c.report, GB_REPORT_PHYSICAL, "GB_REPORT overrides the file");
		is_str(c.origin[gb_conf_key_find("vram_limit") - gb_conf_keys], "GB_VRAM_LIMIT", "origin is the variable");
		is_int(unknown, 1, "unknown GB_ variables are reported");
		ok(gb_conf_load_env(&c, badenv, &err, NULL) < 0 && strstr(err.msg, "GB_THRESHOLD: threshold: invalid size 'lots'"),
		   "a bad variable is an error naming it (%s)", err.msg);
	}

	/* files */
	fd = mkstemp(path);
	ok(fd >= 0 && write(fd, "threshold = 8M\n", 15) == 15, "temporary file written");
	close(fd);
	gb_conf_defaults(&c);
	ok(gb_conf_load_file(&c, path, 1, &err) == 0 && c.threshold == 8 * GB_MiB, "load_file reads it");
	unlink(path);
	ok(gb_conf_load_file(&c, path, 0, &err) == 0, "a missing optional file is fine");
	ok(gb_conf_load_file(&c, path, 1, &err) < 0 && strstr(err.msg, "No such file"),
	   "a missing required file is an error (%s)", err.msg);
	ok(gb_conf_load_file(&c, "/", 1, &err) < 0, "a directory is an error (%s)", err.msg);
	{
		char name[64];

		is_str(gb_conf_env_name(gb_conf_key_find("status_interval"), name, sizeof(name)), "GB_STATUS_INTERVAL",
		       "variable names are GB_ + upper case");
	}
	ok(gb_conf_key_find("nope") == NULL, "unknown key not found");
	return done();
}
