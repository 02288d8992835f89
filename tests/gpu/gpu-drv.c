/*
 * gpu-drv: GreenBoost through the CUDA driver API alone, on a real GPU.
 *
 * cuMemAlloc chunks to TOTAL (twice the VRAM limit under run.sh), fill
 * them with a PTX kernel and check every word after all were written;
 * then the driver-level promises for memory in host tier T2: sizes,
 * pointer attributes of an interior pointer, memset and copies, a stream
 * allocation used by a kernel still running when it is freed, and a VMM
 * allocation (cuMemCreate) beyond the limit that the shim backs with
 * host memory.  Run under gb-run with --kv-reserve 0, so that the VRAM
 * budget is exactly vram_limit and the chunks fill it.  TAP output.
 *
 * usage: gpu-drv TOTAL CHUNK
 */
#include <cuda.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gb.h"
#include "ptx_fill_check.h"
#include "tap.h"

static uint32_t pat(uint64_t i, uint32_t seed)
{
	return (uint32_t)i * 2654435761u ^ seed;
}

static CUfunction kfill, kcheck;
static CUdeviceptr dbad;
static unsigned blocks;

/* A CUDA failure leaves the context unusable: report it and stop. */
#include "gpu/ck.h"
#define CK(call) CK_DRIVER(call)

static void fill(CUdeviceptr p, size_t words, uint32_t seed, CUstream s)
{
	void *args[] = { &p, &words, &seed };

	CK(cuLaunchKernel(kfill, blocks, 1, 1, 256, 1, 1, 0, s, args, NULL));
}

/* queue a check of words at p into the counter; read it with bad_read() */
static void check(CUdeviceptr p, size_t words, uint32_t seed, CUstream s)
{
	void *args[] = { &p, &words, &seed, &dbad };

	CK(cuMemsetD32Async(dbad, 0, 2, s));
	CK(cuLaunchKernel(kcheck, blocks, 1, 1, 256, 1, 1, 0, s, args, NULL));
}

static unsigned long long bad_read(CUstream s)
{
	unsigned long long n = 0;

	CK(cuStreamSynchronize(s));
	CK(cuMemcpyDtoH(&n, dbad, sizeof(n)));
	return n;
}

static int read_status(struct gb_status *st)
{
	const char *dir = getenv("GB_RUN_DIR");
	char path[GB_PATH_MAX + 32];
	struct gb_err err;

	if (!dir || !*dir) {
		printf("# GB_RUN_DIR is not set\n");
		return -1;
	}
	/* rewritten at most every status_interval (run.sh: 50ms) */
	usleep(200 * 1000);
	gb_status_path(dir, getpid(), path, sizeof(path));
	if (gb_status_read(path, st, &err) < 0) {
		printf("# %s\n", err.msg);
		return -1;
	}
	return st->dev[0].present ? 0 : -1;
}

#define T1B(st) ((unsigned long long)(st).dev[0].tier[0].bytes)
#define T2B(st) ((unsigned long long)(st).dev[0].tier[1].bytes)
#define T2N(st) ((unsigned long long)(st).dev[0].tier[1].count)
#define VMMB(st) ((unsigned long long)(st).dev[0].vmm_bytes)

int main(int argc, char **argv)
{
	uint64_t total, csize, done_b = 0;
	CUdeviceptr *ch;
	size_t n = 0, i, k, free0, tot0, f, t, dtot;
	unsigned long long nbad = 0;
	struct gb_status st, st2;
	int have_status, sms = 0;
	const char *why;
	CUcontext ctx;
	CUmodule mod;
	CUstream s;
	CUdevice dev;
	char name[96] = "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3 || gb_size_parse(argv[1], &total, &why) < 0 || gb_size_parse(argv[2], &csize, &why) < 0 ||
	    csize < GB_MiB || csize % GB_MiB || total < 4 * csize || total % csize) {
		fprintf(stderr, "usage: gpu-drv TOTAL CHUNK  (CHUNK a multiple of 1M, TOTAL at least 4 of them)\n");
		return 100;
	}

	CK(cuInit(0));
	CK(cuDeviceGet(&dev, 0));
	CK(cuDeviceGetName(name, sizeof(name), dev));
	CK(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
	blocks = (unsigned)sms * 4;
	CK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CK(cuCtxSetCurrent(ctx));
	CK(cuModuleLoadData(&mod, gb_ptx_fill_check));
	CK(cuModuleGetFunction(&kfill, mod, "fill"));
	CK(cuModuleGetFunction(&kcheck, mod, "check"));
	CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	printf("# %s, %d SMs; %llu B in chunks of %llu B\n", name, sms, (unsigned long long)total,
	       (unsigned long long)csize);

	CK(cuMemGetInfo(&free0, &tot0));
	CK(cuDeviceTotalMem(&dtot, dev));
	printf("# before: cuMemGetInfo free %zu B total %zu B; cuDeviceTotalMem %zu B\n", free0, tot0, dtot);
	is_int(tot0, dtot, "cuMemGetInfo total == cuDeviceTotalMem before allocating");
	CK(cuMemAlloc(&dbad, 8));

	/* ---- fill everything, then check everything ---- */
	ch = calloc(total / csize, sizeof(*ch));
	if (!ch)
		return perror("calloc"), 111;
	for (done_b = 0; done_b < total; done_b += csize, n++) {
		CK(cuMemAlloc(&ch[n], csize));
		fill(ch[n], csize / 4, (uint32_t)n, NULL);
	}
	CK(cuCtxSynchronize());
	for (k = 0; k < n; k++) {
		check(ch[k], csize / 4, (uint32_t)k, NULL);
		nbad += bad_read(NULL);
	}
	ok(nbad == 0, "%zu chunks cuMemAlloc'd, filled, and every word checked after all were filled (%llu wrong)",
	   n, nbad);

	CK(cuMemGetInfo(&f, &t));
	CK(cuDeviceTotalMem(&dtot, dev));
	is_int(t, dtot, "cuMemGetInfo total == cuDeviceTotalMem with the chunks allocated");
	have_status = read_status(&st) == 0;
	/* t2_stream sets its staging area up at the first T2 placement */
	is_int(free0 - f, done_b + (have_status ? st.dev[0].stage_bytes : 0),
	       "cuMemGetInfo free fell by exactly the bytes allocated (and the staging area, %llu B)",
	       have_status ? (unsigned long long)st.dev[0].stage_bytes : 0ULL);

	ok(have_status, "own status file readable");
	if (!have_status) {
		memset(&st, 0, sizeof(st));
	} else {
		printf("# status: vram_limit %llu B, kv_reserve %llu B, t1 %llu B, t2 %llu B in %llu, phase %s\n",
		       (unsigned long long)st.dev[0].vram_limit, (unsigned long long)st.dev[0].kv_reserve, T1B(st),
		       T2B(st), T2N(st), gb_phase_name(st.phase));
		ok(T1B(st) > 0 && T2B(st) > 0, "status: chunks in both T1 (%llu B) and T2 (%llu B)", T1B(st), T2B(st));
		ok(T1B(st) + T2B(st) >= done_b, "status: t1_bytes + t2_bytes >= %llu B allocated",
		   (unsigned long long)done_b);
	}
	/* placement only moves from T1 to T2 as T1 fills: the last chunks are T2 */
	if (T2N(st) < 3)
		printf("# fewer than 3 chunks in T2: the T2 checks below may test VRAM instead\n");

	/* ---- pointer queries on the inside of a T2 chunk ---- */
	{
		CUdeviceptr base = ch[n - 1], p = base + 3 * 4096 + 100, start = 0, rb = 0;
		size_t size = 0, rs = 0;
		unsigned int mt = 0;
		int ord = -1;
		CUpointer_attribute at[3] = { CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
					      CU_POINTER_ATTRIBUTE_RANGE_SIZE };
		unsigned int mt2 = 0;
		CUdeviceptr start2 = 0;
		size_t size2 = 0;
		void *data[3] = { &mt2, &start2, &size2 };

		CK(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p));
		is_int(mt, CU_MEMORYTYPE_DEVICE, "cuPointerGetAttribute MEMORY_TYPE of a T2 interior pointer is DEVICE");
		CK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, p));
		is_int(start, base, "RANGE_START_ADDR of the interior pointer is the chunk's start");
		CK(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, p));
		is_int(size, csize, "RANGE_SIZE of the interior pointer is the chunk's size");
		CK(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, p));
		is_int(ord, 0, "DEVICE_ORDINAL of the interior pointer is 0");
		CK(cuPointerGetAttributes(3, at, data, p));
		ok(mt2 == CU_MEMORYTYPE_DEVICE && start2 == base && size2 == csize,
		   "cuPointerGetAttributes gives the same three answers");
		CK(cuMemGetAddressRange(&rb, &rs, p));
		ok(rb == base && rs == csize, "cuMemGetAddressRange of the interior pointer is the chunk");
	}

	/* ---- memset and copies through T2 ---- */
	{
		size_t words = csize / 4, len = words / 4, off = words / 4 + 5;
		uint32_t *h = malloc(csize), seed2 = 0xfeedf00du;
		unsigned long long wrong = 0;

		if (!h)
			return perror("malloc"), 111;
		CK(cuMemsetD32(ch[n - 2], 0xa5a5a5a5u, words));
		CK(cuMemcpyDtoH(h, ch[n - 2], csize));
		for (i = 0; i < words; i++)
			wrong += h[i] != 0xa5a5a5a5u;
		ok(wrong == 0, "cuMemsetD32 of all of chunk %zu (T2), read back with cuMemcpyDtoH: %llu wrong words",
		   n - 2, wrong);
		for (i = 0; i < len; i++)
			h[i] = pat(i, seed2);
		CK(cuMemcpyHtoD(ch[n - 3] + off * 4, h, len * 4));
		check(ch[n - 3] + off * 4, len, seed2, NULL);
		wrong = bad_read(NULL);
		ok(wrong == 0, "cuMemcpyHtoD of %zu B at offset %zu B into chunk %zu (T2), checked by a kernel: %llu wrong",
		   len * 4, off * 4, n - 3, wrong);
		CK(cuMemcpyDtoD(ch[n - 2], ch[0], csize));
		check(ch[n - 2], words, 0, NULL);
		wrong = bad_read(NULL);
		ok(wrong == 0, "cuMemcpyDtoD of chunk 0 (T1) into chunk %zu (T2): %llu wrong words", n - 2, wrong);
		free(h);
	}

	/* ---- a stream allocation beyond the limit, freed while a kernel reads it ---- */
	{
		size_t asz = 512 * GB_MiB;
		CUdeviceptr a = 0, tmp = 0;

		CK(cuMemAllocAsync(&a, asz, s));
		fill(a, asz / 4, 77, s);
		CK(cuStreamSynchronize(s));
		if (have_status && read_status(&st2) == 0)
			ok(T2N(st2) == T2N(st) + 1 && T2B(st2) == T2B(st) + asz,
			   "cuMemAllocAsync of %zu B beyond the limit went to T2 (t2 %llu -> %llu B)", asz, T2B(st), T2B(st2));
		else
			ok(0, "status file readable after cuMemAllocAsync");
		/* free it with the check still queued, then make the shim look
		 * at its deferred frees while the kernel may be running */
		check(a, asz / 4, 77, s);
		CK(cuMemFreeAsync(a, s));
		CK(cuMemAlloc(&tmp, 2 * GB_MiB));
		CK(cuMemFree(tmp));
		nbad = bad_read(s);
		ok(nbad == 0, "a kernel queued before cuMemFreeAsync read all of it: %llu wrong words", nbad);
	}

	/* ---- the application's own VMM, beyond the limit ---- */
	{
		CUmemAllocationProp prop, got;
		CUmemAccessDesc acc;
		CUmemGenericAllocationHandle hd;
		size_t gran = 0, vsz = 512 * GB_MiB;
		CUdeviceptr va = 0;
		CUresult e;

		memset(&prop, 0, sizeof(prop));
		prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
		prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
		prop.location.id = dev;
		CK(cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
		printf("# VMM granularity %zu B\n", gran);
		if (have_status)
			read_status(&st);
		e = cuMemCreate(&hd, vsz, &prop, 0);
		if (!ok(e == CUDA_SUCCESS, "cuMemCreate of %zu B on the device, beyond the limit", vsz)) {
			printf("#   CUDA error %d\n", (int)e);
		} else {
			memset(&got, 0, sizeof(got));
			CK(cuMemGetAllocationPropertiesFromHandle(&got, hd));
			is_int(got.location.type, CU_MEM_LOCATION_TYPE_HOST_NUMA,
			       "the shim backed it with host memory (location type HOST_NUMA)");
			if (have_status && read_status(&st2) == 0)
				ok(T2B(st2) == T2B(st) + vsz && VMMB(st2) == VMMB(st) + vsz,
				   "status counts it in T2 and vmm_bytes (t2 %llu -> %llu B, vmm %llu -> %llu B)", T2B(st),
				   T2B(st2), VMMB(st), VMMB(st2));
			CK(cuMemAddressReserve(&va, vsz, 0, 0, 0));
			CK(cuMemMap(va, vsz, 0, hd, 0));
			memset(&acc, 0, sizeof(acc));
			acc.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
			acc.location.id = dev;
			acc.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
			CK(cuMemSetAccess(va, vsz, &acc, 1));
			fill(va, vsz / 4, 99, NULL);
			check(va, vsz / 4, 99, NULL);
			nbad = bad_read(NULL);
			ok(nbad == 0, "a kernel wrote and checked the mapped VMM range: %llu wrong words", nbad);
			CK(cuMemUnmap(va, vsz));
			CK(cuMemRelease(hd));
			CK(cuMemAddressFree(va, vsz));
			if (have_status && read_status(&st2) == 0)
				is_int(VMMB(st2), VMMB(st), "cuMemRelease gave back the VMM bytes in the status file");
		}
	}

	/* ---- give it all back ---- */
	for (k = 0; k < n; k++)
		CK(cuMemFree(ch[k]));
	CK(cuMemFree(dbad));
	CK(cuMemGetInfo(&f, &t));
	if (f != free0)
		printf("# before the next large allocation, cuMemGetInfo free is %zu B short of its first value "
		       "(asynchronous frees are reaped on the next allocation)\n", free0 - f);
	{
		CUdeviceptr tmp;

		/* a large allocation reaps the deferred cuMemFreeAsync */
		CK(cuMemAlloc(&tmp, 2 * GB_MiB));
		CK(cuMemFree(tmp));
	}
	CK(cuMemGetInfo(&f, &t));
	if (read_status(&st2) == 0) {
		/* t2_stream's staging area stays for the life of the context */
		unsigned long long stage = st2.dev[0].stage_bytes;

		is_int(f + stage, free0, "after freeing everything cuMemGetInfo free is back to its first value "
		       "(less the %llu B staging area)", stage);
		ok(T1B(st2) == stage && T2B(st2) == 0 && VMMB(st2) == 0,
		   "status after freeing: t1 %llu B (the staging area), t2 %llu B, vmm %llu B (0)", T1B(st2), T2B(st2),
		   VMMB(st2));
	} else {
		ok(0, "status file readable after freeing");
	}
	CK(cuStreamDestroy(s));
	CK(cuModuleUnload(mod));
	CK(cuDevicePrimaryCtxRelease(dev));
	free(ch);
	return done();
}
