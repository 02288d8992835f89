/*
 * Apply a profile, all or nothing; revert to the saved originals; show
 * where each setting stands.
 *
 * Apply: read every value, check that each file to change can be opened
 * for writing (a read-only /proc/sys stops here, with nothing changed),
 * save the originals, change, and on the first failure put back what was
 * changed and the state file as it was.  Settings a previous run changed
 * that the new profile does not touch go back to their originals: a
 * machine is in one profile at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tune/tune.h"

struct change {
	char key[GB_TUNE_KEY];
	char path[GB_TUNE_PATH];
	char before[GB_TUNE_VAL];
	char after[GB_TUNE_VAL];
	char note[128];
	int kind;
	int restore;        /* back to the original: its record goes */
	int done;
};

static struct change ch[GB_TUNE_MAX_ITEMS * 2];
static int nch;

static void change_add(const char *key, const char *path, const char *before, const char *after, int kind,
		       int restore)
{
	struct change *c = &ch[nch++];

	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->before, sizeof(c->before), "%s", before);
	snprintf(c->after, sizeof(c->after), "%s", after);
	c->kind = kind;
	c->restore = restore;
}

static const struct gb_tune_item *plan_find(const struct gb_tune_plan *p, int profile, const char *key)
{
	int i;

	for (i = 0; i < p->n; i++)
		if ((p->it[i].profiles & profile) && !strcmp(p->it[i].key, key))
			return &p->it[i];
	return NULL;
}

/* a saved record's kind: only the hugepage reserve is read back as the
 * kernel managed it; every other value reads back exactly as written */
static int rec_kind(const char *key)
{
	if (!strcmp(key, "vm.nr_hugepages") || !strncmp(key, "vm.nr_hugepages.node", 20))
		return GB_TK_HUGEPAGES;
	return GB_TK_SYSFS;
}

/* every change can be written: 0, or an exit status with a message */
static int preflight(const char *root)
{
	int i;

	for (i = 0; i < nch; i++) {
		if (ch[i].done < 0 || gb_sysval_writable(root, ch[i].path) == 0)
			continue;
		if (errno == EROFS) {
			gb_log(GB_LOG_ERROR, "%s is read-only (in a container?): nothing changed", ch[i].path);
			return GB_TUNE_EXIT_READONLY;
		}
		if (errno == EACCES || errno == EPERM) {
			gb_log(GB_LOG_ERROR, "%s cannot be written (%s): nothing changed; run as root", ch[i].path,
			       strerror(errno));
			return GB_TUNE_EXIT_NOTROOT;
		}
		gb_log(GB_LOG_ERROR, "unable to open %s: %s: nothing changed", ch[i].path, strerror(errno));
		return GB_TUNE_EXIT_MISSING;
	}
	return 0;
}

/* write one; for the hugepage reserve read back what the kernel managed */
static int change_do(const char *root, struct change *c)
{
	char now[GB_TUNE_VAL];

	if (gb_sysval_write(root, c->path, c->after) < 0)
		return -1;
	c->done = 1;
	if (c->kind == GB_TK_HUGEPAGES && gb_sysval_read(root, c->path, now, sizeof(now)) == 0 && strcmp(now, c->after)) {
		snprintf(c->note, sizeof(c->note), " (asked %s: %s)", c->after,
			 strtoull(now, NULL, 10) < strtoull(c->after, NULL, 10)
				 ? "the kernel found no more free 2 MB pages"
				 : "the rest are in use, and go as they are freed");
		snprintf(c->after, sizeof(c->after), "%s", now);
	}
	return 0;
}

static void rollback(const char *root)
{
	int i;

	for (i = nch - 1; i >= 0; i--)
		if (ch[i].done && gb_sysval_write(root, ch[i].path, ch[i].before) < 0)
			gb_warn("unable to put %s back to %s: %s", ch[i].key, ch[i].before, strerror(errno));
}

static void print_changes(FILE *out)
{
	int i;

	for (i = 0; i < nch; i++)
		fprintf(out, "%s %s -> %s%s\n", ch[i].key, ch[i].before, ch[i].after, ch[i].note);
}

/* where the swap file goes: --swap SIZE:PATH, or an NVMe filesystem */
static int swap_target(const char *root, const struct gb_machine *m, const struct gb_tune_opts *o, char *path,
		       size_t n)
{
	char dir[GB_TUNE_PATH];

	if (*o->swap_path) {
		snprintf(path, n, "%s", o->swap_path);
		return 0;
	}
	if (gb_swap_nvme_dir(root, m, dir, sizeof(dir)) < 0) {
		gb_log(GB_LOG_ERROR, "no writable ext4 or xfs filesystem on NVMe for the swap file%s: "
				     "name one with --swap SIZE:PATH; nothing changed",
		       m->nnvme ? "" : " (no NVMe disk found)");
		return -1;
	}
	snprintf(path, n, "%s%sgreenboost.swap", dir, strcmp(dir, "/") ? "/" : "");
	return 0;
}

int gb_tune_apply(const char *root, const struct gb_machine *m, const struct gb_tune_plan *p,
		  const struct gb_tune_opts *o, int dry_run, FILE *out)
{
	static struct gb_tune_state old, s;
	struct gb_persist_kept kept;
	char cur[GB_TUNE_VAL], swap_path[GB_TUNE_PATH] = "", a[32];
	struct gb_err err;
	char prev_name[GB_TUNE_PATH], boot[GB_TUNE_BOOTID];
	int i, k, r, swap_new = 0, swap_drop = 0, prev_drop, persist;

	nch = 0;
	r = gb_tune_state_load(root, &old, &err);
	if (r < 0) {
		gb_log(GB_LOG_ERROR, "%s (fix or remove it; gb-tune --revert needs it)", err.msg);
		return GB_EXIT_SYS;
	}
	/* settings of an earlier boot that nothing persisted: the reboot undid
	 * them, and the values the kernel has now are the originals */
	gb_tune_boot_id(root, boot, sizeof(boot));
	for (i = 0, k = 0; i < old.n; i++) {
		if (gb_tune_rec_stale(&old, &old.rec[i], boot)) {
			gb_info("%s: set before a reboot, not persisted: its record goes", old.rec[i].key);
			continue;
		}
		old.rec[k++] = old.rec[i];
	}
	old.n = k;
	gb_tune_state_resolve(root, &old, boot);
	s = old;
	snprintf(s.boot, sizeof(s.boot), "%s", boot);
	/* the profile's settings */
	for (i = 0; i < p->n; i++) {
		const struct gb_tune_item *it = &p->it[i];

		if (!(it->profiles & o->profile))
			continue;
		if (gb_sysval_read(root, it->path, cur, sizeof(cur)) < 0) {
			gb_log(GB_LOG_ERROR, "unable to read %s: %s: nothing changed", it->path, strerror(errno));
			return errno == ENOENT ? GB_TUNE_EXIT_MISSING : GB_EXIT_SYS;
		}
		if (strcmp(cur, it->want))
			change_add(it->key, it->path, cur, it->want, it->kind, 0);
	}
	/* what an earlier run set and this profile does not touch */
	for (i = 0; i < old.n; i++) {
		if (plan_find(p, o->profile, old.rec[i].key))
			continue;
		if (gb_sysval_read(root, old.rec[i].path, cur, sizeof(cur)) < 0) {
			gb_warn("unable to read %s: %s: its record is dropped", old.rec[i].path, strerror(errno));
			snprintf(cur, sizeof(cur), "%s", old.rec[i].orig);
		}
		change_add(old.rec[i].key, old.rec[i].path, cur, old.rec[i].orig, rec_kind(old.rec[i].key), 1);
		if (!strcmp(cur, old.rec[i].orig))
			ch[nch - 1].done = -1; /* nothing to write, only the record goes */
	}
	/* the swap file: a new one is made and in use before the old one goes */
	if (o->swap_bytes) {
		if (swap_target(root, m, o, swap_path, sizeof(swap_path)) < 0)
			return GB_TUNE_EXIT_MISSING;
		if (strcmp(swap_path, old.swapfile) || o->swap_bytes != old.swap_bytes) {
			if (gb_swap_check(root, swap_path, o->swap_bytes, &err) < 0) {
				int e = errno;

				if (e == EEXIST)
					gb_log(GB_LOG_ERROR, "%s exists%s: not overwriting it; nothing changed", swap_path,
					       strcmp(swap_path, old.swapfile) ? "" : " (gb-tune's, of another size: "
										    "gb-tune --swap off first)");
				else
					gb_log(GB_LOG_ERROR, "%s; nothing changed", err.msg);
				return e == EACCES ? GB_TUNE_EXIT_NOTROOT : GB_TUNE_EXIT_MISSING;
			}
			swap_new = 1;
			/* of the same name, the old one's file is gone already */
			swap_drop = *old.swapfile && strcmp(old.swapfile, swap_path);
		}
	} else if (o->swap_off && *old.swapfile) {
		swap_drop = 1;
	}
	/* one a run that stopped halfway was replacing */
	prev_drop = *old.swapold && !(swap_new && !strcmp(old.swapold, swap_path));
	persist = o->persist || old.npersist || *old.fstab_line;
	if (dry_run) {
		for (i = 0; i < nch; i++)
			if (ch[i].done >= 0)
				fprintf(out, "%s %s -> %s\n", ch[i].key, ch[i].before, ch[i].after);
		if (prev_drop)
			fprintf(out, "swap.file %s -> none\n", old.swapold);
		if (swap_new)
			fprintf(out, "swap.file none -> %s (%s)\n", swap_path, gb_size_human(o->swap_bytes, a, sizeof(a)));
		if (swap_drop)
			fprintf(out, "swap.file %s -> none\n", old.swapfile);
		if (o->persist && !old.npersist) {
			const char *names[4];
			int k, nn = gb_persist_names(p, o->profile, names, 4);

			for (k = 0; k < nn; k++)
				fprintf(out, "persist none -> %s\n", names[k]);
			if (swap_new || *old.swapfile)
				fprintf(out, "persist none -> /etc/fstab (%s)\n", swap_new ? swap_path : old.swapfile);
		}
		return 0;
	}
	/* nothing can be changed if anything cannot */
	r = preflight(root);
	if (r)
		return r;
	snprintf(prev_name, sizeof(prev_name), "%s", old.swapold);
	if (prev_drop) {
		if (gb_swap_remove(root, old.swapold, &err) < 0) {
			gb_log(GB_LOG_ERROR, "%s; nothing changed", err.msg);
			return GB_TUNE_EXIT_FAILED;
		}
		*old.swapold = 0;
		old.swapold_bytes = 0;
	}
	*s.swapold = 0;
	s.swapold_bytes = 0;
	/* the originals, saved before anything changes */
	for (i = 0; i < nch; i++) {
		struct gb_tune_rec *rec;

		if (ch[i].restore || gb_tune_state_find(&s, ch[i].key))
			continue;
		if (s.n == GB_TUNE_MAX_ITEMS) {
			gb_log(GB_LOG_ERROR, "too many settings to remember: nothing changed");
			return GB_EXIT_SYS;
		}
		rec = &s.rec[s.n++];
		memset(rec, 0, sizeof(*rec));
		snprintf(rec->key, sizeof(rec->key), "%s", ch[i].key);
		snprintf(rec->path, sizeof(rec->path), "%s", ch[i].path);
		snprintf(rec->orig, sizeof(rec->orig), "%s", ch[i].before);
		snprintf(rec->tuned, sizeof(rec->tuned), "%s", ch[i].after);
	}
	/* a settings record for everything in the profile, changed or not,
	 * so that --status knows what gb-tune set */
	for (i = 0; i < p->n; i++) {
		const struct gb_tune_item *it = &p->it[i];
		struct gb_tune_rec *rec;

		if (!(it->profiles & o->profile) || gb_tune_state_find(&s, it->key) || s.n == GB_TUNE_MAX_ITEMS)
			continue;
		rec = &s.rec[s.n++];
		memset(rec, 0, sizeof(*rec));
		snprintf(rec->key, sizeof(rec->key), "%s", it->key);
		snprintf(rec->path, sizeof(rec->path), "%s", it->path);
		snprintf(rec->orig, sizeof(rec->orig), "%s", it->want);
		snprintf(rec->tuned, sizeof(rec->tuned), "%s", it->want);
	}
	/* a disk's setting is the disk's, whatever its name later: one
	 * recorded without (a version 1 file's) is taken to be this one's */
	for (i = 0; i < s.n; i++) {
		char disk[64];

		if (!*s.rec[i].dev && gb_tune_disk_of(s.rec[i].key, disk, sizeof(disk)) == 0)
			gb_tune_disk_id(root, disk, s.rec[i].dev, sizeof(s.rec[i].dev));
	}
	/* both swap files named until the old one is gone: a crash leaves
	 * neither unknown to --revert */
	if (swap_new) {
		if (swap_drop) {
			snprintf(s.swapold, sizeof(s.swapold), "%s", old.swapfile);
			s.swapold_bytes = old.swap_bytes;
		}
		snprintf(s.swapfile, sizeof(s.swapfile), "%s", swap_path);
		s.swap_bytes = o->swap_bytes;
	}
	s.profile = s.profile ? s.profile : o->profile;
	if (gb_tune_state_save(root, &s) < 0) {
		gb_log(GB_LOG_ERROR, "unable to save the original values in %s%s: %s; nothing changed",
		       root && strcmp(root, "/") ? root : "", GB_TUNE_STATE_FILE, strerror(errno));
		return GB_EXIT_SYS;
	}
	/* change */
	for (i = 0; i < nch; i++) {
		if (ch[i].done < 0)
			continue;
		if (change_do(root, &ch[i]) < 0) {
			gb_log(GB_LOG_ERROR, "unable to set %s to %s: %s; all changes rolled back", ch[i].key, ch[i].after,
			       strerror(errno));
			goto undo;
		}
	}
	if (swap_new && gb_swap_make(root, swap_path, o->swap_bytes, !root || !*root || !strcmp(root, "/"), &err) < 0) {
		gb_log(GB_LOG_ERROR, "%s; all changes rolled back", err.msg);
		goto undo;
	}
	/* /etc/fstab names the new swap file, or none */
	if (swap_drop && !swap_new) {
		*s.swapfile = 0;
		s.swap_bytes = 0;
	}
	if (persist && gb_persist_keep(root, &kept, &err) < 0) {
		gb_log(GB_LOG_ERROR, "%s; all changes rolled back", err.msg);
		persist = 0; /* nothing written: nothing to put back */
		goto undo_swap;
	}
	if (persist && gb_persist_write(root, p, o->profile, &s, &err) < 0) {
		gb_log(GB_LOG_ERROR, "%s; all changes rolled back", err.msg);
		goto undo_swap;
	}
	if (swap_drop && gb_swap_remove(root, old.swapfile, &err) < 0) {
		gb_log(GB_LOG_ERROR, "%s; all changes rolled back", err.msg);
		goto undo_swap;
	}
	*s.swapold = 0;
	s.swapold_bytes = 0;
	if (persist)
		gb_persist_kept_free(&kept);
	/* commit */
	for (i = 0; i < nch; i++) {
		struct gb_tune_rec *rec = gb_tune_state_find(&s, ch[i].key);

		if (!rec)
			continue;
		if (ch[i].restore) {
			*rec = s.rec[--s.n];
			continue;
		}
		snprintf(rec->tuned, sizeof(rec->tuned), "%s", ch[i].after);
	}
	for (i = 0; i < s.n; i++) {
		const struct gb_tune_item *it = plan_find(p, o->profile, s.rec[i].key);
		int j, changed = 0;

		for (j = 0; j < nch; j++)
			changed |= !strcmp(ch[j].key, s.rec[i].key);
		if (it && !changed)
			snprintf(s.rec[i].tuned, sizeof(s.rec[i].tuned), "%s", it->want);
	}
	s.profile = o->profile;
	s.applied = (double)time(NULL);
	if (gb_tune_state_save(root, &s) < 0)
		gb_warn("unable to update %s: %s (the originals in it are intact)", GB_TUNE_STATE_FILE, strerror(errno));
	for (i = 0; i < nch; i++)
		if (ch[i].done >= 0)
			fprintf(out, "%s %s -> %s%s\n", ch[i].key, ch[i].before, ch[i].after, ch[i].note);
	if (prev_drop)
		fprintf(out, "swap.file %s -> none\n", prev_name);
	if (swap_new)
		fprintf(out, "swap.file none -> %s (%s)\n", swap_path, gb_size_human(o->swap_bytes, a, sizeof(a)));
	if (swap_drop)
		fprintf(out, "swap.file %s -> none\n", old.swapfile);
	for (i = 0; i < s.npersist; i++) {
		int j, had = 0;

		for (j = 0; j < old.npersist; j++)
			had |= !strcmp(old.persist[j], s.persist[i]);
		if (!had)
			fprintf(out, "persist none -> %s\n", s.persist[i]);
	}
	for (i = 0; i < old.npersist; i++) {
		int j, still = 0;

		for (j = 0; j < s.npersist; j++)
			still |= !strcmp(old.persist[i], s.persist[j]);
		if (!still)
			fprintf(out, "persist %s -> none\n", old.persist[i]);
	}
	if (*s.fstab_line && strcmp(s.fstab_line, old.fstab_line))
		fprintf(out, "persist none -> /etc/fstab (%s)\n", s.swapfile);
	else if (!*s.fstab_line && *old.fstab_line)
		fprintf(out, "persist /etc/fstab (%s) -> none\n", old.swapfile);
	return 0;
undo_swap:
	/* the new swap file goes, the old one stays as it was */
	if (swap_new && gb_swap_remove(root, swap_path, &err) < 0) {
		gb_warn("%s: tune.state keeps it for gb-tune --revert", err.msg);
		if (!*old.swapold) {
			snprintf(old.swapold, sizeof(old.swapold), "%s", swap_path);
			old.swapold_bytes = o->swap_bytes;
		}
	}
	if (persist) {
		if (gb_persist_restore(root, &kept, s.fstab_line, old.fstab_line, &err) < 0)
			gb_warn("%s: the files under /etc may not be as they were", err.msg);
		gb_persist_kept_free(&kept);
	}
undo:
	rollback(root);
	if (gb_tune_state_save(root, &old) < 0)
		gb_warn("unable to put %s back: %s", GB_TUNE_STATE_FILE, strerror(errno));
	return GB_TUNE_EXIT_FAILED;
}

/* ---- revert ---- */

int gb_tune_revert(const char *root, int dry_run, FILE *out)
{
	static struct gb_tune_state s;
	char cur[GB_TUNE_VAL], boot[GB_TUNE_BOOTID];
	struct gb_err err;
	int i, r, bad = 0, pass;

	nch = 0;
	r = gb_tune_state_load(root, &s, &err);
	if (r < 0) {
		gb_log(GB_LOG_ERROR, "%s", err.msg);
		return GB_EXIT_SYS;
	}
	if (r == 1) {
		gb_info("nothing to revert: no %s", GB_TUNE_STATE_FILE);
		return 0;
	}
	gb_tune_boot_id(root, boot, sizeof(boot));
	gb_tune_state_resolve(root, &s, boot);
	for (i = s.n - 1; i >= 0; i--) {
		if (gb_tune_rec_stale(&s, &s.rec[i], boot)) {
			/* the reboot put it back, or someone set it since: not ours to write */
			if (gb_sysval_read(root, s.rec[i].path, cur, sizeof(cur)) == 0 && strcmp(cur, s.rec[i].orig))
				gb_warn("%s: set before a reboot and not persisted, so undone by it; %s now: left as it is "
					"(the original was %s)",
					s.rec[i].key, cur, s.rec[i].orig);
			continue;
		}
		if (gb_sysval_read(root, s.rec[i].path, cur, sizeof(cur)) < 0) {
			gb_warn("unable to read %s: %s", s.rec[i].path, strerror(errno));
			continue;
		}
		if (strcmp(cur, s.rec[i].orig))
			change_add(s.rec[i].key, s.rec[i].path, cur, s.rec[i].orig, rec_kind(s.rec[i].key), 1);
	}
	if (dry_run) {
		print_changes(out);
		if (*s.swapold)
			fprintf(out, "swap.file %s -> none\n", s.swapold);
		if (*s.swapfile)
			fprintf(out, "swap.file %s -> none\n", s.swapfile);
		for (i = 0; i < s.npersist; i++)
			fprintf(out, "persist %s -> none\n", s.persist[i]);
		if (*s.fstab_line)
			fprintf(out, "persist /etc/fstab (%s) -> none\n", s.swapfile);
		return 0;
	}
	r = preflight(root);
	if (r)
		return r;
	/* twice: the kernel adjusts some values when others change (THP
	 * raises min_free_kbytes) */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < nch; i++) {
			if (pass && (gb_sysval_read(root, ch[i].path, cur, sizeof(cur)) < 0 || !strcmp(cur, ch[i].after)))
				continue;
			if (gb_sysval_write(root, ch[i].path, ch[i].after) < 0) {
				if (pass) {
					gb_log(GB_LOG_ERROR, "unable to put %s back to %s: %s", ch[i].key, ch[i].after,
					       strerror(errno));
					ch[i].done = -1;
					bad = 1;
				}
				continue;
			}
			ch[i].done = 1;
		}
	for (i = 0; i < nch; i++) {
		if (ch[i].done < 0 || gb_sysval_read(root, ch[i].path, cur, sizeof(cur)) < 0)
			continue;
		if (strcmp(cur, ch[i].after) && ch[i].kind == GB_TK_HUGEPAGES) {
			snprintf(ch[i].note, sizeof(ch[i].note), " (%s now: the rest are in use, and go as they are freed)",
				 cur);
		} else if (strcmp(cur, ch[i].after)) {
			gb_log(GB_LOG_ERROR, "%s is %s after writing %s", ch[i].key, cur, ch[i].after);
			ch[i].done = -1;
			bad = 1;
		}
	}
	for (i = 0; i < nch; i++)
		if (ch[i].done > 0)
			fprintf(out, "%s %s -> %s%s\n", ch[i].key, ch[i].before, ch[i].after, ch[i].note);
	/* the records put back go; the others stay for another try */
	{
		static struct gb_tune_state left;
		char fstab_kept[sizeof(left.fstab_line)] = "";

		left = s;
		left.n = 0;
		if (*boot)
			snprintf(left.boot, sizeof(left.boot), "%s", boot);
		for (i = 0; i < s.n; i++) {
			int j, keep = 0;

			for (j = 0; j < nch; j++)
				keep |= !strcmp(ch[j].key, s.rec[i].key) && ch[j].done < 0;
			if (keep)
				left.rec[left.n++] = s.rec[i];
		}

		if (*s.swapold) {
			if (gb_swap_remove(root, s.swapold, &err) < 0) {
				gb_log(GB_LOG_ERROR, "%s", err.msg);
				bad = 1;
			} else {
				fprintf(out, "swap.file %s -> none\n", s.swapold);
				*left.swapold = 0;
				left.swapold_bytes = 0;
			}
		}
		if (*s.swapfile) {
			if (gb_swap_remove(root, s.swapfile, &err) < 0) {
				gb_log(GB_LOG_ERROR, "%s", err.msg);
				bad = 1;
				/* its /etc/fstab line stays with it */
				snprintf(fstab_kept, sizeof(fstab_kept), "%s", left.fstab_line);
				*left.fstab_line = 0;
			} else {
				fprintf(out, "swap.file %s -> none\n", s.swapfile);
				*left.swapfile = 0;
				left.swap_bytes = 0;
			}
		}
		if (gb_persist_remove(root, &left, &err) < 0) {
			gb_log(GB_LOG_ERROR, "%s", err.msg);
			bad = 1;
		}
		if (*fstab_kept)
			snprintf(left.fstab_line, sizeof(left.fstab_line), "%s", fstab_kept);
		for (i = 0; i < s.npersist; i++) {
			int j, still = 0;

			for (j = 0; j < left.npersist; j++)
				still |= !strcmp(left.persist[j], s.persist[i]);
			if (!still)
				fprintf(out, "persist %s -> none\n", s.persist[i]);
		}
		if (*s.fstab_line && !*left.fstab_line)
			fprintf(out, "persist /etc/fstab (%s) -> none\n", s.swapfile);
		left.profile = left.n || *left.swapfile || *left.swapold || left.npersist || *left.fstab_line ? left.profile : 0;
		if (gb_tune_state_save(root, &left) < 0) {
			gb_log(GB_LOG_ERROR, "unable to update %s: %s", GB_TUNE_STATE_FILE, strerror(errno));
			return GB_EXIT_SYS;
		}
	}
	return bad ? GB_TUNE_EXIT_FAILED : 0;
}

/* ---- status ---- */

int gb_tune_status(const char *root, const struct gb_tune_plan *p, FILE *out)
{
	static struct gb_tune_state s;
	char cur[GB_TUNE_VAL], when[64], boot[GB_TUNE_BOOTID];
	struct gb_err err;
	int i, r, applied;

	r = gb_tune_state_load(root, &s, &err);
	if (r < 0) {
		gb_log(GB_LOG_ERROR, "%s", err.msg);
		return GB_EXIT_SYS;
	}
	applied = r == 0 && s.profile;
	gb_tune_boot_id(root, boot, sizeof(boot));
	gb_tune_state_resolve(root, &s, boot);
	if (applied) {
		time_t t = (time_t)s.applied;
		struct tm tm;
		int nstale = 0;

		for (i = 0; i < s.n; i++)
			nstale += gb_tune_rec_stale(&s, &s.rec[i], boot);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
		fprintf(out, "# profile: %s, applied %s", gb_tune_profile_name(s.profile), when);
		if (*s.boot && *boot && strcmp(s.boot, boot) && nstale)
			fprintf(out, ", before a reboot: %d setting%s not persisted, so not applied any more (tuned: "
				     "(reboot))", nstale, nstale == 1 ? "" : "s");
		else if (*s.boot && *boot && strcmp(s.boot, boot))
			fprintf(out, ", before a reboot: persisted, so applied again at boot");
		fputc('\n', out);
	} else {
		fprintf(out, "# profile: none (tuned: what gb-tune --full would set)\n");
	}
	if (isatty(fileno(out)))
		fprintf(out, "%-40s %-16s %-16s %s\n", "# setting", "current", "tuned", "original");
	for (i = 0; i < p->n; i++) {
		const struct gb_tune_item *it = &p->it[i];
		struct gb_tune_rec *rec = gb_tune_state_find(&s, it->key);

		if (applied && !rec && !(it->profiles & s.profile))
			continue;
		if (gb_sysval_read(root, it->path, cur, sizeof(cur)) < 0)
			snprintf(cur, sizeof(cur), "?");
		fprintf(out, "%-40s %-16s %-16s %s\n", it->key, cur,
			rec ? (gb_tune_rec_stale(&s, rec, boot) ? "(reboot)" : rec->tuned) : applied ? "-" : it->want,
			rec ? rec->orig : "-");
	}
	/* records of settings the plan no longer has (a disk gone) */
	for (i = 0; i < s.n; i++) {
		int j, inplan = 0;

		for (j = 0; j < p->n; j++)
			inplan |= !strcmp(p->it[j].key, s.rec[i].key);
		if (inplan)
			continue;
		if (gb_sysval_read(root, s.rec[i].path, cur, sizeof(cur)) < 0)
			snprintf(cur, sizeof(cur), "?");
		fprintf(out, "%-40s %-16s %-16s %s\n", s.rec[i].key, cur,
			gb_tune_rec_stale(&s, &s.rec[i], boot) ? "(reboot)" : s.rec[i].tuned, s.rec[i].orig);
	}
	if (*s.swapfile)
		fprintf(out, "%-40s %-16s %-16s %s\n", "swap.file", gb_swap_active(root, s.swapfile) == 1 ? s.swapfile : "none",
			s.swapfile, "none");
	if (*s.swapold)
		fprintf(out, "# swap file being replaced when a run stopped: %s (the next run or --revert removes it)\n",
			s.swapold);
	for (i = 0; i < s.npersist; i++)
		fprintf(out, "# persisted in %s\n", s.persist[i]);
	if (*s.fstab_line)
		fprintf(out, "# persisted in /etc/fstab: %s\n", s.fstab_line);
	return 0;
}
