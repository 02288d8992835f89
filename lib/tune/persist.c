/*
 * --persist: the files that make the tuned values survive a reboot.
 * Each starts with GB_TUNE_MARK; a file there without it is not ours and
 * is never overwritten.  The swap file gets a line in /etc/fstab, ending
 * in GB_TUNE_FSTAB_MARK; --revert removes exactly that line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tune/tune.h"

#define SYSCTL_FILE "/etc/sysctl.d/90-greenboost.conf"
#define TMPFILES_FILE "/etc/tmpfiles.d/greenboost-tune.conf"
#define UDEV_FILE "/etc/udev/rules.d/60-greenboost-tune.rules"
#define FSTAB "/etc/fstab"

static int errf(struct gb_err *err, const char *what, const char *path)
{
	snprintf(err->msg, sizeof(err->msg), "unable to %s %s: %s", what, path, strerror(errno));
	return -1;
}

/* text to path, atomically, mode; the directory is made if need be */
static int write_atomic(const char *path, const char *text, size_t len, mode_t mode, struct gb_err *err)
{
	char tmp[GB_TUNE_PATH * 2 + 16], dir[GB_TUNE_PATH * 2], *sl;
	int fd, e;

	snprintf(dir, sizeof(dir), "%s", path);
	sl = strrchr(dir, '/');
	if (sl && sl != dir) {
		*sl = 0;
		if (gb_mkdirs(dir, 0755) < 0)
			return errf(err, "create", dir);
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return errf(err, "create a file beside", path);
	if (fchmod(fd, mode) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		errno = e;
		return errf(err, "write", path);
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return errf(err, "write", path);
	}
	return 0;
}

/* 1 if path is missing or starts with our mark, 0 if it is someone else's */
static int ours_or_absent(const char *path)
{
	char *t = gb_read_file(path, 1 << 20, NULL);
	int r;

	if (!t)
		return errno == ENOENT;
	r = !strncmp(t, GB_TUNE_MARK, strlen(GB_TUNE_MARK));
	free(t);
	return r;
}

static int remember(struct gb_tune_state *s, const char *path)
{
	int i;

	for (i = 0; i < s->npersist; i++)
		if (!strcmp(s->persist[i], path))
			return 0;
	if (s->npersist == GB_TUNE_MAX_PERSIST)
		return -1;
	snprintf(s->persist[s->npersist++], GB_TUNE_PATH, "%s", path);
	return 0;
}

/* one file of lines, or none when there is nothing to put in it */
static int put_file(const char *root, const char *name, const char *body, struct gb_tune_state *s,
		    struct gb_err *err)
{
	char full[GB_TUNE_PATH * 2], text[16384];
	int n;

	if (!gb_tune_path(root, name, full, sizeof(full)))
		return errf(err, "name", name);
	if (!ours_or_absent(full)) {
		snprintf(err->msg, sizeof(err->msg), "%s exists and was not written by gb-tune: not overwriting it",
			 full);
		errno = EEXIST;
		return -1;
	}
	if (!*body) {
		int i;

		if (unlink(full) < 0 && errno != ENOENT)
			return errf(err, "remove", full);
		for (i = 0; i < s->npersist; i++)
			if (!strcmp(s->persist[i], name)) {
				memmove(s->persist[i], s->persist[i + 1], (size_t)(s->npersist - i - 1) * sizeof(s->persist[0]));
				s->npersist--;
				break;
			}
		return 0;
	}
	n = snprintf(text, sizeof(text), "%s\n%s", GB_TUNE_MARK, body);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		snprintf(err->msg, sizeof(err->msg), "%s: too many settings", full);
		return -1;
	}
	if (remember(s, name) < 0) {
		snprintf(err->msg, sizeof(err->msg), "too many files to persist");
		return -1;
	}
	return write_atomic(full, text, (size_t)n, 0644, err);
}

static void cat(char *buf, size_t n, const char *fmt, const char *a, const char *b)
{
	size_t l = strlen(buf);

	snprintf(buf + l, n - l, fmt, a, b);
}

static int fstab_edit(const char *root, const char *add, const char *drop, struct gb_err *err)
{
	char full[GB_TUNE_PATH * 2], *t, *out, *line, *next;
	size_t len = 0, o = 0;
	struct stat st;
	mode_t mode = 0644;

	if (!gb_tune_path(root, FSTAB, full, sizeof(full)))
		return errf(err, "name", FSTAB);
	t = gb_read_file(full, 1 << 20, &len);
	if (!t && errno != ENOENT)
		return errf(err, "read", full);
	if (stat(full, &st) == 0)
		mode = st.st_mode & 07777;
	out = malloc(len + (add ? strlen(add) : 0) + 2);
	if (!out) {
		free(t);
		return errf(err, "edit", full);
	}
	for (line = t; line && *line; line = next) {
		size_t l;

		next = strchr(line, '\n');
		l = next ? (size_t)(next - line) : strlen(line);
		if (next)
			next++;
		if ((drop && strlen(drop) == l && !strncmp(line, drop, l)) ||
		    (add && strlen(add) == l && !strncmp(line, add, l)))
			continue; /* ours: dropped, or re-added below */
		memcpy(out + o, line, l);
		o += l;
		out[o++] = '\n';
	}
	if (add) {
		o += (size_t)sprintf(out + o, "%s\n", add);
	}
	free(t);
	if (write_atomic(full, out, o, mode, err) < 0) {
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

/* the file that persists a setting */
static const char *persist_file(const char *key, const char *path)
{
	if (!strncmp(path, "/proc/sys/", 10))
		return SYSCTL_FILE;
	if (!strncmp(key, "block.", 6))
		return UDEV_FILE;
	return TMPFILES_FILE;
}

int gb_persist_covers(const struct gb_tune_state *s, const struct gb_tune_rec *r)
{
	const char *f = persist_file(r->key, r->path);
	int i;

	for (i = 0; i < s->npersist; i++)
		if (!strcmp(s->persist[i], f))
			return 1;
	return 0;
}

int gb_persist_names(const struct gb_tune_plan *p, int profile, const char **names, int max)
{
	int i, n = 0, sysctl = 0, tmpfiles = 0, udev = 0;

	for (i = 0; i < p->n; i++) {
		if (!(p->it[i].profiles & profile))
			continue;
		if (!strncmp(p->it[i].path, "/proc/sys/", 10))
			sysctl = 1;
		else if (!strncmp(p->it[i].key, "block.", 6))
			udev = 1;
		else
			tmpfiles = 1;
	}
	if (sysctl && n < max)
		names[n++] = SYSCTL_FILE;
	if (tmpfiles && n < max)
		names[n++] = TMPFILES_FILE;
	if (udev && n < max)
		names[n++] = UDEV_FILE;
	return n;
}

int gb_persist_write(const char *root, const struct gb_tune_plan *p, int profile, struct gb_tune_state *s,
		     struct gb_err *err)
{
	char sysctl[8192] = "", tmpfiles[8192] = "", udev[1024] = "";
	int i;

	for (i = 0; i < p->n; i++) {
		const struct gb_tune_item *it = &p->it[i];

		if (!(it->profiles & profile))
			continue;
		if (!strncmp(it->path, "/proc/sys/", 10))
			cat(sysctl, sizeof(sysctl), "%s = %s\n", it->key, it->want);
		else if (!strncmp(it->key, "block.", 6))
			snprintf(udev, sizeof(udev), "%s",
				 "ACTION==\"add|change\", KERNEL==\"nvme[0-9]*n[0-9]*\", ATTR{queue/scheduler}=\"none\"\n");
		else
			cat(tmpfiles, sizeof(tmpfiles), "w- %s - - - - %s\n", it->path, it->want);
	}
	if (put_file(root, SYSCTL_FILE, sysctl, s, err) < 0 || put_file(root, TMPFILES_FILE, tmpfiles, s, err) < 0 ||
	    put_file(root, UDEV_FILE, udev, s, err) < 0)
		return -1;
	if (*s->swapfile) {
		char line[sizeof(s->fstab_line)];

		snprintf(line, sizeof(line), "%s none swap sw,nofail 0 0 %s", s->swapfile, GB_TUNE_FSTAB_MARK);
		if (fstab_edit(root, line, *s->fstab_line ? s->fstab_line : NULL, err) < 0)
			return -1;
		snprintf(s->fstab_line, sizeof(s->fstab_line), "%s", line);
	} else if (*s->fstab_line) {
		/* the swap file went: its line goes with it */
		if (fstab_edit(root, NULL, s->fstab_line, err) < 0)
			return -1;
		*s->fstab_line = 0;
	}
	return 0;
}

static const char *const persist_files[GB_PERSIST_FILES] = { SYSCTL_FILE, TMPFILES_FILE, UDEV_FILE };

int gb_persist_keep(const char *root, struct gb_persist_kept *k, struct gb_err *err)
{
	char full[GB_TUNE_PATH * 2];
	struct stat st;
	int i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < GB_PERSIST_FILES; i++) {
		if (!gb_tune_path(root, persist_files[i], full, sizeof(full)))
			return errf(err, "name", persist_files[i]);
		k->text[i] = gb_read_file(full, 1 << 20, &k->len[i]);
		if (!k->text[i] && errno != ENOENT) {
			errf(err, "read", full);
			gb_persist_kept_free(k);
			return -1;
		}
		k->mode[i] = k->text[i] && stat(full, &st) == 0 ? st.st_mode & 07777 : 0644;
	}
	return 0;
}

int gb_persist_restore(const char *root, const struct gb_persist_kept *k, const char *fstab_now,
		       const char *fstab_then, struct gb_err *err)
{
	char full[GB_TUNE_PATH * 2];
	int i, bad = 0;

	for (i = 0; i < GB_PERSIST_FILES; i++) {
		if (!gb_tune_path(root, persist_files[i], full, sizeof(full))) {
			bad = errf(err, "name", persist_files[i]);
			continue;
		}
		if (k->text[i] ? write_atomic(full, k->text[i], k->len[i], k->mode[i], err) < 0
			       : unlink(full) < 0 && errno != ENOENT && errf(err, "remove", full) < 0)
			bad = -1;
	}
	if (strcmp(fstab_now, fstab_then) &&
	    fstab_edit(root, *fstab_then ? fstab_then : NULL, *fstab_now ? fstab_now : NULL, err) < 0)
		bad = -1;
	return bad;
}

void gb_persist_kept_free(struct gb_persist_kept *k)
{
	int i;

	for (i = 0; i < GB_PERSIST_FILES; i++) {
		free(k->text[i]);
		k->text[i] = NULL;
	}
}

int gb_persist_remove(const char *root, struct gb_tune_state *s, struct gb_err *err)
{
	char full[GB_TUNE_PATH * 2];
	int i, j, bad = 0;

	for (i = 0; i < s->npersist;) {
		if (!gb_tune_path(root, s->persist[i], full, sizeof(full))) {
			bad = -1;
			i++;
			continue;
		}
		if (!ours_or_absent(full)) {
			snprintf(err->msg, sizeof(err->msg), "%s was not written by gb-tune: left alone", full);
			bad = -1;
		} else if (unlink(full) < 0 && errno != ENOENT) {
			errf(err, "remove", full);
			bad = -1;
			i++;
			continue;
		}
		for (j = i; j + 1 < s->npersist; j++)
			memcpy(s->persist[j], s->persist[j + 1], sizeof(s->persist[j]));
		s->npersist--;
	}
	if (*s->fstab_line) {
		if (fstab_edit(root, NULL, s->fstab_line, err) < 0)
			bad = -1;
		else
			*s->fstab_line = 0;
	}
	return bad;
}
