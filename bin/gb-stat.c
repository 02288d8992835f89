/*
 * gb-stat: where GreenBoost's memory is.  Reads the status file of every
 * process under the shim, greenboost.ko's statistics and gb-tune's state;
 * prints them for people (the default), scripts (dump), tools (--json),
 * Prometheus (--prometheus), or live (top).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gb.h"
#include "stat/stat.h"

enum { OUT_TABLE, OUT_DUMP, OUT_JSON, OUT_PROM };
enum { OPT_PROM = 1000, OPT_ROOT, OPT_COLOUR };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage_line(FILE *f)
{
	fprintf(f, "usage: gb-stat [-ajhV] [-w seconds] [-d dir]... [--prometheus[=file]] [show | dump | top]\n");
}

static void help(void)
{
	usage_line(stdout);
	printf("\nWhere GreenBoost's memory is: each process under the shim, each GPU, the\n"
	       "kernel module's pool and the gb-tune profile.\n\n"
	       "  show                   a table for people (the default); colour on a terminal\n"
	       "  dump                   tab-separated records, one a line (gb-stat(1) lists the fields)\n"
	       "  top                    a live view (q quits)\n"
	       "  -j, --json             one JSON object\n"
	       "  --prometheus[=FILE]    the node_exporter textfile format, to FILE (atomically) or stdout\n"
	       "  -w, --watch SECONDS    again every SECONDS, until interrupted\n"
	       "  -a, --all              also the status files of processes that are gone, and unreadable ones\n"
	       "  -d, --dir DIR          read status files in DIR (repeatable; default: run_dir, and\n"
	       "                         $XDG_RUNTIME_DIR/greenboost)\n"
	       "  --color=auto|always|never  colour in the table (auto: on a terminal, unless NO_COLOR is set)\n"
	       "  --root DIR             read DIR/sys, DIR/var and the run directory under DIR (tests)\n"
	       "  -h, --help             this text\n"
	       "  -V, --version          print the version\n\n"
	       "Exit status: 0, also when no process runs under GreenBoost; 100 usage; 111 system error.\n"
	       "See gb-stat(1), greenboost(7).\n");
	exit(0);
}

/* FILE, atomically: a temporary file beside it, then rename */
static int write_prom(const struct gb_snap *s, const char *path)
{
	char tmp[4096];
	FILE *f;
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	fchmod(fd, 0644);
	gb_stat_prom(s, f);
	if (fflush(f) || ferror(f) || fsync(fd) < 0) {
		e = errno ? errno : EIO;
		fclose(f);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (fclose(f) || rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", optional_argument, NULL, OPT_PROM },
		{ "watch", required_argument, NULL, 'w' },
		{ "dir", required_argument, NULL, 'd' },
		{ "color", required_argument, NULL, OPT_COLOUR },
		{ "colour", required_argument, NULL, OPT_COLOUR },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dirs[GB_STAT_MAX_DIRS], *root = "", *prom_file = NULL, *cmd = "show";
	int ndirs = 0, all = 0, out = OUT_TABLE, colour = -1, c, tty;
	double interval = 0;
	struct gb_snap s;
	struct sigaction sa;

	gb_log_setup("gb-stat", GB_LOG_WARN, -1);
	while ((c = getopt_long(argc, argv, "ajw:d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = 1; break;
		case 'j': out = OUT_JSON; break;
		case OPT_PROM:
			out = OUT_PROM;
			prom_file = optarg;
			break;
		case 'w': {
			char *e;

			interval = strtod(optarg, &e);
			if (e == optarg || *e || !(interval >= 0.1 && interval <= 86400))
				gb_die_usage("-w %s: seconds, from 0.1 to 86400", optarg);
			break;
		}
		case 'd':
			if (ndirs == GB_STAT_MAX_DIRS)
				gb_die_usage("at most %d directories", GB_STAT_MAX_DIRS);
			if (strlen(optarg) >= GB_PATH_MAX)
				gb_die_usage("-d: directory name too long");
			dirs[ndirs++] = optarg;
			break;
		case OPT_COLOUR:
			if (!strcmp(optarg, "always"))
				colour = 1;
			else if (!strcmp(optarg, "never"))
				colour = 0;
			else if (!strcmp(optarg, "auto"))
				colour = -1;
			else
				gb_die_usage("--color %s: auto, always or never", optarg);
			break;
		case OPT_ROOT: root = optarg; break;
		case 'h': help(); break;
		case 'V': printf("gb-stat %s\n", GB_VERSION); return 0;
		default:
			usage_line(stderr);
			return GB_EXIT_USAGE;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (optind < argc)
		gb_die_usage("unexpected argument %s", argv[optind]);
	if (!strcmp(cmd, "dump")) {
		if (out != OUT_TABLE)
			gb_die_usage("dump, --json and --prometheus exclude each other");
		out = OUT_DUMP;
	} else if (!strcmp(cmd, "top")) {
		if (out != OUT_TABLE)
			gb_die_usage("top is a view of its own: no --json or --prometheus");
		return gb_stat_top(root, dirs, ndirs, interval ? interval : 1.0);
	} else if (strcmp(cmd, "show")) {
		gb_die_usage("unknown command %s (show, dump or top)", cmd);
	}
	tty = isatty(1);
	if (colour < 0) {
		const char *term = getenv("TERM"), *no = getenv("NO_COLOR");

		colour = tty && term && strcmp(term, "dumb") && !(no && *no);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (;;) {
		gb_stat_collect(&s, root, dirs, ndirs);
		if (interval && out == OUT_TABLE && tty)
			fputs("\033[H\033[2J", stdout);
		switch (out) {
		case OUT_TABLE: gb_stat_table(&s, stdout, colour, all); break;
		case OUT_DUMP: gb_stat_dump(&s, stdout, all); break;
		case OUT_JSON: gb_stat_json(&s, stdout, all); break;
		case OUT_PROM:
			if (prom_file && *prom_file) {
				if (write_prom(&s, prom_file) < 0)
					gb_die_errno(GB_EXIT_SYS, "unable to write %s", prom_file);
			} else {
				gb_stat_prom(&s, stdout);
			}
			break;
		}
		gb_stat_free(&s);
		if (fflush(stdout) == EOF && errno == EPIPE)
			return 0;
		if (!interval || stop)
			break;
		/* a blank line between tables of a log; one record per line otherwise */
		if (out == OUT_TABLE && !tty)
			putchar('\n');
		{
			struct timespec ts = { (time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9) };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop)
				;
		}
		if (stop)
			break;
	}
	return ferror(stdout) ? GB_EXIT_SYS : 0;
}
