/*
 * fakenvml.c - a TEST DOUBLE of libnvidia-ml.so.1, NVIDIA's management
 * library (NVML).
 *
 * THIS IS NOT THE REAL NVML.  It reports the fake devices of the CUDA
 * driver test double (fakecuda.c): FAKECUDA_DEVICES devices of
 * FAKECUDA_VRAM bytes each, at the same PCI addresses (bus 0x10 + i), and
 * as "used" whatever the fake driver has allocated on each, when the fake
 * driver is loaded in the process.  It lets CI without a GPU test the
 * shim's NVML hooks.  Built as tests/doubles/libnvidia-ml.so.1; never
 * install it.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cuabi.h"
#include "fakeenv.h"

/* exported even where the build hides symbols by default */
#define EXPORT __attribute__((visibility("default")))

struct nvmlDevice_st {
	int index;
};

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static int refs;                /* nvmlInit nests: each init wants its shutdown */
static int ndev;
static unsigned long long vram;
static struct nvmlDevice_st devs[FAKE_MAX_DEVICES];
static unsigned long long (*vram_used)(int);

/* The fake driver's count of VRAM in use on dev; 0 without the fake
 * driver.  It may be loaded RTLD_LOCAL (the shim and cudart dlopen it
 * so), where RTLD_DEFAULT cannot see it: then look it up by its soname,
 * without loading it. */
static unsigned long long used_on(int dev)
{
	unsigned long long (*f)(int);
	void *h;

	pthread_mutex_lock(&lk);
	if (!vram_used) {
		vram_used = (unsigned long long (*)(int))dlsym(RTLD_DEFAULT, "fakecuda_vram_used");
		/* the handle is kept: the function must stay mapped */
		if (!vram_used && (h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD)))
			vram_used = (unsigned long long (*)(int))dlsym(h, "fakecuda_vram_used");
	}
	f = vram_used;
	pthread_mutex_unlock(&lk);
	return f ? f(dev) : 0;
}

static nvmlReturn_t init(void)
{
	int i;

	pthread_mutex_lock(&lk);
	if (!refs++) {
		ndev = fake_env_devices();
		vram = fake_env_vram();
		for (i = 0; i < ndev; i++)
			devs[i].index = i;
	}
	pthread_mutex_unlock(&lk);
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
	return init();
}

EXPORT nvmlReturn_t nvmlInit(void)
{
	return init();
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
	nvmlReturn_t r = NVML_SUCCESS;

	pthread_mutex_lock(&lk);
	if (refs > 0)
		refs--;
	else
		r = NVML_ERROR_UNINITIALIZED;
	pthread_mutex_unlock(&lk);
	return r;
}

static nvmlReturn_t ready(void)
{
	int r;

	pthread_mutex_lock(&lk);
	r = refs > 0;
	pthread_mutex_unlock(&lk);
	return r ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
}

/* the index of a handle this library gave out, or -1 */
static int index_of(nvmlDevice_t d)
{
	int i;

	for (i = 0; i < ndev; i++)
		if (d == &devs[i])
			return i;
	return -1;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n)
{
	nvmlReturn_t r;

	if ((r = ready()))
		return r;
	if (!n)
		return NVML_ERROR_INVALID_ARGUMENT;
	*n = (unsigned int)ndev;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *n)
{
	return nvmlDeviceGetCount_v2(n);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d)
{
	nvmlReturn_t r;

	if ((r = ready()))
		return r;
	if (!d || i >= (unsigned int)ndev)
		return NVML_ERROR_INVALID_ARGUMENT;
	*d = &devs[i];
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int i, nvmlDevice_t *d)
{
	return nvmlDeviceGetHandleByIndex_v2(i, d);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci)
{
	nvmlReturn_t r;
	int i;

	if ((r = ready()))
		return r;
	if (!pci || (i = index_of(d)) < 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	memset(pci, 0, sizeof(*pci));
	pci->domain = 0;
	pci->bus = 0x10 + (unsigned int)i;
	pci->device = 0;
	pci->pciDeviceId = 0x000010de;  /* NVIDIA's vendor id in the low half */
	snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "0000:%02x:00.0", pci->bus & 0xff);
	snprintf(pci->busId, sizeof(pci->busId), "00000000:%02x:00.0", pci->bus & 0xff);
	return NVML_SUCCESS;
}

/* total, free, used of device d */
static nvmlReturn_t memory(nvmlDevice_t d, unsigned long long *total, unsigned long long *free_b,
			   unsigned long long *used)
{
	nvmlReturn_t r;
	int i;

	if ((r = ready()))
		return r;
	if ((i = index_of(d)) < 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	*total = vram;
	*used = used_on(i);
	if (*used > vram)
		*used = vram;
	*free_b = vram - *used;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m)
{
	nvmlReturn_t r;

	if ((r = ready()))
		return r;
	if (!m)
		return NVML_ERROR_INVALID_ARGUMENT;
	return memory(d, &m->total, &m->free, &m->used);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m)
{
	nvmlReturn_t r;

	if ((r = ready()))
		return r;
	if (!m)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (m->version != nvmlMemory_v2)
		return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
	m->reserved = 0;
	return memory(d, &m->total, &m->free, &m->used);
}

EXPORT const char *nvmlErrorString(nvmlReturn_t r)
{
	switch (r) {
	case NVML_SUCCESS:
		return "Success";
	case NVML_ERROR_UNINITIALIZED:
		return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT:
		return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED:
		return "Not Supported";
	case NVML_ERROR_NOT_FOUND:
		return "Not Found";
	case NVML_ERROR_FUNCTION_NOT_FOUND:
		return "Function Not Found";
	case NVML_ERROR_ARGUMENT_VERSION_MISMATCH:
		return "Argument version mismatch";
	default:
		return "Unknown Error";
	}
}
