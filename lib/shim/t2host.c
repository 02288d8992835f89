/*
 * Path B of tier T2: anonymous memory the shim maps itself, pinned and
 * mapped into the GPU by cuMemHostRegister.  2 MB pages from the hugetlb
 * pool while it has them (one GPU page-table entry per 2 MB, no
 * compaction), else THP-advised 4 KB pages aligned to 2 MB.  MADV_DONTFORK
 * keeps a fork from copying, or breaking the pinning of, gigabytes.
 * Path A (the kernel module's pool) plugs in beside this file.
 */
#include <errno.h>
#include <sys/mman.h>

#include "shim.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

#define HUGE_SZ (2UL << 20)

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int gb_hostmem_alloc(size_t size, int try_hugetlb, struct gb_hostmem *m)
{
	size_t len, slop;
	char *p;

	if (size == 0 || size > SIZE_MAX - 2 * HUGE_SZ) {
		errno = EINVAL;
		return -1;
	}
	len = round_up(size, HUGE_SZ);
	if (try_hugetlb) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
		if (p != MAP_FAILED) {
			madvise(p, len, MADV_DONTFORK);
			m->host = p;
			m->len = len;
			m->hugetlb = 1;
			return 0;
		}
	}
	/* over-map by 2 MB to place the range on a 2 MB boundary */
	p = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	slop = round_up((uintptr_t)p, HUGE_SZ) - (uintptr_t)p;
	if (slop)
		munmap(p, slop);
	if (HUGE_SZ - slop)
		munmap(p + slop + len, HUGE_SZ - slop);
	p += slop;
	madvise(p, len, MADV_HUGEPAGE);
	madvise(p, len, MADV_DONTFORK);
	m->host = p;
	m->len = len;
	m->hugetlb = 0;
	return 0;
}

void gb_hostmem_free(struct gb_hostmem *m)
{
	if (m->host)
		munmap(m->host, m->len);
	m->host = NULL;
}
