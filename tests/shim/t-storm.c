/*
 * 16 threads allocate and free at once, small and large, T1 and T2, sync
 * and async, while others ask for sizes and pointer attributes: no
 * deadlock (alarm), no leak, accounting back to zero.
 */
#include <pthread.h>
#include <signal.h>

#include "common.h"

#define THREADS 16
#define ROUNDS 1500

static CUcontext ctx;
static _Atomic int errors;
static pthread_barrier_t start;

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
	static const size_t sizes[] = { 4096, 64 * 1024, 2 * MiB, 8 * MiB, 24 * MiB };
	CUdeviceptr held[4] = { 0 };
	CUstream s;
	int i, k;

	cuCtxSetCurrent(ctx);
	pthread_barrier_wait(&start); /* all at once, so that the tiers fill */
	if (cuStreamCreate(&s, 0))
		atomic_fetch_add(&errors, 1);
	for (i = 0; i < ROUNDS; i++) {
		seed = seed * 1103515245 + 12345;
		k = (seed >> 8) & 3;
		if (held[k]) {
			CUresult r = (seed >> 12) & 1 ? cuMemFree_v2(held[k]) : cuMemFreeAsync(held[k], s);

			if (r)
				atomic_fetch_add(&errors, 1);
			held[k] = 0;
		} else {
			size_t sz = sizes[(seed >> 16) % 5];
			CUresult r = (seed >> 20) & 1 ? cuMemAlloc_v2(&held[k], sz) : cuMemAllocAsync(&held[k], sz, s);

			if (r == CUDA_SUCCESS)
				((volatile char *)(uintptr_t)held[k])[sz - 1] = 1; /* the double's memory is host memory */
			else if (r == CUDA_ERROR_OUT_OF_MEMORY)
				held[k] = 0;
			else
				atomic_fetch_add(&errors, 1);
		}
		if ((seed >> 24) % 16 == 0) {
			size_t f, t;
			unsigned int mt;

			if (cuMemGetInfo_v2(&f, &t) || (held[0] && cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, held[0])))
				atomic_fetch_add(&errors, 1);
		}
	}
	for (k = 0; k < 4; k++)
		if (held[k] && cuMemFree_v2(held[k]))
			atomic_fetch_add(&errors, 1);
	cuStreamSynchronize(s);
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];
	struct gb_status st;
	size_t f, t;
	int i, live0;

	alarm(120); /* a deadlock ends the test as a failure */
	ctx = setup();
	live0 = fakecuda_live_allocs();
	pthread_barrier_init(&start, NULL, THREADS);
	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ok(1, "%d threads x %d rounds finished (no deadlock)", THREADS, ROUNDS);
	is_int(atomic_load(&errors), 0, "no call failed except by running out of memory");
	/* async T2 frees may still wait on their events: one more tracked call reaps them */
	{
		CUdeviceptr x;

		if (cuMemAlloc_v2(&x, 2 * MiB) == 0)
			cuMemFree_v2(x);
	}
	is_int(fakecuda_live_allocs(), live0, "no device allocation leaked");
	is_int(fakecuda_registered_ranges(), 0, "no host registration leaked");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && f == t, "reported free equals total again");
	ok(my_status(&st) == 0 && st.dev[0].tier[0].bytes == 0 && st.dev[0].tier[1].bytes == 0 &&
	   st.dev[0].tier[0].count == 0 && st.dev[0].tier[1].count == 0, "status: both tiers back to zero");
	ok(st.dev[0].tier[0].peak > 0 && st.dev[0].tier[1].peak > 0, "status: both tiers were used (peaks)");
	return done();
}
