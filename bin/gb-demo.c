/*
 * gb-demo: fill and check twice the emulated VRAM on the GPU, then show
 * where GreenBoost put it.  Driver API with PTX compiled at run time, so
 * it builds without the CUDA toolkit and says so plainly without a GPU.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cuabi.h"
#include "gb.h"

extern char **environ;

#include "ptx_fill_check.h"

typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;

static struct {
	CUresult (*cuInit)(unsigned);
	CUresult (*cuDeviceGet)(CUdevice *, int);
	CUresult (*cuDeviceGetName)(char *, int, CUdevice);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*cuCtxSetCurrent)(CUcontext);
	CUresult (*cuCtxSynchronize)(void);
	CUresult (*cuMemAlloc_v2)(CUdeviceptr *, size_t);
	CUresult (*cuMemFree_v2)(CUdeviceptr);
	CUresult (*cuMemcpyDtoH_v2)(void *, CUdeviceptr, size_t);
	CUresult (*cuMemsetD32_v2)(CUdeviceptr, unsigned, size_t);
	CUresult (*cuModuleLoadData)(CUmodule *, const void *);
	CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
				   unsigned, CUstream, void **, void **);
	CUresult (*cuGetErrorString)(CUresult, const char **);
} cu;

static void check(CUresult e, const char *what)
{
	const char *s = NULL;

	if (e == CUDA_SUCCESS)
		return;
	if (cu.cuGetErrorString)
		cu.cuGetErrorString(e, &s);
	gb_die(GB_EXIT_SYS, "unable to %s: CUDA error %d%s%s", what, e, s ? ": " : "", s ? s : "");
}

static void usage(void)
{
	gb_die_usage("gb-demo [-h] [-s size] [-c chunk]");
}

struct chunk {
	CUdeviceptr p;
	size_t n;
	double gbps;
};

static CUfunction kfill, kcheck;
static CUdeviceptr bad;

static void fill(struct chunk *c, unsigned seed)
{
	void *args[] = { &c->p, &c->n, &seed };

	check(cu.cuLaunchKernel(kfill, 264, 1, 1, 512, 1, 1, 0, NULL, args, NULL), "launch fill");
}

static unsigned long long verify(struct chunk *c, unsigned seed, int timed)
{
	void *args[] = { &c->p, &c->n, &seed, &bad };
	unsigned long long nbad = 0;
	struct timespec t0, t1;

	check(cu.cuMemsetD32_v2(bad, 0, 2), "clear the counter");
	check(cu.cuCtxSynchronize(), "synchronize");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check(cu.cuLaunchKernel(kcheck, 1056, 1, 1, 512, 1, 1, 0, NULL, args, NULL), "launch check");
	check(cu.cuCtxSynchronize(), "run the check kernel");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (timed)
		c->gbps = (double)c->n * 4 / 1e9 /
			  ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 + 1e-9);
	check(cu.cuMemcpyDtoH_v2(&nbad, bad, sizeof(nbad)), "read the counter");
	return nbad;
}

static void show_status(void)
{
	struct gb_status st;
	struct gb_conf conf;
	struct gb_err err;
	char dir[GB_PATH_MAX], path[GB_PATH_MAX + 32], a[32], b[32], h[32];
	int fellback, d;

	if (gb_conf_load(&conf, environ, &err) < 0 ||
	    !gb_run_dir_pick(conf.run_dir, dir, sizeof(dir), &fellback)) {
		printf("no GreenBoost status (configuration or run directory unusable)\n");
		return;
	}
	gb_status_path(dir, getpid(), path, sizeof(path));
	/* the shim rewrites it at most every status_interval */
	usleep((useconds_t)(conf.status_interval_ms * 2 + 100) * 1000);
	if (gb_status_read(path, &st, &err) < 0) {
		printf("no GreenBoost status file (%s): was gb-demo run under gb-run?\n", err.msg);
		return;
	}
	printf("\nwhere the memory went (%s):\n", path);
	for (d = 0; d < st.ndev; d++) {
		const struct gb_status_dev *v = &st.dev[d];

		if (!v->present)
			continue;
		printf("  device %d, %s: vram_limit %s of %s\n", d, v->name, gb_size_human(v->vram_limit, a, sizeof(a)),
		       gb_size_human(v->vram_physical, b, sizeof(b)));
		printf("    T1 VRAM         %10s in %llu allocations (peak %s)\n", gb_size_human(v->tier[0].bytes, a, sizeof(a)),
		       (unsigned long long)v->tier[0].count, gb_size_human(v->tier[0].peak, b, sizeof(b)));
		printf("    T2 pinned host  %10s in %llu allocations (peak %s, %s on hugepages)\n",
		       gb_size_human(v->tier[1].bytes, a, sizeof(a)), (unsigned long long)v->tier[1].count,
		       gb_size_human(v->tier[1].peak, b, sizeof(b)), gb_size_human(v->t2_hugetlb_bytes, h, sizeof(h)));
		printf("    refused         %llu\n", (unsigned long long)v->refused);
	}
	printf("  phase %s, path %c\n", gb_phase_name(st.phase), st.path);
}

int main(int argc, char **argv)
{
	const char *lib = getenv("GB_CUDA_LIB"), *lim = getenv("GB_VRAM_LIMIT"), *why;
	uint64_t total = 0, chunk = 256 * GB_MiB, done = 0;
	struct chunk *ch;
	size_t n = 0, i, j;
	CUcontext ctx;
	CUmodule mod;
	CUdevice dev;
	char name[96] = "", a[32], b[32];
	unsigned long long nbad = 0;
	void *h;
	int c;

	gb_log_setup("gb-demo", GB_LOG_WARN, -1);
	while ((c = getopt(argc, argv, "s:c:h")) != -1) {
		switch (c) {
		case 'h':
			printf("usage: gb-demo [-h] [-s size] [-c chunk]\n"
			       "Fill and check SIZE (default: twice $GB_VRAM_LIMIT) of GPU memory in CHUNK pieces\n"
			       "(default 256M), then show where GreenBoost placed it.  See gb-demo(1).\n");
			return 0;
		case 's':
			if (gb_size_parse(optarg, &total, &why) < 0 || !total)
				gb_die_usage("gb-demo -s: invalid size '%s'%s%s", optarg, why ? ": " : "", why ? why : "");
			break;
		case 'c':
			if (gb_size_parse(optarg, &chunk, &why) < 0 || chunk < GB_MiB)
				gb_die_usage("gb-demo -c: invalid chunk size '%s' (at least 1M)", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	h = dlopen(lib && *lib ? lib : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("gb-demo: no NVIDIA GPU driver on this machine (%s).\n"
		       "The build and install are fine; there is no GPU to demonstrate on.\n", dlerror());
		return 0;
	}
#define SYM(f) cu.f = (__typeof__(cu.f))dlsym(h, #f); if (!cu.f) gb_die(GB_EXIT_SYS, "the driver lacks %s", #f);
	SYM(cuInit) SYM(cuDeviceGet) SYM(cuDeviceGetName) SYM(cuDevicePrimaryCtxRetain) SYM(cuCtxSetCurrent)
	SYM(cuCtxSynchronize) SYM(cuMemAlloc_v2) SYM(cuMemFree_v2) SYM(cuMemcpyDtoH_v2) SYM(cuMemsetD32_v2)
	SYM(cuModuleLoadData) SYM(cuModuleGetFunction) SYM(cuLaunchKernel) SYM(cuGetErrorString)
#undef SYM
	c = cu.cuInit(0);
	if (c != CUDA_SUCCESS) {
		printf("gb-demo: the NVIDIA driver found no usable GPU (cuInit: CUDA error %d).\n"
		       "The build and install are fine; there is no GPU to demonstrate on.\n", c);
		return 0;
	}
	if (!total) {
		uint64_t v;

		if (!lim || gb_size_parse(lim, &v, &why) < 0)
			gb_die_usage("gb-demo: no emulated VRAM size to double: run it as 'gb-run --vram-limit 4G gb-demo', "
				     "or give -s SIZE");
		total = 2 * v;
	}
	check(cu.cuDeviceGet(&dev, 0), "find GPU 0");
	cu.cuDeviceGetName(name, sizeof(name), dev);
	check(cu.cuDevicePrimaryCtxRetain(&ctx, dev), "create a context");
	check(cu.cuCtxSetCurrent(ctx), "make the context current");
	check(cu.cuModuleLoadData(&mod, gb_ptx_fill_check), "compile the demo kernels");
	check(cu.cuModuleGetFunction(&kfill, mod, "fill"), "find kernel fill");
	check(cu.cuModuleGetFunction(&kcheck, mod, "check"), "find kernel check");
	check(cu.cuMemAlloc_v2(&bad, 8), "allocate the error counter");

	ch = calloc(total / chunk + 2, sizeof(*ch));
	if (!ch)
		gb_die_errno(GB_EXIT_SYS, "unable to allocate memory");
	printf("gb-demo: %s on %s, in %s chunks\n", gb_size_human(total, a, sizeof(a)), name,
	       gb_size_human(chunk, b, sizeof(b)));
	while (done < total) {
		struct chunk *k = &ch[n];
		uint64_t sz = total - done < chunk ? total - done : chunk;

		k->n = sz / 4;
		check(cu.cuMemAlloc_v2(&k->p, k->n * 4), "allocate a chunk");
		fill(k, (unsigned)n);
		done += k->n * 4;
		n++;
	}
	/* every chunk, after all were written: nothing overwrote anything */
	for (i = 0; i < n; i++)
		nbad += verify(&ch[i], (unsigned)i, 1);
	printf("checked %zu chunks (%s): %llu wrong words\n", n, gb_size_human(done, a, sizeof(a)), nbad);
	printf("read bandwidth of the check kernel, by chunk:\n");
	for (i = 0; i < n; i = j) {
		double lo = ch[i].gbps, hi = ch[i].gbps;

		for (j = i + 1; j < n && ch[j].gbps < 2 * lo && ch[j].gbps > hi / 2; j++) {
			lo = ch[j].gbps < lo ? ch[j].gbps : lo;
			hi = ch[j].gbps > hi ? ch[j].gbps : hi;
		}
		printf("  chunks %3zu-%-3zu %8.1f-%.1f GB/s\n", i + 1, j, lo, hi);
	}
	show_status();
	for (i = 0; i < n; i++)
		check(cu.cuMemFree_v2(ch[i].p), "free a chunk");
	free(ch);
	return nbad ? 1 : 0;
}
