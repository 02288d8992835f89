/*
 * t2_stream against the test double, whose kernels are C functions over
 * host memory: which launches are staged, that kernels see the copy, that
 * what they write comes back, and that nothing breaks across the ring.
 * vram_limit 256M, kv_reserve 0, t2_stage 16M.
 */
#include "common.h"

static const char ptx[] =
	".version 7.0\n.target sm_52\n.address_size 64\n"
	".visible .entry t_sum(.param .u64 p, .param .u64 n, .param .u64 out) { ret; }\n"
	".visible .entry t_fill(.param .u64 p, .param .u64 n, .param .u32 v) { ret; }\n"
	".visible .entry t_copy(.param .u64 d, .param .u64 s, .param .u64 n) { ret; }\n"
	".visible .entry t_struct(.param .align 8 .b8 s[32]) { ret; }\n";

static CUfunction ksum, kfill, kcopy, kstruct;
static CUdeviceptr out;

static unsigned long long tsum(CUdeviceptr p, size_t n)
{
	void *args[] = { &p, &n, &out };

	*(volatile unsigned long long *)(uintptr_t)out = 0;
	if (cuLaunchKernel(ksum, 4, 1, 1, 128, 1, 1, 0, NULL, args, NULL))
		return ~0ULL;
	return *(volatile unsigned long long *)(uintptr_t)out;
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
	unsigned long long sums0, wb0;
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
	for (i = 0, bad = 0; i < 40; i++) {
		CUdeviceptr p = i & 1 ? a : b;

		bad += tfill(p, 4 * MiB, (unsigned)i) != 0;
		bad += tsum(p, 4 * MiB) != (unsigned long long)(i & 0xff) * 4 * MiB;
	}
	is_int(bad, 0, "40 writes and reads through a ring of 16M: all right");
	ok(my_status(&st) == 0 && st.dev[0].staged_bytes > 80 * 4 * MiB, "status: the staged bytes add up");
	ok(cuMemFree_v2(a) == 0 && cuMemFree_v2(b) == 0 && cuMemFree_v2(c) == 0 && tsum(fill, 4096) == host_sum(fill, 4096),
	   "T2 freed; launches go on");
	is_int(fakecuda_last_param("t_sum", 0), fill, "T1 is never staged");
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

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "on"))
		stage();
	else if (argc > 1 && !strcmp(argv[1], "off"))
		off();
	else
		return fprintf(stderr, "usage: t-stage on|off\n"), 100;
	return done();
}
