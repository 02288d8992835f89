/*
 * A test double for the kernel refusing a write: preloaded into gb-tune,
 * write(2) to a file whose path contains $FAILWRITE fails with EIO.  The
 * bats tests use it to make a change fail halfway through --full.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	const char *want = getenv("FAILWRITE");
	char link[64], path[4096];
	ssize_t l;

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (want && *want && fd > 2) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		l = readlink(link, path, sizeof(path) - 1);
		if (l > 0) {
			path[l] = 0;
			if (strstr(path, want)) {
				errno = EIO;
				return -1;
			}
		}
	}
	return real(fd, buf, n);
}
