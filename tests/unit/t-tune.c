/* gb-tune's library: values, the state file, the hugepage arithmetic and
 * the swap header */
#include <string.h>

#include "tap.h"
#include "tune/tune.h"

static int norm(const char *in, const char *want)
{
	char v[GB_TUNE_VAL];
	int r = gb_sysval_norm(in, v, sizeof(v));

	if (!want)
		return r < 0;
	if (r < 0 || strcmp(v, want)) {
		printf("# '%s' -> '%s'\n", in, r < 0 ? "(error)" : v);
		return 0;
	}
	return 1;
}

static int parses(const char *text, const char *err_has)
{
	static struct gb_tune_state s;
	struct gb_err err;
	int r = gb_tune_state_parse(text, strlen(text), &s, &err);

	if (!err_has)
		return r == 0;
	if (r == 0 || !strstr(err.msg, err_has)) {
		printf("# %s\n", r == 0 ? "accepted" : err.msg);
		return 0;
	}
	return 1;
}

int main(void)
{
	static struct gb_tune_state s, t;
	static char text[1 << 16];
	struct gb_machine m;
	struct gb_conf c;
	struct gb_err err;
	unsigned char page[4096], uuid[16] = { 1, 2, 3 };
	char why[256];
	int n;

	/* ---- values ---- */
	ok(norm("60\n", "60"), "a number");
	ok(norm("always [madvise] never\n", "madvise"), "the bracketed choice");
	ok(norm("[none] mq-deadline kyber\n", "none"), "the bracketed choice, first");
	ok(norm("always defer [defer+madvise] madvise never", "defer+madvise"), "a choice with a +");
	ok(norm("  42  \n", "42"), "blanks trimmed");
	ok(norm("", NULL), "empty: refused");
	ok(norm("[unclosed", NULL), "an unclosed bracket: refused");
	ok(norm("4096\t8192\n", NULL), "two values with a tab: refused");
	ok(norm("a b", NULL), "a space inside: refused");
	ok(norm("x;rm -rf /", NULL), "shell characters: refused");
	ok(!gb_sysval_valid("") && gb_sysval_valid("mq-deadline") && !gb_sysval_valid("a/b"), "gb_sysval_valid");

	/* ---- the state file ---- */
	memset(&s, 0, sizeof(s));
	s.profile = GB_TUNE_FULL;
	s.applied = 1795754772;
	s.n = 2;
	strcpy(s.rec[0].key, "vm.swappiness");
	strcpy(s.rec[0].path, "/proc/sys/vm/swappiness");
	strcpy(s.rec[0].orig, "60");
	strcpy(s.rec[0].tuned, "10");
	strcpy(s.rec[1].key, "block.nvme0n1.queue.scheduler");
	strcpy(s.rec[1].path, "/sys/block/nvme0n1/queue/scheduler");
	strcpy(s.rec[1].orig, "mq-deadline");
	strcpy(s.rec[1].tuned, "none");
	strcpy(s.swapfile, "/mnt/fast/greenboost.swap");
	s.swap_bytes = 1ULL << 30;
	s.npersist = 1;
	strcpy(s.persist[0], "/etc/sysctl.d/90-greenboost.conf");
	strcpy(s.fstab_line, "/mnt/fast/greenboost.swap none swap sw,nofail 0 0 # gb-tune");
	n = gb_tune_state_format(&s, text, sizeof(text));
	ok(n > 0 && gb_tune_state_parse(text, (size_t)n, &t, &err) == 0, "format, then parse");
	ok(t.profile == GB_TUNE_FULL && t.n == 2 && !memcmp(t.rec, s.rec, sizeof(s.rec)) &&
	   !strcmp(t.swapfile, s.swapfile) && t.swap_bytes == s.swap_bytes && t.npersist == 1 &&
	   !strcmp(t.fstab_line, s.fstab_line), "the same state back");
	ok(strstr(text, "\nversion\t2\n") && t.version == 2, "written as version 2");
	ok(gb_tune_state_format(&s, text, 100) < 0, "a buffer too small: -1");
	/* version 2's records */
	strcpy(s.boot, "d688e1df-131f-4d78-b5ba-72120cb3170e");
	strcpy(s.rec[1].dev, "eui.0025385b71b0a1c4");
	strcpy(s.swapold, "/mnt/fast/old.swap");
	s.swapold_bytes = 1ULL << 29;
	n = gb_tune_state_format(&s, text, sizeof(text));
	ok(n > 0 && gb_tune_state_parse(text, (size_t)n, &t, &err) == 0, "version 2, every record: format, then parse");
	ok(!strcmp(t.boot, s.boot) && !memcmp(t.rec, s.rec, sizeof(s.rec)) && !strcmp(t.swapold, s.swapold) &&
	   t.swapold_bytes == s.swapold_bytes, "the boot ID, the disk's identity and the old swap file back");
	ok(strstr(text, "set\tblock.nvme0n1.queue.scheduler\t/sys/block/nvme0n1/queue/scheduler\tmq-deadline\tnone\n"
			"device\tblock.nvme0n1.queue.scheduler\teui.0025385b71b0a1c4\n") != NULL,
	   "a device line after its set line");
	/* version 1, as an older gb-tune wrote it: read, nothing of version 2 in it */
	{
		static const char v1[] = "version\t1\nprofile\tfull\napplied\t1795754787.000\n"
					 "set\tblock.nvme0n1.queue.scheduler\t/sys/block/nvme0n1/queue/scheduler\tmq-deadline\tnone\n";

		ok(gb_tune_state_parse(v1, sizeof(v1) - 1, &t, &err) == 0, "a version 1 file is read");
	}
	ok(t.version == 1 && !*t.boot && t.n == 1 && !*t.rec[0].dev, "version 1: no boot ID, no device");
	ok(parses("version\t1\nboot\tabc\n", "version 1"), "a boot ID in a version 1 file: refused");
	ok(parses("version\t1\nswapold\t/s\t1\n", "version 1"), "swapold in a version 1 file: refused");
	ok(parses("version\t2\nboot\ta;b\n", "bad boot"), "a bad boot ID");
	ok(parses("version\t2\nboot\tabc\nboot\tabc\n", "second boot"), "two boot IDs");
	ok(parses("version\t2\ndevice\tblock.x\tabc\n", "not set before"), "a device for no set record");
	ok(parses("version\t2\nset\tvm.x\t/proc/sys/vm/x\t1\t2\ndevice\tvm.x\ta\ndevice\tvm.x\ta\n", "second device"),
	   "two devices for a key");
	ok(parses("version\t2\nset\tvm.x\t/proc/sys/vm/x\t1\t2\ndevice\tvm.x\ta/b\n", "bad device"),
	   "a device identity with a slash");
	ok(parses("version\t2\nswapold\t/s\t0\n", "size"), "an old swap file of 0 bytes");
	ok(parses("version\t2\nswapold\t/s\t1\nswapold\t/t\t1\n", "second old swap"), "two old swap files");
	ok(parses("version\t1\n", NULL), "only a version: fine");
	ok(parses("", "no version"), "empty: no version");
	ok(parses("version\t3\n", "unknown version"), "version 3: refused");
	ok(parses("profile\tfull\nversion\t1\n", "expected 'version' first"), "version must come first");
	ok(parses("version\t1\nset\tvm.x\t/etc/passwd\t1\t2\n", "not under /proc/sys"), "a path outside /proc/sys and /sys");
	ok(parses("version\t1\nset\tvm.x\t/proc/sys/../etc/shadow\t1\t2\n", "not under"), "a path with ..");
	ok(parses("version\t1\nset\tvm.x\t/proc/sys/vm/x\t1 2\t2\n", "bad value"), "a value with a space");
	ok(parses("version\t1\nset\tVM X\t/proc/sys/vm/x\t1\t2\n", "bad key"), "a bad key");
	ok(parses("version\t1\nset\tvm.x\t/proc/sys/vm/x\t1\t2\nset\tvm.x\t/proc/sys/vm/x\t1\t2\n", "twice"),
	   "a key twice");
	ok(parses("version\t1\nset\tvm.x\t/proc/sys/vm/x\t1\n", "unknown record"), "a field short");
	ok(parses("version\t1\nswapfile\t/s\t0\n", "size"), "a swap file of 0 bytes");
	ok(parses("version\t1\nswapfile\t/s\t-1\n", "size"), "a negative swap file size");
	ok(parses("version\t1\npersist\t/usr/lib/x\n", "not under /etc"), "a persist file outside /etc");
	ok(parses("version\t1\nfstab\t/s none swap sw 0 0\n", "bad fstab"), "an fstab line without the mark");
	ok(parses("version\t1\nprofile\tfull", "no newline"), "a torn last line");
	ok(parses("version\t1\nfrobnicate\t1\n", "unknown record"), "an unknown record");
	ok(gb_tune_state_parse("version\t1\n\0\n", 12, &t, &err) < 0 && strstr(err.msg, "NUL"), "a NUL byte: refused");

	/* ---- disks ---- */
	{
		char d[64];

		ok(gb_tune_disk_of("block.nvme0n1.queue.scheduler", d, sizeof(d)) == 0 && !strcmp(d, "nvme0n1"),
		   "a disk's key: its disk");
		ok(gb_tune_disk_of("vm.swappiness", d, sizeof(d)) < 0, "no disk in vm.swappiness");
		ok(gb_tune_disk_of("block..queue.scheduler", d, sizeof(d)) < 0, "no disk in block..queue.scheduler");
		ok(gb_tune_disk_of("block.nvme0n1.queue.nr_requests", d, sizeof(d)) < 0, "only the scheduler");
	}

	/* ---- the hugepage count ---- */
	memset(&m, 0, sizeof(m));
	m.mem_total = 64 * GB_GiB;
	gb_conf_defaults(&c);
	is_int(gb_tune_hugepages_for(&m, &c, GB_TUNE_FULL, why, sizeof(why)), 24576,
	       "64 GiB, host_limit 75%%, --full keeps 16 GiB: 48 GiB");
	is_int(gb_tune_hugepages_for(&m, &c, GB_TUNE_LIGHT, why, sizeof(why)), 16384, "--light keeps half: 32 GiB");
	m.pool_bytes = 8 * GB_GiB;
	is_int(gb_tune_hugepages_for(&m, &c, GB_TUNE_FULL, why, sizeof(why)), 20480, "less greenboost.ko's 8 GiB pool");
	ok(strstr(why, "greenboost.ko's pool of 8.0 GiB") != NULL, "and says so: %s", why);
	is_int(gb_tune_hugepages_max(&m, GB_TUNE_FULL, why, sizeof(why)), 20480, "at most: the same margin, the pool too");
	ok(!strcmp(why, "all of 64.0 GiB of RAM but 16.0 GiB, less greenboost.ko's pool of 8.0 GiB"), "and why: %s", why);
	m.pool_bytes = 0;
	is_int(gb_tune_hugepages_max(&m, GB_TUNE_LIGHT, why, sizeof(why)), 16384, "at most, --light: half of RAM");
	gb_conf_set(&c, gb_conf_key_find("host_limit"), "10G", "test", &err);
	is_int(gb_tune_hugepages_for(&m, &c, GB_TUNE_FULL, why, sizeof(why)), 5120, "host_limit 10G: 10 GiB");
	m.mem_total = 2 * GB_GiB;
	is_int(gb_tune_hugepages_for(&m, &c, GB_TUNE_LIGHT, why, sizeof(why)), 0, "2 GiB and --light: none");
	is_int(gb_tune_hugepages_max(&m, GB_TUNE_LIGHT, why, sizeof(why)), 0, "2 GiB and --light: none at most");
	is_int(gb_tune_hugepages_max(&m, GB_TUNE_FULL, why, sizeof(why)), 512, "2 GiB and --full: all but 1 GiB at most");

	/* ---- the swap header ---- */
	ok(gb_swap_header(page, sizeof(page), 64ULL << 20, uuid) == 0, "a header for 64M");
	ok(!memcmp(page + 4096 - 10, "SWAPSPACE2", 10), "magic at the end of the page");
	ok(page[1024] == 1 && page[1025] == 0, "version 1");
	is_int(page[1028] | page[1029] << 8 | page[1030] << 16 | page[1031] << 24, (64 << 20) / 4096 - 1, "last_page");
	ok(!memcmp(page + 1036, uuid, 16) && !memcmp(page + 1052, "greenboost", 10), "uuid and label");
	ok(gb_swap_header(page, sizeof(page), 9 * 4096, uuid) < 0, "fewer than 10 pages: refused");
	return done();
}
