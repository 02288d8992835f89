/* The intercepted driver API. Everything not here passes through untouched. */
#include <string.h>

#include "shim.h"

#define PITCH_ALIGN 512

static int passthrough(size_t size)
{
	return gb_depth || !g.enabled || size < g.threshold;
}

/* ---- allocation ---- */

static int t1_alloc(struct gb_t1 *t, CUdeviceptr *out)
{
	return R.cuMemAlloc_v2(out, t->size);
}

CUresult gbw_cuMemAlloc_v2(CUdeviceptr *p, size_t size)
{
	struct gb_t1 t = { .fn = t1_alloc, .api = "cuMemAlloc", .size = size };
	int dev;

	gb_ready();
	if (unlikely(!R.cuMemAlloc_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	if (passthrough(size) || !p || gb_current_device(&dev) < 0)
		return R.cuMemAlloc_v2(p, size);
	return gb_alloc(dev, &t, p);
}
GB_ALIAS(CUresult, cuMemAlloc_v2, (CUdeviceptr *, size_t));

static int t1_pitch(struct gb_t1 *t, CUdeviceptr *out)
{
	return R.cuMemAllocPitch_v2(out, t->pitch, t->width, t->height, t->elem);
}

CUresult gbw_cuMemAllocPitch_v2(CUdeviceptr *p, size_t *pitch, size_t w, size_t h, unsigned int elem)
{
	struct gb_t1 t = { .fn = t1_pitch, .api = "cuMemAllocPitch", .width = w, .height = h, .pitch = pitch, .elem = elem };
	size_t row = (w + PITCH_ALIGN - 1) & ~(size_t)(PITCH_ALIGN - 1);
	int dev;

	gb_ready();
	if (unlikely(!R.cuMemAllocPitch_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	/* odd requests are the driver's to reject */
	if (!p || !pitch || !w || !h || row < w || h > SIZE_MAX / row || (elem != 4 && elem != 8 && elem != 16))
		return R.cuMemAllocPitch_v2(p, pitch, w, h, elem);
	t.size = row * h;
	if (passthrough(t.size) || gb_current_device(&dev) < 0)
		return R.cuMemAllocPitch_v2(p, pitch, w, h, elem);
	return gb_alloc(dev, &t, p);
}
GB_ALIAS(CUresult, cuMemAllocPitch_v2, (CUdeviceptr *, size_t *, size_t, size_t, unsigned int));

static int t1_async(struct gb_t1 *t, CUdeviceptr *out)
{
	if (t->pool)
		return ((CUresult(*)(CUdeviceptr *, size_t, CUmemoryPool, CUstream))t->real)(out, t->size, t->pool,
											       t->stream);
	return ((CUresult(*)(CUdeviceptr *, size_t, CUstream))t->real)(out, t->size, t->stream);
}

static CUresult alloc_async(CUdeviceptr *p, size_t size, CUmemoryPool pool, CUstream s, int ptsz, void *real)
{
	CUresult (*capturing)(CUstream, CUstreamCaptureStatus *) =
		ptsz ? R.cuStreamIsCapturing_ptsz : R.cuStreamIsCapturing;
	struct gb_t1 t = { .fn = t1_async, .api = ptsz ? "cuMemAllocAsync_ptsz" : "cuMemAllocAsync", .size = size, .stream = s, .pool = pool, .real = real };
	CUstreamCaptureStatus cs = CU_STREAM_CAPTURE_STATUS_NONE;
	int dev;

	if (unlikely(!real))
		return CUDA_ERROR_NOT_INITIALIZED;
	/* Pass through: inside stream capture (the graph owns the allocation),
	 * and from an explicit pool (its access, export and release settings
	 * are the application's, and host memory would break them). */
	if (passthrough(size) || !p || pool ||
	    (capturing && capturing(s, &cs) == CUDA_SUCCESS && cs != CU_STREAM_CAPTURE_STATUS_NONE) ||
	    gb_stream_device(s, ptsz, &dev) < 0)
		return t1_async(&t, p);
	return gb_alloc(dev, &t, p);
}

CUresult gbw_cuMemAllocAsync(CUdeviceptr *p, size_t size, CUstream s)
{
	gb_ready();
	return alloc_async(p, size, NULL, s, 0, (void *)R.cuMemAllocAsync);
}
GB_ALIAS(CUresult, cuMemAllocAsync, (CUdeviceptr *, size_t, CUstream));

CUresult gbw_cuMemAllocAsync_ptsz(CUdeviceptr *p, size_t size, CUstream s)
{
	gb_ready();
	return alloc_async(p, size, NULL, s, 1, (void *)R.cuMemAllocAsync_ptsz);
}
GB_ALIAS(CUresult, cuMemAllocAsync_ptsz, (CUdeviceptr *, size_t, CUstream));

CUresult gbw_cuMemAllocFromPoolAsync(CUdeviceptr *p, size_t size, CUmemoryPool pool, CUstream s)
{
	gb_ready();
	return alloc_async(p, size, pool, s, 0, (void *)R.cuMemAllocFromPoolAsync);
}
GB_ALIAS(CUresult, cuMemAllocFromPoolAsync, (CUdeviceptr *, size_t, CUmemoryPool, CUstream));

CUresult gbw_cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *p, size_t size, CUmemoryPool pool, CUstream s)
{
	gb_ready();
	return alloc_async(p, size, pool, s, 1, (void *)R.cuMemAllocFromPoolAsync_ptsz);
}
GB_ALIAS(CUresult, cuMemAllocFromPoolAsync_ptsz, (CUdeviceptr *, size_t, CUmemoryPool, CUstream));

/* ---- freeing ---- */

CUresult gbw_cuMemFree_v2(CUdeviceptr p)
{
	struct gb_rec *r;
	CUresult e;

	gb_ready();
	if (unlikely(!R.cuMemFree_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	if (gb_depth || !p || !(r = gb_take(g.ptrs, p)))
		return R.cuMemFree_v2(p);
	if (r->tier == 1)
		return gb_t2_free(r, 1);
	e = R.cuMemFree_v2(p);
	if (e != CUDA_SUCCESS)
		gb_untake(g.ptrs, r);
	else
		gb_release_rec(r);
	return e;
}
GB_ALIAS(CUresult, cuMemFree_v2, (CUdeviceptr));

static CUresult free_async(CUdeviceptr p, CUstream s, int ptsz, CUresult (*real)(CUdeviceptr, CUstream))
{
	struct gb_rec *r;
	CUresult e;

	if (unlikely(!real))
		return CUDA_ERROR_NOT_INITIALIZED;
	if (gb_depth || !p || !(r = gb_take(g.ptrs, p)))
		return real(p, s);
	if (r->tier == 1)
		return gb_t2_free_async(r, s, ptsz);
	e = real(p, s);
	if (e != CUDA_SUCCESS)
		gb_untake(g.ptrs, r);
	else
		gb_release_rec(r);
	return e;
}

CUresult gbw_cuMemFreeAsync(CUdeviceptr p, CUstream s)
{
	gb_ready();
	return free_async(p, s, 0, R.cuMemFreeAsync);
}
GB_ALIAS(CUresult, cuMemFreeAsync, (CUdeviceptr, CUstream));

CUresult gbw_cuMemFreeAsync_ptsz(CUdeviceptr p, CUstream s)
{
	gb_ready();
	return free_async(p, s, 1, R.cuMemFreeAsync_ptsz);
}
GB_ALIAS(CUresult, cuMemFreeAsync_ptsz, (CUdeviceptr, CUstream));

/* ---- what size the device is ---- */

CUresult gbw_cuMemGetInfo_v2(size_t *free_b, size_t *total_b)
{
	uint64_t f, t;
	CUresult e;
	int dev;

	gb_ready();
	if (unlikely(!R.cuMemGetInfo_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	e = R.cuMemGetInfo_v2(free_b, total_b);
	if (e != CUDA_SUCCESS || gb_depth || !g.enabled || !free_b || !total_b || gb_current_device(&dev) < 0 ||
	    !gb_dev_get(dev))
		return e;
	gb_phase_query();
	gb_report(dev, *free_b, 1, &f, &t);
	*free_b = f;
	*total_b = t;
	return e;
}
GB_ALIAS(CUresult, cuMemGetInfo_v2, (size_t *, size_t *));

CUresult gbw_cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	uint64_t f, t;
	CUresult e;

	gb_ready();
	if (unlikely(!R.cuDeviceTotalMem_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	e = R.cuDeviceTotalMem_v2(bytes, dev);
	if (e != CUDA_SUCCESS || gb_depth || !g.enabled || !bytes || !gb_dev_get(dev))
		return e;
	gb_report(dev, 0, 0, &f, &t);
	*bytes = t;
	return e;
}
GB_ALIAS(CUresult, cuDeviceTotalMem_v2, (size_t *, CUdevice));

/* ---- pointer queries: T2 memory answers as device memory does ---- */

/* 1 if patched, 0 to leave the driver's answer; -1: device memory has no such value */
static int patch_attr(CUpointer_attribute a, void *data, const struct gb_rec *r, CUdeviceptr ptr)
{
	switch (a) {
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		*(unsigned int *)data = CU_MEMORYTYPE_DEVICE;
		return 1;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		*(CUdeviceptr *)data = ptr;
		return 1;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		*(void **)data = NULL;
		return -1;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = r->dev;
		return 1;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = r->ptr;
		return 1;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = r->size;
		return 1;
	default:
		return 0;
	}
}

CUresult gbw_cuPointerGetAttribute(void *data, CUpointer_attribute a, CUdeviceptr ptr)
{
	struct gb_rec r;
	CUresult e;

	gb_ready();
	if (unlikely(!R.cuPointerGetAttribute))
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!data || !gb_t2_find(ptr, &r))
		return R.cuPointerGetAttribute(data, a, ptr);
	e = R.cuPointerGetAttribute(data, a, ptr);
	switch (patch_attr(a, data, &r, ptr)) {
	case 1:
		return CUDA_SUCCESS;
	case -1:
		return CUDA_ERROR_INVALID_VALUE;
	}
	return e;
}
GB_ALIAS(CUresult, cuPointerGetAttribute, (void *, CUpointer_attribute, CUdeviceptr));

CUresult gbw_cuPointerGetAttributes(unsigned int n, CUpointer_attribute *attrs, void **data, CUdeviceptr ptr)
{
	struct gb_rec r;
	CUresult e;
	unsigned int i;

	gb_ready();
	if (unlikely(!R.cuPointerGetAttributes))
		return CUDA_ERROR_NOT_INITIALIZED;
	e = R.cuPointerGetAttributes(n, attrs, data, ptr);
	if (e != CUDA_SUCCESS || !attrs || !data || !gb_t2_find(ptr, &r))
		return e;
	for (i = 0; i < n; i++)
		if (data[i])
			patch_attr(attrs[i], data[i], &r, ptr);
	return e;
}
GB_ALIAS(CUresult, cuPointerGetAttributes, (unsigned int, CUpointer_attribute *, void **, CUdeviceptr));

CUresult gbw_cuMemGetAddressRange_v2(CUdeviceptr *base, size_t *size, CUdeviceptr ptr)
{
	struct gb_rec r;

	gb_ready();
	if (unlikely(!R.cuMemGetAddressRange_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!gb_t2_find(ptr, &r))
		return R.cuMemGetAddressRange_v2(base, size, ptr);
	if (base)
		*base = r.ptr;
	if (size)
		*size = r.size;
	return CUDA_SUCCESS;
}
GB_ALIAS(CUresult, cuMemGetAddressRange_v2, (CUdeviceptr *, size_t *, CUdeviceptr));

CUresult gbw_cuIpcGetMemHandle(CUipcMemHandle *h, CUdeviceptr ptr)
{
	static _Atomic int warned;
	struct gb_rec r;

	gb_ready();
	if (unlikely(!R.cuIpcGetMemHandle))
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!gb_t2_find(ptr, &r))
		return R.cuIpcGetMemHandle(h, ptr);
	if (!atomic_exchange(&warned, 1))
		gb_warn("an IPC handle was asked for memory in host tier T2: not supported; "
			"raise vram_limit so shared buffers stay in VRAM");
	return CUDA_ERROR_INVALID_VALUE;
}
GB_ALIAS(CUresult, cuIpcGetMemHandle, (CUipcMemHandle *, CUdeviceptr));

/* ---- the application's own VMM ---- */

CUresult gbw_cuMemCreate(CUmemGenericAllocationHandle *h, size_t size, const CUmemAllocationProp *prop,
			 unsigned long long flags)
{
	gb_ready();
	if (unlikely(!R.cuMemCreate))
		return CUDA_ERROR_NOT_INITIALIZED;
	if (passthrough(size) || !h || !prop || prop->type != CU_MEM_ALLOCATION_TYPE_PINNED ||
	    prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE)
		return R.cuMemCreate(h, size, prop, flags);
	return gb_vmm_create(h, size, prop, flags);
}
GB_ALIAS(CUresult, cuMemCreate, (CUmemGenericAllocationHandle *, size_t, const CUmemAllocationProp *,
				 unsigned long long));

CUresult gbw_cuMemRelease(CUmemGenericAllocationHandle h)
{
	gb_ready();
	if (unlikely(!R.cuMemRelease))
		return CUDA_ERROR_NOT_INITIALIZED;
	if (gb_depth)
		return R.cuMemRelease(h);
	return gb_vmm_release(h);
}
GB_ALIAS(CUresult, cuMemRelease, (CUmemGenericAllocationHandle));

/* ---- contexts: their allocations die with them ---- */

CUresult gbw_cuCtxDestroy_v2(CUcontext ctx)
{
	CUresult e;

	gb_ready();
	if (unlikely(!R.cuCtxDestroy_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	/* first: the host memory is unpinned while the context still exists */
	gb_forget_ctx(ctx);
	e = R.cuCtxDestroy_v2(ctx);
	return e;
}
GB_ALIAS(CUresult, cuCtxDestroy_v2, (CUcontext));

/* the primary context of dev if it is alive, without creating it */
static CUcontext primary_of(CUdevice dev)
{
	unsigned int flags;
	CUcontext c = NULL;
	int active = 0;

	if (!R.cuDevicePrimaryCtxGetState || !R.cuDevicePrimaryCtxRetain || !R.cuDevicePrimaryCtxRelease_v2 ||
	    R.cuDevicePrimaryCtxGetState(dev, &flags, &active) != CUDA_SUCCESS || !active)
		return NULL;
	if (R.cuDevicePrimaryCtxRetain(&c, dev) != CUDA_SUCCESS)
		return NULL;
	R.cuDevicePrimaryCtxRelease_v2(dev);
	return c;
}

CUresult gbw_cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
	CUcontext c;
	CUresult e;

	gb_ready();
	if (unlikely(!R.cuDevicePrimaryCtxReset_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	c = primary_of(dev);
	gb_forget_ctx(c);
	e = R.cuDevicePrimaryCtxReset_v2(dev);
	return e;
}
GB_ALIAS(CUresult, cuDevicePrimaryCtxReset_v2, (CUdevice));

CUresult gbw_cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	unsigned int flags;
	CUcontext c;
	CUresult e;
	int active = 1;

	gb_ready();
	if (unlikely(!R.cuDevicePrimaryCtxRelease_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	c = primary_of(dev);
	e = R.cuDevicePrimaryCtxRelease_v2(dev);
	/* the last release destroyed it (too late to unpin through it: the
	 * driver dropped that with the context) */
	if (e == CUDA_SUCCESS && c && R.cuDevicePrimaryCtxGetState(dev, &flags, &active) == CUDA_SUCCESS && !active)
		gb_forget_ctx(c);
	return e;
}
GB_ALIAS(CUresult, cuDevicePrimaryCtxRelease_v2, (CUdevice));
