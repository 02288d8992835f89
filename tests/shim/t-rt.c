/*
 * The runtime API through the cudart test double, which finds the driver
 * the way cudart 13 does (dlsym of cuGetProcAddress_v2, then every entry
 * point through it); and NVML.  vram_limit 256M, kv_reserve 0,
 * host_limit 512M.  Nothing may be placed or counted twice.
 */
#include "common.h"

cudaError_t cudaMalloc(void **, size_t);
cudaError_t cudaFree(void *);
cudaError_t cudaMallocAsync(void **, size_t, cudaStream_t);
cudaError_t cudaFreeAsync(void *, cudaStream_t);
cudaError_t cudaMallocPitch(void **, size_t *, size_t, size_t);
cudaError_t cudaMemGetInfo(size_t *, size_t *);
cudaError_t cudaGetDeviceProperties(void *, int);
cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *, const void *);
cudaError_t cudaDeviceSynchronize(void);
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int, nvmlDevice_t *);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t, nvmlMemory_t *);
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t, nvmlMemory_v2_t *);

static struct gb_status st;

/* every API's answer, side by side */
static void agree(const char *when)
{
	size_t rf = 0, rt = 0, df = 0, dt = 0, dtot = 0;
	unsigned char prop[2048];
	size_t ptot = 0;
	nvmlDevice_t nd;
	nvmlMemory_t m1 = { 0 };
	nvmlMemory_v2_t m2 = { .version = nvmlMemory_v2 };

	ok(cudaMemGetInfo(&rf, &rt) == 0 && cuMemGetInfo_v2(&df, &dt) == 0 && cuDeviceTotalMem_v2(&dtot, 0) == 0 &&
	   cudaGetDeviceProperties(prop, 0) == 0, "%s: runtime and driver queries", when);
	memcpy(&ptot, prop + GB_CUDADEVICEPROP_TOTALGLOBALMEM_OFFSET, sizeof(ptot));
	ok(nvmlDeviceGetHandleByIndex_v2(0, &nd) == NVML_SUCCESS && nvmlDeviceGetMemoryInfo(nd, &m1) == NVML_SUCCESS &&
	   nvmlDeviceGetMemoryInfo_v2(nd, &m2) == NVML_SUCCESS, "%s: NVML queries", when);
	ok(rt == dt && dt == dtot && dtot == ptot && ptot == m1.total && m1.total == m2.total,
	   "%s: one total everywhere (%zu %zu %zu %zu %llu %llu)", when, rt, dt, dtot, ptot, m1.total, m2.total);
	ok(rf == df && df == m1.free && m1.free == m2.free && m1.used == m1.total - m1.free &&
	   m2.used == m2.total - m2.free, "%s: one free everywhere (%zu %zu %llu %llu)", when, rf, df, m1.free, m2.free);
}

int main(void)
{
	void *a, *b, *c, *p, *cudart;
	cudaError_t (*raw_malloc)(void **, size_t);
	struct cudaPointerAttributes at;
	size_t f, t, pitch;

	ok(nvmlInit_v2() == NVML_SUCCESS, "NVML");
	agree("before CUDA");
	ok(cudaMalloc(&a, 256 * MiB) == cudaSuccess && !fakecuda_is_registered(a), "cudaMalloc: T1");
	ok(cudaMalloc(&b, 64 * MiB) == cudaSuccess && fakecuda_is_registered(b), "cudaMalloc past the limit: T2");
	ok(cudaMemGetInfo(&f, &t) == 0 && t == 768 * MiB && f == 448 * MiB, "cudaMemGetInfo: virtual sizes");
	agree("with T1 and T2 in use");
	ok(cudaPointerGetAttributes(&at, (char *)b + 100) == cudaSuccess && at.type == cudaMemoryTypeDevice &&
	   at.device == 0 && at.devicePointer == (char *)b + 100 && at.hostPointer == NULL,
	   "cudaPointerGetAttributes: T2 is device memory");
	ok(cudaPointerGetAttributes(&at, a) == cudaSuccess && at.type == cudaMemoryTypeDevice, "and T1 too");
	ok(my_status(&st) == 0 && st.dev[0].tier[0].count == 1 && st.dev[0].tier[1].count == 1 &&
	   st.dev[0].tier[0].bytes == 256 * MiB && st.dev[0].tier[1].bytes == 64 * MiB,
	   "each allocation counted once, runtime and driver hooks together");

	/* cudart reached around the runtime hooks: the driver hooks catch it */
	cudart = dlopen("libcudart.so.13", RTLD_NOW | RTLD_NOLOAD);
	raw_malloc = cudart ? (cudaError_t(*)(void **, size_t))dlsym(cudart, "cudaMalloc") : NULL;
	ok(raw_malloc && (void *)raw_malloc != (void *)cudaMalloc, "dlsym(cudart, cudaMalloc) is cudart's own");
	ok(raw_malloc && raw_malloc(&c, 64 * MiB) == cudaSuccess && fakecuda_is_registered(c),
	   "cudart's own cudaMalloc still lands in T2: cudart found the driver through the shim");
	ok(my_status(&st) == 0 && st.dev[0].tier[1].count == 2, "counted once");
	ok(cudaFree(c) == cudaSuccess && !fakecuda_is_registered(c), "cudaFree of T2");

	ok(cudaMallocAsync(&c, 64 * MiB, NULL) == cudaSuccess && fakecuda_is_registered(c), "cudaMallocAsync: T2");
	ok(cudaFreeAsync(c, NULL) == cudaSuccess, "cudaFreeAsync");
	ok(cudaDeviceSynchronize() == 0, "synchronize");
	ok(cudaMallocPitch(&p, &pitch, 1000, 65536) == cudaSuccess && fakecuda_is_registered(p) && pitch == 1024,
	   "cudaMallocPitch past the limit: T2, pitch 1024");
	ok(cudaFree(p) == 0, "free it");
	ok(cudaMalloc(&c, 4096) == cudaSuccess && !fakecuda_is_registered(c) && cudaFree(c) == 0,
	   "small allocations pass through");
	ok(cudaFree(b) == cudaSuccess && !fakecuda_is_registered(b), "cudaFree of T2");
	ok(cudaFree(a) == cudaSuccess, "cudaFree of T1");
	ok(cudaFree(NULL) == cudaSuccess, "cudaFree(NULL)");
	is_int(fakecuda_registered_ranges(), 0, "nothing left registered");
	ok(cudaMemGetInfo(&f, &t) == 0 && f == t, "all free again");
	agree("after freeing");
	return done();
}
