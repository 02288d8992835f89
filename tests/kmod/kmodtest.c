/*
 * greenboost.ko's test, run as root inside qemu right after insmod
 * greenboost.ko pool_mb=64 (tests/kmod/run.sh).  Kselftest-style: the
 * must-fail cases are checked as carefully as the must-pass ones.  TAP on
 * standard output; ends by unloading the module and reading the kernel log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uapi/greenboost.h"
#include "../tap.h"

#define MiB (1ULL << 20)
#define POOL (64 * MiB)
#define SYS "/sys/class/misc/greenboost/"

static int dev;

static int info(struct gb_pool_info *in)
{
	memset(in, 0, sizeof(*in));
	return ioctl(dev, GB_POOL_IOC_INFO, in);
}

static unsigned long long free_now(void)
{
	struct gb_pool_info in;

	return info(&in) == 0 ? in.free_bytes : ~0ULL;
}

/* free_bytes back to the whole pool within a few seconds (the reclaim
 * worker looks again every second at what was still held) */
static int settles(void)
{
	int i;

	for (i = 0; i < 40; i++) {
		if (free_now() == POOL)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

static unsigned long long sys_num(const char *name)
{
	char path[256], buf[64] = "";
	int fd;

	snprintf(path, sizeof(path), SYS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0) {
		if (fd >= 0)
			close(fd);
		return ~0ULL;
	}
	close(fd);
	return strtoull(buf, NULL, 10);
}

static int set_cap_mb(unsigned mb)
{
	char s[32];
	int fd = open("/sys/module/greenboost/parameters/per_process_mb", O_WRONLY), n;

	if (fd < 0)
		return -1;
	n = snprintf(s, sizeof(s), "%u", mb);
	n = write(fd, s, (size_t)n) == n ? 0 : -1;
	close(fd);
	return n;
}

static int alloc(uint64_t size, struct gb_pool_alloc *a)
{
	memset(a, 0, sizeof(*a));
	a->size = size;
	return ioctl(dev, GB_POOL_IOC_ALLOC, a);
}

static int drop(uint32_t id)
{
	struct gb_pool_free f = { .id = id };

	return ioctl(dev, GB_POOL_IOC_FREE, &f);
}

static int fails(int r, int err)
{
	return r == -1 && errno == err;
}

/* ALLOC must fail with err; a buffer it makes anyway is given back, so
 * that one failure does not take the tests after it down too */
static int alloc_fails(uint64_t size, int err)
{
	struct gb_pool_alloc b;

	if (alloc(size, &b) < 0)
		return errno == err;
	close(b.fd);
	drop(b.id);
	return 0;
}

/* ---- what waits while ALLOC zeroes a large buffer ---- */

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* run on that CPU only; -1: on any */
static void on_cpu(int cpu)
{
	cpu_set_t s;
	int i;

	CPU_ZERO(&s);
	for (i = 0; i < CPU_SETSIZE; i++)
		if (cpu < 0 || i == cpu)
			CPU_SET(i, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

/* This process, on CPU 0, ALLOCs size bytes (which the module zeroes)
 * while a child on CPU cpu loops: FREE of an id the open file does not
 * have (EINVAL, after taking the open's lock) if use_ids, else only reading
 * the clock.  Returns the longest the child went
 * between two turns of its loop, in ms; *took is the ALLOC's time. */
static double stall_during_alloc(uint64_t size, int cpu, int use_ids, double *took)
{
	struct shared {
		volatile int state; /* 1: the child is looping, 2: stop */
		volatile double worst;
	} *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct gb_pool_alloc a;
	double t0, worst;
	pid_t c;

	*took = 0;
	if (sh == MAP_FAILED)
		return -1;
	on_cpu(0);
	c = fork();
	if (c == 0) {
		double last, t;

		on_cpu(cpu);
		sh->worst = 0;
		sh->state = 1;
		last = now_ms();
		while (sh->state != 2) {
			if (use_ids)
				drop(0x7fffffff);
			t = now_ms();
			if (t - last > sh->worst)
				sh->worst = t - last;
			last = t;
		}
		_exit(0);
	}
	while (c > 0 && sh->state != 1)
		usleep(1000);
	usleep(20 * 1000);
	t0 = now_ms();
	if (alloc(size, &a) == 0) {
		*took = now_ms() - t0;
		close(a.fd);
		drop(a.id);
	}
	sh->state = 2;
	if (c > 0)
		waitpid(c, NULL, 0);
	worst = sh->worst;
	munmap(sh, 4096);
	on_cpu(-1);
	return worst;
}

/* Zeroing a buffer holds no lock that the opener's other requests need,
 * and yields the CPU between blocks.  The best of three tries: a stall of
 * the whole guest (the host was busy) shows on both sides. */
static void zeroing_yields(void)
{
	double took, stall, best_ids = 1e9, best_cpu = 1e9, took_ids = 0, took_cpu = 0;
	int i;

	for (i = 0; i < 3; i++) {
		stall = stall_during_alloc(POOL, 1, 1, &took);
		if (took > 0 && stall / took < best_ids / (took_ids ? took_ids : 1)) {
			best_ids = stall;
			took_ids = took;
		}
		stall = stall_during_alloc(POOL, 0, 0, &took);
		if (took > 0 && stall / took < best_cpu / (took_cpu ? took_cpu : 1)) {
			best_cpu = stall;
			took_cpu = took;
		}
	}
	printf("# ALLOC 64M took %.1f ms; FREE on the same open from CPU 1 waited at most %.1f ms\n", took_ids, best_ids);
	printf("# ALLOC 64M took %.1f ms; a program on the same CPU waited at most %.1f ms\n", took_cpu, best_cpu);
	ok(took_ids > 0 && best_ids < took_ids / 4, "FREE on the same open answers while ALLOC zeroes 64M");
	ok(took_cpu > 0 && best_cpu < took_cpu / 4, "a program on the same CPU runs while ALLOC zeroes 64M (cond_resched)");
}

/* ---- the reclaim worker's walk of held buffers ---- */

#define NHELD 4

/* NHELD buffers of 4M, released with the last page of their second block
 * in a pipe (kept in pp): the first blocks come back, the second ones are
 * held.  False if any step failed. */
static int hold_some(int pp[NHELD][2])
{
	struct gb_pool_alloc a;
	struct iovec iov;
	unsigned char *p;
	int i, good = 1;

	for (i = 0; i < NHELD; i++) {
		pp[i][0] = pp[i][1] = -1;
		if (alloc(4 * MiB, &a) < 0) {
			good = 0;
			continue;
		}
		p = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
		if (p != MAP_FAILED) {
			memset(p + 4 * MiB - 4096, 'a' + i, 4096);
			iov.iov_base = p + 4 * MiB - 4096;
			iov.iov_len = 4096;
			if (pipe(pp[i]) < 0 || vmsplice(pp[i][1], &iov, 1, 0) != 4096)
				good = 0;
			munmap(p, 4 * MiB);
		} else {
			good = 0;
		}
		close(a.fd);
		good &= drop(a.id) == 0;
	}
	return good;
}

/* the pipe still has the page as it was written, and is closed */
static int let_go(int pp[2], int i)
{
	char back[4096];
	int good;

	memset(back, 0, sizeof(back));
	good = read(pp[0], back, sizeof(back)) == 4096 && back[0] == 'a' + i && back[4095] == 'a' + i;
	close(pp[0]);
	close(pp[1]);
	return good;
}

/* held_bytes is want within a few seconds, and stays there for a worker pass */
static int held_is(unsigned long long want)
{
	struct gb_pool_info in;
	int i;

	for (i = 0; i < 40; i++) {
		if (info(&in) == 0 && in.held_bytes == want)
			break;
		usleep(100 * 1000);
	}
	usleep(1200 * 1000);
	return info(&in) == 0 && in.held_bytes == want && in.free_bytes == POOL - want;
}

/* buffers made, pinned briefly and released, until killed: the held list
 * grows while the worker walks it */
static pid_t churn(void)
{
	pid_t c = fork();

	if (c == 0) {
		int d = open(GB_POOL_DEVICE, O_RDWR), pp[2];
		struct gb_pool_alloc a;
		struct iovec iov;
		unsigned char *p;
		unsigned n;

		for (n = 0;; n++) {
			memset(&a, 0, sizeof(a));
			a.size = 2 * MiB;
			if (d < 0 || ioctl(d, GB_POOL_IOC_ALLOC, &a) < 0) {
				usleep(1000);
				continue;
			}
			p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
			pp[0] = pp[1] = -1;
			if (p != MAP_FAILED) {
				p[0] = 1;
				iov.iov_base = p;
				iov.iov_len = 4096;
				if (pipe(pp) == 0)
					vmsplice(pp[1], &iov, 1, 0);
				munmap(p, 2 * MiB);
			}
			close(a.fd);
			ioctl(d, GB_POOL_IOC_FREE, &(struct gb_pool_free){ .id = a.id });
			usleep(n * 7919 % 3000);
			close(pp[0]);
			close(pp[1]);
		}
	}
	return c;
}

static void reclaim_walk(void)
{
	static const int order[NHELD] = { 2, 0, 3, 1 };
	int pp[NHELD][2], i, good;
	struct gb_pool_alloc a;
	unsigned char *p;
	pid_t c;

	ok(hold_some(pp) && held_is(NHELD * 2 * MiB), "%d buffers released with a page each in a pipe: %dM held",
	   NHELD, NHELD * 2);
	/* what is free may be handed out and written: none of it is a held page */
	good = alloc(free_now(), &a) == 0;
	if (good && (p = mmap(NULL, POOL - NHELD * 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0)) != MAP_FAILED) {
		memset(p, 0xff, POOL - NHELD * 2 * MiB);
		munmap(p, POOL - NHELD * 2 * MiB);
	}
	if (good) {
		close(a.fd);
		drop(a.id);
	}
	ok(good && held_is(NHELD * 2 * MiB), "the rest of the pool allocated, written and freed");
	for (i = 0, good = 1; i < NHELD; i++) {
		good &= let_go(pp[order[i]], order[i]);
		if (!held_is((NHELD - 1 - i) * 2 * MiB)) {
			printf("# after letting go of buffer %d: held_bytes %llu\n", order[i], sys_num("held_bytes"));
			good = 0;
		}
	}
	ok(good, "let go in another order (2 0 3 1): each pipe read its page intact, and one block came back for each");

	/* the same while other buffers are released and held meanwhile */
	ok(hold_some(pp), "%d held again", NHELD);
	c = churn();
	usleep(1500 * 1000);
	for (i = 0, good = 1; i < NHELD; i++) {
		good &= let_go(pp[order[i]], order[i]);
		usleep(300 * 1000);
	}
	usleep(1500 * 1000);
	ok(c > 0 && kill(c, SIGKILL) == 0 && waitpid(c, NULL, 0) == c && good,
	   "let go while another process's buffers are released, pinned and reclaimed");
	ok(settles() && sys_num("buffers") == 0 && sys_num("held_bytes") == 0, "all back, nothing held");
}

/* ---- random ioctls: every answer is 0 or a documented errno ---- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* n random requests on a fresh open: the four real ones with random
 * fields, others near them (magic 'G', other numbers, sizes, directions)
 * and anything at all; arguments in good memory, unmapped, read-only or
 * in the kernel's half.  Returns the number of odd answers. */
static int fuzz_ioctls(int n)
{
	static const unsigned long real[] = { GB_POOL_IOC_INFO, GB_POOL_IOC_ALLOC, GB_POOL_IOC_FREE, GB_POOL_IOC_EXPORT };
	unsigned char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t arg[16];
	int d = open(GB_POOL_DEVICE, O_RDWR | O_CLOEXEC), i, j, r, odd = 0, made = 0, freed = 0;
	unsigned long cmd;
	void *where;

	if (d < 0 || ro == MAP_FAILED || none == MAP_FAILED)
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t k = rnd();

		switch (k % 4) {
		case 0:
		case 1:
			cmd = real[(k >> 2) % 4];
			break;
		case 2:
			cmd = _IOC((unsigned)(k >> 8) % 4, GB_POOL_IOC_MAGIC, (k >> 16) % 16, (k >> 24) % 128);
			break;
		default:
			cmd = (unsigned long)(uint32_t)(k >> 32);
		}
		for (j = 0; j < 16; j++)
			arg[j] = rnd();
		/* often plausible: small sizes in whole pages, small ids, no flags */
		if (rnd() % 2) {
			arg[0] = (rnd() % 5) * GB_POOL_PAGE_SIZE;
			if (rnd() % 2)
				arg[0] = rnd() % 8;
			arg[1] = rnd() % 3 ? 0 : arg[1];
			arg[2] = rnd() % 2 ? 0 : arg[2];
		}
		switch (rnd() % 8) {
		case 0:
			where = NULL;
			break;
		case 1:
			where = ro;
			break;
		case 2:
			where = none;
			break;
		case 3:
			where = (void *)0xffff888000000000ULL;
			break;
		default:
			where = arg;
		}
		r = ioctl(d, cmd, where);
		if (r == 0) {
			/* fds it made: close them, as a careless program would not */
			if (cmd == GB_POOL_IOC_ALLOC)
				made += close(((struct gb_pool_alloc *)where)->fd) == 0;
			else if (cmd == GB_POOL_IOC_FREE)
				freed++;
			else if (cmd == GB_POOL_IOC_EXPORT)
				close(((struct gb_pool_export *)where)->fd);
			else if (cmd != GB_POOL_IOC_INFO && cmd != GB_POOL_IOC_FREE)
				odd++;
		} else if (errno != EINVAL && errno != EFAULT && errno != ENOMEM && errno != ENOTTY) {
			if (odd++ < 5)
				printf("# ioctl %#lx: %s\n", cmd, strerror(errno));
		}
	}
	printf("# %d buffers made, %d freed by id\n", made, freed);
	close(d);
	munmap(ro, 4096);
	munmap(none, 4096);
	return odd;
}

/* every 2 MB block of the mapping is physically contiguous and aligned */
static int contiguous(void *p, size_t len)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t pages = len / 4096, i;
	uint64_t e, first = 0;
	int good = fd >= 0;

	for (i = 0; good && i < pages; i++) {
		uint64_t pfn;

		if (pread(fd, &e, 8, (off_t)(((uintptr_t)p / 4096 + i) * 8)) != 8 || !(e >> 63 & 1))
			good = 0;
		pfn = e & ((1ULL << 55) - 1);
		if (i % 512 == 0) {
			first = pfn;
			good = good && pfn && pfn % 512 == 0;
		} else {
			good = good && pfn == first + i % 512;
		}
	}
	if (fd >= 0)
		close(fd);
	return good;
}

/* the PFNs of a mapping's pages, and, to explain a failure, the pages of
 * them that something still references (/proc/kpagecount) */
static uint64_t pfns[1024];

static void record_pfns(void *p, size_t len)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t i;
	uint64_t e;

	for (i = 0; fd >= 0 && i < len / 4096 && i < 1024; i++)
		pfns[i] = pread(fd, &e, 8, (off_t)(((uintptr_t)p / 4096 + i) * 8)) == 8 ? e & ((1ULL << 55) - 1) : 0;
	if (fd >= 0)
		close(fd);
}

static void show_counts(size_t n)
{
	int fd = open("/proc/kpagecount", O_RDONLY);
	size_t i, shown = 0;
	uint64_t c;

	for (i = 0; fd >= 0 && i < n && shown < 8; i++)
		if (pfns[i] && pread(fd, &c, 8, (off_t)(pfns[i] * 8)) == 8 && c != 1) {
			printf("#   page %zu (pfn %llu) has count %llu\n", i, (unsigned long long)pfns[i],
			       (unsigned long long)c);
			shown++;
		}
	if (fd >= 0)
		close(fd);
}

static void kill_holder(void)
{
	int ready[2];
	pid_t c;
	char b;

	if (pipe(ready) < 0)
		return;
	c = fork();
	if (c == 0) {
		int d = open(GB_POOL_DEVICE, O_RDWR);
		struct gb_pool_alloc a = { .size = 16 * MiB };
		char *p;

		if (d < 0 || ioctl(d, GB_POOL_IOC_ALLOC, &a) < 0)
			_exit(1);
		p = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
		if (p == MAP_FAILED)
			_exit(1);
		memset(p, 1, 16 * MiB);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ok(read(ready[0], &b, 1) == 1 && free_now() == POOL - 16 * MiB, "a child holds 16M, mapped");
	ok(kill(c, SIGKILL) == 0 && waitpid(c, NULL, 0) == c, "SIGKILL it");
	ok(settles(), "its pages are back in the pool");
	close(ready[0]);
}

/* With per_process_mb=8: a buffer counts against the cap from ALLOC until
 * its last fd, mapping and dma-buf are gone, not until FREE */
static void cap_until_released(void)
{
	struct gb_pool_info in;
	struct gb_pool_alloc a, b;
	struct gb_pool_export ex;
	unsigned char *p;

	ok(info(&in) == 0 && in.used_bytes == 0 && in.cap_bytes == 8 * MiB, "cap 8M, nothing used");
	ok(alloc(8 * MiB, &a) == 0, "ALLOC 8M, the whole cap");
	p = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
	ok(p != MAP_FAILED && drop(a.id) == 0, "map it, keep the fd, FREE the id");
	ok(info(&in) == 0 && in.used_bytes == 8 * MiB, "still counted: used_bytes %llu", (unsigned long long)in.used_bytes);
	ok(alloc_fails(2 * MiB, ENOMEM), "ALLOC 2M past the cap after that FREE: ENOMEM");
	close(a.fd);
	ok(alloc_fails(2 * MiB, ENOMEM), "the fd closed, the mapping kept: still ENOMEM");
	if (p != MAP_FAILED)
		munmap(p, 8 * MiB);
	ok(info(&in) == 0 && in.used_bytes == 0, "unmapped: nothing counted");
	ok(alloc(8 * MiB, &b) == 0, "and ALLOC 8M succeeds");
	close(b.fd);
	drop(b.id);

	/* a dma-buf holds the charge as long as it holds the pages */
	ok(alloc(8 * MiB, &a) == 0, "ALLOC 8M again");
	memset(&ex, 0, sizeof(ex));
	ex.id = a.id;
	ok(ioctl(dev, GB_POOL_IOC_EXPORT, &ex) == 0, "EXPORT it");
	close(a.fd);
	ok(drop(a.id) == 0 && alloc_fails(2 * MiB, ENOMEM), "fd closed, id freed, the dma-buf kept: ALLOC 2M is ENOMEM");
	close(ex.fd);
	ok(info(&in) == 0 && in.used_bytes == 0 && alloc(8 * MiB, &b) == 0, "the dma-buf closed: ALLOC 8M succeeds");
	close(b.fd);
	drop(b.id);
	ok(settles() && sys_num("buffers") == 0, "all back");
}

int main(void)
{
	struct gb_pool_info in;
	struct gb_pool_alloc a, b;
	struct gb_pool_export ex;
	struct gb_pool_free fr;
	unsigned char *p, *q;
	char klog[1 << 16];
	unsigned long long frees;
	int i, bad, n;

	setvbuf(stdout, NULL, _IONBF, 0);
	dev = open(GB_POOL_DEVICE, O_RDWR | O_CLOEXEC);
	if (!ok(dev >= 0, "open %s", GB_POOL_DEVICE)) {
		printf("# %s\n", strerror(errno));
		return done();
	}

	/* ---- the pool ---- */
	ok(info(&in) == 0, "INFO");
	is_int(in.version, GB_POOL_VERSION, "version");
	is_int(in.page_size, GB_POOL_PAGE_SIZE, "2 MB pages");
	is_int(in.total_bytes, POOL, "pool_mb=64: a 64M pool");
	is_int(in.free_bytes, POOL, "all free");
	ok(in.used_bytes == 0 && in.held_bytes == 0 && in.cap_bytes == 0 && !in.reserved[0] && !in.reserved[3],
	   "nothing used or held, no cap, reserved words zero");
	in.flags = 1;
	ok(fails(ioctl(dev, GB_POOL_IOC_INFO, &in), EINVAL), "INFO with unknown flags: EINVAL");
	ok(fails(ioctl(dev, GB_POOL_IOC_INFO, (void *)8), EFAULT), "INFO with a bad pointer: EFAULT");
	ok(sys_num("total_bytes") == POOL && sys_num("free_bytes") == POOL && sys_num("page_size") == GB_POOL_PAGE_SIZE &&
	   sys_num("version") == 1 && sys_num("buffers") == 0, "sysfs statistics agree");

	/* ---- a buffer ---- */
	ok(alloc(4 * MiB, &a) == 0 && a.fd >= 0 && a.id >= 1, "ALLOC 4M: fd %d, id %u", a.fd, a.id);
	ok(fcntl(a.fd, F_GETFD) & FD_CLOEXEC, "the buffer fd is close-on-exec");
	ok(info(&in) == 0 && in.free_bytes == POOL - 4 * MiB && in.used_bytes == 4 * MiB, "the pool and our use follow");
	p = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
	ok(p != MAP_FAILED, "mmap it shared");
	if (p == MAP_FAILED)
		return done();
	for (i = 0, bad = 0; i < (int)(4 * MiB); i++)
		bad += p[i] != 0;
	is_int(bad, 0, "it starts zeroed");
	for (i = 0; i < (int)(4 * MiB); i++)
		p[i] = (unsigned char)(i * 31 + 7);
	for (i = 0, bad = 0; i < (int)(4 * MiB); i++)
		bad += p[i] != (unsigned char)(i * 31 + 7);
	is_int(bad, 0, "a pattern written reads back");
	ok(contiguous(p, 4 * MiB), "each 2 MB of it is one physically contiguous, aligned block (pagemap)");
	q = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, a.fd, 2 * MiB);
	ok(q != MAP_FAILED && q[5] == (unsigned char)((2 * MiB + 5) * 31 + 7), "a second mapping at an offset sees it");
	if (q != MAP_FAILED)
		munmap(q, 2 * MiB);
	/* mappings the module refuses */
	q = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE, a.fd, 0);
	ok(q == MAP_FAILED && errno == EINVAL, "a private mapping: EINVAL");
	q = mmap(NULL, 2 * MiB, PROT_READ | PROT_EXEC, MAP_SHARED, a.fd, 0);
	ok(q == MAP_FAILED && errno == EPERM, "an executable mapping: EPERM");
	q = mmap(NULL, 6 * MiB, PROT_READ, MAP_SHARED, a.fd, 0);
	ok(q == MAP_FAILED && errno == EINVAL, "a mapping longer than the buffer: EINVAL");
	q = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, a.fd, 4 * MiB);
	ok(q == MAP_FAILED && errno == EINVAL, "a mapping past its end: EINVAL");
	q = mremap(p, 4 * MiB, 8 * MiB, MREMAP_MAYMOVE);
	ok(q == MAP_FAILED, "the mapping cannot be grown (mremap)");
	{
		/* pages a pipe takes by get_user_pages, as a pinning driver would */
		int pp[2];
		struct iovec iov = { p, 8192 };

		ok(pipe(pp) == 0 && vmsplice(pp[1], &iov, 1, 0) == 8192, "get_user_pages on the mapping works (vmsplice)");
		close(pp[0]);
		close(pp[1]);
	}
	ok(mmap(NULL, 4 * MiB, PROT_READ, MAP_PRIVATE, a.fd, 0) == MAP_FAILED && errno == EINVAL,
	   "a private mapping: EINVAL");
	ok(mmap(NULL, 4 * MiB, PROT_READ | PROT_EXEC, MAP_SHARED, a.fd, 0) == MAP_FAILED && errno == EPERM,
	   "an executable mapping: EPERM");
	ok(mmap(NULL, 6 * MiB, PROT_READ, MAP_SHARED, a.fd, 0) == MAP_FAILED && errno == EINVAL,
	   "a mapping longer than the buffer: EINVAL");
	ok(mmap(NULL, 4096, PROT_READ, MAP_SHARED, a.fd, 8 * MiB) == MAP_FAILED && errno == EINVAL,
	   "a mapping past its end: EINVAL");

	/* ---- dma-buf ---- */
	memset(&ex, 0, sizeof(ex));
	ex.id = a.id;
	ex.flags = GB_POOL_EXPORT_RDWR;
	ok(ioctl(dev, GB_POOL_IOC_EXPORT, &ex) == 0 && ex.fd >= 0, "EXPORT: a dma-buf fd %d", ex.fd);
	{
		char path[64], *t = NULL;
		size_t cap = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ex.fd);
		f = fopen(path, "r");
		n = 0;
		while (f && getline(&t, &cap, f) > 0)
			n += strncmp(t, "exp_name:", 9) == 0 && strstr(t, "greenboost") != NULL;
		if (f)
			fclose(f);
		free(t);
		ok(n == 1, "the kernel knows it as greenboost's dma-buf (fdinfo exp_name)");
	}
	q = mmap(NULL, 4 * MiB, PROT_READ, MAP_SHARED, ex.fd, 0);
	ok(q != MAP_FAILED && memcmp(p, q, 4 * MiB) == 0, "mapped through the dma-buf, the same pages");
	if (q != MAP_FAILED)
		munmap(q, 4 * MiB);
	{
		int dbuf = ex.fd;

		/* the dma-buf holds the buffer too: after it goes, the fd and the mapping still do */
		ok(close(dbuf) == 0 && free_now() == POOL - 4 * MiB, "closing the dma-buf gives nothing back yet");
	}
	ex.flags = 0x80;
	ok(fails(ioctl(dev, GB_POOL_IOC_EXPORT, &ex), EINVAL), "EXPORT with unknown flags: EINVAL");
	memset(&ex, 0, sizeof(ex));
	ex.id = 999;
	ok(fails(ioctl(dev, GB_POOL_IOC_EXPORT, &ex), EINVAL), "EXPORT of an unknown id: EINVAL");

	/* ---- must fail ---- */
	ok(fails(alloc(0, &b), EINVAL), "ALLOC 0 bytes: EINVAL");
	ok(fails(alloc(3 * MiB, &b), EINVAL), "ALLOC of a size that is not whole 2 MB pages: EINVAL");
	ok(fails(alloc(4096, &b), EINVAL), "ALLOC 4 KB: EINVAL");
	ok(fails(alloc(128 * MiB, &b), ENOMEM), "ALLOC more than the pool: ENOMEM");
	ok(fails(alloc(1ULL << 62, &b), ENOMEM), "ALLOC 4 EiB: ENOMEM");
	ok(fails(alloc(~0ULL & ~(GB_POOL_PAGE_SIZE - 1), &b), ENOMEM), "ALLOC of the largest aligned size: ENOMEM");
	memset(&b, 0, sizeof(b));
	b.size = 2 * MiB;
	b.flags = 1;
	ok(fails(ioctl(dev, GB_POOL_IOC_ALLOC, &b), EINVAL), "ALLOC with unknown flags: EINVAL");
	b.flags = 0;
	b.pad = 1;
	ok(fails(ioctl(dev, GB_POOL_IOC_ALLOC, &b), EINVAL), "ALLOC with a nonzero pad: EINVAL");
	ok(fails(ioctl(dev, GB_POOL_IOC_ALLOC, (void *)16), EFAULT), "ALLOC with a bad pointer: EFAULT");
	ok(fails(ioctl(dev, _IO(GB_POOL_IOC_MAGIC, 0x7f)), ENOTTY), "an unknown ioctl: ENOTTY");
	ok(fails(ioctl(dev, _IOWR(GB_POOL_IOC_MAGIC, 0x01, uint32_t), &b), ENOTTY),
	   "a known number with the wrong size: ENOTTY");
	ok(fails(ioctl(a.fd, GB_POOL_IOC_INFO, &in), ENOTTY), "pool ioctls on a buffer fd: ENOTTY");
	ok(free_now() == POOL - 4 * MiB && sys_num("failed") >= 1, "failures took nothing (and are counted)");

	/* ---- freeing ---- */
	frees = sys_num("frees");
	ok(drop(a.id) == 0, "FREE the id");
	ok(fails(drop(a.id), EINVAL), "FREE it again: EINVAL");
	ok(fails(drop(0), EINVAL) && fails(drop(12345), EINVAL), "FREE of id 0 or an unknown id: EINVAL");
	fr.id = 1;
	fr.flags = 2;
	ok(fails(ioctl(dev, GB_POOL_IOC_FREE, &fr), EINVAL), "FREE with unknown flags: EINVAL");
	memset(&ex, 0, sizeof(ex));
	ex.id = a.id;
	ok(fails(ioctl(dev, GB_POOL_IOC_EXPORT, &ex), EINVAL), "EXPORT after FREE: EINVAL");
	ok(info(&in) == 0 && in.free_bytes == POOL - 4 * MiB && in.held_bytes == 0,
	   "freed, but the fd and the mapping still hold the pages (not counted as held)");
	is_int(in.used_bytes, 4 * MiB, "and they still count as this open's use");
	ok(sys_num("buffers") == 1 && sys_num("frees") == frees, "sysfs: the buffer is still alive, not yet a free");
	ok(p[4 * MiB - 1] == (unsigned char)((4 * MiB - 1) * 31 + 7), "and the mapping still works");
	close(a.fd);
	ok(info(&in) == 0 && in.free_bytes == POOL - 4 * MiB && in.used_bytes == 4 * MiB,
	   "closing the fd: the mapping still holds them, still counted");
	record_pfns(p, 4 * MiB);
	munmap(p, 4 * MiB);
	if (!ok(settles() && sys_num("buffers") == 0 && sys_num("held_bytes") == 0, "unmapped: all back, nothing held"))
		show_counts(1024);
	ok(info(&in) == 0 && in.used_bytes == 0 && sys_num("frees") == frees + 1, "and nothing counted; sysfs counts the free");

	/* ---- pages someone else still references are held, not reused ---- */
	{
		int pp[2];
		struct iovec iov;

		ok(alloc(2 * MiB, &a) == 0, "ALLOC 2M");
		p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
		memset(p, 9, 4096);
		iov.iov_base = p;
		iov.iov_len = 4096;
		ok(pipe(pp) == 0 && vmsplice(pp[1], &iov, 1, 0) == 4096, "a pipe takes a reference to one of its pages");
		munmap(p, 2 * MiB);
		close(a.fd);
		drop(a.id);
		sleep(2);
		ok(info(&in) == 0 && in.free_bytes == POOL - 2 * MiB && in.held_bytes == 2 * MiB,
		   "freed and unmapped, but held while the pipe has the page");
		is_int(in.used_bytes, 0, "held pages count against no open file");
		close(pp[0]);
		close(pp[1]);
		ok(settles() && sys_num("held_bytes") == 0, "the pipe let go: back in the pool");
	}

	/* ---- limits ---- */
	ok(set_cap_mb(8) == 0 && info(&in) == 0 && in.cap_bytes == 8 * MiB, "per_process_mb=8 at run time");
	ok(alloc(8 * MiB, &a) == 0, "8M within the cap");
	ok(fails(alloc(2 * MiB, &b), ENOMEM), "2M more: ENOMEM");
	close(a.fd);
	drop(a.id);
	cap_until_released();
	set_cap_mb(0);
	ok(alloc(POOL, &a) == 0, "the whole pool");
	ok(fails(alloc(2 * MiB, &b), ENOMEM), "then 2M more: ENOMEM");
	close(a.fd);
	drop(a.id);
	ok(settles(), "all back");

	/* ---- held buffers ---- */
	reclaim_walk();

	/* ---- zeroing ---- */
	zeroing_yields();

	/* ---- a holder killed ---- */
	kill_holder();

	/* ---- the opener's ids die with it ---- */
	{
		int d2 = open(GB_POOL_DEVICE, O_RDWR);
		struct gb_pool_alloc c;

		memset(&c, 0, sizeof(c));
		c.size = 8 * MiB;
		ok(d2 >= 0 && ioctl(d2, GB_POOL_IOC_ALLOC, &c) == 0, "another open allocates 8M");
		close(c.fd);
		close(d2);
		ok(settles(), "closing /dev/greenboost with the id still live gives it back");

		/* the buffer outlives the open that made it, and its charge */
		d2 = open(GB_POOL_DEVICE, O_RDWR);
		memset(&c, 0, sizeof(c));
		c.size = 8 * MiB;
		p = MAP_FAILED;
		if (d2 >= 0 && ioctl(d2, GB_POOL_IOC_ALLOC, &c) == 0)
			p = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
		ok(p != MAP_FAILED, "another open allocates 8M and maps it");
		close(c.fd);
		close(d2);
		if (p != MAP_FAILED) {
			memset(p, 3, 8 * MiB);
			ok(p[8 * MiB - 1] == 3 && free_now() == POOL - 8 * MiB,
			   "that open closed: the mapping still works and holds the pages");
			munmap(p, 8 * MiB);
		}
		ok(settles() && sys_num("buffers") == 0, "unmapped: back in the pool");
	}

	/* ---- random requests ---- */
	is_int(fuzz_ioctls(20000), 0, "20000 random ioctls: each 0 or EINVAL, EFAULT, ENOMEM, ENOTTY");
	ok(settles() && sys_num("buffers") == 0, "and the pool is whole again");

	/* ---- churn ---- */
	for (i = 0, bad = 0; i < 1000; i++) {
		if (alloc((uint64_t)(i % 4 + 1) * 2 * MiB, &a) < 0) {
			bad++;
			continue;
		}
		if (i % 3 == 0) {
			p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
			if (p != MAP_FAILED) {
				p[0] = 1;
				munmap(p, 2 * MiB);
			}
		}
		close(a.fd);
		bad += drop(a.id) != 0;
	}
	is_int(bad, 0, "1000 allocations and frees");
	ok(settles() && sys_num("buffers") == 0 && sys_num("held_bytes") == 0 && sys_num("total_bytes") == POOL,
	   "the pool is exactly as it started");
	ok(sys_num("allocs") == sys_num("frees"), "allocs %llu == frees %llu", sys_num("allocs"), sys_num("frees"));

	/* ---- unload, with a page of a freed buffer still in a pipe ---- */
	{
		int pp[2] = { -1, -1 };
		struct iovec iov;
		char back[4096];

		if (alloc(2 * MiB, &a) == 0 &&
		    (p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0)) != MAP_FAILED) {
			memset(p, 0x5a, 4096);
			iov.iov_base = p;
			iov.iov_len = 4096;
			if (pipe(pp) < 0 || vmsplice(pp[1], &iov, 1, 0) != 4096)
				pp[0] = -1;
			munmap(p, 2 * MiB);
		}
		close(a.fd);
		drop(a.id);
		close(dev);
		ok(system("rmmod greenboost") == 0, "rmmod, while a pipe still holds a page");
		ok(access(GB_POOL_DEVICE, F_OK) < 0, "the device is gone");
		memset(back, 0, sizeof(back));
		ok(pp[0] >= 0 && read(pp[0], back, sizeof(back)) == 4096 && back[0] == 0x5a && back[4095] == 0x5a,
		   "the pipe still reads what was written after the unload");
		close(pp[0]);
		close(pp[1]);
	}
	n = klogctl(3, klog, sizeof(klog) - 1);
	if (n > 0) {
		klog[n] = 0;
		ok(!strstr(klog, "WARNING") && !strstr(klog, "BUG") && !strstr(klog, "Oops") &&
		   !strstr(klog, "general protection"), "the kernel log has no WARNING, BUG or Oops");
		ok(strstr(klog, "greenboost: pool of 64 MiB") != NULL, "the kernel log has the module's load line");
		ok(strstr(klog, "greenboost: 2 MiB still pinned at unload") != NULL, "and the unload's line for the pinned block");
	} else {
		ok(0, "read the kernel log");
	}
	return done();
}
