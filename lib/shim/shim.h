/*
 * Internals of libgreenboost_cuda.so, the LD_PRELOAD shim.
 *
 *   resolve.c    real entry points, the hook table, dlsym and
 *                cuGetProcAddress interception
 *   init.c       lazy start, configuration, fork and exit handling
 *   place.c      placement (T1 VRAM / T2 pinned host), accounting, reports
 *   t2host.c     Path B: pinned anonymous memory (hugetlb or THP)
 *   ptrmap.c     pointer -> allocation map with lock-free lookups
 *   phase.c      phase detector
 *   statusd.c    the status file writer thread
 *   hooks_drv.c, hooks_rt.c, hooks_nvml.c   the intercepted functions
 */
#ifndef GB_SHIM_H
#define GB_SHIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cuabi.h"
#include "gb.h"

#define GB_HIDDEN __attribute__((visibility("hidden")))
/* export hidden function gbw_NAME under the public NAME */
#define GB_ALIAS(ret, name, params) \
	extern ret name params __attribute__((visibility("default"), alias("gbw_" #name)))

#define GB_MAX_DEVICES GB_STATUS_MAX_DEV
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- real entry points ---- */

#define GB_DRIVER_FUNCS(X) \
	X(CUresult, cuInit, (unsigned int)) \
	X(CUresult, cuDeviceGetCount, (int *)) \
	X(CUresult, cuDeviceGetName, (char *, int, CUdevice)) \
	X(CUresult, cuDeviceGetAttribute, (int *, CUdevice_attribute, CUdevice)) \
	X(CUresult, cuDeviceGetPCIBusId, (char *, int, CUdevice)) \
	X(CUresult, cuDeviceTotalMem_v2, (size_t *, CUdevice)) \
	X(CUresult, cuCtxGetCurrent, (CUcontext *)) \
	X(CUresult, cuCtxGetDevice, (CUdevice *)) \
	X(CUresult, cuCtxPushCurrent_v2, (CUcontext)) \
	X(CUresult, cuCtxPopCurrent_v2, (CUcontext *)) \
	X(CUresult, cuCtxSynchronize, (void)) \
	X(CUresult, cuCtxDestroy_v2, (CUcontext)) \
	X(CUresult, cuDevicePrimaryCtxRetain, (CUcontext *, CUdevice)) \
	X(CUresult, cuDevicePrimaryCtxRelease_v2, (CUdevice)) \
	X(CUresult, cuDevicePrimaryCtxReset_v2, (CUdevice)) \
	X(CUresult, cuDevicePrimaryCtxGetState, (CUdevice, unsigned int *, int *)) \
	X(CUresult, cuMemAlloc_v2, (CUdeviceptr *, size_t)) \
	X(CUresult, cuMemAllocPitch_v2, (CUdeviceptr *, size_t *, size_t, size_t, unsigned int)) \
	X(CUresult, cuMemAllocAsync, (CUdeviceptr *, size_t, CUstream)) \
	X(CUresult, cuMemAllocAsync_ptsz, (CUdeviceptr *, size_t, CUstream)) \
	X(CUresult, cuMemAllocFromPoolAsync, (CUdeviceptr *, size_t, CUmemoryPool, CUstream)) \
	X(CUresult, cuMemAllocFromPoolAsync_ptsz, (CUdeviceptr *, size_t, CUmemoryPool, CUstream)) \
	X(CUresult, cuMemFree_v2, (CUdeviceptr)) \
	X(CUresult, cuMemFreeAsync, (CUdeviceptr, CUstream)) \
	X(CUresult, cuMemFreeAsync_ptsz, (CUdeviceptr, CUstream)) \
	X(CUresult, cuMemGetInfo_v2, (size_t *, size_t *)) \
	X(CUresult, cuMemHostRegister_v2, (void *, size_t, unsigned int)) \
	X(CUresult, cuMemHostUnregister, (void *)) \
	X(CUresult, cuMemHostGetDevicePointer_v2, (CUdeviceptr *, void *, unsigned int)) \
	X(CUresult, cuPointerGetAttribute, (void *, CUpointer_attribute, CUdeviceptr)) \
	X(CUresult, cuPointerGetAttributes, (unsigned int, CUpointer_attribute *, void **, CUdeviceptr)) \
	X(CUresult, cuMemGetAddressRange_v2, (CUdeviceptr *, size_t *, CUdeviceptr)) \
	X(CUresult, cuMemCreate, (CUmemGenericAllocationHandle *, size_t, const CUmemAllocationProp *, unsigned long long)) \
	X(CUresult, cuMemRelease, (CUmemGenericAllocationHandle)) \
	X(CUresult, cuIpcGetMemHandle, (CUipcMemHandle *, CUdeviceptr)) \
	X(CUresult, cuStreamIsCapturing, (CUstream, CUstreamCaptureStatus *)) \
	X(CUresult, cuStreamIsCapturing_ptsz, (CUstream, CUstreamCaptureStatus *)) \
	X(CUresult, cuStreamGetCtx, (CUstream, CUcontext *)) \
	X(CUresult, cuStreamGetCtx_ptsz, (CUstream, CUcontext *)) \
	X(CUresult, cuStreamSynchronize, (CUstream)) \
	X(CUresult, cuStreamSynchronize_ptsz, (CUstream)) \
	X(CUresult, cuLaunchHostFunc, (CUstream, CUhostFn, void *)) \
	X(CUresult, cuLaunchHostFunc_ptsz, (CUstream, CUhostFn, void *)) \
	X(CUresult, cuEventCreate, (CUevent *, unsigned int)) \
	X(CUresult, cuEventRecord, (CUevent, CUstream)) \
	X(CUresult, cuEventRecord_ptsz, (CUevent, CUstream)) \
	X(CUresult, cuEventQuery, (CUevent)) \
	X(CUresult, cuEventSynchronize, (CUevent)) \
	X(CUresult, cuEventDestroy_v2, (CUevent)) \
	X(CUresult, cuLaunchKernel, (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, \
				     unsigned, CUstream, void **, void **)) \
	X(CUresult, cuLaunchKernel_ptsz, (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, \
					  unsigned, CUstream, void **, void **)) \
	X(CUresult, cuLaunchKernelEx, (const CUlaunchConfig *, CUfunction, void **, void **)) \
	X(CUresult, cuLaunchKernelEx_ptsz, (const CUlaunchConfig *, CUfunction, void **, void **)) \
	X(CUresult, cuFuncGetParamInfo, (CUfunction, size_t, size_t *, size_t *)) \
	X(CUresult, cuKernelGetParamInfo, (void *, size_t, size_t *, size_t *)) \
	X(CUresult, cuFuncGetName, (const char **, CUfunction)) \
	X(CUresult, cuModuleLoadData, (CUmodule *, const void *)) \
	X(CUresult, cuModuleGetFunction, (CUfunction *, CUmodule, const char *)) \
	X(CUresult, cuStreamCreate, (CUstream *, unsigned int)) \
	X(CUresult, cuStreamBeginCapture_v2, (CUstream, CUstreamCaptureMode)) \
	X(CUresult, cuStreamBeginCapture_v2_ptsz, (CUstream, CUstreamCaptureMode)) \
	X(CUresult, cuStreamGetCaptureInfo, (CUstream, CUstreamCaptureStatus *, cuuint64_t *)) \
	X(CUresult, cuStreamGetCaptureInfo_ptsz, (CUstream, CUstreamCaptureStatus *, cuuint64_t *)) \
	X(CUresult, cuEventRecordWithFlags, (CUevent, CUstream, unsigned int)) \
	X(CUresult, cuEventRecordWithFlags_ptsz, (CUevent, CUstream, unsigned int)) \
	X(CUresult, cuGetProcAddress, (const char *, void **, int, cuuint64_t)) \
	X(CUresult, cuGetProcAddress_v2, (const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *))

/*
 * What an application can write device memory with besides kernels, for
 * t2_stream's overlap (stage.c): each is passed through, and a write
 * whose destination may be T2 is noted first.  X(name, cuGetProcAddress
 * name, first version, variant, parameters, arguments, destination: 0
 * where it is not one plain address).  Structures are passed as
 * pointers, so they are declared as such.
 */
#define GB_WRITE_FUNCS(X) GB_WRITE_PAIRS(X, GB_WRITE_PAIR)
/* each in its legacy and its per-thread-default-stream form, which came
 * with CUDA 7.0: W(X, legacy name, per-thread name, cuGetProcAddress
 * name, first version, parameters, arguments, destination) */
#define GB_WRITE_PAIR(X, name, ptname, base, ver, params, args, dst) \
	X(name, base, ver, V_LEGACY, params, args, dst) \
	X(ptname, base, ((ver) < 7000 ? 7000 : (ver)), V_PTSZ, params, args, dst)
#define GB_WRITE_PAIRS(X, W) \
	W(X, cuMemcpy, cuMemcpy_ptds, "cuMemcpy", 4000, (CUdeviceptr d, CUdeviceptr s, size_t n), (d, s, n), d) \
	W(X, cuMemcpyAsync, cuMemcpyAsync_ptsz, "cuMemcpyAsync", 4000, \
	  (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream h), (d, s, n, h), d) \
	W(X, cuMemcpyPeer, cuMemcpyPeer_ptds, "cuMemcpyPeer", 4000, \
	  (CUdeviceptr d, CUcontext dc, CUdeviceptr s, CUcontext sc, size_t n), (d, dc, s, sc, n), d) \
	W(X, cuMemcpyPeerAsync, cuMemcpyPeerAsync_ptsz, "cuMemcpyPeerAsync", 4000, \
	  (CUdeviceptr d, CUcontext dc, CUdeviceptr s, CUcontext sc, size_t n, CUstream h), (d, dc, s, sc, n, h), d) \
	W(X, cuMemcpyHtoD_v2, cuMemcpyHtoD_v2_ptds, "cuMemcpyHtoD", 3020, \
	  (CUdeviceptr d, const void *s, size_t n), (d, s, n), d) \
	W(X, cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync_v2_ptsz, "cuMemcpyHtoDAsync", 3020, \
	  (CUdeviceptr d, const void *s, size_t n, CUstream h), (d, s, n, h), d) \
	W(X, cuMemcpyDtoD_v2, cuMemcpyDtoD_v2_ptds, "cuMemcpyDtoD", 3020, \
	  (CUdeviceptr d, CUdeviceptr s, size_t n), (d, s, n), d) \
	W(X, cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync_v2_ptsz, "cuMemcpyDtoDAsync", 3020, \
	  (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream h), (d, s, n, h), d) \
	W(X, cuMemcpyAtoD_v2, cuMemcpyAtoD_v2_ptds, "cuMemcpyAtoD", 3020, \
	  (CUdeviceptr d, void *a, size_t o, size_t n), (d, a, o, n), d) \
	W(X, cuMemcpy2D_v2, cuMemcpy2D_v2_ptds, "cuMemcpy2D", 3020, (const void *p), (p), 0) \
	W(X, cuMemcpy2DUnaligned_v2, cuMemcpy2DUnaligned_v2_ptds, "cuMemcpy2DUnaligned", 3020, \
	  (const void *p), (p), 0) \
	W(X, cuMemcpy2DAsync_v2, cuMemcpy2DAsync_v2_ptsz, "cuMemcpy2DAsync", 3020, \
	  (const void *p, CUstream h), (p, h), 0) \
	W(X, cuMemcpy3D_v2, cuMemcpy3D_v2_ptds, "cuMemcpy3D", 3020, (const void *p), (p), 0) \
	W(X, cuMemcpy3DAsync_v2, cuMemcpy3DAsync_v2_ptsz, "cuMemcpy3DAsync", 3020, \
	  (const void *p, CUstream h), (p, h), 0) \
	W(X, cuMemcpy3DPeer, cuMemcpy3DPeer_ptds, "cuMemcpy3DPeer", 4000, (const void *p), (p), 0) \
	W(X, cuMemcpy3DPeerAsync, cuMemcpy3DPeerAsync_ptsz, "cuMemcpy3DPeerAsync", 4000, \
	  (const void *p, CUstream h), (p, h), 0) \
	W(X, cuMemsetD8_v2, cuMemsetD8_v2_ptds, "cuMemsetD8", 3020, \
	  (CUdeviceptr d, unsigned char v, size_t n), (d, v, n), d) \
	W(X, cuMemsetD16_v2, cuMemsetD16_v2_ptds, "cuMemsetD16", 3020, \
	  (CUdeviceptr d, unsigned short v, size_t n), (d, v, n), d) \
	W(X, cuMemsetD32_v2, cuMemsetD32_v2_ptds, "cuMemsetD32", 3020, \
	  (CUdeviceptr d, unsigned int v, size_t n), (d, v, n), d) \
	W(X, cuMemsetD8Async, cuMemsetD8Async_ptsz, "cuMemsetD8Async", 3020, \
	  (CUdeviceptr d, unsigned char v, size_t n, CUstream h), (d, v, n, h), d) \
	W(X, cuMemsetD16Async, cuMemsetD16Async_ptsz, "cuMemsetD16Async", 3020, \
	  (CUdeviceptr d, unsigned short v, size_t n, CUstream h), (d, v, n, h), d) \
	W(X, cuMemsetD32Async, cuMemsetD32Async_ptsz, "cuMemsetD32Async", 3020, \
	  (CUdeviceptr d, unsigned int v, size_t n, CUstream h), (d, v, n, h), d) \
	W(X, cuMemsetD2D8_v2, cuMemsetD2D8_v2_ptds, "cuMemsetD2D8", 3020, \
	  (CUdeviceptr d, size_t p, unsigned char v, size_t w, size_t r), (d, p, v, w, r), d) \
	W(X, cuMemsetD2D16_v2, cuMemsetD2D16_v2_ptds, "cuMemsetD2D16", 3020, \
	  (CUdeviceptr d, size_t p, unsigned short v, size_t w, size_t r), (d, p, v, w, r), d) \
	W(X, cuMemsetD2D32_v2, cuMemsetD2D32_v2_ptds, "cuMemsetD2D32", 3020, \
	  (CUdeviceptr d, size_t p, unsigned int v, size_t w, size_t r), (d, p, v, w, r), d) \
	W(X, cuMemsetD2D8Async, cuMemsetD2D8Async_ptsz, "cuMemsetD2D8Async", 3020, \
	  (CUdeviceptr d, size_t p, unsigned char v, size_t w, size_t r, CUstream h), (d, p, v, w, r, h), d) \
	W(X, cuMemsetD2D16Async, cuMemsetD2D16Async_ptsz, "cuMemsetD2D16Async", 3020, \
	  (CUdeviceptr d, size_t p, unsigned short v, size_t w, size_t r, CUstream h), (d, p, v, w, r, h), d) \
	W(X, cuMemsetD2D32Async, cuMemsetD2D32Async_ptsz, "cuMemsetD2D32Async", 3020, \
	  (CUdeviceptr d, size_t p, unsigned int v, size_t w, size_t r, CUstream h), (d, p, v, w, r, h), d) \
	W(X, cuStreamWaitEvent, cuStreamWaitEvent_ptsz, "cuStreamWaitEvent", 3020, \
	  (CUstream h, CUevent e, unsigned int f), (h, e, f), 0) \
	W(X, cuGraphLaunch, cuGraphLaunch_ptsz, "cuGraphLaunch", 10000, (void *x, CUstream h), (x, h), 0) \
	W(X, cuLaunchCooperativeKernel, cuLaunchCooperativeKernel_ptsz, "cuLaunchCooperativeKernel", 9000, \
	  (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned sm, \
	   CUstream h, void **a), \
	  (f, gx, gy, gz, bx, by, bz, sm, h, a), 0)

#define GB_RUNTIME_FUNCS(X) \
	X(cudaError_t, cudaMalloc, (void **, size_t)) \
	X(cudaError_t, cudaFree, (void *)) \
	X(cudaError_t, cudaMallocAsync, (void **, size_t, cudaStream_t)) \
	X(cudaError_t, cudaMallocAsync_ptsz, (void **, size_t, cudaStream_t)) \
	X(cudaError_t, cudaFreeAsync, (void *, cudaStream_t)) \
	X(cudaError_t, cudaFreeAsync_ptsz, (void *, cudaStream_t)) \
	X(cudaError_t, cudaMallocPitch, (void **, size_t *, size_t, size_t)) \
	X(cudaError_t, cudaMemGetInfo, (size_t *, size_t *)) \
	X(cudaError_t, cudaGetDevice, (int *)) \
	X(cudaError_t, cudaGetDeviceProperties, (void *, int)) \
	X(cudaError_t, cudaGetDeviceProperties_v2, (void *, int)) \
	X(cudaError_t, cudaPointerGetAttributes, (struct cudaPointerAttributes *, const void *))

#define GB_NVML_FUNCS(X) \
	X(nvmlReturn_t, nvmlDeviceGetMemoryInfo, (nvmlDevice_t, nvmlMemory_t *)) \
	X(nvmlReturn_t, nvmlDeviceGetMemoryInfo_v2, (nvmlDevice_t, nvmlMemory_v2_t *)) \
	X(nvmlReturn_t, nvmlDeviceGetPciInfo_v3, (nvmlDevice_t, nvmlPciInfo_t *))

#define GB_FNPTR(ret, name, params) ret(*name) params;
#define GB_FNPTR_W(name, base, ver, var, params, args, dst) CUresult(*name) params;
struct gb_real {
	GB_DRIVER_FUNCS(GB_FNPTR)
	GB_WRITE_FUNCS(GB_FNPTR_W)
	GB_NVML_FUNCS(GB_FNPTR)
};
struct gb_real_rt {
	GB_RUNTIME_FUNCS(GB_FNPTR)
};
#undef GB_FNPTR
#undef GB_FNPTR_W

extern struct gb_real R GB_HIDDEN;

/* our wrappers, gbw_NAME, exported as NAME where hooked */
#define GB_DECL_W(ret, name, params) GB_HIDDEN ret gbw_##name params;
GB_DRIVER_FUNCS(GB_DECL_W)
GB_RUNTIME_FUNCS(GB_DECL_W)
GB_NVML_FUNCS(GB_DECL_W)
#undef GB_DECL_W
#define GB_DECL_WW(name, base, ver, var, params, args, dst) GB_HIDDEN CUresult gbw_##name params;
GB_WRITE_FUNCS(GB_DECL_WW)
#undef GB_DECL_WW

/* resolve.c */
GB_HIDDEN void *gb_real_dlsym(void *handle, const char *name);
GB_HIDDEN int gb_resolve_driver(void);      /* 0 once libcuda's entry points are known */
GB_HIDDEN int gb_resolve_nvml(void);
/* The runtime functions of the cudart the caller at ret uses: a library
 * can bring its own (Ollama's plugins load theirs RTLD_LOCAL), so the real
 * function is looked up from the caller's side, once per call site. */
GB_HIDDEN const struct gb_real_rt *gb_rt(void *ret);
GB_HIDDEN void gb_resolve_after_fork(void);
GB_HIDDEN void gb_nvml_after_fork(void);
#define GB_CALLER() __builtin_return_address(0)

/* ---- state ---- */

/* nesting of our hooks on this thread: a runtime hook calls into cudart,
 * which calls the driver; the driver hook then passes straight through */
extern __thread int gb_depth __attribute__((tls_model("initial-exec"))) GB_HIDDEN;

enum gb_kind { GB_K_MEM, GB_K_VMM };

/* host memory for T2: Path A, from the kernel module's pool (pool_id set),
 * or Path B, anonymous memory (hugetlb or THP) */
struct gb_hostmem {
	void *host;
	size_t len;
	int hugetlb;
	unsigned int pool_id;
};

struct gb_rec {
	CUdeviceptr ptr;     /* device address, or VMM handle */
	size_t size;         /* bytes asked for (the range pointer queries answer) */
	size_t acct;         /* bytes counted against the tier and its limit */
	struct gb_hostmem hm; /* T2: the host memory */
	CUcontext ctx;       /* the context it was made in */
	int dev;
	unsigned char tier;  /* 0 T1, 1 T2 (indexes gb_status_dev.tier) */
	unsigned char kind;  /* enum gb_kind */
};

struct gb_dev {
	_Atomic int ready;
	uint64_t phys_total;
	uint64_t vram_limit;
	uint64_t kv_reserve;
	int numa_id;
	int host_numa_vmm;
	char name[96];
	struct gb_status_tier tier[GB_TIERS];
	uint64_t t2_hugetlb_bytes;
	uint64_t t2_pool_bytes;
	uint64_t vmm_bytes;
	uint64_t refused;
	int stage_reserved;          /* t2_stream's area is set up (or given up) */
	uint64_t stage_bytes, staged_bytes;
};

struct gb_ptrmap;

struct gb_state {
	struct gb_conf conf;
	int enabled;
	uint64_t threshold;
	uint64_t host_limit;
	uint64_t t2_total;          /* all devices, against host_limit */
	pthread_mutex_t lock;       /* allocation bookkeeping; never held across CUDA calls */
	struct gb_dev dev[GB_MAX_DEVICES];
	_Atomic size_t nrec;        /* live tracked records, for the free fast path */
	struct gb_ptrmap *ptrs;     /* device pointer -> rec */
	struct gb_ptrmap *handles;  /* VMM handle -> rec */
	struct gb_rec **t2v;        /* T2 records sorted by ptr, for interior lookups */
	size_t t2n, t2cap;
	_Atomic uintptr_t t2_lo, t2_hi;
	struct gb_deferred *_Atomic deferred; /* async T2 frees waiting for their stream */
	int phase;
	uint64_t phase_since_ms;
	double phase_since_wall;
	uint64_t last_event_ms;
	uint64_t last_oom_log_ms;
	char run_dir[GB_PATH_MAX];
};

extern struct gb_state g GB_HIDDEN;
extern _Atomic int gb_ready_flag GB_HIDDEN;

GB_HIDDEN void gb_init_slow(void);
static inline void gb_ready(void)
{
	if (unlikely(!atomic_load_explicit(&gb_ready_flag, memory_order_acquire)))
		gb_init_slow();
}

/* ---- ptrmap.c ---- */
GB_HIDDEN struct gb_ptrmap *gb_ptrmap_new(void);
GB_HIDDEN void *gb_ptrmap_get(struct gb_ptrmap *m, uintptr_t key);     /* lock-free */
GB_HIDDEN int gb_ptrmap_put(struct gb_ptrmap *m, uintptr_t key, void *v); /* under g.lock */
GB_HIDDEN void *gb_ptrmap_del(struct gb_ptrmap *m, uintptr_t key);      /* under g.lock */
GB_HIDDEN size_t gb_ptrmap_live(struct gb_ptrmap *m);
GB_HIDDEN size_t gb_ptrmap_capacity(struct gb_ptrmap *m);
/* under g.lock: fn(value, arg) for each live value, in no particular order */
GB_HIDDEN void gb_ptrmap_each(struct gb_ptrmap *m, void (*fn)(void *v, void *arg), void *arg);
/* under g.lock: remove and hand over each live value for which keep() is 0 */
GB_HIDDEN size_t gb_ptrmap_remove_if(struct gb_ptrmap *m, int (*keep)(void *v, void *arg), void *arg,
				     void **out, size_t nout);

/* ---- place.c ---- */

/* How to make a T1 allocation in the caller's API.  Returns the API's
 * own status code; oom is that API's out-of-memory code (2 in both the
 * driver and the runtime). */
struct gb_t1 {
	int (*fn)(struct gb_t1 *t, CUdeviceptr *out);
	const char *api;        /* for the debug log: which hook placed it */
	size_t size, width, height;
	size_t *pitch;
	unsigned int elem;
	CUstream stream;
	CUmemoryPool pool;
	void *real;
};

GB_HIDDEN struct gb_dev *gb_dev_get(int dev);
GB_HIDDEN int gb_current_device(int *dev);
/* the device whose context owns stream s (the current one for the defaults) */
GB_HIDDEN int gb_stream_device(CUstream s, int ptsz, int *dev);
GB_HIDDEN int gb_alloc(int dev, struct gb_t1 *t1, CUdeviceptr *out);
/* remove and return the record of ptr, NULL if untracked */
GB_HIDDEN struct gb_rec *gb_take(struct gb_ptrmap *m, uintptr_t key);
GB_HIDDEN void gb_untake(struct gb_ptrmap *m, struct gb_rec *r);
/* account a record as gone and free it, with its T2 host memory (already
 * unregistered from CUDA) */
GB_HIDDEN void gb_release_rec(struct gb_rec *r);
/* free T2 memory now (sync: wait for the device first) */
GB_HIDDEN CUresult gb_t2_free(struct gb_rec *r, int sync);
/* free T2 memory once the stream reaches this point */
GB_HIDDEN CUresult gb_t2_free_async(struct gb_rec *r, CUstream s, int ptsz);
GB_HIDDEN void gb_reap(int wait);
/* T2 record holding ptr, copied out; 0 if none */
GB_HIDDEN int gb_t2_find(CUdeviceptr ptr, struct gb_rec *out);
GB_HIDDEN void gb_report(int dev, uint64_t phys_free, int have_phys, uint64_t *free, uint64_t *total);
GB_HIDDEN CUresult gb_vmm_create(CUmemGenericAllocationHandle *h, size_t size,
				 const CUmemAllocationProp *prop, unsigned long long flags);
GB_HIDDEN CUresult gb_vmm_release(CUmemGenericAllocationHandle h);
GB_HIDDEN void gb_state_reset(void);
/* the context is gone, and with it every allocation made in it */
GB_HIDDEN void gb_forget_ctx(CUcontext ctx);

/* ---- t2host.c ---- */
GB_HIDDEN int gb_hostmem_alloc(size_t size, int try_hugetlb, struct gb_hostmem *m);
GB_HIDDEN void gb_hostmem_free(struct gb_hostmem *m);
GB_HIDDEN char gb_hostmem_path(void); /* 'A' while the pool is in use, else 'B' */

/* ---- phase.c (callers hold g.lock) ---- */
GB_HIDDEN void gb_phase_event(int what, uint64_t now);
enum { GB_EV_ALLOC, GB_EV_FREE, GB_EV_QUERY, GB_EV_TICK };
GB_HIDDEN void gb_phase_set(int phase, uint64_t now);
GB_HIDDEN void gb_phase_query(void); /* takes g.lock */

/* ---- ring.c (t2_stream's staging area) ---- */
#define GB_RING_QUEUE 1024
/* where a use was queued: uses in the caller's own order need no wait */
struct gb_ring_order {
	CUstream s;
	cuuint64_t capture;  /* its capture's id, 0: none */
	int per_thread;      /* s is a per-thread default stream: thread tells */
	pthread_t thread;
};
struct gb_ring_use {
	size_t off, len;
	CUevent ev;          /* made once per slot; recorded after the use */
	struct gb_ring_order order;
	cuuint64_t waited;   /* the capture that waited for it last, on waiter */
	const void *waiter;
};
#define GB_RING_CAPTURE_UNKNOWN (~(cuuint64_t)0)
#define GB_RING_FULL (~(size_t)0)
struct gb_ring {
	size_t size, head;
	struct gb_ring_use q[GB_RING_QUEUE]; /* uses in flight, oldest first from h */
	size_t h, n;
};
/* the offset of len bytes (len <= size), after wait(arg, ev) for each
 * queued use they overlap that was not queued in order o (NULL: each).
 * capture: the id of the capture the caller is in (0: none,
 * GB_RING_CAPTURE_UNKNOWN: one), whose waits are graph nodes; waiter: the
 * stream the waits go on (NULL: one that may stand for several, as a
 * per-thread default stream does).  GB_RING_FULL, taking nothing, when a
 * capture would have to drop a use it cannot order */
GB_HIDDEN size_t gb_ring_take(struct gb_ring *r, size_t len, const struct gb_ring_order *o, cuuint64_t capture,
			      const void *waiter, void (*wait)(void *arg, CUevent ev), void *arg);
/* whether a (NULL: none) and b are one order */
GB_HIDDEN int gb_ring_same_order(const struct gb_ring_order *a, const struct gb_ring_order *b);
/* queue a use of [off, off+len): its slot, whose event the caller
 * records; NULL while the queue is full (take makes room) */
GB_HIDDEN struct gb_ring_use *gb_ring_push(struct gb_ring *r, size_t off, size_t len);

/* ---- stage.c (t2_stream) ---- */
struct gb_launch {
	CUfunction f;
	CUstream stream;
	void **params, **extra;
	int ptsz;
	/* launch the application's kernel with these parameters */
	CUresult (*run)(struct gb_launch *L, void **params, void **extra);
	unsigned grid[3], block[3], shmem;
	const CUlaunchConfig *cfg;
	void *real;
};
/* 1 while launches must be looked at: t2_stream on and T2 in use */
extern _Atomic int gb_staging GB_HIDDEN;
/* -1: not staged, launch it as it is; GB_STAGE_WROTE: the same, and it
 * may write T2, so call gb_stage_bump() once it is queued; else the
 * launch's result */
#define GB_STAGE_WROTE (-2)
GB_HIDDEN int gb_stage_launch(struct gb_launch *L);
GB_HIDDEN void gb_stage_publish(void);      /* under g.lock, after T2 changed */
GB_HIDDEN void gb_stage_prepare(int dev);   /* at the first T2 placement */
GB_HIDDEN void gb_stage_after_fork(void);
GB_HIDDEN void gb_stage_report(void);        /* at exit: what t2_stream did */
/* the application may write device memory at dst (0: anywhere) by
 * other means than a kernel launch the shim looked at: 1 if that may be
 * T2, then gb_stage_bump() once the call is queued */
GB_HIDDEN int gb_stage_wrote(CUdeviceptr dst);
GB_HIDDEN void gb_stage_bump(void);
/* a capture began on h: its first copy may be ordered after that point */
GB_HIDDEN void gb_stage_capture_began(CUstream h, int ptsz);

/* ---- statusd.c ---- */
GB_HIDDEN void gb_status_start(void);
GB_HIDDEN void gb_status_dirty(void);
GB_HIDDEN void gb_status_stop(void);
GB_HIDDEN void gb_status_forget(void);  /* in a forked child */
GB_HIDDEN void gb_status_remove_stale_self(void);

#endif
