/*
 * Interception through cuGetProcAddress(_v2) and dlsym, the ways cudart
 * and frameworks find the driver.  Scenarios: "exact" (the driver hands
 * out its exported addresses, as the real one does) and "thunks" (it
 * hands out other addresses: the shim falls back to version rules).
 */
#include "common.h"

typedef CUresult (*alloc_fn)(CUdeviceptr *, size_t);

static void *lib(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);

	if (!h)
		printf("Bail out! libcuda.so.1 not loaded\n"), exit(1);
	return h;
}

static void *gpa(const char *sym, int ver, cuuint64_t flags, CUresult *r)
{
	CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	void *p = NULL;

	*r = cuGetProcAddress_v2(sym, &p, ver, flags, &st);
	return p;
}

/* a T2 placement through a function pointer proves it is ours */
static int places(void *fn)
{
	CUdeviceptr a, b;
	int r;

	if (!fn)
		return 0;
	if (((alloc_fn)fn)(&a, 256 * MiB))
		return 0;
	r = ((alloc_fn)fn)(&b, 64 * MiB) == 0 && fakecuda_is_registered((void *)b);
	cuMemFree_v2(a);
	if (!r)
		return 0;
	cuMemFree_v2(b);
	return 1;
}

static void exact(void)
{
	void *h = lib(), *p, *q;
	CUresult r;

	setup();
	p = gpa("cuMemAlloc", 13000, 0, &r);
	ok(r == 0 && p == (void *)cuMemAlloc_v2, "cuGetProcAddress_v2(cuMemAlloc, 13000) gives the shim's _v2");
	ok(places(p), "and it places allocations");
	p = gpa("cuMemAlloc", 12000, 0, &r);
	ok(r == 0 && p == (void *)cuMemAlloc_v2, "also for a CUDA 12 caller");
	p = gpa("cuMemAlloc", 3000, 0, &r);
	q = dlsym(h, "cuMemAlloc");
	ok(r == 0 && p && p == q && p != (void *)cuMemAlloc_v2, "version 3000 gets the legacy v1, untouched");
	p = gpa("cuMemAllocAsync", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &r);
	ok(r == 0 && p == (void *)cuMemAllocAsync_ptsz, "per-thread stream flag gives the shim's _ptsz");
	p = gpa("cuMemAllocAsync", 13000, 0, &r);
	ok(r == 0 && p == (void *)cuMemAllocAsync, "no flag gives the legacy-stream variant");
	p = gpa("cuMemGetInfo", 13000, 0, &r);
	ok(r == 0 && p == (void *)cuMemGetInfo_v2, "cuMemGetInfo");
	p = gpa("cuMemFree", 13000, 0, &r);
	ok(r == 0 && p == (void *)cuMemFree_v2, "cuMemFree");
	p = gpa("cuGetProcAddress", 13000, 0, &r);
	ok(r == 0 && p == (void *)cuGetProcAddress_v2, "a lookup of cuGetProcAddress itself gives the wrapper");
	p = gpa("cuGetProcAddress", 11080, 0, &r);
	ok(r == 0 && p == (void *)cuGetProcAddress, "and the CUDA 11 one for an old caller");
	p = gpa("cuMemcpyDtoH", 13000, 0, &r);
	q = dlsym(h, "cuMemcpyDtoH_v2");
	ok(r == 0 && p && p == q, "functions the shim does not hook come back untouched");
	p = gpa("cuMemcpyHtoD", 13000, 0, &r);
	ok(r == 0 && p == (void *)cuMemcpyHtoD_v2, "a copy that can write device memory gives the wrapper");
	p = gpa("cuMemcpyAsync", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &r);
	ok(r == 0 && p == (void *)cuMemcpyAsync_ptsz, "and its per-thread-stream variant for a per-thread caller");
	p = gpa("cuNoSuchThing", 13000, 0, &r);
	ok(r == CUDA_ERROR_NOT_FOUND && !p, "an unknown name stays unknown");
	p = NULL;
	ok(cuGetProcAddress("cuMemAlloc", &p, 13000, 0) == 0 && p == (void *)cuMemAlloc_v2,
	   "the CUDA 11 cuGetProcAddress wraps too");

	/* dlsym on the driver's handle */
	p = dlsym(h, "cuMemAlloc_v2");
	ok(p == (void *)cuMemAlloc_v2, "dlsym(libcuda, cuMemAlloc_v2) gives the shim's wrapper");
	ok(places(p), "and it places allocations");
	ok(dlsym(h, "cuGetProcAddress_v2") == (void *)cuGetProcAddress_v2, "dlsym of cuGetProcAddress_v2 too");
	p = dlsym(h, "cuMemcpyDtoH_v2");
	{
		Dl_info di;

		ok(p && dladdr(p, &di) && strstr(di.dli_fname, "libcuda.so.1"), "other symbols come from the driver");
	}
	ok(dlsym(h, "cuNoSuchThing") == NULL, "a missing symbol stays missing");
	ok(dlsym(RTLD_DEFAULT, "cuMemAlloc_v2") == (void *)cuMemAlloc_v2 && places(dlsym(RTLD_DEFAULT, "cuMemAlloc_v2")),
	   "dlsym(RTLD_DEFAULT) finds the wrapper, which works (no recursion)");
	{
		void *nv = dlopen("libnvidia-ml.so.1", RTLD_NOW);

		ok(nv && dlsym(nv, "nvmlDeviceGetMemoryInfo_v2") != NULL &&
		   dlsym(nv, "nvmlDeviceGetMemoryInfo_v2") == dlsym(RTLD_DEFAULT, "nvmlDeviceGetMemoryInfo_v2"),
		   "dlsym(libnvidia-ml, nvmlDeviceGetMemoryInfo_v2) gives the wrapper");
	}
}

static void thunks(void)
{
	void *h = lib(), *p;
	CUresult r;

	setup();
	p = gpa("cuMemAlloc", 13000, 0, &r);
	ok(r == 0 && p == (void *)cuMemAlloc_v2, "another address from the driver: the version rules pick _v2");
	ok(places(p), "and it places allocations");
	p = gpa("cuMemAlloc", 3000, 0, &r);
	ok(r == 0 && p && p != (void *)cuMemAlloc_v2 && p != dlsym(h, "cuMemAlloc_v2"),
	   "version 3000 still gets the driver's own legacy function");
	p = gpa("cuMemFreeAsync", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &r);
	ok(r == 0 && p == (void *)cuMemFreeAsync_ptsz, "the ptsz variant by flag");
	p = gpa("cuMemAlloc", 14000, 0, &r);
	ok(r == 0 && p && p != (void *)cuMemAlloc_v2, "a CUDA newer than the shim knows is left alone");
	p = gpa("cuGetProcAddress", 12000, 0, &r);
	ok(r == 0 && p == (void *)cuGetProcAddress_v2, "cuGetProcAddress itself");
	ok(fakecuda_gpa_calls() > 0, "the double saw the lookups");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "exact"))
		exact();
	else if (argc > 1 && !strcmp(argv[1], "thunks"))
		thunks();
	else
		return fprintf(stderr, "usage: t-gpa exact|thunks\n"), 100;
	return done();
}
