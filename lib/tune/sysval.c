/* One value of /proc/sys or /sys, read and written below a root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tune/tune.h"

char *gb_tune_path(const char *root, const char *path, char *buf, size_t n)
{
	int r;

	if (!root || !*root || !strcmp(root, "/"))
		r = snprintf(buf, n, "%s", path);
	else
		r = snprintf(buf, n, "%s%s", root, path);
	if (r < 0 || (size_t)r >= n) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

int gb_sysval_valid(const char *v)
{
	if (!*v)
		return 0;
	for (; *v; v++)
		if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
		      strchr("_.:+-", *v)))
			return 0;
	return 1;
}

int gb_sysval_norm(const char *text, char *val, size_t n)
{
	const char *s = text, *e, *lb;
	size_t len;

	e = strchr(s, '\n');
	if (!e)
		e = s + strlen(s);
	/* a list of choices, the one in force in brackets */
	lb = memchr(s, '[', (size_t)(e - s));
	if (lb) {
		const char *rb = memchr(lb, ']', (size_t)(e - lb));

		if (!rb) {
			errno = EINVAL;
			return -1;
		}
		s = lb + 1;
		e = rb;
	}
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	len = (size_t)(e - s);
	if (len == 0 || len >= n) {
		errno = EINVAL;
		return -1;
	}
	memcpy(val, s, len);
	val[len] = 0;
	if (!gb_sysval_valid(val)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int gb_sysval_read(const char *root, const char *path, char *val, size_t n)
{
	char full[GB_TUNE_PATH * 2], *t;
	int r;

	if (!gb_tune_path(root, path, full, sizeof(full)))
		return -1;
	t = gb_read_file(full, 1 << 16, NULL);
	if (!t)
		return -1;
	r = gb_sysval_norm(t, val, n);
	free(t);
	return r;
}

int gb_sysval_write(const char *root, const char *path, const char *val)
{
	char full[GB_TUNE_PATH * 2], line[GB_TUNE_VAL + 2];
	int fd, n, e;
	ssize_t w;

	if (!gb_sysval_valid(val)) {
		errno = EINVAL;
		return -1;
	}
	if (!gb_tune_path(root, path, full, sizeof(full)))
		return -1;
	n = snprintf(line, sizeof(line), "%s\n", val);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		errno = EINVAL;
		return -1;
	}
	/* no O_CREAT, no O_TRUNC: a kernel file takes one write; a fixture
	 * file is cut to what was written, after the write succeeded */
	fd = open(full, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	w = write(fd, line, (size_t)n);
	e = errno;
	if (w == n && root && *root && strcmp(root, "/") && ftruncate(fd, n) < 0) {
		e = errno;
		w = -1;
	}
	if (close(fd) < 0 && w == n)
		return -1;
	if (w != n) {
		errno = w < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

int gb_sysval_writable(const char *root, const char *path)
{
	char full[GB_TUNE_PATH * 2];
	int fd;

	if (!gb_tune_path(root, path, full, sizeof(full)))
		return -1;
	fd = open(full, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int gb_mkdirs(const char *path, mode_t mode)
{
	char p[GB_TUNE_PATH * 2];
	char *c;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (c = p + 1; (c = strchr(c, '/')); c++) {
		*c = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		*c = '/';
	}
	return mkdir(p, mode) < 0 && errno != EEXIST ? -1 : 0;
}
