/*
 * Path A, inside qemu with greenboost.ko loaded (pool_mb=64): the shim
 * takes T2 from /dev/greenboost, falls back to anonymous memory when the
 * pool runs dry, says so in the status file, and gives the pages back.
 * Runs under the shim against the CUDA test double; vram_limit 256M,
 * kv_reserve 0, host_limit 512M; the kernel boots with hugepages=16.
 */
#include <fcntl.h>
#include <sys/ioctl.h>

#include "shim/common.h"
#include "uapi/greenboost.h"

static unsigned long long pool_free(void)
{
	struct gb_pool_info in;
	int fd = open(GB_POOL_DEVICE, O_RDWR), r;

	memset(&in, 0, sizeof(in));
	r = fd >= 0 ? ioctl(fd, GB_POOL_IOC_INFO, &in) : -1;
	if (fd >= 0)
		close(fd);
	return r == 0 ? in.free_bytes : ~0ULL;
}

int main(void)
{
	CUdeviceptr t1, a, b, c;
	struct gb_status st;
	int i, bad = 0;

	setup();
	is_int(pool_free(), 64 * MiB, "the pool is there, 64M free");
	ok(cuMemAlloc_v2(&t1, 256 * MiB) == 0 && !fakecuda_is_registered((void *)t1), "256M fill VRAM");
	ok(cuMemAlloc_v2(&a, 32 * MiB) == 0 && fakecuda_is_registered((void *)a), "32M in T2");
	is_int(pool_free(), 32 * MiB, "taken from the pool");
	ok(cuMemAlloc_v2(&b, 32 * MiB) == 0 && pool_free() == 0, "32M more: the pool is empty");
	ok(cuMemAlloc_v2(&c, 32 * MiB) == 0 && fakecuda_is_registered((void *)c), "32M more still works: path B");
	for (i = 0; i < (int)(32 * MiB); i += 4096)
		((volatile char *)(uintptr_t)a)[i] = (char)i;
	for (i = 0; i < (int)(32 * MiB); i += 4096)
		bad += ((volatile char *)(uintptr_t)a)[i] != (char)i;
	is_int(bad, 0, "the pool's memory holds what is written");
	ok(my_status(&st) == 0 && st.path == 'A', "status: path A");
	is_int(st.dev[0].t2_pool_bytes, 64 * MiB, "status: 64M of T2 from the pool");
	is_int(st.dev[0].tier[1].bytes, 96 * MiB, "status: 96M of T2 in all");
	is_int(st.dev[0].t2_hugetlb_bytes, 32 * MiB, "status: the path B fallback took the kernel's hugetlb pages");
	ok(cuMemFree_v2(a) == 0 && cuMemFree_v2(b) == 0 && cuMemFree_v2(c) == 0, "free them");
	for (i = 0; i < 40 && pool_free() != 64 * MiB; i++)
		usleep(100 * 1000);
	is_int(pool_free(), 64 * MiB, "the pool has its pages back");
	ok(my_status(&st) == 0, "status readable after the frees");
	is_int(st.dev[0].t2_pool_bytes, 0, "status: nothing from the pool");
	is_int(st.dev[0].tier[1].bytes, 0, "status: nothing in T2");
	return done();
}
