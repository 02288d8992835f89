/*
 * The shim through the driver API, by direct symbol, against the test
 * double.  One scenario a run (argv[1]); tests/shim/cases.sh gives each
 * its environment.  Common to all: the double has 1 GiB of "VRAM".
 */
#include <fcntl.h>

#include "common.h"

static struct gb_status st;

/* place: vram_limit 256M, kv_reserve 0, host_limit 512M */
static void place(void)
{
	CUdeviceptr small, t1[4], t2[8], extra, pitched, base;
	unsigned long long vram0;
	size_t f, t, sz, pitch;
	unsigned int mt = 0;
	int i, n, ord = -1, live0;
	CUipcMemHandle ipc;
	char buf[4096];
	void *hp = (void *)1;
	CUpointer_attribute attrs[3] = { CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_HOST_POINTER,
					 CU_POINTER_ATTRIBUTE_RANGE_SIZE };
	void *data[3];

	setup();
	live0 = fakecuda_live_allocs();
	vram0 = fakecuda_vram_used(0);
	ok(cuMemAlloc_v2(&small, 64 * 1024) == CUDA_SUCCESS && !fakecuda_is_registered((void *)small) &&
	   fakecuda_vram_used(0) == vram0 + 64 * 1024, "a 64K allocation passes straight through to VRAM");
	for (i = 0, n = 0; i < 4; i++)
		n += cuMemAlloc_v2(&t1[i], 64 * MiB) == CUDA_SUCCESS && !fakecuda_is_registered((void *)t1[i]);
	is_int(n, 4, "4 x 64M fill vram_limit 256M in T1");
	is_int(fakecuda_vram_used(0), vram0 + 64 * 1024 + 256 * MiB, "the driver holds them in VRAM");
	ok(cuMemAlloc_v2(&t2[0], 64 * MiB) == CUDA_SUCCESS && fakecuda_is_registered((void *)t2[0]),
	   "the next 64M goes to T2: registered host memory");
	is_int(fakecuda_vram_used(0), vram0 + 64 * 1024 + 256 * MiB, "T2 takes no VRAM");

	memset(buf, 0xa5, sizeof(buf));
	ok(cuMemcpyHtoD_v2(t2[0] + 64 * MiB - sizeof(buf), buf, sizeof(buf)) == CUDA_SUCCESS &&
	   ((unsigned char *)(uintptr_t)t2[0])[64 * MiB - 1] == 0xa5, "T2 memory is written through the device pointer");
	memset(buf, 0, sizeof(buf));
	ok(cuMemcpyDtoH_v2(buf, t2[0] + 64 * MiB - sizeof(buf), sizeof(buf)) == CUDA_SUCCESS && buf[0] == (char)0xa5 &&
	   buf[sizeof(buf) - 1] == (char)0xa5, "and reads back");

	ok(cuMemGetInfo_v2(&f, &t) == CUDA_SUCCESS, "cuMemGetInfo");
	is_int(t, 256 * MiB + 512 * MiB, "total = vram_limit + host_limit");
	is_int(f, 0 + (512 - 64) * MiB, "free = VRAM left + host_limit left");
	ok(cuDeviceTotalMem_v2(&sz, 0) == CUDA_SUCCESS && sz == t, "cuDeviceTotalMem agrees");

	/* pointer queries on an interior pointer of T2 */
	ok(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, t2[0] + 12345) == CUDA_SUCCESS &&
	   mt == CU_MEMORYTYPE_DEVICE, "T2 memory answers MEMORY_TYPE = DEVICE");
	ok(cuPointerGetAttribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, t2[0] + 12345) == CUDA_SUCCESS &&
	   base == t2[0], "RANGE_START_ADDR is the allocation");
	ok(cuPointerGetAttribute(&sz, CU_POINTER_ATTRIBUTE_RANGE_SIZE, t2[0] + 12345) == CUDA_SUCCESS &&
	   sz == 64 * MiB, "RANGE_SIZE is the requested size");
	ok(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, t2[0]) == CUDA_SUCCESS && ord == 0,
	   "DEVICE_ORDINAL 0");
	ok(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER, t2[0]) == CUDA_ERROR_INVALID_VALUE,
	   "HOST_POINTER is refused, as for device memory");
	data[0] = &mt, data[1] = &hp, data[2] = &sz;
	mt = 0, hp = (void *)1, sz = 0;
	ok(cuPointerGetAttributes(3, attrs, data, t2[0] + 1) == CUDA_SUCCESS && mt == CU_MEMORYTYPE_DEVICE && !hp &&
	   sz == 64 * MiB, "cuPointerGetAttributes: DEVICE, no host pointer, range size");
	mt = 0;
	ok(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, t1[0]) == CUDA_SUCCESS &&
	   mt == CU_MEMORYTYPE_DEVICE, "T1 memory is untouched: DEVICE");
	ok(cuMemGetAddressRange_v2(&base, &sz, t2[0] + 999) == CUDA_SUCCESS && base == t2[0] && sz == 64 * MiB,
	   "cuMemGetAddressRange of an interior T2 pointer");
	ok(cuIpcGetMemHandle(&ipc, t2[0]) == CUDA_ERROR_INVALID_VALUE && log_has("IPC handle"),
	   "no IPC handle for T2 memory, and the log says why");
	ok(cuIpcGetMemHandle(&ipc, t1[0]) == CUDA_SUCCESS, "IPC handles for T1 memory pass through");

	/* host_limit */
	for (i = 1, n = 0; i < 8; i++)
		n += cuMemAlloc_v2(&t2[i], 64 * MiB) == CUDA_SUCCESS && fakecuda_is_registered((void *)t2[i]);
	is_int(n, 7, "T2 fills host_limit 512M");
	ok(cuMemAlloc_v2(&extra, 64 * MiB) == CUDA_ERROR_OUT_OF_MEMORY, "past host_limit: out of memory");
	ok(log_has("raise host_limit"), "the log line says which limit to raise");
	ok(cuMemGetInfo_v2(&f, &t) == CUDA_SUCCESS && f == 0, "free is now 0");

	ok(my_status(&st) == 0, "status file readable");
	is_int(st.pid, getpid(), "status: pid");
	is_int(st.dev[0].vram_limit, 256 * MiB, "status: vram_limit");
	is_int(st.dev[0].tier[0].bytes, 256 * MiB, "status: T1 bytes");
	is_int(st.dev[0].tier[0].count, 4, "status: T1 count");
	is_int(st.dev[0].tier[1].bytes, 512 * MiB, "status: T2 bytes");
	is_int(st.dev[0].tier[1].count, 8, "status: T2 count");
	is_int(st.dev[0].refused, 1, "status: one refusal");
	is_int(st.dev[0].reported_total, 768 * MiB, "status: reported total");
	is_str(st.comm, "t-drv", "status: command name");
	ok(strstr(st.cmdline, "t-drv place") != NULL, "status: command line");
	ok(st.path == 'B', "status: path B");

	/* freeing gives back to the right tier */
	ok(cuMemFree_v2(t2[7]) == CUDA_SUCCESS && fakecuda_registered_ranges() == 7, "freeing T2 unregisters it");
	ok(cuMemFree_v2(t1[3]) == CUDA_SUCCESS && fakecuda_vram_used(0) == vram0 + 64 * 1024 + 192 * MiB,
	   "freeing T1 returns VRAM");
	ok(cuMemAlloc_v2(&t1[3], 64 * MiB) == CUDA_SUCCESS && !fakecuda_is_registered((void *)t1[3]),
	   "the freed VRAM is used again");
	ok(cuMemFree_v2(t2[0] + 4096) == CUDA_ERROR_INVALID_VALUE && fakecuda_is_registered((void *)t2[0]),
	   "freeing an interior pointer fails like the driver and frees nothing");

	/* pitched: rows rounded up to 512 bytes */
	ok(cuMemAllocPitch_v2(&pitched, &pitch, 1000, 65536, 4) == CUDA_SUCCESS &&
	   fakecuda_is_registered((void *)pitched) && pitch == 1024, "a pitched allocation past VRAM: T2, pitch 1024");

	for (i = 0; i < 4; i++)
		cuMemFree_v2(t1[i]);
	for (i = 0; i < 7; i++)
		cuMemFree_v2(t2[i]);
	cuMemFree_v2(pitched);
	cuMemFree_v2(small);
	is_int(fakecuda_registered_ranges(), 0, "everything freed: nothing registered");
	is_int(fakecuda_live_allocs(), live0, "everything freed: no device allocation left");
	ok(my_status(&st) == 0 && st.dev[0].tier[1].bytes == 0 && st.dev[0].tier[1].count == 0,
	   "status: T2 back to 0");
	ok(cuMemGetInfo_v2(&f, &t) == 0, "final cuMemGetInfo");
}

static int phase_now(void)
{
	return my_status(&st) == 0 ? st.phase : -1;
}

/* phase: vram_limit 256M, kv_reserve 64M, phase_gap 300ms, steady_after 500ms */
static void phase(void)
{
	CUdeviceptr a[4], b, c;
	size_t f, t;
	int i, n;

	setup();
	ok(cuMemGetInfo_v2(&f, &t) == 0 && f == t, "a query before anything is loaded");
	is_int(phase_now(), GB_PHASE_INIT, "INIT");
	for (i = 0, n = 0; i < 3; i++)
		n += cuMemAlloc_v2(&a[i], 64 * MiB) == 0 && !fakecuda_is_registered((void *)a[i]);
	is_int(n, 3, "MODEL_LOAD: 192M fit vram_limit less kv_reserve in T1");
	is_int(phase_now(), GB_PHASE_MODEL_LOAD, "MODEL_LOAD");
	ok(cuMemAlloc_v2(&a[3], 64 * MiB) == 0 && fakecuda_is_registered((void *)a[3]),
	   "MODEL_LOAD: the kv_reserve is held back, so the 4th 64M goes to T2");
	usleep(400 * 1000);
	ok(cuMemAlloc_v2(&b, 64 * MiB) == 0 && !fakecuda_is_registered((void *)b),
	   "after a pause of phase_gap, INFERENCE: the reserve is given to the next one");
	is_int(phase_now(), GB_PHASE_INFERENCE, "INFERENCE");
	usleep(700 * 1000);
	is_int(phase_now(), GB_PHASE_STEADY, "STEADY after steady_after without large allocations");
	ok(cuMemFree_v2(b) == 0, "a free");
	is_int(phase_now(), GB_PHASE_INFERENCE, "back to INFERENCE on a free");
	ok(cuMemAlloc_v2(&c, 64 * MiB) == 0 && !fakecuda_is_registered((void *)c), "INFERENCE keeps the reserve open");
	ok(st.phase_since > 0, "status: phase_since set");
}

/* query: kv_reserve 64M; a memory query once something is loaded ends MODEL_LOAD */
static void query(void)
{
	CUdeviceptr a;
	size_t f, t;

	setup();
	ok(cuMemAlloc_v2(&a, 64 * MiB) == 0, "load something");
	is_int(phase_now(), GB_PHASE_MODEL_LOAD, "MODEL_LOAD");
	ok(cuMemGetInfo_v2(&f, &t) == 0, "query free memory");
	is_int(phase_now(), GB_PHASE_INFERENCE, "INFERENCE after the query");
}

/* physical: report = physical, vram_limit 256M */
static void physical(void)
{
	CUdeviceptr a, b;
	size_t f, t, tot;

	setup();
	ok(cuMemAlloc_v2(&a, 64 * MiB) == 0, "T1 allocation");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && t == 256 * MiB && f == 192 * MiB, "total = vram_limit, free = limit - T1");
	ok(cuDeviceTotalMem_v2(&tot, 0) == 0 && tot == 256 * MiB, "cuDeviceTotalMem = vram_limit");
	ok(cuMemAlloc_v2(&b, 256 * MiB) == 0 && fakecuda_is_registered((void *)b), "overflow still goes to T2");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && t == 256 * MiB && f == 192 * MiB, "T2 is not reported in physical mode");
}

/* async: vram_limit 256M, kv_reserve 0, events complete after 3 queries */
static void async(void)
{
	CUdeviceptr a, b, c, d, e;
	CUstream s;
	int i;

	setup();
	ok(cuStreamCreate(&s, 0) == 0, "stream");
	ok(cuMemAllocAsync(&a, 256 * MiB, s) == 0 && !fakecuda_is_registered((void *)a), "async: T1");
	ok(cuMemAllocAsync(&b, 64 * MiB, s) == 0 && fakecuda_is_registered((void *)b), "async past the limit: T2");
	ok(cuMemFreeAsync(b, s) == 0 && fakecuda_is_registered((void *)b),
	   "an async free of T2 waits for the stream (event not complete yet)");
	for (i = 0; i < 5 && fakecuda_registered_ranges(); i++)
		cuMemAllocAsync(&c, 2 * MiB, s), cuMemFree_v2(c);
	is_int(fakecuda_registered_ranges(), 0, "later calls reap it once the event completes");
	ok(cuMemAllocAsync_ptsz(&c, 64 * MiB, NULL) == 0 && fakecuda_is_registered((void *)c), "ptsz variant: T2");
	ok(cuMemFreeAsync_ptsz(c, NULL) == 0, "ptsz free");
	fakecuda_set_capturing(s, 1);
	ok(cuMemAllocAsync(&d, 64 * MiB, s) == 0 && !fakecuda_is_registered((void *)d),
	   "under stream capture the graph owns it: passed through, never T2");
	fakecuda_set_capturing(s, 0);
	ok(cuMemFreeAsync(d, s) == 0, "and freed through");
	ok(cuMemFreeAsync(a, s) == 0 && cuMemAllocAsync(&e, 256 * MiB, s) == 0 && !fakecuda_is_registered((void *)e),
	   "freeing T1 asynchronously gives the VRAM back");
	cuMemFreeAsync(e, s);
	/* host_limit full with a deferred free pending: the shim waits for it */
	ok(cuMemAllocAsync(&a, 256 * MiB, s) == 0, "fill VRAM again");
	ok(cuMemAllocAsync(&b, 448 * MiB, s) == 0 && fakecuda_is_registered((void *)b), "fill host_limit 448M");
	ok(cuMemFreeAsync(b, s) == 0 && fakecuda_is_registered((void *)b), "async free pending");
	ok(cuMemAllocAsync(&c, 448 * MiB, s) == 0 && fakecuda_is_registered((void *)c),
	   "a new T2 allocation that needs that memory waits for the pending free");
	ok(cuStreamSynchronize(s) == 0, "sync");
	ok(cuMemAllocFromPoolAsync(&d, 64 * MiB, (CUmemoryPool)(uintptr_t)1, s) == 0 &&
	   !fakecuda_is_registered((void *)d), "an explicit pool's allocation passes through, never to T2");
	ok(cuMemFreeAsync(d, s) == 0, "and frees through");
	ok(cuMemAllocAsync(NULL, 64 * MiB, s) == CUDA_ERROR_INVALID_VALUE, "a NULL pointer is the driver's error");
}

/* vmm: vram_limit 256M, kv_reserve 0; the application's own cuMemCreate */
static void vmm(int host_ok)
{
	CUmemAllocationProp p = { 0 };
	CUmemGenericAllocationHandle h1, h2;
	CUmemAccessDesc ad = { { CU_MEM_LOCATION_TYPE_DEVICE, 0 }, CU_MEM_ACCESS_FLAGS_PROT_READWRITE };
	CUdeviceptr va;
	unsigned long long vram0;
	size_t f, t;

	setup();
	p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	p.location.id = 0;
	vram0 = fakecuda_vram_used(0);
	ok(cuMemCreate(&h1, 192 * MiB, &p, 0) == 0 && fakecuda_vram_used(0) == vram0 + 192 * MiB,
	   "VMM within the limit: a device handle");
	if (!host_ok) {
		ok(cuMemCreate(&h2, 128 * MiB, &p, 0) == CUDA_ERROR_OUT_OF_MEMORY && log_has("cannot place VMM"),
		   "no host-NUMA VMM in the driver: out of memory, and the log says so");
		ok(cuMemRelease(h1) == 0, "release");
		return;
	}
	ok(cuMemCreate(&h2, 128 * MiB, &p, 0) == 0 && fakecuda_host_vmm_bytes() == 128 * MiB &&
	   fakecuda_vram_used(0) == vram0 + 192 * MiB, "VMM past the limit: backed by host-NUMA memory");
	ok(cuMemAddressReserve(&va, 128 * MiB, 0, 0, 0) == 0 && cuMemMap(va, 128 * MiB, 0, h2, 0) == 0 &&
	   cuMemSetAccess(va, 128 * MiB, &ad, 1) == 0, "the application maps it as it would a device handle");
	memset((void *)(uintptr_t)va, 0x5a, 128 * MiB);
	ok(((unsigned char *)(uintptr_t)va)[128 * MiB - 1] == 0x5a, "and uses it");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && f == (256 - 192) * MiB + (512 - 128) * MiB, "VMM bytes are counted in both tiers");
	ok(my_status(&st) == 0 && st.dev[0].vmm_bytes == 320 * MiB && st.dev[0].tier[1].bytes == 128 * MiB,
	   "status: vmm_bytes and T2");
	ok(cuMemUnmap(va, 128 * MiB) == 0 && cuMemAddressFree(va, 128 * MiB) == 0, "unmap");
	ok(cuMemRelease(h2) == 0 && fakecuda_host_vmm_bytes() == 0, "release the host-backed handle");
	ok(cuMemRelease(h1) == 0 && fakecuda_vram_used(0) == vram0, "release the device handle");
	ok(cuMemRelease(h1) == CUDA_ERROR_INVALID_VALUE, "a double release is the driver's error");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && f == t, "all free again");
}

/* disabled or broken configuration: everything passes through */
static void passthrough(const char *why)
{
	CUdeviceptr a;
	char path[512];

	setup();
	ok(cuMemAlloc_v2(&a, 512 * MiB) == 0 && !fakecuda_is_registered((void *)a),
	   "%s: 512M past vram_limit stays in the driver's VRAM", why);
	ok(cuMemAlloc_v2(&a, 768 * MiB) == CUDA_ERROR_OUT_OF_MEMORY, "%s: the driver's own out of memory", why);
	usleep(100 * 1000);
	gb_status_path(getenv("GB_RUN_DIR"), getpid(), path, sizeof(path));
	ok(access(path, F_OK) < 0, "%s: no status file", why);
}

/* contexts: destroying one, or resetting or releasing the primary one,
 * frees what was allocated in it, so the accounting must let it go */
static void contexts(void)
{
	CUdeviceptr a, b;
	CUcontext c1, c2, p;
	size_t f, t;
	CUdevice d;

	cuInit(0);
	cuDeviceGet(&d, 0);
	ok(cuCtxCreate_v2(&c1, 0, d) == 0, "a context");
	ok(cuMemAlloc_v2(&a, 256 * MiB) == 0 && cuMemAlloc_v2(&b, 64 * MiB) == 0 && fakecuda_is_registered((void *)b),
	   "T1 and T2 in it");
	ok(cuCtxDestroy_v2(c1) == 0, "destroy it");
	ok(cuCtxCreate_v2(&c2, 0, d) == 0 && cuMemGetInfo_v2(&f, &t) == 0 && f == t, "its memory is free again");
	is_int(fakecuda_registered_ranges(), 0, "its host memory is unpinned");
	ok(my_status(&st) == 0 && st.dev[0].tier[0].count == 0 && st.dev[0].tier[1].count == 0, "status: nothing left");
	cuCtxDestroy_v2(c2);

	ok(cuDevicePrimaryCtxRetain(&p, d) == 0 && cuCtxSetCurrent(p) == 0, "the primary context");
	ok(cuMemAlloc_v2(&a, 256 * MiB) == 0 && cuMemAlloc_v2(&b, 64 * MiB) == 0, "T1 and T2 in it");
	ok(cuDevicePrimaryCtxReset_v2(d) == 0, "reset it");
	ok(cuDevicePrimaryCtxRetain(&p, d) == 0 && cuCtxSetCurrent(p) == 0 && cuMemGetInfo_v2(&f, &t) == 0 && f == t,
	   "after a reset its memory is free again");
	ok(cuMemAlloc_v2(&a, 256 * MiB) == 0 && cuMemAlloc_v2(&b, 64 * MiB) == 0, "T1 and T2 in it again");
	ok(cuDevicePrimaryCtxRelease_v2(d) == 0, "the last release destroys it");
	ok(cuCtxCreate_v2(&c2, 0, d) == 0 && cuMemGetInfo_v2(&f, &t) == 0 && f == t, "and frees its memory");
}

/* rounding: host_limit 10M counts whole 2 MB pages, as they are pinned */
static void rounding(void)
{
	CUdeviceptr a, b[3];
	size_t f, t;

	setup();
	ok(cuMemAlloc_v2(&a, 256 * MiB) == 0, "fill VRAM");
	ok(cuMemAlloc_v2(&b[0], 3 * MiB + 1) == 0 && fakecuda_is_registered((void *)b[0]), "3M+1 in T2");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && f == 10 * MiB - 4 * MiB, "it counts as the 4M it pins");
	ok(my_status(&st) == 0 && st.dev[0].tier[1].bytes == 4 * MiB, "status: T2 holds 4M");
	ok(cuMemAlloc_v2(&b[1], 3 * MiB + 1) == 0, "another 3M+1: 8M pinned");
	ok(cuMemAlloc_v2(&b[2], 3 * MiB + 1) == CUDA_ERROR_OUT_OF_MEMORY,
	   "a third would pin 12M > host_limit 10M: refused, though only 9M+3 were asked for");
	ok(fakecuda_registered_bytes() <= 10 * MiB, "no more than host_limit is pinned (%llu)", fakecuda_registered_bytes());
	{
		CUdeviceptr base;
		size_t sz;

		ok(cuMemGetAddressRange_v2(&base, &sz, b[0] + 3 * MiB) == 0 && sz == 3 * MiB + 1,
		   "the range is still what was asked for");
	}
	ok(cuMemFree_v2(b[0]) == 0 && cuMemFree_v2(b[1]) == 0 && cuMemGetInfo_v2(&f, &t) == 0 && f == 10 * MiB,
	   "freed: host_limit all free again");
}

/* badconf: the configuration is broken, so the log goes to standard
 * error (log_file cannot be trusted): capture it */
static void badconf(void)
{
	char path[512], *t;
	int fd;

	snprintf(path, sizeof(path), "%s/badconf.err", getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && dup2(fd, 2) == 2, "capture standard error");
	passthrough("a bad GB_THRESHOLD");
	t = gb_read_file(path, 1 << 16, NULL);
	ok(t && strstr(t, "greenboost[") && strstr(t, "]: error: GB_THRESHOLD: threshold: invalid size 'lots'") &&
	   strstr(t, "GreenBoost is off for this process"), "one error line names the bad variable");
	if (t)
		printf("# %s", t);
	free(t);
	unlink(path);
}

/* register_fails: the driver refuses to pin host memory */
static void register_fails(void)
{
	CUdeviceptr a, b;

	setup();
	ok(cuMemAlloc_v2(&a, 256 * MiB) == 0, "fill VRAM");
	ok(cuMemAlloc_v2(&b, 64 * MiB) == CUDA_ERROR_OUT_OF_MEMORY, "pinning refused: out of memory");
	ok(log_has("unable to pin host memory"), "the log says so");
	is_int(fakecuda_registered_ranges(), 0, "nothing left registered");
	ok(my_status(&st) == 0 && st.dev[0].tier[1].bytes == 0 && st.dev[0].refused == 1,
	   "T2 bytes given back, the refusal counted");
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	if (!strcmp(s, "place"))
		place();
	else if (!strcmp(s, "phase"))
		phase();
	else if (!strcmp(s, "query"))
		query();
	else if (!strcmp(s, "physical"))
		physical();
	else if (!strcmp(s, "async"))
		async();
	else if (!strcmp(s, "vmm"))
		vmm(1);
	else if (!strcmp(s, "vmm-nohost"))
		vmm(0);
	else if (!strcmp(s, "disabled"))
		passthrough("enable=off");
	else if (!strcmp(s, "badconf"))
		badconf();
	else if (!strcmp(s, "contexts"))
		contexts();
	else if (!strcmp(s, "rounding"))
		rounding();
	else if (!strcmp(s, "register-fails"))
		register_fails();
	else {
		fprintf(stderr, "usage: t-drv place|phase|query|physical|async|vmm|vmm-nohost|disabled|badconf|contexts|rounding|register-fails\n");
		return 100;
	}
	return done();
}
