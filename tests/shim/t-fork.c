/*
 * fork and exec around the shim: children do not deadlock on a lock
 * another thread held at fork time, do not inherit the parent's
 * accounting or status file, and exec'd programs run normally.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"

static CUcontext ctx;
static _Atomic int stop;

static void *churn(void *arg)
{
	CUdeviceptr p;

	(void)arg;
	cuCtxSetCurrent(ctx);
	while (!atomic_load(&stop))
		if (cuMemAlloc_v2(&p, 64 * MiB) == 0)
			cuMemFree_v2(p);
	return NULL;
}

int main(int argc, char **argv)
{
	CUdeviceptr t1, t2;
	struct gb_status st;
	pthread_t th;
	char path[512];
	int i, bad = 0, status;
	pid_t c;

	if (argc > 1 && !strcmp(argv[1], "exec-child"))
		return 7;
	alarm(60);
	ctx = setup();
	ok(cuMemAlloc_v2(&t1, 256 * MiB) == 0 && cuMemAlloc_v2(&t2, 64 * MiB) == 0 && fakecuda_is_registered((void *)t2),
	   "parent holds T1 and T2");
	pthread_create(&th, NULL, churn, NULL);
	for (i = 0; i < 40; i++) {
		c = fork();
		if (c == 0) {
			size_t f, tt;

			/* a fresh process as far as GreenBoost is concerned */
			cuCtxSetCurrent(ctx);
			if (cuMemGetInfo_v2(&f, &tt) || f != tt)
				_exit(3);
			_exit(0);
		}
		if (c < 0 || waitpid(c, &status, 0) != c || !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	is_int(bad, 0, "40 forks while another thread allocates: every child ran and saw no inherited use");
	ok(((volatile char *)(uintptr_t)t2)[0] == 0 && cuMemFree_v2(t2) == 0 && !fakecuda_is_registered((void *)t2),
	   "the parent's T2 memory is intact and frees");
	c = fork();
	if (c == 0) {
		execl("/proc/self/exe", argv[0], "exec-child", (char *)NULL);
		_exit(127);
	}
	ok(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 7, "an exec'd child runs normally");
	gb_status_path(getenv("GB_RUN_DIR"), getpid(), path, sizeof(path));
	ok(access(path, F_OK) == 0, "children exiting left the parent's status file alone");
	ok(my_status(&st) == 0 && st.dev[0].tier[0].count == 1 && st.dev[0].tier[1].count == 0,
	   "the parent's accounting is its own");
	ok(cuMemFree_v2(t1) == 0, "free");
	return done();
}
