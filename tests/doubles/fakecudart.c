/*
 * fakecudart.c - a TEST DOUBLE of libcudart.so.13, the CUDA runtime.
 *
 * THIS IS NOT THE REAL RUNTIME.  It implements the few runtime calls
 * GreenBoost's shim hooks, on top of whatever libcuda.so.1 is found (in
 * CI, the driver double fakecuda.c).  What matters is that it reaches the
 * driver the way the real cudart 13 does, since that is the path the
 * shim must intercept: on first use it dlopen()s libcuda.so.1 privately
 * (RTLD_LOCAL), takes cuGetProcAddress_v2 from it with dlsym, and every
 * other entry point from cuGetProcAddress_v2(base name, CUDA 13000) -
 * never by symbol.  The _ptsz exports ask for the per-thread default
 * stream variants.  Built as tests/doubles/libcudart.so.13; never
 * install it.
 *
 * The runtime's device is per thread (default 0).  Its primary context
 * is retained and made current on the first call that needs one.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "cuabi.h"

/* exported even where the build hides symbols by default */
#define EXPORT __attribute__((visibility("default")))

#define CUDA_VERSION_ASKED 13000
#define MAXDEV 8
#define PROPS_SIZE 1008         /* sizeof(struct cudaDeviceProp) in CUDA 12 and 13 */

/* runtime codes not (yet) in cuabi.h */
#define cudaErrorInvalidMemcpyDirection 21
#define cudaErrorInsufficientDriver 35
#define cudaErrorNoDevice 100
#define cudaErrorInvalidDevice 101

enum {
	cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
	cudaMemcpyDeviceToDevice, cudaMemcpyDefault
};

/* the driver entry points used: field, base name, per-thread variant, parameters */
#define DRV(X) \
	X(cuInit, "cuInit", 0, (unsigned int)) \
	X(cuDeviceGetCount, "cuDeviceGetCount", 0, (int *)) \
	X(cuDeviceGetName, "cuDeviceGetName", 0, (char *, int, CUdevice)) \
	X(cuDeviceTotalMem, "cuDeviceTotalMem", 0, (size_t *, CUdevice)) \
	X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", 0, (CUcontext *, CUdevice)) \
	X(cuCtxSetCurrent, "cuCtxSetCurrent", 0, (CUcontext)) \
	X(cuCtxGetCurrent, "cuCtxGetCurrent", 0, (CUcontext *)) \
	X(cuCtxSynchronize, "cuCtxSynchronize", 0, (void)) \
	X(cuMemAlloc, "cuMemAlloc", 0, (CUdeviceptr *, size_t)) \
	X(cuMemAllocPitch, "cuMemAllocPitch", 0, (CUdeviceptr *, size_t *, size_t, size_t, unsigned int)) \
	X(cuMemAllocAsync, "cuMemAllocAsync", 0, (CUdeviceptr *, size_t, CUstream)) \
	X(cuMemAllocAsync_ptsz, "cuMemAllocAsync", 1, (CUdeviceptr *, size_t, CUstream)) \
	X(cuMemFree, "cuMemFree", 0, (CUdeviceptr)) \
	X(cuMemFreeAsync, "cuMemFreeAsync", 0, (CUdeviceptr, CUstream)) \
	X(cuMemFreeAsync_ptsz, "cuMemFreeAsync", 1, (CUdeviceptr, CUstream)) \
	X(cuMemGetInfo, "cuMemGetInfo", 0, (size_t *, size_t *)) \
	X(cuMemcpy, "cuMemcpy", 0, (CUdeviceptr, CUdeviceptr, size_t)) \
	X(cuMemsetD8, "cuMemsetD8", 0, (CUdeviceptr, unsigned char, size_t)) \
	X(cuStreamCreate, "cuStreamCreate", 0, (CUstream *, unsigned int)) \
	X(cuStreamDestroy, "cuStreamDestroy", 0, (CUstream)) \
	X(cuPointerGetAttributes, "cuPointerGetAttributes", 0, \
	  (unsigned int, CUpointer_attribute *, void **, CUdeviceptr))

#define FIELD(f, base, ptsz, params) CUresult (*f) params;
static struct {
	DRV(FIELD)
} D;
#undef FIELD

static const struct want {
	const char *base;
	int ptsz;
	void *slot;
} wants[] = {
#define WANT(f, base, ptsz, params) { base, ptsz, &D.f },
	DRV(WANT)
#undef WANT
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cudaError_t init_err;    /* of loading the driver, for good */
static int ndev;
static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static CUcontext prim[MAXDEV];  /* retained once, kept for the process */

static __thread int t_dev;              /* the runtime's device on this thread */
static __thread int t_bound = -1;       /* device whose context this thread was given */
static __thread cudaError_t t_last;     /* for cudaGetLastError */

/* the runtime's code for a driver result */
static cudaError_t rt_code(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS:
		return cudaSuccess;
	case CUDA_ERROR_INVALID_VALUE:
		return cudaErrorInvalidValue;
	case CUDA_ERROR_OUT_OF_MEMORY:
		return cudaErrorMemoryAllocation;
	case CUDA_ERROR_NOT_INITIALIZED:
	case CUDA_ERROR_INVALID_CONTEXT:
		return cudaErrorInitializationError;
	case CUDA_ERROR_NO_DEVICE:
		return cudaErrorNoDevice;
	case CUDA_ERROR_INVALID_DEVICE:
		return cudaErrorInvalidDevice;
	default:
		return cudaErrorUnknown;
	}
}

/* every export returns through here, for cudaGetLastError */
static cudaError_t ret(cudaError_t e)
{
	if (e != cudaSuccess)
		t_last = e;
	return e;
}

static void load(void)
{
	CUresult (*gpa)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *);
	CUdriverProcAddressQueryResult st;
	CUresult r;
	size_t i;
	void *h, *fn;

	init_err = cudaErrorInsufficientDriver;
	if (!(h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)))
		return;
	/* kept open for the life of the process, as cudart does */
	fn = dlsym(h, "cuGetProcAddress_v2");
	if (!fn)
		return;
	memcpy(&gpa, &fn, sizeof(gpa));
	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		fn = NULL;
		r = gpa(wants[i].base, &fn, CUDA_VERSION_ASKED,
			wants[i].ptsz ? CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM : CU_GET_PROC_ADDRESS_DEFAULT, &st);
		if (r != CUDA_SUCCESS || !fn)
			return;
		memcpy(wants[i].slot, &fn, sizeof(fn));
	}
	if ((r = D.cuInit(0)) == CUDA_SUCCESS)
		r = D.cuDeviceGetCount(&ndev);
	if (r == CUDA_SUCCESS && ndev > MAXDEV)
		ndev = MAXDEV;
	init_err = rt_code(r);
}

static cudaError_t rt_init(void)
{
	pthread_once(&once, load);
	return init_err;
}

/* the driver ready, and the runtime device's primary context current */
static cudaError_t rt_ctx(void)
{
	CUcontext cur = NULL;
	cudaError_t e;
	CUresult r = CUDA_SUCCESS;

	if ((e = rt_init()))
		return e;
	/* a context the program made current itself is used as it is */
	if (t_bound == t_dev && D.cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur)
		return cudaSuccess;
	pthread_mutex_lock(&lk);
	if (!prim[t_dev])
		r = D.cuDevicePrimaryCtxRetain(&prim[t_dev], t_dev);
	pthread_mutex_unlock(&lk);
	if (r == CUDA_SUCCESS)
		r = D.cuCtxSetCurrent(prim[t_dev]);
	if (r != CUDA_SUCCESS)
		return rt_code(r);
	t_bound = t_dev;
	return cudaSuccess;
}

/* ---- devices ---- */

EXPORT cudaError_t cudaGetDeviceCount(int *n)
{
	cudaError_t e;

	if (!n)
		return ret(cudaErrorInvalidValue);
	if ((e = rt_init())) {
		*n = 0;
		return ret(e);
	}
	*n = ndev;
	return cudaSuccess;
}

/* lazy: the context is made current by the next call that needs it */
EXPORT cudaError_t cudaSetDevice(int dev)
{
	cudaError_t e;

	if ((e = rt_init()))
		return ret(e);
	if (dev < 0 || dev >= ndev)
		return ret(cudaErrorInvalidDevice);
	t_dev = dev;
	return cudaSuccess;
}

EXPORT cudaError_t cudaGetDevice(int *dev)
{
	cudaError_t e;

	if (!dev)
		return ret(cudaErrorInvalidValue);
	if ((e = rt_init()))
		return ret(e);
	*dev = t_dev;
	return cudaSuccess;
}

static cudaError_t props(void *prop, int dev)
{
	size_t total = 0;
	cudaError_t e;
	CUresult r;

	if (!prop)
		return ret(cudaErrorInvalidValue);
	if ((e = rt_init()))
		return ret(e);
	if (dev < 0 || dev >= ndev)
		return ret(cudaErrorInvalidDevice);
	memset(prop, 0, PROPS_SIZE);
	if ((r = D.cuDeviceGetName(prop, 256, dev)) || (r = D.cuDeviceTotalMem(&total, dev)))
		return ret(rt_code(r));
	memcpy((char *)prop + GB_CUDADEVICEPROP_TOTALGLOBALMEM_OFFSET, &total, sizeof(total));
	return cudaSuccess;
}

EXPORT cudaError_t cudaGetDeviceProperties(void *prop, int dev)
{
	return props(prop, dev);
}

EXPORT cudaError_t cudaGetDeviceProperties_v2(void *prop, int dev)
{
	return props(prop, dev);
}

EXPORT cudaError_t cudaDeviceSynchronize(void)
{
	cudaError_t e;

	if ((e = rt_ctx()))
		return ret(e);
	return ret(rt_code(D.cuCtxSynchronize()));
}

/* ---- memory ---- */

/* size 0 gives NULL and success, as in the real runtime */
EXPORT cudaError_t cudaMalloc(void **p, size_t size)
{
	CUdeviceptr d;
	cudaError_t e;

	if (!p)
		return ret(cudaErrorInvalidValue);
	if ((e = rt_ctx()))
		return ret(e);
	*p = NULL;
	if (!size)
		return cudaSuccess;
	if ((e = rt_code(D.cuMemAlloc(&d, size))))
		return ret(e);
	*p = (void *)(uintptr_t)d;
	return cudaSuccess;
}

/* cudaFree(NULL) is the idiom for "initialise the context now" */
EXPORT cudaError_t cudaFree(void *p)
{
	cudaError_t e;

	if ((e = rt_ctx()))
		return ret(e);
	if (!p)
		return cudaSuccess;
	return ret(rt_code(D.cuMemFree((CUdeviceptr)(uintptr_t)p)));
}

EXPORT cudaError_t cudaMallocPitch(void **p, size_t *pitch, size_t w, size_t h)
{
	CUdeviceptr d;
	cudaError_t e;

	if (!p || !pitch)
		return ret(cudaErrorInvalidValue);
	if ((e = rt_ctx()))
		return ret(e);
	if ((e = rt_code(D.cuMemAllocPitch(&d, pitch, w, h, 4))))
		return ret(e);
	*p = (void *)(uintptr_t)d;
	return cudaSuccess;
}

static cudaError_t malloc_async(void **p, size_t size, cudaStream_t s,
				CUresult (*fn)(CUdeviceptr *, size_t, CUstream))
{
	CUdeviceptr d;
	cudaError_t e;

	if (!p)
		return ret(cudaErrorInvalidValue);
	if ((e = rt_ctx()))
		return ret(e);
	*p = NULL;
	if (!size)
		return cudaSuccess;
	if ((e = rt_code(fn(&d, size, s))))
		return ret(e);
	*p = (void *)(uintptr_t)d;
	return cudaSuccess;
}

EXPORT cudaError_t cudaMallocAsync(void **p, size_t size, cudaStream_t s)
{
	if (rt_init())
		return ret(init_err);
	return malloc_async(p, size, s, D.cuMemAllocAsync);
}

EXPORT cudaError_t cudaMallocAsync_ptsz(void **p, size_t size, cudaStream_t s)
{
	if (rt_init())
		return ret(init_err);
	return malloc_async(p, size, s, D.cuMemAllocAsync_ptsz);
}

static cudaError_t free_async(void *p, cudaStream_t s, CUresult (*fn)(CUdeviceptr, CUstream))
{
	cudaError_t e;

	if ((e = rt_ctx()))
		return ret(e);
	if (!p)
		return cudaSuccess;
	return ret(rt_code(fn((CUdeviceptr)(uintptr_t)p, s)));
}

EXPORT cudaError_t cudaFreeAsync(void *p, cudaStream_t s)
{
	if (rt_init())
		return ret(init_err);
	return free_async(p, s, D.cuMemFreeAsync);
}

EXPORT cudaError_t cudaFreeAsync_ptsz(void *p, cudaStream_t s)
{
	if (rt_init())
		return ret(init_err);
	return free_async(p, s, D.cuMemFreeAsync_ptsz);
}

EXPORT cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b)
{
	cudaError_t e;

	if ((e = rt_ctx()))
		return ret(e);
	return ret(rt_code(D.cuMemGetInfo(free_b, total_b)));
}

/* unified addressing: the kind is only checked */
EXPORT cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, int kind)
{
	cudaError_t e;

	if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
		return ret(cudaErrorInvalidMemcpyDirection);
	if ((e = rt_ctx()))
		return ret(e);
	return ret(rt_code(D.cuMemcpy((CUdeviceptr)(uintptr_t)dst, (CUdeviceptr)(uintptr_t)src, n)));
}

EXPORT cudaError_t cudaMemset(void *p, int v, size_t n)
{
	cudaError_t e;

	if ((e = rt_ctx()))
		return ret(e);
	return ret(rt_code(D.cuMemsetD8((CUdeviceptr)(uintptr_t)p, (unsigned char)v, n)));
}

EXPORT cudaError_t cudaStreamCreate(cudaStream_t *s)
{
	cudaError_t e;

	if (!s)
		return ret(cudaErrorInvalidValue);
	if ((e = rt_ctx()))
		return ret(e);
	return ret(rt_code(D.cuStreamCreate(s, 0)));
}

EXPORT cudaError_t cudaStreamDestroy(cudaStream_t s)
{
	cudaError_t e;

	if ((e = rt_ctx()))
		return ret(e);
	return ret(rt_code(D.cuStreamDestroy(s)));
}

EXPORT cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *ptr)
{
	CUpointer_attribute at[4] = {
		CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
		CU_POINTER_ATTRIBUTE_DEVICE_POINTER, CU_POINTER_ATTRIBUTE_HOST_POINTER,
	};
	unsigned int type = 0;
	int dev = 0;
	CUdeviceptr dp = 0;
	void *hp = NULL;
	void *data[4] = { &type, &dev, &dp, &hp };
	cudaError_t e;

	if (!a)
		return ret(cudaErrorInvalidValue);
	if ((e = rt_init()))
		return ret(e);
	if ((e = rt_code(D.cuPointerGetAttributes(4, at, data, (CUdeviceptr)(uintptr_t)ptr))))
		return ret(e);
	switch (type) {
	case CU_MEMORYTYPE_DEVICE:
		a->type = cudaMemoryTypeDevice;
		break;
	case CU_MEMORYTYPE_HOST:
		a->type = cudaMemoryTypeHost;
		break;
	default:
		a->type = cudaMemoryTypeUnregistered;
		break;
	}
	a->device = dev;
	a->devicePointer = (void *)(uintptr_t)dp;
	a->hostPointer = hp;
	return cudaSuccess;
}

/* ---- errors ---- */

EXPORT cudaError_t cudaGetLastError(void)
{
	cudaError_t e = t_last;

	t_last = cudaSuccess;
	return e;
}

EXPORT const char *cudaGetErrorString(cudaError_t e)
{
	switch (e) {
	case cudaSuccess:
		return "no error";
	case cudaErrorInvalidValue:
		return "invalid argument";
	case cudaErrorMemoryAllocation:
		return "out of memory";
	case cudaErrorInitializationError:
		return "initialization error";
	case cudaErrorInvalidMemcpyDirection:
		return "invalid copy direction for memcpy";
	case cudaErrorInsufficientDriver:
		return "CUDA driver version is insufficient for CUDA runtime version";
	case cudaErrorNoDevice:
		return "no CUDA-capable device is detected";
	case cudaErrorInvalidDevice:
		return "invalid device ordinal";
	case cudaErrorNotSupported:
		return "operation not supported";
	case cudaErrorUnknown:
		return "unknown error";
	default:
		return "unrecognized error code";
	}
}
