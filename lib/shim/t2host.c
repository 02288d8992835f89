/*
 * Host memory for tier T2, pinned and mapped into the GPU afterwards by
 * cuMemHostRegister.
 *
 * Path A: buffers from the kernel module's pool of 2 MB pages
 * (/dev/greenboost, greenboost.4), reserved at boot before memory
 * fragments, mapped as ordinary pages so that the driver can pin them.
 * Taken whenever the device is there and has pages; a pool that runs dry
 * falls back to path B for what does not fit, without failing.
 *
 * Path B: anonymous memory the shim maps itself: 2 MB pages from the
 * hugetlb pool while it has them (no compaction), else THP-advised 4 KB
 * pages aligned to 2 MB.
 *
 * Both are MADV_DONTFORK: a fork must not copy, or break the pinning of,
 * gigabytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"
#include "uapi/greenboost.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

#define HUGE_SZ (2UL << 20)

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int pool_fd = -2; /* -2: not looked at yet; -1: no pool */
static _Atomic int pool_dry_told;

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* the pool device, opened once; -1 when there is none to use */
static int pool_open(void)
{
	struct gb_pool_info in;
	const char *dev = g.conf.pool_device;
	int fd = atomic_load_explicit(&pool_fd, memory_order_acquire);

	if (fd != -2)
		return fd;
	pthread_mutex_lock(&pool_lock);
	fd = atomic_load(&pool_fd);
	if (fd == -2) {
		fd = *dev ? open(dev, O_RDWR | O_CLOEXEC) : -1;
		if (fd < 0 && *dev && errno != ENOENT)
			gb_warn("unable to open the kernel module's pool %s: %s: path B (anonymous memory) for T2", dev,
				strerror(errno));
		memset(&in, 0, sizeof(in));
		if (fd >= 0 && (ioctl(fd, GB_POOL_IOC_INFO, &in) < 0 || in.version != GB_POOL_VERSION ||
				in.page_size != HUGE_SZ)) {
			gb_warn("%s is not a greenboost pool of version %d: path B (anonymous memory) for T2", dev,
				GB_POOL_VERSION);
			close(fd);
			fd = -1;
		}
		if (fd >= 0) {
			char a[32];

			gb_info("path A: T2 from the kernel module's pool %s (%s free)", dev,
				gb_size_human(in.free_bytes, a, sizeof(a)));
		} else if (*dev) {
			gb_info("no pool at %s: path B (anonymous memory) for T2", dev);
		}
		atomic_store_explicit(&pool_fd, fd, memory_order_release);
	}
	pthread_mutex_unlock(&pool_lock);
	return fd;
}

char gb_hostmem_path(void)
{
	return atomic_load(&pool_fd) >= 0 ? 'A' : 'B';
}

static int from_pool(size_t len, struct gb_hostmem *m)
{
	struct gb_pool_alloc a;
	struct gb_pool_free f;
	int fd = pool_open();
	void *p;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.size = len;
	if (ioctl(fd, GB_POOL_IOC_ALLOC, &a) < 0) {
		if (errno == ENOMEM && !atomic_exchange(&pool_dry_told, 1))
			gb_info("the kernel module's pool is out of pages: path B for what does not fit");
		return -1;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
	close(a.fd); /* the mapping keeps the buffer */
	if (p == MAP_FAILED) {
		memset(&f, 0, sizeof(f));
		f.id = a.id;
		ioctl(fd, GB_POOL_IOC_FREE, &f);
		return -1;
	}
	madvise(p, len, MADV_DONTFORK);
	m->host = p;
	m->len = len;
	m->hugetlb = 0;
	m->pool_id = a.id;
	return 0;
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
	if (from_pool(len, m) == 0)
		return 0;
	m->pool_id = 0;
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
	/* the pool takes its pages back once the pin is gone too */
	if (m->pool_id && atomic_load(&pool_fd) >= 0) {
		struct gb_pool_free f = { .id = m->pool_id };

		ioctl(atomic_load(&pool_fd), GB_POOL_IOC_FREE, &f);
	}
	m->host = NULL;
	m->pool_id = 0;
}
