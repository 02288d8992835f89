/*
 * hugemap PAGES: map PAGES 2 MB hugetlb pages the way the shim maps T2
 * (lib/shim/t2host.c: private, anonymous, MAP_HUGETLB), touch each, and
 * print /proc/meminfo's HugePages_Total and HugePages_Surp while they are
 * mapped and after munmap, a "name value" line each:
 *
 *   mapped_total N
 *   mapped_surp N
 *   unmapped_total N
 *   unmapped_surp N
 *
 * Exit 0 when the mapping was made, 1 when mmap refused it, 111 on any
 * other failure.  Built static by tests/tune/run.sh for its qemu guest,
 * where tests/tune/guest.sh runs it after gb-tune --light.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

#define HUGE_SZ (2UL << 20)

static long meminfo(const char *name)
{
	char line[256];
	size_t l = strlen(name);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		err(111, "unable to open /proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, l) && line[l] == ':') {
			v = strtol(line + l + 1, NULL, 10);
			break;
		}
	fclose(f);
	if (v < 0)
		errx(111, "no %s in /proc/meminfo", name);
	return v;
}

int main(int argc, char **argv)
{
	char *p, *e;
	long pages;
	size_t len, i;

	if (argc != 2 || (pages = strtol(argv[1], &e, 10)) <= 0 || *e)
		errx(100, "usage: hugemap PAGES");
	len = (size_t)pages * HUGE_SZ;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	if (p == MAP_FAILED) {
		warn("unable to map %ld 2 MB hugetlb pages", pages);
		return 1;
	}
	for (i = 0; i < len; i += HUGE_SZ)
		p[i] = 1;
	printf("mapped_total %ld\nmapped_surp %ld\n", meminfo("HugePages_Total"), meminfo("HugePages_Surp"));
	if (munmap(p, len) < 0)
		err(111, "munmap");
	printf("unmapped_total %ld\nunmapped_surp %ld\n", meminfo("HugePages_Total"), meminfo("HugePages_Surp"));
	return 0;
}
