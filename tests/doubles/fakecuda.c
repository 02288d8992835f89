/*
 * fakecuda.c - a TEST DOUBLE of libcuda.so.1, the NVIDIA CUDA driver.
 *
 * THIS IS NOT THE REAL DRIVER.  It drives no GPU: "device memory" is host
 * memory from posix_memalign(), every operation is synchronous, and each
 * fake device has a made-up amount of VRAM (FAKECUDA_VRAM) that is only
 * counted, never reserved.  It exists so that CI machines without a GPU
 * can run GreenBoost's shim against something that answers the subset of
 * the driver API the shim uses, with the real ABI: the same exported
 * names (the _v2 and _ptsz variants and the legacy ones), the same
 * cuGetProcAddress version rules, the same error codes.  Built as
 * tests/doubles/libcuda.so.1 and found through LD_LIBRARY_PATH or
 * GB_CUDA_LIB; never install it.
 *
 * The FAKECUDA_* variables are listed in fakeenv.h.  FAKECUDA_DEVICES and
 * FAKECUDA_VRAM are read once, by the first successful cuInit; the others
 * at each call, so a test may flip them with setenv().
 *
 * Where it is stricter than a sketch needs to be, it is so to catch shim
 * bugs the real driver would punish: copies and memsets must stay inside
 * memory the device can reach (allocations, registered host ranges,
 * VMM mappings with access set), and stale stream, event, context,
 * module and function handles are refused rather than dereferenced.
 *
 * Kernels: cuModuleLoadData reads only the .entry names of its PTX, and
 * the few kernels the double knows by name (the table "kernels") are C
 * functions that cuLaunchKernel* runs at once, after checking the launch
 * and assembling its parameters as the real driver would.  So a test can
 * launch, and see what a shim did to a launch (fakecuda_last_param).
 *
 * One mutex guards everything; the context stack is per thread, as in
 * the real driver.  The fakecuda_* functions at the end are for tests.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fakecuda.h"
#include "fakeenv.h"

#define MAXDEV FAKE_MAX_DEVICES
#define GRAN (2UL << 20)        /* VMM granularity */
#define TOUCH 4096              /* stride of the page touching in cuMemHostRegister */
#define STACK_MAX 32            /* context stack depth per thread */
#define DEV_NAME "GreenBoost Fake GPU"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Entry points are static functions fc_NAME, exported as NAME by alias
 * (at the end of the file).  Calls inside the double, and the addresses
 * cuGetProcAddress hands out, use fc_NAME: like the real driver, the
 * double never calls through an interposable symbol, so a preloaded shim
 * sees each application call once.  no_icf keeps functions with the same
 * body (cuCtxDestroy and cuCtxDestroy_v2) at distinct addresses.
 */
#define API static __attribute__((no_icf))

/* ---- state ---- */

struct CUctx_st {
	struct CUctx_st *next;
	int dev;
	int primary;
	int refs;               /* primary: retain count; live while > 0 */
	int dead;               /* created: destroyed.  Kept, never freed, so
				 * that a stale handle is recognised, not reused */
};

struct CUstream_st {
	CUcontext ctx;
	unsigned int flags;
};

struct CUevent_st {
	CUcontext ctx;
	unsigned int flags;
	int pending;            /* cuEventQuery answers NOT_READY this many more times */
	unsigned long long capid; /* recorded in that capture (0: none) */
	const void *on;         /* the stream it was last recorded on */
	unsigned long long at;  /* and how many operations that stream had then */
};

/* a cuMemCreate handle; its value is the address of this */
struct vmm {
	struct vmm *next;
	CUmemAllocationProp prop;
	size_t size;
	int fd;                 /* memfd backing, mapped by cuMemMap */
	int maps;               /* live cuMemMap()s of it */
	int released;           /* cuMemRelease()d: the handle is dead; the
				 * memory lives until the last unmap, as in the
				 * real driver */
};

/* address ranges the double knows */
enum { K_DEV, K_HOST, K_VA, K_MAP };
#define M_DEV (1 << K_DEV)
#define M_HOST (1 << K_HOST)
#define M_VA (1 << K_VA)
#define M_MAP (1 << K_MAP)

struct rec {
	uintptr_t base;
	size_t size;
	int kind;
	int dev;                /* device it counts against; -1: host VMM */
	CUcontext ctx;          /* K_DEV, K_HOST: context current when made */
	int prot;               /* K_MAP: PROT_* set by cuMemSetAccess */
	int lowmap;             /* K_DEV: mmap()ed below 4 GiB for the legacy API */
	struct vmm *vmm;        /* K_MAP: the handle mapped here */
};

/* a set of handles */
struct pset {
	void **v;
	size_t n, cap;
};

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;

/* A fork while another thread holds lk must not leave the child stuck
 * on it (the shim's fork test forks while a thread allocates). */
static void fork_prepare(void) { pthread_mutex_lock(&lk); }
static void fork_release(void) { pthread_mutex_unlock(&lk); }
__attribute__((constructor)) static void fork_safe(void)
{
	pthread_atfork(fork_prepare, fork_release, fork_release);
}

static int inited, ndev;
static unsigned long long vram;
static unsigned long long used[MAXDEV];
static unsigned long long host_vmm;
static struct CUctx_st prim[MAXDEV];
static struct CUctx_st *created;
static struct vmm *vmms;
static struct rec *recs;
static size_t nrec, caprec;
static struct pset streams, events;
static _Atomic int gpa_calls;

static __thread CUcontext stack[STACK_MAX];
static __thread int depth;

/* ---- small helpers (callers hold lk) ---- */

/*
 * Capture, as the real driver keeps it, so that a shim's cross-stream
 * ordering inside one can be checked: which capture each stream is in (a
 * stream joins the one whose event it waits for), how many operations
 * it has queued, and up to which of them another stream has waited on it
 * (a capture cannot end while a stream in it has work nobody waits for).
 * Keyed by handle, the NULL and special handles included.
 */
#define SINFO_MAX 256
static struct sinfo {
	const void *h;
	unsigned long long capid, ops, joined, records;
	int begun;  /* its capture began on it */
	/* the last events it waited on: where each was recorded */
	struct {
		const void *on;
		unsigned long long at;
		int external;
	} waits[32];
	unsigned nwaits;
} sinfo[SINFO_MAX];
static int nsinfo;
static unsigned long long next_capid = 1;
static const void *last_copy_stream;

static struct sinfo *sinfo_of(const void *h)
{
	int i;

	for (i = 0; i < nsinfo; i++)
		if (sinfo[i].h == h)
			return &sinfo[i];
	if (nsinfo == SINFO_MAX) {
		fprintf(stderr, "fakecuda: more than %d streams seen\n", SINFO_MAX);
		abort();
	}
	memset(&sinfo[nsinfo], 0, sizeof(sinfo[0]));
	sinfo[nsinfo].h = h;
	return &sinfo[nsinfo++];
}

static int capid_active(unsigned long long id)
{
	int i;

	for (i = 0; id && i < nsinfo; i++)
		if (sinfo[i].capid == id)
			return 1;
	return 0;
}

/* under lk: a capture begins on s, with nothing of it queued yet */
static void capture_start(const void *s)
{
	struct sinfo *si = sinfo_of(s);

	si->capid = next_capid++;
	si->joined = si->ops;
	si->begun = 1;
}

/* a stream-ordered operation queued on s */
static void stream_op(const void *s)
{
	sinfo_of(s)->ops++;
}

static int pset_has(const struct pset *s, const void *p)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == p)
			return 1;
	return 0;
}

static int pset_add(struct pset *s, void *p)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		void **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = p;
	return 0;
}

static void pset_del(struct pset *s, const void *p)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == p) {
			s->v[i] = s->v[--s->n];
			return;
		}
}

/* [a, a+n) wraps around the address space */
static int wraps(uintptr_t a, size_t n)
{
	return n > UINTPTR_MAX - a;
}

/* the record of a kind in mask that contains address a */
static struct rec *rec_at(uintptr_t a, int mask)
{
	size_t i;

	for (i = 0; i < nrec; i++)
		if ((mask & (1 << recs[i].kind)) && a >= recs[i].base && a - recs[i].base < recs[i].size)
			return &recs[i];
	return NULL;
}

/* the record of a kind in mask that starts at a */
static struct rec *rec_base(uintptr_t a, int mask)
{
	size_t i;

	for (i = 0; i < nrec; i++)
		if ((mask & (1 << recs[i].kind)) && recs[i].base == a)
			return &recs[i];
	return NULL;
}

static int rec_overlaps(uintptr_t a, size_t n, int mask)
{
	size_t i;

	for (i = 0; i < nrec; i++)
		if ((mask & (1 << recs[i].kind)) && a < recs[i].base + recs[i].size && recs[i].base < a + n)
			return 1;
	return 0;
}

static int rec_count(int mask, unsigned long long *bytes)
{
	size_t i;
	int n = 0;

	for (i = 0; i < nrec; i++)
		if (mask & (1 << recs[i].kind)) {
			n++;
			if (bytes)
				*bytes += recs[i].size;
		}
	return n;
}

static int rec_add(const struct rec *r)
{
	if (nrec == caprec) {
		size_t cap = caprec ? 2 * caprec : 64;
		struct rec *v = realloc(recs, cap * sizeof(*v));

		if (!v)
			return -1;
		recs = v;
		caprec = cap;
	}
	recs[nrec++] = *r;
	return 0;
}

/* invalidates pointers into recs */
static void rec_del(struct rec *r)
{
	*r = recs[--nrec];
}

/* Memory the device may touch covers all of [a, a+n): allocations,
 * registered host memory and VMM mappings whose access allows prot,
 * which may lie side by side. */
static int reachable(uintptr_t a, size_t n, int prot)
{
	if (wraps(a, n))
		return 0;
	while (n) {
		struct rec *r = rec_at(a, M_DEV | M_HOST | M_MAP);
		size_t take;

		if (!r || (r->kind == K_MAP && (r->prot & prot) != prot))
			return 0;
		take = r->base + r->size - a;
		if (take > n)
			take = n;
		a += take;
		n -= take;
	}
	return 1;
}

static int ctx_live(CUcontext c)
{
	struct CUctx_st *p;

	if (!c)
		return 0;
	if ((uintptr_t)c >= (uintptr_t)prim && (uintptr_t)c < (uintptr_t)(prim + ndev))
		return c->refs > 0;
	for (p = created; p; p = p->next)
		if (p == c)
			return !p->dead;
	return 0;
}

static CUresult need_init(void)
{
	return inited ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED;
}

/* the calling thread's current context, which must be live */
static CUresult cur_ctx(CUcontext *out)
{
	CUcontext c;

	if (!inited)
		return CUDA_ERROR_NOT_INITIALIZED;
	c = depth ? stack[depth - 1] : NULL;
	if (!ctx_live(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	*out = c;
	return CUDA_SUCCESS;
}

static CUresult dev_check(CUdevice dev)
{
	if (!inited)
		return CUDA_ERROR_NOT_INITIALIZED;
	return dev >= 0 && dev < ndev ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

/* The special handles need the current context; a created stream carries
 * its own. */
static CUresult stream_check(CUstream s)
{
	CUcontext c;

	if (!inited)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (s == NULL || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD)
		return cur_ctx(&c);
	return pset_has(&streams, s) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* ---- initialisation and devices ---- */

API CUresult fc_cuInit(unsigned int flags)
{
	CUresult e = CUDA_SUCCESS;
	int i;

	if (flags)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&lk);
	if (!inited) {
		ndev = fake_env_devices();
		vram = fake_env_vram();
		for (i = 0; i < ndev; i++) {
			prim[i].dev = i;
			prim[i].primary = 1;
		}
		/* like the real driver, no device means no driver */
		if (ndev)
			inited = 1;
		else
			e = CUDA_ERROR_NO_DEVICE;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

/* no cuInit needed, as with the real driver */
API CUresult fc_cuDriverGetVersion(int *v)
{
	if (!v)
		return CUDA_ERROR_INVALID_VALUE;
	*v = (int)fake_env_int("FAKECUDA_VERSION", 13000);
	return CUDA_SUCCESS;
}

API CUresult fc_cuDeviceGetCount(int *n)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !n)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*n = ndev;
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuDeviceGet(CUdevice *dev, int ordinal)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(ordinal)) && !dev)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*dev = ordinal;
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuDeviceGetName(char *name, int len, CUdevice dev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)) && (!name || len <= 0))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		snprintf(name, (size_t)len, "%s", DEV_NAME);
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuDeviceGetPCIBusId(char *id, int len, CUdevice dev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)) && (!id || len <= 0))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		snprintf(id, (size_t)len, "0000:%02x:00.0", 0x10 + dev);
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)) && !bytes)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*bytes = vram;
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuDeviceTotalMem(unsigned int *bytes, CUdevice dev)
{
	size_t b;
	CUresult e;

	if (!bytes)
		return CUDA_ERROR_INVALID_VALUE;
	if (!(e = fc_cuDeviceTotalMem_v2(&b, dev)))
		*bytes = b > UINT_MAX ? UINT_MAX : (unsigned int)b;
	return e;
}

API CUresult fc_cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice dev)
{
	CUresult e;
	int r;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)) && !v)
		e = CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_unlock(&lk);
	if (e)
		return e;
	switch (a) {
	case CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID:
	case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID:
	case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID:
		r = 0;
		break;
	case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID:
		r = 0x10 + dev;
		break;
	case CU_DEVICE_ATTRIBUTE_HOST_NUMA_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED:
		r = !fake_env_flag("FAKECUDA_NO_HOST_NUMA_VMM");
		break;
	case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY:
	case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING:
	case CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM:
	case CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED:
	case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED:
		r = 1;
		break;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
	*v = r;
	return CUDA_SUCCESS;
}

/* ---- contexts ---- */

static CUresult push(CUcontext c)
{
	if (depth == STACK_MAX)
		return CUDA_ERROR_OUT_OF_MEMORY;
	stack[depth++] = c;
	return CUDA_SUCCESS;
}

API CUresult fc_cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)) && !ctx)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		prim[dev].refs++;
		*ctx = &prim[dev];
	}
	pthread_mutex_unlock(&lk);
	return e;
}

/* At zero the primary context is inactive: calls made with it current
 * fail until it is retained again.  Its memory is not reclaimed. */
static CUresult primary_release(CUdevice dev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)) && prim[dev].refs <= 0)
		e = CUDA_ERROR_INVALID_CONTEXT;
	if (!e)
		prim[dev].refs--;
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuDevicePrimaryCtxRelease(CUdevice dev)
{
	return primary_release(dev);
}

API CUresult fc_cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	return primary_release(dev);
}

API CUresult fc_cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)) && (!flags || !active))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		*flags = 0;
		*active = prim[dev].refs > 0;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

/* destroys the primary context whatever its retain count */
API CUresult fc_cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)))
		prim[dev].refs = 0;
	pthread_mutex_unlock(&lk);
	return e;
}

/* a new context is pushed on the caller's stack */
static CUresult ctx_create(CUcontext *ctx, unsigned int flags, CUdevice dev)
{
	struct CUctx_st *c = NULL;
	CUresult e;

	(void)flags;
	pthread_mutex_lock(&lk);
	if (!(e = dev_check(dev)) && !ctx)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && !(c = calloc(1, sizeof(*c))))
		e = CUDA_ERROR_OUT_OF_MEMORY;
	if (!e && (e = push(c)))
		free(c);
	if (!e) {
		c->dev = dev;
		c->next = created;
		created = c;
		*ctx = c;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuCtxCreate(CUcontext *ctx, unsigned int flags, CUdevice dev)
{
	return ctx_create(ctx, flags, dev);
}

API CUresult fc_cuCtxCreate_v2(CUcontext *ctx, unsigned int flags, CUdevice dev)
{
	return ctx_create(ctx, flags, dev);
}

static CUresult ctx_destroy(CUcontext c)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !c)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && (c->primary || !ctx_live(c)))
		e = CUDA_ERROR_INVALID_CONTEXT;
	if (!e) {
		c->dead = 1;
		/* current to the caller: popped, as the real driver does */
		if (depth && stack[depth - 1] == c)
			depth--;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuCtxDestroy(CUcontext c)
{
	return ctx_destroy(c);
}

API CUresult fc_cuCtxDestroy_v2(CUcontext c)
{
	return ctx_destroy(c);
}

/* replaces the top of the stack; NULL pops it */
API CUresult fc_cuCtxSetCurrent(CUcontext c)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	e = need_init();
	if (!e && c && !ctx_live(c))
		e = CUDA_ERROR_INVALID_CONTEXT;
	if (!e) {
		if (!c) {
			if (depth)
				depth--;
		} else if (depth) {
			stack[depth - 1] = c;
		} else {
			e = push(c);
		}
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuCtxGetCurrent(CUcontext *c)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !c)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*c = depth ? stack[depth - 1] : NULL;
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuCtxGetDevice(CUdevice *dev)
{
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = cur_ctx(&c)) && !dev)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*dev = c->dev;
	pthread_mutex_unlock(&lk);
	return e;
}

static CUresult ctx_push(CUcontext c)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !ctx_live(c))
		e = CUDA_ERROR_INVALID_CONTEXT;
	if (!e)
		e = push(c);
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuCtxPushCurrent(CUcontext c)
{
	return ctx_push(c);
}

API CUresult fc_cuCtxPushCurrent_v2(CUcontext c)
{
	return ctx_push(c);
}

static CUresult ctx_pop(CUcontext *c)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !depth)
		e = CUDA_ERROR_INVALID_CONTEXT;
	if (!e) {
		depth--;
		if (c)
			*c = stack[depth];
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuCtxPopCurrent(CUcontext *c)
{
	return ctx_pop(c);
}

API CUresult fc_cuCtxPopCurrent_v2(CUcontext *c)
{
	return ctx_pop(c);
}

static void hostfn_run(int all, int one, CUstream s);
static void progress(void);

/* only host functions are ever in flight */
API CUresult fc_cuCtxSynchronize(void)
{
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	e = cur_ctx(&c);
	pthread_mutex_unlock(&lk);
	if (!e)
		hostfn_run(1, 0, NULL);
	return e;
}

/* ---- device memory ---- */

/* The legacy API has 32-bit device pointers: its memory must lie below
 * 4 GiB, which only MAP_32BIT can ask for.  Where it cannot, the legacy
 * allocation fails as out of memory. */
static void *low_alloc(size_t size)
{
#ifdef MAP_32BIT
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if ((uintptr_t)p + size > 0xffffffffUL) {
		munmap(p, size);
		return NULL;
	}
	return p;
#else
	(void)size;
	return NULL;
#endif
}

static CUresult dev_alloc(CUdeviceptr *out, size_t size, CUstream s, int async, int low)
{
	struct rec r = { .kind = K_DEV, .lowmap = low };
	void *m = NULL;
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = cur_ctx(&c)) || (async && (e = stream_check(s))))
		goto out;
	if (!out || !size) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (size > vram - used[c->dev]) {
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	if (low)
		m = low_alloc(size);
	else if (posix_memalign(&m, 256, size))
		m = NULL;
	if (!m) {
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	r.base = (uintptr_t)m;
	r.size = size;
	r.dev = c->dev;
	r.ctx = c;
	if (rec_add(&r) < 0) {
		if (low)
			munmap(m, size);
		else
			free(m);
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	used[c->dev] += size;
	*out = (CUdeviceptr)(uintptr_t)m;
out:
	pthread_mutex_unlock(&lk);
	return e;
}

/* only the base of an allocation frees it */
static CUresult dev_free(CUdeviceptr p, CUstream s, int async)
{
	struct rec *r;
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = cur_ctx(&c)) || (async && (e = stream_check(s))))
		goto out;
	if (!(r = rec_base((uintptr_t)p, M_DEV))) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	used[r->dev] -= r->size;
	if (r->lowmap)
		munmap((void *)r->base, r->size);
	else
		free((void *)r->base);
	rec_del(r);
out:
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemAlloc_v2(CUdeviceptr *p, size_t size)
{
	progress();
	return dev_alloc(p, size, NULL, 0, 0);
}

API CUresult fc_cuMemAlloc(CUdeviceptr_v1 *p, unsigned int size)
{
	CUdeviceptr d;
	CUresult e;

	if (!p)
		return CUDA_ERROR_INVALID_VALUE;
	if (!(e = dev_alloc(&d, size, NULL, 0, 1)))
		*p = (CUdeviceptr_v1)d;
	return e;
}

#define PITCH_ALIGN 512

static CUresult pitch_alloc(CUdeviceptr *p, size_t *pitch, size_t w, size_t h, unsigned int elem, int low)
{
	size_t row = (w + PITCH_ALIGN - 1) & ~(size_t)(PITCH_ALIGN - 1);
	CUresult e;

	if (!p || !pitch || !w || !h || row < w || h > SIZE_MAX / row || (elem != 4 && elem != 8 && elem != 16)) {
		/* still say "not initialised" before "bad argument" */
		pthread_mutex_lock(&lk);
		e = need_init();
		pthread_mutex_unlock(&lk);
		return e ? e : CUDA_ERROR_INVALID_VALUE;
	}
	if (!(e = dev_alloc(p, row * h, NULL, 0, low)))
		*pitch = row;
	return e;
}

API CUresult fc_cuMemAllocPitch_v2(CUdeviceptr *p, size_t *pitch, size_t w, size_t h, unsigned int elem)
{
	return pitch_alloc(p, pitch, w, h, elem, 0);
}

API CUresult fc_cuMemAllocPitch(CUdeviceptr_v1 *p, unsigned int *pitch, unsigned int w, unsigned int h,
				unsigned int elem)
{
	CUdeviceptr d;
	size_t pt;
	CUresult e;

	if (!p || !pitch)
		return CUDA_ERROR_INVALID_VALUE;
	if (!(e = pitch_alloc(&d, &pt, w, h, elem, 1))) {
		*p = (CUdeviceptr_v1)d;
		*pitch = (unsigned int)pt;
	}
	return e;
}

/* the stream-ordered calls are synchronous; pools are not modelled */
API CUresult fc_cuMemAllocAsync(CUdeviceptr *p, size_t size, CUstream s)
{
	progress();
	return dev_alloc(p, size, s, 1, 0);
}

API CUresult fc_cuMemAllocAsync_ptsz(CUdeviceptr *p, size_t size, CUstream s)
{
	progress();
	return dev_alloc(p, size, s, 1, 0);
}

API CUresult fc_cuMemAllocFromPoolAsync(CUdeviceptr *p, size_t size, CUmemoryPool pool, CUstream s)
{
	(void)pool;
	return dev_alloc(p, size, s, 1, 0);
}

API CUresult fc_cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *p, size_t size, CUmemoryPool pool, CUstream s)
{
	(void)pool;
	return dev_alloc(p, size, s, 1, 0);
}

API CUresult fc_cuMemFree_v2(CUdeviceptr p)
{
	progress();
	return dev_free(p, NULL, 0);
}

API CUresult fc_cuMemFree(CUdeviceptr_v1 p)
{
	return dev_free(p, NULL, 0);
}

API CUresult fc_cuMemFreeAsync(CUdeviceptr p, CUstream s)
{
	progress();
	return dev_free(p, s, 1);
}

API CUresult fc_cuMemFreeAsync_ptsz(CUdeviceptr p, CUstream s)
{
	progress();
	return dev_free(p, s, 1);
}

API CUresult fc_cuMemGetInfo_v2(size_t *free_b, size_t *total_b)
{
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = cur_ctx(&c)) && (!free_b || !total_b))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		*free_b = vram - used[c->dev];
		*total_b = vram;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemGetInfo(unsigned int *free_b, unsigned int *total_b)
{
	size_t f, t;
	CUresult e;

	if (!free_b || !total_b)
		return CUDA_ERROR_INVALID_VALUE;
	if (!(e = fc_cuMemGetInfo_v2(&f, &t))) {
		*free_b = f > UINT_MAX ? UINT_MAX : (unsigned int)f;
		*total_b = t > UINT_MAX ? UINT_MAX : (unsigned int)t;
	}
	return e;
}

/* ---- copies and memsets: plain memory operations, after checking that
 * the device side is memory the device could reach ---- */

#define SIDE_HOST 0
#define SIDE_DEV 1

static unsigned long long copied;       /* bytes moved by the cuMemcpy* calls */

/* async: a stream-ordered call, which in the double is done before it
 * returns; it differs only in that the stream is checked */
static CUresult copy(uintptr_t dst, int dside, uintptr_t src, int sside, size_t n, CUstream s, int async)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && async)
		e = stream_check(s);
	if (!e && n && (!dst || !src))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && n && dside == SIDE_DEV && !reachable(dst, n, PROT_WRITE))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && n && sside == SIDE_DEV && !reachable(src, n, PROT_READ))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		copied += n;
	if (!e && async) {
		stream_op(s);
		last_copy_stream = s;
	}
	pthread_mutex_unlock(&lk);
	if (!e && n)
		memmove((void *)dst, (const void *)src, n);
	return e;
}

/* unified addressing: either side may be anything */
API CUresult fc_cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
	return copy(dst, SIDE_HOST, src, SIDE_HOST, n, NULL, 0);
}

API CUresult fc_cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n)
{
	return copy(dst, SIDE_DEV, (uintptr_t)src, SIDE_HOST, n, NULL, 0);
}

API CUresult fc_cuMemcpyHtoD(CUdeviceptr_v1 dst, const void *src, unsigned int n)
{
	return copy(dst, SIDE_DEV, (uintptr_t)src, SIDE_HOST, n, NULL, 0);
}

API CUresult fc_cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n)
{
	return copy((uintptr_t)dst, SIDE_HOST, src, SIDE_DEV, n, NULL, 0);
}

API CUresult fc_cuMemcpyDtoH(void *dst, CUdeviceptr_v1 src, unsigned int n)
{
	return copy((uintptr_t)dst, SIDE_HOST, src, SIDE_DEV, n, NULL, 0);
}

API CUresult fc_cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
	return copy(dst, SIDE_DEV, src, SIDE_DEV, n, NULL, 0);
}

API CUresult fc_cuMemcpyDtoD(CUdeviceptr_v1 dst, CUdeviceptr_v1 src, unsigned int n)
{
	return copy(dst, SIDE_DEV, src, SIDE_DEV, n, NULL, 0);
}

API CUresult fc_cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
	return copy(dst, SIDE_HOST, src, SIDE_HOST, n, s, 1);
}

API CUresult fc_cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
	return copy(dst, SIDE_HOST, src, SIDE_HOST, n, s, 1);
}

API CUresult fc_cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s)
{
	return copy(dst, SIDE_DEV, (uintptr_t)src, SIDE_HOST, n, s, 1);
}

API CUresult fc_cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void *src, size_t n, CUstream s)
{
	return copy(dst, SIDE_DEV, (uintptr_t)src, SIDE_HOST, n, s, 1);
}

/* the pre-3.2 one, so that cuGetProcAddress below 3020 finds what the
 * real driver hands out there (it has no _ptsz variant) */
API CUresult fc_cuMemcpyHtoDAsync(CUdeviceptr_v1 dst, const void *src, unsigned int n, CUstream s)
{
	return copy(dst, SIDE_DEV, (uintptr_t)src, SIDE_HOST, n, s, 1);
}

API CUresult fc_cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s)
{
	return copy((uintptr_t)dst, SIDE_HOST, src, SIDE_DEV, n, s, 1);
}

API CUresult fc_cuMemcpyDtoHAsync_v2_ptsz(void *dst, CUdeviceptr src, size_t n, CUstream s)
{
	return copy((uintptr_t)dst, SIDE_HOST, src, SIDE_DEV, n, s, 1);
}

API CUresult fc_cuMemcpyDtoHAsync(void *dst, CUdeviceptr_v1 src, unsigned int n, CUstream s)
{
	return copy((uintptr_t)dst, SIDE_HOST, src, SIDE_DEV, n, s, 1);
}

/* n elements of width w (1 or 4); async as for copy() */
static CUresult memset_dev(uintptr_t dst, unsigned int v, size_t n, size_t w, CUstream s, int async)
{
	CUresult e;
	size_t i;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && async)
		e = stream_check(s);
	if (!e && n && (!dst || n > SIZE_MAX / w || dst % w || !reachable(dst, n * w, PROT_WRITE)))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && async)
		stream_op(s);
	pthread_mutex_unlock(&lk);
	if (e || !n)
		return e;
	if (w == 1) {
		memset((void *)dst, (int)(v & 0xff), n);
	} else {
		uint32_t *p = (uint32_t *)dst;

		for (i = 0; i < n; i++)
			p[i] = v;
	}
	return CUDA_SUCCESS;
}

API CUresult fc_cuMemsetD8_v2(CUdeviceptr dst, unsigned char v, size_t n)
{
	return memset_dev(dst, v, n, 1, NULL, 0);
}

API CUresult fc_cuMemsetD8(CUdeviceptr_v1 dst, unsigned char v, unsigned int n)
{
	return memset_dev(dst, v, n, 1, NULL, 0);
}

API CUresult fc_cuMemsetD32_v2(CUdeviceptr dst, unsigned int v, size_t n)
{
	return memset_dev(dst, v, n, 4, NULL, 0);
}

API CUresult fc_cuMemsetD32(CUdeviceptr_v1 dst, unsigned int v, unsigned int n)
{
	return memset_dev(dst, v, n, 4, NULL, 0);
}

API CUresult fc_cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, CUstream s)
{
	return memset_dev(dst, v, n, 1, s, 1);
}

API CUresult fc_cuMemsetD8Async_ptsz(CUdeviceptr dst, unsigned char v, size_t n, CUstream s)
{
	return memset_dev(dst, v, n, 1, s, 1);
}

API CUresult fc_cuMemsetD32Async(CUdeviceptr dst, unsigned int v, size_t n, CUstream s)
{
	return memset_dev(dst, v, n, 4, s, 1);
}

API CUresult fc_cuMemsetD32Async_ptsz(CUdeviceptr dst, unsigned int v, size_t n, CUstream s)
{
	return memset_dev(dst, v, n, 4, s, 1);
}

/* ---- host memory registration ---- */

/*
 * Pinning faults every page in, writable, so a test sees registered
 * memory really backed (its RSS grows, as under the real driver).
 * MADV_POPULATE_WRITE does that without touching the contents; merely
 * reading untouched anonymous memory would only map the shared zero
 * page.  It also tells an unmapped range (ENOMEM) or one that cannot be
 * written (EFAULT) apart, which the real driver refuses.  Kernels before
 * 5.14 lack it (EINVAL): there, touch one byte of every 4 KiB with an
 * atomic add of 0, a write that changes nothing even if another thread
 * writes the same byte (a read, for read-only registrations).
 */
static int pin(void *p, size_t size, int read_only)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p & ~(pg - 1);
	uintptr_t end = ((uintptr_t)p + size + pg - 1) & ~(pg - 1);
	volatile char *c = p;
	size_t i;

	if (!madvise((void *)a, end - a, read_only ? MADV_POPULATE_READ : MADV_POPULATE_WRITE))
		return 0;
	if (errno == ENOMEM || errno == EFAULT)
		return -1;
	for (i = 0; i < size; i += TOUCH) {
		if (read_only)
			(void)c[i];
		else
			__atomic_fetch_add(&c[i], 0, __ATOMIC_RELAXED);
	}
	if (read_only)
		(void)c[size - 1];
	else
		__atomic_fetch_add(&c[size - 1], 0, __ATOMIC_RELAXED);
	return 0;
}

static CUresult host_register(void *p, size_t size, unsigned int flags)
{
	struct rec r = { .kind = K_HOST };
	uintptr_t a = (uintptr_t)p;
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = cur_ctx(&c)))
		goto out;
	if (!p || !size || wraps(a, size) || (flags & ~0xfu)) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (fake_env_flag("FAKECUDA_REGISTER_FAIL")) {
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	if (rec_overlaps(a, size, M_HOST)) {
		e = CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
		goto out;
	}
	/* device memory is not the host's to register */
	if (rec_overlaps(a, size, M_DEV | M_VA) || pin(p, size, flags & CU_MEMHOSTREGISTER_READ_ONLY)) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	r.base = a;
	r.size = size;
	r.dev = c->dev;
	r.ctx = c;
	if (rec_add(&r) < 0)
		e = CUDA_ERROR_OUT_OF_MEMORY;
out:
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemHostRegister_v2(void *p, size_t size, unsigned int flags)
{
	return host_register(p, size, flags);
}

API CUresult fc_cuMemHostRegister(void *p, size_t size, unsigned int flags)
{
	return host_register(p, size, flags);
}

/* only the base of a registration undoes it */
API CUresult fc_cuMemHostUnregister(void *p)
{
	struct rec *r;
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = cur_ctx(&c))) {
		if ((r = rec_base((uintptr_t)p, M_HOST)))
			rec_del(r);
		else
			e = CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

/* registered memory is mapped at the same address on the device */
API CUresult fc_cuMemHostGetDevicePointer_v2(CUdeviceptr *d, void *p, unsigned int flags)
{
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = cur_ctx(&c)) && (!d || flags || !rec_at((uintptr_t)p, M_HOST)))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*d = (CUdeviceptr)(uintptr_t)p;
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemHostGetDevicePointer(CUdeviceptr_v1 *d, void *p, unsigned int flags)
{
	CUdeviceptr d2;
	CUresult e;

	if (!d)
		return CUDA_ERROR_INVALID_VALUE;
	if ((e = fc_cuMemHostGetDevicePointer_v2(&d2, p, flags)))
		return e;
	if (d2 > UINT_MAX)
		return CUDA_ERROR_INVALID_VALUE;
	*d = (CUdeviceptr_v1)d2;
	return CUDA_SUCCESS;
}

/* ---- pointer queries ---- */

/* bytes of an attribute's value; 0: not one the double answers */
static size_t attr_size(CUpointer_attribute a)
{
	switch (a) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		return sizeof(CUcontext);
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
	case CU_POINTER_ATTRIBUTE_MAPPED:
		return sizeof(unsigned int);
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		return sizeof(int);
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		return sizeof(CUdeviceptr);
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		return sizeof(void *);
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		return sizeof(size_t);
	default:
		return 0;
	}
}

/* Write attribute a of ptr, which lies in r.  -1: that memory has no such
 * value (the host address of device memory); NULL is written. */
static int attr_of(const struct rec *r, uintptr_t ptr, CUpointer_attribute a, void *data)
{
	int host = r->kind == K_HOST;

	switch (a) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		*(CUcontext *)data = r->ctx;
		break;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		*(unsigned int *)data = host ? CU_MEMORYTYPE_HOST : CU_MEMORYTYPE_DEVICE;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		*(CUdeviceptr *)data = ptr;
		break;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		*(void **)data = host ? (void *)ptr : NULL;
		return host ? 0 : -1;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = r->dev;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = r->base;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = r->size;
		break;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
		*(unsigned int *)data = 0;
		break;
	case CU_POINTER_ATTRIBUTE_MAPPED:
		*(unsigned int *)data = 1;
		break;
	default:
		return -1;
	}
	return 0;
}

API CUresult fc_cuPointerGetAttribute(void *data, CUpointer_attribute a, CUdeviceptr ptr)
{
	struct rec *r;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && (!data || !attr_size(a) || !(r = rec_at(ptr, M_DEV | M_HOST)) ||
				   attr_of(r, ptr, a, data) < 0))
		e = CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_unlock(&lk);
	return e;
}

/* Unknown memory is not an error here: every value reads zero (memory
 * type 0), as the real driver answers for unregistered host memory. */
API CUresult fc_cuPointerGetAttributes(unsigned int n, CUpointer_attribute *a, void **data, CUdeviceptr ptr)
{
	struct rec *r;
	unsigned int i;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = need_init()))
		goto out;
	if (n && (!a || !data)) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!attr_size(a[i])) {
			e = CUDA_ERROR_INVALID_VALUE;
			goto out;
		}
	r = rec_at(ptr, M_DEV | M_HOST);
	for (i = 0; i < n; i++) {
		if (!data[i])
			continue;
		if (r)
			attr_of(r, ptr, a[i], data[i]);
		else
			memset(data[i], 0, attr_size(a[i]));
	}
out:
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemGetAddressRange_v2(CUdeviceptr *base, size_t *size, CUdeviceptr ptr)
{
	struct rec *r;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = need_init()))
		goto out;
	if ((r = rec_at(ptr, M_DEV))) {
		if (base)
			*base = r->base;
		if (size)
			*size = r->size;
	} else {
		e = rec_at(ptr, M_HOST) ? CUDA_ERROR_NOT_FOUND : CUDA_ERROR_INVALID_VALUE;
	}
out:
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemGetAddressRange(CUdeviceptr_v1 *base, unsigned int *size, CUdeviceptr_v1 ptr)
{
	CUdeviceptr b;
	size_t s;
	CUresult e;

	if ((e = fc_cuMemGetAddressRange_v2(&b, &s, ptr)))
		return e;
	if (base)
		*base = (CUdeviceptr_v1)b;
	if (size)
		*size = s > UINT_MAX ? UINT_MAX : (unsigned int)s;
	return CUDA_SUCCESS;
}

/* the handle carries the allocation's base */
API CUresult fc_cuIpcGetMemHandle(CUipcMemHandle *h, CUdeviceptr ptr)
{
	struct rec *r;
	uint64_t base;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && (!h || !(r = rec_at(ptr, M_DEV))))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		base = r->base;
		memset(h, 0, sizeof(*h));
		memcpy(h->reserved, &base, sizeof(base));
	}
	pthread_mutex_unlock(&lk);
	return e;
}

/* ---- streams and events (all work is done by the time a call returns) ---- */

API CUresult fc_cuStreamCreate(CUstream *s, unsigned int flags)
{
	struct CUstream_st *st = NULL;
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = cur_ctx(&c)) && (!s || (flags & ~CU_STREAM_NON_BLOCKING)))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && (!(st = malloc(sizeof(*st))) || pset_add(&streams, st) < 0)) {
		free(st);
		e = CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (!e) {
		st->ctx = c;
		st->flags = flags;
		*s = st;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

static CUresult stream_ctx(CUstream s, CUcontext *c)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !c)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		if (pset_has(&streams, s))
			*c = s->ctx;
		else
			e = cur_ctx(c); /* the default streams belong to the current context */
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuStreamGetCtx(CUstream s, CUcontext *c)
{
	return stream_ctx(s, c);
}

API CUresult fc_cuStreamGetCtx_ptsz(CUstream s, CUcontext *c)
{
	return stream_ctx(s, c);
}

static CUresult stream_destroy(CUstream s)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !pset_has(&streams, s))
		e = CUDA_ERROR_INVALID_HANDLE;
	if (!e) {
		pset_del(&streams, s);
		sinfo_of(s)->capid = 0;
		sinfo_of(s)->begun = 0;
		free(s);
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuStreamDestroy(CUstream s)
{
	return stream_destroy(s);
}

API CUresult fc_cuStreamDestroy_v2(CUstream s)
{
	return stream_destroy(s);
}

static CUresult stream_sync(CUstream s)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	e = stream_check(s);
	pthread_mutex_unlock(&lk);
	if (!e)
		hostfn_run(0, 1, s);
	return e;
}

API CUresult fc_cuStreamSynchronize(CUstream s)
{
	return stream_sync(s);
}

API CUresult fc_cuStreamSynchronize_ptsz(CUstream s)
{
	return stream_sync(s);
}

/* ---- host functions on streams ----
 * Work "reaches" a host function after FAKECUDA_EVENT_DELAY later
 * allocation or free calls (the same knob that keeps events pending), or
 * at once on a synchronize.  They run outside the lock, as the real
 * driver runs them on a thread of its own. */
struct hostfn {
	struct hostfn *next;
	CUhostFn fn;
	void *arg;
	CUstream s;
	int pending;
};
static struct hostfn *hostfns;

/* run those due: all of them (sync), those of one stream, or tick */
static void hostfn_run(int all, int one, CUstream s)
{
	struct hostfn **pp, *h, *due = NULL;

	pthread_mutex_lock(&lk);
	for (pp = &hostfns; (h = *pp);) {
		if (all || (one && h->s == s) || (!one && --h->pending <= 0)) {
			*pp = h->next;
			h->next = due;
			due = h;
		} else {
			pp = &h->next;
		}
	}
	pthread_mutex_unlock(&lk);
	while ((h = due)) {
		due = h->next;
		h->fn(h->arg);
		free(h);
	}
}

static void progress(void)
{
	if (hostfns)
		hostfn_run(0, 0, NULL);
}

static CUresult launch_hostfn(CUstream s, CUhostFn fn, void *arg)
{
	struct hostfn *h;
	CUresult e;
	long d;

	pthread_mutex_lock(&lk);
	if (!(e = stream_check(s))) {
		if (!fn) {
			e = CUDA_ERROR_INVALID_VALUE;
		} else if (!(h = calloc(1, sizeof(*h)))) {
			e = CUDA_ERROR_OUT_OF_MEMORY;
		} else {
			d = fake_env_int("FAKECUDA_EVENT_DELAY", 0);
			h->fn = fn;
			h->arg = arg;
			h->s = s;
			h->pending = d > INT_MAX ? INT_MAX : (int)d;
			h->next = hostfns;
			hostfns = h;
		}
	}
	pthread_mutex_unlock(&lk);
	if (!e && !fake_env_int("FAKECUDA_EVENT_DELAY", 0))
		hostfn_run(0, 1, s);
	return e;
}

API CUresult fc_cuLaunchHostFunc(CUstream s, CUhostFn fn, void *arg)
{
	return launch_hostfn(s, fn, arg);
}

API CUresult fc_cuLaunchHostFunc_ptsz(CUstream s, CUhostFn fn, void *arg)
{
	return launch_hostfn(s, fn, arg);
}

static CUresult is_capturing(CUstream s, CUstreamCaptureStatus *st)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = stream_check(s)) && !st)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*st = sinfo_of(s)->capid ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
	pthread_mutex_unlock(&lk);
	return e;
}

/* the form libcuda still exports for CUDA 10.1-11.2 programs */
static CUresult capture_info(CUstream s, CUstreamCaptureStatus *st, cuuint64_t *id)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = stream_check(s)) && !st)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		unsigned long long c = sinfo_of(s)->capid;

		*st = c ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
		if (c && id)
			*id = c;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuStreamGetCaptureInfo(CUstream s, CUstreamCaptureStatus *st, cuuint64_t *id)
{
	return capture_info(s, st, id);
}

API CUresult fc_cuStreamGetCaptureInfo_ptsz(CUstream s, CUstreamCaptureStatus *st, cuuint64_t *id)
{
	return capture_info(s, st, id);
}

API CUresult fc_cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus *st)
{
	return is_capturing(s, st);
}

API CUresult fc_cuStreamIsCapturing_ptsz(CUstream s, CUstreamCaptureStatus *st)
{
	return is_capturing(s, st);
}

/* a capture begun through the API, as fakecuda_set_capturing (but not on
 * the legacy default stream); ending it, on the stream it began on,
 * checks that every stream that joined was joined back, and builds no
 * graph (*graph is NULL) */
static CUresult begin_capture(CUstream s, int ptsz, CUstreamCaptureMode mode)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !(e = stream_check(s)) && (unsigned)mode > CU_STREAM_CAPTURE_MODE_RELAXED)
		e = CUDA_ERROR_INVALID_VALUE;
	/* not the legacy default stream */
	if (!e && ((!s && !ptsz) || s == (CUstream)(uintptr_t)0x1))
		e = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	if (!e && sinfo_of(s)->capid)
		e = CUDA_ERROR_ILLEGAL_STATE;
	if (!e)
		capture_start(s);
	pthread_mutex_unlock(&lk);
	return e;
}

static CUresult end_capture(CUstream s, CUgraph *graph)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !(e = stream_check(s)) && !graph)
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && !sinfo_of(s)->capid)
		e = CUDA_ERROR_ILLEGAL_STATE;
	else if (!e && !sinfo_of(s)->begun)
		e = CUDA_ERROR_STREAM_CAPTURE_UNMATCHED; /* it only joined */
	pthread_mutex_unlock(&lk);
	if (!e) {
		*graph = NULL;
		e = (CUresult)fakecuda_end_capture(s);
	}
	return e;
}

API CUresult fc_cuStreamBeginCapture_v2(CUstream s, CUstreamCaptureMode mode)
{
	return begin_capture(s, 0, mode);
}

API CUresult fc_cuStreamBeginCapture_v2_ptsz(CUstream s, CUstreamCaptureMode mode)
{
	return begin_capture(s, 1, mode);
}

API CUresult fc_cuStreamEndCapture(CUstream s, CUgraph *graph)
{
	return end_capture(s, graph);
}

API CUresult fc_cuStreamEndCapture_ptsz(CUstream s, CUgraph *graph)
{
	return end_capture(s, graph);
}

API CUresult fc_cuEventCreate(CUevent *ev, unsigned int flags)
{
	struct CUevent_st *p = NULL;
	CUcontext c;
	CUresult e;

	pthread_mutex_lock(&lk);
	/* default, blocking sync, disable timing, interprocess */
	if (!(e = cur_ctx(&c)) && (!ev || (flags & ~0x7u)))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && (!(p = calloc(1, sizeof(*p))) || pset_add(&events, p) < 0)) {
		free(p);
		e = CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (!e) {
		p->ctx = c;
		p->flags = flags;
		*ev = p;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

static CUresult event_check(CUevent ev)
{
	if (!inited)
		return CUDA_ERROR_NOT_INITIALIZED;
	return pset_has(&events, ev) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* FAKECUDA_EVENT_DELAY lets a test see work "still in flight".  An
 * external record (for other processes' waits) is the same thing here. */
static CUresult event_record(CUevent ev, CUstream s, unsigned int flags)
{
	CUresult e;
	long d;

	pthread_mutex_lock(&lk);
	if (!(e = event_check(ev)) && !(e = stream_check(s)) && (flags & ~(unsigned int)CU_EVENT_RECORD_EXTERNAL))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		struct sinfo *si = sinfo_of(s);

		d = fake_env_int("FAKECUDA_EVENT_DELAY", 0);
		ev->pending = d > INT_MAX ? INT_MAX : (int)d;
		si->ops++;
		si->records++;
		ev->capid = si->capid;
		ev->on = s;
		ev->at = si->ops;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuEventRecord(CUevent ev, CUstream s)
{
	return event_record(ev, s, 0);
}

API CUresult fc_cuEventRecord_ptsz(CUevent ev, CUstream s)
{
	return event_record(ev, s, 0);
}

API CUresult fc_cuEventRecordWithFlags(CUevent ev, CUstream s, unsigned int flags)
{
	return event_record(ev, s, flags);
}

API CUresult fc_cuEventRecordWithFlags_ptsz(CUevent ev, CUstream s, unsigned int flags)
{
	return event_record(ev, s, flags);
}

/* Checked, then nothing: the work an event stands for is done by the
 * time its record returns; a pending one (FAKECUDA_EVENT_DELAY) stays
 * pending, as a GPU-side wait does not complete it. */
static CUresult stream_wait(CUstream s, CUevent ev, unsigned int flags)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = stream_check(s)) && !(e = event_check(ev)) && (flags & ~(unsigned int)CU_EVENT_WAIT_EXTERNAL))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		struct sinfo *si = sinfo_of(s);
		unsigned long long c = capid_active(ev->capid) ? ev->capid : 0;

		/* as the real driver: a capture waits only on its own events,
		 * or on any as an external wait; a stream that waits on one of
		 * a capture's events joins that capture */
		if (si->capid && c != si->capid && !(flags & CU_EVENT_WAIT_EXTERNAL))
			e = CUDA_ERROR_STREAM_CAPTURE_ISOLATION;
		else if (!si->capid && c)
			si->capid = c;
	}
	if (!e) {
		struct sinfo *si = sinfo_of(s), *from = ev->on && ev->on != s ? sinfo_of(ev->on) : NULL;

		si->ops++;
		si->waits[si->nwaits % 32].on = ev->on;
		si->waits[si->nwaits % 32].at = ev->at;
		si->waits[si->nwaits % 32].external = !!(flags & CU_EVENT_WAIT_EXTERNAL);
		si->nwaits++;
		if (from && from->joined < ev->at)
			from->joined = ev->at;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuStreamWaitEvent(CUstream s, CUevent ev, unsigned int flags)
{
	return stream_wait(s, ev, flags);
}

API CUresult fc_cuStreamWaitEvent_ptsz(CUstream s, CUevent ev, unsigned int flags)
{
	return stream_wait(s, ev, flags);
}

API CUresult fc_cuEventQuery(CUevent ev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = event_check(ev)) && ev->pending > 0) {
		ev->pending--;
		e = CUDA_ERROR_NOT_READY;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuEventSynchronize(CUevent ev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = event_check(ev)))
		ev->pending = 0;
	pthread_mutex_unlock(&lk);
	return e;
}

static CUresult event_destroy(CUevent ev)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = event_check(ev))) {
		pset_del(&events, ev);
		free(ev);
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuEventDestroy(CUevent ev)
{
	return event_destroy(ev);
}

API CUresult fc_cuEventDestroy_v2(CUevent ev)
{
	return event_destroy(ev);
}

/* ---- modules and kernels ----
 * Nothing is compiled: a module is PTX text of which only the .entry
 * names are read, and a kernel the double can run is a C function below,
 * picked by name.  "Device memory" being host memory, the bodies
 * dereference their pointer parameters directly; like a real kernel
 * they trust them (a bad one faults, as it would fault the GPU).  A
 * launch runs the body at once on the calling thread, after the checks
 * the real driver makes, so that a shim that rewrites launches is held
 * to the real rules. */

#define KPARAM_MAX 32           /* bytes of parameters of the widest kernel */
#define KWORDS (KPARAM_MAX / 8)

/* the 64-bit word at byte off of a parameter buffer */
static uint64_t karg(const unsigned char *a, size_t off)
{
	uint64_t v;

	memcpy(&v, a + off, sizeof(v));
	return v;
}

static void *kptr(const unsigned char *a, size_t off)
{
	return (void *)(uintptr_t)karg(a, off);
}

/* a little-endian 64-bit word, whatever the host's order */
static uint64_t le64(const unsigned char *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* out is a device pointer with no promise of alignment */
static void add64(void *out, uint64_t v)
{
	uint64_t w;

	memcpy(&w, out, sizeof(w));
	w += v;
	memcpy(out, &w, sizeof(w));
}

/* gb_sum(p, nbytes, out): *out += sum of w_i * (2i + 1), mod 2^64, over
 * the little-endian words w_i of [p, p+nbytes), the last one zero-padded.
 * The odd weights make the sum see where each word is, not only what. */
static void k_gb_sum(const unsigned char *a)
{
	const unsigned char *p = kptr(a, 0);
	uint64_t n = karg(a, 8), s = 0, i;
	unsigned char tail[8] = { 0 };

	for (i = 0; i < n / 8; i++)
		s += le64(p + 8 * i) * (2 * i + 1);
	if (n % 8) {
		memcpy(tail, p + 8 * i, n % 8);
		s += le64(tail) * (2 * i + 1);
	}
	add64(kptr(a, 16), s);
}

/* gb_writeback(src, dst, nbytes, sums): copy only if sums[0] != sums[1] */
static void k_gb_writeback(const unsigned char *a)
{
	const unsigned char *sums = kptr(a, 24);

	if (karg(sums, 0) != karg(sums, 8))
		memmove(kptr(a, 8), kptr(a, 0), karg(a, 16));
}

static uint64_t byte_sum(const unsigned char *p, uint64_t n)
{
	uint64_t s = 0, i;

	for (i = 0; i < n; i++)
		s += p[i];
	return s;
}

/* t_sum(p, nbytes, out): *out = sum of the bytes */
static void k_t_sum(const unsigned char *a)
{
	uint64_t s = byte_sum(kptr(a, 0), karg(a, 8));

	memcpy(kptr(a, 16), &s, sizeof(s));
}

/* t_fill(p, nbytes, u32 value): the low byte of value everywhere */
static void k_t_fill(const unsigned char *a)
{
	uint32_t v;

	memcpy(&v, a + 16, sizeof(v));
	memset(kptr(a, 0), (int)(v & 0xff), karg(a, 8));
}

/* t_copy(dst, src, nbytes) */
static void k_t_copy(const unsigned char *a)
{
	memmove(kptr(a, 0), kptr(a, 8), karg(a, 16));
}

/* t_struct({ p, nbytes, out, pad }): t_sum, its arguments in one
 * parameter, for callers that must not take it for three pointers */
static void k_t_struct(const unsigned char *a)
{
	k_t_sum(a);
}

struct kernel {
	const char *name;
	void (*run)(const unsigned char *args);
	size_t nparams;
	struct {
		size_t off, size;
	} p[4];                 /* natural layout, as nvcc would make it */
};

static const struct kernel kernels[] = {
	{ "gb_sum", k_gb_sum, 3, { { 0, 8 }, { 8, 8 }, { 16, 8 } } },
	{ "gb_writeback", k_gb_writeback, 4, { { 0, 8 }, { 8, 8 }, { 16, 8 }, { 24, 8 } } },
	{ "t_sum", k_t_sum, 3, { { 0, 8 }, { 8, 8 }, { 16, 8 } } },
	{ "t_fill", k_t_fill, 3, { { 0, 8 }, { 8, 8 }, { 16, 4 } } },
	{ "t_copy", k_t_copy, 3, { { 0, 8 }, { 8, 8 }, { 16, 8 } } },
	{ "t_struct", k_t_struct, 1, { { 0, 32 } } },
};
#define NKERNELS (sizeof(kernels) / sizeof(kernels[0]))

/* per kernel: launches, and the parameters of the last one */
static unsigned long long klaunches[NKERNELS];
static uint64_t klast[NKERNELS][KWORDS];

static int kernel_index(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NKERNELS; i++)
		if (strlen(kernels[i].name) == len && !memcmp(kernels[i].name, name, len))
			return (int)i;
	return -1;
}

/* a handle per kernel of the table, whether the module has it or not,
 * so that a module is one allocation and handles stay put */
struct CUfunc_st {
	CUmodule mod;
	const struct kernel *k; /* NULL: no .entry of that name in the module */
};

struct CUmod_st {
	CUcontext ctx;
	struct CUfunc_st fn[NKERNELS];
};

static struct pset modules;

/*
 * Every name after an ".entry" directive ("[.visible|.weak] .entry NAME(")
 * that is a kernel of the table gets its handle.  Other entries are
 * accepted, as their PTX would be, but cuModuleGetFunction cannot find
 * them: the double has nothing to run for them.
 */
static void ptx_entries(struct CUmod_st *m, const char *ptx)
{
	const char *s = ptx, *name;
	int k;

	while ((s = strstr(s, ".entry"))) {
		/* the directive itself, not ".entrypoint" or "x.entry" */
		if ((s != ptx && !isspace((unsigned char)s[-1])) || !isspace((unsigned char)s[6])) {
			s += 6;
			continue;
		}
		for (s += 6; isspace((unsigned char)*s); s++)
			;
		for (name = s; *s && *s != '(' && !isspace((unsigned char)*s); s++)
			;
		if ((k = kernel_index(name, (size_t)(s - name))) >= 0)
			m->fn[k].k = &kernels[k];
	}
}

/* The image must be NUL-terminated PTX; a cubin or fatbin would be read
 * as text and yield no kernels. */
API CUresult fc_cuModuleLoadData(CUmodule *mod, const void *image)
{
	struct CUmod_st *m = NULL;
	CUcontext c;
	CUresult e;
	size_t i;

	pthread_mutex_lock(&lk);
	if (!(e = cur_ctx(&c)) && (!mod || !image))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && (!(m = calloc(1, sizeof(*m))) || pset_add(&modules, m) < 0)) {
		free(m);
		e = CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (!e) {
		m->ctx = c;
		for (i = 0; i < NKERNELS; i++)
			m->fn[i].mod = m;
		ptx_entries(m, image);
		*mod = m;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuModuleUnload(CUmodule m)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !pset_has(&modules, m))
		e = CUDA_ERROR_INVALID_HANDLE;
	if (!e) {
		pset_del(&modules, m);
		free(m);
	}
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name)
{
	CUresult e;
	int k = -1;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && (!f || !name))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e && !pset_has(&modules, m))
		e = CUDA_ERROR_INVALID_HANDLE;
	if (!e && ((k = kernel_index(name, strlen(name))) < 0 || !m->fn[k].k))
		e = CUDA_ERROR_NOT_FOUND;
	if (!e)
		*f = &m->fn[k];
	pthread_mutex_unlock(&lk);
	return e;
}

/* the kernel of a handle of a loaded module; NULL for anything else,
 * stale handles of unloaded modules included */
static const struct kernel *func_kernel(CUfunction f)
{
	size_t i, j;

	for (i = 0; i < modules.n; i++) {
		struct CUmod_st *m = modules.v[i];

		for (j = 0; j < NKERNELS; j++)
			if (f == &m->fn[j])
				return f->k;
	}
	return NULL;
}

/* size may be NULL, as in the real driver */
API CUresult fc_cuFuncGetParamInfo(CUfunction f, size_t index, size_t *offset, size_t *size)
{
	const struct kernel *k = NULL;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !(k = func_kernel(f)))
		e = CUDA_ERROR_INVALID_HANDLE;
	if (!e && (!offset || index >= k->nparams))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		*offset = k->p[index].off;
		if (size)
			*size = k->p[index].size;
	}
	pthread_mutex_unlock(&lk);
	return e;
}

/*
 * The parameter buffer of a launch, from exactly one of kernelParams
 * (one pointer to each parameter's value) or extra (the buffer itself,
 * laid out as cuFuncGetParamInfo says, with its size, in a list of
 * key/value pairs closed by CU_LAUNCH_PARAM_END).  A buffer smaller
 * than the parameters is refused; bytes past them are not read.
 */
static CUresult kernel_args(const struct kernel *k, void **params, void **extra, unsigned char *buf)
{
	size_t need = k->p[k->nparams - 1].off + k->p[k->nparams - 1].size, i;
	const size_t *size = NULL;
	const void *src = NULL;

	if (!params == !extra)
		return CUDA_ERROR_INVALID_VALUE;
	if (params) {
		for (i = 0; i < k->nparams; i++) {
			if (!params[i])
				return CUDA_ERROR_INVALID_VALUE;
			memcpy(buf + k->p[i].off, params[i], k->p[i].size);
		}
		return CUDA_SUCCESS;
	}
	for (i = 0; extra[i] != (void *)(uintptr_t)CU_LAUNCH_PARAM_END_AS_INT; i += 2) {
		if (extra[i] == (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT)
			src = extra[i + 1];
		else if (extra[i] == (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT)
			size = extra[i + 1];
		else
			return CUDA_ERROR_INVALID_VALUE;
	}
	if (!src || !size || *size < need)
		return CUDA_ERROR_INVALID_VALUE;
	memcpy(buf, src, need);
	return CUDA_SUCCESS;
}

/* the limits of every GPU since compute capability 3.0; 48 KiB of
 * dynamic shared memory without the opt-in attribute */
#define MAX_BLOCK 1024
#define MAX_GRID_X 0x7fffffffU
#define MAX_GRID_YZ 65535U
#define MAX_SHARED (48U << 10)

/*
 * A launch on a capturing stream (fakecuda_set_capturing) runs as well:
 * the double has no graphs to record it into.  f must belong to the
 * current context, as a module's kernels do in the real driver.
 */
static CUresult launch(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
		       unsigned int by, unsigned int bz, unsigned int shared, CUstream s, void **params,
		       void **extra)
{
	uint64_t buf[KWORDS] = { 0 };
	const struct kernel *k = NULL;
	CUcontext c;
	CUresult e;
	size_t i;

	pthread_mutex_lock(&lk);
	if ((e = cur_ctx(&c)) || (e = stream_check(s)))
		goto out;
	if (!(k = func_kernel(f))) {
		e = CUDA_ERROR_INVALID_HANDLE;
		goto out;
	}
	if (f->mod->ctx != c) {
		e = CUDA_ERROR_INVALID_CONTEXT;
		goto out;
	}
	if (!gx || !gy || !gz || !bx || !by || !bz || gx > MAX_GRID_X || gy > MAX_GRID_YZ || gz > MAX_GRID_YZ ||
	    bx > MAX_BLOCK || by > MAX_BLOCK || bz > 64 || (unsigned long long)bx * by * bz > MAX_BLOCK ||
	    shared > MAX_SHARED) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	if ((e = kernel_args(k, params, extra, (unsigned char *)buf)))
		goto out;
	i = (size_t)(k - kernels);
	klaunches[i]++;
	memcpy(klast[i], buf, sizeof(buf));
	stream_op(s);
out:
	pthread_mutex_unlock(&lk);
	/* outside the lock, as copies are: it touches only the caller's memory */
	if (!e)
		k->run((const unsigned char *)buf);
	return e;
}

API CUresult fc_cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
			       unsigned int by, unsigned int bz, unsigned int shared, CUstream s, void **params,
			       void **extra)
{
	return launch(f, gx, gy, gz, bx, by, bz, shared, s, params, extra);
}

API CUresult fc_cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
				    unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared,
				    CUstream s, void **params, void **extra)
{
	return launch(f, gx, gy, gz, bx, by, bz, shared, s, params, extra);
}

/* the attributes (clusters, priorities, ...) change nothing here */
static CUresult launch_ex(const CUlaunchConfig *cfg, CUfunction f, void **params, void **extra)
{
	CUresult e;

	if (!cfg || (cfg->numAttrs && !cfg->attrs)) {
		/* still say "not initialised" before "bad argument" */
		pthread_mutex_lock(&lk);
		e = need_init();
		pthread_mutex_unlock(&lk);
		return e ? e : CUDA_ERROR_INVALID_VALUE;
	}
	return launch(f, cfg->gridDimX, cfg->gridDimY, cfg->gridDimZ, cfg->blockDimX, cfg->blockDimY,
		      cfg->blockDimZ, cfg->sharedMemBytes, cfg->hStream, params, extra);
}

API CUresult fc_cuLaunchKernelEx(const CUlaunchConfig *cfg, CUfunction f, void **params, void **extra)
{
	return launch_ex(cfg, f, params, extra);
}

API CUresult fc_cuLaunchKernelEx_ptsz(const CUlaunchConfig *cfg, CUfunction f, void **params, void **extra)
{
	return launch_ex(cfg, f, params, extra);
}

/* ---- virtual memory management ---- */

static int host_location(CUmemLocationType t)
{
	return t == CU_MEM_LOCATION_TYPE_HOST || t == CU_MEM_LOCATION_TYPE_HOST_NUMA ||
	       t == CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT;
}

/* a live (not released) handle */
static struct vmm *vmm_get(CUmemGenericAllocationHandle h)
{
	struct vmm *v;

	for (v = vmms; v; v = v->next)
		if ((uintptr_t)v == h)
			return v->released ? NULL : v;
	return NULL;
}

/* released and unmapped: the memory goes */
static void vmm_reap(struct vmm *v)
{
	struct vmm **pp;

	if (!v->released || v->maps)
		return;
	if (host_location(v->prop.location.type))
		host_vmm -= v->size;
	else
		used[v->prop.location.id] -= v->size;
	close(v->fd);
	for (pp = &vmms; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	free(v);
}

API CUresult fc_cuMemGetAllocationGranularity(size_t *gran, const CUmemAllocationProp *prop,
					      CUmemAllocationGranularity_flags flags)
{
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && (!gran || !prop || (flags != CU_MEM_ALLOC_GRANULARITY_MINIMUM &&
						       flags != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED)))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*gran = GRAN;
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemCreate(CUmemGenericAllocationHandle *h, size_t size, const CUmemAllocationProp *prop,
			    unsigned long long flags)
{
	struct vmm *v = NULL;
	int host, dev = -1;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = need_init()))
		goto out;
	if (!h || !prop || flags || !size || size % GRAN || prop->type != CU_MEM_ALLOCATION_TYPE_PINNED) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	host = host_location(prop->location.type);
	if (host) {
		if (fake_env_flag("FAKECUDA_NO_HOST_NUMA_VMM")) {
			e = CUDA_ERROR_NOT_SUPPORTED;
			goto out;
		}
	} else if (prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE) {
		dev = prop->location.id;
		if ((e = dev_check(dev)))
			goto out;
		if (size > vram - used[dev]) {
			e = CUDA_ERROR_OUT_OF_MEMORY;
			goto out;
		}
	} else {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (!(v = calloc(1, sizeof(*v)))) {
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	v->fd = memfd_create("fakecuda-vmm", MFD_CLOEXEC);
	if (v->fd < 0 || ftruncate(v->fd, (off_t)size) < 0) {
		if (v->fd >= 0)
			close(v->fd);
		free(v);
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	v->prop = *prop;
	v->size = size;
	v->next = vmms;
	vmms = v;
	if (host)
		host_vmm += size;
	else
		used[dev] += size;
	*h = (CUmemGenericAllocationHandle)(uintptr_t)v;
out:
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemRelease(CUmemGenericAllocationHandle h)
{
	struct vmm *v;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && !(v = vmm_get(h)))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e) {
		v->released = 1;
		vmm_reap(v);
	}
	pthread_mutex_unlock(&lk);
	return e;
}

/* an inaccessible, unbacked range, aligned to align */
static void *va_reserve(size_t size, size_t align, uintptr_t hint)
{
	int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	char *p, *q;
	size_t lead;

	if (hint && hint % align == 0) {
		p = mmap((void *)hint, size, PROT_NONE, fl, -1, 0);
		if (p == (void *)hint)
			return p;
		if (p != MAP_FAILED)
			munmap(p, size);
	}
	if (size > SIZE_MAX - align)
		return NULL;
	p = mmap(NULL, size + align, PROT_NONE, fl, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	q = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	lead = (size_t)(q - p);
	if (lead)
		munmap(p, lead);
	if (align - lead)
		munmap(q + size, align - lead);
	return q;
}

API CUresult fc_cuMemAddressReserve(CUdeviceptr *p, size_t size, size_t align, CUdeviceptr addr,
				    unsigned long long flags)
{
	struct rec r = { .kind = K_VA, .dev = -1 };
	void *q;
	CUresult e;

	if (!align)
		align = GRAN;
	pthread_mutex_lock(&lk);
	if ((e = need_init()))
		goto out;
	if (!p || flags || !size || size % GRAN || align % GRAN || (align & (align - 1))) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (!(q = va_reserve(size, align, addr))) {
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	r.base = (uintptr_t)q;
	r.size = size;
	if (rec_add(&r) < 0) {
		munmap(q, size);
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	*p = (CUdeviceptr)(uintptr_t)q;
out:
	pthread_mutex_unlock(&lk);
	return e;
}

/* the whole reservation, which must be unmapped first */
API CUresult fc_cuMemAddressFree(CUdeviceptr p, size_t size)
{
	struct rec *r;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = need_init()))
		goto out;
	r = rec_base(p, M_VA);
	if (!r || r->size != size || rec_overlaps(p, size, M_MAP)) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	munmap((void *)r->base, r->size);
	rec_del(r);
out:
	pthread_mutex_unlock(&lk);
	return e;
}

/* Mapped inaccessible, as the real driver does: cuMemSetAccess opens it. */
API CUresult fc_cuMemMap(CUdeviceptr p, size_t size, size_t off, CUmemGenericAllocationHandle h,
			 unsigned long long flags)
{
	struct rec r = { .kind = K_MAP }, *va;
	struct vmm *v;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = need_init()))
		goto out;
	v = vmm_get(h);
	va = rec_at(p, M_VA);
	if (!v || flags || !size || size % GRAN || off % GRAN || off > v->size || size > v->size - off ||
	    p % GRAN || !va || size > va->base + va->size - p || rec_overlaps(p, size, M_MAP)) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	if (mmap((void *)p, size, PROT_NONE, MAP_SHARED | MAP_FIXED, v->fd, (off_t)off) == MAP_FAILED) {
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	r.base = p;
	r.size = size;
	r.dev = host_location(v->prop.location.type) ? -1 : v->prop.location.id;
	r.prot = PROT_NONE;
	r.vmm = v;
	if (rec_add(&r) < 0) {
		mmap((void *)p, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
		e = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	v->maps++;
out:
	pthread_mutex_unlock(&lk);
	return e;
}

/* Whole mappings only; the addresses stay reserved. */
API CUresult fc_cuMemUnmap(CUdeviceptr p, size_t size)
{
	struct rec *r;
	struct vmm *v;
	size_t i;
	int n = 0;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = need_init()))
		goto out;
	if (!size || wraps(p, size)) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < nrec; i++) {
		r = &recs[i];
		if (r->kind != K_MAP || r->base + r->size <= p || r->base >= p + size)
			continue;
		if (r->base < p || r->base + r->size > p + size) {
			e = CUDA_ERROR_INVALID_VALUE;
			goto out;
		}
		n++;
	}
	if (!n) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < nrec;) {
		r = &recs[i];
		if (r->kind != K_MAP || r->base < p || r->base >= p + size) {
			i++;
			continue;
		}
		mmap((void *)r->base, r->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		     -1, 0);
		v = r->vmm;
		rec_del(r);
		v->maps--;
		vmm_reap(v);
	}
out:
	pthread_mutex_unlock(&lk);
	return e;
}

/* The double has one address space, so the widest access any of the
 * descriptors grants is what the range gets. */
API CUresult fc_cuMemSetAccess(CUdeviceptr p, size_t size, const CUmemAccessDesc *desc, size_t n)
{
	uintptr_t a;
	size_t i, left;
	int prot = PROT_NONE;
	CUresult e;

	pthread_mutex_lock(&lk);
	if ((e = need_init()))
		goto out;
	if (!desc || !n || !size || wraps(p, size)) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < n; i++) {
		CUmemLocationType t = desc[i].location.type;

		if (t == CU_MEM_LOCATION_TYPE_DEVICE) {
			if ((e = dev_check(desc[i].location.id)))
				goto out;
		} else if (!host_location(t)) {
			e = CUDA_ERROR_INVALID_VALUE;
			goto out;
		}
		switch (desc[i].flags) {
		case CU_MEM_ACCESS_FLAGS_PROT_NONE:
			break;
		case CU_MEM_ACCESS_FLAGS_PROT_READ:
			prot |= PROT_READ;
			break;
		case CU_MEM_ACCESS_FLAGS_PROT_READWRITE:
			prot |= PROT_READ | PROT_WRITE;
			break;
		default:
			e = CUDA_ERROR_INVALID_VALUE;
			goto out;
		}
	}
	/* every byte must be mapped */
	for (a = p, left = size; left;) {
		struct rec *r = rec_at(a, M_MAP);
		size_t take;

		if (!r) {
			e = CUDA_ERROR_INVALID_VALUE;
			goto out;
		}
		take = r->base + r->size - a;
		a += take < left ? take : left;
		left -= take < left ? take : left;
	}
	if (mprotect((void *)p, size, prot) < 0) {
		e = CUDA_ERROR_INVALID_VALUE;
		goto out;
	}
	for (a = p, left = size; left;) {
		struct rec *r = rec_at(a, M_MAP);
		size_t take = r->base + r->size - a;

		r->prot = prot;
		a += take < left ? take : left;
		left -= take < left ? take : left;
	}
out:
	pthread_mutex_unlock(&lk);
	return e;
}

API CUresult fc_cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp *prop, CUmemGenericAllocationHandle h)
{
	struct vmm *v;
	CUresult e;

	pthread_mutex_lock(&lk);
	if (!(e = need_init()) && (!prop || !(v = vmm_get(h))))
		e = CUDA_ERROR_INVALID_VALUE;
	if (!e)
		*prop = v->prop;
	pthread_mutex_unlock(&lk);
	return e;
}

/* ---- errors ---- */

static const struct {
	CUresult e;
	const char *name, *str;
} errs[] = {
	{ CUDA_SUCCESS, "CUDA_SUCCESS", "no error" },
	{ CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument" },
	{ CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory" },
	{ CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error" },
	{ CUDA_ERROR_STUB_LIBRARY, "CUDA_ERROR_STUB_LIBRARY", "CUDA driver is a stub library" },
	{ CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected" },
	{ CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal" },
	{ CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context" },
	{ CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle" },
	{ CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found" },
	{ CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready" },
	{ CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED",
	  "part or all of the requested memory range is already mapped" },
	{ CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED, "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED",
	  "pointer does not correspond to a registered memory region" },
	{ CUDA_ERROR_NOT_PERMITTED, "CUDA_ERROR_NOT_PERMITTED", "operation not permitted" },
	{ CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported" },
	{ CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error" },
};

/* unknown codes: INVALID_VALUE and NULL, as the real driver answers */
static CUresult err_text(CUresult e, const char **s, int name)
{
	size_t i;

	if (!s)
		return CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].e == e) {
			*s = name ? errs[i].name : errs[i].str;
			return CUDA_SUCCESS;
		}
	*s = NULL;
	return CUDA_ERROR_INVALID_VALUE;
}

API CUresult fc_cuGetErrorString(CUresult e, const char **s)
{
	return err_text(e, s, 0);
}

API CUresult fc_cuGetErrorName(CUresult e, const char **s)
{
	return err_text(e, s, 1);
}

/* ---- the export table ---- */

/* every exported entry point: name, parameters, arguments */
#define FC_FUNCS(X) \
	X(cuInit, (unsigned int flags), (flags)) \
	X(cuDriverGetVersion, (int *v), (v)) \
	X(cuDeviceGet, (CUdevice *d, int o), (d, o)) \
	X(cuDeviceGetCount, (int *n), (n)) \
	X(cuDeviceGetName, (char *s, int n, CUdevice d), (s, n, d)) \
	X(cuDeviceGetPCIBusId, (char *s, int n, CUdevice d), (s, n, d)) \
	X(cuDeviceTotalMem, (unsigned int *b, CUdevice d), (b, d)) \
	X(cuDeviceTotalMem_v2, (size_t *b, CUdevice d), (b, d)) \
	X(cuDeviceGetAttribute, (int *v, CUdevice_attribute a, CUdevice d), (v, a, d)) \
	X(cuDevicePrimaryCtxRetain, (CUcontext *c, CUdevice d), (c, d)) \
	X(cuDevicePrimaryCtxRelease, (CUdevice d), (d)) \
	X(cuDevicePrimaryCtxRelease_v2, (CUdevice d), (d)) \
	X(cuDevicePrimaryCtxGetState, (CUdevice d, unsigned int *f, int *a), (d, f, a)) \
	X(cuDevicePrimaryCtxReset_v2, (CUdevice d), (d)) \
	X(cuCtxCreate, (CUcontext *c, unsigned int f, CUdevice d), (c, f, d)) \
	X(cuCtxCreate_v2, (CUcontext *c, unsigned int f, CUdevice d), (c, f, d)) \
	X(cuCtxDestroy, (CUcontext c), (c)) \
	X(cuCtxDestroy_v2, (CUcontext c), (c)) \
	X(cuCtxSetCurrent, (CUcontext c), (c)) \
	X(cuCtxGetCurrent, (CUcontext *c), (c)) \
	X(cuCtxGetDevice, (CUdevice *d), (d)) \
	X(cuCtxPushCurrent, (CUcontext c), (c)) \
	X(cuCtxPushCurrent_v2, (CUcontext c), (c)) \
	X(cuCtxPopCurrent, (CUcontext *c), (c)) \
	X(cuCtxPopCurrent_v2, (CUcontext *c), (c)) \
	X(cuCtxSynchronize, (void), ()) \
	X(cuMemAlloc, (CUdeviceptr_v1 *p, unsigned int n), (p, n)) \
	X(cuMemAlloc_v2, (CUdeviceptr *p, size_t n), (p, n)) \
	X(cuMemAllocPitch, (CUdeviceptr_v1 *p, unsigned int *pt, unsigned int w, unsigned int h, unsigned int el), \
	  (p, pt, w, h, el)) \
	X(cuMemAllocPitch_v2, (CUdeviceptr *p, size_t *pt, size_t w, size_t h, unsigned int el), (p, pt, w, h, el)) \
	X(cuMemAllocAsync, (CUdeviceptr *p, size_t n, CUstream s), (p, n, s)) \
	X(cuMemAllocAsync_ptsz, (CUdeviceptr *p, size_t n, CUstream s), (p, n, s)) \
	X(cuMemAllocFromPoolAsync, (CUdeviceptr *p, size_t n, CUmemoryPool m, CUstream s), (p, n, m, s)) \
	X(cuMemAllocFromPoolAsync_ptsz, (CUdeviceptr *p, size_t n, CUmemoryPool m, CUstream s), (p, n, m, s)) \
	X(cuMemFree, (CUdeviceptr_v1 p), (p)) \
	X(cuMemFree_v2, (CUdeviceptr p), (p)) \
	X(cuMemFreeAsync, (CUdeviceptr p, CUstream s), (p, s)) \
	X(cuMemFreeAsync_ptsz, (CUdeviceptr p, CUstream s), (p, s)) \
	X(cuMemGetInfo, (unsigned int *f, unsigned int *t), (f, t)) \
	X(cuMemGetInfo_v2, (size_t *f, size_t *t), (f, t)) \
	X(cuMemcpy, (CUdeviceptr d, CUdeviceptr s, size_t n), (d, s, n)) \
	X(cuMemcpyHtoD, (CUdeviceptr_v1 d, const void *s, unsigned int n), (d, s, n)) \
	X(cuMemcpyHtoD_v2, (CUdeviceptr d, const void *s, size_t n), (d, s, n)) \
	X(cuMemcpyDtoH, (void *d, CUdeviceptr_v1 s, unsigned int n), (d, s, n)) \
	X(cuMemcpyDtoH_v2, (void *d, CUdeviceptr s, size_t n), (d, s, n)) \
	X(cuMemcpyDtoD, (CUdeviceptr_v1 d, CUdeviceptr_v1 s, unsigned int n), (d, s, n)) \
	X(cuMemcpyDtoD_v2, (CUdeviceptr d, CUdeviceptr s, size_t n), (d, s, n)) \
	X(cuMemsetD8, (CUdeviceptr_v1 d, unsigned char v, unsigned int n), (d, v, n)) \
	X(cuMemsetD8_v2, (CUdeviceptr d, unsigned char v, size_t n), (d, v, n)) \
	X(cuMemsetD32, (CUdeviceptr_v1 d, unsigned int v, unsigned int n), (d, v, n)) \
	X(cuMemsetD32_v2, (CUdeviceptr d, unsigned int v, size_t n), (d, v, n)) \
	X(cuMemcpyAsync, (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st)) \
	X(cuMemcpyAsync_ptsz, (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st)) \
	X(cuMemcpyHtoDAsync, (CUdeviceptr_v1 d, const void *s, unsigned int n, CUstream st), (d, s, n, st)) \
	X(cuMemcpyHtoDAsync_v2, (CUdeviceptr d, const void *s, size_t n, CUstream st), (d, s, n, st)) \
	X(cuMemcpyHtoDAsync_v2_ptsz, (CUdeviceptr d, const void *s, size_t n, CUstream st), (d, s, n, st)) \
	X(cuMemcpyDtoHAsync, (void *d, CUdeviceptr_v1 s, unsigned int n, CUstream st), (d, s, n, st)) \
	X(cuMemcpyDtoHAsync_v2, (void *d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st)) \
	X(cuMemcpyDtoHAsync_v2_ptsz, (void *d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st)) \
	X(cuMemsetD8Async, (CUdeviceptr d, unsigned char v, size_t n, CUstream st), (d, v, n, st)) \
	X(cuMemsetD8Async_ptsz, (CUdeviceptr d, unsigned char v, size_t n, CUstream st), (d, v, n, st)) \
	X(cuMemsetD32Async, (CUdeviceptr d, unsigned int v, size_t n, CUstream st), (d, v, n, st)) \
	X(cuMemsetD32Async_ptsz, (CUdeviceptr d, unsigned int v, size_t n, CUstream st), (d, v, n, st)) \
	X(cuMemHostRegister, (void *p, size_t n, unsigned int f), (p, n, f)) \
	X(cuMemHostRegister_v2, (void *p, size_t n, unsigned int f), (p, n, f)) \
	X(cuMemHostUnregister, (void *p), (p)) \
	X(cuMemHostGetDevicePointer, (CUdeviceptr_v1 *d, void *p, unsigned int f), (d, p, f)) \
	X(cuMemHostGetDevicePointer_v2, (CUdeviceptr *d, void *p, unsigned int f), (d, p, f)) \
	X(cuPointerGetAttribute, (void *v, CUpointer_attribute a, CUdeviceptr p), (v, a, p)) \
	X(cuPointerGetAttributes, (unsigned int n, CUpointer_attribute *a, void **v, CUdeviceptr p), (n, a, v, p)) \
	X(cuMemGetAddressRange, (CUdeviceptr_v1 *b, unsigned int *n, CUdeviceptr_v1 p), (b, n, p)) \
	X(cuMemGetAddressRange_v2, (CUdeviceptr *b, size_t *n, CUdeviceptr p), (b, n, p)) \
	X(cuIpcGetMemHandle, (CUipcMemHandle *h, CUdeviceptr p), (h, p)) \
	X(cuStreamCreate, (CUstream *s, unsigned int f), (s, f)) \
	X(cuStreamDestroy, (CUstream s), (s)) \
	X(cuStreamDestroy_v2, (CUstream s), (s)) \
	X(cuStreamSynchronize, (CUstream s), (s)) \
	X(cuStreamSynchronize_ptsz, (CUstream s), (s)) \
	X(cuLaunchHostFunc, (CUstream s, CUhostFn f, void *a), (s, f, a)) \
	X(cuStreamGetCtx, (CUstream s, CUcontext *c), (s, c)) \
	X(cuStreamGetCtx_ptsz, (CUstream s, CUcontext *c), (s, c)) \
	X(cuLaunchHostFunc_ptsz, (CUstream s, CUhostFn f, void *a), (s, f, a)) \
	X(cuStreamIsCapturing, (CUstream s, CUstreamCaptureStatus *c), (s, c)) \
	X(cuStreamIsCapturing_ptsz, (CUstream s, CUstreamCaptureStatus *c), (s, c)) \
	X(cuStreamGetCaptureInfo, (CUstream s, CUstreamCaptureStatus *c, cuuint64_t *i), (s, c, i)) \
	X(cuStreamGetCaptureInfo_ptsz, (CUstream s, CUstreamCaptureStatus *c, cuuint64_t *i), (s, c, i)) \
	X(cuStreamBeginCapture_v2, (CUstream s, CUstreamCaptureMode m), (s, m)) \
	X(cuStreamBeginCapture_v2_ptsz, (CUstream s, CUstreamCaptureMode m), (s, m)) \
	X(cuStreamEndCapture, (CUstream s, CUgraph *g), (s, g)) \
	X(cuStreamEndCapture_ptsz, (CUstream s, CUgraph *g), (s, g)) \
	X(cuEventCreate, (CUevent *e, unsigned int f), (e, f)) \
	X(cuEventRecord, (CUevent e, CUstream s), (e, s)) \
	X(cuEventRecord_ptsz, (CUevent e, CUstream s), (e, s)) \
	X(cuEventRecordWithFlags, (CUevent e, CUstream s, unsigned int f), (e, s, f)) \
	X(cuEventRecordWithFlags_ptsz, (CUevent e, CUstream s, unsigned int f), (e, s, f)) \
	X(cuStreamWaitEvent, (CUstream s, CUevent e, unsigned int f), (s, e, f)) \
	X(cuStreamWaitEvent_ptsz, (CUstream s, CUevent e, unsigned int f), (s, e, f)) \
	X(cuEventQuery, (CUevent e), (e)) \
	X(cuEventSynchronize, (CUevent e), (e)) \
	X(cuEventDestroy, (CUevent e), (e)) \
	X(cuEventDestroy_v2, (CUevent e), (e)) \
	X(cuModuleLoadData, (CUmodule *m, const void *i), (m, i)) \
	X(cuModuleUnload, (CUmodule m), (m)) \
	X(cuModuleGetFunction, (CUfunction *f, CUmodule m, const char *n), (f, m, n)) \
	X(cuFuncGetParamInfo, (CUfunction f, size_t i, size_t *o, size_t *n), (f, i, o, n)) \
	X(cuLaunchKernel, (CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, \
			   unsigned int by, unsigned int bz, unsigned int sh, CUstream s, void **p, void **x), \
	  (f, gx, gy, gz, bx, by, bz, sh, s, p, x)) \
	X(cuLaunchKernel_ptsz, (CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, \
				unsigned int by, unsigned int bz, unsigned int sh, CUstream s, void **p, void **x), \
	  (f, gx, gy, gz, bx, by, bz, sh, s, p, x)) \
	X(cuLaunchKernelEx, (const CUlaunchConfig *c, CUfunction f, void **p, void **x), (c, f, p, x)) \
	X(cuLaunchKernelEx_ptsz, (const CUlaunchConfig *c, CUfunction f, void **p, void **x), (c, f, p, x)) \
	X(cuMemGetAllocationGranularity, (size_t *g, const CUmemAllocationProp *p, \
					  CUmemAllocationGranularity_flags f), (g, p, f)) \
	X(cuMemCreate, (CUmemGenericAllocationHandle *h, size_t n, const CUmemAllocationProp *p, \
			unsigned long long f), (h, n, p, f)) \
	X(cuMemRelease, (CUmemGenericAllocationHandle h), (h)) \
	X(cuMemAddressReserve, (CUdeviceptr *p, size_t n, size_t al, CUdeviceptr a, unsigned long long f), \
	  (p, n, al, a, f)) \
	X(cuMemAddressFree, (CUdeviceptr p, size_t n), (p, n)) \
	X(cuMemMap, (CUdeviceptr p, size_t n, size_t o, CUmemGenericAllocationHandle h, unsigned long long f), \
	  (p, n, o, h, f)) \
	X(cuMemUnmap, (CUdeviceptr p, size_t n), (p, n)) \
	X(cuMemSetAccess, (CUdeviceptr p, size_t n, const CUmemAccessDesc *d, size_t c), (p, n, d, c)) \
	X(cuMemGetAllocationPropertiesFromHandle, (CUmemAllocationProp *p, CUmemGenericAllocationHandle h), \
	  (p, h)) \
	X(cuGetErrorString, (CUresult e, const char **s), (e, s)) \
	X(cuGetErrorName, (CUresult e, const char **s), (e, s)) \
	X(cuGetProcAddress, (const char *s, void **f, int v, cuuint64_t fl), (s, f, v, fl)) \
	X(cuGetProcAddress_v2, (const char *s, void **f, int v, cuuint64_t fl, \
				CUdriverProcAddressQueryResult *st), (s, f, v, fl, st))

API CUresult fc_cuGetProcAddress(const char *sym, void **pfn, int ver, cuuint64_t flags);
API CUresult fc_cuGetProcAddress_v2(const char *sym, void **pfn, int ver, cuuint64_t flags,
				    CUdriverProcAddressQueryResult *st);

/* Thunks: what cuGetProcAddress hands out under FAKECUDA_GPA_THUNKS=1,
 * the way a driver may hand out internal entry points that are not its
 * exported symbols.  noipa keeps each a function of its own. */
#define FC_THUNK(name, params, args) \
	static __attribute__((noipa)) CUresult th_##name params { return fc_##name args; }
FC_FUNCS(FC_THUNK)
#undef FC_THUNK

static const struct export {
	const char *name;
	void *fn, *thunk;
} exports[] = {
#define FC_ENTRY(name, params, args) { #name, (void *)fc_##name, (void *)th_##name },
	FC_FUNCS(FC_ENTRY)
#undef FC_ENTRY
};

/* the first CUDA version whose cuGetProcAddress(base) gives base_v2 */
static const struct {
	const char *base;
	int v2_from;
} v2_rules[] = {
	{ "cuDeviceTotalMem", 3020 },
	{ "cuCtxCreate", 3020 },
	{ "cuMemAlloc", 3020 },
	{ "cuMemAllocPitch", 3020 },
	{ "cuMemFree", 3020 },
	{ "cuMemGetInfo", 3020 },
	{ "cuMemGetAddressRange", 3020 },
	{ "cuMemHostGetDevicePointer", 3020 },
	{ "cuMemcpyHtoD", 3020 },
	{ "cuMemcpyDtoH", 3020 },
	{ "cuMemcpyDtoD", 3020 },
	{ "cuMemsetD8", 3020 },
	{ "cuMemsetD32", 3020 },
	{ "cuMemcpyHtoDAsync", 3020 },
	{ "cuMemcpyDtoHAsync", 3020 },
	/* cuda.h switched these at API version 4000, not 3020 */
	{ "cuCtxDestroy", 4000 },
	{ "cuCtxPushCurrent", 4000 },
	{ "cuCtxPopCurrent", 4000 },
	{ "cuStreamDestroy", 4000 },
	{ "cuEventDestroy", 4000 },
	{ "cuMemHostRegister", 6050 },
	{ "cuDevicePrimaryCtxRelease", 11000 },
	{ "cuDevicePrimaryCtxReset", 11000 },
	{ "cuGetProcAddress", 12000 },
	{ "cuStreamBeginCapture", 10010 },
};

/* bases with a per-thread-default-stream (_ptsz) variant */
static const char *const ptsz_bases[] = {
	"cuMemAllocAsync", "cuMemAllocFromPoolAsync", "cuMemFreeAsync",
	"cuStreamSynchronize", "cuStreamIsCapturing", "cuEventRecord", "cuLaunchHostFunc",
	"cuStreamGetCtx", "cuLaunchKernel", "cuLaunchKernelEx", "cuMemcpyAsync", "cuMemcpyHtoDAsync",
	"cuMemcpyDtoHAsync", "cuMemsetD8Async", "cuMemsetD32Async", "cuEventRecordWithFlags",
	"cuStreamWaitEvent", "cuStreamBeginCapture", "cuStreamEndCapture",
};

static const struct export *export_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(exports) / sizeof(exports[0]); i++)
		if (!strcmp(exports[i].name, name))
			return &exports[i];
	return NULL;
}

/* No cuInit needed: cudart finds cuInit itself this way. */
static CUresult gpa(const char *sym, void **pfn, int ver, cuuint64_t flags, CUdriverProcAddressQueryResult *st)
{
	const struct export *x, *y;
	const char *v2 = "";
	char name[128];
	size_t i;

	atomic_fetch_add(&gpa_calls, 1);
	if (st)
		*st = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	if (!sym || !pfn || (flags & ~(cuuint64_t)(CU_GET_PROC_ADDRESS_LEGACY_STREAM |
						   CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)))
		return CUDA_ERROR_INVALID_VALUE;
	*pfn = NULL;
	for (i = 0; i < sizeof(v2_rules) / sizeof(v2_rules[0]); i++)
		if (!strcmp(v2_rules[i].base, sym) && ver >= v2_rules[i].v2_from)
			v2 = "_v2";
	if ((size_t)snprintf(name, sizeof(name), "%s%s", sym, v2) >= sizeof(name) || !(x = export_find(name)))
		return CUDA_ERROR_NOT_FOUND;
	/* _ptsz goes after _v2 (cuMemcpyHtoDAsync_v2_ptsz); the pre-3.2
	 * entry points have none, so they are what the flag gets there */
	if (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)
		for (i = 0; i < sizeof(ptsz_bases) / sizeof(ptsz_bases[0]); i++)
			if (!strcmp(ptsz_bases[i], sym)) {
				if (strlen(name) + 5 < sizeof(name) && (y = export_find(strcat(name, "_ptsz"))))
					x = y;
				break;
			}
	*pfn = fake_env_flag("FAKECUDA_GPA_THUNKS") ? x->thunk : x->fn;
	if (st)
		*st = CU_GET_PROC_ADDRESS_SUCCESS;
	return CUDA_SUCCESS;
}

API CUresult fc_cuGetProcAddress(const char *sym, void **pfn, int ver, cuuint64_t flags)
{
	return gpa(sym, pfn, ver, flags, NULL);
}

API CUresult fc_cuGetProcAddress_v2(const char *sym, void **pfn, int ver, cuuint64_t flags,
				    CUdriverProcAddressQueryResult *st)
{
	return gpa(sym, pfn, ver, flags, st);
}

/* export fc_NAME as NAME */
#define FC_EXPORT(name, params, args) \
	extern CUresult name params __attribute__((alias("fc_" #name), visibility("default")));
FC_FUNCS(FC_EXPORT)
#undef FC_EXPORT

/* ---- for tests ---- */

/* exported even where the build hides symbols by default */
#define TEST_API __attribute__((visibility("default")))

TEST_API unsigned long long fakecuda_vram_used(int dev)
{
	unsigned long long n = 0;

	pthread_mutex_lock(&lk);
	if (dev >= 0 && dev < MAXDEV)
		n = used[dev];
	pthread_mutex_unlock(&lk);
	return n;
}

TEST_API int fakecuda_live_allocs(void)
{
	int n;

	pthread_mutex_lock(&lk);
	n = rec_count(M_DEV, NULL);
	pthread_mutex_unlock(&lk);
	return n;
}

TEST_API int fakecuda_vmm_handles(void)
{
	struct vmm *v;
	int n = 0;

	pthread_mutex_lock(&lk);
	for (v = vmms; v; v = v->next)
		n++;
	pthread_mutex_unlock(&lk);
	return n;
}

TEST_API int fakecuda_registered_ranges(void)
{
	int n;

	pthread_mutex_lock(&lk);
	n = rec_count(M_HOST, NULL);
	pthread_mutex_unlock(&lk);
	return n;
}

TEST_API unsigned long long fakecuda_registered_bytes(void)
{
	unsigned long long b = 0;

	pthread_mutex_lock(&lk);
	rec_count(M_HOST, &b);
	pthread_mutex_unlock(&lk);
	return b;
}

TEST_API unsigned long long fakecuda_host_vmm_bytes(void)
{
	unsigned long long b;

	pthread_mutex_lock(&lk);
	b = host_vmm;
	pthread_mutex_unlock(&lk);
	return b;
}

TEST_API int fakecuda_is_registered(const void *p)
{
	int r;

	pthread_mutex_lock(&lk);
	r = rec_at((uintptr_t)p, M_HOST) != NULL;
	pthread_mutex_unlock(&lk);
	return r;
}

TEST_API void fakecuda_set_capturing(void *stream, int on)
{
	fakecuda_end_capture(stream);
	pthread_mutex_lock(&lk);
	if (on)
		capture_start(stream);
	pthread_mutex_unlock(&lk);
}

TEST_API int fakecuda_end_capture(void *stream)
{
	unsigned long long c;
	int i, r = 0;

	pthread_mutex_lock(&lk);
	c = sinfo_of(stream)->capid;
	for (i = 0; c && i < nsinfo; i++)
		if (sinfo[i].capid == c) {
			if (sinfo[i].h != stream && sinfo[i].ops > sinfo[i].joined)
				r = CUDA_ERROR_STREAM_CAPTURE_UNJOINED;
			sinfo[i].capid = 0;
			sinfo[i].begun = 0;
		}
	pthread_mutex_unlock(&lk);
	return r;
}

TEST_API unsigned long long fakecuda_stream_ops(void *stream)
{
	unsigned long long r;

	pthread_mutex_lock(&lk);
	r = sinfo_of(stream)->ops;
	pthread_mutex_unlock(&lk);
	return r;
}

TEST_API unsigned long long fakecuda_max_wait_at(void *stream, void *on)
{
	unsigned long long r = 0;
	struct sinfo *si;
	unsigned i;

	pthread_mutex_lock(&lk);
	si = sinfo_of(stream);
	for (i = 0; i < 32 && i < si->nwaits; i++)
		if (si->waits[i].on == on && !si->waits[i].external && si->waits[i].at > r)
			r = si->waits[i].at;
	pthread_mutex_unlock(&lk);
	return r;
}

TEST_API unsigned long long fakecuda_event_records(void *stream)
{
	unsigned long long r;

	pthread_mutex_lock(&lk);
	r = sinfo_of(stream)->records;
	pthread_mutex_unlock(&lk);
	return r;
}

TEST_API void *fakecuda_last_copy_stream(void)
{
	void *r;

	pthread_mutex_lock(&lk);
	r = (void *)(uintptr_t)last_copy_stream;
	pthread_mutex_unlock(&lk);
	return r;
}

TEST_API int fakecuda_gpa_calls(void)
{
	return atomic_load(&gpa_calls);
}

/* the table's index of a kernel; -1 for others and NULL */
static int kernel_named(const char *name)
{
	return name ? kernel_index(name, strlen(name)) : -1;
}

TEST_API unsigned long long fakecuda_kernel_launches(const char *name)
{
	unsigned long long n = 0;
	int k = kernel_named(name);

	pthread_mutex_lock(&lk);
	if (k >= 0)
		n = klaunches[k];
	pthread_mutex_unlock(&lk);
	return n;
}

TEST_API unsigned long long fakecuda_last_param(const char *name, unsigned int word)
{
	unsigned long long v = 0;
	int k = kernel_named(name);

	pthread_mutex_lock(&lk);
	if (k >= 0 && word < KWORDS)
		v = klast[k][word];
	pthread_mutex_unlock(&lk);
	return v;
}

TEST_API unsigned long long fakecuda_copy_bytes(void)
{
	unsigned long long n;

	pthread_mutex_lock(&lk);
	n = copied;
	pthread_mutex_unlock(&lk);
	return n;
}
