/*
 * A test double for the kernel refusing a write: preloaded into gb-tune,
 * write(2) to a file whose path contains $FAILWRITE fails with EIO.  The
 * bats tests use it to make a change fail halfway through --full, and
 * (through pwrite(2)) gb-quant's output fail halfway through a model.
 * With $FAILFALLOCATE (ENOSPC, EOPNOTSUPP or EIO), fallocate(2) fails so:
 * a full disk, or a filesystem that cannot allocate.  With $STALLWRITE (a
 * path's part, as $FAILWRITE) and $STALLDIR, a write(2) to such a file
 * first creates $STALLDIR/ready, then waits for $STALLDIR/go (30 s at
 * most): a run held in the middle, for another to meet.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int refused_by(int fd, const char *var)
{
	const char *want = getenv(var);
	char link[64], path[4096];
	ssize_t l;

	if (!want || !*want || fd <= 2)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	l = readlink(link, path, sizeof(path) - 1);
	if (l <= 0)
		return 0;
	path[l] = 0;
	return strstr(path, want) != NULL;
}

static int refused(int fd)
{
	return refused_by(fd, "FAILWRITE");
}

static void stall(int fd)
{
	static ssize_t (*real)(int, const void *, size_t);
	const char *dir = getenv("STALLDIR");
	char p[4096];
	int i, r;

	if (!dir || !refused_by(fd, "STALLWRITE"))
		return;
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	snprintf(p, sizeof(p), "%s/ready", dir);
	r = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (r >= 0)
		close(r);
	snprintf(p, sizeof(p), "%s/go", dir);
	for (i = 0; i < 3000 && access(p, F_OK) < 0; i++)
		usleep(10000);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	stall(fd);
	if (refused(fd)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n);
}

/* after FAILWRITE_AFTER successful calls (default 0) */
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	static int calls;
	const char *after = getenv("FAILWRITE_AFTER");

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	if (refused(fd) && __atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST) >= (after ? atoi(after) : 0)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

int fallocate(int fd, int mode, off_t off, off_t len)
{
	static int (*real)(int, int, off_t, off_t);
	const char *e = getenv("FAILFALLOCATE");

	if (!real)
		real = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT, "fallocate");
	if (e && *e) {
		errno = !strcmp(e, "ENOSPC") ? ENOSPC : !strcmp(e, "EOPNOTSUPP") ? EOPNOTSUPP : EIO;
		return -1;
	}
	return real(fd, mode, off, len);
}
int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));
