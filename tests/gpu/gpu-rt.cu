/*
 * gpu-rt: GreenBoost through the CUDA runtime API, on a real GPU.
 *
 * Fills TOTAL bytes of cudaMalloc'd CHUNK-sized buffers (twice the VRAM
 * limit puts the last ones in host tier T2), checks every word only after
 * all were written (so no buffer overlaps another), copies to, from and
 * within T2 and sets it with cudaMemset, asks the four size queries for
 * one answer, reads its own status file, frees everything and expects the
 * free size it started with.
 *
 * run.sh builds it twice: -cudart shared, where the shim meets cudaMalloc
 * itself, and -cudart static, where it sees only the driver calls cudart
 * makes.  TAP output; exit status 1 on any failure.
 *
 * usage: gpu-rt [-n] TOTAL CHUNK
 *   -n  not under gb-run: data checks only (checks the test itself)
 */
#include <cuda.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern "C" {
#include "gb.h"
}
#include "tap.h"

#define THREADS 256

struct chunk {
	uint32_t *p;
	size_t words;
	uint32_t seed;
};

/* a word's expected value: depends on its index and its chunk, so a
 * chunk that aliased another, or a copy to the wrong offset, shows */
__host__ __device__ static inline uint32_t pat(uint64_t i, uint32_t seed)
{
	uint32_t x = (uint32_t)i * 2654435761u ^ (uint32_t)(i >> 32) * 0x85ebca6bu ^ seed;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return x;
}

__global__ void kfill(uint32_t *p, size_t n, uint32_t seed, uint64_t base)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;

	for (; i < n; i += step)
		p[i] = pat(base + i, seed);
}

__global__ void kcheck(const uint32_t *p, size_t n, uint32_t seed, uint64_t base, unsigned long long *bad)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;
	unsigned long long nbad = 0;

	for (; i < n; i += step)
		nbad += p[i] != pat(base + i, seed);
	if (nbad)
		atomicAdd(bad, nbad);
}

__global__ void kcheck_const(const uint32_t *p, size_t n, uint32_t v, unsigned long long *bad)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;
	unsigned long long nbad = 0;

	for (; i < n; i += step)
		nbad += p[i] != v;
	if (nbad)
		atomicAdd(bad, nbad);
}

static int blocks;

#include "gpu/ck.h"
#define LAUNCHED(what) ck_runtime(cudaGetLastError(), what, __LINE__)
#define CKD(call) CK_DRIVER(call)

/* wrong words in n words at p, against pat(base + i, seed) */
static unsigned long long count_bad(const uint32_t *p, size_t n, uint32_t seed, uint64_t base,
				    unsigned long long *dbad)
{
	unsigned long long nbad = 0;

	CK(cudaMemset(dbad, 0, sizeof(*dbad)));
	kcheck<<<blocks, THREADS>>>(p, n, seed, base, dbad);
	LAUNCHED("launch kcheck");
	CK(cudaMemcpy(&nbad, dbad, sizeof(nbad), cudaMemcpyDeviceToHost));
	return nbad;
}

/* ---- NVML, loaded the way monitoring code in applications does ---- */

typedef struct nvmlDevice_st *nvml_dev;
typedef struct {
	unsigned long long total, free, used;
} nvml_mem;

static struct {
	int (*init)(void);
	int (*by_bus)(const char *, nvml_dev *);
	int (*by_index)(unsigned, nvml_dev *);
	int (*meminfo)(nvml_dev, nvml_mem *);
	nvml_dev dev;
	int ready;
} nv;

/* 0 once nv.dev is device 0's NVML handle, matched by PCI address */
static int nvml_open(char *why, size_t n)
{
	char bus[32];
	void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return snprintf(why, n, "dlopen libnvidia-ml.so.1: %s", dlerror()), -1;
	nv.init = (int (*)(void))dlsym(h, "nvmlInit_v2");
	nv.by_bus = (int (*)(const char *, nvml_dev *))dlsym(h, "nvmlDeviceGetHandleByPciBusId_v2");
	nv.by_index = (int (*)(unsigned, nvml_dev *))dlsym(h, "nvmlDeviceGetHandleByIndex_v2");
	nv.meminfo = (int (*)(nvml_dev, nvml_mem *))dlsym(h, "nvmlDeviceGetMemoryInfo");
	if (!nv.init || !nv.by_index || !nv.meminfo)
		return snprintf(why, n, "libnvidia-ml.so.1 lacks an entry point"), -1;
	if (nv.init() != 0)
		return snprintf(why, n, "nvmlInit_v2 failed"), -1;
	if (!nv.by_bus || cudaDeviceGetPCIBusId(bus, sizeof(bus), 0) != cudaSuccess || nv.by_bus(bus, &nv.dev) != 0)
		if (nv.by_index(0, &nv.dev) != 0)
			return snprintf(why, n, "no NVML handle for device 0"), -1;
	nv.ready = 1;
	return 0;
}

/* ---- the status file ---- */

static int read_status(struct gb_status *st, char *why, size_t n)
{
	const char *dir = getenv("GB_RUN_DIR");
	char path[GB_PATH_MAX + 32];
	struct gb_err err;

	if (!dir || !*dir)
		return snprintf(why, n, "GB_RUN_DIR is not set"), -1;
	/* rewritten at most every status_interval (run.sh: 50ms) */
	usleep(200 * 1000);
	gb_status_path(dir, getpid(), path, sizeof(path));
	if (gb_status_read(path, st, &err) < 0)
		return snprintf(why, n, "%s", err.msg), -1;
	if (!st->dev[0].present)
		return snprintf(why, n, "%s has no device 0", path), -1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: gpu-rt [-n] TOTAL CHUNK  (CHUNK at least 1M, TOTAL a multiple of it)\n");
	exit(100);
}

int main(int argc, char **argv)
{
	uint64_t total, csize, done_b = 0;
	unsigned long long *dbad, *hbad, nbad = 0;
	size_t n = 0, i, k, free0, tot0;
	struct chunk *c;
	cudaDeviceProp prop;
	struct gb_status st;
	const char *why;
	char a[32], b[32], msg[900];
	int native = 0, opt, have_status = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n")) != -1) {
		if (opt != 'n')
			usage();
		native = 1;
	}
	if (argc - optind != 2 || gb_size_parse(argv[optind], &total, &why) < 0 ||
	    gb_size_parse(argv[optind + 1], &csize, &why) < 0 || csize < GB_MiB || total < csize || total % csize ||
	    csize % 4)
		usage();

	CK(cudaSetDevice(0));
	CK(cudaFree(NULL));
	CK(cudaGetDeviceProperties(&prop, 0));
	blocks = prop.multiProcessorCount * 4;
	printf("# %s, %d SMs; %s in chunks of %s%s\n", prop.name, prop.multiProcessorCount,
	       gb_size_str(total, a, sizeof(a)), gb_size_str(csize, b, sizeof(b)), native ? ", no shim" : "");
	CK(cudaMemGetInfo(&free0, &tot0));
	printf("# before: cudaMemGetInfo free %zu B, total %zu B\n", free0, tot0);

	/* ---- fill everything, then check everything ---- */
	c = (struct chunk *)calloc(total / csize + 2, sizeof(*c));
	if (!c)
		return perror("calloc"), 111;
	while (done_b < total) {
		c[n].words = csize / 4;
		c[n].seed = 0x9e3779b9u * (uint32_t)(n + 1);
		CK(cudaMalloc((void **)&c[n].p, c[n].words * 4));
		kfill<<<blocks, THREADS>>>(c[n].p, c[n].words, c[n].seed, 0);
		LAUNCHED("launch kfill");
		done_b += c[n].words * 4;
		n++;
	}
	CK(cudaDeviceSynchronize());
	ok(1, "cudaMalloc'd and filled %zu chunks, %llu B in all", n, (unsigned long long)done_b);

	CK(cudaMalloc((void **)&dbad, n * sizeof(*dbad)));
	CK(cudaMemset(dbad, 0, n * sizeof(*dbad)));
	for (k = 0; k < n; k++) {
		kcheck<<<blocks, THREADS>>>(c[k].p, c[k].words, c[k].seed, 0, dbad + k);
		LAUNCHED("launch kcheck");
	}
	CK(cudaDeviceSynchronize());
	hbad = (unsigned long long *)calloc(n, sizeof(*hbad));
	if (!hbad)
		return perror("calloc"), 111;
	CK(cudaMemcpy(hbad, dbad, n * sizeof(*hbad), cudaMemcpyDeviceToHost));
	for (k = 0; k < n; k++) {
		if (hbad[k] && nbad < 1)
			printf("# first bad chunk: %zu, %llu wrong words\n", k, hbad[k]);
		nbad += hbad[k];
	}
	ok(nbad == 0, "every word of every chunk holds its pattern after all were filled (%llu wrong)", nbad);

	/* ---- where the chunks went ---- */
	if (!native) {
		const struct gb_status_dev *d;

		have_status = read_status(&st, msg, sizeof(msg)) == 0;
		if (!ok(have_status, "own status file readable"))
			printf("#   %s\n", msg);
		d = &st.dev[0];
		if (have_status) {
			printf("# status: vram_limit %llu B, t1 %llu B in %llu, t2 %llu B in %llu (%llu B hugetlb), phase %s\n",
			       (unsigned long long)d->vram_limit, (unsigned long long)d->tier[0].bytes,
			       (unsigned long long)d->tier[0].count, (unsigned long long)d->tier[1].bytes,
			       (unsigned long long)d->tier[1].count, (unsigned long long)d->t2_hugetlb_bytes,
			       gb_phase_name(st.phase));
			ok(d->tier[0].bytes > 0, "status: T1 (VRAM) holds some chunks (%llu B)",
			   (unsigned long long)d->tier[0].bytes);
			/* placement only moves from T1 to T2 as T1 fills, so the last
			 * t2_count chunks are the T2 ones; the checks below use 3 */
			if (total > d->vram_limit)
				ok(d->tier[1].bytes > 0 && d->tier[1].count >= 3,
				   "status: T2 (host) holds the last %llu chunks, %llu B (TOTAL > vram_limit; 3 needed)",
				   (unsigned long long)d->tier[1].count, (unsigned long long)d->tier[1].bytes);
			else
				ok(1, "# SKIP T2 check: TOTAL %llu B fits vram_limit %llu B", (unsigned long long)total,
				   (unsigned long long)d->vram_limit);
			ok(d->tier[0].bytes + d->tier[1].bytes >= done_b, "status: t1_bytes + t2_bytes >= %llu B allocated",
			   (unsigned long long)done_b);
		}
	}

	/* ---- copies and sets on the last chunks (T2 under gb-run) ---- */
	{
		const char *T1 = native ? "" : " (T1)", *T2 = native ? "" : " (T2)";
		struct chunk *last = &c[n - 1], *first = &c[0];
		/* a slice that starts off a page boundary, with guard words either side */
		size_t len = last->words / 4 < (16u << 20) ? last->words / 4 : (16u << 20);
		size_t off = last->words / 4 + 3, guard = 1024;
		uint32_t *h = (uint32_t *)malloc(len * 4), seed2 = last->seed ^ 0x5bd1e995u;
		unsigned long long wrong = 0;

		if (!h)
			return perror("malloc"), 111;

		/* device -> host, from T1 and from T2 */
		CK(cudaMemcpy(h, first->p + off, len * 4, cudaMemcpyDeviceToHost));
		for (i = 0; i < len; i++)
			wrong += h[i] != pat(off + i, first->seed);
		ok(wrong == 0, "cudaMemcpy device->host of %zu B at offset %zu B of chunk 0%s: %llu wrong words",
		   len * 4, off * 4, T1, wrong);
		wrong = 0;
		CK(cudaMemcpy(h, last->p + off, len * 4, cudaMemcpyDeviceToHost));
		for (i = 0; i < len; i++)
			wrong += h[i] != pat(off + i, last->seed);
		ok(wrong == 0, "cudaMemcpy device->host of %zu B at offset %zu B of chunk %zu%s: %llu wrong words",
		   len * 4, off * 4, n - 1, T2, wrong);

		/* host -> device into T2, and nothing beside the slice changed */
		for (i = 0; i < len; i++)
			h[i] = pat(off + i, seed2);
		CK(cudaMemcpy(last->p + off, h, len * 4, cudaMemcpyHostToDevice));
		wrong = count_bad(last->p + off, len, seed2, off, dbad);
		ok(wrong == 0, "cudaMemcpy host->device into chunk %zu%s, checked by a kernel: %llu wrong words", n - 1,
		   T2, wrong);
		wrong = count_bad(last->p + off - guard, guard, last->seed, off - guard, dbad) +
			count_bad(last->p + off + len, guard, last->seed, off + len, dbad);
		ok(wrong == 0, "the words either side of the copied slice are untouched: %llu wrong", wrong);
		free(h);

		/* device -> device, a whole T1 chunk into a T2 one */
		if (n >= 4) {
			size_t t2_first = n - 3;
			struct chunk *dst = &c[t2_first];

			CK(cudaMemcpy(dst->p, first->p, dst->words * 4, cudaMemcpyDeviceToDevice));
			wrong = count_bad(dst->p, dst->words, first->seed, 0, dbad);
			ok(wrong == 0, "cudaMemcpy device->device of chunk 0%s into chunk %zu%s: %llu wrong words", T1,
			   t2_first, T2, wrong);
		} else {
			ok(1, "# SKIP device->device copy: fewer than 4 chunks");
		}

		/* cudaMemset, a whole T2 chunk and then an unaligned byte range */
		if (n >= 2) {
			struct chunk *m = &c[n - 2];
			size_t boff = 4097, blen = (1 << 20) + 3, span = blen + 8;
			unsigned char *hb;

			CK(cudaMemset(m->p, 0xa5, m->words * 4));
			CK(cudaMemset(dbad, 0, sizeof(*dbad)));
			kcheck_const<<<blocks, THREADS>>>(m->p, m->words, 0xa5a5a5a5u, dbad);
			LAUNCHED("launch kcheck_const");
			CK(cudaMemcpy(&wrong, dbad, sizeof(wrong), cudaMemcpyDeviceToHost));
			ok(wrong == 0, "cudaMemset of all of chunk %zu%s: %llu wrong words", n - 2, T2, wrong);

			if (m->words * 4 >= boff + span + 4) {
				hb = (unsigned char *)malloc(span + 8);
				if (!hb)
					return perror("malloc"), 111;
				CK(cudaMemset((char *)m->p + boff, 0x3c, blen));
				CK(cudaMemcpy(hb, (char *)m->p + boff - 4, span + 8, cudaMemcpyDeviceToHost));
				wrong = 0;
				for (i = 0; i < span + 8; i++)
					wrong += hb[i] != (i >= 4 && i < 4 + blen ? 0x3c : 0xa5);
				ok(wrong == 0, "cudaMemset of %zu B at byte offset %zu in chunk %zu%s: %llu wrong bytes",
				   blen, boff, n - 2, T2, wrong);
				free(hb);
			}
		}
	}

	/* ---- one memory story: four queries, back to back ---- */
	if (!native) {
		size_t f_rt = 0, t_rt = 0, f_drv = 0, t_drv = 0;
		nvml_mem m = { 0, 0, 0 };
		cudaDeviceProp p2;
		int nvml_ok = nvml_open(msg, sizeof(msg)) == 0;

		if (!ok(nvml_ok, "NVML loaded and device 0 found"))
			printf("#   %s\n", msg);
		CK(cudaMemGetInfo(&f_rt, &t_rt));
		CKD(cuMemGetInfo(&f_drv, &t_drv));
		if (nvml_ok && nv.meminfo(nv.dev, &m) != 0)
			nvml_ok = 0;
		CK(cudaGetDeviceProperties(&p2, 0));
		printf("# cudaMemGetInfo free %zu B total %zu B\n", f_rt, t_rt);
		printf("# cuMemGetInfo   free %zu B total %zu B\n", f_drv, t_drv);
		printf("# NVML           free %llu B total %llu B\n", m.free, m.total);
		printf("# cudaGetDeviceProperties totalGlobalMem %zu B\n", p2.totalGlobalMem);
		ok(nvml_ok && t_rt == t_drv && t_rt == m.total && t_rt == p2.totalGlobalMem,
		   "total memory agrees: cudaMemGetInfo, cuMemGetInfo, NVML, cudaGetDeviceProperties");
		ok(nvml_ok && f_rt == f_drv && f_rt == m.free, "free memory agrees: cudaMemGetInfo, cuMemGetInfo, NVML");
		if (have_status) {
			is_int(st.dev[0].reported_total, t_rt, "status reported_total is what the APIs report");
			is_int(st.dev[0].reported_free, f_rt, "status reported_free is what the APIs report");
		}
	}

	/* ---- give it all back ---- */
	for (k = 0; k < n; k++)
		CK(cudaFree(c[k].p));
	CK(cudaFree(dbad));
	CK(cudaDeviceSynchronize());
	if (!native) {
		size_t f1, t1;

		CK(cudaMemGetInfo(&f1, &t1));
		if (read_status(&st, msg, sizeof(msg)) == 0) {
			/* t2_stream's staging area stays for the life of the context */
			unsigned long long stage = st.dev[0].stage_bytes;

			is_int(f1 + stage, free0, "after freeing everything cudaMemGetInfo free is back to its first "
			       "value (less the %llu B staging area)", stage);
			ok(st.dev[0].tier[0].bytes == stage && st.dev[0].tier[1].bytes == 0,
			   "status after freeing: t1_bytes %llu (the staging area: %llu), t2_bytes %llu (0)",
			   (unsigned long long)st.dev[0].tier[0].bytes, stage, (unsigned long long)st.dev[0].tier[1].bytes);
		} else {
			ok(0, "status file readable after freeing: %s", msg);
		}
	}
	free(c);
	free(hbad);
	return done();
}
