/*
 * NVML before CUDA: the answer comes from the configuration and NVML's
 * own size, and CUDA is NOT initialised behind the program's back (so a
 * parent can still fork CUDA workers).  vram_limit 256M, host_limit 512M.
 */
#include "common.h"

nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int, nvmlDevice_t *);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t, nvmlMemory_t *);
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t, nvmlMemory_v2_t *);
CUresult cuDeviceGetCount(int *);

int main(void)
{
	nvmlMemory_v2_t m2 = { .version = nvmlMemory_v2 };
	nvmlMemory_t m1;
	nvmlDevice_t nd;
	size_t f, t;
	int n;

	ok(nvmlInit_v2() == NVML_SUCCESS && nvmlDeviceGetHandleByIndex_v2(0, &nd) == NVML_SUCCESS, "NVML");
	ok(nvmlDeviceGetMemoryInfo(nd, &m1) == NVML_SUCCESS && m1.total == 768 * MiB && m1.free == m1.total &&
	   m1.used == 0, "before CUDA: total = vram_limit + host_limit, nothing used");
	ok(nvmlDeviceGetMemoryInfo_v2(nd, &m2) == NVML_SUCCESS && m2.total == 768 * MiB, "v2 too");
	ok(cuDeviceGetCount(&n) == CUDA_ERROR_NOT_INITIALIZED, "and CUDA is still not initialised");
	setup();
	ok(cuMemGetInfo_v2(&f, &t) == 0 && nvmlDeviceGetMemoryInfo(nd, &m1) == NVML_SUCCESS && m1.total == t &&
	   m1.free == f, "after CUDA starts: NVML answers exactly what CUDA does");
	return done();
}
