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
#include <stdlib.h>
#include <string.h>

#include "shim.h"

struct gb_real R;
struct gb_rt_slots gb_rt_slots;

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
	H(cuGetProcAddress, "cuGetProcAddress", 11030, V_NONE)
	H(cuGetProcAddress_v2, "cuGetProcAddress", 12000, V_NONE)
	N(nvmlDeviceGetMemoryInfo)
	N(nvmlDeviceGetMemoryInfo_v2)
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

/* The runtime is whichever cudart the program linked: the next definition
 * after us in the global scope. */
void *gb_resolve_rt(const char *name, void *_Atomic *slot)
{
	void *p = atomic_load_explicit(slot, memory_order_acquire);

	if (!p) {
		p = gb_real_dlsym(RTLD_NEXT, name);
		atomic_store_explicit(slot, p, memory_order_release);
	}
	return p;
}

int gb_cuda_init(void)
{
	static _Atomic int state;
	CUresult r;

	if (state)
		return state > 0 ? 0 : -1;
	if (gb_resolve_driver() < 0 || !R.cuInit)
		return -1;
	r = R.cuInit(0);
	state = r == CUDA_SUCCESS ? 1 : -1;
	return state > 0 ? 0 : -1;
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
