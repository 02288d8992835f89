/*
 * A swap file on NVMe: its place checked, made, given a header, enabled;
 * disabled, removed.  Whatever memory is swapped out lands in it, so only
 * root may be able to put a file where gb-tune will enable one, and the
 * file enabled is the one gb-tune opened, not whatever the name leads to
 * by then (gb-tune(8), SWAP FILES).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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
		if (w == 0)
			errno = ENOSPC;
		if (w <= 0)
			return -1;
		off += (uint64_t)w;
	}
	return 0;
}

static int fail(struct gb_err *err, const char *what, const char *path)
{
	int e = errno;

	snprintf(err->msg, sizeof(err->msg), "unable to %s %s: %s", what, path, strerror(e));
	errno = e;
	return -1;
}

static int refuse(struct gb_err *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(struct gb_err *err, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

static int real_root(const char *root)
{
	return !root || !*root || !strcmp(root, "/");
}

/* a directory a swap file may be in or under: nobody but root can put
 * a file there or move one (the test tree of --root: nobody but its
 * owner, the user running gb-tune) */
static int check_dir(int fd, const char *shown, struct gb_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail(err, "examine", shown);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return refuse(err, EPERM, "%s is owned by uid %u, not root: they could swap in a file of their own",
			      shown, (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return refuse(err, EPERM, "%s is writable by %s: they could swap in a file of their own", shown,
			      st.st_mode & S_IWOTH ? "everyone" : "its group");
	return 0;
}

/*
 * The directory of path, opened by walking down from the root one
 * component at a time, following no link, each checked; name gets the
 * last component.  What is opened is what was checked: nothing looks the
 * path up again.  -1 with err and errno (ENOENT: a directory is missing).
 */
static int open_dir_of(const char *root, const char *path, char *name, size_t n, struct gb_err *err)
{
	char buf[GB_TUNE_PATH], shown[GB_TUNE_PATH], *c, *slash;
	const char *top = real_root(root) ? "/" : root;
	int fd, nfd;
	size_t sl;

	if (*path != '/' || strlen(path) >= sizeof(buf))
		return refuse(err, EINVAL, "%s: not an absolute path", path);
	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (!slash[1] || !strcmp(slash + 1, ".") || !strcmp(slash + 1, "..") || strlen(slash + 1) >= n)
		return refuse(err, EINVAL, "%s: not a file name", path);
	snprintf(name, n, "%s", slash + 1);
	*slash = 0;
	fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, "open", top);
	snprintf(shown, sizeof(shown), "/");
	if (check_dir(fd, shown, err) < 0)
		goto bad;
	for (c = slash == buf ? NULL : buf + 1; c && *c; c = slash) {
		slash = strchr(c, '/');
		if (slash)
			*slash++ = 0;
		if (!*c)
			continue;
		sl = strlen(shown);
		snprintf(shown + sl, sizeof(shown) - sl, "%s%s", sl > 1 ? "/" : "", c);
		if (!strcmp(c, ".") || !strcmp(c, "..")) {
			refuse(err, EINVAL, "%s: '.' or '..' in the path", path);
			goto bad;
		}
		nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			struct stat st;

			if ((errno == ELOOP || errno == ENOTDIR) && fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				refuse(err, ELOOP, "%s is a symbolic link: a swap file's directories must be real ones",
				       shown);
			else
				fail(err, "open", shown);
			goto bad;
		}
		close(fd);
		fd = nfd;
		if (check_dir(fd, shown, err) < 0)
			goto bad;
	}
	return fd;
bad:
	{
		int e = errno;

		close(fd);
		errno = e;
	}
	return -1;
}

/* statfs magic numbers, for the filesystem's name */
static const struct {
	unsigned long magic;
	const char *name;
} fs_magic[] = {
	{ 0xEF53, "ext4" },         { 0x58465342, "xfs" },     { 0x01021994, "tmpfs" },  { 0x858458f6, "ramfs" },
	{ 0x9123683e, "btrfs" },    { 0x6969, "nfs" },         { 0xff534d42, "cifs" },   { 0xfe534d42, "smb2" },
	{ 0x65735546, "fuse" },     { 0x794c7630, "overlay" }, { 0x2fc12fc1, "zfs" },    { 0xf2f52010, "f2fs" },
	{ 0x4d44, "vfat" },         { 0x2011bab0, "exfat" },   { 0x5346544e, "ntfs" },   { 0x73717368, "squashfs" },
	{ 0xca451a4e, "bcachefs" }, { 0x6e736673, "nsfs" },    { 0x62656572, "sysfs" },  { 0x9fa0, "proc" },
};

/* the filesystems gb-tune makes swap files on: extents mapped in place,
 * no copy-on-write, local (gb_swap_nvme_dir picks among the same) */
static const char *const fs_ok[] = { "ext4", "ext3", "ext2", "xfs", NULL };

static int fs_is_ok(const char *type)
{
	int i;

	for (i = 0; fs_ok[i]; i++)
		if (!strcmp(type, fs_ok[i]))
			return 1;
	return 0;
}

/* the type of the filesystem that the directory dir (below root) is on:
 * the kernel's word for the real one, the test tree's mountinfo for
 * --root's; -1 if unknown */
static int fs_type(const char *root, int dirfd, const char *dir, char *type, size_t n)
{
	char path[GB_TUNE_PATH * 2], best[GB_TUNE_PATH] = "", *t, *line, *save = NULL;
	size_t i, bl = 0;

	if (real_root(root)) {
		struct statfs sf;

		if (fstatfs(dirfd, &sf) < 0)
			return -1;
		for (i = 0; i < sizeof(fs_magic) / sizeof(fs_magic[0]); i++)
			if ((unsigned long)sf.f_type == fs_magic[i].magic) {
				snprintf(type, n, "%s", fs_magic[i].name);
				return 0;
			}
		snprintf(type, n, "a filesystem of type 0x%lx", (unsigned long)sf.f_type);
		return 0;
	}
	if (!gb_tune_path(root, "/proc/self/mountinfo", path, sizeof(path)) || !(t = gb_read_file(path, 1 << 20, NULL)))
		return -1;
	/* the last mount of the longest mount point above dir */
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[64], *s2 = NULL, *w;
		int nf = 0, k;
		size_t l;

		for (w = strtok_r(line, " ", &s2); w && nf < 64; w = strtok_r(NULL, " ", &s2))
			f[nf++] = w;
		for (k = 6; k < nf && strcmp(f[k], "-"); k++)
			;
		if (nf < 10 || k + 1 >= nf)
			continue;
		l = strlen(f[4]);
		if (strcmp(f[4], "/") && (strncmp(dir, f[4], l) || (dir[l] && dir[l] != '/')))
			continue;
		if (!strcmp(f[4], "/"))
			l = 0;
		if (l >= bl && strlen(f[k + 1]) < sizeof(best)) {
			bl = l;
			snprintf(best, sizeof(best), "%s", f[k + 1]);
		}
	}
	free(t);
	if (!*best)
		return -1;
	snprintf(type, n, "%s", best);
	return 0;
}

/* the filesystem takes a swap file, and has room for one of bytes */
static int check_fs(const char *root, int dirfd, const char *path, uint64_t bytes, struct gb_err *err)
{
	char dir[GB_TUNE_PATH], type[64], a[32], b[32], c[32], d[32], *sl;
	struct statvfs sv;
	uint64_t avail, size, margin;

	snprintf(dir, sizeof(dir), "%s", path);
	sl = strrchr(dir, '/');
	sl[sl == dir] = 0;
	if (fs_type(root, dirfd, dir, type, sizeof(type)) < 0)
		return refuse(err, ENOENT, "unable to tell which filesystem %s is on", dir);
	if (!strcmp(type, "tmpfs") || !strcmp(type, "ramfs"))
		return refuse(err, EXDEV, "%s is on %s, which is memory: a swap file there would take the RAM it is "
				     "meant to give; name a place on ext4 or xfs", dir, type);
	if (!fs_is_ok(type))
		return refuse(err, EXDEV, "%s is on %s, where gb-tune makes no swap files (they need ext2, ext3, ext4 "
				     "or xfs: extents mapped in place, no copy-on-write, a local disk)", dir, type);
	if (fstatvfs(dirfd, &sv) < 0)
		return fail(err, "examine the filesystem of", dir);
	/* f_bavail leaves root's reserve; then a margin for everyone else */
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	size = (uint64_t)sv.f_blocks * sv.f_frsize;
	margin = size / 100 > GB_SWAP_MARGIN_MIN ? size / 100 : GB_SWAP_MARGIN_MIN;
	if (avail <= margin)
		return refuse(err, ENOSPC, "%s has %s free (root's reserve aside), and a swap file leaves %s of it: "
				      "no room for one", dir, gb_size_human(avail, a, sizeof(a)),
			      gb_size_human(margin, b, sizeof(b)));
	if (avail - margin < bytes)
		return refuse(err, ENOSPC, "%s has %s free (root's reserve aside), and a swap file leaves %s of it: "
				      "%s is too much, at most %s fits", dir, gb_size_human(avail, a, sizeof(a)),
			      gb_size_human(margin, b, sizeof(b)), gb_size_human(bytes, c, sizeof(c)),
			      gb_size_human(avail - margin, d, sizeof(d)));
	return 0;
}

int gb_swap_check(const char *root, const char *path, uint64_t bytes, struct gb_err *err)
{
	char name[GB_TUNE_PATH];
	struct stat st;
	int dfd = open_dir_of(root, path, name, sizeof(name), err), r = -1;

	if (dfd < 0)
		return -1;
	if (faccessat(dfd, ".", W_OK, AT_EACCESS) < 0) {
		char dir[GB_TUNE_PATH], *sl;

		snprintf(dir, sizeof(dir), "%s", path);
		sl = strrchr(dir, '/');
		sl[sl == dir] = 0;
		fail(err, "make a file in", dir);
	} else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		refuse(err, EEXIST, "%s exists", path);
	} else if (errno != ENOENT) {
		fail(err, "examine", path);
	} else {
		r = check_fs(root, dfd, path, bytes, err);
	}
	{
		int e = errno;

		close(dfd);
		errno = e;
	}
	return r;
}

int gb_swap_make(const char *root, const char *path, uint64_t bytes, int enable, struct gb_err *err)
{
	char name[GB_TUNE_PATH], fdpath[32];
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char uuid[16], *page;
	int dfd, fd = -1, zeroed = 0, e;

	bytes -= bytes % ps;
	page = malloc(ps);
	if (getrandom(uuid, sizeof(uuid), 0) != sizeof(uuid))
		memset(uuid, 0x5a, sizeof(uuid));
	if (!page || gb_swap_header(page, ps, bytes, uuid) < 0) {
		free(page);
		return refuse(err, EINVAL, "a swap file of %llu bytes is too small or too large",
			      (unsigned long long)bytes);
	}
	dfd = open_dir_of(root, path, name, sizeof(name), err);
	if (dfd < 0) {
		free(page);
		return -1;
	}
	/* checked again just before: another writer may have taken the room */
	if (check_fs(root, dfd, path, bytes, err) < 0)
		goto out;
	/* never over a file that is there: it may be someone's data */
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fail(err, "create", path);
		goto out;
	}
	/* a swap file may have no holes: allocated, or where the filesystem
	 * cannot allocate, written; a full disk is an error, not a reason to
	 * write until it is fuller */
	if (fallocate(fd, 0, 0, (off_t)bytes) < 0) {
		if (errno != EOPNOTSUPP) {
			fail(err, "allocate the space of", path);
			goto undo;
		}
		if (fill_zeros(fd, bytes) < 0)
			goto bad;
		zeroed = 1;
	}
	if (pwrite(fd, page, ps, 0) != (ssize_t)ps || fsync(fd) < 0)
		goto bad;
	/* swapon the file opened here, not the name: /proc/swaps still says
	 * its path */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (enable && swapon(fdpath, 0) < 0) {
		/* some filesystems take no unwritten extents: write them */
		if (zeroed || errno != EINVAL || fill_zeros(fd, bytes) < 0 || pwrite(fd, page, ps, 0) != (ssize_t)ps ||
		    fsync(fd) < 0 || swapon(fdpath, 0) < 0) {
			fail(err, "enable swap on", path);
			goto undo;
		}
	}
	close(fd);
	close(dfd);
	free(page);
	return 0;
bad:
	if (!errno)
		errno = EIO;
	fail(err, "write", path);
undo:
	e = errno;
	close(fd);
	unlinkat(dfd, name, 0);
	errno = e;
out:
	e = errno;
	close(dfd);
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
	char name[GB_TUNE_PATH], fdpath[32];
	struct stat st;
	int dfd, fd, off = 0, e;

	dfd = open_dir_of(root, path, name, sizeof(name), err);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -1; /* its directory gone, the file too */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		close(dfd);
		errno = e;
		if (e == ENOENT)
			return 0;
		return e == ELOOP ? refuse(err, ELOOP, "%s is a symbolic link now: left alone", path)
				  : fail(err, "open", path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		refuse(err, EINVAL, "%s is not a plain file now: left alone", path);
		goto bad;
	}
	/* swapoff the file opened here; EINVAL: it was not in use */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (real_root(root)) {
		if (swapoff(fdpath) == 0)
			off = 1;
		else if (errno != EINVAL) {
			fail(err, "disable swap on", path);
			goto bad;
		}
	}
	if (unlinkat(dfd, name, 0) < 0) {
		fail(err, "remove", path);
		/* as it was */
		if (off && swapon(fdpath, 0) < 0)
			gb_warn("unable to enable swap on %s again: %s", path, strerror(errno));
		goto bad;
	}
	close(fd);
	close(dfd);
	return 0;
bad:
	e = errno;
	close(fd);
	close(dfd);
	errno = e;
	return -1;
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

		if (mountinfo_fields(line, &maj, &min, &mnt, &type, &opts) < 0)
			continue;
		/* swap files want extents and no copy-on-write; not /boot */
		if (!fs_is_ok(type) || !strncmp(opts, "ro", 2) || !strncmp(mnt, "/boot", 5) || strchr(mnt, '\\'))
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
