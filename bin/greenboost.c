/*
 * greenboost: one command for the toolbox.  "greenboost CMD ARG..." execs
 * gb-CMD with the arguments, like git: from the directory this program is
 * in, else from PATH.  Alone, it runs gb-stat.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gb.h"

static const struct {
	const char *name, *prog, *what;
} cmds[] = {
	{ "run", "gb-run", "run a command with GPU memory beyond VRAM" },
	{ "tune", "gb-tune", "tune the host for GPU memory overflow, reversibly" },
	{ "stat", "gb-stat", "where GreenBoost's memory is (the default)" },
	{ "feed", "gb-feed", "lend this machine's memory to others (cluster mode)" },
	{ "connect", "gb-connect", "borrow memory from machines that lend it (cluster mode)" },
	{ "cluster", "gb-cluster", "the machines of a cluster and what they lend" },
	{ "quant", "gb-quant", "quantize a model to fit the memory budget" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* the program beside this one, else NULL (then PATH decides) */
static const char *beside(const char *prog, char *buf, size_t n)
{
	char exe[PATH_MAX], *slash;
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (l <= 0)
		return NULL;
	exe[l] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	if (snprintf(buf, n, "%s/%s", exe, prog) >= (int)n || access(buf, X_OK) < 0)
		return NULL;
	return buf;
}

/* installed beside us or on PATH */
static int installed(const char *prog)
{
	char buf[PATH_MAX], *path, *p, *save = NULL;
	int found = 0;

	if (beside(prog, buf, sizeof(buf)))
		return 1;
	path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin");
	for (p = path ? strtok_r(path, ":", &save) : NULL; p && !found; p = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", *p ? p : ".", prog);
		found = access(buf, X_OK) == 0;
	}
	free(path);
	return found;
}

static void usage_line(FILE *f)
{
	fprintf(f, "usage: greenboost [-hV] [command [arg]...]\n");
}

static int list(void)
{
	size_t i;

	usage_line(stdout);
	printf("\nGreenBoost: GPU memory beyond VRAM.  The commands, each a program of its own:\n\n");
	for (i = 0; i < NCMDS; i++)
		printf("  %-8s %-11s %s%s\n", cmds[i].name, cmds[i].prog, cmds[i].what,
		       installed(cmds[i].prog) ? "" : " [not installed]");
	printf("\n'greenboost help COMMAND' shows a command's options.  Alone, greenboost runs\n"
	       "gb-stat.  See greenboost(1), greenboost(7).\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = "stat", *path;
	char buf[PATH_MAX];
	size_t i;
	int first = 1, help = 0;

	gb_log_setup("greenboost", GB_LOG_WARN, -1);
	if (argc > 1) {
		name = argv[1];
		first = 2;
		if (!strcmp(name, "-h") || !strcmp(name, "--help"))
			return list();
		if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
			printf("greenboost %s\n", GB_VERSION);
			return 0;
		}
		if (!strcmp(name, "help")) {
			if (argc == 2)
				return list();
			name = argv[2];
			help = 1;
		}
		if (name[0] == '-') {
			usage_line(stderr);
			return GB_EXIT_USAGE;
		}
	}
	for (i = 0; i < NCMDS && strcmp(cmds[i].name, name); i++)
		;
	if (i == NCMDS)
		gb_die_usage("unknown command %s (greenboost help lists them)", name);
	path = beside(cmds[i].prog, buf, sizeof(buf));
	if (help) {
		char *const hargv[] = { (char *)cmds[i].prog, "--help", NULL };

		if (path)
			execv(path, hargv);
		else
			execvp(cmds[i].prog, hargv);
	} else {
		argv[first - 1] = (char *)cmds[i].prog;
		if (path)
			execv(path, argv + first - 1);
		else
			execvp(cmds[i].prog, argv + first - 1);
	}
	if (errno == ENOENT)
		gb_die(GB_EXIT_NOTFOUND, "%s is not installed%s", cmds[i].prog,
		       i >= 3 ? " (this version of GreenBoost does not have it yet)" : "");
	gb_die_errno(GB_EXIT_CANTEXEC, "unable to run %s", cmds[i].prog);
}
