/*
 * The runtime API, where cudart is a shared library the program linked.
 * cudart reaches the driver through dlsym and cuGetProcAddress, which the
 * driver hooks already cover; these hooks place allocations at the
 * runtime level too, so that a cudart that found the driver some other
 * way is still covered.  gb_depth makes the driver hooks underneath pass
 * straight through, so nothing is placed or counted twice.
 */
#include <string.h>

#include "shim.h"

#define PITCH_ALIGN 512

/* cudart shares the driver's codes for success, invalid value and out of
 * memory (0, 1, 2); other driver failures become cudaErrorUnknown */
static cudaError_t rt_err(int e)
{
	return e <= 2 ? e : cudaErrorUnknown;
}

/* the runtime's device, with its context initialised and current */
static int rt_device(int *dev)
{
	cudaError_t (*fr)(void *) = RT(cudaFree);
	cudaError_t (*gd)(int *) = RT(cudaGetDevice);

	if (!fr || !gd || fr(NULL) != cudaSuccess || gd(dev) != cudaSuccess)
		return -1;
	return 0;
}

static int rt_passthrough(size_t size)
{
	return gb_depth || !g.enabled || size < g.threshold;
}

static int t1_rt_malloc(struct gb_t1 *t, CUdeviceptr *out)
{
	return ((cudaError_t(*)(void **, size_t))t->real)((void **)out, t->size);
}

cudaError_t gbw_cudaMalloc(void **p, size_t size)
{
	cudaError_t (*real)(void **, size_t) = RT(cudaMalloc);
	struct gb_t1 t = { .fn = t1_rt_malloc, .api = "cudaMalloc", .size = size, .real = (void *)real };
	int dev, e;

	gb_ready();
	if (unlikely(!real))
		return cudaErrorInitializationError;
	if (rt_passthrough(size) || !p)
		return real(p, size);
	gb_depth++;
	if (rt_device(&dev) < 0)
		e = real(p, size);
	else
		e = rt_err(gb_alloc(dev, &t, (CUdeviceptr *)p));
	gb_depth--;
	return e;
}
GB_ALIAS(cudaError_t, cudaMalloc, (void **, size_t));

static int t1_rt_pitch(struct gb_t1 *t, CUdeviceptr *out)
{
	return ((cudaError_t(*)(void **, size_t *, size_t, size_t))t->real)((void **)out, t->pitch, t->width,
									     t->height);
}

cudaError_t gbw_cudaMallocPitch(void **p, size_t *pitch, size_t w, size_t h)
{
	cudaError_t (*real)(void **, size_t *, size_t, size_t) = RT(cudaMallocPitch);
	struct gb_t1 t = { .fn = t1_rt_pitch, .api = "cudaMallocPitch", .width = w, .height = h, .pitch = pitch, .real = (void *)real };
	size_t row = (w + PITCH_ALIGN - 1) & ~(size_t)(PITCH_ALIGN - 1);
	int dev, e;

	gb_ready();
	if (unlikely(!real))
		return cudaErrorInitializationError;
	if (!p || !pitch || !w || !h || row < w || h > SIZE_MAX / row || rt_passthrough(row * h))
		return real(p, pitch, w, h);
	t.size = row * h;
	gb_depth++;
	if (rt_device(&dev) < 0)
		e = real(p, pitch, w, h);
	else
		e = rt_err(gb_alloc(dev, &t, (CUdeviceptr *)p));
	gb_depth--;
	return e;
}
GB_ALIAS(cudaError_t, cudaMallocPitch, (void **, size_t *, size_t, size_t));

static int t1_rt_async(struct gb_t1 *t, CUdeviceptr *out)
{
	return ((cudaError_t(*)(void **, size_t, cudaStream_t))t->real)((void **)out, t->size, t->stream);
}

static cudaError_t rt_malloc_async(void **p, size_t size, cudaStream_t s, int ptsz,
				   cudaError_t (*real)(void **, size_t, cudaStream_t))
{
	CUresult (*capturing)(CUstream, CUstreamCaptureStatus *) =
		ptsz ? R.cuStreamIsCapturing_ptsz : R.cuStreamIsCapturing;
	struct gb_t1 t = { .fn = t1_rt_async, .api = ptsz ? "cudaMallocAsync_ptsz" : "cudaMallocAsync", .size = size, .stream = s, .real = (void *)real };
	CUstreamCaptureStatus cs = CU_STREAM_CAPTURE_STATUS_NONE;
	int dev, e;

	if (unlikely(!real))
		return cudaErrorInitializationError;
	if (rt_passthrough(size) || !p)
		return real(p, size, s);
	gb_depth++;
	if (rt_device(&dev) < 0 ||
	    (capturing && capturing(s, &cs) == CUDA_SUCCESS && cs != CU_STREAM_CAPTURE_STATUS_NONE))
		e = real(p, size, s);
	else
		e = rt_err(gb_alloc(dev, &t, (CUdeviceptr *)p));
	gb_depth--;
	return e;
}

cudaError_t gbw_cudaMallocAsync(void **p, size_t size, cudaStream_t s)
{
	gb_ready();
	return rt_malloc_async(p, size, s, 0, RT(cudaMallocAsync));
}
GB_ALIAS(cudaError_t, cudaMallocAsync, (void **, size_t, cudaStream_t));

cudaError_t gbw_cudaMallocAsync_ptsz(void **p, size_t size, cudaStream_t s)
{
	gb_ready();
	return rt_malloc_async(p, size, s, 1, RT(cudaMallocAsync_ptsz));
}
GB_ALIAS(cudaError_t, cudaMallocAsync_ptsz, (void **, size_t, cudaStream_t));

cudaError_t gbw_cudaFree(void *p)
{
	cudaError_t (*real)(void *) = RT(cudaFree);
	struct gb_rec *r;
	cudaError_t e;

	gb_ready();
	if (unlikely(!real))
		return cudaErrorInitializationError;
	if (gb_depth || !p || !(r = gb_take(g.ptrs, (CUdeviceptr)p)))
		return real(p);
	gb_depth++;
	if (r->tier == 1) {
		e = rt_err(gb_t2_free(r, 1));
	} else {
		e = real(p);
		if (e != cudaSuccess)
			gb_untake(g.ptrs, r);
		else
			gb_release_rec(r);
	}
	gb_depth--;
	return e;
}
GB_ALIAS(cudaError_t, cudaFree, (void *));

static cudaError_t rt_free_async(void *p, cudaStream_t s, int ptsz, cudaError_t (*real)(void *, cudaStream_t))
{
	struct gb_rec *r;
	cudaError_t e;

	if (unlikely(!real))
		return cudaErrorInitializationError;
	if (gb_depth || !p || !(r = gb_take(g.ptrs, (CUdeviceptr)p)))
		return real(p, s);
	gb_depth++;
	if (r->tier == 1) {
		e = rt_err(gb_t2_free_async(r, s, ptsz));
	} else {
		e = real(p, s);
		if (e != cudaSuccess)
			gb_untake(g.ptrs, r);
		else
			gb_release_rec(r);
	}
	gb_depth--;
	return e;
}

cudaError_t gbw_cudaFreeAsync(void *p, cudaStream_t s)
{
	gb_ready();
	return rt_free_async(p, s, 0, RT(cudaFreeAsync));
}
GB_ALIAS(cudaError_t, cudaFreeAsync, (void *, cudaStream_t));

cudaError_t gbw_cudaFreeAsync_ptsz(void *p, cudaStream_t s)
{
	gb_ready();
	return rt_free_async(p, s, 1, RT(cudaFreeAsync_ptsz));
}
GB_ALIAS(cudaError_t, cudaFreeAsync_ptsz, (void *, cudaStream_t));

/* ---- sizes ---- */

cudaError_t gbw_cudaMemGetInfo(size_t *free_b, size_t *total_b)
{
	cudaError_t (*real)(size_t *, size_t *) = RT(cudaMemGetInfo);
	uint64_t f, t;
	cudaError_t e;
	int dev;

	gb_ready();
	if (unlikely(!real))
		return cudaErrorInitializationError;
	gb_depth++;
	e = real(free_b, total_b);
	gb_depth--;
	if (e != cudaSuccess || gb_depth || !g.enabled || !free_b || !total_b || !RT(cudaGetDevice) ||
	    RT(cudaGetDevice)(&dev) != cudaSuccess || !gb_dev_get(dev))
		return e;
	gb_phase_query();
	gb_report(dev, *free_b, 1, &f, &t);
	*free_b = f;
	*total_b = t;
	return e;
}
GB_ALIAS(cudaError_t, cudaMemGetInfo, (size_t *, size_t *));

static cudaError_t rt_props(void *prop, int dev, cudaError_t (*real)(void *, int))
{
	uint64_t f, t;
	cudaError_t e;

	if (unlikely(!real))
		return cudaErrorInitializationError;
	gb_depth++;
	e = real(prop, dev);
	gb_depth--;
	if (e != cudaSuccess || gb_depth || !g.enabled || !prop || !gb_dev_get(dev))
		return e;
	gb_report(dev, 0, 0, &f, &t);
	memcpy((char *)prop + GB_CUDADEVICEPROP_TOTALGLOBALMEM_OFFSET, &(size_t){ t }, sizeof(size_t));
	return e;
}

cudaError_t gbw_cudaGetDeviceProperties(void *prop, int dev)
{
	gb_ready();
	return rt_props(prop, dev, RT(cudaGetDeviceProperties));
}
GB_ALIAS(cudaError_t, cudaGetDeviceProperties, (void *, int));

cudaError_t gbw_cudaGetDeviceProperties_v2(void *prop, int dev)
{
	gb_ready();
	return rt_props(prop, dev, RT(cudaGetDeviceProperties_v2));
}
GB_ALIAS(cudaError_t, cudaGetDeviceProperties_v2, (void *, int));

cudaError_t gbw_cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *ptr)
{
	cudaError_t (*real)(struct cudaPointerAttributes *, const void *) = RT(cudaPointerGetAttributes);
	struct gb_rec r;
	cudaError_t e;

	gb_ready();
	if (unlikely(!real))
		return cudaErrorInitializationError;
	gb_depth++;
	e = real(a, ptr);
	gb_depth--;
	if (e != cudaSuccess || !a || !gb_t2_find((CUdeviceptr)ptr, &r))
		return e;
	a->type = cudaMemoryTypeDevice;
	a->device = r.dev;
	a->devicePointer = (void *)ptr;
	a->hostPointer = NULL;
	return e;
}
GB_ALIAS(cudaError_t, cudaPointerGetAttributes, (struct cudaPointerAttributes *, const void *));
