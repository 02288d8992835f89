/*
 * NVML memory queries, so that nvidia-smi-style tools inside the process
 * (vLLM, Ollama, pynvml) read the same sizes as CUDA does.  An NVML
 * device is matched to a CUDA ordinal by PCI address; one CUDA cannot see
 * (CUDA_VISIBLE_DEVICES) keeps its real numbers.
 *
 * NVML never initialises CUDA here: frameworks ask NVML precisely so that
 * a parent process can fork CUDA workers.  Before this process has
 * initialised CUDA itself, the answer is worked out from NVML's own size
 * with nothing in use yet; afterwards it is exactly what CUDA reports.
 */
#include <stdio.h>

#include "shim.h"

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	nvmlDevice_t nd;
	int dev;
} map[GB_MAX_DEVICES * 2];
static int nmap;

static int parse_bus(const char *s, unsigned *dom, unsigned *bus, unsigned *dev)
{
	unsigned fn;

	return sscanf(s, "%x:%x:%x.%x", dom, bus, dev, &fn) == 4 ? 0 : -1;
}

#define NOT_YET (-2)

/* the CUDA ordinal of nd; -1 if CUDA cannot see it; NOT_YET before cuInit */
static int cuda_ordinal(nvmlDevice_t nd)
{
	unsigned d0, b0, s0, d1, b1, s1;
	nvmlPciInfo_t pci;
	char id[32];
	int i, n = 0, found = -1;

	pthread_mutex_lock(&map_lock);
	for (i = 0; i < nmap; i++)
		if (map[i].nd == nd) {
			found = map[i].dev;
			pthread_mutex_unlock(&map_lock);
			return found;
		}
	pthread_mutex_unlock(&map_lock);
	if (!R.nvmlDeviceGetPciInfo_v3 || R.nvmlDeviceGetPciInfo_v3(nd, &pci) != NVML_SUCCESS)
		return -1;
	pci.busId[sizeof(pci.busId) - 1] = 0;
	if (parse_bus(pci.busId, &d0, &b0, &s0) < 0 || !R.cuDeviceGetCount || !R.cuDeviceGetPCIBusId)
		return -1;
	switch (R.cuDeviceGetCount(&n)) {
	case CUDA_SUCCESS:
		break;
	case CUDA_ERROR_NOT_INITIALIZED:
		return NOT_YET;
	default:
		return -1;
	}
	for (i = 0; i < n && found < 0; i++)
		if (R.cuDeviceGetPCIBusId(id, sizeof(id), i) == CUDA_SUCCESS && parse_bus(id, &d1, &b1, &s1) == 0 &&
		    d0 == d1 && b0 == b1 && s0 == s1)
			found = i;
	pthread_mutex_lock(&map_lock);
	if (nmap < (int)(sizeof(map) / sizeof(map[0]))) {
		map[nmap].nd = nd;
		map[nmap].dev = found;
		nmap++;
	}
	pthread_mutex_unlock(&map_lock);
	return found;
}

/* the shim's figures for the CUDA device behind nd; -1 to keep NVML's */
static int figures(nvmlDevice_t nd, unsigned long long phys_total, unsigned long long phys_free, uint64_t *f,
		   uint64_t *t)
{
	int dev;

	if (gb_depth || !g.enabled)
		return -1;
	dev = cuda_ordinal(nd);
	if (dev == NOT_YET) {
		uint64_t lim = gb_sizepct_resolve(&g.conf.vram_limit, phys_total);

		if (lim > phys_total)
			lim = phys_total;
		if (g.conf.report == GB_REPORT_PHYSICAL) {
			*t = lim;
			*f = phys_free < lim ? phys_free : lim;
		} else {
			*t = *f = lim + g.host_limit;
		}
		return 0;
	}
	if (dev < 0 || !gb_dev_get(dev))
		return -1;
	gb_phase_query();
	gb_report(dev, phys_free, 1, f, t);
	return 0;
}

nvmlReturn_t gbw_nvmlDeviceGetMemoryInfo(nvmlDevice_t nd, nvmlMemory_t *m)
{
	uint64_t f, t;
	nvmlReturn_t e;

	gb_ready();
	if (gb_resolve_nvml() < 0 || !R.nvmlDeviceGetMemoryInfo)
		return NVML_ERROR_UNINITIALIZED;
	e = R.nvmlDeviceGetMemoryInfo(nd, m);
	if (e != NVML_SUCCESS || !m || figures(nd, m->total, m->free, &f, &t) < 0)
		return e;
	m->total = t;
	m->free = f;
	m->used = t - f;
	return e;
}
GB_ALIAS(nvmlReturn_t, nvmlDeviceGetMemoryInfo, (nvmlDevice_t, nvmlMemory_t *));

nvmlReturn_t gbw_nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t nd, nvmlMemory_v2_t *m)
{
	uint64_t f, t;
	nvmlReturn_t e;

	gb_ready();
	if (gb_resolve_nvml() < 0 || !R.nvmlDeviceGetMemoryInfo_v2)
		return NVML_ERROR_UNINITIALIZED;
	e = R.nvmlDeviceGetMemoryInfo_v2(nd, m);
	if (e != NVML_SUCCESS || !m || figures(nd, m->total, m->free, &f, &t) < 0)
		return e;
	m->total = t;
	m->free = f;
	m->reserved = 0;
	m->used = t - f;
	return e;
}
GB_ALIAS(nvmlReturn_t, nvmlDeviceGetMemoryInfo_v2, (nvmlDevice_t, nvmlMemory_v2_t *));

void gb_nvml_after_fork(void)
{
	pthread_mutex_init(&map_lock, NULL);
}
