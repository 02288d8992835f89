/*
 * gpu-stage: t2_stream's overlap on a real GPU, where copies really run
 * while kernels run.  A copy that starts before a write it should have
 * waited for reads the old contents, so each check is a kernel's sum of
 * a T2 buffer right after something wrote it, with a slow staged kernel
 * before, which gives an early copy all the time it needs to go wrong:
 *
 *   - a memset and a copy into T2 by the application (the shim must see
 *     them and make the next copy wait);
 *   - a staged kernel that writes T2 (written back before the next copy
 *     of that buffer starts);
 *   - a CUDA graph of staged kernels, replayed with new contents written
 *     between replays;
 *   - a CUDA graph whose first staged kernel reads what a kernel the shim
 *     did not stage wrote before it in the graph.
 *
 * Run under gb-run --vram-limit 1G --kv-reserve 0 --t2-stream on
 * --t2-stage 256M: 740 MiB of filler in VRAM puts the four 64 MiB
 * buffers in T2 (checked in the status file, as is that they were
 * staged).  TAP output; exit status 1 on any failure.
 */
#include <cuda.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern "C" {
#include "gb.h"
}
#include "tap.h"
#include "gpu/ck.h"

#define MiB (1024ULL * 1024)
#define NB 4
#define BYTES (64 * MiB)
#define WORDS (BYTES / 4)

__global__ void ksum(const uint32_t *p, size_t n, unsigned long long *out)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;
	unsigned long long s = 0;

	for (; i < n; i += step)
		s += p[i];
	atomicAdd(out, s);
}

__global__ void kwrite(uint32_t *p, size_t n, uint32_t v)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;

	for (; i < n; i += step)
		p[i] = v;
}

/* kwrite of the value at *v; also given big, which is too large for the
 * staging area: the launch reads T2 in place, and the shim counts it as
 * a write it cannot place */
__global__ void kwrite_big(uint32_t *p, size_t n, const uint32_t *v, const uint32_t *big)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, step = (size_t)gridDim.x * blockDim.x;
	uint32_t x = *v;

	(void)big;
	for (; i < n; i += step)
		p[i] = x;
}

/* reads p (so it is staged), then keeps the stream busy */
__global__ void kspin(const uint32_t *p, unsigned long long *out, long long cycles)
{
	long long t0 = clock64();
	uint32_t v = p[threadIdx.x];

	while (clock64() - t0 < cycles)
		;
	if (threadIdx.x == 0)
		atomicAdd(out, v);
}


static int read_status(struct gb_status *st)
{
	const char *dir = getenv("GB_RUN_DIR");
	char path[GB_PATH_MAX + 32];
	struct gb_err err;

	if (!dir || !*dir)
		return -1;
	usleep(200 * 1000); /* rewritten every status_interval (run.sh: 50ms) */
	gb_status_path(dir, getpid(), path, sizeof(path));
	return gb_status_read(path, st, &err) < 0 || !st->dev[0].present ? -1 : 0;
}

static unsigned long long *dsum, spins;
static cudaStream_t S;

/* the sum of b, read by a staged kernel after a slow staged kernel on a */
static unsigned long long sum_after_spin(const uint32_t *a, const uint32_t *b, int spin)
{
	unsigned long long r;

	CK(cudaMemsetAsync(dsum, 0, 8, S));
	if (spin)
		kspin<<<1, 32, 0, S>>>(a, dsum + 1, (long long)spins);
	ksum<<<264, 256, 0, S>>>(b, WORDS, dsum);
	CK(cudaGetLastError());
	CK(cudaMemcpyAsync(&r, dsum, 8, cudaMemcpyDeviceToHost, S));
	CK(cudaStreamSynchronize(S));
	return r;
}

static unsigned long long bytes_sum(unsigned v)
{
	return (unsigned long long)WORDS * (v * 0x01010101u);
}

int main(void)
{
	uint32_t *b[NB], *host;
	void *filler;
	unsigned long long staged0, r, want;
	struct gb_status st;
	size_t f, t;
	int i, round, bad, khz;

	CK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0));
	spins = (unsigned long long)khz * 20; /* about 20 ms */
	CK(cudaStreamCreateWithFlags(&S, cudaStreamNonBlocking));
	CK(cudaMalloc(&dsum, 64));
	CK(cudaMalloc(&filler, 740 * MiB));
	for (i = 0; i < NB; i++) {
		CK(cudaMalloc(&b[i], BYTES));
		kwrite<<<264, 256>>>(b[i], WORDS, (i + 1) * 0x01010101u);
	}
	CK(cudaDeviceSynchronize());
	CK(cudaMallocHost(&host, BYTES));
	CK(cudaMemGetInfo(&f, &t)); /* loading is over: inference */
	if (read_status(&st) < 0)
		memset(&st, 0, sizeof(st));
	ok(st.dev[0].tier[1].bytes >= NB * BYTES && st.dev[0].stage_bytes > 0,
	   "the four buffers are in T2 (%llu bytes there), with a staging area of %llu",
	   (unsigned long long)st.dev[0].tier[1].bytes, (unsigned long long)st.dev[0].stage_bytes);
	staged0 = st.dev[0].staged_bytes;

	is_int(sum_after_spin(b[0], b[1], 0), bytes_sum(2), "a staged kernel reads B1");
	is_int(sum_after_spin(b[0], b[1], 1), bytes_sum(2), "and again after a slow one on B0");

	/* the application writes T2 between two staged kernels */
	for (round = 0, bad = 0; round < 6; round++) {
		unsigned v = 0x10 + round;

		CK(cudaMemsetAsync(dsum, 0, 8, S));
		kspin<<<1, 32, 0, S>>>(b[0], dsum + 1, (long long)spins);
		if (round & 1) {
			memset(host, (int)v, BYTES);
			CK(cudaMemcpyAsync(b[1], host, BYTES, cudaMemcpyHostToDevice, S));
		} else {
			CK(cudaMemsetAsync(b[1], (int)v, BYTES, S));
		}
		ksum<<<264, 256, 0, S>>>(b[1], WORDS, dsum);
		CK(cudaMemcpyAsync(&r, dsum, 8, cudaMemcpyDeviceToHost, S));
		CK(cudaStreamSynchronize(S));
		if (r != bytes_sum(v)) {
			bad++;
			printf("# round %d: got %llu, expected %llu\n", round, r, bytes_sum(v));
		}
	}
	is_int(bad, 0, "a memset or copy into T2 after a slow staged kernel: the next kernel sees it (6 rounds)");

	/* a staged kernel writes T2; a kernel on another buffer; then a read */
	for (round = 0, bad = 0; round < 6; round++) {
		uint32_t v = 0x20 + round;

		kwrite<<<264, 256, 0, S>>>(b[2], WORDS, v * 0x01010101u);
		if (sum_after_spin(b[0], b[2], 1) != bytes_sum(v))
			bad++;
	}
	is_int(bad, 0, "what a staged kernel wrote is read by the next but one (6 rounds)");

	/* a graph of staged kernels, new contents between replays */
	{
		cudaGraph_t gr;
		cudaGraphExec_t ge;

		CK(cudaStreamBeginCapture(S, cudaStreamCaptureModeThreadLocal));
		CK(cudaMemsetAsync(dsum, 0, 8 * NB, S));
		for (i = 0; i < NB; i++) {
			kspin<<<1, 32, 0, S>>>(b[(i + 1) % NB], dsum + 7, (long long)spins / 4);
			ksum<<<264, 256, 0, S>>>(b[i], WORDS, dsum + i);
		}
		CK(cudaStreamEndCapture(S, &gr));
		ok(1, "a graph of 8 staged kernels captured");
		CK(cudaGraphInstantiate(&ge, gr, 0));
		for (round = 0, bad = 0; round < 5; round++) {
			unsigned long long got[NB];

			for (i = 0; i < NB; i++)
				CK(cudaMemsetAsync(b[i], 0x30 + round * NB + i, BYTES, S));
			CK(cudaGraphLaunch(ge, S));
			CK(cudaMemcpyAsync(got, dsum, sizeof(got), cudaMemcpyDeviceToHost, S));
			CK(cudaStreamSynchronize(S));
			for (i = 0; i < NB; i++)
				if (got[i] != bytes_sum(0x30 + round * NB + i))
					bad++;
		}
		is_int(bad, 0, "the graph replayed 5 times, new contents each time: every sum right");
		CK(cudaGraphExecDestroy(ge));
		CK(cudaGraphDestroy(gr));
	}

	/* a graph whose kernels write T2 before its first staged kernel, with
	 * a value the host changes between replays: that kernel's copy, which
	 * may otherwise follow the capture's start, must wait for the write */
	{
		cudaGraph_t gr;
		cudaGraphExec_t ge;
		uint32_t *small, *big; /* small: under the threshold, in VRAM */

		CK(cudaMalloc(&small, 4096));
		CK(cudaMemset(small, 0, 4096));
		CK(cudaMalloc(&big, 320 * MiB));
		CK(cudaStreamBeginCapture(S, cudaStreamCaptureModeThreadLocal));
		CK(cudaMemsetAsync(dsum, 0, 8, S));
		kspin<<<1, 32, 0, S>>>(small, dsum + 7, (long long)spins / 4);
		kwrite_big<<<264, 256, 0, S>>>(b[0], WORDS, small + 64, big);
		ksum<<<264, 256, 0, S>>>(b[0], WORDS, dsum);
		CK(cudaStreamEndCapture(S, &gr));
		CK(cudaGraphInstantiate(&ge, gr, 0));
		for (round = 0, bad = 0; round < 5; round++) {
			uint32_t v = (0x50 + round) * 0x01010101u;

			CK(cudaMemcpy(small + 64, &v, 4, cudaMemcpyHostToDevice));
			CK(cudaGraphLaunch(ge, S));
			CK(cudaMemcpyAsync(&r, dsum, 8, cudaMemcpyDeviceToHost, S));
			CK(cudaStreamSynchronize(S));
			if (r != bytes_sum(0x50 + round)) {
				bad++;
				printf("# round %d: got %llu, expected %llu\n", round, r, bytes_sum(0x50 + round));
			}
		}
		is_int(bad, 0, "a graph writing T2 by a kernel before its first staged kernel, replayed 5 times: every sum right");
		CK(cudaGraphExecDestroy(ge));
		CK(cudaGraphDestroy(gr));
		CK(cudaFree(small));
		CK(cudaFree(big));
	}

	want = read_status(&st) == 0 ? st.dev[0].staged_bytes - staged0 : 0;
	ok(want >= 20 * BYTES, "the kernels were staged: %llu bytes copied", want);
	CK(cudaFreeHost(host));
	for (i = 0; i < NB; i++)
		CK(cudaFree(b[i]));
	CK(cudaFree(filler));
	CK(cudaFree(dsum));
	return done();
}
