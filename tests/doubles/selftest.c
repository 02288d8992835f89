/*
 * selftest - checks the test doubles themselves (fakecuda.c, and through
 * dlopen fakenvml.c and fakecudart.c), so that a shim test failing means
 * the shim, not the double.  Prints TAP.  Linked against the driver
 * double: LD_LIBRARY_PATH=tests/doubles tests/doubles/selftest
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fakecuda.h"

#define MiB (1ULL << 20)

static int ntests, nfailed;

static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* check a call's result code */
#define RC(call, want) do { \
	CUresult rc_ = (call); \
	ok(rc_ == (want), "%s == %d (got %d)", #call, (int)(want), (int)rc_); \
} while (0)

static void *sym(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

static void *gpa(const char *name, int ver, cuuint64_t flags)
{
	CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	void *fn = NULL;

	if (cuGetProcAddress_v2(name, &fn, ver, flags, &st) != CUDA_SUCCESS || st != CU_GET_PROC_ADDRESS_SUCCESS)
		return NULL;
	return fn;
}

static void *no_context(void *arg)
{
	CUcontext c = (CUcontext)1;
	CUdeviceptr d;
	int *res = arg;

	res[0] = cuMemAlloc_v2(&d, 4096);
	res[1] = cuCtxGetCurrent(&c);
	res[2] = c == NULL;
	return NULL;
}

/* kB resident in the mapping that holds p (memory really backed: pages
 * that only map the shared zero page do not count) */
static long rss_kb(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi;
	char line[512];
	long kb = -1;
	int in = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* a mapping's first line, "lo-hi perms ..."; no field line parses so */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* all pages of [p, p+n) resident */
static int resident(void *p, size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), i;
	unsigned char v[1024];

	if (n / pg > sizeof(v) || mincore(p, n, v) < 0)
		return 0;
	for (i = 0; i < n / pg; i++)
		if (!(v[i] & 1))
			return 0;
	return 1;
}

static void t_before_init(void)
{
	CUdeviceptr d;
	CUcontext c;
	int v = 0;

	RC(cuMemAlloc_v2(&d, 4096), CUDA_ERROR_NOT_INITIALIZED);
	RC(cuCtxGetCurrent(&c), CUDA_ERROR_NOT_INITIALIZED);
	RC(cuDriverGetVersion(&v), CUDA_SUCCESS);
	ok(v == 13000, "driver version 13000 (got %d)", v);
}

static void t_devices(void)
{
	char s[64];
	size_t total = 0;
	int n = 0, v = -1;

	RC(cuInit(1), CUDA_ERROR_INVALID_VALUE);
	RC(cuInit(0), CUDA_SUCCESS);
	RC(cuDeviceGetCount(&n), CUDA_SUCCESS);
	ok(n == 2, "FAKECUDA_DEVICES=2 gives 2 devices (got %d)", n);
	RC(cuDeviceGetName(s, sizeof(s), 0), CUDA_SUCCESS);
	ok(!strcmp(s, "GreenBoost Fake GPU"), "device name (got %s)", s);
	RC(cuDeviceGetPCIBusId(s, sizeof(s), 1), CUDA_SUCCESS);
	ok(!strcmp(s, "0000:11:00.0"), "device 1 PCI bus id (got %s)", s);
	RC(cuDeviceTotalMem_v2(&total, 0), CUDA_SUCCESS);
	ok(total == 64 * MiB, "total memory is FAKECUDA_VRAM=64M (got %zu)", total);
	RC(cuDeviceTotalMem_v2(&total, 2), CUDA_ERROR_INVALID_DEVICE);
	RC(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID, 0), CUDA_SUCCESS);
	ok(v == 0, "host NUMA id 0");
	RC(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_HOST_NUMA_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, 0),
	   CUDA_SUCCESS);
	ok(v == 1, "host NUMA VMM supported");
	setenv("FAKECUDA_NO_HOST_NUMA_VMM", "1", 1);
	cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_HOST_NUMA_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, 0);
	ok(v == 0, "FAKECUDA_NO_HOST_NUMA_VMM=1: host NUMA VMM not supported");
	unsetenv("FAKECUDA_NO_HOST_NUMA_VMM");
	RC(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 1), CUDA_SUCCESS);
	ok(v == 0x11, "PCI bus attribute of device 1 (got %#x)", v);
	RC(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT, 0), CUDA_ERROR_INVALID_VALUE);
}

static void t_contexts(void)
{
	CUcontext p0, c1, c = NULL;
	CUdeviceptr d;
	size_t f, t;
	pthread_t th;
	int dev = -1, res[3];

	RC(cuMemAlloc_v2(&d, 4096), CUDA_ERROR_INVALID_CONTEXT);
	RC(cuMemGetInfo_v2(&f, &t), CUDA_ERROR_INVALID_CONTEXT);
	RC(cuCtxGetDevice(&dev), CUDA_ERROR_INVALID_CONTEXT);
	RC(cuDevicePrimaryCtxRetain(&p0, 0), CUDA_SUCCESS);
	RC(cuCtxSetCurrent(p0), CUDA_SUCCESS);
	RC(cuCtxGetDevice(&dev), CUDA_SUCCESS);
	ok(dev == 0, "primary context of device 0 current");

	RC(cuCtxCreate_v2(&c1, 0, 1), CUDA_SUCCESS);
	cuCtxGetDevice(&dev);
	ok(dev == 1, "a created context is pushed current");
	RC(cuMemAlloc_v2(&d, 3 * MiB), CUDA_SUCCESS);
	ok(fakecuda_vram_used(1) == 3 * MiB && fakecuda_vram_used(0) == 0, "allocation counts on device 1");
	RC(cuMemFree_v2(d), CUDA_SUCCESS);
	RC(cuCtxPopCurrent_v2(&c), CUDA_SUCCESS);
	ok(c == c1, "pop returns it");
	cuCtxGetDevice(&dev);
	ok(dev == 0, "and device 0 is current again");
	RC(cuCtxPushCurrent_v2(c1), CUDA_SUCCESS);
	RC(cuCtxDestroy_v2(c1), CUDA_SUCCESS);
	cuCtxGetCurrent(&c);
	ok(c == p0, "destroying the current context pops it");
	RC(cuCtxPushCurrent_v2(c1), CUDA_ERROR_INVALID_CONTEXT);
	RC(cuCtxDestroy_v2(p0), CUDA_ERROR_INVALID_CONTEXT);

	pthread_create(&th, NULL, no_context, res);
	pthread_join(th, NULL);
	ok(res[0] == CUDA_ERROR_INVALID_CONTEXT && res[1] == CUDA_SUCCESS && res[2],
	   "the current context is per thread");
}

static void t_device_memory(void)
{
	CUdeviceptr d, e, x;
	size_t f = 0, t = 0, pitch = 0;
	unsigned int buf[256], back[256];
	int i;

	RC(cuMemAlloc_v2(&d, 16 * MiB), CUDA_SUCCESS);
	ok(d % 256 == 0, "allocation aligned to 256");
	ok(fakecuda_vram_used(0) == 16 * MiB && fakecuda_live_allocs() == 1, "16M counted, one live allocation");
	RC(cuMemGetInfo_v2(&f, &t), CUDA_SUCCESS);
	ok(f == 48 * MiB && t == 64 * MiB, "cuMemGetInfo: free 48M of 64M (got %zu of %zu)", f, t);
	RC(cuMemAlloc_v2(&x, 48 * MiB + 1), CUDA_ERROR_OUT_OF_MEMORY);
	RC(cuMemAlloc_v2(&e, 48 * MiB), CUDA_SUCCESS);
	RC(cuMemAlloc_v2(&x, 1), CUDA_ERROR_OUT_OF_MEMORY);
	RC(cuMemFree_v2(e), CUDA_SUCCESS);
	RC(cuMemAlloc_v2(&x, 0), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemFree_v2(d + 8), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemFree_v2((CUdeviceptr)(uintptr_t)buf), CUDA_ERROR_INVALID_VALUE);

	for (i = 0; i < 256; i++)
		buf[i] = (unsigned int)i * 7;
	RC(cuMemcpyHtoD_v2(d + 4096, buf, sizeof(buf)), CUDA_SUCCESS);
	RC(cuMemcpyDtoD_v2(d, d + 4096, sizeof(buf)), CUDA_SUCCESS);
	RC(cuMemcpyDtoH_v2(back, d, sizeof(back)), CUDA_SUCCESS);
	ok(!memcmp(buf, back, sizeof(buf)), "HtoD, DtoD, DtoH round trip");
	RC(cuMemsetD32_v2(d, 0xdeadbeef, 256), CUDA_SUCCESS);
	RC(cuMemsetD8_v2(d, 0x11, 4), CUDA_SUCCESS);
	cuMemcpyDtoH_v2(back, d, sizeof(back));
	ok(back[0] == 0x11111111 && back[1] == 0xdeadbeef && back[255] == 0xdeadbeef, "memset D8 and D32");
	RC(cuMemcpyHtoD_v2(d + 16 * MiB - 8, buf, 16), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemcpyDtoH_v2(back, (CUdeviceptr)(uintptr_t)buf, 16), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemsetD32_v2(d + 2, 0, 1), CUDA_ERROR_INVALID_VALUE);

	RC(cuMemAllocPitch_v2(&e, &pitch, 1000, 10, 4), CUDA_SUCCESS);
	ok(pitch == 1024 && fakecuda_vram_used(0) == 16 * MiB + 10240, "pitch 1024 for 1000 bytes");
	RC(cuMemFree_v2(e), CUDA_SUCCESS);
	RC(cuMemAllocPitch_v2(&e, &pitch, 1000, 10, 3), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemFree_v2(d), CUDA_SUCCESS);
	ok(fakecuda_vram_used(0) == 0 && fakecuda_live_allocs() == 0, "all freed and uncounted");
}

static void t_host_register(void)
{
	size_t n = 1 * MiB;
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CUdeviceptr d = 0;
	long rss = rss_kb(p);

	ok(!resident(p, n), "fresh anonymous memory is not resident");
	RC(cuMemHostRegister_v2(p, n, CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP), CUDA_SUCCESS);
	ok(resident(p, n), "registered memory is resident");
	rss = rss_kb(p) - rss;
	ok(rss >= (long)(n >> 10), "and backed: RSS grew by %ld kB", rss);
	ok(fakecuda_registered_ranges() == 1 && fakecuda_registered_bytes() == n, "one range of 1M registered");
	ok(fakecuda_is_registered(p + n - 1) && !fakecuda_is_registered(p + n), "is_registered covers the range");
	RC(cuMemHostRegister_v2(p + 4096, 4096, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
	RC(cuMemHostRegister_v2(NULL, 4096, 0), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemHostRegister_v2(p, 0, 0), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemHostGetDevicePointer_v2(&d, p, 0), CUDA_SUCCESS);
	ok(d == (CUdeviceptr)(uintptr_t)p, "device pointer equals host pointer");
	RC(cuMemHostGetDevicePointer_v2(&d, p + 100, 0), CUDA_SUCCESS);
	ok(d == (CUdeviceptr)(uintptr_t)(p + 100), "interior device pointer too");
	RC(cuMemHostGetDevicePointer_v2(&d, p + n, 0), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemsetD8_v2(d, 0x5a, 16), CUDA_SUCCESS);
	ok(p[100] == 0x5a && p[115] == 0x5a, "the device writes registered memory");
	RC(cuMemHostUnregister(p + 4096), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	RC(cuMemHostUnregister(p), CUDA_SUCCESS);
	ok(fakecuda_registered_ranges() == 0 && !fakecuda_is_registered(p), "unregistered");
	RC(cuMemHostUnregister(p), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	setenv("FAKECUDA_REGISTER_FAIL", "1", 1);
	RC(cuMemHostRegister_v2(p, n, 0), CUDA_ERROR_OUT_OF_MEMORY);
	unsetenv("FAKECUDA_REGISTER_FAIL");
	ok(fakecuda_registered_ranges() == 0, "a failed registration leaves nothing");
	munmap(p, n);
}

static void t_pointers(void)
{
	CUpointer_attribute at[6] = {
		CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
		CU_POINTER_ATTRIBUTE_HOST_POINTER, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
		CU_POINTER_ATTRIBUTE_RANGE_SIZE, CU_POINTER_ATTRIBUTE_CONTEXT,
	};
	unsigned int type, managed = 9, mapped = 0;
	int ord;
	void *host;
	CUdeviceptr start, d, base = 0;
	size_t size, sz = 0;
	CUcontext ctx, cur;
	void *data[6] = { &type, &ord, &host, &start, &size, &ctx };
	CUipcMemHandle ih;
	uint64_t ib;
	static char hbuf[8192];

	cuCtxGetCurrent(&cur);
	cuMemAlloc_v2(&d, MiB);
	RC(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 10), CUDA_SUCCESS);
	ok(type == CU_MEMORYTYPE_DEVICE, "device memory has type DEVICE");
	RC(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, d + 10), CUDA_SUCCESS);
	ok(start == d, "an interior pointer resolves to its allocation");
	RC(cuPointerGetAttribute(&host, CU_POINTER_ATTRIBUTE_HOST_POINTER, d), CUDA_ERROR_INVALID_VALUE);
	RC(cuPointerGetAttribute(&managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, d), CUDA_SUCCESS);
	RC(cuPointerGetAttribute(&mapped, CU_POINTER_ATTRIBUTE_MAPPED, d), CUDA_SUCCESS);
	ok(managed == 0 && mapped == 1, "not managed, mapped");
	host = (void *)1;
	RC(cuPointerGetAttributes(6, at, data, d + 100), CUDA_SUCCESS);
	ok(type == CU_MEMORYTYPE_DEVICE && ord == 0 && host == NULL && start == d && size == MiB && ctx == cur,
	   "cuPointerGetAttributes on device memory");
	RC(cuMemGetAddressRange_v2(&base, &sz, d + 4095), CUDA_SUCCESS);
	ok(base == d && sz == MiB, "cuMemGetAddressRange on an interior pointer");
	RC(cuIpcGetMemHandle(&ih, d + 1), CUDA_SUCCESS);
	memcpy(&ib, ih.reserved, sizeof(ib));
	ok(ib == d, "IPC handle carries the allocation");
	RC(cuIpcGetMemHandle(&ih, (CUdeviceptr)(uintptr_t)hbuf), CUDA_ERROR_INVALID_VALUE);

	cuMemHostRegister_v2(hbuf, sizeof(hbuf), 0);
	RC(cuPointerGetAttributes(6, at, data, (CUdeviceptr)(uintptr_t)(hbuf + 5)), CUDA_SUCCESS);
	ok(type == CU_MEMORYTYPE_HOST && host == hbuf + 5 && start == (CUdeviceptr)(uintptr_t)hbuf &&
	   size == sizeof(hbuf), "cuPointerGetAttributes on registered host memory");
	RC(cuPointerGetAttribute(&host, CU_POINTER_ATTRIBUTE_HOST_POINTER, (CUdeviceptr)(uintptr_t)hbuf),
	   CUDA_SUCCESS);
	RC(cuMemGetAddressRange_v2(&base, &sz, (CUdeviceptr)(uintptr_t)hbuf), CUDA_ERROR_NOT_FOUND);
	cuMemHostUnregister(hbuf);

	memset(&type, 0xff, sizeof(type));
	memset(&start, 0xff, sizeof(start));
	host = (void *)1;
	RC(cuPointerGetAttributes(6, at, data, (CUdeviceptr)(uintptr_t)hbuf), CUDA_SUCCESS);
	ok(type == 0 && host == NULL && start == 0, "unknown memory: all zeros, success");
	RC(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)(uintptr_t)hbuf),
	   CUDA_ERROR_INVALID_VALUE);
	RC(cuMemGetAddressRange_v2(&base, &sz, (CUdeviceptr)(uintptr_t)hbuf), CUDA_ERROR_INVALID_VALUE);
	cuMemFree_v2(d);
}

static void t_proc_address(void)
{
	CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SUCCESS;
	CUresult (*meminfo)(size_t *, size_t *);
	void *fn = (void *)1;
	size_t f = 0, t = 0;
	int calls = fakecuda_gpa_calls();

	ok(gpa("cuMemAlloc", 13000, 0) == sym("cuMemAlloc_v2") && sym("cuMemAlloc_v2"),
	   "cuMemAlloc at 13000 is the exported cuMemAlloc_v2");
	ok(gpa("cuMemAlloc", 3000, 0) == sym("cuMemAlloc") && sym("cuMemAlloc") != sym("cuMemAlloc_v2"),
	   "cuMemAlloc at 3000 is the legacy cuMemAlloc");
	ok(gpa("cuMemAllocAsync", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) ==
	   sym("cuMemAllocAsync_ptsz"), "per-thread stream flag gives cuMemAllocAsync_ptsz");
	ok(gpa("cuMemAllocAsync", 13000, CU_GET_PROC_ADDRESS_LEGACY_STREAM) == sym("cuMemAllocAsync"),
	   "legacy stream flag gives cuMemAllocAsync");
	ok(gpa("cuEventRecord", 12000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) == sym("cuEventRecord_ptsz"),
	   "and cuEventRecord_ptsz");
	ok(gpa("cuGetProcAddress", 12000, 0) == sym("cuGetProcAddress_v2") &&
	   gpa("cuGetProcAddress", 11030, 0) == sym("cuGetProcAddress"), "cuGetProcAddress _v2 from 12000");
	ok(gpa("cuCtxDestroy", 3020, 0) == sym("cuCtxDestroy") && gpa("cuCtxDestroy", 4000, 0) == sym("cuCtxDestroy_v2"),
	   "cuCtxDestroy _v2 from 4000");
	ok(gpa("cuMemHostRegister", 6000, 0) == sym("cuMemHostRegister") &&
	   gpa("cuMemHostRegister", 6050, 0) == sym("cuMemHostRegister_v2"), "cuMemHostRegister _v2 from 6050");
	ok(gpa("cuDevicePrimaryCtxRelease", 10020, 0) == sym("cuDevicePrimaryCtxRelease") &&
	   gpa("cuDevicePrimaryCtxRelease", 11000, 0) == sym("cuDevicePrimaryCtxRelease_v2"),
	   "cuDevicePrimaryCtxRelease _v2 from 11000");
	ok(gpa("cuMemCreate", 13000, 0) == sym("cuMemCreate"), "other names map to themselves");
	RC(cuGetProcAddress_v2("cuNoSuchThing", &fn, 13000, 0, &st), CUDA_ERROR_NOT_FOUND);
	ok(fn == NULL && st == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND, "unknown: NULL, SYMBOL_NOT_FOUND");
	RC(cuGetProcAddress("cuMemFree", &fn, 13000, 0), CUDA_SUCCESS);
	ok(fn == sym("cuMemFree_v2"), "the CUDA 11 cuGetProcAddress follows the same rules");
	ok(fakecuda_gpa_calls() == calls + 16, "calls counted (%d)", fakecuda_gpa_calls() - calls);

	setenv("FAKECUDA_GPA_THUNKS", "1", 1);
	fn = gpa("cuMemGetInfo", 13000, 0);
	unsetenv("FAKECUDA_GPA_THUNKS");
	ok(fn && fn != sym("cuMemGetInfo_v2") && fn != sym("cuMemGetInfo"), "FAKECUDA_GPA_THUNKS=1: a thunk");
	memcpy(&meminfo, &fn, sizeof(fn));
	RC(meminfo(&f, &t), CUDA_SUCCESS);
	ok(t == 64 * MiB, "that calls the real entry point");
}

static void t_legacy(void)
{
	CUdeviceptr_v1 d = 0;
	unsigned int f = 0, t = 0;
	CUresult e = cuMemAlloc(&d, 4096);

	/* low memory may not be had (valgrind, non-x86): then out of memory */
	ok((e == CUDA_SUCCESS && d && fakecuda_vram_used(0) == 4096) || e == CUDA_ERROR_OUT_OF_MEMORY,
	   "legacy cuMemAlloc: 32-bit pointer or out of memory (got %d)", e);
	if (e == CUDA_SUCCESS)
		RC(cuMemFree(d), CUDA_SUCCESS);
	RC(cuMemGetInfo(&f, &t), CUDA_SUCCESS);
	ok(t == 64 * MiB && f == t, "legacy cuMemGetInfo");
}

static void t_streams_events(void)
{
	CUstreamCaptureStatus cs = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
	CUstream s;
	CUevent ev;
	CUdeviceptr d;

	RC(cuStreamCreate(&s, 0), CUDA_SUCCESS);
	RC(cuStreamIsCapturing(s, &cs), CUDA_SUCCESS);
	ok(cs == CU_STREAM_CAPTURE_STATUS_NONE, "a new stream is not capturing");
	fakecuda_set_capturing(s, 1);
	cuStreamIsCapturing(s, &cs);
	ok(cs == CU_STREAM_CAPTURE_STATUS_ACTIVE, "fakecuda_set_capturing makes it capture");
	cuStreamIsCapturing_ptsz(s, &cs);
	ok(cs == CU_STREAM_CAPTURE_STATUS_ACTIVE, "the _ptsz call too");
	fakecuda_set_capturing(s, 0);
	cuStreamIsCapturing(s, &cs);
	ok(cs == CU_STREAM_CAPTURE_STATUS_NONE, "and stop");
	fakecuda_set_capturing(NULL, 1);
	cuStreamIsCapturing_ptsz(NULL, &cs);
	ok(cs == CU_STREAM_CAPTURE_STATUS_ACTIVE, "the default stream can capture too");
	fakecuda_set_capturing(NULL, 0);

	RC(cuMemAllocAsync(&d, MiB, s), CUDA_SUCCESS);
	ok(fakecuda_vram_used(0) == MiB, "cuMemAllocAsync counted");
	RC(cuMemFreeAsync_ptsz(d, NULL), CUDA_SUCCESS);
	RC(cuMemAllocFromPoolAsync_ptsz(&d, MiB, NULL, CU_STREAM_PER_THREAD), CUDA_SUCCESS);
	RC(cuMemFreeAsync(d, s), CUDA_SUCCESS);
	ok(fakecuda_vram_used(0) == 0, "cuMemFreeAsync uncounted");
	RC(cuStreamSynchronize(s), CUDA_SUCCESS);
	RC(cuStreamSynchronize_ptsz(NULL), CUDA_SUCCESS);

	RC(cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING), CUDA_SUCCESS);
	RC(cuEventQuery(ev), CUDA_SUCCESS);
	setenv("FAKECUDA_EVENT_DELAY", "2", 1);
	RC(cuEventRecord(ev, s), CUDA_SUCCESS);
	RC(cuEventQuery(ev), CUDA_ERROR_NOT_READY);
	RC(cuEventQuery(ev), CUDA_ERROR_NOT_READY);
	RC(cuEventQuery(ev), CUDA_SUCCESS);
	RC(cuEventRecord_ptsz(ev, NULL), CUDA_SUCCESS);
	RC(cuEventSynchronize(ev), CUDA_SUCCESS);
	RC(cuEventQuery(ev), CUDA_SUCCESS);
	unsetenv("FAKECUDA_EVENT_DELAY");
	RC(cuEventDestroy_v2(ev), CUDA_SUCCESS);
	RC(cuEventQuery(ev), CUDA_ERROR_INVALID_HANDLE);
	RC(cuStreamDestroy_v2(s), CUDA_SUCCESS);
	RC(cuStreamSynchronize(s), CUDA_ERROR_INVALID_HANDLE);
}

/* ---- kernels ---- */

/* as the shim's module would look, with entries the double lacks, odd
 * spacing, and names that only look like entries */
static const char ptx[] =
	".version 7.0\n.target sm_52\n.address_size 64\n"
	".visible .entry gb_sum(\n\t.param .u64 p,\n\t.param .u64 n,\n\t.param .u64 out\n)\n{\n\tret;\n}\n"
	".visible .entry gb_writeback(.param .u64 s, .param .u64 d, .param .u64 n, .param .u64 sums)\n{ ret; }\n"
	".entry t_sum (.param .u64 p, .param .u64 n, .param .u64 out) { ret; }\n"
	".visible\t.entry\tt_fill(.param .u64 p, .param .u64 n, .param .u32 v) { ret; }\n"
	".weak .entry t_copy(.param .u64 d, .param .u64 s, .param .u64 n) { ret; }\n"
	".visible .entry t_struct(.param .align 8 .b8 a[32]) { ret; }\n"
	".visible .entry not_in_double(.param .u64 x) { ret; }\n"
	".func t_helper() { ret; }\n";

/* ways to launch: kernelParams, extra, cuLaunchKernelEx with each */
enum { BY_PARAMS, BY_EXTRA, BY_EX_PARAMS, BY_EX_EXTRA, NHOW };
static const char *const how_name[NHOW] = { "kernelParams", "extra", "cuLaunchKernelEx", "cuLaunchKernelEx extra" };

static CUresult launch_by(int how, CUfunction f, void **params, void *buf, size_t size, CUstream s)
{
	void *extra[] = {
		(void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT, buf,
		(void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT, &size,
		(void *)(uintptr_t)CU_LAUNCH_PARAM_END_AS_INT,
	};
	CUlaunchConfig cfg = { 8, 2, 1, 128, 2, 1, 0, s, NULL, 0 };

	switch (how) {
	case BY_PARAMS:
		return cuLaunchKernel(f, 8, 1, 1, 256, 1, 1, 0, s, params, NULL);
	case BY_EXTRA:
		return cuLaunchKernel_ptsz(f, 1, 1, 1, 32, 1, 1, 1024, s, NULL, extra);
	case BY_EX_PARAMS:
		return cuLaunchKernelEx(&cfg, f, params, NULL);
	default:
		return cuLaunchKernelEx_ptsz(&cfg, f, NULL, extra);
	}
}

static uint64_t le_word(const unsigned char *b)
{
	uint64_t w = 0;
	int k;

	for (k = 7; k >= 0; k--)
		w = w << 8 | b[k];
	return w;
}

/* gb_sum computed byte by byte: byte j is bits 8(j%8) of word j/8 */
static uint64_t ref_sum(const unsigned char *p, size_t n)
{
	uint64_t s = 0;
	size_t j;

	for (j = 0; j < n; j++)
		s += ((uint64_t)p[j] << (8 * (j % 8))) * (2 * (uint64_t)(j / 8) + 1);
	return s;
}

static CUfunction fn(CUmodule m, const char *name)
{
	CUfunction f = NULL;

	if (cuModuleGetFunction(&f, m, name) != CUDA_SUCCESS)
		return NULL;
	return f;
}

static void t_modules(void)
{
	static const struct {
		const char *name;
		size_t n, off[4], size[4];
	} pi[] = {
		{ "gb_sum", 3, { 0, 8, 16 }, { 8, 8, 8 } },
		{ "gb_writeback", 4, { 0, 8, 16, 24 }, { 8, 8, 8, 8 } },
		{ "t_sum", 3, { 0, 8, 16 }, { 8, 8, 8 } },
		{ "t_fill", 3, { 0, 8, 16 }, { 8, 8, 4 } },
		{ "t_copy", 3, { 0, 8, 16 }, { 8, 8, 8 } },
		{ "t_struct", 1, { 0 }, { 32 } },
	};
	CUmodule m = NULL, m2 = NULL;
	CUfunction f = NULL, g = NULL;
	CUcontext c;
	size_t i, j, off, size;
	int good;

	cuCtxPopCurrent_v2(&c);
	RC(cuModuleLoadData(&m, ptx), CUDA_ERROR_INVALID_CONTEXT);
	cuCtxPushCurrent_v2(c);
	RC(cuModuleLoadData(NULL, ptx), CUDA_ERROR_INVALID_VALUE);
	RC(cuModuleLoadData(&m, NULL), CUDA_ERROR_INVALID_VALUE);
	RC(cuModuleLoadData(&m, ptx), CUDA_SUCCESS);
	for (i = 0; i < sizeof(pi) / sizeof(pi[0]); i++)
		ok(fn(m, pi[i].name) != NULL, "a module with several .entry lines has %s", pi[i].name);
	RC(cuModuleGetFunction(&f, m, "not_in_double"), CUDA_ERROR_NOT_FOUND);
	RC(cuModuleGetFunction(&f, m, "t_helper"), CUDA_ERROR_NOT_FOUND);
	RC(cuModuleGetFunction(&f, m, "gb_su"), CUDA_ERROR_NOT_FOUND);
	RC(cuModuleGetFunction(&f, m, "no_such_kernel"), CUDA_ERROR_NOT_FOUND);
	RC(cuModuleGetFunction(&f, m, NULL), CUDA_ERROR_INVALID_VALUE);
	RC(cuModuleGetFunction(&f, (CUmodule)&f, "gb_sum"), CUDA_ERROR_INVALID_HANDLE);
	ok(fn(m, "t_fill") == fn(m, "t_fill") && fn(m, "t_fill") != fn(m, "t_sum"), "one handle per kernel");

	/* a kernel the double has, but not in this module */
	RC(cuModuleLoadData(&m2, ".visible .entry gb_sum(.param .u64 p, .param .u64 n, .param .u64 o) {}\n"
			     "// x.entry t_copy(\n.entrypoint t_sum\n.entry"),
	   CUDA_SUCCESS);
	RC(cuModuleGetFunction(&f, m2, "t_fill"), CUDA_ERROR_NOT_FOUND);
	RC(cuModuleGetFunction(&f, m2, "t_copy"), CUDA_ERROR_NOT_FOUND);
	RC(cuModuleGetFunction(&f, m2, "t_sum"), CUDA_ERROR_NOT_FOUND);
	g = fn(m2, "gb_sum");
	ok(g && g != fn(m, "gb_sum"), "each module its own handles");

	for (i = 0; i < sizeof(pi) / sizeof(pi[0]); i++) {
		f = fn(m, pi[i].name);
		good = 1;
		for (j = 0; j < pi[i].n; j++) {
			off = size = 99;
			good &= cuFuncGetParamInfo(f, j, &off, &size) == CUDA_SUCCESS && off == pi[i].off[j] &&
				size == pi[i].size[j];
		}
		ok(good, "%s: parameter offsets and sizes", pi[i].name);
		RC(cuFuncGetParamInfo(f, pi[i].n, &off, &size), CUDA_ERROR_INVALID_VALUE);
	}
	off = 99;
	RC(cuFuncGetParamInfo(fn(m, "t_fill"), 2, &off, NULL), CUDA_SUCCESS);
	ok(off == 16, "the size may be NULL");
	RC(cuFuncGetParamInfo(fn(m, "t_fill"), 0, NULL, &size), CUDA_ERROR_INVALID_VALUE);
	RC(cuFuncGetParamInfo((CUfunction)&f, 0, &off, &size), CUDA_ERROR_INVALID_HANDLE);

	RC(cuModuleUnload(m2), CUDA_SUCCESS);
	RC(cuModuleUnload(m2), CUDA_ERROR_INVALID_HANDLE);
	RC(cuFuncGetParamInfo(g, 0, &off, &size), CUDA_ERROR_INVALID_HANDLE);
	RC(cuLaunchKernel(g, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL), CUDA_ERROR_INVALID_HANDLE);
	RC(cuModuleUnload(m), CUDA_SUCCESS);
}

static void t_kernels(void)
{
	enum { N = 1001 };      /* odd, not a multiple of 8 */
	static unsigned char host[N];
	unsigned char back[N], tail[8] = { 0 };
	CUdeviceptr d, d2, out, sums;
	CUmodule m;
	CUfunction f;
	CUstream s;
	CUevent ev;
	uint64_t o = 0, eq[2] = { 7, 7 }, ne[2] = { 7, 8 };
	unsigned long long n0;
	size_t i;
	int how, good;

	ok(fakecuda_kernel_launches("t_struct") == 0 && fakecuda_last_param("t_struct", 0) == 0,
	   "no launch yet: count 0, last parameters 0");
	ok(fakecuda_kernel_launches("no_such_kernel") == 0 && fakecuda_last_param(NULL, 0) == 0,
	   "unknown kernels: 0");
	cuModuleLoadData(&m, ptx);
	cuStreamCreate(&s, 0);
	cuMemAlloc_v2(&d, 4096);
	cuMemAlloc_v2(&d2, 4096);
	cuMemAlloc_v2(&out, 64);
	sums = out + 16;
	for (i = 0; i < N; i++)
		host[i] = (unsigned char)(i * 37 + (i >> 3) + 1);
	cuMemcpyHtoD_v2(d, host, N);
	cuMemsetD8_v2(d + N, 0xff, 4096 - N);

	/* gb_sum: known answers, then an odd length against ref_sum */
	{
		uint64_t p, n, po, r;
		void *params[] = { &p, &n, &po };
		uint64_t buf[3];
		unsigned char one[9] = { 1, 0, 0, 0, 0, 0, 0, 0, 1 };

		f = fn(m, "gb_sum");
		p = (uintptr_t)one;
		po = out;
		n = 1;
		memset((void *)(uintptr_t)out, 0, 8);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL), CUDA_SUCCESS);
		memcpy(&r, (void *)(uintptr_t)out, 8);
		ok(r == 1, "gb_sum of one byte 1 is 1 (got %llu)", (unsigned long long)r);
		n = 9;
		memset((void *)(uintptr_t)out, 0, 8);
		cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL);
		memcpy(&r, (void *)(uintptr_t)out, 8);
		ok(r == 1 + 3, "the second word weighs 3 (got %llu)", (unsigned long long)r);
		for (how = 0; how < NHOW; how++) {
			p = d;
			n = N;
			o = 12345;
			cuMemcpyHtoD_v2(out, &o, 8);
			buf[0] = p, buf[1] = n, buf[2] = po;
			RC(launch_by(how, f, params, buf, sizeof(buf), how & 1 ? s : NULL), CUDA_SUCCESS);
			cuMemcpyDtoH_v2(&o, out, 8);
			ok(o == 12345 + ref_sum(host, N), "gb_sum of %d bytes by %s adds to *out", N, how_name[how]);
		}
		/* the padding is zeros, whatever lies past the end */
		memcpy(tail, host + N - N % 8, N % 8);
		ok(ref_sum(host, N) == ref_sum(host, N - N % 8) + le_word(tail) * (2 * (N / 8) + 1),
		   "the reference agrees with the word-wise definition");
		n = 0;
		o = 5;
		cuMemcpyHtoD_v2(out, &o, 8);
		cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL);
		cuMemcpyDtoH_v2(&o, out, 8);
		ok(o == 5, "gb_sum of 0 bytes adds 0");
		ok(fakecuda_last_param("gb_sum", 0) == d && fakecuda_last_param("gb_sum", 1) == 0 &&
		   fakecuda_last_param("gb_sum", 2) == out && fakecuda_last_param("gb_sum", 3) == 0,
		   "fakecuda_last_param: the last gb_sum's parameters");
	}

	/* gb_writeback: copies only when the sums differ */
	{
		uint64_t src, dst, n, ps;
		void *params[] = { &src, &dst, &n, &ps };
		uint64_t buf[4];

		f = fn(m, "gb_writeback");
		for (how = 0; how < NHOW; how++) {
			src = d, dst = d2, n = N, ps = sums;
			buf[0] = src, buf[1] = dst, buf[2] = n, buf[3] = ps;
			cuMemsetD8_v2(d2, 0xee, 4096);
			cuMemcpyHtoD_v2(sums, eq, sizeof(eq));
			RC(launch_by(how, f, params, buf, sizeof(buf), s), CUDA_SUCCESS);
			cuMemcpyDtoH_v2(back, d2, N);
			good = back[0] == 0xee && back[N - 1] == 0xee;
			cuMemcpyHtoD_v2(sums, ne, sizeof(ne));
			RC(launch_by(how, f, params, buf, sizeof(buf), s), CUDA_SUCCESS);
			cuMemcpyDtoH_v2(back, d2, N);
			good &= !memcmp(back, host, N) && ((unsigned char *)(uintptr_t)d2)[N] == 0xee;
			ok(good, "gb_writeback by %s: no copy for equal sums, exactly nbytes for different ones",
			   how_name[how]);
		}
	}

	/* t_sum */
	{
		uint64_t p, n, po, want = 0;
		void *params[] = { &p, &n, &po };
		uint64_t buf[3];

		for (i = 0; i < 100; i++)
			want += host[i];
		f = fn(m, "t_sum");
		for (how = 0; how < NHOW; how++) {
			p = d, n = 100, po = out;
			buf[0] = p, buf[1] = n, buf[2] = po;
			o = 999;
			cuMemcpyHtoD_v2(out, &o, 8);
			RC(launch_by(how, f, params, buf, sizeof(buf), NULL), CUDA_SUCCESS);
			cuMemcpyDtoH_v2(&o, out, 8);
			ok(o == want, "t_sum by %s: %llu (got %llu)", how_name[how], (unsigned long long)want,
			   (unsigned long long)o);
		}
	}

	/* t_fill: the u32 at 16, its low byte used */
	{
		uint64_t p, n;
		uint32_t v;
		void *params[] = { &p, &n, &v };
		struct {
			uint64_t p, n;
			uint32_t v;
		} buf;

		f = fn(m, "t_fill");
		for (how = 0; how < NHOW; how++) {
			cuMemsetD8_v2(d2, 0, 4096);
			p = d2 + 1, n = 100, v = 0x1234a0u + (uint32_t)how;
			buf.p = p, buf.n = n, buf.v = v;
			/* extra: the exact 20 bytes the parameters take */
			RC(launch_by(how, f, params, &buf, 20, CU_STREAM_PER_THREAD), CUDA_SUCCESS);
			cuMemcpyDtoH_v2(back, d2, 102);
			good = back[0] == 0 && back[101] == 0;
			for (i = 1; i <= 100; i++)
				good &= back[i] == 0xa0 + how;
			ok(good, "t_fill by %s: [p, p+n) set to the value's low byte", how_name[how]);
		}
		ok(fakecuda_last_param("t_fill", 2) == 0x1234a3u, "the u32 parameter in word 2 (got %#llx)",
		   fakecuda_last_param("t_fill", 2));
	}

	/* t_copy */
	{
		uint64_t dst, src, n;
		void *params[] = { &dst, &src, &n };
		uint64_t buf[3];

		f = fn(m, "t_copy");
		for (how = 0; how < NHOW; how++) {
			cuMemsetD8_v2(d2, 0, 4096);
			dst = d2, src = d + (uint64_t)how, n = 500;
			buf[0] = dst, buf[1] = src, buf[2] = n;
			RC(launch_by(how, f, params, buf, sizeof(buf), s), CUDA_SUCCESS);
			cuMemcpyDtoH_v2(back, d2, 501);
			ok(!memcmp(back, host + how, 500) && back[500] == 0, "t_copy by %s", how_name[how]);
		}
		ok(fakecuda_last_param("t_copy", 0) == d2 && fakecuda_last_param("t_copy", 1) == d + 3 &&
		   fakecuda_last_param("t_copy", 2) == 500 && fakecuda_last_param("t_copy", 4) == 0,
		   "fakecuda_last_param of t_copy; word 4 does not exist: 0");
	}

	/* t_struct: one 32-byte parameter */
	{
		struct {
			uint64_t p, n, out, pad;
		} a;
		void *params[] = { &a };
		uint64_t want = 0;

		for (i = 0; i < 333; i++)
			want += host[i];
		f = fn(m, "t_struct");
		for (how = 0; how < NHOW; how++) {
			a.p = d, a.n = 333, a.out = out, a.pad = 0xfeed;
			o = 1;
			cuMemcpyHtoD_v2(out, &o, 8);
			RC(launch_by(how, f, params, &a, sizeof(a), NULL), CUDA_SUCCESS);
			cuMemcpyDtoH_v2(&o, out, 8);
			ok(o == want, "t_struct by %s", how_name[how]);
		}
		ok(fakecuda_last_param("t_struct", 3) == 0xfeed, "the whole struct reached the kernel");
	}

	ok(fakecuda_kernel_launches("gb_sum") == 2 + NHOW + 1 && fakecuda_kernel_launches("gb_writeback") == 2 * NHOW &&
	   fakecuda_kernel_launches("t_sum") == NHOW && fakecuda_kernel_launches("t_fill") == NHOW &&
	   fakecuda_kernel_launches("t_copy") == NHOW && fakecuda_kernel_launches("t_struct") == NHOW,
	   "launches counted per kernel (gb_sum %llu)", fakecuda_kernel_launches("gb_sum"));

	/* what a launch is refused for; none of these runs or counts */
	{
		uint64_t p = d2, n = 16;
		uint32_t v = 0x77;
		void *params[] = { &p, &n, &v }, *bad[] = { &p, NULL, &v };
		uint64_t buf[3] = { d2, 16, 0x77 };
		size_t small = 16, size = 20;
		void *extra[] = {
			(void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT, buf,
			(void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT, &small,
			(void *)(uintptr_t)CU_LAUNCH_PARAM_END_AS_INT,
		};
		void *odd[] = { (void *)(uintptr_t)7, buf, (void *)(uintptr_t)CU_LAUNCH_PARAM_END_AS_INT };
		void *nosize[] = { (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT, buf,
				   (void *)(uintptr_t)CU_LAUNCH_PARAM_END_AS_INT };
		CUlaunchConfig cfg = { 1, 1, 1, 1, 1, 1, 0, NULL, NULL, 1 };
		CUstream dead;
		CUcontext c, c1;

		f = fn(m, "t_fill");
		cuMemsetD8_v2(d2, 0, 4096);
		n0 = fakecuda_kernel_launches("t_fill");
		RC(cuLaunchKernel(f, 0, 1, 1, 1, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 0, 1, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 0, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 0, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 64, 32, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 65536, 1, 1, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 64 << 10, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, extra), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, bad, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, extra), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, odd), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, nosize), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernel(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_HANDLE);
		RC(cuLaunchKernelEx(NULL, f, params, NULL), CUDA_ERROR_INVALID_VALUE);
		RC(cuLaunchKernelEx(&cfg, f, params, NULL), CUDA_ERROR_INVALID_VALUE);
		cfg.numAttrs = 0;
		cfg.blockDimY = 0;
		RC(cuLaunchKernelEx_ptsz(&cfg, f, params, NULL), CUDA_ERROR_INVALID_VALUE);
		cuStreamCreate(&dead, 0);
		cuStreamDestroy_v2(dead);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, dead, params, NULL), CUDA_ERROR_INVALID_HANDLE);
		cfg.blockDimY = 1;
		cfg.hStream = dead;
		RC(cuLaunchKernelEx(&cfg, f, params, NULL), CUDA_ERROR_INVALID_HANDLE);
		cuCtxPopCurrent_v2(&c);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_CONTEXT);
		cuCtxPushCurrent_v2(c);
		cuCtxCreate_v2(&c1, 0, 1);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_CONTEXT);
		cuCtxDestroy_v2(c1);
		ok(fakecuda_kernel_launches("t_fill") == n0 && ((unsigned char *)(uintptr_t)d2)[0] == 0,
		   "refused launches neither run nor count");
		extra[3] = &size;
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, extra), CUDA_SUCCESS);
		ok(((unsigned char *)(uintptr_t)d2)[15] == 0x77 && fakecuda_kernel_launches("t_fill") == n0 + 1,
		   "the same with a large enough buffer runs");

		/* the double has no graphs: a capturing stream runs the launch */
		cuMemsetD8_v2(d2, 0, 4096);
		fakecuda_set_capturing(s, 1);
		RC(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s, params, NULL), CUDA_SUCCESS);
		fakecuda_set_capturing(s, 0);
		ok(((unsigned char *)(uintptr_t)d2)[15] == 0x77, "a launch on a capturing stream still runs");
	}

	/* launches in stream order with events between them */
	cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING);
	RC(cuEventRecordWithFlags(ev, s, 0), CUDA_SUCCESS);
	RC(cuStreamWaitEvent(NULL, ev, 0), CUDA_SUCCESS);
	cuEventDestroy_v2(ev);

	cuMemFree_v2(out);
	cuMemFree_v2(d2);
	cuMemFree_v2(d);
	cuStreamDestroy_v2(s);
	RC(cuModuleUnload(m), CUDA_SUCCESS);
}

/* ---- stream-ordered copies and memsets ---- */

static void t_async(void)
{
	unsigned char in[512], back[512];
	CUdeviceptr d, gone;
	CUstream s, dead;
	CUcontext c;
	unsigned int w[4];
	unsigned long long b0 = fakecuda_copy_bytes();
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i ^ 0x5a);
	cuStreamCreate(&s, 0);
	cuStreamCreate(&dead, 0);
	cuStreamDestroy_v2(dead);
	cuMemAlloc_v2(&d, 4096);
	cuMemAlloc_v2(&gone, 4096);
	cuMemFree_v2(gone);

	RC(cuMemcpyHtoDAsync_v2(d, in, 256, s), CUDA_SUCCESS);
	RC(cuMemcpyHtoDAsync_v2_ptsz(d + 256, in + 256, 256, CU_STREAM_PER_THREAD), CUDA_SUCCESS);
	RC(cuMemcpyAsync(d + 1024, d, 512, NULL), CUDA_SUCCESS);
	RC(cuMemcpyAsync_ptsz((CUdeviceptr)(uintptr_t)back, d + 1024, 512, s), CUDA_SUCCESS);
	ok(!memcmp(back, in, 512), "HtoDAsync, cuMemcpyAsync (both ways): round trip");
	memset(back, 0, sizeof(back));
	RC(cuMemcpyDtoHAsync_v2(back, d, 100, s), CUDA_SUCCESS);
	RC(cuMemcpyDtoHAsync_v2_ptsz(back + 100, d + 100, 412, NULL), CUDA_SUCCESS);
	ok(!memcmp(back, in, 512), "DtoHAsync: done when the call returns");
	ok(fakecuda_copy_bytes() - b0 == 256 + 256 + 512 + 512 + 100 + 412,
	   "fakecuda_copy_bytes counts them (%llu)", fakecuda_copy_bytes() - b0);

	RC(cuMemsetD8Async(d, 0x7f, 5, s), CUDA_SUCCESS);
	RC(cuMemsetD8Async_ptsz(d + 5, 0x80, 3, NULL), CUDA_SUCCESS);
	RC(cuMemsetD32Async(d + 8, 0xcafef00d, 2, s), CUDA_SUCCESS);
	RC(cuMemsetD32Async_ptsz(d + 16, 0x01020304, 1, CU_STREAM_PER_THREAD), CUDA_SUCCESS);
	cuMemcpyDtoH_v2(back, d, 24);
	memcpy(w, back + 8, 12);
	ok(back[0] == 0x7f && back[4] == 0x7f && back[5] == 0x80 && back[7] == 0x80 && w[0] == 0xcafef00d &&
	   w[1] == 0xcafef00d && w[2] == 0x01020304 && back[20] == in[20], "async memsets D8 and D32");

	b0 = fakecuda_copy_bytes();
	RC(cuMemcpyHtoDAsync_v2(d + 4096 - 8, in, 16, s), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemcpyHtoDAsync_v2(gone, in, 16, s), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemcpyDtoHAsync_v2_ptsz(back, gone, 16, NULL), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemcpyDtoHAsync_v2(back, (CUdeviceptr)(uintptr_t)in, 16, s), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemsetD8Async(gone, 0, 16, s), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemsetD8Async_ptsz(d + 4090, 0, 16, s), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemsetD32Async(d + 2, 0, 1, s), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemsetD32Async_ptsz(d + 4092, 0, 2, NULL), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemcpyAsync(d, 0, 16, s), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemcpyHtoDAsync_v2(d, in, 16, dead), CUDA_ERROR_INVALID_HANDLE);
	RC(cuMemsetD8Async(d, 0, 16, dead), CUDA_ERROR_INVALID_HANDLE);
	RC(cuMemcpyAsync_ptsz(d, d + 16, 16, dead), CUDA_ERROR_INVALID_HANDLE);
	cuCtxPopCurrent_v2(&c);
	RC(cuMemcpyAsync(d, d + 16, 16, NULL), CUDA_ERROR_INVALID_CONTEXT);
	RC(cuMemcpyAsync(d, d + 16, 16, s), CUDA_SUCCESS);
	cuCtxPushCurrent_v2(c);
	ok(fakecuda_copy_bytes() - b0 == 16, "only the copy that succeeded counts");
	b0 = fakecuda_copy_bytes();
	RC(cuMemcpyHtoD_v2(d, in, 40), CUDA_SUCCESS);
	RC(cuMemcpyDtoD_v2(d + 40, d, 40), CUDA_SUCCESS);
	RC(cuMemcpyAsync(d, d, 0, s), CUDA_SUCCESS);
	cuMemsetD8_v2(d, 0, 100);
	ok(fakecuda_copy_bytes() - b0 == 80, "synchronous copies count too, memsets do not");

	cuMemFree_v2(d);
	cuStreamDestroy_v2(s);
}

/* ---- record with flags, stream waits ---- */

static void t_event_waits(void)
{
	CUstream s, dead;
	CUevent ev, gone;

	cuStreamCreate(&s, 0);
	cuStreamCreate(&dead, 0);
	cuStreamDestroy_v2(dead);
	cuEventCreate(&ev, 0);
	cuEventCreate(&gone, 0);
	cuEventDestroy_v2(gone);

	RC(cuEventRecordWithFlags(ev, s, 0), CUDA_SUCCESS);
	RC(cuEventRecordWithFlags(ev, NULL, CU_EVENT_RECORD_EXTERNAL), CUDA_SUCCESS);
	RC(cuEventRecordWithFlags_ptsz(ev, CU_STREAM_PER_THREAD, 0), CUDA_SUCCESS);
	RC(cuEventRecordWithFlags(ev, s, 2), CUDA_ERROR_INVALID_VALUE);
	RC(cuEventRecordWithFlags(gone, s, 0), CUDA_ERROR_INVALID_HANDLE);
	RC(cuEventRecordWithFlags_ptsz(ev, dead, 0), CUDA_ERROR_INVALID_HANDLE);
	setenv("FAKECUDA_EVENT_DELAY", "1", 1);
	RC(cuEventRecordWithFlags(ev, s, CU_EVENT_RECORD_EXTERNAL), CUDA_SUCCESS);
	unsetenv("FAKECUDA_EVENT_DELAY");
	RC(cuEventQuery(ev), CUDA_ERROR_NOT_READY);
	RC(cuEventQuery(ev), CUDA_SUCCESS);

	RC(cuStreamWaitEvent(s, ev, 0), CUDA_SUCCESS);
	RC(cuStreamWaitEvent(NULL, ev, CU_EVENT_WAIT_EXTERNAL), CUDA_SUCCESS);
	RC(cuStreamWaitEvent_ptsz(CU_STREAM_PER_THREAD, ev, 0), CUDA_SUCCESS);
	RC(cuStreamWaitEvent(s, ev, 2), CUDA_ERROR_INVALID_VALUE);
	RC(cuStreamWaitEvent(s, gone, 0), CUDA_ERROR_INVALID_HANDLE);
	RC(cuStreamWaitEvent_ptsz(dead, ev, 0), CUDA_ERROR_INVALID_HANDLE);
	RC(cuStreamWaitEvent(s, NULL, 0), CUDA_ERROR_INVALID_HANDLE);

	cuEventDestroy_v2(ev);
	cuStreamDestroy_v2(s);
}

/* ---- cuGetProcAddress of the new entry points ---- */

static void t_proc_address_launch(void)
{
	static const struct {
		const char *sym;
		int ver;
		cuuint64_t flags;
		const char *want;
	} t[] = {
		{ "cuLaunchKernel", 13000, 0, "cuLaunchKernel" },
		{ "cuLaunchKernel", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuLaunchKernel_ptsz" },
		{ "cuLaunchKernelEx", 12000, CU_GET_PROC_ADDRESS_LEGACY_STREAM, "cuLaunchKernelEx" },
		{ "cuLaunchKernelEx", 12000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuLaunchKernelEx_ptsz" },
		{ "cuMemcpyAsync", 13000, 0, "cuMemcpyAsync" },
		{ "cuMemcpyAsync", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuMemcpyAsync_ptsz" },
		{ "cuMemsetD8Async", 13000, 0, "cuMemsetD8Async" },
		{ "cuMemsetD8Async", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuMemsetD8Async_ptsz" },
		{ "cuMemsetD32Async", 13000, 0, "cuMemsetD32Async" },
		{ "cuMemsetD32Async", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuMemsetD32Async_ptsz" },
		{ "cuMemcpyHtoDAsync", 13000, 0, "cuMemcpyHtoDAsync_v2" },
		{ "cuMemcpyHtoDAsync", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
		  "cuMemcpyHtoDAsync_v2_ptsz" },
		{ "cuMemcpyHtoDAsync", 3020, 0, "cuMemcpyHtoDAsync_v2" },
		{ "cuMemcpyHtoDAsync", 3000, 0, "cuMemcpyHtoDAsync" },
		{ "cuMemcpyHtoDAsync", 3000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuMemcpyHtoDAsync" },
		{ "cuMemcpyDtoHAsync", 13000, 0, "cuMemcpyDtoHAsync_v2" },
		{ "cuMemcpyDtoHAsync", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
		  "cuMemcpyDtoHAsync_v2_ptsz" },
		{ "cuMemcpyDtoHAsync", 3000, 0, "cuMemcpyDtoHAsync" },
		{ "cuEventRecordWithFlags", 13000, 0, "cuEventRecordWithFlags" },
		{ "cuEventRecordWithFlags", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
		  "cuEventRecordWithFlags_ptsz" },
		{ "cuStreamWaitEvent", 13000, 0, "cuStreamWaitEvent" },
		{ "cuStreamWaitEvent", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuStreamWaitEvent_ptsz" },
		{ "cuModuleLoadData", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuModuleLoadData" },
		{ "cuModuleUnload", 13000, 0, "cuModuleUnload" },
		{ "cuModuleGetFunction", 13000, 0, "cuModuleGetFunction" },
		{ "cuFuncGetParamInfo", 13000, 0, "cuFuncGetParamInfo" },
		/* unchanged by the rework of the suffix rules */
		{ "cuMemAllocAsync", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuMemAllocAsync_ptsz" },
		{ "cuMemAlloc", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, "cuMemAlloc_v2" },
	};
	CUresult (*launchk)(CUfunction, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int,
			    unsigned int, unsigned int, CUstream, void **, void **);
	CUmodule m;
	CUfunction f;
	uint64_t p, n = 0, po;
	void *params[] = { &p, &n, &po }, *fp;
	unsigned long long n0;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(sym(t[i].want) && gpa(t[i].sym, t[i].ver, t[i].flags) == sym(t[i].want), "%s at %d%s is %s",
		   t[i].sym, t[i].ver, t[i].flags == CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM ? " (ptsz)" : "",
		   t[i].want);
	ok(sym("cuMemcpyHtoDAsync") != sym("cuMemcpyHtoDAsync_v2") &&
	   sym("cuLaunchKernel") != sym("cuLaunchKernel_ptsz"), "distinct addresses");

	/* a thunk of cuLaunchKernel_ptsz launches */
	setenv("FAKECUDA_GPA_THUNKS", "1", 1);
	fp = gpa("cuLaunchKernel", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
	unsetenv("FAKECUDA_GPA_THUNKS");
	memcpy(&launchk, &fp, sizeof(fp));
	cuModuleLoadData(&m, ptx);
	cuModuleGetFunction(&f, m, "t_sum");
	p = po = (uintptr_t)&n;
	n0 = fakecuda_kernel_launches("t_sum");
	ok(fp && fp != sym("cuLaunchKernel_ptsz") && launchk(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL) == 0 &&
	   fakecuda_kernel_launches("t_sum") == n0 + 1, "the thunk of cuLaunchKernel_ptsz launches");
	cuModuleUnload(m);
}

/* create, reserve, map, open, write, read, unmap, free, release */
static void vmm_cycle(CUmemLocationType where, const char *what)
{
	CUmemAllocationProp prop = { .type = CU_MEM_ALLOCATION_TYPE_PINNED, .location = { where, 0 } }, got;
	CUmemAccessDesc acc = { { CU_MEM_LOCATION_TYPE_DEVICE, 0 }, CU_MEM_ACCESS_FLAGS_PROT_READWRITE };
	CUmemGenericAllocationHandle h;
	unsigned long long dev0 = fakecuda_vram_used(0), host0 = fakecuda_host_vmm_bytes();
	int host = where != CU_MEM_LOCATION_TYPE_DEVICE;
	size_t n = 4 * MiB;
	CUdeviceptr va;
	char in[64] = "through cuMemcpyHtoD", out[64] = "";

	RC(cuMemCreate(&h, n, &prop, 0), CUDA_SUCCESS);
	ok(host ? fakecuda_host_vmm_bytes() == host0 + n && fakecuda_vram_used(0) == dev0
		: fakecuda_vram_used(0) == dev0 + n && fakecuda_host_vmm_bytes() == host0,
	   "%s: counted where it lives", what);
	RC(cuMemGetAllocationPropertiesFromHandle(&got, h), CUDA_SUCCESS);
	ok(got.location.type == where, "%s: properties from the handle", what);
	RC(cuMemAddressReserve(&va, 2 * n, 0, 0, 0), CUDA_SUCCESS);
	ok(va % (2 * MiB) == 0, "%s: reservation aligned to 2M", what);
	RC(cuMemMap(va + MiB, n, 0, h, 0), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemMap(va, n, 0, h, 0), CUDA_SUCCESS);
	RC(cuMemMap(va, n, 0, h, 0), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemcpyHtoD_v2(va, in, sizeof(in)), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemSetAccess(va, 2 * n, &acc, 1), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemSetAccess(va, n, &acc, 1), CUDA_SUCCESS);
	strcpy((char *)(uintptr_t)(va + n - 16), "direct");
	RC(cuMemcpyHtoD_v2(va + 8, in, sizeof(in)), CUDA_SUCCESS);
	RC(cuMemcpyDtoH_v2(out, va + 8, sizeof(out)), CUDA_SUCCESS);
	ok(!strcmp(out, in) && !strcmp((char *)(uintptr_t)(va + n - 16), "direct"), "%s: written and read", what);
	RC(cuMemAddressFree(va, 2 * n), CUDA_ERROR_INVALID_VALUE);
	/* released while mapped: the memory stays until the unmap */
	RC(cuMemRelease(h), CUDA_SUCCESS);
	ok(fakecuda_vmm_handles() == 1 && fakecuda_vram_used(0) + fakecuda_host_vmm_bytes() == dev0 + host0 + n,
	   "%s: released while mapped, still there", what);
	RC(cuMemRelease(h), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemUnmap(va + MiB, MiB), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemUnmap(va, n), CUDA_SUCCESS);
	ok(fakecuda_vmm_handles() == 0 && fakecuda_vram_used(0) == dev0 && fakecuda_host_vmm_bytes() == host0,
	   "%s: gone with the unmap", what);
	RC(cuMemAddressFree(va, 2 * n), CUDA_SUCCESS);

	/* the usual order: unmap, then release */
	RC(cuMemCreate(&h, n, &prop, 0), CUDA_SUCCESS);
	RC(cuMemAddressReserve(&va, n, 0, 0, 0), CUDA_SUCCESS);
	RC(cuMemMap(va, n, 0, h, 0), CUDA_SUCCESS);
	RC(cuMemUnmap(va, n), CUDA_SUCCESS);
	RC(cuMemAddressFree(va, n), CUDA_SUCCESS);
	RC(cuMemRelease(h), CUDA_SUCCESS);
	ok(fakecuda_vram_used(0) == dev0 && fakecuda_host_vmm_bytes() == host0, "%s: unmap then release", what);
}

static void t_vmm(void)
{
	CUmemAllocationProp prop = { .type = CU_MEM_ALLOCATION_TYPE_PINNED,
				     .location = { CU_MEM_LOCATION_TYPE_DEVICE, 0 } };
	CUmemGenericAllocationHandle h;
	size_t g = 0;

	RC(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM), CUDA_SUCCESS);
	ok(g == 2 * MiB, "granularity 2M");
	RC(cuMemCreate(&h, 3 * MiB, &prop, 0), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemCreate(&h, 66 * MiB, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
	prop.location.id = 7;
	RC(cuMemCreate(&h, 2 * MiB, &prop, 0), CUDA_ERROR_INVALID_DEVICE);
	prop.location.id = 0;
	prop.type = CU_MEM_ALLOCATION_TYPE_INVALID;
	RC(cuMemCreate(&h, 2 * MiB, &prop, 0), CUDA_ERROR_INVALID_VALUE);
	RC(cuMemRelease(12345), CUDA_ERROR_INVALID_VALUE);
	vmm_cycle(CU_MEM_LOCATION_TYPE_DEVICE, "device VMM");
	vmm_cycle(CU_MEM_LOCATION_TYPE_HOST_NUMA, "host NUMA VMM");
	prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop.location.type = CU_MEM_LOCATION_TYPE_HOST_NUMA;
	setenv("FAKECUDA_NO_HOST_NUMA_VMM", "1", 1);
	RC(cuMemCreate(&h, 2 * MiB, &prop, 0), CUDA_ERROR_NOT_SUPPORTED);
	unsetenv("FAKECUDA_NO_HOST_NUMA_VMM");
}

static void t_errors(void)
{
	const char *s = NULL;

	RC(cuGetErrorName(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, &s), CUDA_SUCCESS);
	ok(s && !strcmp(s, "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED"), "error name");
	RC(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &s), CUDA_SUCCESS);
	ok(s && !strcmp(s, "out of memory"), "error string");
	RC(cuGetErrorString(4242, &s), CUDA_ERROR_INVALID_VALUE);
	ok(s == NULL, "unknown code: NULL");
}

static void t_nvml(void)
{
	void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	int (*init)(void), (*shutdown)(void), (*count)(unsigned int *), (*handle)(unsigned int, nvmlDevice_t *);
	int (*pci)(nvmlDevice_t, nvmlPciInfo_t *), (*mem)(nvmlDevice_t, nvmlMemory_t *);
	int (*mem2)(nvmlDevice_t, nvmlMemory_v2_t *);
	nvmlDevice_t d = NULL;
	nvmlPciInfo_t pi;
	nvmlMemory_t m;
	nvmlMemory_v2_t m2 = { .version = 0 };
	unsigned int n = 0;
	CUdeviceptr p;

	ok(h != NULL, "dlopen libnvidia-ml.so.1");
	if (!h)
		return;
	*(void **)&init = dlsym(h, "nvmlInit_v2");
	*(void **)&shutdown = dlsym(h, "nvmlShutdown");
	*(void **)&count = dlsym(h, "nvmlDeviceGetCount_v2");
	*(void **)&handle = dlsym(h, "nvmlDeviceGetHandleByIndex_v2");
	*(void **)&pci = dlsym(h, "nvmlDeviceGetPciInfo_v3");
	*(void **)&mem = dlsym(h, "nvmlDeviceGetMemoryInfo");
	*(void **)&mem2 = dlsym(h, "nvmlDeviceGetMemoryInfo_v2");
	ok(count(&n) == NVML_ERROR_UNINITIALIZED, "NVML before init: uninitialized");
	ok(init() == NVML_SUCCESS && count(&n) == NVML_SUCCESS && n == 2, "NVML: 2 devices");
	ok(handle(1, &d) == NVML_SUCCESS && pci(d, &pi) == NVML_SUCCESS && !strcmp(pi.busId, "00000000:11:00.0") &&
	   pi.bus == 0x11, "NVML device 1 PCI bus id (got %s)", pi.busId);
	cuMemAlloc_v2(&p, 5 * MiB);
	handle(0, &d);
	ok(mem(d, &m) == NVML_SUCCESS && m.total == 64 * MiB && m.used == 5 * MiB && m.free == 59 * MiB,
	   "NVML memory follows the fake driver (used %llu)", m.used);
	ok(mem2(d, &m2) == NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "NVML v2: version checked");
	m2.version = nvmlMemory_v2;
	ok(mem2(d, &m2) == NVML_SUCCESS && m2.used == 5 * MiB && m2.reserved == 0, "NVML v2 memory");
	cuMemFree_v2(p);
	ok(shutdown() == NVML_SUCCESS && count(&n) == NVML_ERROR_UNINITIALIZED, "NVML shut down");
	dlclose(h);
}

static void t_cudart(void)
{
	void *h = dlopen("libcudart.so.13", RTLD_NOW | RTLD_LOCAL);
	int (*rmalloc)(void **, size_t), (*rfree)(void *), (*info)(size_t *, size_t *);
	int (*attrs)(struct cudaPointerAttributes *, const void *), (*props)(void *, int);
	int (*setdev)(int), (*lasterr)(void), (*masync)(void **, size_t, cudaStream_t);
	int (*fasync)(void *, cudaStream_t);
	struct cudaPointerAttributes pa;
	char prop[1032];
	size_t f = 0, t = 0, tg = 0;
	int calls = fakecuda_gpa_calls();
	void *p = NULL;

	ok(h != NULL, "dlopen libcudart.so.13");
	if (!h)
		return;
	*(void **)&rmalloc = dlsym(h, "cudaMalloc");
	*(void **)&rfree = dlsym(h, "cudaFree");
	*(void **)&info = dlsym(h, "cudaMemGetInfo");
	*(void **)&attrs = dlsym(h, "cudaPointerGetAttributes");
	*(void **)&props = dlsym(h, "cudaGetDeviceProperties_v2");
	*(void **)&setdev = dlsym(h, "cudaSetDevice");
	*(void **)&lasterr = dlsym(h, "cudaGetLastError");
	*(void **)&masync = dlsym(h, "cudaMallocAsync_ptsz");
	*(void **)&fasync = dlsym(h, "cudaFreeAsync_ptsz");
	ok(rmalloc(&p, 2 * MiB) == cudaSuccess && p && fakecuda_vram_used(0) == 2 * MiB, "cudaMalloc");
	ok(fakecuda_gpa_calls() > calls, "cudart found the driver through cuGetProcAddress (%d calls)",
	   fakecuda_gpa_calls() - calls);
	ok(attrs(&pa, p) == cudaSuccess && pa.type == cudaMemoryTypeDevice && pa.devicePointer == p &&
	   pa.hostPointer == NULL, "cudaPointerGetAttributes: device");
	ok(info(&f, &t) == cudaSuccess && f == 62 * MiB && t == 64 * MiB, "cudaMemGetInfo");
	ok(rfree(p) == cudaSuccess && fakecuda_vram_used(0) == 0, "cudaFree");
	ok(rfree(p) == cudaErrorInvalidValue, "cudaFree of a freed pointer");
	ok(masync(&p, MiB, NULL) == cudaSuccess && fasync(p, NULL) == cudaSuccess, "cudaMallocAsync_ptsz");
	ok(props(prop, 0) == cudaSuccess && !strcmp(prop, "GreenBoost Fake GPU"), "cudaGetDeviceProperties name");
	memcpy(&tg, prop + GB_CUDADEVICEPROP_TOTALGLOBALMEM_OFFSET, sizeof(tg));
	ok(tg == 64 * MiB, "cudaGetDeviceProperties totalGlobalMem");
	ok(setdev(5) == 101 && lasterr() == 101 && lasterr() == cudaSuccess, "cudaSetDevice(5), cudaGetLastError");
	dlclose(h);
}

/* every thread with its own context stack, all on one driver */
static void *worker(void *arg)
{
	static char bufs[4][65536];
	char *buf = bufs[(intptr_t)arg];
	CUcontext c;
	CUdeviceptr d;
	CUevent ev;
	CUmodule m;
	CUfunction f;
	uint64_t p, n = 4096, out = 0;
	void *params[] = { &p, &n, &out };
	unsigned char b = 0;
	int i, bad = 0;

	if (cuDevicePrimaryCtxRetain(&c, 0) || cuCtxSetCurrent(c))
		return (void *)1;
	out = (uintptr_t)&out;
	for (i = 0; i < 200; i++) {
		bad |= cuModuleLoadData(&m, ptx) != CUDA_SUCCESS;
		bad |= cuModuleGetFunction(&f, m, "t_sum") != CUDA_SUCCESS;
		bad |= cuMemAlloc_v2(&d, 4096) != CUDA_SUCCESS;
		bad |= cuMemsetD8Async(d, 1, 4096, NULL) != CUDA_SUCCESS;
		p = d;
		bad |= cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL) != CUDA_SUCCESS || out != 4096;
		out = (uintptr_t)&out;
		bad |= cuMemcpyDtoHAsync_v2(&b, d + 7, 1, NULL) != CUDA_SUCCESS || b != 1;
		bad |= cuMemFree_v2(d) != CUDA_SUCCESS;
		bad |= cuModuleUnload(m) != CUDA_SUCCESS;
		bad |= cuMemAlloc_v2(&d, 4096 + (size_t)i) != CUDA_SUCCESS;
		bad |= cuMemsetD8_v2(d, (unsigned char)i, 4096) != CUDA_SUCCESS;
		bad |= cuMemFree_v2(d) != CUDA_SUCCESS;
		bad |= cuMemHostRegister_v2(buf, sizeof(bufs[0]), 0) != CUDA_SUCCESS;
		bad |= cuMemHostUnregister(buf) != CUDA_SUCCESS;
		bad |= cuEventCreate(&ev, 0) != CUDA_SUCCESS;
		bad |= cuEventRecord(ev, NULL) != CUDA_SUCCESS;
		bad |= cuEventQuery(ev) != CUDA_SUCCESS;
		bad |= cuEventDestroy_v2(ev) != CUDA_SUCCESS;
	}
	cuDevicePrimaryCtxRelease_v2(0);
	return (void *)(intptr_t)bad;
}

static void t_threads(void)
{
	pthread_t th[4];
	void *r;
	int i, bad = 0;

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &r);
		bad |= r != NULL;
	}
	ok(!bad && fakecuda_vram_used(0) == 0 && fakecuda_registered_ranges() == 0, "4 threads at once");
}

int main(void)
{
	CUcontext c;

	setenv("FAKECUDA_DEVICES", "2", 1);
	setenv("FAKECUDA_VRAM", "64M", 1);
	unsetenv("FAKECUDA_VERSION");
	unsetenv("FAKECUDA_NO_HOST_NUMA_VMM");
	unsetenv("FAKECUDA_REGISTER_FAIL");
	unsetenv("FAKECUDA_EVENT_DELAY");
	unsetenv("FAKECUDA_GPA_THUNKS");

	t_before_init();
	t_devices();
	t_contexts();
	t_device_memory();
	t_host_register();
	t_pointers();
	t_proc_address();
	t_legacy();
	t_streams_events();
	t_modules();
	t_kernels();
	t_async();
	t_event_waits();
	t_proc_address_launch();
	t_vmm();
	t_errors();
	t_threads();
	t_nvml();
	t_cudart();

	ok(fakecuda_live_allocs() == 0 && fakecuda_registered_ranges() == 0 && fakecuda_vmm_handles() == 0 &&
	   fakecuda_vram_used(0) == 0 && fakecuda_vram_used(1) == 0, "nothing left behind");
	cuCtxGetCurrent(&c);
	RC(cuDevicePrimaryCtxRelease_v2(0), CUDA_SUCCESS);
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
