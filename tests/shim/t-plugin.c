/*
 * A cudart that is not in the global scope: the program links none, and
 * a plugin brings its own, loaded RTLD_LOCAL.  The shim's runtime hooks
 * must find the plugin's cudart from the caller's side (a lookup with
 * RTLD_NEXT finds nothing).  vram_limit 256M, kv_reserve 0.
 */
#include "common.h"

int main(void)
{
	int (*alloc)(void **, size_t), (*release)(void *), (*meminfo)(size_t *, size_t *), (*here)(void **, size_t);
	void *h, *a, *b, *c;
	size_t f, t;

	ok(dlsym(RTLD_DEFAULT, "cudaGetDeviceCount") == NULL, "no cudart in the global scope");
	h = dlopen("libplugin.so", RTLD_NOW | RTLD_LOCAL);
	if (!ok(h != NULL, "the plugin loads RTLD_LOCAL"))
		return printf("# %s\n", dlerror()), done();
	alloc = (int (*)(void **, size_t))dlsym(h, "plugin_alloc");
	release = (int (*)(void *))dlsym(h, "plugin_free");
	meminfo = (int (*)(size_t *, size_t *))dlsym(h, "plugin_meminfo");
	here = (int (*)(void **, size_t))dlsym(h, "plugin_alloc_here");
	ok(here && here(&c, 4096) == 0 && release(c) == 0, "called from the plugin's own code: its cudart is found");
	ok(alloc && alloc(&c, 4096) == 0 && release(c) == 0, "a small cudaMalloc and cudaFree through the plugin work");
	ok(alloc(&a, 256 * MiB) == 0 && !fakecuda_is_registered(a), "256M in T1");
	ok(alloc(&b, 64 * MiB) == 0 && fakecuda_is_registered(b), "the next 64M in T2");
	ok(meminfo(&f, &t) == 0 && t == 768 * MiB && f == 448 * MiB, "cudaMemGetInfo through the plugin: virtual sizes");
	ok(release(b) == 0 && !fakecuda_is_registered(b) && release(a) == 0, "both freed");
	return done();
}
