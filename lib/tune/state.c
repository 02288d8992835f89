/*
 * The state file, /var/lib/greenboost/tune.state: the value each setting
 * had before gb-tune first changed it, what gb-tune set, and the files it
 * made.  Written before anything changes, so a crash halfway leaves
 * enough for --revert.  Tab-separated (gb-tune(8)):
 *
 *   version  2
 *   profile  full|light
 *   applied  SECONDS
 *   boot     BOOT_ID                  the boot the settings were made in
 *   set      KEY  PATH  ORIGINAL  TUNED
 *   device   KEY  ID                  the disk a set record is on: wwid, serial
 *   swapfile PATH  BYTES
 *   swapold  PATH  BYTES              one being replaced, until it is gone
 *   persist  PATH
 *   fstab    LINE
 *
 * Version 1, written before boot, device and swapold existed, is read as
 * it was: without a boot ID the settings are taken to be of this boot,
 * without a device the disk is the one of that name now.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tune/tune.h"

static const char *const profile_names[] = { "none", "light", "full" };

const char *gb_tune_profile_name(int profile)
{
	return profile >= 0 && profile <= GB_TUNE_FULL ? profile_names[profile] : "?";
}

int gb_tune_profile_from_name(const char *s)
{
	int i;

	for (i = 1; i <= GB_TUNE_FULL; i++)
		if (!strcmp(s, profile_names[i]))
			return i;
	return -1;
}

struct gb_tune_rec *gb_tune_state_find(struct gb_tune_state *s, const char *key)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->rec[i].key, key))
			return &s->rec[i];
	return NULL;
}

int gb_tune_state_format(const struct gb_tune_state *s, char *buf, size_t n)
{
	size_t off = 0;
	int i, r;

#define PUT(...)                                                         \
	do {                                                             \
		r = snprintf(buf + off, n - off, __VA_ARGS__);           \
		if (r < 0 || (size_t)r >= n - off)                       \
			return -1;                                       \
		off += (size_t)r;                                        \
	} while (0)
	PUT("# gb-tune's state (gb-tune(8)): the values before gb-tune changed them.\n"
	    "# gb-tune --revert puts them back.  Do not edit.\n");
	PUT("version\t%d\n", GB_TUNE_STATE_VERSION);
	PUT("profile\t%s\n", gb_tune_profile_name(s->profile));
	PUT("applied\t%.3f\n", s->applied);
	if (*s->boot)
		PUT("boot\t%s\n", s->boot);
	for (i = 0; i < s->n; i++) {
		PUT("set\t%s\t%s\t%s\t%s\n", s->rec[i].key, s->rec[i].path, s->rec[i].orig, s->rec[i].tuned);
		if (*s->rec[i].dev)
			PUT("device\t%s\t%s\n", s->rec[i].key, s->rec[i].dev);
	}
	if (*s->swapfile)
		PUT("swapfile\t%s\t%llu\n", s->swapfile, (unsigned long long)s->swap_bytes);
	if (*s->swapold)
		PUT("swapold\t%s\t%llu\n", s->swapold, (unsigned long long)s->swapold_bytes);
	for (i = 0; i < s->npersist; i++)
		PUT("persist\t%s\n", s->persist[i]);
	if (*s->fstab_line)
		PUT("fstab\t%s\n", s->fstab_line);
#undef PUT
	return (int)off;
}

/* ---- parsing ---- */

static int bad(struct gb_err *err, int line, const char *why)
{
	snprintf(err->msg, sizeof(err->msg), "line %d: %s", line, why);
	return -1;
}

static int valid_key(const char *k)
{
	if (!*k || strlen(k) >= GB_TUNE_KEY)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '.' || *k == '_' || *k == '-'))
			return 0;
	return 1;
}

/* absolute, printable, no spaces, no "." or ".." components, under one
 * of the prefixes (NULL: anywhere) */
static int valid_path(const char *p, const char *const *under)
{
	const char *c;
	int i;

	if (*p != '/' || strlen(p) >= GB_TUNE_PATH)
		return 0;
	for (c = p; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return 0;
	for (c = p; (c = strchr(c, '/')); c++)
		if ((c[1] == '.' && (c[2] == '/' || !c[2])) || (c[1] == '.' && c[2] == '.' && (c[3] == '/' || !c[3])) ||
		    c[1] == '/')
			return 0;
	if (!under)
		return 1;
	for (i = 0; under[i]; i++)
		if (!strncmp(p, under[i], strlen(under[i])))
			return 1;
	return 0;
}

static const char *const sys_dirs[] = { "/proc/sys/", "/sys/", NULL };
static const char *const etc_dirs[] = { "/etc/", NULL };

/* split line at tabs into at most max fields; count */
static int split(char *line, char **f, int max)
{
	int n = 0;

	for (;;) {
		char *t = strchr(line, '\t');

		if (n == max)
			return max + 1;
		f[n++] = line;
		if (!t)
			return n;
		*t = 0;
		line = t + 1;
	}
}

/* a swap file record's path and size */
static int swap_rec(char **f, char *path, uint64_t *bytes)
{
	unsigned long long b;
	char *e;

	if (!valid_path(f[1], NULL))
		return -1;
	b = strtoull(f[2], &e, 10);
	if (e == f[2] || *e || !b || b > (1ULL << 50) || f[2][0] == '-')
		return -2;
	strcpy(path, f[1]);
	*bytes = b;
	return 0;
}

/* a boot ID or a disk's identity: one word of [A-Za-z0-9_.:+-] */
static int valid_word(const char *w, size_t max)
{
	return strlen(w) < max && gb_sysval_valid(w);
}

static int parse_line(char *line, int ln, struct gb_tune_state *s, struct gb_err *err)
{
	char *f[6], *e;
	int n = split(line, f, 5);

	if (!s->version) {
		if (n != 2 || strcmp(f[0], "version"))
			return bad(err, ln, "expected 'version' first");
		if (strcmp(f[1], "1") && strcmp(f[1], "2"))
			return bad(err, ln, "unknown version (this gb-tune reads versions 1 and 2)");
		s->version = f[1][0] - '0';
		return 0;
	}
	/* the records version 2 added */
	if (s->version < 2 && (!strcmp(f[0], "boot") || !strcmp(f[0], "device") || !strcmp(f[0], "swapold")))
		return bad(err, ln, "unknown record in a version 1 file");
	if (!strcmp(f[0], "profile") && n == 2) {
		int p = strcmp(f[1], "none") ? gb_tune_profile_from_name(f[1]) : 0;

		if (p < 0)
			return bad(err, ln, "unknown profile");
		s->profile = p;
	} else if (!strcmp(f[0], "applied") && n == 2) {
		s->applied = strtod(f[1], &e);
		if (e == f[1] || *e || !(s->applied >= 0 && s->applied < 1e11))
			return bad(err, ln, "bad time");
	} else if (!strcmp(f[0], "set") && n == 5) {
		struct gb_tune_rec *r;

		if (!valid_key(f[1]))
			return bad(err, ln, "bad key");
		if (!valid_path(f[2], sys_dirs))
			return bad(err, ln, "path not under /proc/sys or /sys");
		if (!gb_sysval_valid(f[3]) || !gb_sysval_valid(f[4]) || strlen(f[3]) >= GB_TUNE_VAL ||
		    strlen(f[4]) >= GB_TUNE_VAL)
			return bad(err, ln, "bad value");
		if (gb_tune_state_find(s, f[1]))
			return bad(err, ln, "key set twice");
		if (s->n == GB_TUNE_MAX_ITEMS)
			return bad(err, ln, "too many settings");
		r = &s->rec[s->n++];
		strcpy(r->key, f[1]);
		strcpy(r->path, f[2]);
		strcpy(r->orig, f[3]);
		strcpy(r->tuned, f[4]);
	} else if (!strcmp(f[0], "boot") && n == 2) {
		if (*s->boot)
			return bad(err, ln, "a second boot ID");
		if (!valid_word(f[1], sizeof(s->boot)))
			return bad(err, ln, "bad boot ID");
		strcpy(s->boot, f[1]);
	} else if (!strcmp(f[0], "device") && n == 3) {
		struct gb_tune_rec *r = gb_tune_state_find(s, f[1]);

		if (!r)
			return bad(err, ln, "a device for a key not set before it");
		if (*r->dev)
			return bad(err, ln, "a second device for a key");
		if (!valid_word(f[2], sizeof(r->dev)))
			return bad(err, ln, "bad device identity");
		strcpy(r->dev, f[2]);
	} else if ((!strcmp(f[0], "swapfile") || !strcmp(f[0], "swapold")) && n == 3) {
		int old = f[0][4] == 'o', r;

		if (*(old ? s->swapold : s->swapfile))
			return bad(err, ln, old ? "a second old swap file" : "a second swap file");
		r = swap_rec(f, old ? s->swapold : s->swapfile, old ? &s->swapold_bytes : &s->swap_bytes);
		if (r == -1)
			return bad(err, ln, "bad swap file path");
		if (r == -2)
			return bad(err, ln, "bad swap file size");
	} else if (!strcmp(f[0], "persist") && n == 2) {
		if (!valid_path(f[1], etc_dirs))
			return bad(err, ln, "persist path not under /etc");
		if (s->npersist == GB_TUNE_MAX_PERSIST)
			return bad(err, ln, "too many persist files");
		strcpy(s->persist[s->npersist++], f[1]);
	} else if (!strcmp(f[0], "fstab") && n == 2) {
		size_t l = strlen(f[1]), ml = strlen(GB_TUNE_FSTAB_MARK);
		const char *c;

		if (*s->fstab_line || l >= sizeof(s->fstab_line) || l <= ml || strcmp(f[1] + l - ml, GB_TUNE_FSTAB_MARK))
			return bad(err, ln, "bad fstab line");
		for (c = f[1]; *c; c++)
			if ((unsigned char)*c < ' ' || *c == 0x7f)
				return bad(err, ln, "bad fstab line");
		strcpy(s->fstab_line, f[1]);
	} else {
		return bad(err, ln, "unknown record");
	}
	return 0;
}

int gb_tune_state_parse(const char *text, size_t len, struct gb_tune_state *s, struct gb_err *err)
{
	char line[1024];
	size_t i = 0;
	int ln = 0;

	memset(s, 0, sizeof(*s));
	if (memchr(text, 0, len))
		return bad(err, 1, "a NUL byte");
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (text + i)) : len - i;

		ln++;
		if (!nl)
			return bad(err, ln, "no newline at the end (a torn write?)");
		if (l >= sizeof(line))
			return bad(err, ln, "line too long");
		memcpy(line, text + i, l);
		line[l] = 0;
		i += l + 1;
		if (!l || line[0] == '#')
			continue;
		if (parse_line(line, ln, s, err) < 0)
			return -1;
	}
	if (!s->version)
		return bad(err, ln ? ln : 1, "no version line");
	return 0;
}

/* ---- the file ---- */

int gb_tune_state_load(const char *root, struct gb_tune_state *s, struct gb_err *err)
{
	char path[GB_TUNE_PATH * 2], *t;
	size_t len;
	struct gb_err e;

	memset(s, 0, sizeof(*s));
	if (!gb_tune_path(root, GB_TUNE_STATE_FILE, path, sizeof(path))) {
		snprintf(err->msg, sizeof(err->msg), "%s: path too long", GB_TUNE_STATE_FILE);
		return -1;
	}
	t = gb_read_file(path, 1 << 20, &len);
	if (!t) {
		if (errno == ENOENT)
			return 1;
		snprintf(err->msg, sizeof(err->msg), "unable to read %s: %s", path, strerror(errno));
		return -1;
	}
	if (gb_tune_state_parse(t, len, s, &e) < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, e.msg);
		free(t);
		return -1;
	}
	free(t);
	return 0;
}

int gb_tune_state_save(const char *root, const struct gb_tune_state *s)
{
	char path[GB_TUNE_PATH * 2], dir[GB_TUNE_PATH * 2], tmp[GB_TUNE_PATH * 2 + 16];
	static char text[1 << 16];
	int fd, n, e, dfd;

	if (!gb_tune_path(root, GB_TUNE_STATE_FILE, path, sizeof(path)) ||
	    !gb_tune_path(root, GB_TUNE_STATE_DIR, dir, sizeof(dir)))
		return -1;
	if (!s->profile && !s->n && !*s->swapfile && !*s->swapold && !s->npersist && !*s->fstab_line)
		return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	n = gb_tune_state_format(s, text, sizeof(text));
	if (n < 0) {
		errno = ENOSPC;
		return -1;
	}
	if (gb_mkdirs(dir, 0755) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0644) < 0 || write(fd, text, (size_t)n) != n || fsync(fd) < 0) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- reboots ---- */

int gb_tune_boot_id(const char *root, char *id, size_t n)
{
	if (gb_sysval_read(root, "/proc/sys/kernel/random/boot_id", id, n) < 0) {
		*id = 0;
		return -1;
	}
	return 0;
}

int gb_tune_rec_stale(const struct gb_tune_state *s, const struct gb_tune_rec *r, const char *boot)
{
	return *s->boot && *boot && strcmp(s->boot, boot) && !gb_persist_covers(s, r);
}

/* ---- disks ---- */

#define SCHED_SUFFIX ".queue.scheduler"

int gb_tune_disk_of(const char *key, char *name, size_t n)
{
	size_t l = strlen(key), sl = strlen(SCHED_SUFFIX);

	if (strncmp(key, "block.", 6) || l <= 6 + sl || strcmp(key + l - sl, SCHED_SUFFIX) || l - 6 - sl >= n)
		return -1;
	memcpy(name, key + 6, l - 6 - sl);
	name[l - 6 - sl] = 0;
	return strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ? -1 : 0;
}

int gb_tune_disk_id(const char *root, const char *name, char *id, size_t n)
{
	static const char *const files[] = { "wwid", "device/wwid", "device/serial" };
	char path[GB_TUNE_PATH], full[GB_TUNE_PATH * 2], *t, *b, *e, *c;
	size_t i;

	*id = 0;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/sys/block/%s/%s", name, files[i]);
		if (!gb_tune_path(root, path, full, sizeof(full)) || !(t = gb_read_file(full, 4096, NULL)))
			continue;
		/* the first line, blanks trimmed; anything but a word's
		 * characters becomes '_' (a serial may have spaces) */
		for (b = t; *b == ' ' || *b == '\t'; b++)
			;
		e = b + strcspn(b, "\n");
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = 0;
		for (c = b; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			      strchr("_.:+-", *c)))
				*c = '_';
		if (*b)
			snprintf(id, n, "%s", b);
		free(t);
		if (*id)
			return 0;
	}
	return -1;
}

/* nvmeXnY: a namespace, not a controller's path to one (nvmeXcYnZ) */
static int is_namespace(const char *d)
{
	const char *p = d + 4;

	if (strncmp(d, "nvme", 4) || !isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != 'n' || !isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	return !*p;
}

/* the NVMe disk whose identity is id, into name; -1 if none */
static int disk_find(const char *root, const char *id, char *name, size_t n)
{
	char dir[GB_TUNE_PATH * 2], cur[GB_TUNE_DEVID];
	struct dirent *de;
	DIR *d;
	int found = -1;

	if (!gb_tune_path(root, "/sys/block", dir, sizeof(dir)) || !(d = opendir(dir)))
		return -1;
	while ((de = readdir(d)))
		if (is_namespace(de->d_name) && strlen(de->d_name) < n &&
		    gb_tune_disk_id(root, de->d_name, cur, sizeof(cur)) == 0 && !strcmp(cur, id)) {
			snprintf(name, n, "%s", de->d_name);
			found = 0;
			break;
		}
	closedir(d);
	return found;
}

void gb_tune_state_resolve(const char *root, struct gb_tune_state *s, const char *boot)
{
	char name[64], now[64], cur[GB_TUNE_DEVID];
	int i, j, k;

	for (i = 0; i < s->n; i++) {
		struct gb_tune_rec *r = &s->rec[i];

		if (!*r->dev || gb_tune_disk_of(r->key, name, sizeof(name)) < 0 || gb_tune_rec_stale(s, r, boot))
			continue;
		if (gb_tune_disk_id(root, name, cur, sizeof(cur)) == 0 && !strcmp(cur, r->dev))
			continue;
		if (disk_find(root, r->dev, now, sizeof(now)) < 0) {
			gb_warn("%s: the disk it was set on (%s) is not here any more; nothing to put back there", r->key,
				r->dev);
			*r->key = 0; /* dropped below */
			continue;
		}
		gb_info("%s: the disk it was set on (%s) is %s now", r->key, r->dev, now);
		snprintf(r->key, sizeof(r->key), "block.%s%s", now, SCHED_SUFFIX);
		snprintf(r->path, sizeof(r->path), "/sys/block/%s/queue/scheduler", now);
	}
	/* the dropped, and a second record for one disk (two of one identity) */
	for (i = 0, k = 0; i < s->n; i++) {
		int dup = 0;

		for (j = 0; j < k && *s->rec[i].key; j++)
			dup |= !strcmp(s->rec[j].key, s->rec[i].key);
		if (dup)
			gb_warn("%s: two records for one disk: the second is dropped", s->rec[i].key);
		if (*s->rec[i].key && !dup)
			s->rec[k++] = s->rec[i];
	}
	s->n = k;
}

/* ---- the lock ---- */

/*
 * Not the state file itself: it is replaced by rename.  The holder
 * removes the file when it is done; a run that locked a file removed
 * meanwhile tries again on the new one.
 */
int gb_tune_lock(const char *root, const char *what, int make_dir, struct gb_err *err)
{
	char path[GB_TUNE_PATH * 2], dir[GB_TUNE_PATH * 2], who[64];
	struct stat a, b;
	int fd, e;

	if (!gb_tune_path(root, GB_TUNE_LOCK_FILE, path, sizeof(path)) ||
	    !gb_tune_path(root, GB_TUNE_STATE_DIR, dir, sizeof(dir)))
		goto fail;
	if (make_dir && gb_mkdirs(dir, 0755) < 0)
		goto fail;
	for (;;) {
		ssize_t n;

		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			goto fail;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
				break;
			close(fd);
			continue;
		}
		e = errno;
		if (e != EWOULDBLOCK) {
			close(fd);
			errno = e;
			goto fail;
		}
		/* "PID WHAT", as the holder wrote it */
		n = pread(fd, who, sizeof(who) - 1, 0);
		close(fd);
		who[n > 0 ? n : 0] = 0;
		who[strcspn(who, "\n")] = 0;
		{
			char *sp = strchr(who, ' ');

			if (sp)
				*sp++ = 0;
			if (*who && strspn(who, "0123456789") == strlen(who))
				snprintf(err->msg, sizeof(err->msg),
					 "another gb-tune, pid %s%s%s%s, is changing the settings (%s): nothing changed; "
					 "try again when it is done",
					 who, sp ? " (" : "", sp ? sp : "", sp ? ")" : "", path);
			else
				snprintf(err->msg, sizeof(err->msg),
					 "another gb-tune is changing the settings (%s): nothing changed; try again when "
					 "it is done",
					 path);
		}
		errno = EWOULDBLOCK;
		return -1;
	}
	if (ftruncate(fd, 0) < 0 || dprintf(fd, "%ld %s\n", (long)getpid(), what) < 0) {
		e = errno;
		unlink(path);
		close(fd);
		errno = e;
		goto fail;
	}
	return fd;
fail:
	e = errno;
	snprintf(err->msg, sizeof(err->msg), "unable to lock %s%s: %s", root && strcmp(root, "/") ? root : "",
		 GB_TUNE_LOCK_FILE, strerror(e));
	errno = e;
	return -1;
}

void gb_tune_unlock(const char *root, int fd)
{
	char path[GB_TUNE_PATH * 2];

	if (fd < 0)
		return;
	if (gb_tune_path(root, GB_TUNE_LOCK_FILE, path, sizeof(path)))
		unlink(path);
	close(fd);
}
