/* A swap file on NVMe: made, given a header, enabled; disabled, removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/swap.h>
#include <unistd.h>

#include "tune/tune.h"

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* union swap_header of <linux/swap.h>, version 1, in the host's byte
 * order (little-endian here, as mkswap writes it on x86 and arm64) */
int gb_swap_header(unsigned char *page, size_t pagesize, uint64_t bytes, const unsigned char uuid[16])
{
	uint64_t pages = bytes / pagesize;

	if (pagesize < 4096 || pages < 10 || pages - 1 > UINT32_MAX)
		return -1;
	memset(page, 0, pagesize);
	put32(page + 1024, 1);                        /* version */
	put32(page + 1028, (uint32_t)(pages - 1));   /* last_page */
	put32(page + 1032, 0);                        /* nr_badpages */
	memcpy(page + 1036, uuid, 16);
	memcpy(page + 1052, "greenboost", 10);        /* volume label */
	memcpy(page + pagesize - 10, "SWAPSPACE2", 10);
	return 0;
}

static int fill_zeros(int fd, uint64_t bytes)
{
	static const char zero[1 << 16];
	uint64_t off = 0;

	while (off < bytes) {
		size_t n = bytes - off < sizeof(zero) ? (size_t)(bytes - off) : sizeof(zero);
		ssize_t w = pwrite(fd, zero, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (uint64_t)w;
	}
	return 0;
}

static int fail(struct gb_err *err, const char *what, const char *path)
{
	snprintf(err->msg, sizeof(err->msg), "unable to %s %s: %s", what, path, strerror(errno));
	return -1;
}

int gb_swap_make(const char *root, const char *path, uint64_t bytes, int enable, struct gb_err *err)
{
	char full[GB_TUNE_PATH * 2];
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char uuid[16], *page;
	int fd, zeroed = 0, e;

	if (!gb_tune_path(root, path, full, sizeof(full))) {
		snprintf(err->msg, sizeof(err->msg), "%s: path too long", path);
		return -1;
	}
	bytes -= bytes % ps;
	page = malloc(ps);
	if (getrandom(uuid, sizeof(uuid), 0) != sizeof(uuid))
		memset(uuid, 0x5a, sizeof(uuid));
	if (!page || gb_swap_header(page, ps, bytes, uuid) < 0) {
		free(page);
		snprintf(err->msg, sizeof(err->msg), "a swap file of %llu bytes is too small or too large",
			 (unsigned long long)bytes);
		return -1;
	}
	/* never over a file that is there: it may be someone's data */
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(page);
		return fail(err, "create", full);
	}
	/* a swap file may have no holes: allocated, or written */
	if (fallocate(fd, 0, 0, (off_t)bytes) < 0) {
		if (fill_zeros(fd, bytes) < 0)
			goto bad;
		zeroed = 1;
	}
	if (pwrite(fd, page, ps, 0) != (ssize_t)ps || fsync(fd) < 0)
		goto bad;
	if (enable && swapon(full, 0) < 0) {
		/* some filesystems take no unwritten extents: write them */
		if (zeroed || errno != EINVAL || fill_zeros(fd, bytes) < 0 || pwrite(fd, page, ps, 0) != (ssize_t)ps ||
		    fsync(fd) < 0 || swapon(full, 0) < 0) {
			fail(err, "enable swap on", full);
			goto undo;
		}
	}
	close(fd);
	free(page);
	return 0;
bad:
	fail(err, "write", full);
undo:
	e = errno;
	close(fd);
	unlink(full);
	free(page);
	errno = e;
	return -1;
}

int gb_swap_active(const char *root, const char *path)
{
	char full[GB_TUNE_PATH * 2], swaps[GB_TUNE_PATH * 2], *t, *line, *save = NULL;
	int found = 0;

	if (!gb_tune_path(root, path, full, sizeof(full)) || !gb_tune_path(root, "/proc/swaps", swaps, sizeof(swaps)))
		return -1;
	t = gb_read_file(swaps, 1 << 20, NULL);
	if (!t)
		return -1;
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(full);

		if (!strncmp(line, full, l) && (line[l] == ' ' || line[l] == '\t'))
			found = 1;
	}
	free(t);
	return found;
}

int gb_swap_remove(const char *root, const char *path, struct gb_err *err)
{
	char full[GB_TUNE_PATH * 2];

	if (!gb_tune_path(root, path, full, sizeof(full))) {
		snprintf(err->msg, sizeof(err->msg), "%s: path too long", path);
		return -1;
	}
	if (gb_swap_active(root, path) == 1 && swapoff(full) < 0)
		return fail(err, "disable swap on", full);
	if (unlink(full) < 0 && errno != ENOENT)
		return fail(err, "remove", full);
	return 0;
}

/* fields 5 (mount point), 7+ (optional) then "-", type, source, options
 * of a /proc/self/mountinfo line; 0 on success */
static int mountinfo_fields(char *line, unsigned *maj, unsigned *min, char **mnt, char **type, char **opts)
{
	char *f[64], *save = NULL, *w;
	int n = 0, i;

	for (w = strtok_r(line, " ", &save); w && n < 64; w = strtok_r(NULL, " ", &save))
		f[n++] = w;
	if (n < 10 || sscanf(f[2], "%u:%u", maj, min) != 2)
		return -1;
	for (i = 6; i < n && strcmp(f[i], "-"); i++)
		;
	if (i + 2 >= n)
		return -1;
	*mnt = f[4];
	*type = f[i + 1];
	*opts = f[5];
	return 0;
}

int gb_swap_nvme_dir(const char *root, const struct gb_machine *m, char *dir, size_t n)
{
	static const char *const fs_ok[] = { "ext4", "ext3", "ext2", "xfs", NULL };
	char path[GB_TUNE_PATH * 2], link[GB_TUNE_PATH * 2], *t, *line, *save = NULL;
	unsigned long long best = 0;
	int found = -1;

	if (!m->nnvme || !gb_tune_path(root, "/proc/self/mountinfo", path, sizeof(path)))
		return -1;
	t = gb_read_file(path, 1 << 20, NULL);
	if (!t)
		return -1;
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		char *mnt, *type, *opts, *base, sysdev[64];
		struct statvfs sv;
		ssize_t l;
		int i, okfs = 0;

		if (mountinfo_fields(line, &maj, &min, &mnt, &type, &opts) < 0)
			continue;
		for (i = 0; fs_ok[i]; i++)
			okfs |= !strcmp(type, fs_ok[i]);
		/* swap files want extents and no copy-on-write; not /boot */
		if (!okfs || !strncmp(opts, "ro", 2) || !strncmp(mnt, "/boot", 5) || strchr(mnt, '\\'))
			continue;
		snprintf(sysdev, sizeof(sysdev), "/sys/dev/block/%u:%u", maj, min);
		if (!gb_tune_path(root, sysdev, path, sizeof(path)) || (l = readlink(path, link, sizeof(link) - 1)) < 0)
			continue;
		link[l] = 0;
		base = strrchr(link, '/');
		if (!base || strncmp(base + 1, "nvme", 4))
			continue;
		if (!gb_tune_path(root, mnt, path, sizeof(path)) || statvfs(path, &sv) < 0)
			continue;
		if (found < 0 || (unsigned long long)sv.f_bavail * sv.f_frsize > best) {
			best = (unsigned long long)sv.f_bavail * sv.f_frsize;
			snprintf(dir, n, "%s", mnt);
			found = 0;
		}
	}
	free(t);
	return found;
}
