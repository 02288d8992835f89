/*
 * The runtime API, where cudart is a shared library the program linked.
 * cudart reaches the driver through dlsym and cuGetProcAddress, which the
 * driver hooks already cover; these hooks place allocations at the
 * runtime level too, so that a cudart that found the driver some other
 * way is still covered.  gb_depth makes the driver hooks underneath pass
 * straight through, so nothing is placed or counted twice.
 *
 * Error codes: what cudart itself answered passes through unchanged; the
 * shim's own answers are 0 and 2, which mean the same in the driver and
 * the runtime (success, out of memory).
 */
#include <string.h>

#include "shim.h"

#define PITCH_ALIGN 512

/* the runtime's device, with its context initialised and current */
static int rt_device(const struct gb_real_rt *rt, int *dev)
{
	if (!rt->cudaFree || !rt->cudaGetDevice || rt->cudaFree(NULL) != cudaSuccess ||
	    rt->cudaGetDevice(dev) != cudaSuccess)
		return -1;
	return 0;
}

/* the caller's cudart, or none (then every hook answers "not initialised") */
#define RT_OR_FAIL(fn) \
	const struct gb_real_rt *rt = gb_rt(GB_CALLER()); \
	__typeof__(rt->fn) real = rt ? rt->fn : NULL; \
	gb_ready(); \
	if (unlikely(!real)) \
		return cudaErrorInitializationError

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
	RT_OR_FAIL(cudaMalloc);
	struct gb_t1 t = { .fn = t1_rt_malloc, .api = "cudaMalloc", .size = size, .real = (void *)real };
	int dev, e;

	if (rt_passthrough(size) || !p)
		return real(p, size);
	gb_depth++;
	if (rt_device(rt, &dev) < 0)
		e = real(p, size);
	else
		e = gb_alloc(dev, &t, (CUdeviceptr *)p);
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
	RT_OR_FAIL(cudaMallocPitch);
	struct gb_t1 t = { .fn = t1_rt_pitch, .api = "cudaMallocPitch", .width = w, .height = h, .pitch = pitch,
			   .real = (void *)real };
	size_t row = (w + PITCH_ALIGN - 1) & ~(size_t)(PITCH_ALIGN - 1);
	int dev, e;

	if (!p || !pitch || !w || !h || row < w || h > SIZE_MAX / row || rt_passthrough(row * h))
		return real(p, pitch, w, h);
	t.size = row * h;
	gb_depth++;
	if (rt_device(rt, &dev) < 0)
		e = real(p, pitch, w, h);
	else
		e = gb_alloc(dev, &t, (CUdeviceptr *)p);
	gb_depth--;
	return e;
}
GB_ALIAS(cudaError_t, cudaMallocPitch, (void **, size_t *, size_t, size_t));

static int t1_rt_async(struct gb_t1 *t, CUdeviceptr *out)
{
	return ((cudaError_t(*)(void **, size_t, cudaStream_t))t->real)((void **)out, t->size, t->stream);
}

static cudaError_t rt_malloc_async(const struct gb_real_rt *rt, void **p, size_t size, cudaStream_t s, int ptsz,
				   cudaError_t (*real)(void **, size_t, cudaStream_t))
{
	CUresult (*capturing)(CUstream, CUstreamCaptureStatus *) =
		ptsz ? R.cuStreamIsCapturing_ptsz : R.cuStreamIsCapturing;
	struct gb_t1 t = { .fn = t1_rt_async, .api = ptsz ? "cudaMallocAsync_ptsz" : "cudaMallocAsync", .size = size, .stream = s, .real = (void *)real };
	CUstreamCaptureStatus cs = CU_STREAM_CAPTURE_STATUS_NONE;
	int dev, e;

	if (rt_passthrough(size) || !p)
		return real(p, size, s);
	gb_depth++;
	if (rt_device(rt, &dev) < 0 || gb_stream_device(s, ptsz, &dev) < 0 ||
	    (capturing && capturing(s, &cs) == CUDA_SUCCESS && cs != CU_STREAM_CAPTURE_STATUS_NONE))
		e = real(p, size, s);
	else
		e = gb_alloc(dev, &t, (CUdeviceptr *)p);
	gb_depth--;
	return e;
}

cudaError_t gbw_cudaMallocAsync(void **p, size_t size, cudaStream_t s)
{
	RT_OR_FAIL(cudaMallocAsync);
	return rt_malloc_async(rt, p, size, s, 0, real);
}
GB_ALIAS(cudaError_t, cudaMallocAsync, (void **, size_t, cudaStream_t));

cudaError_t gbw_cudaMallocAsync_ptsz(void **p, size_t size, cudaStream_t s)
{
	RT_OR_FAIL(cudaMallocAsync_ptsz);
	return rt_malloc_async(rt, p, size, s, 1, real);
}
GB_ALIAS(cudaError_t, cudaMallocAsync_ptsz, (void **, size_t, cudaStream_t));

cudaError_t gbw_cudaFree(void *p)
{
	RT_OR_FAIL(cudaFree);
	struct gb_rec *r;
	cudaError_t e;

	if (gb_depth || !p || !(r = gb_take(g.ptrs, (CUdeviceptr)p)))
		return real(p);
	gb_depth++;
	if (r->tier == 1) {
		e = gb_t2_free(r, 1);
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

	if (gb_depth || !p || !(r = gb_take(g.ptrs, (CUdeviceptr)p)))
		return real(p, s);
	gb_depth++;
	if (r->tier == 1) {
		e = gb_t2_free_async(r, s, ptsz);
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
	RT_OR_FAIL(cudaFreeAsync);
	return rt_free_async(p, s, 0, real);
}
GB_ALIAS(cudaError_t, cudaFreeAsync, (void *, cudaStream_t));

cudaError_t gbw_cudaFreeAsync_ptsz(void *p, cudaStream_t s)
{
	RT_OR_FAIL(cudaFreeAsync_ptsz);
	return rt_free_async(p, s, 1, real);
}
GB_ALIAS(cudaError_t, cudaFreeAsync_ptsz, (void *, cudaStream_t));

/* ---- sizes ---- */

cudaError_t gbw_cudaMemGetInfo(size_t *free_b, size_t *total_b)
{
	RT_OR_FAIL(cudaMemGetInfo);
	uint64_t f, t;
	cudaError_t e;
	int dev;

	gb_depth++;
	e = real(free_b, total_b);
	gb_depth--;
	if (e != cudaSuccess || gb_depth || !g.enabled || !free_b || !total_b || !rt->cudaGetDevice ||
	    rt->cudaGetDevice(&dev) != cudaSuccess || !gb_dev_get(dev))
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
	RT_OR_FAIL(cudaGetDeviceProperties);
	return rt_props(prop, dev, real);
}
GB_ALIAS(cudaError_t, cudaGetDeviceProperties, (void *, int));

cudaError_t gbw_cudaGetDeviceProperties_v2(void *prop, int dev)
{
	RT_OR_FAIL(cudaGetDeviceProperties_v2);
	return rt_props(prop, dev, real);
}
GB_ALIAS(cudaError_t, cudaGetDeviceProperties_v2, (void *, int));

cudaError_t gbw_cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *ptr)
{
	RT_OR_FAIL(cudaPointerGetAttributes);
	struct gb_rec r;
	cudaError_t e;

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
