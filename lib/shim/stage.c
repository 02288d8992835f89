/*
 * t2_stream: feed kernels their T2 memory through the copy engine.
 *
 * A kernel reading T2 memory in place pulls it over PCIe with its own
 * loads: about 92% of the link for a streaming read, and far less for a
 * matrix product that reads each tile many times (a 2048-token prefill
 * over a weight in host memory runs at a tenth of the link).  Copying
 * the buffer to VRAM with the copy engine first, then computing there,
 * costs one pass at full link speed whatever the kernel does.
 *
 * So, at each launch once inference has started: the parameters are
 * scanned (cuFuncGetParamInfo gives their layout; every aligned 8-byte
 * word is a candidate pointer, which catches pointers inside the
 * parameter structs of GEMM kernels) against the T2 address ranges.  For
 * each T2 allocation found, on the launch's stream, in order:
 *
 *   clear two sums | copy T2 -> staging | sum the copy (sums[0])
 *   the application's kernel, its pointers rewritten to the copy
 *   sum the copy again (sums[1]) | write the copy back if they differ
 *
 * The sums are over VRAM (fast); the write-back happens only when the
 * kernel wrote to the buffer, so weights cost one copy and activations
 * that spilled stay correct.  Nothing waits on the host: the sequence is
 * stream-ordered and can be captured into a CUDA graph.
 *
 * The staging area is a ring in VRAM, t2_stage bytes, per context; a
 * region is reused only after the event recorded after its last use.
 * Kernels that take T2 pointers indirectly (through device memory) still
 * read in place, which is correct, only slower.  Not during MODEL_LOAD:
 * loading writes the weights.
 *
 * t2_overlap: the copies go on a copy stream of the context's own
 * instead, and the kernel's stream waits for them (the sums stay on it,
 * so that the copy engine goes from one copy straight to the next).  A copy
 * is ordered after everything queued before the previous staged kernel
 * when nothing could have written its buffer since: same stream, same
 * capture, no buffer shared with that kernel, no staging bytes that
 * kernel may still read (in a graph the ring's events are no edges), and
 * no write the shim saw in between (a copy or memset that may land in
 * T2, a stream wait, a graph or cooperative launch, a kernel given a T2
 * pointer it did not stage, T2 allocations changing: each bumps the
 * epoch).  So the copy engine fetches the next
 * weight while the kernels before it run, and goes from one copy to the
 * next without waiting for them.  Otherwise, and whenever the copy
 * stream belongs to another capture, it is ordered after everything
 * before the launch, as without overlap.  Early in a capture the copies
 * may even follow only the capture's start (root_copy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "stage_ptx.h"

#define MAX_STAGES 8
#define MAX_HITS 8
#define MAX_ROOT 64             /* buffers a capture's root copies may take */
#define MAX_PARAM_BYTES 32768
#define REGION_ALIGN 256
#define SUMS_BYTES 256          /* the two sums, padded to keep data aligned */
#define GRID_MAX 1056
#define BLOCK 256

/* ---- the T2 ranges, readable without a lock ---- */

struct t2snap {
	size_t n;
	uint64_t retired_at;
	struct t2snap *older;
	struct {
		uintptr_t base, end;
	} r[];
};

static struct t2snap *_Atomic snap;
_Atomic int gb_staging;
/* bumped by whatever may write device memory where the shim cannot see,
 * and when T2 allocations come and go */
static _Atomic unsigned long epoch;

/* under g.lock, after T2 allocations changed */
void gb_stage_publish(void)
{
	struct t2snap *s, *old = atomic_load_explicit(&snap, memory_order_relaxed), **pp, *r;
	uint64_t now = gb_now_ms();
	size_t i;

	if (!g.conf.t2_stream)
		return;
	s = malloc(sizeof(*s) + g.t2n * sizeof(s->r[0]));
	if (!s)
		return; /* the old ranges stay: a missed hit only means reading in place */
	s->n = g.t2n;
	for (i = 0; i < g.t2n; i++) {
		s->r[i].base = (uintptr_t)g.t2v[i]->ptr;
		s->r[i].end = (uintptr_t)(g.t2v[i]->ptr + g.t2v[i]->size);
	}
	s->older = old;
	if (old)
		old->retired_at = now;
	atomic_store_explicit(&snap, s, memory_order_release);
	atomic_store_explicit(&gb_staging, s->n > 0, memory_order_relaxed);
	/* a buffer freed and another made at its address is not the copy's */
	atomic_fetch_add_explicit(&epoch, 1, memory_order_relaxed);
	/* as in ptrmap.c: a launch holds a snapshot for microseconds */
	for (pp = &s->older; (r = *pp); pp = &r->older)
		if (now - r->retired_at >= 10000) {
			*pp = NULL;
			while (r) {
				struct t2snap *next = r->older;

				free(r);
				r = next;
			}
			break;
		}
}

static int t2_range(const struct t2snap *s, uintptr_t p, uintptr_t *base, uintptr_t *end)
{
	size_t a = 0, b = s->n;

	if (!s->n || p < s->r[0].base || p >= s->r[s->n - 1].end)
		return 0;
	while (a < b) {
		size_t mid = (a + b) / 2;

		if (s->r[mid].base <= p)
			a = mid + 1;
		else
			b = mid;
	}
	if (a == 0 || p >= s->r[a - 1].end)
		return 0;
	*base = s->r[a - 1].base;
	*end = s->r[a - 1].end;
	return 1;
}

/* ---- parameter layouts, cached per function ---- */

struct pinfo {
	int n;          /* -1: the driver would not say */
	size_t bytes;   /* end of the last parameter */
	struct {
		uint32_t off, size;
	} p[];
};

static struct gb_ptrmap *pinfos;
static pthread_mutex_t pinfo_lock = PTHREAD_MUTEX_INITIALIZER;

/* what happened to the launches looked at, for the log at exit */
static struct {
	_Atomic unsigned long long looked, staged, overlapped, rooted, reused, no_info, no_t2, too_big, other;
	/* why a copy waited for everything before it */
	_Atomic unsigned long long w_first, w_stream, w_epoch, w_shared, w_region, w_cs;
	/* what bumped the epoch: a call the shim passed through, a launch it did not stage */
	_Atomic unsigned long long b_call, b_launch;
	_Atomic unsigned long long too_big_max; /* the most bytes one launch wanted staged */
} count;


int gb_stage_wrote(CUdeviceptr dst)
{
	const struct t2snap *s = atomic_load_explicit(&snap, memory_order_acquire);
	uintptr_t base, end;

	if (dst && s && !t2_range(s, (uintptr_t)dst, &base, &end))
		return 0;
	atomic_fetch_add_explicit(&epoch, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&count.b_call, 1, memory_order_relaxed);
	return 1;
}

void gb_stage_bump(void)
{
	atomic_fetch_add_explicit(&epoch, 1, memory_order_relaxed);
}

void gb_stage_report(void)
{
	if (!g.conf.t2_stream || !atomic_load(&count.looked))
		return;
	gb_info("t2_stream: %llu launches looked at: %llu staged (%llu with the copy overlapping the kernels "
		"before, %llu of them from the start of a capture; %llu using the copies of the kernel before), "
		"%llu without T2 pointers, %llu without parameter information, %llu too large for t2_stage, %llu "
		"not staged otherwise",
		atomic_load(&count.looked), atomic_load(&count.staged), atomic_load(&count.overlapped),
		atomic_load(&count.rooted), atomic_load(&count.reused),
		atomic_load(&count.no_t2),
		atomic_load(&count.no_info), atomic_load(&count.too_big), atomic_load(&count.other));
	if (atomic_load(&count.too_big)) {
		char a[32], b[32];

		gb_info("t2_stream: the largest launch read in place wanted %s staged; t2_stage is %s",
			gb_size_human(atomic_load(&count.too_big_max), a, sizeof(a)), gb_size_human(g.conf.t2_stage, b, sizeof(b)));
	}
	if (g.conf.t2_overlap)
		gb_info("t2_stream: copies that waited for everything before their kernel: %llu the first after "
			"another stream, capture or a failure, %llu after a write the shim saw (%llu calls, %llu "
			"launches not staged), %llu for a buffer the kernel before had, %llu for staging bytes it "
			"read, %llu with no copy stream free", atomic_load(&count.w_first) + atomic_load(&count.w_stream),
			atomic_load(&count.w_epoch), atomic_load(&count.b_call), atomic_load(&count.b_launch),
			atomic_load(&count.w_shared), atomic_load(&count.w_region), atomic_load(&count.w_cs));
}

static CUresult param_at(CUfunction f, int kernel, size_t i, size_t *off, size_t *size)
{
	if (kernel)
		return R.cuKernelGetParamInfo ? R.cuKernelGetParamInfo((void *)f, i, off, size) : CUDA_ERROR_NOT_FOUND;
	return R.cuFuncGetParamInfo ? R.cuFuncGetParamInfo(f, i, off, size) : CUDA_ERROR_NOT_FOUND;
}

static const struct pinfo *param_info(CUfunction f)
{
	struct pinfo *pi;
	size_t off, size, cap = 16;
	int n = 0, kernel = 0;

	if (pinfos && (pi = gb_ptrmap_get(pinfos, (uintptr_t)f)))
		return pi;
	pi = malloc(sizeof(*pi) + cap * sizeof(pi->p[0]));
	if (!pi)
		return NULL;
	pi->bytes = 0;
	/* a library kernel (CUkernel) passed where a function goes answers
	 * to its own query */
	if (param_at(f, 0, 0, &off, &size) != CUDA_SUCCESS)
		kernel = 1;
	while (param_at(f, kernel, (size_t)n, &off, &size) == CUDA_SUCCESS) {
		if ((size_t)n == cap) {
			struct pinfo *b = realloc(pi, sizeof(*pi) + 2 * cap * sizeof(pi->p[0]));

			if (!b) {
				free(pi);
				return NULL;
			}
			pi = b;
			cap *= 2;
		}
		pi->p[n].off = (uint32_t)off;
		pi->p[n].size = (uint32_t)size;
		if (off + size > pi->bytes)
			pi->bytes = off + size;
		n++;
	}
	pi->n = n && pi->bytes <= MAX_PARAM_BYTES ? n : -1;
	if (gb_log_level >= GB_LOG_DEBUG) {
		const char *name = NULL;
		char sizes[256] = "";
		size_t l = 0;
		int i;

		if (R.cuFuncGetName)
			R.cuFuncGetName(&name, f);
		for (i = 0; i < n && l + 12 < sizeof(sizes); i++)
			l += (size_t)snprintf(sizes + l, sizeof(sizes) - l, "%s%u", i ? "," : "", pi->p[i].size);
		gb_debug("t2_stream: kernel %.120s%s: %d parameters (%s bytes)", name ? name : "?",
			 kernel ? " (library kernel)" : "", n, sizes);
	}
	pthread_mutex_lock(&pinfo_lock);
	if (!pinfos)
		pinfos = gb_ptrmap_new();
	if (!pinfos || gb_ptrmap_get(pinfos, (uintptr_t)f) || gb_ptrmap_put(pinfos, (uintptr_t)f, pi) < 0) {
		struct pinfo *have = pinfos ? gb_ptrmap_get(pinfos, (uintptr_t)f) : NULL;

		pthread_mutex_unlock(&pinfo_lock);
		free(pi);
		return have;
	}
	pthread_mutex_unlock(&pinfo_lock);
	return pi;
}

/* ---- the staging ring, per context ---- */

struct stage {
	CUcontext ctx;
	int dev;
	int broken;
	CUdeviceptr base;
	size_t size;
	CUmodule mod;
	CUfunction fsum, fwb;
	struct gb_ring ring;       /* which of its bytes are in use */
	CUstream cs;               /* t2_overlap's copy stream; NULL: none */
	CUevent pos, copied;       /* before the last staged kernel; its copies done */
	struct {                   /* the last staged launch, while overlap may follow it */
		int valid, ptsz, n;
		struct gb_ring_order order; /* its stream, capture and thread */
		unsigned long epoch;
		uintptr_t base[MAX_HITS];
		CUdeviceptr copy[MAX_HITS], sums[MAX_HITS];
		size_t off, total;   /* its ring region */
	} last;
	CUevent cap0;              /* the start of the capture below */
	struct {                   /* a capture's first staged launches, while their copies may be roots */
		int valid, ptsz, n;
		struct gb_ring_order order; /* the capture's stream, id and thread */
		unsigned long epoch;
		size_t end;          /* their copies took the ring's bytes up to here */
		uintptr_t base[MAX_ROOT];
	} root;
	pthread_mutex_t lk;
};

static struct stage stages[MAX_STAGES];
static _Atomic int nstages;
static pthread_mutex_t stages_lock = PTHREAD_MUTEX_INITIALIZER;

static struct stage *stage_find(CUcontext ctx)
{
	int i, n = atomic_load_explicit(&nstages, memory_order_acquire);

	for (i = 0; i < n; i++)
		if (stages[i].ctx == ctx)
			return &stages[i];
	return NULL;
}

/* At the first T2 placement in a context (the current one), while the
 * budget still has the room kept for it. */
void gb_stage_prepare(int devi)
{
	struct gb_dev *d = &g.dev[devi];
	struct stage *st;
	CUcontext ctx = NULL;
	char a[32];

	if (!g.conf.t2_stream || !R.cuCtxGetCurrent || R.cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
		return;
	pthread_mutex_lock(&stages_lock);
	if (stage_find(ctx) || atomic_load(&nstages) == MAX_STAGES) {
		pthread_mutex_unlock(&stages_lock);
		return;
	}
	st = &stages[atomic_load(&nstages)];
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lk, NULL);
	st->ctx = ctx;
	st->dev = devi;
	st->size = g.conf.t2_stage;
	if (!R.cuModuleLoadData || !R.cuModuleGetFunction || !R.cuLaunchKernel || !R.cuMemcpyAsync ||
	    !R.cuMemsetD8Async || !R.cuStreamWaitEvent || !R.cuEventRecordWithFlags || !R.cuFuncGetParamInfo ||
	    R.cuModuleLoadData(&st->mod, gb_stage_ptx) != CUDA_SUCCESS ||
	    R.cuModuleGetFunction(&st->fsum, st->mod, "gb_sum") != CUDA_SUCCESS ||
	    R.cuModuleGetFunction(&st->fwb, st->mod, "gb_writeback") != CUDA_SUCCESS ||
	    R.cuMemAlloc_v2(&st->base, st->size) != CUDA_SUCCESS) {
		gb_warn("t2_stream: unable to set up %s of staging on device %d: T2 is read in place",
			gb_size_human(st->size, a, sizeof(a)), devi);
		st->broken = 1;
		st->size = 0;
	}
	/* every event now: creating one inside a stream capture is not allowed */
	st->ring.size = st->size;
	for (int i = 0; !st->broken && i < GB_RING_QUEUE; i++)
		if (R.cuEventCreate(&st->ring.q[i].ev, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS)
			st->ring.q[i].ev = NULL;
	if (!st->broken && g.conf.t2_overlap &&
	    (!R.cuStreamCreate || R.cuStreamCreate(&st->cs, CU_STREAM_NON_BLOCKING) != CUDA_SUCCESS ||
	     R.cuEventCreate(&st->pos, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS ||
	     R.cuEventCreate(&st->copied, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS ||
	     R.cuEventCreate(&st->cap0, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS)) {
		gb_warn("t2_stream: unable to make a copy stream on device %d: copies wait for the kernels before them",
			devi);
		st->cs = NULL;
	}
	pthread_mutex_lock(&g.lock);
	d->stage_bytes += st->size;
	d->tier[0].bytes += st->size;
	if (d->tier[0].bytes > d->tier[0].peak)
		d->tier[0].peak = d->tier[0].bytes;
	d->stage_reserved = 1;
	pthread_mutex_unlock(&g.lock);
	atomic_fetch_add_explicit(&nstages, 1, memory_order_release);
	pthread_mutex_unlock(&stages_lock);
	gb_status_dirty();
	if (!st->broken)
		gb_info("t2_stream: %s of VRAM stages T2 memory for the kernels on device %d",
			gb_size_human(st->size, a, sizeof(a)), devi);
}

/* a region of len bytes, ordered on stream s after every use of what it
 * overwrites */
struct ring_wait {
	CUstream s;
	unsigned flags;
	CUresult (*wait)(CUstream, CUevent, unsigned int);
};

static void ring_wait(void *arg, CUevent ev)
{
	struct ring_wait *w = arg;

	w->wait(w->s, ev, w->flags);
}

/* capture: the id of the capture the waits go into, 0: none; shared:
 * s is a per-thread default stream, one handle for many */
static size_t ring_take(struct stage *st, size_t len, const struct gb_ring_order *o, cuuint64_t capture, CUstream s,
			int shared, unsigned flags, CUresult (*wait)(CUstream, CUevent, unsigned int))
{
	struct ring_wait w = { s, flags, wait };

	if (flags && !capture)
		capture = GB_RING_CAPTURE_UNKNOWN;
	return gb_ring_take(&st->ring, len, o, flags ? capture : 0, shared ? NULL : s, ring_wait, &w);
}

/* the region is in use until what is queued on s so far is done */
static void ring_done(struct stage *st, size_t off, size_t len, const struct gb_ring_order *o, CUstream s,
		      unsigned flags, CUresult (*record)(CUevent, CUstream, unsigned int))
{
	struct gb_ring_use *u = gb_ring_push(&st->ring, off, len);

	if (u && o)
		u->order = *o;
	else if (u)
		memset(&u->order, 0, sizeof(u->order));
	/* events are made once per slot and reused, never destroyed: a graph
	 * captured with one keeps referring to it */
	if (u && u->ev)
		record(u->ev, s, flags);
}

static CUresult run_kernel(CUresult (*launch)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
					      unsigned, unsigned, CUstream, void **, void **),
			   CUfunction f, size_t nbytes, CUstream s, void **args)
{
	size_t words = nbytes / 8 + 1;
	unsigned grid = (unsigned)(words / (BLOCK * 4) + 1);

	if (grid > GRID_MAX)
		grid = GRID_MAX;
	return launch(f, grid, 1, 1, BLOCK, 1, 1, 0, s, args, NULL);
}

/* ---- the launch ---- */

struct hit {
	uintptr_t base, end;
	CUdeviceptr copy;  /* where the staged copy is */
	CUdeviceptr sums;
};

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int add_hit(struct hit *h, int n, uintptr_t base, uintptr_t end)
{
	int i;

	for (i = 0; i < n; i++)
		if (h[i].base == base)
			return n;
	if (n == MAX_HITS)
		return -1;
	h[n].base = base;
	h[n].end = end;
	return n + 1;
}

static uintptr_t moved(const struct hit *h, int n, uintptr_t p)
{
	int i;

	for (i = 0; i < n; i++)
		if (p >= h[i].base && p < h[i].end)
			return (uintptr_t)h[i].copy + (p - h[i].base);
	return p;
}

/* scan len bytes of parameter data for T2 pointers; -1: too many */
static int scan(const struct t2snap *s, const unsigned char *p, size_t len, struct hit *h, int n)
{
	uintptr_t v, base, end;
	size_t o;

	for (o = 0; n >= 0 && o + 8 <= len; o += 8) {
		memcpy(&v, p + o, 8);
		if (t2_range(s, v, &base, &end))
			n = add_hit(h, n, base, end);
	}
	return n;
}

static void rewrite(unsigned char *p, size_t len, const struct hit *h, int n)
{
	uintptr_t v;
	size_t o;

	for (o = 0; o + 8 <= len; o += 8) {
		memcpy(&v, p + o, 8);
		v = moved(h, n, v);
		memcpy(p + o, &v, 8);
	}
}

/* the capture stream h is in: 0 none, 1 one (its id in *id), -1 unknown */
static int capture_of(CUstream h, int ptsz, cuuint64_t *id)
{
	CUresult (*info)(CUstream, CUstreamCaptureStatus *, cuuint64_t *) =
		ptsz ? R.cuStreamGetCaptureInfo_ptsz : R.cuStreamGetCaptureInfo;
	CUstreamCaptureStatus cs = CU_STREAM_CAPTURE_STATUS_NONE;

	*id = 0;
	if (!info || info(h, &cs, id) != CUDA_SUCCESS)
		return -1;
	if (cs == CU_STREAM_CAPTURE_STATUS_NONE) {
		*id = 0;
		return 0;
	}
	return cs == CU_STREAM_CAPTURE_STATUS_ACTIVE ? 1 : -1;
}

/* where base is among n buffers, -1: not there */
static int base_at(const uintptr_t *bases, int n, uintptr_t base)
{
	int j;

	for (j = 0; j < n; j++)
		if (bases[j] == base)
			return j;
	return -1;
}

/* whether a hit is among n buffers */
static int shares(const struct hit *h, int nh, const uintptr_t *bases, int n)
{
	int i;

	for (i = 0; i < nh; i++)
		if (base_at(bases, n, h[i].base) >= 0)
			return 1;
	return 0;
}

/* the legacy default stream is one for all threads; these are not */
static int per_thread(CUstream h, int ptsz)
{
	return (!h && ptsz) || h == (CUstream)(uintptr_t)0x2; /* CU_STREAM_PER_THREAD */
}

/* the order of work queued on h (in capture id, 0: none) by this thread */
static void order_of(struct gb_ring_order *o, CUstream h, int ptsz, cuuint64_t capture)
{
	memset(o, 0, sizeof(*o));
	o->s = h;
	o->capture = capture;
	o->per_thread = per_thread(h, ptsz);
	if (o->per_thread)
		o->thread = pthread_self();
}

/* whether the next region of len bytes overlaps the last staged launch's */
static int lands_on_last(const struct stage *st, size_t len)
{
	size_t off = st->ring.head + len > st->ring.size ? 0 : st->ring.head;

	return st->last.off < off + len && off < st->last.off + st->last.total;
}

/* whether every hit was one of the last staged launch's, whose copies
 * it then takes */
static int within_last(const struct stage *st, struct hit *h, int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		if ((j = base_at(st->last.base, st->last.n, h[i].base)) < 0)
			return 0;
		h[i].copy = st->last.copy[j];
		h[i].sums = st->last.sums[j];
	}
	return 1;
}

void gb_stage_capture_began(CUstream h, int ptsz)
{
	CUresult (*getctx)(CUstream, CUcontext *) = ptsz ? R.cuStreamGetCtx_ptsz : R.cuStreamGetCtx;
	CUresult (*record)(CUevent, CUstream, unsigned int) =
		ptsz ? R.cuEventRecordWithFlags_ptsz : R.cuEventRecordWithFlags;
	CUcontext ctx = NULL;
	struct stage *st;
	cuuint64_t sid;

	if (g.phase < GB_PHASE_INFERENCE || !getctx || !record || getctx(h, &ctx) != CUDA_SUCCESS ||
	    !(st = stage_find(ctx)) || st->broken || !st->cs)
		return;
	pthread_mutex_lock(&st->lk);
	/* the mark at the capture's start, where nothing of it is queued: a
	 * copy ordered after it is a root of the graph, which a replay runs
	 * after everything before the replay (see root_copy) */
	st->root.valid = capture_of(h, ptsz, &sid) == 1 && record(st->cap0, h, 0) == CUDA_SUCCESS;
	order_of(&st->root.order, h, ptsz, sid);
	st->root.ptsz = ptsz;
	st->root.epoch = atomic_load_explicit(&epoch, memory_order_relaxed);
	st->root.n = 0;
	st->root.end = 0;
	/* the window has the whole ring: the ring waits for what earlier
	 * work queued anywhere in it, wherever its head stands */
	if (st->root.valid)
		st->ring.head = 0;
	pthread_mutex_unlock(&st->lk);
}

/*
 * Whether a launch's copies may be ordered after the start of its
 * capture only, roots of the graph that the copy engine runs while the
 * kernels before them (the layers in VRAM) run: in the capture's stream
 * and thread, nothing the shim saw having written T2 since its start, no
 * buffer shared with a launch staged before in it (whose kernel may write
 * it), and its region right after theirs in the ring without wrapping
 * (bytes no kernel of the capture reads; regions of earlier work are
 * waited for by the ring as ever).  The first launch that fails this
 * ends the window.
 */
static int root_copy(const struct stage *st, const struct gb_ring_order *o, int ptsz, unsigned long ep,
		     const struct hit *h, int n, size_t total)
{
	if (!st->root.valid || !o->capture || !gb_ring_same_order(o, &st->root.order) || st->root.ptsz != ptsz ||
	    st->root.epoch != ep || st->root.n + n > MAX_ROOT || shares(h, n, st->root.base, st->root.n))
		return 0;
	/* from the ring's start (gb_stage_capture_began), one after another */
	return st->ring.head == st->root.end && st->ring.head + total <= st->ring.size;
}

/* at log_level debug: each staged launch, and how its copies were ordered */
static void trace(const struct gb_launch *L, int n, size_t total, cuuint64_t sid, const char *how)
{
	const char *name = NULL;

	if (gb_log_level < GB_LOG_DEBUG)
		return;
	if (R.cuFuncGetName)
		R.cuFuncGetName(&name, L->f);
	gb_debug("t2_stream: %.80s: %d buffers, %zu bytes, capture %llu: %s", name ? name : "?", n, total,
		 (unsigned long long)sid, how);
}

/* *clean: set where the launch was not staged because it has no T2
 * pointer, so that it cannot have written T2 memory itself */
static int stage_launch(struct gb_launch *L, int *clean)
{
	const struct t2snap *s = atomic_load_explicit(&snap, memory_order_acquire);
	CUresult (*launch)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
			   CUstream, void **, void **) = L->ptsz ? R.cuLaunchKernel_ptsz : R.cuLaunchKernel;
	CUresult (*memcpya)(CUdeviceptr, CUdeviceptr, size_t, CUstream) = L->ptsz ? R.cuMemcpyAsync_ptsz : R.cuMemcpyAsync;
	CUresult (*memseta)(CUdeviceptr, unsigned char, size_t, CUstream) = L->ptsz ? R.cuMemsetD8Async_ptsz : R.cuMemsetD8Async;
	CUresult (*wait)(CUstream, CUevent, unsigned int) = L->ptsz ? R.cuStreamWaitEvent_ptsz : R.cuStreamWaitEvent;
	CUresult (*record)(CUevent, CUstream, unsigned int) = L->ptsz ? R.cuEventRecordWithFlags_ptsz : R.cuEventRecordWithFlags;
	CUresult (*capturing)(CUstream, CUstreamCaptureStatus *) = L->ptsz ? R.cuStreamIsCapturing_ptsz : R.cuStreamIsCapturing;
	/* where the copies are queued: the kernel's stream, or the copy stream */
	CUresult (*qmemcpy)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
	CUresult (*qwait)(CUstream, CUevent, unsigned int);
	CUstreamCaptureStatus cs = CU_STREAM_CAPTURE_STATUS_NONE;
	unsigned char *pbuf = NULL, *buf = NULL;
	void *ptrs[1024], **newparams = NULL, *newextra[5];
	size_t bufsize = 0, total = 0, off, off0, staged = 0;
	const struct pinfo *pi = NULL;
	struct hit h[MAX_HITS];
	struct stage *st = NULL;
	CUcontext ctx = NULL;
	cuuint64_t sid = 0, cid = 0;
	unsigned long ep;
	unsigned flags;
	CUstream q;
	CUresult e;
	int n = 0, i, use_cs = 0, same, relaxed = 0, rooted = 0, reuse, joined = 0, sc;
	struct gb_ring_order ord, *op;

	*clean = 0;
	if (!s || !s->n) {
		*clean = 1;
		return -1;
	}
	if (g.phase < GB_PHASE_INFERENCE || !launch || !memcpya || !memseta || !wait || !record)
		return -1;
	atomic_fetch_add_explicit(&count.looked, 1, memory_order_relaxed);
	/* where the parameters are, and which point into T2 */
	if (L->params) {
		pi = param_info(L->f);
		if (!pi || pi->n < 0 || pi->n > (int)(sizeof(ptrs) / sizeof(ptrs[0]))) {
			atomic_fetch_add_explicit(&count.no_info, 1, memory_order_relaxed);
			return -1;
		}
		for (i = 0; i < pi->n && n >= 0; i++)
			n = scan(s, L->params[i], pi->p[i].size, h, n);
	} else if (L->extra) {
		for (i = 0; L->extra[i] != (void *)(uintptr_t)CU_LAUNCH_PARAM_END_AS_INT && i < 8; i += 2) {
			if (L->extra[i] == (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT)
				pbuf = L->extra[i + 1];
			else if (L->extra[i] == (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT)
				bufsize = *(size_t *)L->extra[i + 1];
		}
		if (!pbuf || !bufsize || bufsize > MAX_PARAM_BYTES) {
			atomic_fetch_add_explicit(&count.no_info, 1, memory_order_relaxed);
			return -1;
		}
		n = scan(s, pbuf, bufsize, h, 0);
	}
	if (n <= 0) {
		atomic_fetch_add_explicit(n ? &count.other : &count.no_t2, 1, memory_order_relaxed);
		*clean = n == 0;
		return -1;
	}
	for (i = 0; i < n; i++)
		total += SUMS_BYTES + align_up(h[i].end - h[i].base, REGION_ALIGN);
	if (R.cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !(st = stage_find(ctx)) || st->broken || total > st->size) {
		if (st && total > st->size) {
			unsigned long long m = atomic_load_explicit(&count.too_big_max, memory_order_relaxed);

			while (total > m && !atomic_compare_exchange_weak(&count.too_big_max, &m, total))
				;
		}
		atomic_fetch_add_explicit(st && total > st->size ? &count.too_big : &count.other, 1, memory_order_relaxed);
		return -1;
	}
	/* an invalidated capture: the launch fails anyway; leave the ring be */
	if (capturing && (capturing(L->stream, &cs) != CUDA_SUCCESS || cs == CU_STREAM_CAPTURE_STATUS_INVALIDATED))
		return -1;
	flags = cs == CU_STREAM_CAPTURE_STATUS_ACTIVE ? CU_EVENT_WAIT_EXTERNAL : 0;

	/* the application's parameters, copied and rewritten */
	if (L->params) {
		buf = malloc(pi->bytes + 8);
		if (!buf)
			return -1;
		for (i = 0; i < pi->n; i++) {
			memcpy(buf + pi->p[i].off, L->params[i], pi->p[i].size);
			ptrs[i] = buf + pi->p[i].off;
		}
		newparams = ptrs;
	} else {
		buf = malloc(bufsize);
		if (!buf)
			return -1;
		memcpy(buf, pbuf, bufsize);
		newextra[0] = (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT;
		newextra[1] = buf;
		newextra[2] = (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT;
		newextra[3] = &bufsize;
		newextra[4] = (void *)(uintptr_t)CU_LAUNCH_PARAM_END_AS_INT;
	}

	pthread_mutex_lock(&st->lk);
	ep = atomic_load_explicit(&epoch, memory_order_relaxed);
	/* the kernel's order: the ring's uses in it need no wait */
	sc = capture_of(L->stream, L->ptsz, &sid);
	order_of(&ord, L->stream, L->ptsz, sid);
	op = sc >= 0 ? &ord : NULL;
	/* the copy stream, unless it is in a capture other than the kernel's */
	if (st->cs) {
		int cc = capture_of(st->cs, 0, &cid);

		use_cs = sc >= 0 && (cc == 0 || (cc == 1 && sc == 1 && cid == sid));
	}
	/* nothing the shim saw has written T2 since the last staged launch,
	 * on the same stream (a per-thread default stream is the thread's) */
	same = use_cs && st->last.valid && gb_ring_same_order(&ord, &st->last.order) && st->last.ptsz == L->ptsz &&
	       st->last.epoch == ep;
	/* its buffers are all the last one's: their copies, with whatever
	 * that kernel wrote, are still in the ring (the ring reuses a region
	 * only after the event recorded after its last use) */
	reuse = same && st->ring.n < GB_RING_QUEUE && within_last(st, h, n);
	/* and its copies do not land on the region the last kernel may still
	 * be reading: the event that guards it is no edge in a graph */
	relaxed = same && !reuse && !shares(h, n, st->last.base, st->last.n) && !lands_on_last(st, total);
	/* or, early in a capture, after its start only */
	rooted = use_cs && !reuse && root_copy(st, &ord, L->ptsz, ep, h, n, total);
	if (rooted)
		relaxed = 0;
	else if (!reuse)
		st->root.valid = 0;
	if (reuse) {
		/* the checksum after the last kernel is the one before this */
		for (i = 0; i < n; i++)
			if ((e = memcpya(h[i].sums, h[i].sums + 8, 8, L->stream)) != CUDA_SUCCESS ||
			    (e = memseta(h[i].sums + 8, 0, 8, L->stream)) != CUDA_SUCCESS) {
				st->last.valid = 0;
				pthread_mutex_unlock(&st->lk);
				free(buf);
				return -1;
			}
		off0 = st->last.off;
		total = st->last.total;
		atomic_fetch_add_explicit(&count.reused, 1, memory_order_relaxed);
		trace(L, n, total, sid, "reused the copies of the launch before");
		goto run;
	}
	if (rooted) {
		trace(L, n, total, sid, "overlapped, after the capture's start");
	} else if (relaxed) {
		trace(L, n, total, sid, "overlapped");
	} else {
		static const char *const whys[] = {
			"waited for all before: no copy stream", "waited for all before: first",
			"waited for all before: another stream or capture", "waited for all before: a write",
			"waited for all before: a buffer of the launch before",
			"waited for all before: staging bytes the launch before read"
		};
		_Atomic unsigned long long *const ctr[] = { &count.w_cs, &count.w_first, &count.w_stream,
							    &count.w_epoch, &count.w_shared, &count.w_region };
		int w = !st->cs || !use_cs ? 0
			: !st->last.valid ? 1
			: !gb_ring_same_order(&ord, &st->last.order) || st->last.ptsz != L->ptsz ? 2
			: st->last.epoch != ep ? 3
			: shares(h, n, st->last.base, st->last.n) ? 4 : 5;

		atomic_fetch_add_explicit(ctr[w], 1, memory_order_relaxed);
		trace(L, n, total, sid, whys[w]);
	}
	st->last.valid = 0;
	/* ordered after everything so far, or (relaxed) after what came
	 * before the last staged kernel, recorded then */
	if (use_cs && ((!relaxed && !rooted && record(st->pos, L->stream, 0) != CUDA_SUCCESS) ||
		       R.cuStreamWaitEvent(st->cs, rooted ? st->cap0 : st->pos, 0) != CUDA_SUCCESS))
		use_cs = relaxed = rooted = 0;
	joined = use_cs;
	q = use_cs ? st->cs : L->stream;
	qmemcpy = use_cs ? R.cuMemcpyAsync : memcpya;
	qwait = use_cs ? R.cuStreamWaitEvent : wait;

	/* one region for all of them, so that none overwrites another */
	off = off0 = ring_take(st, total, rooted ? NULL : op, sid, q, !use_cs && per_thread(L->stream, L->ptsz), flags,
			       qwait);
	if (off0 == GB_RING_FULL) {
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto undo;
	}
	for (i = 0; i < n; i++) {
		size_t len = h[i].end - h[i].base;

		h[i].sums = st->base + off;
		h[i].copy = h[i].sums + SUMS_BYTES;
		off += SUMS_BYTES + align_up(len, REGION_ALIGN);
		if ((e = qmemcpy(h[i].copy, (CUdeviceptr)h[i].base, len, q)) != CUDA_SUCCESS)
			goto undo;
		staged += len;
	}
	/* the kernel's stream waits for the copies, and marks where the next
	 * relaxed copy may start */
	if (use_cs) {
		if ((e = R.cuEventRecordWithFlags(st->copied, st->cs, 0)) != CUDA_SUCCESS ||
		    (e = wait(L->stream, st->copied, 0)) != CUDA_SUCCESS)
			goto undo;
		joined = 0;
		if (record(st->pos, L->stream, 0) != CUDA_SUCCESS)
			use_cs = 0;
	}
	/* the sums before the kernel, on its stream: the copy stream goes on
	 * to the next copy meanwhile */
	for (i = 0; i < n; i++) {
		size_t len = h[i].end - h[i].base;
		void *args[3] = { &h[i].copy, &len, &h[i].sums };

		if ((e = memseta(h[i].sums, 0, 16, L->stream)) != CUDA_SUCCESS ||
		    (e = run_kernel(launch, st->fsum, len, L->stream, args)) != CUDA_SUCCESS)
			goto undo;
	}
run:
	if (L->params)
		for (i = 0; i < pi->n; i++)
			rewrite(buf + pi->p[i].off, pi->p[i].size, h, n);
	else
		rewrite(buf, bufsize, h, n);
	e = L->run(L, newparams, L->params ? NULL : newextra);
	if (e != CUDA_SUCCESS)
		st->last.valid = st->root.valid = 0; /* a reuse changed the sums the copies go with */
	if (e == CUDA_SUCCESS) {
		for (i = 0; i < n; i++) {
			size_t len = h[i].end - h[i].base;
			CUdeviceptr after = h[i].sums + 8, dst = (CUdeviceptr)h[i].base;
			void *sargs[3] = { &h[i].copy, &len, &after };
			void *wargs[4] = { &h[i].copy, &dst, &len, &h[i].sums };

			if (run_kernel(launch, st->fsum, len, L->stream, sargs) != CUDA_SUCCESS ||
			    run_kernel(launch, st->fwb, len, L->stream, wargs) != CUDA_SUCCESS)
				gb_log(GB_LOG_ERROR, "t2_stream: unable to queue the write-back of a staged buffer: "
				       "what the kernel wrote to %p may be lost", (void *)h[i].base);
		}
		if (reuse) {
			st->last.valid = 1;
		} else if (use_cs) {
			if (rooted) {
				st->root.end = off0 + total;
				for (i = 0; i < n; i++)
					st->root.base[st->root.n++] = h[i].base;
			}
			st->last.valid = 1;
			st->last.order = ord;
			st->last.ptsz = L->ptsz;
			st->last.epoch = ep;
			st->last.n = n;
			st->last.off = off0;
			st->last.total = total;
			for (i = 0; i < n; i++) {
				st->last.base[i] = h[i].base;
				st->last.copy[i] = h[i].copy;
				st->last.sums[i] = h[i].sums;
			}
		}
	}
	ring_done(st, off0, total, op, L->stream, flags ? CU_EVENT_RECORD_EXTERNAL : 0, record);
	pthread_mutex_unlock(&st->lk);
	free(buf);
	if (e == CUDA_SUCCESS) {
		atomic_fetch_add_explicit(&count.staged, 1, memory_order_relaxed);
		if (relaxed || rooted)
			atomic_fetch_add_explicit(&count.overlapped, 1, memory_order_relaxed);
		if (rooted)
			atomic_fetch_add_explicit(&count.rooted, 1, memory_order_relaxed);
		pthread_mutex_lock(&g.lock);
		g.dev[st->dev].staged_bytes += staged;
		pthread_mutex_unlock(&g.lock);
		gb_status_dirty();
	}
	return e;
undo:
	/* nothing of the application's has run yet: let it read in place,
	 * after the copy stream is joined back (a capture needs it) */
	if (joined && R.cuEventRecordWithFlags(st->copied, st->cs, 0) == CUDA_SUCCESS)
		wait(L->stream, st->copied, 0);
	st->root.valid = 0;
	/* a region taken is in use until the copies into it are done */
	if (off0 != GB_RING_FULL)
		ring_done(st, off0, total, op, L->stream, flags ? CU_EVENT_RECORD_EXTERNAL : 0, record);
	pthread_mutex_unlock(&st->lk);
	free(buf);
	gb_debug("t2_stream: staging failed (CUDA error %d): reading in place", e);
	return -1;
}

int gb_stage_launch(struct gb_launch *L)
{
	int clean, r = stage_launch(L, &clean);

	/* read in place: it may write T2 memory where no copy sees it */
	if (r < 0 && !clean) {
		atomic_fetch_add_explicit(&epoch, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&count.b_launch, 1, memory_order_relaxed);
		return GB_STAGE_WROTE;
	}
	return r;
}

void gb_stage_after_fork(void)
{
	pthread_mutex_init(&pinfo_lock, NULL);
	pthread_mutex_init(&stages_lock, NULL);
	atomic_store(&nstages, 0);
	atomic_store(&snap, NULL);
	atomic_store(&gb_staging, 0);
}
