/* Small /proc, clock and file helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gb.h"

char *gb_read_fd(int fd, size_t max, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf, *nb;

	buf = malloc(cap + 1);
	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			if (cap >= max) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
fail:
	{
		int e = errno;

		free(buf);
		errno = e;
	}
	return NULL;
}

char *gb_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;
	char *t;

	if (fd < 0)
		return NULL;
	t = gb_read_fd(fd, max, len);
	e = errno;
	close(fd);
	errno = e;
	return t;
}

uint64_t gb_mem_available(void)
{
	size_t len;
	char *t = gb_read_file("/proc/meminfo", 1 << 16, &len), *p;
	unsigned long long kb = 0;

	if (!t)
		return 0;
	p = strstr(t, "MemAvailable:");
	if (p)
		sscanf(p + 13, "%llu", &kb);
	free(t);
	return (uint64_t)kb * 1024;
}

uint64_t gb_proc_starttime(pid_t pid)
{
	char path[64], *t, *p;
	unsigned long long v = 0;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	t = gb_read_file(path, 1 << 14, NULL);
	if (!t)
		return 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	p = strrchr(t, ')');
	if (p) {
		p++;
		for (field = 3; field < 22 && p; field++) {
			p = strchr(p + 1, ' ');
		}
		if (p)
			sscanf(p, " %llu", &v);
	}
	free(t);
	return (uint64_t)v;
}

uint64_t gb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double gb_wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
