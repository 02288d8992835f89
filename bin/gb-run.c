/*
 * gb-run: run a command with GreenBoost's shim preloaded.
 *
 * Sets LD_PRELOAD and the GB_* variables, then execs the command: it does
 * not stay around, so exit status and signals are the command's own.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gb.h"

#ifndef GB_PKGLIBDIR
#define GB_PKGLIBDIR "/usr/local/lib/greenboost"
#endif
#define SHIM_NAME "libgreenboost_cuda.so"

extern char **environ;

enum { OPT_KEY = 1000 };

static void usage_line(FILE *f)
{
	fprintf(f, "usage: gb-run [-nqvphV] [-c file] [--key value]... [--] command [arg]...\n");
}

static void help(void)
{
	char opt[64], env[64], def[64];
	size_t i, j;

	usage_line(stdout);
	printf("\nRun command with GreenBoost: GPU allocations that do not fit in VRAM live in\n"
	       "pinned host memory the GPU reads directly.\n\n"
	       "  -c, --config FILE      configuration file (default %s)\n"
	       "  -n, --dry-run          print the environment that would be set, run nothing\n"
	       "  -p, --print-config     print the configuration in effect and where each value came from\n"
	       "  -q, --quiet            log errors only (log_level=error)\n"
	       "  -v, --verbose          log placement decisions (log_level=info; twice: debug)\n"
	       "  -h, --help             this text\n"
	       "  -V, --version          print the version\n\n"
	       "Settings (also GB_KEY variables and KEY = VALUE lines in the file; options win):\n",
	       gb_conf_path());
	for (i = 0; i < gb_conf_nkeys; i++) {
		const struct gb_conf_key *k = &gb_conf_keys[i];

		for (j = 0; k->name[j] && j < sizeof(opt) - 1; j++)
			opt[j] = k->name[j] == '_' ? '-' : k->name[j];
		opt[j] = 0;
		snprintf(def, sizeof(def), "%s", *k->def ? k->def : "(none)");
		printf("  --%s %s\n      %s [%s, %s]\n", opt, k->arg, k->help, gb_conf_env_name(k, env, sizeof(env)), def);
	}
	printf("\nSizes: 512K, 64M, 12G, 1.5G, 2T; percentages: 80%%; durations: 500ms, 2s.\n"
	       "Exit status: the command's; 100 usage or configuration error, 111 system error,\n"
	       "126 command not executable, 127 command not found.  See gb-run(1), greenboost(7).\n");
	exit(0);
}

static void unknown_var(const char *name)
{
	gb_warn("ignoring unknown variable %s (see gb-run --help)", name);
}

/* the shim: $GB_SHIM, else ../lib beside this program (a build tree),
 * else the installed one */
static const char *find_shim(char *buf, size_t n)
{
	const char *env = getenv("GB_SHIM");
	char exe[PATH_MAX];
	ssize_t l;

	if (env && *env)
		return env;
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l > 0) {
		char *slash;

		exe[l] = 0;
		slash = strrchr(exe, '/');
		if (slash && slash - exe >= 4 && !strncmp(slash - 4, "/bin", 4)) {
			slash[-4] = 0;
			snprintf(buf, n, "%s/lib/%s", exe, SHIM_NAME);
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	snprintf(buf, n, "%s/%s", GB_PKGLIBDIR, SHIM_NAME);
	return buf;
}

/* LD_PRELOAD entries are separated by spaces or colons */
static int preload_has(const char *list, const char *path)
{
	size_t pl = strlen(path);
	const char *p = list;

	while (p && *p) {
		size_t l = strcspn(p, ": ");

		if (l == pl && !strncmp(p, path, pl))
			return 1;
		p += l;
		p += strspn(p, ": ");
	}
	return 0;
}

struct setting {
	const struct gb_conf_key *key;
	const char *value;
	char origin[80];
};

static void put_env(int dry, const char *name, const char *value)
{
	if (dry)
		printf("%s=%s\n", name, value);
	else if (setenv(name, value, 1) < 0)
		gb_die_errno(GB_EXIT_SYS, "unable to set %s", name);
}

int main(int argc, char **argv)
{
	static struct option base_opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	const size_t nbase = sizeof(base_opts) / sizeof(base_opts[0]);
	struct option *opts;
	struct setting *set;
	char (*names)[64];
	struct gb_conf conf;
	struct gb_err err;
	const char *config = NULL, *shim, *old;
	char shimbuf[PATH_MAX], cfgabs[PATH_MAX], envname[64];
	int dry = 0, print = 0, verbose = 0, quiet = 0, nset = 0, c, idx;
	size_t i, j;
	void *cuda;

	gb_log_setup("gb-run", GB_LOG_WARN, -1);
	opts = calloc(nbase + gb_conf_nkeys + 1, sizeof(*opts));
	names = calloc(gb_conf_nkeys, sizeof(*names));
	set = calloc((size_t)argc + 1, sizeof(*set));
	if (!opts || !names || !set)
		gb_die_errno(GB_EXIT_SYS, "unable to allocate memory");
	memcpy(opts, base_opts, sizeof(base_opts));
	for (i = 0; i < gb_conf_nkeys; i++) {
		for (j = 0; gb_conf_keys[i].name[j] && j < sizeof(names[i]) - 1; j++)
			names[i][j] = gb_conf_keys[i].name[j] == '_' ? '-' : gb_conf_keys[i].name[j];
		opts[nbase + i] = (struct option){ names[i], required_argument, NULL, OPT_KEY + (int)i };
	}

	/* "+": options end at the command, whose own options are its business */
	while ((c = getopt_long(argc, argv, "+c:npqvhV", opts, &idx)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'n': dry = 1; break;
		case 'p': print = 1; break;
		case 'q': quiet = 1; break;
		case 'v': verbose++; break;
		case 'h': help(); break;
		case 'V': printf("gb-run %s\n", GB_VERSION); return 0;
		default:
			if (c >= OPT_KEY && c < OPT_KEY + (int)gb_conf_nkeys) {
				set[nset].key = &gb_conf_keys[c - OPT_KEY];
				set[nset].value = optarg;
				snprintf(set[nset].origin, sizeof(set[nset].origin), "--%s", names[c - OPT_KEY]);
				nset++;
				break;
			}
			usage_line(stderr);
			return GB_EXIT_USAGE;
		}
	}
	if (verbose && quiet)
		gb_die_usage("-q and -v contradict each other");
	if (optind == argc && !dry && !print) {
		usage_line(stderr);
		return GB_EXIT_USAGE;
	}

	if (config) {
		if (!realpath(config, cfgabs))
			gb_die_errno(GB_EXIT_USAGE, "unable to read configuration file %s", config);
		if (setenv(GB_CONF_DEFAULT_PATH_ENV, cfgabs, 1) < 0)
			gb_die_errno(GB_EXIT_SYS, "unable to set %s", GB_CONF_DEFAULT_PATH_ENV);
	}
	/* the same layers the shim will read, so that errors show now */
	gb_conf_defaults(&conf);
	old = getenv(GB_CONF_DEFAULT_PATH_ENV);
	if (gb_conf_load_file(&conf, gb_conf_path(), old && *old, &err) < 0 ||
	    gb_conf_load_env(&conf, environ, &err, unknown_var) < 0)
		gb_die(GB_EXIT_USAGE, "%s", err.msg);
	for (c = 0; c < nset; c++)
		if (gb_conf_set(&conf, set[c].key, set[c].value, set[c].origin, &err) < 0)
			gb_die(GB_EXIT_USAGE, "%s", err.msg);
	if (quiet)
		gb_conf_set(&conf, gb_conf_key_find("log_level"), "error", "-q", &err);
	if (verbose)
		gb_conf_set(&conf, gb_conf_key_find("log_level"), verbose > 1 ? "debug" : "info", "-v", &err);

	if (print) {
		char v[GB_PATH_MAX + 8];

		for (i = 0; i < gb_conf_nkeys; i++)
			printf("%s = %s\t# %s\n", gb_conf_keys[i].name,
			       gb_conf_value_str(&conf, &gb_conf_keys[i], v, sizeof(v)), conf.origin[i]);
		if (optind == argc)
			return 0;
	}

	if (!conf.enable) {
		/* a shim inherited through LD_PRELOAD must hear it too */
		put_env(dry, "GB_ENABLE", "off");
		if (dry)
			return 0;
		goto run;
	}
	cuda = dlopen(getenv("GB_CUDA_LIB") && *getenv("GB_CUDA_LIB") ? getenv("GB_CUDA_LIB") : "libcuda.so.1",
		      RTLD_LAZY | RTLD_LOCAL);
	if (!cuda) {
		const char *cmd = optind < argc ? argv[optind] : "the command";

		if (!dry) {
			gb_warn("no NVIDIA driver here (%s): running %s without GreenBoost", dlerror(), cmd);
			goto run;
		}
		/* a dry run still prints what a machine with the driver gets,
		 * so that a command line can be checked on one without */
		gb_warn("no NVIDIA driver here (%s): %s would run without GreenBoost", dlerror(), cmd);
	} else {
		dlclose(cuda);
	}

	shim = find_shim(shimbuf, sizeof(shimbuf));
	if (access(shim, R_OK) < 0)
		gb_die_errno(GB_EXIT_SYS, "unable to find the shim %s", shim);
	old = getenv("LD_PRELOAD");
	if (old && *old && preload_has(old, shim)) {
		put_env(dry, "LD_PRELOAD", old);
	} else {
		size_t n = strlen(shim) + (old ? strlen(old) : 0) + 2;
		char *pre = malloc(n);

		if (!pre)
			gb_die_errno(GB_EXIT_SYS, "unable to allocate memory");
		snprintf(pre, n, "%s%s%s", shim, old && *old ? ":" : "", old && *old ? old : "");
		put_env(dry, "LD_PRELOAD", pre);
		free(pre);
	}
	if (config)
		put_env(dry, GB_CONF_DEFAULT_PATH_ENV, cfgabs);
	for (c = 0; c < nset; c++)
		put_env(dry, gb_conf_env_name(set[c].key, envname, sizeof(envname)), set[c].value);
	if (quiet || verbose)
		put_env(dry, "GB_LOG_LEVEL", quiet ? "error" : verbose > 1 ? "debug" : "info");
	if (dry)
		return 0;
run:
	execvp(argv[optind], argv + optind);
	c = errno;
	errno = c;
	gb_die_errno(c == ENOENT ? GB_EXIT_NOTFOUND : GB_EXIT_CANTEXEC, "unable to run %s", argv[optind]);
}
