/*
 * t2_stream against the test double, whose kernels are C functions over
 * host memory: which launches are staged, that kernels see the copy, that
 * what they write comes back, and that nothing breaks across the ring.
 * vram_limit 256M, kv_reserve 0, t2_stage 16M.
 */
#include <pthread.h>

#include "common.h"

static const char ptx[] =
	".version 7.0\n.target sm_52\n.address_size 64\n"
	".visible .entry t_sum(.param .u64 p, .param .u64 n, .param .u64 out) { ret; }\n"
	".visible .entry t_fill(.param .u64 p, .param .u64 n, .param .u32 v) { ret; }\n"
	".visible .entry t_copy(.param .u64 d, .param .u64 s, .param .u64 n) { ret; }\n"
	".visible .entry t_struct(.param .align 8 .b8 s[32]) { ret; }\n";

static CUfunction ksum, kfill, kcopy, kstruct;
static CUdeviceptr out;

static unsigned long long tsum_on(CUstream s, CUdeviceptr p, size_t n)
{
	void *args[] = { &p, &n, &out };

	*(volatile unsigned long long *)(uintptr_t)out = 0;
	if (cuLaunchKernel(ksum, 4, 1, 1, 128, 1, 1, 0, s, args, NULL))
		return ~0ULL;
	return *(volatile unsigned long long *)(uintptr_t)out;
}

static unsigned long long tsum(CUdeviceptr p, size_t n)
{
	return tsum_on(NULL, p, n);
}

static int tfill(CUdeviceptr p, size_t n, unsigned v)
{
	void *args[] = { &p, &n, &v };

	return cuLaunchKernel(kfill, 4, 1, 1, 128, 1, 1, 0, NULL, args, NULL);
}

static unsigned long long host_sum(CUdeviceptr p, size_t n)
{
	const unsigned char *c = (const unsigned char *)(uintptr_t)p;
	unsigned long long s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += c[i];
	return s;
}

static void setup_kernels(void)
{
	CUmodule m;

	if (cuModuleLoadData(&m, ptx) || cuModuleGetFunction(&ksum, m, "t_sum") || cuModuleGetFunction(&kfill, m, "t_fill") ||
	    cuModuleGetFunction(&kcopy, m, "t_copy") || cuModuleGetFunction(&kstruct, m, "t_struct") ||
	    cuMemAlloc_v2(&out, 64))
		printf("Bail out! kernels\n"), exit(1);
}

static void stage(void)
{
	CUdeviceptr fill, a, b, c;
	struct gb_status st;
	unsigned long long sums0, wb0, staged0;
	size_t f, t, i;
	int bad;

	setup();
	setup_kernels();
	ok(cuMemAlloc_v2(&fill, 240 * MiB) == 0 && !fakecuda_is_registered((void *)fill),
	   "240M fill vram_limit less t2_stage");
	ok(cuMemAlloc_v2(&a, 4 * MiB) == 0 && fakecuda_is_registered((void *)a), "A, 4M: T2");
	ok(cuMemAlloc_v2(&b, 4 * MiB) == 0 && fakecuda_is_registered((void *)b), "B, 4M: T2");
	ok(cuMemAlloc_v2(&c, 32 * MiB) == 0 && fakecuda_is_registered((void *)c), "C, 32M: T2");
	ok(my_status(&st) == 0 && st.dev[0].stage_bytes == 16 * MiB && st.dev[0].tier[0].bytes == 256 * MiB,
	   "the 16M staging area was set up at the first T2 placement, inside vram_limit");
	for (i = 0; i < 4 * MiB; i++)
		((unsigned char *)(uintptr_t)a)[i] = (unsigned char)(i * 7 + 3);

	is_int(tsum(a, 4 * MiB), host_sum(a, 4 * MiB), "MODEL_LOAD: the kernel reads A");
	is_int(fakecuda_last_param("t_sum", 0), a, "MODEL_LOAD: not staged, the kernel got A itself");
	ok(cuMemGetInfo_v2(&f, &t) == 0, "a memory query: INFERENCE");

	sums0 = fakecuda_kernel_launches("gb_sum");
	wb0 = fakecuda_kernel_launches("gb_writeback");
	is_int(tsum(a, 4 * MiB), host_sum(a, 4 * MiB), "INFERENCE: the kernel reads A's contents");
	ok(fakecuda_last_param("t_sum", 0) != a && fakecuda_last_param("t_sum", 1) == 4 * MiB,
	   "staged: the kernel got a copy, its other parameters untouched");
	is_int(fakecuda_kernel_launches("gb_sum") - sums0, 2, "two checksums");
	is_int(fakecuda_kernel_launches("gb_writeback") - wb0, 1, "one write-back kernel");
	ok(my_status(&st) == 0 && st.dev[0].staged_bytes == 4 * MiB, "status: 4M staged");

	ok(tfill(a, 4 * MiB, 0x5a) == 0 && fakecuda_last_param("t_fill", 0) != a, "a kernel that writes A, staged");
	for (i = 0, bad = 0; i < 4 * MiB; i++)
		bad += ((unsigned char *)(uintptr_t)a)[i] != 0x5a;
	is_int(bad, 0, "what it wrote reached A (written back)");

	{
		struct {
			CUdeviceptr p;
			uint64_t n;
			CUdeviceptr out;
			uint64_t pad;
		} sp = { a, 4 * MiB, out, 0 };
		void *args[] = { &sp };

		*(volatile unsigned long long *)(uintptr_t)out = 0;
		ok(cuLaunchKernel(kstruct, 1, 1, 1, 32, 1, 1, 0, NULL, args, NULL) == 0 &&
		   *(volatile unsigned long long *)(uintptr_t)out == 0x5aULL * 4 * MiB,
		   "a pointer inside a struct parameter: the kernel reads A's contents");
		is_int(fakecuda_last_param("t_struct", 0) != a, 1, "and got the copy");
	}
	{
		struct {
			CUdeviceptr p;
			uint64_t n, out;
		} pb = { a, 1 * MiB, out };
		size_t pbs = sizeof(pb);
		void *extra[] = { (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT, &pb,
				  (void *)(uintptr_t)CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT, &pbs,
				  (void *)(uintptr_t)CU_LAUNCH_PARAM_END_AS_INT };

		*(volatile unsigned long long *)(uintptr_t)out = 0;
		ok(cuLaunchKernel(ksum, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, extra) == 0 &&
		   *(volatile unsigned long long *)(uintptr_t)out == 0x5aULL * MiB && fakecuda_last_param("t_sum", 0) != a,
		   "parameters in an 'extra' buffer: staged and right");
	}
	{
		CUdeviceptr p = a + MiB;
		size_t n = MiB;
		void *args[] = { &p, &n, &out };
		CUlaunchConfig cfg = { 1, 1, 1, 32, 1, 1, 0, NULL, NULL, 0 };

		*(volatile unsigned long long *)(uintptr_t)out = 0;
		ok(cuLaunchKernelEx(&cfg, ksum, args, NULL) == 0 && *(volatile unsigned long long *)(uintptr_t)out == 0x5aULL * MiB,
		   "cuLaunchKernelEx, an interior pointer: right");
		ok(fakecuda_last_param("t_sum", 0) != a + MiB, "and staged");
	}
	ok(tfill(c, 32 * MiB, 1) == 0 && tsum(c, 32 * MiB) == 32 * MiB && fakecuda_last_param("t_sum", 0) == c,
	   "C is larger than the staging area: read in place, right");
	{
		void *args[] = { &b, &a, &(size_t){ 4 * MiB } };

		ok(cuLaunchKernel(kcopy, 1, 1, 1, 32, 1, 1, 0, NULL, args, NULL) == 0 && fakecuda_last_param("t_copy", 0) != b &&
		   fakecuda_last_param("t_copy", 1) != a, "two T2 buffers in one launch: both staged");
		is_int(host_sum(b, 4 * MiB), 0x5aULL * 4 * MiB, "the one written came back");
	}
	/* round and round the ring: each launch must see the last one's writes */
	ok(my_status(&st) == 0, "status");
	staged0 = st.dev[0].staged_bytes;
	for (i = 0, bad = 0; i < 40; i++) {
		CUdeviceptr p = i & 1 ? a : b;

		/* a write into T2 the kernels do not see: the fill must copy */
		bad += cuMemsetD8Async(c, 0, 1, NULL) != 0;
		bad += tfill(p, 4 * MiB, (unsigned)i) != 0;
		bad += tsum(p, 4 * MiB) != (unsigned long long)(i & 0xff) * 4 * MiB;
	}
	is_int(bad, 0, "40 writes and reads through a ring of 16M: all right");
	ok(my_status(&st) == 0, "status");
	is_int(st.dev[0].staged_bytes - staged0, 40 * 4 * MiB,
	       "the staged bytes add up: each fill copied its buffer (after a memset elsewhere in T2), each read after it used that copy");
	ok(cuMemFree_v2(a) == 0 && cuMemFree_v2(b) == 0 && cuMemFree_v2(c) == 0 && tsum(fill, 4096) == host_sum(fill, 4096),
	   "T2 freed; launches go on");
	is_int(fakecuda_last_param("t_sum", 0), fill, "T1 is never staged");
}

/* events recorded on the default stream by one staged tsum of p: 3 when
 * its copy waits for everything before it, 2 when it may overlap the
 * kernels before (the shim marks its position before each kernel) */
static unsigned long long records_of_sum_on(CUstream s, CUdeviceptr p, size_t n, unsigned long long *sum)
{
	unsigned long long r0 = fakecuda_event_records(s);

	*sum = tsum_on(s, p, n);
	return fakecuda_event_records(s) - r0;
}

static unsigned long long records_of_sum(CUdeviceptr p, size_t n, unsigned long long *sum)
{
	return records_of_sum_on(NULL, p, n, sum);
}

/* a staged sum on the per-thread default stream */
static unsigned long long ptsum(CUdeviceptr p)
{
	size_t n = 4 * MiB;
	void *args[] = { &p, &n, &out };

	*(volatile unsigned long long *)(uintptr_t)out = 0;
	if (cuLaunchKernel(ksum, 4, 1, 1, 128, 1, 1, 0, CU_STREAM_PER_THREAD, args, NULL))
		return ~0ULL;
	return *(volatile unsigned long long *)(uintptr_t)out;
}

static unsigned long long thread_sum;
static CUcontext main_ctx;

static void *ptsum_thread(void *arg)
{
	cuCtxSetCurrent(main_ctx);
	thread_sum = ptsum(*(CUdeviceptr *)arg);
	return NULL;
}

/* t2_overlap on (the default) */
static void overlap(void)
{
	CUdeviceptr fill, a, b, c;
	unsigned long long sum;
	CUstream s2;
	CUevent ev;
	size_t f, t, i;

	main_ctx = setup();
	setup_kernels();
	ok(cuMemAlloc_v2(&fill, 240 * MiB) == 0 && cuMemAlloc_v2(&a, 4 * MiB) == 0 && cuMemAlloc_v2(&b, 4 * MiB) == 0 &&
	   cuMemAlloc_v2(&c, 32 * MiB) == 0 && fakecuda_is_registered((void *)a) && fakecuda_is_registered((void *)b),
	   "A and B in T2, C too large for the 16M staging area");
	for (i = 0; i < 4 * MiB; i++) {
		((unsigned char *)(uintptr_t)a)[i] = 1;
		((unsigned char *)(uintptr_t)b)[i] = 2;
	}
	ok(cuMemGetInfo_v2(&f, &t) == 0 && cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING) == 0 &&
	   cuEventCreate(&ev, 0) == 0, "INFERENCE");

	is_int(records_of_sum(a, 4 * MiB, &sum), 3, "the first staged launch: its copy waits for everything before it");
	is_int(sum, 4 * MiB, "and the kernel reads A");
	ok(fakecuda_last_copy_stream() != NULL && fakecuda_last_copy_stream() != s2,
	   "the copy went to a stream of the shim's own, not the kernel's");
	is_int(records_of_sum(b, 4 * MiB, &sum), 2, "the next one, on another buffer: its copy may overlap the kernel before");
	is_int(sum, 2 * 4 * MiB, "and the kernel reads B");
	{
		unsigned long long c0 = fakecuda_copy_bytes();

		is_int(records_of_sum(b, 4 * MiB, &sum), 1, "the same buffer again: no copy to wait for, only the ring's event");
		ok(sum == 2 * 4 * MiB && fakecuda_copy_bytes() - c0 < 64,
		   "it reads the copy the kernel before had, not a new one");
		c0 = fakecuda_copy_bytes();
		ok(tfill(a, 4 * MiB, 7) == 0 && tsum(a, 4 * MiB) == 7ULL * 4 * MiB &&
		   fakecuda_copy_bytes() - c0 < 4 * MiB + 64,
		   "a kernel writes A; the next reads what it wrote, from the same copy");
		ok(host_sum(a, 4 * MiB) == 7ULL * 4 * MiB, "and A itself was written back");
	}

	ok(cuMemsetD8Async(fill, 0, 4096, NULL) == 0, "a memset into T1");
	is_int(records_of_sum(b, 4 * MiB, &sum), 2, "does not stop the overlap");
	ok(cuMemsetD8Async(a, 9, 4 * MiB, NULL) == 0, "a memset into A, in T2");
	is_int(records_of_sum(a, 4 * MiB, &sum), 3, "makes the next copy wait");
	is_int(sum, 9ULL * 4 * MiB, "which sees what it wrote");
	ok(cuMemcpyHtoD_v2(b + 16, "\x10", 1) == 0, "a copy into B");
	is_int(records_of_sum(b, 4 * MiB, &sum), 3, "makes the next copy wait");
	ok(cuEventRecord(ev, s2) == 0 && cuStreamWaitEvent(NULL, ev, 0) == 0, "a wait on another stream");
	is_int(records_of_sum(a, 4 * MiB, &sum), 3, "makes the next copy wait");
	ok(tsum(c, 32 * MiB) == host_sum(c, 32 * MiB) && fakecuda_last_param("t_sum", 0) == c,
	   "a kernel given C, read in place");
	is_int(records_of_sum(b, 4 * MiB, &sum), 3, "makes the next copy wait (it could have written anything in T2)");
	ok(tsum(fill, 4096) == host_sum(fill, 4096), "a kernel without T2 pointers");
	is_int(records_of_sum(a, 4 * MiB, &sum), 2, "does not");
	is_int(records_of_sum(b, 4 * MiB, &sum), 2, "nor does a staged kernel on another buffer");
	{
		void *args[] = { &a, &(size_t){ 4 * MiB }, &out };
		unsigned long long r0 = fakecuda_event_records(s2);

		*(volatile unsigned long long *)(uintptr_t)out = 0;
		ok(cuLaunchKernel(ksum, 4, 1, 1, 128, 1, 1, 0, s2, args, NULL) == 0 &&
		   *(volatile unsigned long long *)(uintptr_t)out == 9ULL * 4 * MiB, "a staged kernel on another stream reads A");
		is_int(fakecuda_event_records(s2) - r0, 3, "and its copy waits for everything before it on that stream");
	}

	{
		CUdeviceptr d;

		ok(cuMemAlloc_v2(&d, 4 * MiB) == 0 && fakecuda_is_registered((void *)d), "a new T2 allocation");
		is_int(records_of_sum(b, 4 * MiB, &sum), 3, "makes the next copy wait (an address may have changed hands)");
		ok(cuMemFree_v2(d) == 0, "freed");
	}
	/* the per-thread default stream is each thread's own */
	{
		pthread_t th;
		unsigned long long r0;

		ok(ptsum(a) == 9ULL * 4 * MiB, "a staged kernel on this thread's per-thread default stream");
		r0 = fakecuda_event_records(CU_STREAM_PER_THREAD);
		ok(pthread_create(&th, NULL, ptsum_thread, &b) == 0 && pthread_join(th, NULL) == 0 &&
		   thread_sum == host_sum(b, 4 * MiB), "one on another thread's");
		is_int(fakecuda_event_records(CU_STREAM_PER_THREAD) - r0, 3,
		       "waits for everything before it: another stream, though the handle is the same");
	}

	/* a capture: the copy stream joins it and is joined back */
	fakecuda_set_capturing(NULL, 1);
	is_int(records_of_sum(a, 4 * MiB, &sum), 3, "capturing: the first staged launch waits");
	is_int(records_of_sum(b, 4 * MiB, &sum), 2, "the next overlaps, inside the capture");
	is_int(fakecuda_end_capture(NULL), 0, "the capture ends: no stream left unjoined");
	is_int(records_of_sum(a, 4 * MiB, &sum), 3, "after it, the first eager launch waits (no event of the capture is used)");
	is_int(sum, 9ULL * 4 * MiB, "and reads A");

	/* a capture begun by the API: the shim marks its start, and the
	 * copies of its first staged launches follow that mark only (roots of
	 * the graph), while none shares a buffer with one before, nothing
	 * writes T2 in between and their regions follow each other in the
	 * ring from its start without wrapping.  Eager launches on two 12M
	 * buffers before each capture leave the ring's head at 12M and a bit
	 * (the second wraps): the window starts at 0 all the same, and three
	 * regions of 4M fit in it. */
	{
		CUgraph gr = NULL;
		CUstream s3;
		CUdeviceptr d4, e4, g12, h12;
		CUdeviceptr seq1[4], seq2[3];
		unsigned long long r0, at0;
		void *cs;
		int k, bad, roots, prefix, rooted;

		ok(cuStreamCreate(&s3, CU_STREAM_NON_BLOCKING) == 0 && cuMemAlloc_v2(&d4, 4 * MiB) == 0 &&
		   cuMemAlloc_v2(&e4, 4 * MiB) == 0 && cuMemAlloc_v2(&g12, 12 * MiB) == 0 &&
		   cuMemAlloc_v2(&h12, 12 * MiB) == 0 && fakecuda_is_registered((void *)d4) &&
		   fakecuda_is_registered((void *)e4) && fakecuda_is_registered((void *)g12) &&
		   fakecuda_is_registered((void *)h12), "a stream to capture on; D and E, 4M each, G and H, 12M, in T2");
#define ALIGN_RING() (tsum_on(s3, g12, 12 * MiB) == host_sum(g12, 12 * MiB) && \
		      tsum_on(s3, h12, 12 * MiB) == host_sum(h12, 12 * MiB))
		ok(ALIGN_RING(), "G and H read");
		r0 = fakecuda_event_records(s3);
		ok(cuStreamBeginCapture_v2(s3, CU_STREAM_CAPTURE_MODE_GLOBAL) == 0 &&
		   fakecuda_event_records(s3) - r0 == 1, "cuStreamBeginCapture: the shim marks the capture's start");
		at0 = fakecuda_stream_ops(s3);
		is_int(records_of_sum_on(s3, a, 4 * MiB, &sum), 2, "the first staged launch in it overlaps the kernels before");
		cs = fakecuda_last_copy_stream();
		ok(cs && cs != s3 && fakecuda_max_wait_at(cs, s3) == at0, "its copy is ordered after the capture's start only");
		is_int(sum, 9ULL * 4 * MiB, "and reads A");
		/* a 16M ring holds three regions of 4M and their sums at most */
		seq1[0] = b, seq1[1] = d4, seq1[2] = e4, seq1[3] = a;
		for (k = 0, roots = 1, prefix = 1, bad = 0; k < 4; k++) {
			bad += records_of_sum_on(s3, seq1[k], 4 * MiB, &sum) != 2 || sum != host_sum(seq1[k], 4 * MiB);
			rooted = fakecuda_max_wait_at(cs, s3) == at0;
			prefix &= !rooted || roots == k + 1;
			roots += rooted;
		}
		is_int(bad, 0, "then B, D, E and A again: each overlaps, each reads its buffer");
		ok(prefix && roots == 3,
		   "the copies of the first 3 follow the capture's start only (%d did), then none: not E's, whose "
		   "region would wrap, nor A's again, which the first kernel may have written", roots);
		is_int(cuStreamEndCapture(s3, &gr), 0, "the capture ends: no stream left unjoined");

		ok(ALIGN_RING() && cuStreamBeginCapture_v2(s3, CU_STREAM_CAPTURE_MODE_GLOBAL) == 0, "another");
		at0 = fakecuda_stream_ops(s3);
		seq2[0] = b, seq2[1] = a, seq2[2] = b;
		for (k = 0, roots = 0, prefix = 1; k < 3; k++) {
			records_of_sum_on(s3, seq2[k], 4 * MiB, &sum);
			rooted = fakecuda_max_wait_at(cs, s3) == at0;
			prefix &= !rooted || roots == k;
			roots += rooted;
		}
		ok(prefix && roots == 2, "B, A, B: the copies of the first two follow the start only, not the third's "
		   "(%d did)", roots);
		is_int(cuStreamEndCapture(s3, &gr), 0, "the capture ends");

		ok(cuStreamBeginCapture_v2(s3, CU_STREAM_CAPTURE_MODE_GLOBAL) == 0 &&
		   cuMemsetD8Async(b, 2, 1, s3) == 0, "another, with a memset into B first");
		is_int(records_of_sum_on(s3, b, 4 * MiB, &sum), 3, "its first copy waits for everything before it");
		is_int(cuStreamEndCapture(s3, &gr), 0, "the capture ends");
		ok(cuStreamBeginCapture_v2(s3, CU_STREAM_CAPTURE_MODE_GLOBAL) == 0, "another");
		at0 = fakecuda_stream_ops(s3);
		ok(tsum_on(s3, fill, 4096) == host_sum(fill, 4096), "with a kernel without T2 pointers first");
		is_int(records_of_sum_on(s3, a, 4 * MiB, &sum), 2, "its first copy overlaps it");
		ok(fakecuda_max_wait_at(cs, s3) == at0, "ordered after the capture's start only");
		is_int(cuStreamEndCapture(s3, &gr), 0, "the capture ends");
		is_int(records_of_sum_on(s3, a, 4 * MiB, &sum), 3, "and the first eager launch after it waits");
		is_int(cuStreamBeginCapture_v2(NULL, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
		       "no capture on the legacy default stream");
		ok(cuMemFree_v2(d4) == 0 && cuMemFree_v2(e4) == 0 && cuMemFree_v2(g12) == 0 &&
		   cuMemFree_v2(h12) == 0, "D, E, G and H freed");
#undef ALIGN_RING
	}

	/* the copy stream joined to a capture on another stream is not used
	 * by an eager launch meanwhile */
	fakecuda_set_capturing(s2, 1);
	{
		void *args[] = { &b, &(size_t){ 4 * MiB }, &out };

		ok(cuLaunchKernel(ksum, 4, 1, 1, 128, 1, 1, 0, s2, args, NULL) == 0 &&
		   fakecuda_last_copy_stream() != s2, "a staged launch on a capturing stream: copied on the copy stream");
	}
	*(volatile unsigned long long *)(uintptr_t)out = 0;
	ok(tsum(a, 4 * MiB) == 9ULL * 4 * MiB && fakecuda_last_copy_stream() == NULL,
	   "meanwhile an eager launch copies on its own stream, outside that capture");
	is_int(fakecuda_end_capture(s2), 0, "and the capture ends joined");
	is_int(host_sum(b, 17), 2ULL * 16 + 0x10, "B holds what was written to it");
}

static void off(void)
{
	CUdeviceptr fill, a;
	size_t f, t;

	setup();
	setup_kernels();
	ok(cuMemAlloc_v2(&fill, 256 * MiB) == 0 && cuMemAlloc_v2(&a, 4 * MiB) == 0 && fakecuda_is_registered((void *)a),
	   "A in T2, no staging area taken");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && tsum(a, 4 * MiB) == 0 && fakecuda_last_param("t_sum", 0) == a,
	   "t2_stream off: read in place");
}

/* t2_overlap off: every copy on the kernel's stream, after all before it */
static void serial(void)
{
	CUdeviceptr fill, a, b;
	unsigned long long sum;
	size_t f, t;

	setup();
	setup_kernels();
	ok(cuMemAlloc_v2(&fill, 240 * MiB) == 0 && cuMemAlloc_v2(&a, 4 * MiB) == 0 && cuMemAlloc_v2(&b, 4 * MiB) == 0 &&
	   fakecuda_is_registered((void *)b) && cuMemGetInfo_v2(&f, &t) == 0, "A and B in T2, INFERENCE");
	is_int(records_of_sum(a, 4 * MiB, &sum), 1, "one event a launch: the ring's");
	is_int(records_of_sum(b, 4 * MiB, &sum), 1, "for the next too");
	ok(fakecuda_last_param("t_sum", 0) != b && fakecuda_last_copy_stream() == NULL, "staged, copied on the kernel's stream");
}

/* the ring across a capture: a capture's copies from the ring's start
 * take bytes an eager kernel on another stream may still read; an eager
 * copy there after the capture must still wait for that kernel (the
 * capture's wait was a graph node) */
static void ring_capture(void)
{
	CUdeviceptr fill, a2, d4, g12;
	unsigned long long yG, w;
	CUstream sx, sy;
	CUgraph gr = NULL;
	void *cs;
	size_t f, t;

	main_ctx = setup();
	setup_kernels();
	ok(cuMemAlloc_v2(&fill, 240 * MiB) == 0 && cuMemAlloc_v2(&a2, 2 * MiB) == 0 && cuMemAlloc_v2(&d4, 4 * MiB) == 0 &&
	   cuMemAlloc_v2(&g12, 12 * MiB) == 0 && fakecuda_is_registered((void *)a2) && fakecuda_is_registered((void *)d4) &&
	   fakecuda_is_registered((void *)g12), "A 2M, D 4M, G 12M in T2");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && cuStreamCreate(&sx, CU_STREAM_NON_BLOCKING) == 0 &&
	   cuStreamCreate(&sy, CU_STREAM_NON_BLOCKING) == 0, "INFERENCE, streams X and Y");
	ok(tsum_on(sy, g12, 12 * MiB) == host_sum(g12, 12 * MiB), "eager G on Y: ring [0,12M+256)");
	yG = fakecuda_stream_ops(sy);
	cs = fakecuda_last_copy_stream();
	ok(cuStreamBeginCapture_v2(sx, CU_STREAM_CAPTURE_MODE_RELAXED) == 0, "capture on X");
	ok(tsum_on(sx, a2, 2 * MiB) == host_sum(a2, 2 * MiB), "A staged in it, from the ring's start: over G's bytes");
	is_int(cuStreamEndCapture(sx, &gr), 0, "the capture ends");
	ok(tsum_on(sx, d4, 4 * MiB) == host_sum(d4, 4 * MiB), "eager D on X");
	w = fakecuda_max_wait_at(cs, sy);
	ok(w >= yG, "D's copy waited for G's kernel on Y (max wait at %llu, G's use recorded by %llu)", w, yG);
}

/* t2_overlap off: a region that covers part of an earlier use on another
 * stream leaves the rest guarded, so a later region there waits too */
static void ring_partial(void)
{
	CUdeviceptr fill, a4, d4, g12;
	unsigned long long yG, w;
	CUstream sx, sy, sz;
	size_t f, t;

	main_ctx = setup();
	setup_kernels();
	ok(cuMemAlloc_v2(&fill, 240 * MiB) == 0 && cuMemAlloc_v2(&a4, 4 * MiB) == 0 && cuMemAlloc_v2(&d4, 4 * MiB) == 0 &&
	   cuMemAlloc_v2(&g12, 12 * MiB) == 0 && fakecuda_is_registered((void *)g12), "A 4M, D 4M, G 12M in T2");
	ok(cuMemGetInfo_v2(&f, &t) == 0 && cuStreamCreate(&sx, CU_STREAM_NON_BLOCKING) == 0 &&
	   cuStreamCreate(&sy, CU_STREAM_NON_BLOCKING) == 0 && cuStreamCreate(&sz, CU_STREAM_NON_BLOCKING) == 0, "streams");
	ok(tsum_on(sy, g12, 12 * MiB) == host_sum(g12, 12 * MiB), "G on Y: the ring's first 12M");
	yG = fakecuda_stream_ops(sy);
	ok(tsum_on(sz, a4, 4 * MiB) == host_sum(a4, 4 * MiB), "A on Z wraps to 0: the start of G's bytes");
	ok(tsum_on(sx, d4, 4 * MiB) == host_sum(d4, 4 * MiB), "D on X next: more of G's bytes");
	w = fakecuda_max_wait_at(sx, sy);
	ok(w >= yG, "D's copy on X waited for G's kernel on Y (max wait at %llu, G's use by %llu)", w, yG);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "on"))
		stage();
	else if (argc > 1 && !strcmp(argv[1], "off"))
		off();
	else if (argc > 1 && !strcmp(argv[1], "overlap"))
		overlap();
	else if (argc > 1 && !strcmp(argv[1], "ring-capture"))
		ring_capture();
	else if (argc > 1 && !strcmp(argv[1], "ring-partial"))
		ring_partial();
	else if (argc > 1 && !strcmp(argv[1], "serial"))
		serial();
	else
		return fprintf(stderr, "usage: t-stage on|off|overlap|serial\n"), 100;
	return done();
}
