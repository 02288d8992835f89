/* for t-plugin: a library with a cudart of its own, loaded RTLD_LOCAL the
 * way ggml's dynamic backends (Ollama) load theirs, so that no cudart is
 * in the program's global scope */
#include <stddef.h>

typedef int cudaError_t;
cudaError_t cudaMalloc(void **, size_t);
cudaError_t cudaFree(void *);
cudaError_t cudaMemGetInfo(size_t *, size_t *);

/* a tail call: the shim sees plugin_alloc's caller, not the plugin */
__attribute__((visibility("default"))) int plugin_alloc(void **p, size_t n)
{
	return cudaMalloc(p, n);
}

/* not a tail call: the shim sees the plugin itself */
__attribute__((visibility("default"))) int plugin_alloc_here(void **p, size_t n)
{
	volatile int r = cudaMalloc(p, n);

	return r;
}

__attribute__((visibility("default"))) int plugin_free(void *p)
{
	return cudaFree(p);
}

__attribute__((visibility("default"))) int plugin_meminfo(size_t *f, size_t *t)
{
	return cudaMemGetInfo(f, t);
}
