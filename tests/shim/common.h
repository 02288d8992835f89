/* Shared by the shim tests: the driver API they call (resolved, through
 * LD_PRELOAD, to the shim first and the test double underneath), the
 * double's inspection functions, and status-file helpers. */
#ifndef GB_TEST_SHIM_COMMON_H
#define GB_TEST_SHIM_COMMON_H

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuabi.h"
#include "gb.h"
#include "tap.h"

CUresult cuInit(unsigned int);
CUresult cuDeviceGet(CUdevice *, int);
CUresult cuCtxCreate_v2(CUcontext *, unsigned int, CUdevice);
CUresult cuCtxSetCurrent(CUcontext);
CUresult cuCtxDestroy_v2(CUcontext);
CUresult cuDevicePrimaryCtxRetain(CUcontext *, CUdevice);
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice);
CUresult cuDevicePrimaryCtxReset_v2(CUdevice);
CUresult cuMemAlloc_v2(CUdeviceptr *, size_t);
CUresult cuMemAllocPitch_v2(CUdeviceptr *, size_t *, size_t, size_t, unsigned int);
CUresult cuMemAllocAsync(CUdeviceptr *, size_t, CUstream);
CUresult cuMemAllocAsync_ptsz(CUdeviceptr *, size_t, CUstream);
CUresult cuMemAllocFromPoolAsync(CUdeviceptr *, size_t, CUmemoryPool, CUstream);
CUresult cuMemFree_v2(CUdeviceptr);
CUresult cuMemFreeAsync(CUdeviceptr, CUstream);
CUresult cuMemFreeAsync_ptsz(CUdeviceptr, CUstream);
CUresult cuMemGetInfo_v2(size_t *, size_t *);
CUresult cuDeviceTotalMem_v2(size_t *, CUdevice);
CUresult cuMemcpyHtoD_v2(CUdeviceptr, const void *, size_t);
CUresult cuMemcpyDtoH_v2(void *, CUdeviceptr, size_t);
CUresult cuPointerGetAttribute(void *, CUpointer_attribute, CUdeviceptr);
CUresult cuPointerGetAttributes(unsigned int, CUpointer_attribute *, void **, CUdeviceptr);
CUresult cuMemGetAddressRange_v2(CUdeviceptr *, size_t *, CUdeviceptr);
CUresult cuIpcGetMemHandle(CUipcMemHandle *, CUdeviceptr);
CUresult cuStreamCreate(CUstream *, unsigned int);
CUresult cuStreamSynchronize(CUstream);
CUresult cuStreamBeginCapture_v2(CUstream, CUstreamCaptureMode);
CUresult cuStreamEndCapture(CUstream, CUgraph *);
CUresult cuEventSynchronize(CUevent);
CUresult cuMemCreate(CUmemGenericAllocationHandle *, size_t, const CUmemAllocationProp *, unsigned long long);
CUresult cuMemRelease(CUmemGenericAllocationHandle);
CUresult cuMemAddressReserve(CUdeviceptr *, size_t, size_t, CUdeviceptr, unsigned long long);
CUresult cuMemAddressFree(CUdeviceptr, size_t);
CUresult cuMemMap(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long);
CUresult cuMemUnmap(CUdeviceptr, size_t);
CUresult cuMemSetAccess(CUdeviceptr, size_t, const CUmemAccessDesc *, size_t);
CUresult cuGetProcAddress(const char *, void **, int, cuuint64_t);
CUresult cuModuleLoadData(CUmodule *, const void *);
CUresult cuModuleGetFunction(CUfunction *, CUmodule, const char *);
CUresult cuLaunchKernel(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream,
			void **, void **);
CUresult cuLaunchKernelEx(const CUlaunchConfig *, CUfunction, void **, void **);
CUresult cuGetProcAddress_v2(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *);

/* the double's test-only inspection API */
#include "doubles/fakecuda.h"

#define MiB (1ULL << 20)

/* a context on device 0, current on this thread */
static CUcontext __attribute__((unused)) setup(void)
{
	CUcontext ctx = NULL;
	CUdevice d;

	if (cuInit(0) || cuDeviceGet(&d, 0) || cuCtxCreate_v2(&ctx, 0, d)) {
		printf("Bail out! no context from the test double\n");
		exit(1);
	}
	return ctx;
}

/* our status file, once the writer thread had time to catch up */
static int __attribute__((unused)) my_status(struct gb_status *st)
{
	char path[512];
	struct gb_err err;
	const char *dir = getenv("GB_RUN_DIR");

	usleep(200 * 1000);
	gb_status_path(dir ? dir : "/run/greenboost", getpid(), path, sizeof(path));
	if (gb_status_read(path, st, &err) < 0) {
		printf("# status: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* the shim's log (GB_LOG_FILE) contains s */
static int __attribute__((unused)) log_has(const char *s)
{
	const char *f = getenv("GB_LOG_FILE");
	char *t;
	int r;

	if (!f || !(t = gb_read_file(f, 1 << 20, NULL)))
		return 0;
	r = strstr(t, s) != NULL;
	free(t);
	return r;
}

#endif
