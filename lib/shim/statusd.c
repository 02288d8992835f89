/*
 * The status file: written at start, then by a thread at most every
 * status_interval while something changed, atomically (rename), removed
 * at exit.  A process that dies without exiting leaves a file whose pid
 * is gone or whose starttime no longer matches: readers call that stale.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

static pthread_mutex_t smu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t scv;
static int started, closed;
static _Atomic int dirty;
static char path[GB_PATH_MAX + 32];
static struct gb_status base; /* fields fixed for the life of the process */

void gb_status_dirty(void)
{
	atomic_store_explicit(&dirty, 1, memory_order_relaxed);
}

/* the order allocations are listed in: largest first, then by address
 * (a VMM record's is its handle), so that equal ones keep their places */
static int listed_before(const struct gb_rec *a, const struct gb_rec *b)
{
	if (a->size != b->size)
		return a->size > b->size;
	if (a->ptr != b->ptr)
		return a->ptr < b->ptr;
	return a->kind < b->kind;
}

/* each device's largest live records, in listed order */
struct largest {
	const struct gb_rec *r[GB_MAX_DEVICES][GB_STATUS_MAX_ALLOCS];
	int n[GB_MAX_DEVICES];
};

/* a gb_ptrmap_each visitor, under g.lock: keep r if it is among the largest */
static void keep_largest(void *v, void *arg)
{
	const struct gb_rec *r = v;
	struct largest *l = arg;
	const struct gb_rec **a;
	int n, i;

	if (r->dev < 0 || r->dev >= GB_MAX_DEVICES)
		return;
	a = l->r[r->dev];
	n = l->n[r->dev];
	if (n == GB_STATUS_MAX_ALLOCS && !listed_before(r, a[n - 1]))
		return;
	if (n < GB_STATUS_MAX_ALLOCS)
		n++;
	for (i = n - 1; i > 0 && listed_before(r, a[i - 1]); i--)
		a[i] = a[i - 1];
	a[i] = r;
	l->n[r->dev] = n;
}

static void list_allocs(struct gb_status_dev *o, const struct gb_rec *const *r, int n)
{
	int k;

	o->nallocs = n;
	for (k = 0; k < n; k++) {
		struct gb_status_alloc *a = &o->alloc[k];

		a->bytes = r[k]->size;
		a->t1_bytes = r[k]->tier == 0 ? r[k]->acct : 0;
		a->t2_bytes = r[k]->tier == 1 ? r[k]->acct : 0;
		a->kind = r[k]->kind == GB_K_VMM ? GB_ALLOC_VMM : GB_ALLOC_MEM;
	}
}

static void snapshot(struct gb_status *st)
{
	int ready[GB_MAX_DEVICES];
	struct largest l;
	int i;

	*st = base;
	st->updated = gb_wall_time();
	/* the reports first: gb_report takes g.lock */
	for (i = 0; i < GB_MAX_DEVICES; i++) {
		ready[i] = atomic_load_explicit(&g.dev[i].ready, memory_order_acquire);
		if (ready[i])
			gb_report(i, 0, 0, &st->dev[i].reported_free, &st->dev[i].reported_total);
	}
	memset(&l, 0, sizeof(l));
	/* one hold of g.lock for the counters and the list, so that both are
	 * of one moment (but for a free in flight: its record has left the
	 * maps before its bytes leave the counters).  The walk visits every
	 * slot of both maps, which grow with the most allocations the process
	 * ever held at once; allocations and frees wait for it, at most once
	 * a status_interval and only when something changed (greenboost(7)) */
	pthread_mutex_lock(&g.lock);
	st->path = gb_hostmem_path();
	st->phase = g.phase;
	st->phase_since = g.phase_since_wall;
	gb_ptrmap_each(g.ptrs, keep_largest, &l);
	gb_ptrmap_each(g.handles, keep_largest, &l);
	for (i = 0; i < GB_MAX_DEVICES; i++) {
		struct gb_dev *d = &g.dev[i];
		struct gb_status_dev *o = &st->dev[i];

		if (!ready[i])
			continue;
		o->present = 1;
		gb_status_escape(d->name, strnlen(d->name, sizeof(d->name)), o->name, sizeof(o->name));
		o->vram_physical = d->phys_total;
		o->vram_limit = d->vram_limit;
		o->kv_reserve = d->kv_reserve;
		memcpy(o->tier, d->tier, sizeof(o->tier));
		o->t2_hugetlb_bytes = d->t2_hugetlb_bytes;
		o->t2_pool_bytes = d->t2_pool_bytes;
		o->vmm_bytes = d->vmm_bytes;
		o->stage_bytes = d->stage_bytes;
		o->staged_bytes = d->staged_bytes;
		o->refused = d->refused;
		list_allocs(o, l.r[i], l.n[i]);
		st->ndev = i + 1;
	}
	pthread_mutex_unlock(&g.lock);
}

static void write_now(void)
{
	static int warned;
	/* on the heap: the first write runs on an application thread */
	struct gb_status *st = malloc(sizeof(*st));

	if (!st) {
		if (!warned++)
			gb_warn("unable to write status file %s: %s", path, strerror(ENOMEM));
		return;
	}
	snapshot(st);
	pthread_mutex_lock(&smu);
	if (!closed && path[0] && gb_status_write(g.run_dir, st) < 0 && !warned++)
		gb_warn("unable to write status file %s: %s", path, strerror(errno));
	pthread_mutex_unlock(&smu);
	free(st);
}

static void *run(void *arg)
{
	struct timespec ts;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&smu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(g.conf.status_interval_ms / 1000);
		ts.tv_nsec += (long)(g.conf.status_interval_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!closed && pthread_cond_timedwait(&scv, &smu, &ts) != ETIMEDOUT)
			;
		if (closed) {
			pthread_mutex_unlock(&smu);
			return NULL;
		}
		pthread_mutex_unlock(&smu);
		pthread_mutex_lock(&g.lock);
		gb_phase_event(GB_EV_TICK, gb_now_ms());
		pthread_mutex_unlock(&g.lock);
		if (atomic_exchange_explicit(&dirty, 0, memory_order_relaxed))
			write_now();
	}
}

static void read_identity(void)
{
	size_t len, i;
	char *t;

	base.version = GB_STATUS_VERSION;
	base.pid = getpid();
	base.uid = getuid();
	base.starttime = gb_proc_starttime(base.pid);
	base.threshold = g.threshold;
	base.host_limit = g.host_limit;
	base.report = g.conf.report;
	t = gb_read_file("/proc/self/comm", 4096, &len);
	if (t) {
		if (len && t[len - 1] == '\n')
			t[--len] = 0;
		gb_status_escape(t, len, base.comm, sizeof(base.comm));
		free(t);
	}
	t = gb_read_file("/proc/self/cmdline", 1 << 16, &len);
	if (t) {
		for (i = 0; i + 1 < len; i++)
			if (!t[i])
				t[i] = ' ';
		if (len && !t[len - 1])
			len--;
		gb_status_escape(t, len, base.cmdline, sizeof(base.cmdline));
		free(t);
	}
}

/* files of this user's processes that are gone */
static void sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uid_t uid = getuid();

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[GB_PATH_MAX + 300], *end;
		long pid = strtol(e->d_name, &end, 10);
		struct stat sb;

		if (pid <= 0 || strcmp(end, ".status"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &sb) < 0 || sb.st_uid != uid || !S_ISREG(sb.st_mode))
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			unlink(p);
	}
	closedir(d);
}

void gb_status_start(void)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	pthread_t th;
	const char *dir;
	int fellback;

	if (!g.conf.status || started)
		return;
	dir = gb_run_dir_pick(g.conf.run_dir, g.run_dir, sizeof(g.run_dir), &fellback);
	if (!dir) {
		gb_warn("run_dir %s is not writable and XDG_RUNTIME_DIR is unset: no status file", g.conf.run_dir);
		return;
	}
	if (fellback)
		gb_warn("run_dir %s is not writable: status files go to %s", g.conf.run_dir, g.run_dir);
	started = 1;
	read_identity();
	gb_status_path(g.run_dir, base.pid, path, sizeof(path));
	sweep(g.run_dir);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&scv, &ca);
	pthread_condattr_destroy(&ca);
	write_now();
	/* the thread takes none of the application's signals */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&th, NULL, run, NULL) == 0)
		pthread_detach(th);
	else
		gb_warn("unable to start the status thread: status file not updated");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void gb_status_stop(void)
{
	pthread_mutex_lock(&smu);
	closed = 1;
	if (started)
		pthread_cond_broadcast(&scv);
	if (path[0])
		unlink(path);
	pthread_mutex_unlock(&smu);
}

void gb_status_forget(void)
{
	/* the thread did not survive the fork, and the file is the parent's */
	pthread_mutex_init(&smu, NULL);
	started = 0;
	closed = 1;
	path[0] = 0;
}

/* At start: a file named by our pid is a previous program's that this
 * process exec'd from, or a dead process's. */
void gb_status_remove_stale_self(void)
{
	const char *env = getenv("GB_RUN_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char p[GB_PATH_MAX + 64];

	gb_status_path(env && *env ? env : "/run/greenboost", getpid(), p, sizeof(p));
	unlink(p);
	if (xdg && *xdg == '/') {
		char d[GB_PATH_MAX];

		snprintf(d, sizeof(d), "%s/greenboost", xdg);
		gb_status_path(d, getpid(), p, sizeof(p));
		unlink(p);
	}
}
