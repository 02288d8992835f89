/*
 * libgb: what every GreenBoost program and the shim share.
 *
 *   logging     one fixed form: "PROG: level: message"
 *   sizes       "12G", "512M", "1.5G", "80%", durations "2s", "500ms"
 *   config      one table of keys (type, default, bounds, help); file,
 *               GB_* environment and command-line layers
 *   status      the plain-text per-process status file (greenboost(7))
 *   proc        small /proc and filesystem helpers
 */
#ifndef GB_H
#define GB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GB_VERSION "0.1.0"

/* exit codes, s6 conventions */
#define GB_EXIT_USAGE 100
#define GB_EXIT_SYS 111
#define GB_EXIT_CANTEXEC 126
#define GB_EXIT_NOTFOUND 127

#define GB_KiB (1ULL << 10)
#define GB_MiB (1ULL << 20)
#define GB_GiB (1ULL << 30)
#define GB_TiB (1ULL << 40)

/* ---- logging ---- */

enum gb_loglevel { GB_LOG_ERROR, GB_LOG_WARN, GB_LOG_INFO, GB_LOG_DEBUG };

extern int gb_log_level;

/* prog is kept by reference; fd < 0 means stderr */
void gb_log_setup(const char *prog, int level, int fd);
const char *gb_log_prog(void);
void gb_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gb_vlog(int level, const char *fmt, va_list ap);
#define gb_warn(...) gb_log(GB_LOG_WARN, __VA_ARGS__)
#define gb_info(...) do { if (gb_log_level >= GB_LOG_INFO) gb_log(GB_LOG_INFO, __VA_ARGS__); } while (0)
#define gb_debug(...) do { if (gb_log_level >= GB_LOG_DEBUG) gb_log(GB_LOG_DEBUG, __VA_ARGS__); } while (0)
/* "PROG: fatal: msg" then exit(code) */
void gb_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* "PROG: fatal: msg: strerror(errno)" then exit(code) */
void gb_die_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* "PROG: usage: msg" then exit(GB_EXIT_USAGE) */
void gb_die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- sizes and durations ---- */

/* A size, or a percentage of a reference resolved later. */
struct gb_sizepct {
	uint64_t bytes;
	uint32_t pct_milli; /* percent * 1000, when is_pct */
	int is_pct;
};

/* 0 on success, -1 with *why set to a static reason */
int gb_size_parse(const char *s, uint64_t *out, const char **why);
int gb_sizepct_parse(const char *s, struct gb_sizepct *out, const char **why);
uint64_t gb_sizepct_resolve(const struct gb_sizepct *v, uint64_t ref);
/* milliseconds: "500ms", "2s", "1m", bare number = ms */
int gb_ms_parse(const char *s, uint64_t *out, const char **why);
/* "12.0G"-style, exact when possible ("512M", "1.5G", "123456") */
char *gb_size_str(uint64_t bytes, char *buf, size_t n);
/* human, always with one decimal: "12.0 GiB" */
char *gb_size_human(uint64_t bytes, char *buf, size_t n);
char *gb_sizepct_str(const struct gb_sizepct *v, char *buf, size_t n);

/* ---- configuration ---- */

enum gb_report { GB_REPORT_VIRTUAL, GB_REPORT_PHYSICAL };

#define GB_PATH_MAX 256

struct gb_conf {
	int enable;
	uint64_t threshold;
	struct gb_sizepct vram_limit;  /* % of the device's VRAM */
	struct gb_sizepct host_limit;  /* % of MemAvailable at start */
	struct gb_sizepct kv_reserve;  /* % of vram_limit */
	int report;                    /* enum gb_report */
	int hugepages;
	char pool_device[GB_PATH_MAX]; /* the kernel module's pool, path A; "" for none */
	int t2_stream;                 /* stage T2 memory into VRAM for the kernels that read it */
	int t2_overlap;                /* t2_stream's copies run ahead on a stream of their own */
	uint64_t t2_stage;             /* bytes of VRAM for that */
	uint64_t phase_gap_ms;
	uint64_t steady_after_ms;
	int log_level;                 /* enum gb_loglevel */
	char log_file[GB_PATH_MAX];
	int status;
	char run_dir[GB_PATH_MAX];
	uint64_t status_interval_ms;
	/* where each key's value came from: "default", "FILE:LINE",
	 * "GB_KEY" or "--key"; indexed like the key table */
	char origin[24][GB_PATH_MAX + 16];
};

enum gb_conf_type { GB_CT_BOOL, GB_CT_SIZE, GB_CT_SIZEPCT, GB_CT_MS, GB_CT_ENUM, GB_CT_PATH };

struct gb_conf_key {
	const char *name;   /* "vram_limit"; env GB_VRAM_LIMIT; option --vram-limit */
	int type;           /* enum gb_conf_type */
	const char *def;    /* default, in the file syntax */
	const char *arg;    /* metavariable for --help and the man page */
	const char *help;   /* one line */
	size_t off;         /* offset in struct gb_conf */
	uint64_t min, max;  /* bytes or ms; for GB_CT_SIZEPCT also bounds of an absolute size */
	uint32_t pct_max;   /* GB_CT_SIZEPCT: largest percentage * 1000 */
	const char *const *choices; /* GB_CT_ENUM, NULL-terminated */
};

extern const struct gb_conf_key gb_conf_keys[];
extern const size_t gb_conf_nkeys;

#define GB_CONF_DEFAULT_PATH_ENV "GB_CONFIG"

struct gb_err {
	char msg[768];
};

/* format msg into err; returns -1, for "return gb_err_set(err, ...)" */
int gb_err_set(struct gb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const struct gb_conf_key *gb_conf_key_find(const char *name);
/* env name of a key, "GB_VRAM_LIMIT" */
char *gb_conf_env_name(const struct gb_conf_key *k, char *buf, size_t n);
void gb_conf_defaults(struct gb_conf *c);
/* set one key from text; origin is recorded; -1 with err filled */
int gb_conf_set(struct gb_conf *c, const struct gb_conf_key *k, const char *value,
		const char *origin, struct gb_err *err);
/* parse a file's contents (name used in messages); -1 on the first error */
int gb_conf_parse(struct gb_conf *c, const char *name, const char *text, size_t len,
		  struct gb_err *err);
/* load a file; a missing file is fine when !must_exist */
int gb_conf_load_file(struct gb_conf *c, const char *path, int must_exist, struct gb_err *err);
/* apply GB_* variables from envp; unknown GB_ names are reported through
 * unknown (may be NULL) and otherwise ignored */
int gb_conf_load_env(struct gb_conf *c, char *const *envp, struct gb_err *err,
		     void (*unknown)(const char *name));
/* the config file path: $GB_CONFIG, else the compiled-in default */
const char *gb_conf_path(void);
/* defaults + file + environment, the way the shim and gb-run see it */
int gb_conf_load(struct gb_conf *c, char *const *envp, struct gb_err *err);
/* value of a key as text, in the file syntax */
char *gb_conf_value_str(const struct gb_conf *c, const struct gb_conf_key *k, char *buf, size_t n);

/* ---- status files ---- */

enum gb_phase { GB_PHASE_INIT, GB_PHASE_MODEL_LOAD, GB_PHASE_INFERENCE, GB_PHASE_STEADY };
const char *gb_phase_name(int phase);
int gb_phase_from_name(const char *s);

#define GB_STATUS_VERSION 1
#define GB_STATUS_MAX_DEV 16
#define GB_TIERS 3 /* T1 VRAM, T2 pinned host, T3 NVMe/remote */
#define GB_STATUS_MAX_ALLOCS 16 /* the largest live allocations listed per device */

struct gb_status_tier {
	uint64_t bytes, count, peak;
};

enum gb_alloc_kind { GB_ALLOC_MEM, GB_ALLOC_VMM };
/* "mem", "vmm"; from a name, -1 for another */
const char *gb_alloc_kind_name(int kind);
int gb_alloc_kind_from_name(const char *s);

/* one of a device's largest live allocations */
struct gb_status_alloc {
	uint64_t bytes;              /* asked for */
	uint64_t t1_bytes, t2_bytes; /* of it, accounted in each tier */
	int kind;                    /* enum gb_alloc_kind */
};

struct gb_status_dev {
	int present;
	char name[96];
	uint64_t vram_physical, vram_limit, kv_reserve;
	uint64_t reported_total, reported_free;
	struct gb_status_tier tier[GB_TIERS];
	uint64_t t2_hugetlb_bytes;
	uint64_t t2_pool_bytes; /* of tier[1], from the kernel module's pool (path A) */
	uint64_t vmm_bytes;     /* of tier[0] and tier[1], app VMM (cuMemCreate) */
	uint64_t stage_bytes;   /* of tier[0]: the staging area (t2_stream) */
	uint64_t staged_bytes;  /* copied from T2 into it so far */
	uint64_t refused;       /* requests answered out of memory */
	int nallocs;            /* alloc[0..nallocs-1]: the largest live ones, largest first */
	struct gb_status_alloc alloc[GB_STATUS_MAX_ALLOCS];
};

struct gb_status {
	int version;
	pid_t pid;
	uint64_t starttime;     /* /proc/PID/stat field 22, clock ticks */
	uid_t uid;
	char comm[64];          /* text fields are escaped: \\ \t \n \xHH */
	char cmdline[1024];
	double updated;         /* seconds since the epoch */
	char path;              /* 'A' kmod pool, 'B' pinned anonymous memory */
	int phase;
	double phase_since;
	uint64_t threshold;
	uint64_t host_limit;
	int report;
	int ndev;               /* highest present index + 1 */
	struct gb_status_dev dev[GB_STATUS_MAX_DEV];
};

/* text of a status file; returns length, or -1 if buf is too small */
int gb_status_format(const struct gb_status *st, char *buf, size_t n);
/* parse; unknown keys are ignored, malformed lines rejected; -1 with err */
int gb_status_parse(const char *buf, size_t len, struct gb_status *st, struct gb_err *err);
/* path of the status file of pid in dir */
char *gb_status_path(const char *dir, pid_t pid, char *buf, size_t n);
/* write atomically (temporary file, rename); -1 with errno */
int gb_status_write(const char *dir, const struct gb_status *st);
/* read and parse a file; -1 with err */
int gb_status_read(const char *path, struct gb_status *st, struct gb_err *err);
/* 1 if the process that wrote st is gone (or the pid was reused) */
int gb_status_is_stale(const struct gb_status *st);
/* the run directory to write to: dir if usable (created), else
 * $XDG_RUNTIME_DIR/greenboost; *fellback set when the fallback was taken;
 * NULL if neither works */
const char *gb_run_dir_pick(const char *dir, char *buf, size_t n, int *fellback);
/* escape for the cmdline field */
void gb_status_escape(const char *in, size_t inlen, char *out, size_t n);

/* ---- proc and file helpers ---- */

/* MemAvailable from /proc/meminfo, bytes; 0 if unknown */
uint64_t gb_mem_available(void);
/* field 22 of /proc/PID/stat; 0 if unknown */
uint64_t gb_proc_starttime(pid_t pid);
/* read a small file whole into a malloc'd NUL-terminated buffer; NULL with errno */
char *gb_read_file(const char *path, size_t max, size_t *len);
/* the same from an open descriptor */
char *gb_read_fd(int fd, size_t max, size_t *len);
/* monotonic milliseconds */
uint64_t gb_now_ms(void);
double gb_wall_time(void);

#endif
