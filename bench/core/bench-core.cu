/*
 * bench-core: the measurements behind GreenBoost's three core figures.
 * One mode a run; bench/core/run.sh runs each natively and under gb-run
 * and divides.  Results are "RESULT key value unit" lines.
 *
 *   bench-core fit [SECONDS]
 *	a workload that fits VRAM: 16 buffers of 256 MiB and a triad with a
 *	few FMAs a element over them, about SECONDS (2) of GPU time in 5
 *	repetitions timed with events; the median time per pass
 *   bench-core pairs [N] [NLARGE]
 *	N (200000) cudaMalloc+cudaFree pairs of 64 KiB, below the shim's
 *	threshold, and NLARGE (20000) of 4 MiB, above it, with 1 GiB of
 *	large allocations live (as in a process with a model loaded)
 *   bench-core stream [T2SIZE]
 *	under gb-run with a small vram_limit: a read kernel over a T2SIZE
 *	(8G) buffer that lands in host tier T2, best of 5, against pinned
 *	host-to-device cudaMemcpy and the same kernel over VRAM in the same
 *	process
 *   bench-core bw
 *	natively: the read kernel over 4 GiB of VRAM (the HBM read rate) and
 *	pinned host-to-device and device-to-host cudaMemcpy of 2 GiB, each the
 *	best of 5 (bench/llama records all three; its bound uses the
 *	host-to-device rate)
 */
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern "C" {
#include "gb.h"
}

#define MiB (1ULL << 20)
#define THREADS 256

static int sms;

static void ck(cudaError_t e, const char *what, int line)
{
	if (e == cudaSuccess)
		return;
	fprintf(stderr, "bench-core: fatal: %s (line %d): %s\n", what, line, cudaGetErrorString(e));
	exit(111);
}
#define CK(call) ck((call), #call, __LINE__)
#define LAUNCHED(what) ck(cudaGetLastError(), what, __LINE__)

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* milliseconds between two recorded events, after the second */
static float event_ms(cudaEvent_t a, cudaEvent_t b)
{
	float ms = 0;

	CK(cudaEventSynchronize(b));
	CK(cudaEventElapsedTime(&ms, a, b));
	return ms;
}

/* The placement the shim reports for this process, if under gb-run. */
static void print_placement(const char *mode)
{
	const char *dir = getenv("GB_RUN_DIR");
	char path[GB_PATH_MAX + 32];
	struct gb_status st;
	struct gb_err err;

	if (!dir || !*dir)
		return;
	usleep(200 * 1000); /* status_interval 50ms under run.sh */
	gb_status_path(dir, getpid(), path, sizeof(path));
	if (gb_status_read(path, &st, &err) < 0 || !st.dev[0].present) {
		printf("# no GreenBoost status file: %s\n", err.msg);
		return;
	}
	printf("RESULT %s.t1_bytes %llu B\n", mode, (unsigned long long)st.dev[0].tier[0].bytes);
	printf("RESULT %s.t2_bytes %llu B\n", mode, (unsigned long long)st.dev[0].tier[1].bytes);
	printf("RESULT %s.t2_hugetlb_bytes %llu B\n", mode, (unsigned long long)st.dev[0].t2_hugetlb_bytes);
	printf("RESULT %s.vram_limit %llu B\n", mode, (unsigned long long)st.dev[0].vram_limit);
}

/* ---- a: a workload that fits ---- */

/* memory bound with some arithmetic: 48 bytes moved and 32 FMAs per float4 */
__global__ void triad(float4 *a, const float4 *b, const float4 *c, size_t n, float s)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;

	for (; i < n; i += step) {
		float4 x = b[i], y = c[i];

#pragma unroll
		for (int j = 0; j < 8; j++) {
			x.x = fmaf(x.x, s, y.x);
			x.y = fmaf(x.y, s, y.y);
			x.z = fmaf(x.z, s, y.z);
			x.w = fmaf(x.w, s, y.w);
		}
		a[i] = x;
	}
}

__global__ void init4(float4 *a, size_t n, float v)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;

	for (; i < n; i += step)
		a[i] = make_float4(v, v + 1, v + 2, v + 3);
}

static int fit(double seconds)
{
	enum { NBUF = 16, REPS = 5 };
	const size_t bytes = 256 * MiB, n4 = bytes / 16;
	float4 *b[NBUF];
	double per[REPS];
	cudaEvent_t e0, e1;
	int k, r, passes, warm;
	double t1;

	for (k = 0; k < NBUF; k++) {
		CK(cudaMalloc((void **)&b[k], bytes));
		init4<<<sms * 4, THREADS>>>(b[k], n4, 0.01f * (float)k);
		LAUNCHED("launch init4");
	}
	CK(cudaDeviceSynchronize());
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));

#define PASS() do { \
		for (k = 0; k < NBUF; k++) { \
			triad<<<sms * 8, THREADS>>>(b[k], b[(k + 1) % NBUF], b[(k + 2) % NBUF], n4, 0.5f); \
			LAUNCHED("launch triad"); \
		} \
	} while (0)

	/* time one pass to size the repetitions, then warm the clocks up */
	PASS();
	CK(cudaEventRecord(e0));
	for (r = 0; r < 3; r++)
		PASS();
	CK(cudaEventRecord(e1));
	t1 = event_ms(e0, e1) / 3;
	passes = (int)(seconds * 1000 / REPS / t1 + 0.5);
	if (passes < 1)
		passes = 1;
	warm = (int)(300 / t1) + 1;
	for (r = 0; r < warm; r++)
		PASS();
	for (r = 0; r < REPS; r++) {
		CK(cudaEventRecord(e0));
		for (int p = 0; p < passes; p++)
			PASS();
		CK(cudaEventRecord(e1));
		per[r] = event_ms(e0, e1) / passes;
	}
#undef PASS
	qsort(per, REPS, sizeof(per[0]), cmp_double);
	printf("# per pass: min %.4f ms, median %.4f ms, max %.4f ms\n", per[0], per[REPS / 2], per[REPS - 1]);
	printf("RESULT fit.ms_per_pass %.4f ms\n", per[REPS / 2]);
	printf("RESULT fit.passes %d passes/repetition\n", passes);
	printf("RESULT fit.spread %.3f %%\n", (per[REPS - 1] - per[0]) / per[REPS / 2] * 100);
	printf("RESULT fit.gbps %.1f GB/s\n", (double)NBUF * 3 * bytes / (per[REPS / 2] / 1e3) / 1e9);
	print_placement("fit");
	for (k = 0; k < NBUF; k++)
		CK(cudaFree(b[k]));
	return 0;
}

/* ---- b: allocation latency ---- */

/* ns per cudaMalloc+cudaFree pair of size; stops early after cap seconds */
static double pairs_ns(size_t size, long n, double cap, long *done)
{
	double t0;
	long i;
	void *p;

	for (i = 0; i < 1000; i++) {
		CK(cudaMalloc(&p, size));
		CK(cudaFree(p));
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		CK(cudaMalloc(&p, size));
		CK(cudaFree(p));
		if ((i & 1023) == 1023 && now_s() - t0 > cap) {
			i++;
			break;
		}
	}
	*done = i;
	return (now_s() - t0) * 1e9 / (double)i;
}

static int pairs(long n, long nlarge)
{
	void *live[4];
	long done;
	double ns;
	int k;

	/* frees look the pointer up among the tracked allocations */
	for (k = 0; k < 4; k++)
		CK(cudaMalloc(&live[k], 256 * MiB));
	CK(cudaDeviceSynchronize());
	ns = pairs_ns(64 * 1024, n, 4.0, &done);
	printf("RESULT pairs.small_ns %.1f ns/pair\n", ns);
	printf("RESULT pairs.small_n %ld pairs\n", done);
	ns = pairs_ns(4 * MiB, nlarge, 3.0, &done);
	printf("RESULT pairs.large_ns %.1f ns/pair\n", ns);
	printf("RESULT pairs.large_n %ld pairs\n", done);
	print_placement("pairs");
	for (k = 0; k < 4; k++)
		CK(cudaFree(live[k]));
	return 0;
}

/* ---- c: streaming over T2 ---- */

__global__ void fill16(uint4 *p, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;

	for (; i < n; i += step)
		p[i] = make_uint4((unsigned)i, (unsigned)(i >> 32), (unsigned)i * 3u, 0x9e3779b9u);
}

/* Read-only, 16-byte loads, four independent loads in flight per thread
 * so that PCIe sees enough outstanding requests; the xor is stored so
 * the loads cannot be dropped. */
__global__ void __launch_bounds__(THREADS) rd(const uint4 *__restrict__ p, size_t n, unsigned *out)
{
	size_t step = (size_t)gridDim.x * blockDim.x;
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	unsigned acc = 0;

	for (; i + 3 * step < n; i += 4 * step) {
		uint4 a = p[i], b = p[i + step], c = p[i + 2 * step], d = p[i + 3 * step];

		acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
	}
	for (; i < n; i += step) {
		uint4 a = p[i];

		acc ^= a.x ^ a.y ^ a.z ^ a.w;
	}
	for (int o = 16; o; o >>= 1)
		acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
	if ((threadIdx.x & 31) == 0)
		atomicXor(out, acc);
}

/* best GB/s of 5, each timing reps launches of rd over bytes at p */
static double read_gbps(const void *p, size_t bytes, int reps, unsigned *out, cudaEvent_t e0, cudaEvent_t e1)
{
	double best = 0;
	int r, i;

	rd<<<sms * 8, THREADS>>>((const uint4 *)p, bytes / 16, out);
	LAUNCHED("launch rd");
	for (r = 0; r < 5; r++) {
		double gbps;

		CK(cudaEventRecord(e0));
		for (i = 0; i < reps; i++)
			rd<<<sms * 8, THREADS>>>((const uint4 *)p, bytes / 16, out);
		LAUNCHED("launch rd");
		CK(cudaEventRecord(e1));
		gbps = (double)bytes * reps / (event_ms(e0, e1) / 1e3) / 1e9;
		printf("# read %zu B x %d: %.2f GB/s\n", bytes, reps, gbps);
		if (gbps > best)
			best = gbps;
	}
	return best;
}

/* best GB/s of 5, each timing n cudaMemcpy of chunk bytes, the i-th
 * from (or to) the i-th chunk of the host side */
static double copy_gbps(void *dev, void *host, size_t chunk, int n, cudaMemcpyKind kind, cudaEvent_t e0,
			cudaEvent_t e1)
{
	int h2d = kind == cudaMemcpyHostToDevice, r, i;
	double best = 0;

	CK(cudaMemcpy(h2d ? dev : host, h2d ? host : dev, chunk, kind));
	for (r = 0; r < 5; r++) {
		double gbps;

		CK(cudaEventRecord(e0));
		for (i = 0; i < n; i++) {
			char *hp = (char *)host + (size_t)i * chunk;

			CK(cudaMemcpy(h2d ? dev : hp, h2d ? hp : dev, chunk, kind));
		}
		CK(cudaEventRecord(e1));
		gbps = (double)chunk * n / (event_ms(e0, e1) / 1e3) / 1e9;
		printf("# cudaMemcpy %s %zu B: %.2f GB/s\n", h2d ? "host->device" : "device->host", chunk * n, gbps);
		if (gbps > best)
			best = gbps;
	}
	return best;
}

static int stream(size_t t2size)
{
	const size_t dst_sz = 512 * MiB, hbm_sz = 256 * MiB, copy_sz = 4 * dst_sz;
	void *dst, *hbm, *big, *host;
	unsigned *out, sum = 0;
	double best, t2, hb;
	cudaEvent_t e0, e1;

	/* VRAM first, within the 1G limit; then the big one spills to T2 */
	CK(cudaMalloc(&dst, dst_sz));
	CK(cudaMalloc(&hbm, hbm_sz));
	CK(cudaMalloc(&big, t2size));
	CK(cudaMalloc((void **)&out, sizeof(*out)));
	CK(cudaMemset(out, 0, sizeof(*out)));
	CK(cudaHostAlloc(&host, copy_sz, cudaHostAllocDefault));
	memset(host, 1, copy_sz);
	fill16<<<sms * 8, THREADS>>>((uint4 *)big, t2size / 16);
	LAUNCHED("launch fill16");
	fill16<<<sms * 8, THREADS>>>((uint4 *)hbm, hbm_sz / 16);
	LAUNCHED("launch fill16");
	CK(cudaDeviceSynchronize());
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	print_placement("stream");

	/* the DMA baseline: pinned host -> VRAM, 4 copies of 512 MiB */
	best = copy_gbps(dst, host, dst_sz, 4, cudaMemcpyHostToDevice, e0, e1);
	hb = read_gbps(hbm, hbm_sz, 20, out, e0, e1);
	t2 = read_gbps(big, t2size, 1, out, e0, e1);
	CK(cudaMemcpy(&sum, out, sizeof(sum), cudaMemcpyDeviceToHost));
	printf("RESULT stream.t2_gbps %.2f GB/s\n", t2);
	printf("RESULT stream.memcpy_gbps %.2f GB/s\n", best);
	printf("RESULT stream.hbm_gbps %.1f GB/s\n", hb);
	printf("RESULT stream.t2_size %zu B\n", t2size);
	printf("# checksum %08x\n", sum);
	CK(cudaFreeHost(host));
	CK(cudaFree(big));
	CK(cudaFree(hbm));
	CK(cudaFree(dst));
	CK(cudaFree(out));
	return 0;
}

static int bw(void)
{
	const size_t hbm_sz = 4096 * MiB, chunk = 512 * MiB;
	void *hbm, *dst, *host;
	unsigned *out, sum = 0;
	double hb, h2d, d2h;
	cudaEvent_t e0, e1;

	CK(cudaMalloc(&hbm, hbm_sz));
	CK(cudaMalloc(&dst, chunk));
	CK(cudaMalloc((void **)&out, sizeof(*out)));
	CK(cudaMemset(out, 0, sizeof(*out)));
	CK(cudaHostAlloc(&host, 4 * chunk, cudaHostAllocDefault));
	memset(host, 1, 4 * chunk);
	fill16<<<sms * 8, THREADS>>>((uint4 *)hbm, hbm_sz / 16);
	LAUNCHED("launch fill16");
	CK(cudaDeviceSynchronize());
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	hb = read_gbps(hbm, hbm_sz, 3, out, e0, e1);
	h2d = copy_gbps(dst, host, chunk, 4, cudaMemcpyHostToDevice, e0, e1);
	d2h = copy_gbps(dst, host, chunk, 4, cudaMemcpyDeviceToHost, e0, e1);
	CK(cudaMemcpy(&sum, out, sizeof(sum), cudaMemcpyDeviceToHost));
	printf("RESULT bw.hbm_gbps %.1f GB/s\n", hb);
	printf("RESULT bw.h2d_gbps %.2f GB/s\n", h2d);
	printf("RESULT bw.d2h_gbps %.2f GB/s\n", d2h);
	printf("# checksum %08x\n", sum);
	CK(cudaFreeHost(host));
	CK(cudaFree(hbm));
	CK(cudaFree(dst));
	CK(cudaFree(out));
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-core fit [SECONDS] | pairs [N] [NLARGE] | stream [T2SIZE] | bw\n");
	exit(100);
}

int main(int argc, char **argv)
{
	cudaDeviceProp prop;
	const char *why, *pre;
	uint64_t sz = 8ULL << 30;
	int rv = 0, dv = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	CK(cudaSetDevice(0));
	CK(cudaFree(NULL));
	CK(cudaGetDeviceProperties(&prop, 0));
	CK(cudaRuntimeGetVersion(&rv));
	CK(cudaDriverGetVersion(&dv));
	sms = prop.multiProcessorCount;
	pre = getenv("LD_PRELOAD");
	printf("# %s, %d SMs, runtime %d, driver %d; %s\n", prop.name, sms, rv, dv,
	       pre && strstr(pre, "libgreenboost_cuda") ? "under gb-run" : "native");
	if (!strcmp(argv[1], "fit") && argc <= 3) {
		double s = argc == 3 ? atof(argv[2]) : 2.0;

		if (s <= 0)
			usage();
		return fit(s);
	}
	if (!strcmp(argv[1], "pairs") && argc <= 4) {
		long n = argc >= 3 ? atol(argv[2]) : 200000, nl = argc == 4 ? atol(argv[3]) : 20000;

		if (n < 1 || nl < 1)
			usage();
		return pairs(n, nl);
	}
	if (!strcmp(argv[1], "bw") && argc == 2)
		return bw();
	if (!strcmp(argv[1], "stream") && argc <= 3) {
		if (argc == 3 && (gb_size_parse(argv[2], &sz, &why) < 0 || sz < 16 * MiB))
			usage();
		return stream(sz);
	}
	usage();
	return 100;
}
