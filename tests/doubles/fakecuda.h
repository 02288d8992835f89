/*
 * What the CUDA driver test double (fakecuda.c, built as
 * tests/doubles/libcuda.so.1) exports: the driver entry points it
 * implements, with the ABI of the real ones, and the fakecuda_* calls
 * that let a test look inside it.  Not the real cuda.h.
 */
#ifndef FAKECUDA_H
#define FAKECUDA_H

#include "cuabi.h"

/* not (yet) in cuabi.h */
#ifndef CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED
#define CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED 713
#endif
#define CU_STREAM_LEGACY ((CUstream)0x1)
#define CU_STREAM_PER_THREAD ((CUstream)0x2)
#define CU_STREAM_NON_BLOCKING 0x1
#define CU_MEMHOSTREGISTER_IOMEMORY 0x04
#define CU_MEMHOSTREGISTER_READ_ONLY 0x08

/* device pointers of the pre-3.2 (32-bit) API */
typedef unsigned int CUdeviceptr_v1;

/* ---- driver entry points ---- */

CUresult cuInit(unsigned int flags);
CUresult cuDriverGetVersion(int *version);
CUresult cuDeviceGet(CUdevice *dev, int ordinal);
CUresult cuDeviceGetCount(int *count);
CUresult cuDeviceGetName(char *name, int len, CUdevice dev);
CUresult cuDeviceGetPCIBusId(char *id, int len, CUdevice dev);
CUresult cuDeviceTotalMem(unsigned int *bytes, CUdevice dev);
CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev);
CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice dev);

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev);
CUresult cuDevicePrimaryCtxRelease(CUdevice dev);
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev);
CUresult cuCtxCreate(CUcontext *ctx, unsigned int flags, CUdevice dev);
CUresult cuCtxCreate_v2(CUcontext *ctx, unsigned int flags, CUdevice dev);
CUresult cuCtxDestroy(CUcontext ctx);
CUresult cuCtxDestroy_v2(CUcontext ctx);
CUresult cuCtxSetCurrent(CUcontext ctx);
CUresult cuCtxGetCurrent(CUcontext *ctx);
CUresult cuCtxGetDevice(CUdevice *dev);
CUresult cuCtxPushCurrent(CUcontext ctx);
CUresult cuCtxPushCurrent_v2(CUcontext ctx);
CUresult cuCtxPopCurrent(CUcontext *ctx);
CUresult cuCtxPopCurrent_v2(CUcontext *ctx);
CUresult cuCtxSynchronize(void);

CUresult cuMemAlloc(CUdeviceptr_v1 *p, unsigned int size);
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t size);
CUresult cuMemAllocPitch(CUdeviceptr_v1 *p, unsigned int *pitch, unsigned int w, unsigned int h,
			 unsigned int elem);
CUresult cuMemAllocPitch_v2(CUdeviceptr *p, size_t *pitch, size_t w, size_t h, unsigned int elem);
CUresult cuMemAllocAsync(CUdeviceptr *p, size_t size, CUstream s);
CUresult cuMemAllocAsync_ptsz(CUdeviceptr *p, size_t size, CUstream s);
CUresult cuMemAllocFromPoolAsync(CUdeviceptr *p, size_t size, CUmemoryPool pool, CUstream s);
CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *p, size_t size, CUmemoryPool pool, CUstream s);
CUresult cuMemFree(CUdeviceptr_v1 p);
CUresult cuMemFree_v2(CUdeviceptr p);
CUresult cuMemFreeAsync(CUdeviceptr p, CUstream s);
CUresult cuMemFreeAsync_ptsz(CUdeviceptr p, CUstream s);
CUresult cuMemGetInfo(unsigned int *free_b, unsigned int *total_b);
CUresult cuMemGetInfo_v2(size_t *free_b, size_t *total_b);

CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n);
CUresult cuMemcpyHtoD(CUdeviceptr_v1 dst, const void *src, unsigned int n);
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n);
CUresult cuMemcpyDtoH(void *dst, CUdeviceptr_v1 src, unsigned int n);
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n);
CUresult cuMemcpyDtoD(CUdeviceptr_v1 dst, CUdeviceptr_v1 src, unsigned int n);
CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n);
CUresult cuMemsetD8(CUdeviceptr_v1 dst, unsigned char v, unsigned int n);
CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char v, size_t n);
CUresult cuMemsetD32(CUdeviceptr_v1 dst, unsigned int v, unsigned int n);
CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int v, size_t n);
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s);
CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s);
CUresult cuMemcpyHtoDAsync(CUdeviceptr_v1 dst, const void *src, unsigned int n, CUstream s);
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s);
CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void *src, size_t n, CUstream s);
CUresult cuMemcpyDtoHAsync(void *dst, CUdeviceptr_v1 src, unsigned int n, CUstream s);
CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s);
CUresult cuMemcpyDtoHAsync_v2_ptsz(void *dst, CUdeviceptr src, size_t n, CUstream s);
CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, CUstream s);
CUresult cuMemsetD8Async_ptsz(CUdeviceptr dst, unsigned char v, size_t n, CUstream s);
CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int v, size_t n, CUstream s);
CUresult cuMemsetD32Async_ptsz(CUdeviceptr dst, unsigned int v, size_t n, CUstream s);

CUresult cuMemHostRegister(void *p, size_t size, unsigned int flags);
CUresult cuMemHostRegister_v2(void *p, size_t size, unsigned int flags);
CUresult cuMemHostUnregister(void *p);
CUresult cuMemHostGetDevicePointer(CUdeviceptr_v1 *d, void *p, unsigned int flags);
CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *d, void *p, unsigned int flags);

CUresult cuPointerGetAttribute(void *data, CUpointer_attribute a, CUdeviceptr p);
CUresult cuPointerGetAttributes(unsigned int n, CUpointer_attribute *a, void **data, CUdeviceptr p);
CUresult cuMemGetAddressRange(CUdeviceptr_v1 *base, unsigned int *size, CUdeviceptr_v1 p);
CUresult cuMemGetAddressRange_v2(CUdeviceptr *base, size_t *size, CUdeviceptr p);
CUresult cuIpcGetMemHandle(CUipcMemHandle *h, CUdeviceptr p);

CUresult cuStreamCreate(CUstream *s, unsigned int flags);
CUresult cuStreamDestroy(CUstream s);
CUresult cuStreamDestroy_v2(CUstream s);
CUresult cuStreamSynchronize(CUstream s);
CUresult cuStreamSynchronize_ptsz(CUstream s);
CUresult cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus *st);
CUresult cuStreamIsCapturing_ptsz(CUstream s, CUstreamCaptureStatus *st);
CUresult cuEventCreate(CUevent *ev, unsigned int flags);
CUresult cuEventRecord(CUevent ev, CUstream s);
CUresult cuEventRecord_ptsz(CUevent ev, CUstream s);
CUresult cuEventRecordWithFlags(CUevent ev, CUstream s, unsigned int flags);
CUresult cuEventRecordWithFlags_ptsz(CUevent ev, CUstream s, unsigned int flags);
CUresult cuStreamWaitEvent(CUstream s, CUevent ev, unsigned int flags);
CUresult cuStreamWaitEvent_ptsz(CUstream s, CUevent ev, unsigned int flags);
CUresult cuEventQuery(CUevent ev);
CUresult cuEventSynchronize(CUevent ev);
CUresult cuEventDestroy(CUevent ev);
CUresult cuEventDestroy_v2(CUevent ev);

CUresult cuModuleLoadData(CUmodule *mod, const void *image);
CUresult cuModuleUnload(CUmodule mod);
CUresult cuModuleGetFunction(CUfunction *f, CUmodule mod, const char *name);
CUresult cuFuncGetParamInfo(CUfunction f, size_t index, size_t *offset, size_t *size);
CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
			unsigned int by, unsigned int bz, unsigned int shared, CUstream s, void **params,
			void **extra);
CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
			     unsigned int by, unsigned int bz, unsigned int shared, CUstream s, void **params,
			     void **extra);
CUresult cuLaunchKernelEx(const CUlaunchConfig *cfg, CUfunction f, void **params, void **extra);
CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *cfg, CUfunction f, void **params, void **extra);

CUresult cuMemGetAllocationGranularity(size_t *gran, const CUmemAllocationProp *prop,
				       CUmemAllocationGranularity_flags flags);
CUresult cuMemCreate(CUmemGenericAllocationHandle *h, size_t size, const CUmemAllocationProp *prop,
		     unsigned long long flags);
CUresult cuMemRelease(CUmemGenericAllocationHandle h);
CUresult cuMemAddressReserve(CUdeviceptr *p, size_t size, size_t align, CUdeviceptr addr,
			     unsigned long long flags);
CUresult cuMemAddressFree(CUdeviceptr p, size_t size);
CUresult cuMemMap(CUdeviceptr p, size_t size, size_t off, CUmemGenericAllocationHandle h,
		  unsigned long long flags);
CUresult cuMemUnmap(CUdeviceptr p, size_t size);
CUresult cuMemSetAccess(CUdeviceptr p, size_t size, const CUmemAccessDesc *desc, size_t n);
CUresult cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp *prop, CUmemGenericAllocationHandle h);

CUresult cuGetErrorString(CUresult e, const char **s);
CUresult cuGetErrorName(CUresult e, const char **s);
CUresult cuGetProcAddress(const char *sym, void **pfn, int ver, cuuint64_t flags);
CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, cuuint64_t flags,
			     CUdriverProcAddressQueryResult *st);

/* ---- for tests only ---- */

/* bytes of fake VRAM in use on dev: cuMemAlloc* and device cuMemCreate */
unsigned long long fakecuda_vram_used(int dev);
/* live cuMemAlloc* allocations (VMM handles not included) */
int fakecuda_live_allocs(void);
/* live cuMemCreate handles, device or host (released but still mapped included) */
int fakecuda_vmm_handles(void);
/* host ranges registered with cuMemHostRegister, and their bytes */
int fakecuda_registered_ranges(void);
unsigned long long fakecuda_registered_bytes(void);
/* bytes of cuMemCreate in host memory (HOST, HOST_NUMA) */
unsigned long long fakecuda_host_vmm_bytes(void);
/* 1 if p lies inside a registered host range */
int fakecuda_is_registered(const void *p);
/* start a capture on stream (any handle, NULL too), or end the one it is
 * in (as fakecuda_end_capture); cuStreamIsCapturing and
 * cuStreamGetCaptureInfo report it, and a stream that waits on an event
 * recorded in it joins it */
void fakecuda_set_capturing(void *stream, int on);
/* end the capture stream is in: CUDA_ERROR_STREAM_CAPTURE_UNJOINED if
 * another stream in it has work queued after the last wait on it, else 0 */
int fakecuda_end_capture(void *stream);
/* events recorded on stream so far */
unsigned long long fakecuda_event_records(void *stream);
/* stream-ordered operations queued on stream so far (an event record
 * is one; an event stands for the operations up to its own) */
unsigned long long fakecuda_stream_ops(void *stream);
/* of the last 32 events stream waited on, those recorded on stream on
 * and waited on without CU_EVENT_WAIT_EXTERNAL (which in a capture make
 * no edge): the most operations queued there up to one of them (0: none) */
unsigned long long fakecuda_max_wait_at(void *stream, void *on);
/* the stream of the last stream-ordered copy */
void *fakecuda_last_copy_stream(void);
/* calls of cuGetProcAddress and cuGetProcAddress_v2 so far */
int fakecuda_gpa_calls(void);
/* successful launches of the kernel called name so far (0: no such kernel) */
unsigned long long fakecuda_kernel_launches(const char *name);
/* 64-bit word number word of the parameter buffer of the last launch of
 * that kernel, as it reached the double; 0 if none */
unsigned long long fakecuda_last_param(const char *name, unsigned int word);
/* bytes moved by successful cuMemcpy* calls, synchronous and async (not memsets) */
unsigned long long fakecuda_copy_bytes(void);

#endif
