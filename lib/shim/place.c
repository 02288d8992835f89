/*
 * Placement and accounting.  An allocation at or above the threshold goes
 * to T1 (VRAM) while the device's T1 bytes stay within its budget
 * (vram_limit, less kv_reserve until the INFERENCE phase) and the driver
 * has the memory; otherwise to T2 (pinned host memory mapped into the
 * GPU) while the process stays within host_limit; otherwise the caller
 * gets out-of-memory and the log says which limit to raise.
 *
 * g.lock guards the bookkeeping only; no CUDA call is made under it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define PITCH_ALIGN 512

static void oom_log(int dev, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void oom_log(int dev, size_t size, const char *fmt, ...)
{
	uint64_t now = gb_now_ms();
	char s[32], why[512];
	va_list ap;

	/* one line a second at most: frameworks retry after freeing caches */
	if (now - g.last_oom_log_ms < 1000 && g.last_oom_log_ms)
		return;
	g.last_oom_log_ms = now;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	gb_warn("out of memory: %s for device %d refused: %s", gb_size_human(size, s, sizeof(s)), dev, why);
}

int gb_current_device(int *dev)
{
	CUdevice d;

	if (!R.cuCtxGetDevice || R.cuCtxGetDevice(&d) != CUDA_SUCCESS)
		return -1;
	*dev = d;
	return 0;
}

int gb_stream_device(CUstream s, int ptsz, int *dev)
{
	CUresult (*getctx)(CUstream, CUcontext *) = ptsz ? R.cuStreamGetCtx_ptsz : R.cuStreamGetCtx;
	CUcontext sc = NULL, cur = NULL, popped;
	CUdevice d;
	int r = -1;

	if (!getctx || getctx(s, &sc) != CUDA_SUCCESS || !R.cuCtxGetCurrent || R.cuCtxGetCurrent(&cur) != CUDA_SUCCESS ||
	    sc == cur)
		return gb_current_device(dev);
	if (R.cuCtxPushCurrent_v2(sc) != CUDA_SUCCESS)
		return -1;
	if (R.cuCtxGetDevice(&d) == CUDA_SUCCESS) {
		*dev = d;
		r = 0;
	}
	R.cuCtxPopCurrent_v2(&popped);
	return r;
}

struct gb_dev *gb_dev_get(int devi)
{
	struct gb_dev *d;
	size_t phys = 0;
	int numa = -1, hnvmm = 0;
	char name[96] = "unknown", a[32], b[32];

	if (devi < 0 || devi >= GB_MAX_DEVICES)
		return NULL;
	d = &g.dev[devi];
	if (likely(atomic_load_explicit(&d->ready, memory_order_acquire)))
		return d;
	if (!R.cuDeviceTotalMem_v2 || R.cuDeviceTotalMem_v2(&phys, devi) != CUDA_SUCCESS || !phys)
		return NULL;
	if (R.cuDeviceGetName)
		R.cuDeviceGetName(name, sizeof(name), devi);
	name[sizeof(name) - 1] = 0;
	if (R.cuDeviceGetAttribute) {
		if (R.cuDeviceGetAttribute(&numa, CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID, devi) != CUDA_SUCCESS)
			numa = -1;
		if (R.cuDeviceGetAttribute(&hnvmm, CU_DEVICE_ATTRIBUTE_HOST_NUMA_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED,
					   devi) != CUDA_SUCCESS)
			hnvmm = 0;
	}
	pthread_mutex_lock(&g.lock);
	if (!atomic_load_explicit(&d->ready, memory_order_relaxed)) {
		uint64_t lim = gb_sizepct_resolve(&g.conf.vram_limit, phys);

		if (lim > phys) {
			gb_warn("vram_limit %s is more than device %d has (%s): using %s",
				gb_sizepct_str(&g.conf.vram_limit, a, sizeof(a)), devi,
				gb_size_human(phys, b, sizeof(b)), b);
			lim = phys;
		}
		d->phys_total = phys;
		d->vram_limit = lim;
		d->kv_reserve = gb_sizepct_resolve(&g.conf.kv_reserve, lim);
		if (d->kv_reserve > lim)
			d->kv_reserve = lim;
		d->numa_id = numa;
		d->host_numa_vmm = hnvmm;
		memcpy(d->name, name, sizeof(d->name));
		atomic_store_explicit(&d->ready, 1, memory_order_release);
		gb_info("device %d (%s): %s of VRAM, limit %s, kv_reserve %s", devi, d->name,
			gb_size_human(phys, a, sizeof(a)), gb_size_human(lim, b, sizeof(b)),
			gb_size_human(d->kv_reserve, name, sizeof(name)));
	}
	pthread_mutex_unlock(&g.lock);
	gb_status_dirty();
	return d;
}

/* ---- bookkeeping, under g.lock ---- */

static void t2v_insert(struct gb_rec *r)
{
	size_t lo = 0, hi = g.t2n;

	if (g.t2n == g.t2cap) {
		size_t cap = g.t2cap ? g.t2cap * 2 : 64;
		struct gb_rec **v = realloc(g.t2v, cap * sizeof(*v));

		if (!v)
			return; /* interior lookups of this one will miss; frees still work */
		g.t2v = v;
		g.t2cap = cap;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (g.t2v[mid]->ptr < r->ptr)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(g.t2v + lo + 1, g.t2v + lo, (g.t2n - lo) * sizeof(*g.t2v));
	g.t2v[lo] = r;
	g.t2n++;
	atomic_store(&g.t2_lo, (uintptr_t)g.t2v[0]->ptr);
	atomic_store(&g.t2_hi, (uintptr_t)(g.t2v[g.t2n - 1]->ptr + g.t2v[g.t2n - 1]->size));
	gb_stage_publish();
}

static void t2v_remove(struct gb_rec *r)
{
	size_t i;

	for (i = 0; i < g.t2n; i++)
		if (g.t2v[i] == r) {
			memmove(g.t2v + i, g.t2v + i + 1, (g.t2n - i - 1) * sizeof(*g.t2v));
			g.t2n--;
			break;
		}
	if (g.t2n) {
		atomic_store(&g.t2_lo, (uintptr_t)g.t2v[0]->ptr);
		atomic_store(&g.t2_hi, (uintptr_t)(g.t2v[g.t2n - 1]->ptr + g.t2v[g.t2n - 1]->size));
	} else {
		atomic_store(&g.t2_lo, 0);
		atomic_store(&g.t2_hi, 0);
	}
	gb_stage_publish();
}

static struct gb_ptrmap *map_of(const struct gb_rec *r)
{
	return r->kind == GB_K_VMM ? g.handles : g.ptrs;
}

/* bytes were reserved already; count the allocation and index it */
static int track(struct gb_rec *r)
{
	struct gb_dev *d = &g.dev[r->dev];
	struct gb_status_tier *t = &d->tier[r->tier];

	if (gb_ptrmap_put(map_of(r), r->ptr, r) < 0)
		return -1;
	if (r->tier == 1 && r->kind == GB_K_MEM)
		t2v_insert(r);
	atomic_fetch_add(&g.nrec, 1);
	t->count++;
	if (t->bytes > t->peak)
		t->peak = t->bytes;
	if (r->hm.hugetlb)
		d->t2_hugetlb_bytes += r->acct;
	if (r->hm.pool_id)
		d->t2_pool_bytes += r->acct;
	if (r->kind == GB_K_VMM)
		d->vmm_bytes += r->acct;
	return 0;
}

static void unreserve(struct gb_dev *d, int tier, size_t size)
{
	d->tier[tier].bytes -= size;
	if (tier == 1)
		g.t2_total -= size;
}

struct gb_rec *gb_take(struct gb_ptrmap *m, uintptr_t key)
{
	struct gb_rec *r;

	if (!atomic_load_explicit(&g.nrec, memory_order_relaxed) || !gb_ptrmap_get(m, key))
		return NULL;
	pthread_mutex_lock(&g.lock);
	r = gb_ptrmap_del(m, key);
	if (r) {
		atomic_fetch_sub(&g.nrec, 1);
		if (r->tier == 1 && r->kind == GB_K_MEM)
			t2v_remove(r);
	}
	pthread_mutex_unlock(&g.lock);
	return r;
}

void gb_untake(struct gb_ptrmap *m, struct gb_rec *r)
{
	pthread_mutex_lock(&g.lock);
	if (gb_ptrmap_put(m, r->ptr, r) == 0) {
		atomic_fetch_add(&g.nrec, 1);
		if (r->tier == 1 && r->kind == GB_K_MEM)
			t2v_insert(r);
	}
	pthread_mutex_unlock(&g.lock);
}

void gb_release_rec(struct gb_rec *r)
{
	struct gb_dev *d = &g.dev[r->dev];

	pthread_mutex_lock(&g.lock);
	unreserve(d, r->tier, r->acct);
	d->tier[r->tier].count--;
	if (r->hm.hugetlb)
		d->t2_hugetlb_bytes -= r->acct;
	if (r->hm.pool_id)
		d->t2_pool_bytes -= r->acct;
	if (r->kind == GB_K_VMM)
		d->vmm_bytes -= r->acct;
	gb_phase_event(GB_EV_FREE, gb_now_ms());
	pthread_mutex_unlock(&g.lock);
	/* T2's host memory (unregistered by the caller) goes after the
	 * accounting, which reads where it came from */
	gb_hostmem_free(&r->hm);
	gb_status_dirty();
	free(r);
}

/* Reserve size bytes of T1 on d if the budget allows; phase-aware. */
static int t1_reserve(struct gb_dev *d, size_t size)
{
	uint64_t budget;
	int fits;

	pthread_mutex_lock(&g.lock);
	gb_phase_event(GB_EV_ALLOC, gb_now_ms());
	budget = d->vram_limit;
	if (g.phase <= GB_PHASE_MODEL_LOAD)
		budget -= d->kv_reserve;
	/* t2_stream's staging area gets its room before it exists */
	if (g.conf.t2_stream && !d->stage_reserved)
		budget -= budget < g.conf.t2_stage ? budget : g.conf.t2_stage;
	fits = size <= budget && d->tier[0].bytes <= budget - size;
	if (fits)
		d->tier[0].bytes += size;
	pthread_mutex_unlock(&g.lock);
	return fits;
}

static int t2_reserve(int devi, struct gb_dev *d, size_t size)
{
	char a[32], b[32];
	int fits, tried_reap = 0;

	for (;;) {
		pthread_mutex_lock(&g.lock);
		fits = size <= g.host_limit && g.t2_total <= g.host_limit - size;
		if (fits) {
			g.t2_total += size;
			d->tier[1].bytes += size;
		}
		pthread_mutex_unlock(&g.lock);
		if (fits || tried_reap || !atomic_load_explicit(&g.deferred, memory_order_relaxed))
			break;
		gb_reap(1); /* asynchronous frees still in flight */
		tried_reap = 1;
	}
	if (!fits) {
		pthread_mutex_lock(&g.lock);
		d->refused++;
		oom_log(devi, size, "VRAM is full and host memory (T2) holds %s of host_limit %s; "
			"raise host_limit (gb-run --host-limit SIZE) or vram_limit",
			gb_size_human(g.t2_total, a, sizeof(a)), gb_size_human(g.host_limit, b, sizeof(b)));
		pthread_mutex_unlock(&g.lock);
	}
	return fits;
}

static void refuse(int devi, struct gb_dev *d, int tier, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void refuse(int devi, struct gb_dev *d, int tier, size_t size, const char *fmt, ...)
{
	char why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&g.lock);
	if (tier >= 0)
		unreserve(d, tier, size);
	d->refused++;
	oom_log(devi, size, "%s", why);
	pthread_mutex_unlock(&g.lock);
}

static struct gb_rec *rec_new(CUdeviceptr ptr, size_t size, int dev, int tier, int kind)
{
	struct gb_rec *r = calloc(1, sizeof(*r));

	if (r) {
		r->ptr = ptr;
		r->size = r->acct = size;
		r->dev = dev;
		r->tier = (unsigned char)tier;
		r->kind = (unsigned char)kind;
	}
	return r;
}

/* a record that cannot be kept leaves an untracked allocation: unreserve */
static void commit(struct gb_dev *d, struct gb_rec *r, int tier, size_t size)
{
	pthread_mutex_lock(&g.lock);
	if (!r || track(r) < 0) {
		unreserve(d, tier, size);
		free(r);
	}
	pthread_mutex_unlock(&g.lock);
	gb_status_dirty();
}

#define T2_ROUND (2UL << 20)

static int t2_alloc(int devi, struct gb_dev *d, struct gb_t1 *t1, CUdeviceptr *out)
{
	static _Atomic int told;
	/* what gets pinned is whole 2 MB pages: that is what host_limit counts */
	size_t size = (t1->size + T2_ROUND - 1) & ~(T2_ROUND - 1);
	struct gb_hostmem hm;
	CUdeviceptr dptr = 0;
	CUcontext ctx = NULL;
	struct gb_rec *r;
	CUresult e;
	char s[32];

	if (!R.cuMemHostRegister_v2 || !R.cuMemHostGetDevicePointer_v2 || !R.cuMemHostUnregister) {
		refuse(devi, d, -1, t1->size, "the driver cannot map host memory");
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (size < t1->size) {
		refuse(devi, d, -1, t1->size, "no host memory is that large");
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (g.conf.t2_stream && !d->stage_reserved)
		gb_stage_prepare(devi);
	if (!t2_reserve(devi, d, size))
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (gb_hostmem_alloc(t1->size, g.conf.hugepages, &hm) < 0) {
		refuse(devi, d, 1, size, "unable to map host memory: %s; lower host_limit", strerror(errno));
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	e = R.cuMemHostRegister_v2(hm.host, hm.len, CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP);
	if (e == CUDA_SUCCESS) {
		e = R.cuMemHostGetDevicePointer_v2(&dptr, hm.host, 0);
		if (e != CUDA_SUCCESS)
			R.cuMemHostUnregister(hm.host);
	}
	if (e != CUDA_SUCCESS) {
		gb_hostmem_free(&hm);
		if (e == CUDA_ERROR_INVALID_CONTEXT || e == CUDA_ERROR_NOT_INITIALIZED) {
			pthread_mutex_lock(&g.lock);
			unreserve(d, 1, size);
			pthread_mutex_unlock(&g.lock);
			return e;
		}
		refuse(devi, d, 1, size, "unable to pin host memory (cuMemHostRegister: CUDA error %d); "
		       "lower host_limit", e);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (R.cuCtxGetCurrent)
		R.cuCtxGetCurrent(&ctx);
	r = rec_new(dptr, t1->size, devi, 1, GB_K_MEM);
	if (r) {
		r->acct = size;
		r->hm = hm;
		r->ctx = ctx;
	} else {
		/* without a record it could never be freed: give it back */
		R.cuMemHostUnregister(hm.host);
		gb_hostmem_free(&hm);
		refuse(devi, d, 1, size, "out of memory for bookkeeping");
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_lock(&g.lock);
	if (track(r) < 0) {
		unreserve(d, 1, size);
		pthread_mutex_unlock(&g.lock);
		R.cuMemHostUnregister(hm.host);
		gb_hostmem_free(&hm);
		free(r);
		refuse(devi, d, -1, size, "out of memory for bookkeeping");
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_unlock(&g.lock);
	gb_status_dirty();
	if (!atomic_exchange(&told, 1))
		gb_info("device %d: VRAM limit reached, placing large allocations in pinned host memory (T2)", devi);
	gb_debug("%s: %s in T2 (%s) for device %d at 0x%llx", t1->api, gb_size_human(size, s, sizeof(s)),
		 hm.pool_id ? "kmod pool" : hm.hugetlb ? "hugetlb" : "thp", devi, (unsigned long long)dptr);
	if (t1->pitch)
		*t1->pitch = (t1->width + PITCH_ALIGN - 1) & ~(size_t)(PITCH_ALIGN - 1);
	*out = dptr;
	return CUDA_SUCCESS;
}

int gb_alloc(int devi, struct gb_t1 *t1, CUdeviceptr *out)
{
	struct gb_dev *d = gb_dev_get(devi);
	size_t size = t1->size;
	int r;

	if (!d)
		return t1->fn(t1, out);
	gb_reap(0);
	if (t1_reserve(d, size)) {
		r = t1->fn(t1, out);
		if (r == CUDA_SUCCESS) {
			struct gb_rec *rec = rec_new(*out, size, devi, 0, GB_K_MEM);

			/* the context owns it: destroying the context frees it */
			if (rec && R.cuCtxGetCurrent)
				R.cuCtxGetCurrent(&rec->ctx);
			commit(d, rec, 0, size);
			gb_debug("%s: %zu bytes in T1 for device %d at 0x%llx", t1->api, size, devi,
				 (unsigned long long)*out);
			return r;
		}
		pthread_mutex_lock(&g.lock);
		unreserve(d, 0, size);
		pthread_mutex_unlock(&g.lock);
		if (r != CUDA_ERROR_OUT_OF_MEMORY)
			return r;
		gb_debug("device %d has no VRAM left for %zu bytes: trying T2", devi, size);
	}
	return t2_alloc(devi, d, t1, out);
}

/* ---- freeing T2 ---- */

CUresult gb_t2_free(struct gb_rec *r, int sync)
{
	CUcontext popped;
	int pushed = 0;

	if (r->ctx && R.cuCtxPushCurrent_v2 && R.cuCtxPushCurrent_v2(r->ctx) == CUDA_SUCCESS)
		pushed = 1;
	/* like cudaFree: the device may still be reading it */
	if (sync && R.cuCtxSynchronize)
		R.cuCtxSynchronize();
	R.cuMemHostUnregister(r->hm.host);
	if (pushed)
		R.cuCtxPopCurrent_v2(&popped);
	gb_release_rec(r);
	return CUDA_SUCCESS;
}

/* An asynchronous free of T2 waits for its stream to reach it: a host
 * function on the stream marks it done, so reaping needs no CUDA call
 * (an event query is illegal during another thread's stream capture); the
 * event is only for waiting when T2 is full. */
struct gb_deferred {
	struct gb_deferred *next;
	CUevent ev;
	_Atomic int done;
	struct gb_rec *rec;
};

static void reached(void *arg)
{
	atomic_store_explicit(&((struct gb_deferred *)arg)->done, 1, memory_order_release);
}

CUresult gb_t2_free_async(struct gb_rec *r, CUstream s, int ptsz)
{
	CUresult (*capturing)(CUstream, CUstreamCaptureStatus *) =
		ptsz ? R.cuStreamIsCapturing_ptsz : R.cuStreamIsCapturing;
	CUresult (*record)(CUevent, CUstream) = ptsz ? R.cuEventRecord_ptsz : R.cuEventRecord;
	CUresult (*hostfn)(CUstream, CUhostFn, void *) = ptsz ? R.cuLaunchHostFunc_ptsz : R.cuLaunchHostFunc;
	CUresult (*sync)(CUstream) = ptsz ? R.cuStreamSynchronize_ptsz : R.cuStreamSynchronize;
	CUstreamCaptureStatus cs = CU_STREAM_CAPTURE_STATUS_NONE;
	struct gb_deferred *df;
	static _Atomic int warned;

	if (capturing && capturing(s, &cs) == CUDA_SUCCESS && cs != CU_STREAM_CAPTURE_STATUS_NONE) {
		/* a graph may replay reads of it: keep it for the life of the process */
		if (!atomic_exchange(&warned, 1))
			gb_warn("host-tier memory freed inside stream capture: kept until exit");
		return CUDA_SUCCESS;
	}
	df = calloc(1, sizeof(*df));
	if (!df || !record || !hostfn || !R.cuEventCreate ||
	    R.cuEventCreate(&df->ev, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS)
		goto now;
	if (record(df->ev, s) != CUDA_SUCCESS || hostfn(s, reached, df) != CUDA_SUCCESS) {
		R.cuEventDestroy_v2(df->ev);
		goto now;
	}
	df->rec = r;
	pthread_mutex_lock(&g.lock);
	df->next = atomic_load_explicit(&g.deferred, memory_order_relaxed);
	atomic_store_explicit(&g.deferred, df, memory_order_relaxed);
	pthread_mutex_unlock(&g.lock);
	return CUDA_SUCCESS;
now:
	free(df);
	/* the memory may be freed only once the stream is past it */
	if (!sync || sync(s) != CUDA_SUCCESS) {
		gb_warn("unable to wait for a stream before freeing host-tier memory: kept until exit");
		return CUDA_SUCCESS;
	}
	return gb_t2_free(r, 0);
}

void gb_reap(int wait)
{
	struct gb_deferred *list, *df, *next, *keep = NULL;

	if (!atomic_load_explicit(&g.deferred, memory_order_relaxed))
		return;
	pthread_mutex_lock(&g.lock);
	list = atomic_exchange_explicit(&g.deferred, NULL, memory_order_relaxed);
	pthread_mutex_unlock(&g.lock);
	for (df = list; df; df = next) {
		next = df->next;
		if (wait && !atomic_load_explicit(&df->done, memory_order_acquire) &&
		    R.cuEventSynchronize(df->ev) == CUDA_SUCCESS)
			atomic_store(&df->done, 1);
		/* anything but "done" keeps the memory: never unpin what may be in use */
		if (!atomic_load_explicit(&df->done, memory_order_acquire)) {
			df->next = keep;
			keep = df;
			continue;
		}
		R.cuEventDestroy_v2(df->ev);
		gb_t2_free(df->rec, 0);
		free(df);
	}
	if (keep) {
		pthread_mutex_lock(&g.lock);
		for (df = keep; df->next; df = df->next)
			;
		df->next = atomic_load_explicit(&g.deferred, memory_order_relaxed);
		atomic_store_explicit(&g.deferred, keep, memory_order_relaxed);
		pthread_mutex_unlock(&g.lock);
	}
}

int gb_t2_find(CUdeviceptr ptr, struct gb_rec *out)
{
	uintptr_t lo = atomic_load_explicit(&g.t2_lo, memory_order_relaxed);
	uintptr_t hi = atomic_load_explicit(&g.t2_hi, memory_order_relaxed);
	size_t a = 0, b;
	int found = 0;

	if (ptr < lo || ptr >= hi)
		return 0;
	pthread_mutex_lock(&g.lock);
	b = g.t2n;
	while (a < b) {
		size_t mid = (a + b) / 2;

		if (g.t2v[mid]->ptr <= ptr)
			a = mid + 1;
		else
			b = mid;
	}
	if (a > 0 && ptr < g.t2v[a - 1]->ptr + g.t2v[a - 1]->size) {
		*out = *g.t2v[a - 1];
		found = 1;
	}
	pthread_mutex_unlock(&g.lock);
	return found;
}

/* ---- the one memory story ---- */

void gb_report(int devi, uint64_t phys_free, int have_phys, uint64_t *free_out, uint64_t *total_out)
{
	struct gb_dev *d = &g.dev[devi];
	uint64_t t1u, t1f, t2u;

	pthread_mutex_lock(&g.lock);
	t1u = d->tier[0].bytes < d->vram_limit ? d->tier[0].bytes : d->vram_limit;
	t1f = d->vram_limit - t1u;
	t2u = g.t2_total < g.host_limit ? g.t2_total : g.host_limit;
	if (g.conf.report == GB_REPORT_PHYSICAL) {
		*total_out = d->vram_limit;
		*free_out = have_phys && phys_free < t1f ? phys_free : t1f;
	} else {
		*total_out = d->vram_limit + g.host_limit;
		*free_out = t1f + (g.host_limit - t2u);
	}
	pthread_mutex_unlock(&g.lock);
}

/* ---- the application's own VMM allocations ---- */

CUresult gb_vmm_create(CUmemGenericAllocationHandle *h, size_t size, const CUmemAllocationProp *prop,
		       unsigned long long flags)
{
	int devi = prop->location.id;
	struct gb_dev *d = gb_dev_get(devi);
	CUmemAllocationProp p2;
	CUresult e;

	if (!d)
		return R.cuMemCreate(h, size, prop, flags);
	if (t1_reserve(d, size)) {
		e = R.cuMemCreate(h, size, prop, flags);
		if (e == CUDA_SUCCESS) {
			commit(d, rec_new(*h, size, devi, 0, GB_K_VMM), 0, size);
			return e;
		}
		pthread_mutex_lock(&g.lock);
		unreserve(d, 0, size);
		pthread_mutex_unlock(&g.lock);
		if (e != CUDA_ERROR_OUT_OF_MEMORY)
			return e;
	}
	/* Back it with host memory instead: the application maps and
	 * accesses the handle exactly as it would a device one. */
	if (!d->host_numa_vmm) {
		refuse(devi, d, -1, size, "VRAM limit reached and the driver cannot place VMM "
		       "allocations in host memory; raise vram_limit");
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (!t2_reserve(devi, d, size))
		return CUDA_ERROR_OUT_OF_MEMORY;
	p2 = *prop;
	p2.location.type = CU_MEM_LOCATION_TYPE_HOST_NUMA;
	p2.location.id = d->numa_id < 0 ? 0 : d->numa_id;
	e = R.cuMemCreate(h, size, &p2, flags);
	if (e != CUDA_SUCCESS) {
		refuse(devi, d, 1, size, "the driver refused a host-memory VMM allocation (CUDA error %d)", e);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	commit(d, rec_new(*h, size, devi, 1, GB_K_VMM), 1, size);
	return CUDA_SUCCESS;
}

CUresult gb_vmm_release(CUmemGenericAllocationHandle h)
{
	struct gb_rec *r = gb_take(g.handles, h);
	CUresult e = R.cuMemRelease(h);

	if (!r)
		return e;
	if (e != CUDA_SUCCESS)
		gb_untake(g.handles, r);
	else
		gb_release_rec(r);
	return e;
}

static int other_ctx(void *v, void *arg)
{
	struct gb_rec *r = v;

	return r->ctx != (CUcontext)arg;
}

void gb_forget_ctx(CUcontext ctx)
{
	struct gb_rec *gone[256];
	CUcontext popped;
	size_t n, i;
	int pushed;

	if (!ctx)
		return;
	/* called before the context goes where possible: unpinning needs it */
	pushed = R.cuCtxPushCurrent_v2 && R.cuCtxPushCurrent_v2(ctx) == CUDA_SUCCESS;
	do {
		pthread_mutex_lock(&g.lock);
		n = gb_ptrmap_remove_if(g.ptrs, other_ctx, ctx, (void **)gone, 256);
		for (i = 0; i < n; i++) {
			atomic_fetch_sub(&g.nrec, 1);
			if (gone[i]->tier == 1)
				t2v_remove(gone[i]);
		}
		pthread_mutex_unlock(&g.lock);
		for (i = 0; i < n; i++) {
			if (gone[i]->tier == 1)
				R.cuMemHostUnregister(gone[i]->hm.host);
			gb_release_rec(gone[i]);
		}
		if (n)
			gb_debug("context %p destroyed: %zu allocations with it", (void *)ctx, n);
	} while (n == 256);
	if (pushed)
		R.cuCtxPopCurrent_v2(&popped);
}

/* In a forked child: the parent's allocations are not ours (T2 is
 * MADV_DONTFORK, and CUDA does not survive fork). */
void gb_state_reset(void)
{
	int i;

	for (i = 0; i < GB_MAX_DEVICES; i++) {
		memset(g.dev[i].tier, 0, sizeof(g.dev[i].tier));
		g.dev[i].t2_hugetlb_bytes = g.dev[i].t2_pool_bytes = g.dev[i].vmm_bytes = g.dev[i].refused = 0;
	}
	g.t2_total = 0;
	atomic_store(&g.nrec, 0);
	g.ptrs = gb_ptrmap_new();
	g.handles = gb_ptrmap_new();
	g.t2n = 0;
	atomic_store(&g.t2_lo, 0);
	atomic_store(&g.t2_hi, 0);
	atomic_store(&g.deferred, NULL);
	g.phase = GB_PHASE_INIT;
	g.phase_since_ms = g.last_event_ms = gb_now_ms();
	g.phase_since_wall = gb_wall_time();
}
