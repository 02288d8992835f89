/*
 * Finding the real CUDA entry points, and handing out ours.
 *
 * Programs reach the driver three ways, and each is covered:
 *  - by symbol (linked with -lcuda): our exported wrappers come first;
 *  - by dlsym(handle, "cuMemAlloc_v2"): we override dlsym itself, since
 *    a handle lookup never sees a preloaded symbol (cudart does this);
 *  - by cuGetProcAddress(_v2)("cuMemAlloc", version, flags): we wrap it,
 *    and substitute a wrapper only for the exact variant the driver
 *    chose (by comparing addresses), never a guess at another ABI.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

struct gb_real R;

enum { V_NONE, V_LEGACY, V_PTSZ };

struct hook {
	const char *name;   /* exported symbol */
	const char *base;   /* cuGetProcAddress name; NULL: not a driver symbol */
	int min_ver;        /* first CUDA version whose lookup of base gives this variant */
	int variant;        /* stream flavour, for functions that take a stream */
	void *wrapper;
	void **real;
};

#define H(name, base, ver, var) { #name, base, ver, var, (void *)gbw_##name, (void **)&R.name },
#define N(name) { #name, NULL, 0, V_NONE, (void *)gbw_##name, (void **)&R.name },
static const struct hook hooks[] = {
	H(cuMemAlloc_v2, "cuMemAlloc", 3020, V_NONE)
	H(cuMemAllocPitch_v2, "cuMemAllocPitch", 3020, V_NONE)
	H(cuMemAllocAsync, "cuMemAllocAsync", 11020, V_LEGACY)
	H(cuMemAllocAsync_ptsz, "cuMemAllocAsync", 11020, V_PTSZ)
	H(cuMemAllocFromPoolAsync, "cuMemAllocFromPoolAsync", 11020, V_LEGACY)
	H(cuMemAllocFromPoolAsync_ptsz, "cuMemAllocFromPoolAsync", 11020, V_PTSZ)
	H(cuMemFree_v2, "cuMemFree", 3020, V_NONE)
	H(cuMemFreeAsync, "cuMemFreeAsync", 11020, V_LEGACY)
	H(cuMemFreeAsync_ptsz, "cuMemFreeAsync", 11020, V_PTSZ)
	H(cuMemGetInfo_v2, "cuMemGetInfo", 3020, V_NONE)
	H(cuDeviceTotalMem_v2, "cuDeviceTotalMem", 3020, V_NONE)
	H(cuPointerGetAttribute, "cuPointerGetAttribute", 4000, V_NONE)
	H(cuPointerGetAttributes, "cuPointerGetAttributes", 7000, V_NONE)
	H(cuMemGetAddressRange_v2, "cuMemGetAddressRange", 3020, V_NONE)
	H(cuMemCreate, "cuMemCreate", 10020, V_NONE)
	H(cuMemRelease, "cuMemRelease", 10020, V_NONE)
	H(cuIpcGetMemHandle, "cuIpcGetMemHandle", 4010, V_NONE)
	H(cuLaunchKernel, "cuLaunchKernel", 4000, V_LEGACY)
	H(cuLaunchKernel_ptsz, "cuLaunchKernel", 4000, V_PTSZ)
	H(cuLaunchKernelEx, "cuLaunchKernelEx", 11060, V_LEGACY)
	H(cuLaunchKernelEx_ptsz, "cuLaunchKernelEx", 11060, V_PTSZ)
	H(cuStreamBeginCapture_v2, "cuStreamBeginCapture", 10010, V_LEGACY)
	H(cuStreamBeginCapture_v2_ptsz, "cuStreamBeginCapture", 10010, V_PTSZ)
	H(cuCtxDestroy_v2, "cuCtxDestroy", 4000, V_NONE)
	H(cuDevicePrimaryCtxReset_v2, "cuDevicePrimaryCtxReset", 11000, V_NONE)
	H(cuDevicePrimaryCtxRelease_v2, "cuDevicePrimaryCtxRelease", 11000, V_NONE)
	H(cuGetProcAddress, "cuGetProcAddress", 11030, V_NONE)
	H(cuGetProcAddress_v2, "cuGetProcAddress", 12000, V_NONE)
	N(nvmlDeviceGetMemoryInfo)
	N(nvmlDeviceGetMemoryInfo_v2)
#define HW(name, base, ver, var, params, args, dst) H(name, base, ver, var)
	GB_WRITE_FUNCS(HW)
#undef HW
};
#undef H
#undef N
#define NHOOKS (sizeof(hooks) / sizeof(hooks[0]))

/* the newest CUDA whose entry points this table knows */
#define GB_KNOWN_CUDA_MAX 13999

static void *(*_Atomic real_dlsym_fn)(void *, const char *);

static void *(*find_real_dlsym(void))(void *, const char *)
{
	static const char *const vers[] = { "GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17", NULL };
	void *(*f)(void *, const char *) = atomic_load_explicit(&real_dlsym_fn, memory_order_acquire);
	int i;

	if (f)
		return f;
	for (i = 0; vers[i] && !f; i++)
		f = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", vers[i]);
	if (!f)
		abort(); /* no dlsym in libc: nothing can work */
	atomic_store_explicit(&real_dlsym_fn, f, memory_order_release);
	return f;
}

void *gb_real_dlsym(void *handle, const char *name)
{
	return find_real_dlsym()(handle, name);
}

static const struct hook *hook_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < NHOOKS; i++)
		if (!strcmp(hooks[i].name, name))
			return &hooks[i];
	return NULL;
}

/* Everything else is a tail call into the real dlsym, so that dlsym
 * (RTLD_NEXT, ...) still resolves relative to our caller, not to us
 * (tests/shim/t-dlsym-next checks it). */
__attribute__((visibility("default")))
void *dlsym(void *handle, const char *name)
{
	void *(*rd)(void *, const char *) = find_real_dlsym();

	if (((name[0] == 'c' && name[1] == 'u') || (name[0] == 'n' && name[1] == 'v'))) {
		const struct hook *h = hook_by_name(name);

		if (h) {
			void *r = rd(handle, name);

			/* only where the library has it: a missing symbol stays missing */
			return r ? h->wrapper : NULL;
		}
	}
#if defined(__has_attribute)
#if __has_attribute(musttail)
	__attribute__((musttail))
#endif
#endif
	return rd(handle, name);
}

static void *lib_open(const char *env, const char *def)
{
	const char *name = getenv(env);
	void *h;

	if (!name || !*name)
		name = def;
	h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		h = dlopen(name, RTLD_LAZY);
	return h;
}

static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int driver_state; /* 0 not tried, 1 ok, -1 failed */
static _Atomic int nvml_state;

int gb_resolve_driver(void)
{
	void *h;

	if (driver_state)
		return driver_state > 0 ? 0 : -1;
	pthread_mutex_lock(&resolve_lock);
	if (!driver_state) {
		h = lib_open("GB_CUDA_LIB", "libcuda.so.1");
		if (!h) {
			driver_state = -1;
			gb_warn("unable to load the CUDA driver: %s", dlerror());
		} else {
#define GB_RESOLVE(ret, name, params) R.name = (ret(*) params)gb_real_dlsym(h, #name);
			GB_DRIVER_FUNCS(GB_RESOLVE)
#undef GB_RESOLVE
#define GB_RESOLVE_W(name, base, ver, var, params, args, dst) R.name = (CUresult(*) params)gb_real_dlsym(h, #name);
			GB_WRITE_FUNCS(GB_RESOLVE_W)
#undef GB_RESOLVE_W
			driver_state = R.cuMemAlloc_v2 && R.cuMemFree_v2 ? 1 : -1;
			if (driver_state < 0)
				gb_warn("the CUDA driver lacks cuMemAlloc_v2: GreenBoost disabled");
		}
	}
	pthread_mutex_unlock(&resolve_lock);
	return driver_state > 0 ? 0 : -1;
}

int gb_resolve_nvml(void)
{
	void *h;

	if (nvml_state)
		return nvml_state > 0 ? 0 : -1;
	pthread_mutex_lock(&resolve_lock);
	if (!nvml_state) {
		h = lib_open("GB_NVML_LIB", "libnvidia-ml.so.1");
		if (!h) {
			nvml_state = -1;
		} else {
#define GB_RESOLVE(ret, name, params) R.name = (ret(*) params)gb_real_dlsym(h, #name);
			GB_NVML_FUNCS(GB_RESOLVE)
#undef GB_RESOLVE
			nvml_state = 1;
		}
	}
	pthread_mutex_unlock(&resolve_lock);
	return nvml_state > 0 ? 0 : -1;
}

/* ---- the runtime ---- */

#define RT_TABLES 8
#define RT_CACHE 256

static struct {
	void *lm; /* the cudart's link_map */
	struct gb_real_rt f;
} rt_tables[RT_TABLES];
static int n_rt_tables;
static struct {
	_Atomic uintptr_t ret;
	const struct gb_real_rt *f;
} rt_cache[RT_CACHE];

static int is_ours(void *fn)
{
	Dl_info a, b;

	return dladdr(fn, &a) && dladdr((void *)gb_rt, &b) && a.dli_fbase == b.dli_fbase;
}

static void *link_map_of(void *addr)
{
	struct link_map *lm = NULL;
	Dl_info di;

	return dladdr1(addr, &di, (void **)&lm, RTLD_DL_LINKMAP) ? lm : NULL;
}

static void *sym_in(struct link_map *lm, const char *name)
{
	void *h, *fn = NULL;

	if (!lm || !lm->l_name || !*lm->l_name)
		return NULL;
	h = dlopen(lm->l_name, RTLD_LAZY | RTLD_NOLOAD);
	if (h) {
		fn = gb_real_dlsym(h, name);
		dlclose(h);
	}
	return fn && !is_ours(fn) ? fn : NULL;
}

/* dl_iterate_phdr: the first loaded object that defines cudaMalloc itself */
static int find_cudart(struct dl_phdr_info *info, size_t size, void *arg)
{
	void **out = arg, *h, *fn;
	Dl_info di;

	(void)size;
	if (!info->dlpi_name || !*info->dlpi_name)
		return 0;
	h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return 0;
	fn = gb_real_dlsym(h, "cudaMalloc");
	dlclose(h);
	if (!fn || is_ours(fn) || !dladdr(fn, &di) || (uintptr_t)di.dli_fbase != (uintptr_t)info->dlpi_addr)
		return 0;
	*out = fn;
	return 1;
}

/* The cudart a caller binds to: from the caller's own dependencies, else
 * the next one in the global scope, else any loaded one.  (The caller
 * seen may be its caller's, where a wrapper tail-calls cudaMalloc.) */
static struct link_map *cudart_of(void *ret)
{
	void *fn = sym_in(link_map_of(ret), "cudaMalloc");

	if (!fn)
		fn = gb_real_dlsym(RTLD_NEXT, "cudaMalloc");
	if (!fn || is_ours(fn)) {
		fn = NULL;
		dl_iterate_phdr(find_cudart, &fn);
	}
	return fn && !is_ours(fn) ? link_map_of(fn) : NULL;
}

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct gb_real_rt *rt_slow(void *ret, size_t slot)
{
	const struct gb_real_rt *f = NULL;
	struct link_map *lm;
	int i;

	pthread_mutex_lock(&rt_lock);
	lm = cudart_of(ret);
	for (i = 0; lm && i < n_rt_tables && !f; i++)
		if (rt_tables[i].lm == lm)
			f = &rt_tables[i].f;
	if (lm && !f && n_rt_tables < RT_TABLES) {
		struct gb_real_rt *t = &rt_tables[n_rt_tables].f;

#define GB_RESOLVE(r, name, params) t->name = (r(*) params)sym_in(lm, #name);
		GB_RUNTIME_FUNCS(GB_RESOLVE)
#undef GB_RESOLVE
		rt_tables[n_rt_tables++].lm = lm;
		f = t;
		gb_debug("runtime calls from %p go to %s", ret, lm->l_name);
	}
	/* a slot, once set, never changes: readers need no lock */
	if (f && !atomic_load_explicit(&rt_cache[slot].ret, memory_order_relaxed)) {
		rt_cache[slot].f = f;
		atomic_store_explicit(&rt_cache[slot].ret, (uintptr_t)ret, memory_order_release);
	}
	pthread_mutex_unlock(&rt_lock);
	return f;
}

/* in a forked child: another thread may have held them at the fork */
void gb_resolve_after_fork(void)
{
	pthread_mutex_init(&resolve_lock, NULL);
	pthread_mutex_init(&rt_lock, NULL);
}

const struct gb_real_rt *gb_rt(void *ret)
{
	size_t slot = (size_t)((((uintptr_t)ret >> 2) * 0x9E3779B97F4A7C15ULL) >> 56) & (RT_CACHE - 1);

	if (likely(atomic_load_explicit(&rt_cache[slot].ret, memory_order_acquire) == (uintptr_t)ret))
		return rt_cache[slot].f;
	return rt_slow(ret, slot);
}

static void *gpa_substitute(const char *sym, void *p, int ver, cuuint64_t flags)
{
	const struct hook *best = NULL;
	int want = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) ? V_PTSZ : V_LEGACY;
	size_t i;

	gb_resolve_driver();
	for (i = 0; i < NHOOKS; i++) {
		const struct hook *h = &hooks[i];

		if (!h->base || strcmp(h->base, sym))
			continue;
		if (p == h->wrapper)
			return p;
		if (*h->real && p == *h->real)
			return h->wrapper;
	}
	/* The driver answered with an address that is not its exported
	 * symbol.  Pick the variant by the documented version rules, but
	 * only for versions whose entry points this table knows. */
	if (ver > GB_KNOWN_CUDA_MAX)
		return p;
	for (i = 0; i < NHOOKS; i++) {
		const struct hook *h = &hooks[i];

		if (!h->base || strcmp(h->base, sym) || !*h->real || ver < h->min_ver)
			continue;
		if (h->variant != V_NONE && h->variant != want)
			continue;
		if (!best || h->min_ver > best->min_ver)
			best = h;
	}
	if (best) {
		gb_debug("cuGetProcAddress(%s, %d): variant %s chosen by version", sym, ver, best->name);
		return best->wrapper;
	}
	return p;
}

CUresult gbw_cuGetProcAddress_v2(const char *sym, void **pfn, int ver, cuuint64_t flags,
				 CUdriverProcAddressQueryResult *st)
{
	CUresult r;

	if (gb_resolve_driver() < 0 || !R.cuGetProcAddress_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = R.cuGetProcAddress_v2(sym, pfn, ver, flags, st);
	if (r == CUDA_SUCCESS && sym && pfn && *pfn)
		*pfn = gpa_substitute(sym, *pfn, ver, flags);
	return r;
}
GB_ALIAS(CUresult, cuGetProcAddress_v2, (const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *));

CUresult gbw_cuGetProcAddress(const char *sym, void **pfn, int ver, cuuint64_t flags)
{
	CUresult r;

	if (gb_resolve_driver() < 0 || !R.cuGetProcAddress)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = R.cuGetProcAddress(sym, pfn, ver, flags);
	if (r == CUDA_SUCCESS && sym && pfn && *pfn)
		*pfn = gpa_substitute(sym, *pfn, ver, flags);
	return r;
}
GB_ALIAS(CUresult, cuGetProcAddress, (const char *, void **, int, cuuint64_t));
