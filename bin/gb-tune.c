/*
 * gb-tune: tune the host for GPU memory overflow, reversibly.
 *
 * --light sets only what the shim needs and holds no memory: a limit on
 * the 2 MB hugepages the kernel makes for T2 when the shim maps it.
 * --full reserves them, and sets the system-wide values of a dedicated
 * machine.  The values before the first change are kept in
 * /var/lib/greenboost/tune.state, and --revert puts them back.  One line
 * per change on standard output: "key old -> new".
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gb.h"
#include "tune/tune.h"

extern char **environ;

enum { M_STATUS = 1, M_LIGHT, M_FULL, M_REVERT };
enum { OPT_HUGEPAGES = 1000, OPT_SWAP, OPT_PERSIST, OPT_ROOT, OPT_FULL, OPT_LIGHT, OPT_REVERT };

static void usage_line(FILE *f)
{
	fprintf(f, "usage: gb-tune [-nqvhV] [-c file] [--root dir] --full | --light | --status | --revert\n"
		   "               [--hugepages N|SIZE] [--swap SIZE[:PATH]|off] [--persist]\n");
}

static void help(void)
{
	usage_line(stdout);
	printf("\nTune this machine's kernel for GPU memory overflow, and undo it exactly.\n\n"
	       "  --full                 a dedicated machine: hugepages reserved, THP, swappiness,\n"
	       "                         overcommit, NUMA balancing, min_free_kbytes, NVMe schedulers\n"
	       "  --light                a daily desktop: hugepages made only while the shim maps them\n"
	       "  -s, --status           each setting: current, tuned, original (the default)\n"
	       "  --revert               put back every value gb-tune changed; remove its swap file\n"
	       "  -n, --dry-run          print what would change, change nothing; alone: the whole table\n"
	       "  --hugepages N|SIZE     2 MB pages: reserved (--full), or at most made (--light)\n"
	       "                         (default: from host_limit in the configuration)\n"
	       "  --swap SIZE[:PATH]     with --full, a swap file (default path: an NVMe filesystem); off: remove it\n"
	       "  --persist              also write /etc/sysctl.d, tmpfiles.d, udev and fstab entries\n"
	       "  -c, --config FILE      configuration file (default %s)\n"
	       "  --root DIR             act on DIR/proc, DIR/sys, DIR/etc, DIR/var (a test tree)\n"
	       "  -q, --quiet            errors only\n"
	       "  -v, --verbose          say what the machine has and why each value\n"
	       "  -h, --help             this text\n"
	       "  -V, --version          print the version\n\n"
	       "Exit status: 0 done; 1 a change failed and all were rolled back (or a revert left\n"
	       "some); 2 needs root; 3 /proc/sys or /sys is read-only; 4 a device or path is missing,\n"
	       "not gb-tune's, or no place for a swap file; 5 another gb-tune is changing the\n"
	       "settings; 100 usage; 111 system error.  See gb-tune(8).\n",
	       gb_conf_path());
	exit(0);
}

static void unknown_var(const char *name)
{
	(void)name;
}

/* a count or a size, held to the margin the profile's own count keeps */
static uint64_t parse_hugepages(const char *s, const struct gb_machine *m, int profile)
{
	const char *why;
	uint64_t v, pages, max;
	char *e, a[32], room[160];

	if (*s >= '0' && *s <= '9' && (v = strtoull(s, &e, 10), !*e) && !strchr(s, '-')) {
		pages = v;
	} else {
		if (gb_size_parse(s, &v, &why) < 0)
			gb_die_usage("--hugepages %s: %s (a count of 2 MB pages, or a size like 16G)", s, why);
		pages = v / (2ULL << 20);
	}
	max = gb_tune_hugepages_max(m, profile, room, sizeof(room));
	if (pages > max)
		gb_die_usage("--hugepages %s: %llu pages is more than %s leaves free: at most %llu (%s, %s)", s,
			     (unsigned long long)pages, profile == GB_TUNE_FULL ? "--full" : "--light",
			     (unsigned long long)max, gb_size_human(max * (2ULL << 20), a, sizeof(a)), room);
	return pages;
}

static void parse_swap(const char *s, struct gb_tune_opts *o)
{
	char size[64], a[32];
	const char *colon = strchr(s, ':'), *why;
	size_t l = colon ? (size_t)(colon - s) : strlen(s);

	if (!strcmp(s, "off")) {
		o->swap_off = 1;
		return;
	}
	if (l >= sizeof(size))
		gb_die_usage("--swap %s: bad size", s);
	memcpy(size, s, l);
	size[l] = 0;
	if (gb_size_parse(size, &o->swap_bytes, &why) < 0)
		gb_die_usage("--swap %s: %s", s, why);
	if (o->swap_bytes < 64 * GB_MiB)
		gb_die_usage("--swap %s: a swap file of less than 64M is not worth having", s);
	if (o->swap_bytes > GB_SWAP_MAX_BYTES(sysconf(_SC_PAGESIZE)))
		gb_die_usage("--swap %s: more than a swap file can be: at most %s", s,
			     gb_size_human(GB_SWAP_MAX_BYTES(sysconf(_SC_PAGESIZE)), a, sizeof(a)));
	if (colon) {
		const char *p = colon + 1;

		if (*p != '/' || strlen(p) >= sizeof(o->swap_path) || strstr(p, "/../") || strpbrk(p, " \t\n\\"))
			gb_die_usage("--swap %s: the path must be absolute, without spaces or '..'", s);
		snprintf(o->swap_path, sizeof(o->swap_path), "%s", p);
	}
}

/* --dry-run alone: every setting, both profiles */
static void print_table(const char *root, const struct gb_machine *m, const struct gb_conf *c,
			const struct gb_tune_opts *o)
{
	static struct gb_tune_plan light, full;
	struct gb_tune_opts lo = *o, fo = *o;
	struct gb_err err;
	char cur[GB_TUNE_VAL];
	int i, j;

	lo.profile = GB_TUNE_LIGHT;
	fo.profile = GB_TUNE_FULL;
	if (gb_tune_plan_make(root, m, c, &lo, &light, &err) < 0 || gb_tune_plan_make(root, m, c, &fo, &full, &err) < 0)
		gb_die(GB_EXIT_SYS, "%s", err.msg);
	gb_machine_print(m, stdout);
	printf("# hugepages, light: %s\n", light.hugepages_why);
	printf("# hugepages, full: %s\n", full.hugepages_why);
	printf("%-40s %-14s %-14s %-14s %s\n", "# setting", "light", "full", "current", "why");
	/* light's own first (the hugepage limit), then full's, with light's value where it has one */
	for (i = 0; i < light.n; i++) {
		const struct gb_tune_item *it = &light.it[i];

		for (j = 0; j < full.n && strcmp(full.it[j].key, it->key); j++)
			;
		if (j < full.n)
			continue;
		if (gb_sysval_read(root, it->path, cur, sizeof(cur)) < 0)
			snprintf(cur, sizeof(cur), "?");
		printf("%-40s %-14s %-14s %-14s %s\n", it->key, it->want, "-", cur, it->why);
	}
	for (i = 0; i < full.n; i++) {
		const struct gb_tune_item *it = &full.it[i];
		const char *lv = "-";

		for (j = 0; j < light.n; j++)
			if (!strcmp(light.it[j].key, it->key))
				lv = light.it[j].want;
		if (gb_sysval_read(root, it->path, cur, sizeof(cur)) < 0)
			snprintf(cur, sizeof(cur), "?");
		printf("%-40s %-14s %-14s %-14s %s\n", it->key, lv, it->want, cur, it->why);
	}
	printf("%-40s %-14s %-14s %-14s %s\n", "swap.file", "-", o->swap_bytes ? "yes" : "(--swap)", "-",
	       "a swap file on NVMe, the last tier below host memory (only with --swap)");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "full", no_argument, NULL, OPT_FULL },
		{ "light", no_argument, NULL, OPT_LIGHT },
		{ "status", no_argument, NULL, 's' },
		{ "revert", no_argument, NULL, OPT_REVERT },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "hugepages", required_argument, NULL, OPT_HUGEPAGES },
		{ "swap", required_argument, NULL, OPT_SWAP },
		{ "persist", no_argument, NULL, OPT_PERSIST },
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct gb_machine m;
	static struct gb_tune_plan plan;
	struct gb_tune_opts o;
	struct gb_conf conf;
	struct gb_err err;
	const char *config = NULL, *root = "", *hugepages = NULL, *swap = NULL;
	char rootbuf[PATH_MAX];
	int mode = 0, dry = 0, verbose = 0, quiet = 0, lock = -1, c, r;
	struct stat st;

	gb_log_setup("gb-tune", GB_LOG_WARN, -1);
	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "snc:qvhV", opts, NULL)) != -1) {
		int want = 0;

		switch (c) {
		case OPT_FULL: want = M_FULL; break;
		case OPT_LIGHT: want = M_LIGHT; break;
		case 's': want = M_STATUS; break;
		case OPT_REVERT: want = M_REVERT; break;
		case 'n': dry = 1; break;
		case OPT_HUGEPAGES: hugepages = optarg; break;
		case OPT_SWAP: swap = optarg; break;
		case OPT_PERSIST: o.persist = 1; break;
		case 'c': config = optarg; break;
		case OPT_ROOT: root = optarg; break;
		case 'q': quiet = 1; break;
		case 'v': verbose = 1; break;
		case 'h': help(); break;
		case 'V': printf("gb-tune %s\n", GB_VERSION); return 0;
		default:
			usage_line(stderr);
			return GB_EXIT_USAGE;
		}
		if (want) {
			if (mode && mode != want)
				gb_die_usage("--full, --light, --status and --revert exclude each other");
			mode = want;
		}
	}
	if (optind < argc)
		gb_die_usage("unexpected argument %s", argv[optind]);
	if (quiet && verbose)
		gb_die_usage("-q and -v contradict each other");
	gb_log_setup("gb-tune", quiet ? GB_LOG_ERROR : verbose ? GB_LOG_INFO : GB_LOG_WARN, -1);
	if (!mode)
		mode = dry ? 0 : M_STATUS;
	if ((hugepages || o.persist) && mode != M_FULL && mode != M_LIGHT)
		gb_die_usage("--hugepages and --persist go with --full or --light");
	if (swap && mode != M_FULL && !(mode == M_LIGHT && !strcmp(swap, "off")))
		gb_die_usage("--swap goes with --full (--swap off also with --light)");
	if (*root) {
		if (!realpath(root, rootbuf) || stat(rootbuf, &st) < 0 || !S_ISDIR(st.st_mode))
			gb_die(GB_EXIT_USAGE, "--root %s: not a directory", root);
		root = rootbuf;
	}

	if (config && setenv(GB_CONF_DEFAULT_PATH_ENV, config, 1) < 0)
		gb_die_errno(GB_EXIT_SYS, "unable to set %s", GB_CONF_DEFAULT_PATH_ENV);
	gb_conf_defaults(&conf);
	if (gb_conf_load_file(&conf, gb_conf_path(), config != NULL, &err) < 0 ||
	    gb_conf_load_env(&conf, environ, &err, unknown_var) < 0)
		gb_die(GB_EXIT_USAGE, "%s", err.msg);

	if (gb_machine_detect(root, &m, &err) < 0)
		gb_die(GB_EXIT_SYS, "%s", err.msg);
	if (hugepages) {
		o.hugepages_set = 1;
		o.hugepages = parse_hugepages(hugepages, &m, mode == M_FULL ? GB_TUNE_FULL : GB_TUNE_LIGHT);
	}
	if (swap)
		parse_swap(swap, &o);

	if (mode == 0) {
		o.profile = GB_TUNE_FULL;
		print_table(root, &m, &conf, &o);
		return 0;
	}
	/* changing needs root; reading and a test tree do not */
	if (!dry && !*root && geteuid() != 0 && mode != M_STATUS)
		gb_die(GB_TUNE_EXIT_NOTROOT, "changing the kernel's settings needs root: sudo gb-tune %s",
		       mode == M_FULL ? "--full" : mode == M_LIGHT ? "--light" : "--revert");
	/* one changing run at a time, from reading the values to the last save */
	if (!dry && mode != M_STATUS) {
		const char *what = mode == M_FULL ? "--full" : mode == M_LIGHT ? "--light" : "--revert";

		lock = gb_tune_lock(root, what, mode != M_REVERT, &err);
		if (lock < 0 && errno == EWOULDBLOCK)
			gb_die(GB_TUNE_EXIT_BUSY, "%s", err.msg);
		/* no state directory: nothing to revert, nothing to lock */
		if (lock < 0 && !(mode == M_REVERT && errno == ENOENT))
			gb_die(GB_EXIT_SYS, "%s", err.msg);
	}
	if (mode == M_REVERT) {
		r = gb_tune_revert(root, dry, stdout);
		gb_tune_unlock(root, lock);
		return r;
	}

	if (mode == M_STATUS) {
		static struct gb_tune_state s;

		o.profile = gb_tune_state_load(root, &s, &err) == 0 && s.profile ? s.profile : GB_TUNE_FULL;
	} else {
		o.profile = mode == M_FULL ? GB_TUNE_FULL : GB_TUNE_LIGHT;
	}
	if (gb_tune_plan_make(root, &m, &conf, &o, &plan, &err) < 0) {
		gb_tune_unlock(root, lock);
		gb_die(GB_EXIT_SYS, "%s", err.msg);
	}
	if (mode == M_STATUS) {
		gb_machine_print(&m, stdout);
		return gb_tune_status(root, &plan, stdout);
	}
	if (verbose || dry) {
		gb_machine_print(&m, stderr);
		fprintf(stderr, "# hugepages: %llu: %s\n", (unsigned long long)plan.hugepages, plan.hugepages_why);
	}
	if (m.container && !dry)
		gb_warn("in a %s: these are the host kernel's settings, for every container on it", m.where);
	r = gb_tune_apply(root, &m, &plan, &o, dry, stdout);
	gb_tune_unlock(root, lock);
	if (verbose && !r) {
		int i;

		for (i = 0; i < plan.n; i++)
			if (plan.it[i].profiles & o.profile)
				fprintf(stderr, "# %s = %s: %s\n", plan.it[i].key, plan.it[i].want, plan.it[i].why);
	}
	return r;
}
