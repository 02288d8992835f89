/*
 * gb-stat's pieces (gb-stat(1)):
 *
 *   collect   one snapshot: every status file of the run directories
 *             (live, stale or unreadable), the GPUs they use, the kernel
 *             module's pool and gb-tune's profile
 *   text      what of a status file's text may reach a terminal
 *   table     the human view, colour on a terminal
 *   dump      tab-separated records, one a line
 *   json      the same, for tools
 *   prom      the node_exporter textfile format
 *   top       the ncurses live view
 */
#ifndef GB_STAT_H
#define GB_STAT_H

#include <stdint.h>
#include <stdio.h>

#include "gb.h"

#define GB_STAT_MAX_DIRS 4
#define GB_STAT_MAX_GPUS 32

struct gb_stat_proc {
	char file[GB_PATH_MAX + 64];
	struct gb_status st;
	char comm[64];        /* unescaped, for people */
	char cmdline[1024];
};

struct gb_stat_other {
	char file[GB_PATH_MAX + 64];
	pid_t pid;            /* 0 when unknown */
	char why[256];
};

struct gb_stat_gpu {
	int index;            /* the CUDA ordinal the processes saw */
	char name[96];
	uint64_t vram_physical;
	uint64_t tier[GB_TIERS];
	uint64_t refused;
	int nproc;
};

struct gb_snap {
	double taken;                         /* seconds since the epoch */
	int ndirs;
	char dir[GB_STAT_MAX_DIRS][GB_PATH_MAX];
	int nproc, nstale, nbad;
	struct gb_stat_proc *proc;            /* live, by pid */
	struct gb_stat_other *stale, *bad;    /* process gone; file unreadable */
	int ngpu;
	struct gb_stat_gpu gpu[GB_STAT_MAX_GPUS];
	/* greenboost.ko */
	int pool;                             /* loaded */
	uint64_t pool_total, pool_free, pool_held;
	/* gb-tune */
	int tune_profile;                     /* 0 none, 1 light, 2 full, -1 unreadable state */
	double tune_applied;
};

/* the run directories to read: dir if given, else run_dir of the
 * configuration and $XDG_RUNTIME_DIR/greenboost; root prefixes /sys,
 * /var and the configured run_dir (tests) */
int gb_stat_collect(struct gb_snap *s, const char *root, const char *const *dirs, int ndirs);
void gb_stat_free(struct gb_snap *s);

/* undo the status file's escapes (\\ \t \n \xHH) */
void gb_stat_unescape(const char *in, char *out, size_t n);
/* "3.2G", "512M", "0": at most 6 characters */
char *gb_stat_size(uint64_t bytes, char *buf, size_t n);
const char *gb_stat_profile_name(int profile);
/* length of the valid UTF-8 sequence at s, 0 if there is none */
int gb_stat_utf8_len(const unsigned char *s);
/* the rule for every view: the length of the printable character at s,
 * or 0 for a byte to escape: a C0 control, DEL, a byte of a C1 control
 * (U+0080-U+009F) or a byte that is not valid UTF-8 */
int gb_stat_printable(const unsigned char *s);
/* in, with each byte gb_stat_printable refuses as \xHH; cut to fit n
 * between characters, never inside one or inside an escape */
char *gb_stat_safe(const char *in, char *out, size_t n);

/* outputs; all = also stale and unreadable files */
void gb_stat_table(const struct gb_snap *s, FILE *f, int colour, int all);
void gb_stat_dump(const struct gb_snap *s, FILE *f, int all);
void gb_stat_json(const struct gb_snap *s, FILE *f, int all);
void gb_stat_prom(const struct gb_snap *s, FILE *f);
/* the live view until q; returns an exit status */
int gb_stat_top(const char *root, const char *const *dirs, int ndirs, double interval);

#endif
