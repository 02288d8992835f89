/* libgb status files: format, parse, write, staleness, run directory */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gb.h"
#include "../tap.h"

static void sample(struct gb_status *st)
{
	memset(st, 0, sizeof(*st));
	st->version = 1;
	st->pid = getpid();
	st->starttime = gb_proc_starttime(getpid());
	st->uid = getuid();
	strcpy(st->comm, "python3");
	gb_status_escape("python3 -c\tprint('x')\n", 22, st->cmdline, sizeof(st->cmdline));
	st->updated = 1764200000.125;
	st->path = 'B';
	st->phase = GB_PHASE_INFERENCE;
	st->phase_since = 1764199990.5;
	st->threshold = GB_MiB;
	st->host_limit = 64 * GB_GiB;
	st->report = GB_REPORT_VIRTUAL;
	st->ndev = 2;
	st->dev[1].present = 1;
	strcpy(st->dev[1].name, "NVIDIA H200");
	st->dev[1].vram_physical = 150 * GB_GiB;
	st->dev[1].vram_limit = 12 * GB_GiB;
	st->dev[1].kv_reserve = GB_GiB;
	st->dev[1].reported_total = 76 * GB_GiB;
	st->dev[1].reported_free = 10 * GB_GiB;
	st->dev[1].tier[0] = (struct gb_status_tier){ 11 * GB_GiB, 40, 12 * GB_GiB };
	st->dev[1].tier[1] = (struct gb_status_tier){ 20 * GB_GiB, 70, 21 * GB_GiB };
	st->dev[1].t2_hugetlb_bytes = 4 * GB_GiB;
	st->dev[1].vmm_bytes = 2 * GB_MiB;
	st->dev[1].refused = 3;
	st->dev[1].nallocs = 3;
	st->dev[1].alloc[0] = (struct gb_status_alloc){ 8 * GB_GiB, 8 * GB_GiB, 0, GB_ALLOC_MEM };
	st->dev[1].alloc[1] = (struct gb_status_alloc){ 3 * GB_GiB + 1, 0, 3 * GB_GiB + 2 * GB_MiB, GB_ALLOC_MEM };
	st->dev[1].alloc[2] = (struct gb_status_alloc){ 2 * GB_MiB, 2 * GB_MiB, 0, GB_ALLOC_VMM };
}

/* the largest file the shim can write: every device, every allocation,
 * every number at its widest (20 digits; the parser takes up to
 * 18446744073709551609), every text field full */
#define WIDE 18446744073709551609ULL
static void widest(struct gb_status *st)
{
	int d, k, t;

	memset(st, 0, sizeof(*st));
	st->version = 1;
	st->pid = 0x7fffffff;
	st->starttime = WIDE;
	st->uid = 0xffffffffU;
	memset(st->comm, 'c', sizeof(st->comm) - 1);
	memset(st->cmdline, 'x', sizeof(st->cmdline) - 1);
	st->updated = st->phase_since = 9999999999.999;
	st->path = 'A';
	st->phase = GB_PHASE_MODEL_LOAD;
	st->threshold = st->host_limit = WIDE;
	st->report = GB_REPORT_PHYSICAL;
	st->ndev = GB_STATUS_MAX_DEV;
	for (d = 0; d < GB_STATUS_MAX_DEV; d++) {
		struct gb_status_dev *v = &st->dev[d];

		v->present = 1;
		memset(v->name, 'n', sizeof(v->name) - 1);
		v->vram_physical = v->vram_limit = v->kv_reserve = WIDE;
		v->reported_total = v->reported_free = WIDE;
		for (t = 0; t < GB_TIERS; t++)
			v->tier[t] = (struct gb_status_tier){ WIDE, WIDE, WIDE };
		v->t2_hugetlb_bytes = v->t2_pool_bytes = v->vmm_bytes = WIDE;
		v->stage_bytes = v->staged_bytes = v->refused = WIDE;
		v->nallocs = GB_STATUS_MAX_ALLOCS;
		for (k = 0; k < GB_STATUS_MAX_ALLOCS; k++)
			v->alloc[k] = (struct gb_status_alloc){ WIDE, WIDE, WIDE, GB_ALLOC_VMM };
	}
}

static void bad(const char *text, const char *msg)
{
	struct gb_status st;
	struct gb_err err = { "" };

	if (!ok(gb_status_parse(text, strlen(text), &st, &err) < 0 && strstr(err.msg, msg), "rejects: %s", msg))
		printf("#   message: %s\n", err.msg);
}

#define HEAD "version\t1\npid\t42\n"
/* allocation K of device 0, complete */
#define ALLOC(k) "dev0.alloc" #k ".bytes\t100\ndev0.alloc" #k ".t1_bytes\t100\ndev0.alloc" #k ".t2_bytes\t0\n" \
	"dev0.alloc" #k ".kind\tmem\n"

int main(void)
{
	struct gb_status a, b;
	struct gb_err err;
	char text[65536], dir[] = "/tmp/gb-t-status-XXXXXX", path[512], got[256];
	int n, fellback;
	pid_t child;

	sample(&a);
	n = gb_status_format(&a, text, sizeof(text));
	ok(n > 0 && text[n - 1] == '\n', "formats, ending in a newline");
	ok(strstr(text, "cmdline\tpython3 -c\\tprint('x')\\n\n") != NULL, "cmdline is escaped");
	ok(strstr(text, "dev1.t2_bytes\t21474836480\n") != NULL, "device keys carry the index");
	ok(strstr(text, "dev0.") == NULL, "absent devices are not written");
	ok(gb_status_parse(text, (size_t)n, &b, &err) == 0, "parses back (%s)", n > 0 ? "" : err.msg);
	is_int(b.pid, a.pid, "pid round trip");
	is_int(b.starttime, a.starttime, "starttime round trip");
	is_str(b.comm, "python3", "comm round trip");
	is_str(b.cmdline, a.cmdline, "cmdline round trip");
	ok(b.updated > 1764200000.12 && b.updated < 1764200000.13, "updated round trip");
	is_int(b.phase, GB_PHASE_INFERENCE, "phase round trip");
	is_int(b.ndev, 2, "device count");
	ok(!b.dev[0].present && b.dev[1].present, "only device 1 present");
	is_str(b.dev[1].name, "NVIDIA H200", "device name");
	ok(!memcmp(b.dev[1].tier, a.dev[1].tier, sizeof(a.dev[1].tier)), "tier counters round trip");
	is_int(b.dev[1].t2_hugetlb_bytes, 4 * GB_GiB, "hugetlb bytes");
	is_int(b.dev[1].refused, 3, "refused");
	is_int(b.host_limit, 64 * GB_GiB, "host_limit");
	ok(gb_status_format(&a, text, 100) < 0, "a small buffer is an error, not a truncation");

	/* the largest allocations */
	n = gb_status_format(&a, text, sizeof(text));
	ok(strstr(text, "dev1.allocs\t3\n") != NULL, "allocs: how many are listed");
	ok(strstr(text, "dev1.alloc1.bytes\t3221225473\ndev1.alloc1.t1_bytes\t0\n"
			"dev1.alloc1.t2_bytes\t3223322624\ndev1.alloc1.kind\tmem\n") != NULL,
	   "an allocation: bytes, t1_bytes, t2_bytes, kind");
	ok(strstr(text, "dev1.alloc2.kind\tvmm\n") != NULL && strstr(text, "dev1.alloc3.") == NULL,
	   "kind vmm; no more than allocs");
	ok(gb_status_parse(text, (size_t)n, &b, &err) == 0, "parses back with allocations (%s)", err.msg);
	is_int(b.dev[1].nallocs, 3, "allocs round trip");
	ok(!memcmp(b.dev[1].alloc, a.dev[1].alloc, sizeof(a.dev[1].alloc)), "allocations round trip, in order");
	{
		/* written before allocations were listed */
		static const char old[] = HEAD "devices\t1\ndev0.name\tX\ndev0.t1_bytes\t5\n";

		ok(gb_status_parse(old, sizeof(old) - 1, &b, &err) == 0 && b.dev[0].present && b.dev[0].nallocs == 0,
		   "a file without allocations parses, with allocs 0 (%s)", err.msg);
	}
	{
		/* keys may come in any order, and an allocation may gain fields */
		static const char any[] = HEAD ALLOC(1) ALLOC(0) "dev0.alloc0.future\tx\ndev0.allocs\t2\n";

		ok(gb_status_parse(any, sizeof(any) - 1, &b, &err) == 0 && b.dev[0].nallocs == 2 &&
		   b.dev[0].alloc[1].bytes == 100, "allocs after its allocations, and an unknown field (%s)", err.msg);
	}
	{
		struct gb_status w;
		char *big = malloc(1 << 17);

		widest(&w);
		n = gb_status_format(&w, big, 1 << 17);
		ok(n > 0 && n < 64 * 1024, "the widest file fits in 64 KiB (%d bytes)", n);
		printf("# widest status file: %d bytes\n", n);
		ok(gb_status_parse(big, (size_t)n, &b, &err) == 0 && b.dev[15].nallocs == 16 &&
		   !memcmp(b.dev, w.dev, sizeof(w.dev)), "and parses back (%s)", err.msg);
		free(big);
	}

	/* forward compatibility: unknown keys are skipped */
	{
		static const char fut[] = HEAD "future_key\tx y z\ndev3.future\t1\n";

		ok(gb_status_parse(fut, sizeof(fut) - 1, &b, &err) == 0 && b.dev[3].present,
		   "unknown keys are skipped (%s)", err.msg);
	}

	bad("", "empty");
	bad("version\t1\npid\t42", "truncated");
	bad("pid\t42\nversion\t1\n", "first line must be 'version'");
	bad("version\t2\npid\t42\n", "unsupported version 2");
	bad("version\t1\n", "no pid");
	bad("version\t1\npid\t0\n", "bad pid");
	bad("version\t1\npid\t-5\n", "bad pid");
	bad("version\t1\npid\t99999999999\n", "bad pid");
	bad(HEAD "phase\tDANCING\n", "unknown phase");
	bad(HEAD "novalue\n", "no tab");
	bad(HEAD "Bad\tx\n", "bad character in key");
	bad(HEAD "\tx\n", "empty key");
	bad(HEAD "comm\ta\x01b\n", "control character");
	bad(HEAD "dev99.t1_bytes\t1\n", "device index out of range");
	bad(HEAD "dev1x.t1_bytes\t1\n", "bad device key");
	bad(HEAD "dev1.t1_bytes\t1e9\n", "not a number");
	bad(HEAD "dev1.t1_bytes\t99999999999999999999999\n", "not a number");
	bad(HEAD "updated\t12.\n", "bad time");
	bad(HEAD "path\tC\n", "path must be A or B");
	bad(HEAD "report\tsome\n", "unknown report");
	bad(HEAD "version\t1\n", "bad version");
	bad(HEAD "dev0.allocs\t17\n", "'dev0.allocs' is more than 16");
	bad(HEAD "dev0.allocs\t-1\n", "'dev0.allocs' is not a number");
	bad(HEAD "dev0.allocs\t1\n" ALLOC(0) "dev0.alloc0.bytes\t1.5G\n", "'dev0.alloc0.bytes' is not a number");
	bad(HEAD "dev0.allocs\t1\n" ALLOC(0) "dev0.alloc0.t1_bytes\t\n", "'dev0.alloc0.t1_bytes' is not a number");
	bad(HEAD "dev0.allocs\t1\n" ALLOC(0) "dev0.alloc0.t2_bytes\t99999999999999999999\n",
	    "'dev0.alloc0.t2_bytes' is not a number");
	bad(HEAD "dev0.allocs\t1\n" ALLOC(0) "dev0.alloc0.kind\tarray\n", "unknown allocation kind 'array'");
	bad(HEAD "dev0.allocs\t16\ndev0.alloc16.bytes\t1\n", "allocation index out of range in 'dev0.alloc16.bytes'");
	bad(HEAD "dev0.alloc99999999999999999999.bytes\t1\n", "allocation index out of range");
	bad(HEAD "dev0.allocs\t1\ndev0.alloc0x.bytes\t1\n", "bad allocation key 'dev0.alloc0x.bytes'");
	bad(HEAD "dev0.allocs\t1\ndev0.alloc0.\t1\n", "bad allocation key");
	bad(HEAD "dev0.allocs\t1\ndev0.alloc0\t1\n", "bad allocation key");
	bad(HEAD "dev0.allocs\t1\n" ALLOC(0) ALLOC(1), "line 8: dev0.alloc1 is listed but dev0.allocs is 1");
	bad(HEAD ALLOC(1) ALLOC(0) "dev0.allocs\t1\n", "line 3: dev0.alloc1 is listed but dev0.allocs is 1");
	bad(HEAD ALLOC(0), "dev0.alloc0 is listed but dev0.allocs is 0");
	bad(HEAD "dev0.allocs\t2\n" ALLOC(0), "dev0.alloc1.bytes is missing");
	bad(HEAD "dev2.allocs\t1\ndev2.alloc0.bytes\t1\ndev2.alloc0.t1_bytes\t1\ndev2.alloc0.kind\tmem\n",
	    "dev2.alloc0.t2_bytes is missing");
	bad(HEAD "dev0.allocs\t1\ndev0.alloc0.bytes\t1\ndev0.alloc0.t1_bytes\t1\ndev0.alloc0.t2_bytes\t0\n",
	    "dev0.alloc0.kind is missing");
	{
		static const char nul[] = "version\t1\npid\t4\0\n";
		struct gb_err e2;

		ok(gb_status_parse(nul, sizeof(nul) - 1, &b, &e2) < 0 && strstr(e2.msg, "NUL"), "rejects a NUL byte");
	}
	{
		static char big[70000];

		memset(big, 'a', sizeof(big));
		big[sizeof(big) - 1] = '\n';
		ok(gb_status_parse(big, sizeof(big), &b, &err) < 0 && strstr(err.msg, "larger than"), "rejects a huge file");
	}

	/* files, atomically */
	ok(mkdtemp(dir) != NULL, "temporary run directory");
	ok(gb_status_write(dir, &a) == 0, "write");
	gb_status_path(dir, a.pid, path, sizeof(path));
	ok(gb_status_read(path, &b, &err) == 0 && b.pid == a.pid, "read back (%s)", err.msg);
	{
		DIR *d = opendir(dir);
		struct dirent *e;
		int files = 0, tmp = 0;

		while (d && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				files++, tmp += e->d_name[0] == '.';
		if (d)
			closedir(d);
		ok(files == 1 && tmp == 0, "one file, no temporary left (%d, %d)", files, tmp);
	}
	ok(gb_status_write(dir, &a) == 0, "rewrite over it");
	{
		/* a file speaks only for its owner: one claiming another uid is refused */
		struct gb_status c = a;
		char spoof[600];

		c.pid = 1;
		c.uid = getuid() + 4242;
		ok(gb_status_write(dir, &c) == 0, "write a file that claims another uid");
		gb_status_path(dir, 1, spoof, sizeof(spoof));
		if (getuid() == 0)
			ok(chown(spoof, 4243, 4243) == 0, "(as root: give it to uid 4243)");
		if (!ok(gb_status_read(spoof, &b, &err) < 0 && strstr(err.msg, "claims uid"), "refused"))
			printf("#   %s\n", err.msg);
		unlink(spoof);
	}
	ok(!gb_status_is_stale(&a), "our own status is not stale");
	b = a;
	b.starttime = a.starttime + 1;
	ok(gb_status_is_stale(&b), "another starttime (pid reused) is stale");
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	b.pid = child;
	ok(gb_status_is_stale(&b), "a process that is gone is stale");
	snprintf(got, sizeof(got), "%s/missing", dir);
	ok(gb_status_read(got, &b, &err) < 0 && strstr(err.msg, "No such file"), "missing file message (%s)", err.msg);
	unlink(path);

	/* run directory and its fallback */
	snprintf(path, sizeof(path), "%s/run", dir);
	ok(gb_run_dir_pick(path, got, sizeof(got), &fellback) && !fellback && !strcmp(got, path),
	   "creates and uses the run directory");
	{
		struct stat sb;

		ok(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 01777, "created sticky and world-writable like /tmp");
	}
	snprintf(text, sizeof(text), "%s/xdg", dir);
	mkdir(text, 0700);
	setenv("XDG_RUNTIME_DIR", text, 1);
	ok(gb_run_dir_pick("/proc/no/such/dir", got, sizeof(got), &fellback) && fellback && strstr(got, "/xdg/greenboost"),
	   "falls back to $XDG_RUNTIME_DIR/greenboost (%s)", got);
	unsetenv("XDG_RUNTIME_DIR");
	ok(gb_run_dir_pick("/proc/no/such/dir", got, sizeof(got), &fellback) == NULL, "no directory at all: NULL");
	snprintf(got, sizeof(got), "rm -rf %s", dir);
	ok(system(got) == 0, "cleanup");

	is_str(gb_phase_name(GB_PHASE_MODEL_LOAD), "MODEL_LOAD", "phase names");
	is_int(gb_phase_from_name("STEADY"), GB_PHASE_STEADY, "phase from name");
	{
		char esc[16];

		gb_status_escape("a\\b\x7f", 4, esc, sizeof(esc));
		is_str(esc, "a\\\\b\\x7f", "escape backslash and DEL");
		gb_status_escape("abcdefghijklmnopqrstuvwxyz", 26, esc, sizeof(esc));
		is_int(strlen(esc), 15, "escape truncates to the buffer");
	}
	return done();
}
