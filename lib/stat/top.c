/*
 * gb-stat top: the live view.  A bar per tier per process and GPU, the
 * host and the GPUs above; refreshed every interval; q quits, a shows the
 * stale and unreadable status files.  Made for 80x24 and wider.  Without
 * a terminal it prints the plain table once.
 */
#include <curses.h>
#include <locale.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stat/stat.h"

enum { C_T1 = 1, C_T2, C_T3, C_HEAD, C_WARN };

static void bar(int y, int x, int w, uint64_t v, uint64_t max, int colour)
{
	int inner = w - 2, i;
	int fill = max ? (int)((double)inner * (double)(v > max ? max : v) / (double)max + 0.5) : 0;

	if (inner < 1)
		return;
	mvaddch(y, x, '[');
	attron(COLOR_PAIR(colour));
	for (i = 0; i < inner; i++)
		addch(i < fill ? '#' : ' ');
	attroff(COLOR_PAIR(colour));
	addch(']');
}

static void draw(const struct gb_snap *s, double interval, int all)
{
	char a[16], b[16], c[16], when[16], cmd[64], name[sizeof(s->gpu[0].name)], t[4 * sizeof(s->bad[0].file) + 1];
	int y = 0, i, d, g, cols = COLS, rows = LINES, bw;
	time_t now = (time_t)s->taken;
	struct tm tm;

	erase();
	if (cols < 60 || rows < 8) {
		mvprintw(0, 0, "gb-stat top: the terminal is too small (%dx%d)", cols, rows);
		refresh();
		return;
	}
	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	attron(A_REVERSE);
	mvprintw(y, 0, "%-*s", cols, "");
	mvprintw(y++, 0, " gb-stat top   %s   every %.1fs   q quit  a %s", when, interval,
		 all ? "hide stale" : "show stale");
	attroff(A_REVERSE);
	if (s->pool)
		mvprintw(y++, 0, "host  greenboost.ko pool %s, %s free; gb-tune %s", gb_stat_size(s->pool_total, a, sizeof(a)),
			 gb_stat_size(s->pool_free, b, sizeof(b)), gb_stat_profile_name(s->tune_profile));
	else
		mvprintw(y++, 0, "host  no greenboost.ko pool (path B); gb-tune %s", gb_stat_profile_name(s->tune_profile));
	for (g = 0; g < s->ngpu && y < rows - 4; g++) {
		const struct gb_stat_gpu *u = &s->gpu[g];

		/* a status file's text, here as in every view, only as
		 * gb_stat_safe leaves it */
		gb_stat_unescape(u->name, name, sizeof(name));
		mvprintw(y++, 0, "gpu %d %s %s: T1 %s T2 %s T3 %s, %d process%s", u->index, gb_stat_safe(name, t, 29),
			 gb_stat_size(u->vram_physical, a, sizeof(a)), gb_stat_size(u->tier[0], b, sizeof(b)),
			 gb_stat_size(u->tier[1], c, sizeof(c)), gb_stat_size(u->tier[2], cmd, sizeof(cmd)), u->nproc,
			 u->nproc == 1 ? "" : "es");
	}
	y++;
	if (!s->nproc) {
		mvprintw(y++, 0, "no GreenBoost processes");
		if (s->nstale || s->nbad)
			mvprintw(y++, 0, "(%d stale, %d unreadable status files)", s->nstale, s->nbad);
	} else {
		/* PID COMMAND PHASE GPU (36 columns), then two bars, each
		 * followed by its figures (12 columns) */
		bw = (cols - 36 - 2 * 12) / 2;
		if (bw < 6)
			bw = 6;
		attron(A_BOLD);
		mvprintw(y, 0, "%-7s %-12s %-10s %3s", "PID", "COMMAND", "PHASE", "GPU");
		mvprintw(y, 36, "%.*s", bw + 12, "T1, of vram_limit");
		mvprintw(y++, 36 + bw + 12, "%.*s", bw + 12, "T2, of host_limit");
		attroff(A_BOLD);
		for (i = 0; i < s->nproc && y < rows - 1; i++) {
			const struct gb_stat_proc *p = &s->proc[i];

			gb_stat_safe(*p->comm ? p->comm : "?", cmd, 13);
			for (d = 0; d < p->st.ndev && d < GB_STATUS_MAX_DEV && y < rows - 1; d++) {
				const struct gb_status_dev *v = &p->st.dev[d];
				int x = 36;

				if (!v->present)
					continue;
				mvprintw(y, 0, "%-7d %-12s %-10.10s %3d", (int)p->st.pid, cmd, gb_phase_name(p->st.phase), d);
				bar(y, x, bw, v->tier[0].bytes, v->vram_limit, C_T1);
				mvprintw(y, x + bw, " %5s/%-5s", gb_stat_size(v->tier[0].bytes, a, sizeof(a)),
					 gb_stat_size(v->vram_limit, b, sizeof(b)));
				x += bw + 12;
				bar(y, x, bw, v->tier[1].bytes, p->st.host_limit, C_T2);
				mvprintw(y, x + bw, " %5s/%-5s", gb_stat_size(v->tier[1].bytes, a, sizeof(a)),
					 gb_stat_size(p->st.host_limit, b, sizeof(b)));
				if (v->refused && x + bw + 13 < cols) {
					attron(COLOR_PAIR(C_WARN));
					mvprintw(y, x + bw + 12, " refused");
					attroff(COLOR_PAIR(C_WARN));
				}
				y++;
			}
		}
		if (i < s->nproc)
			mvprintw(rows - 1, 0, "(%d more processes: gb-stat)", s->nproc - i);
	}
	if (all) {
		/* "stale " or "bad   ", then cols - 7 bytes */
		size_t tn = (size_t)cols - 6 < sizeof(t) ? (size_t)cols - 6 : sizeof(t);

		for (i = 0; i < s->nstale && y < rows - 1; i++)
			mvprintw(y++, 0, "stale %s", gb_stat_safe(s->stale[i].file, t, tn));
		for (i = 0; i < s->nbad && y < rows - 1; i++)
			mvprintw(y++, 0, "bad   %s", gb_stat_safe(s->bad[i].why, t, tn));
	}
	refresh();
}

int gb_stat_top(const char *root, const char *const *dirs, int ndirs, double interval)
{
	struct gb_snap s;
	SCREEN *scr;
	int all = 0, ch, quit = 0;

	/* before newterm, which decides then how to write characters (set
	 * after it, a CJK name came out as " W  \"); the character set
	 * only, so that the figures read as in the table */
	setlocale(LC_CTYPE, "");
	if (!isatty(0) || !isatty(1) || !(scr = newterm(NULL, stdout, stdin))) {
		gb_stat_collect(&s, root, dirs, ndirs);
		gb_stat_table(&s, stdout, 0, 0);
		gb_stat_free(&s);
		return 0;
	}
	set_term(scr);
	cbreak();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(C_T1, COLOR_GREEN, -1);
		init_pair(C_T2, COLOR_YELLOW, -1);
		init_pair(C_T3, COLOR_MAGENTA, -1);
		init_pair(C_HEAD, COLOR_CYAN, -1);
		init_pair(C_WARN, COLOR_RED, -1);
	}
	timeout((int)(interval * 1000));
	while (!quit) {
		gb_stat_collect(&s, root, dirs, ndirs);
		draw(&s, interval, all);
		gb_stat_free(&s);
		ch = getch();
		switch (ch) {
		case 'q':
		case 'Q':
			quit = 1;
			break;
		case 'a':
			all = !all;
			break;
		}
	}
	endwin();
	delscreen(scr);
	return 0;
}
