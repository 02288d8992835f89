/*
 * Starting up lazily (at the first intercepted call, never in processes
 * that do not use CUDA), and staying correct across fork and exit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

struct gb_state g = { .lock = PTHREAD_MUTEX_INITIALIZER };
_Atomic int gb_ready_flag;
__thread int gb_depth __attribute__((tls_model("initial-exec")));

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char prog[40];

static void set_prog(void)
{
	snprintf(prog, sizeof(prog), "greenboost[%d]", (int)getpid());
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&g.lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&g.lock);
}

static void atfork_child(void)
{
	pthread_mutex_unlock(&g.lock);
	gb_resolve_after_fork();
	gb_nvml_after_fork();
	gb_stage_after_fork();
	/* a process that never used CUDA (a shell, say) has nothing to reset */
	if (!atomic_load_explicit(&gb_ready_flag, memory_order_acquire))
		return;
	set_prog();
	gb_status_forget();
	gb_state_reset();
	if (!g.ptrs || !g.handles)
		g.enabled = 0;
}

static void do_init(void)
{
	extern char **environ;
	struct gb_err err;
	int fd = -1;
	char a[32], b[32];

	set_prog();
	gb_log_setup(prog, GB_LOG_WARN, -1);
	if (gb_conf_load(&g.conf, environ, &err) < 0) {
		gb_log(GB_LOG_ERROR, "%s; GreenBoost is off for this process", err.msg);
		gb_conf_defaults(&g.conf);
		g.conf.enable = 0;
	}
	if (g.conf.log_file[0]) {
		fd = open(g.conf.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			gb_warn("unable to open log_file %s: logging to standard error", g.conf.log_file);
	}
	gb_log_setup(prog, g.conf.log_level, fd);
	g.threshold = g.conf.threshold;
	g.host_limit = gb_sizepct_resolve(&g.conf.host_limit, gb_mem_available());
	g.ptrs = gb_ptrmap_new();
	g.handles = gb_ptrmap_new();
	g.enabled = g.conf.enable && g.ptrs && g.handles;
	g.phase = GB_PHASE_INIT;
	g.phase_since_ms = g.last_event_ms = gb_now_ms();
	g.phase_since_wall = gb_wall_time();
	if (gb_resolve_driver() < 0)
		g.enabled = 0;
	if (g.enabled) {
		gb_info("on: threshold %s, host_limit %s, report %s", gb_size_str(g.threshold, a, sizeof(a)),
			gb_size_human(g.host_limit, b, sizeof(b)), g.conf.report ? "physical" : "virtual");
		gb_status_start();
	}
	atomic_store_explicit(&gb_ready_flag, 1, memory_order_release);
}

void gb_init_slow(void)
{
	pthread_once(&once, do_init);
}

__attribute__((constructor)) static void gb_ctor(void)
{
	/* here, not in the lazy start: a fork racing it would register twice */
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	gb_status_remove_stale_self();
}

__attribute__((destructor)) static void gb_dtor(void)
{
	gb_stage_report();
	gb_status_stop();
}
