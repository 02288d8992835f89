/*
 * The status file's list of each device's largest allocations
 * (devN.allocs, devN.allocK.*), against the test double.  One scenario a
 * run (argv[1]); tests/shim/cases.sh gives each its environment: the
 * double's 1 GiB of "VRAM", vram_limit 256M, kv_reserve 0, host_limit 512M.
 */
#include "common.h"

static struct gb_status st;

/* the listing as it is, for a failed check */
static void show(void)
{
	int k;

	printf("# dev0.allocs %d\n", st.dev[0].nallocs);
	for (k = 0; k < st.dev[0].nallocs; k++)
		printf("#   %d: bytes %llu t1 %llu t2 %llu %s\n", k, (unsigned long long)st.dev[0].alloc[k].bytes,
		       (unsigned long long)st.dev[0].alloc[k].t1_bytes, (unsigned long long)st.dev[0].alloc[k].t2_bytes,
		       gb_alloc_kind_name(st.dev[0].alloc[k].kind));
}

/* allocation k of device 0 is bytes asked for, acct of them in tier (0 T1, 1 T2) */
static int listed(int k, uint64_t bytes, int tier, uint64_t acct, int kind)
{
	const struct gb_status_alloc *a = &st.dev[0].alloc[k];

	return k < st.dev[0].nallocs && a->bytes == bytes && a->kind == kind &&
	       a->t1_bytes == (tier == 0 ? acct : 0) && a->t2_bytes == (tier == 1 ? acct : 0);
}

/* the listed bytes of each tier add up to the device's */
static int sums_agree(void)
{
	uint64_t t1 = 0, t2 = 0;
	int k;

	for (k = 0; k < st.dev[0].nallocs; k++)
		t1 += st.dev[0].alloc[k].t1_bytes, t2 += st.dev[0].alloc[k].t2_bytes;
	return t1 == st.dev[0].tier[0].bytes && t2 == st.dev[0].tier[1].bytes;
}

#define CHECK(cond, ...) do { if (!ok(cond, __VA_ARGS__)) show(); } while (0)

/* allocs: each kind in each tier, in order, and frees taking them off */
static void allocs(void)
{
	CUmemAllocationProp p = { 0 };
	CUmemGenericAllocationHandle h;
	CUdeviceptr small, big, pitched, async, t2big, t2tie;
	CUstream s;
	size_t pitch, f, t;
	int t1first;

	setup();
	p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	p.location.id = 0;
	ok(cuStreamCreate(&s, 0) == 0, "a stream");
	ok(cuMemAlloc_v2(&small, 64 * 1024) == 0, "64K: below threshold, passed through");
	ok(cuMemGetInfo_v2(&f, &t) == 0, "a memory query lists the device");
	CHECK(my_status(&st) == 0 && st.dev[0].present && st.dev[0].nallocs == 0, "nothing tracked: allocs 0");
	ok(cuMemAlloc_v2(&big, 128 * MiB) == 0 && !fakecuda_is_registered((void *)big), "128M cuMemAlloc in T1");
	ok(cuMemCreate(&h, 32 * MiB, &p, 0) == 0, "32M cuMemCreate in T1");
	ok(cuMemAllocPitch_v2(&pitched, &pitch, 1000, 16384, 4) == 0 && pitch == 1024 &&
	   !fakecuda_is_registered((void *)pitched), "16M cuMemAllocPitch in T1");
	ok(cuMemAllocAsync(&async, 64 * MiB, s) == 0 && !fakecuda_is_registered((void *)async),
	   "64M cuMemAllocAsync in T1: 240M of 256M");
	ok(cuMemAlloc_v2(&t2big, 100 * MiB + 1) == 0 && fakecuda_is_registered((void *)t2big),
	   "100M+1 in T2, pinned as 102M");
	ok(cuMemAlloc_v2(&t2tie, 64 * MiB) == 0 && fakecuda_is_registered((void *)t2tie),
	   "64M in T2, as large as the async one in T1");
	t1first = async < t2tie;

	ok(my_status(&st) == 0, "status file readable");
	CHECK(st.dev[0].nallocs == 6, "six allocations listed, not the one below threshold");
	CHECK(listed(0, 128 * MiB, 0, 128 * MiB, GB_ALLOC_MEM), "0: the 128M, in T1, mem");
	CHECK(listed(1, 100 * MiB + 1, 1, 102 * MiB, GB_ALLOC_MEM), "1: the 100M+1, in T2 as the 102M it pins");
	CHECK(listed(2, 64 * MiB, !t1first, 64 * MiB, GB_ALLOC_MEM) && listed(3, 64 * MiB, t1first, 64 * MiB, GB_ALLOC_MEM),
	   "2, 3: the two 64M, the lower address first (T%d's)", t1first ? 1 : 2);
	CHECK(listed(4, 32 * MiB, 0, 32 * MiB, GB_ALLOC_VMM), "4: the 32M handle, in T1, vmm");
	CHECK(listed(5, 16 * MiB, 0, 16 * MiB, GB_ALLOC_MEM), "5: the pitched 16M, in T1, mem");
	CHECK(sums_agree(), "the listed bytes add up to t1_bytes and t2_bytes");

	ok(cuMemFree_v2(big) == 0 && cuMemFree_v2(t2big) == 0, "free the 128M and the 100M+1");
	ok(my_status(&st) == 0, "status again");
	CHECK(st.dev[0].nallocs == 4 && listed(0, 64 * MiB, !t1first, 64 * MiB, GB_ALLOC_MEM) &&
	      listed(1, 64 * MiB, t1first, 64 * MiB, GB_ALLOC_MEM) && listed(2, 32 * MiB, 0, 32 * MiB, GB_ALLOC_VMM) &&
	      listed(3, 16 * MiB, 0, 16 * MiB, GB_ALLOC_MEM), "freed ones are gone, the rest move up");
	ok(cuMemRelease(h) == 0 && cuMemFreeAsync(async, s) == 0 && cuStreamSynchronize(s) == 0,
	   "release the handle, free the async one");
	ok(my_status(&st) == 0, "status again");
	CHECK(st.dev[0].nallocs == 2 && listed(0, 64 * MiB, 1, 64 * MiB, GB_ALLOC_MEM) &&
	      listed(1, 16 * MiB, 0, 16 * MiB, GB_ALLOC_MEM), "T2's 64M and the pitched 16M are left");
	ok(cuMemFree_v2(t2tie) == 0 && cuMemFree_v2(pitched) == 0 && cuMemFree_v2(small) == 0, "free the rest");
	CHECK(my_status(&st) == 0 && st.dev[0].nallocs == 0 && st.dev[0].present, "all freed: allocs 0");
}

#define MANY 20

/* many: more than 16 live, only the 16 largest listed */
static void many(void)
{
	CUdeviceptr p[MANY];
	int i, k, n, bad;

	setup();
	/* 3M, 6M, ... 60M, made in a shuffled order: T1 fills with what
	 * comes first, T2 takes the rest */
	for (i = 0, n = 0; i < MANY; i++) {
		int j = i * 7 % MANY;

		n += cuMemAlloc_v2(&p[j], (size_t)(j + 1) * 3 * MiB) == 0;
	}
	is_int(n, MANY, "%d allocations of 3M to 60M", MANY);
	ok(my_status(&st) == 0, "status file readable");
	is_int(st.dev[0].tier[0].count + st.dev[0].tier[1].count, MANY, "all %d tracked", MANY);
	ok(st.dev[0].tier[0].count > 0 && st.dev[0].tier[1].count > 0, "in both tiers");
	CHECK(st.dev[0].nallocs == GB_STATUS_MAX_ALLOCS, "allocs is 16");
	/* listed k is allocation MANY-1-k, in the tier where it lies */
	for (k = 0, bad = 0; k < st.dev[0].nallocs; k++) {
		int j = MANY - 1 - k, t2 = fakecuda_is_registered((void *)p[j]);
		uint64_t b = (uint64_t)(j + 1) * 3 * MiB;

		bad += !listed(k, b, t2, t2 ? (b + 2 * MiB - 1) & ~(2 * MiB - 1) : b, GB_ALLOC_MEM);
	}
	CHECK(!bad, "the 16 largest, largest first, each in its tier");

	ok(cuMemFree_v2(p[MANY - 1]) == 0 && cuMemFree_v2(p[MANY - 2]) == 0, "free the two largest");
	ok(my_status(&st) == 0, "status again");
	CHECK(st.dev[0].nallocs == 16 && st.dev[0].alloc[0].bytes == 54 * MiB && st.dev[0].alloc[15].bytes == 9 * MiB,
	      "the next two come into the list: 54M down to 9M");
	for (i = 0; i < MANY - 2; i++)
		cuMemFree_v2(p[i]);
	CHECK(my_status(&st) == 0 && st.dev[0].nallocs == 0, "all freed: allocs 0");
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	if (!strcmp(s, "allocs"))
		allocs();
	else if (!strcmp(s, "many"))
		many();
	else {
		fprintf(stderr, "usage: t-status allocs|many\n");
		return 100;
	}
	return done();
}
