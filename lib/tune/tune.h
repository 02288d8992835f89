/*
 * gb-tune's pieces (gb-tune(8)):
 *
 *   sysval    read and write one value under /proc/sys or /sys, below a
 *             root directory (tests use a fixture tree)
 *   machine   what the machine has: RAM, NUMA nodes, NVIDIA GPUs, NVMe
 *             disks, a VM or container around it
 *   plan      the settings table, and the value each gets on this machine
 *   state     the saved originals, /var/lib/greenboost/tune.state
 *   swap      a swap file: made, enabled, disabled, removed
 *   persist   what --persist writes under /etc
 *   apply     apply a plan (all or nothing), revert, status
 */
#ifndef GB_TUNE_H
#define GB_TUNE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "gb.h"

/* exit statuses, besides 0, GB_EXIT_USAGE and GB_EXIT_SYS */
#define GB_TUNE_EXIT_FAILED 1   /* a change failed: all rolled back; or a revert left some */
#define GB_TUNE_EXIT_NOTROOT 2  /* changing needs root */
#define GB_TUNE_EXIT_READONLY 3 /* /proc/sys or /sys cannot be written: a container? */
#define GB_TUNE_EXIT_MISSING 4  /* a device or path named does not exist, or exists and is not ours */
#define GB_TUNE_EXIT_BUSY 5     /* another gb-tune run holds the lock */

#define GB_TUNE_VAL 64   /* a value: a number or a word */
#define GB_TUNE_KEY 64
#define GB_TUNE_PATH 256
#define GB_TUNE_DEVID 192  /* a disk's identity: an NVMe wwid is up to 140 characters */
#define GB_TUNE_BOOTID 40  /* /proc/sys/kernel/random/boot_id */

/* ---- sysval ---- */

/* root + path; root "" or "/" means the real one */
char *gb_tune_path(const char *root, const char *path, char *buf, size_t n);
/* The value of a file: first line, blanks trimmed; for a list of
 * choices like "always [madvise] never", the bracketed word.  0, or -1
 * with errno (EINVAL: not a value we can hold). */
int gb_sysval_read(const char *root, const char *path, char *val, size_t n);
/* same, from text already read */
int gb_sysval_norm(const char *text, char *val, size_t n);
/* write val (with a newline) in one write(2); -1 with errno */
int gb_sysval_write(const char *root, const char *path, const char *val);
/* can the file be opened for writing?  0, or -1 with errno */
int gb_sysval_writable(const char *root, const char *path);
/* a value may contain only [A-Za-z0-9_.:+-] */
int gb_sysval_valid(const char *val);
/* mkdir -p */
int gb_mkdirs(const char *path, mode_t mode);

/* ---- machine ---- */

#define GB_TUNE_MAX_NODES 64
#define GB_TUNE_MAX_GPUS 16
#define GB_TUNE_MAX_NVME 32

struct gb_machine {
	uint64_t mem_total;                 /* bytes, MemTotal */
	int nnodes;                         /* online NUMA nodes, at least 1 */
	int node[GB_TUNE_MAX_NODES];        /* their ids */
	uint64_t node_mem[GB_TUNE_MAX_NODES];
	int ngpu;
	struct {
		char bdf[16];               /* 0000:01:00.0 */
		int node;                   /* -1 if the kernel does not say */
	} gpu[GB_TUNE_MAX_GPUS];
	int nnvme;
	char nvme[GB_TUNE_MAX_NVME][32];    /* nvme0n1 */
	char where[64];                     /* "bare metal", "VM (QEMU)", "container (docker)" */
	int container;
	int hugetlb_2m;                     /* 2 MB hugetlb pages exist */
	int per_node_hugepages;             /* .../nodeN/hugepages/hugepages-2048kB exists */
	int thp;                            /* transparent hugepages exist */
	uint64_t pool_bytes;                /* greenboost.ko's pool, 0 when not loaded */
};

int gb_machine_detect(const char *root, struct gb_machine *m, struct gb_err *err);
/* the facts, a "# "-prefixed line each */
void gb_machine_print(const struct gb_machine *m, FILE *f);

/* ---- plan ---- */

enum { GB_TUNE_LIGHT = 1, GB_TUNE_FULL = 2 };
enum { GB_TK_SYSCTL, GB_TK_SYSFS, GB_TK_HUGEPAGES };

struct gb_tune_opts {
	int profile;                /* GB_TUNE_LIGHT or GB_TUNE_FULL */
	int hugepages_set;          /* --hugepages given */
	uint64_t hugepages;         /* pages */
	uint64_t swap_bytes;        /* --swap SIZE; 0: none asked */
	int swap_off;               /* --swap off: remove ours */
	char swap_path[GB_TUNE_PATH];
	int persist;
};

struct gb_tune_item {
	char key[GB_TUNE_KEY];      /* vm.swappiness */
	char path[GB_TUNE_PATH];    /* /proc/sys/vm/swappiness */
	char want[GB_TUNE_VAL];
	const char *why;
	int profiles;               /* GB_TUNE_LIGHT | GB_TUNE_FULL */
	int kind;                   /* GB_TK_* */
};

#define GB_TUNE_MAX_ITEMS (16 + GB_TUNE_MAX_NODES + GB_TUNE_MAX_NVME)

struct gb_tune_plan {
	int n;
	struct gb_tune_item it[GB_TUNE_MAX_ITEMS];
	uint64_t hugepages;         /* pages in all */
	char hugepages_why[256];    /* how that count was reached */
};

/* The settings of profile o->profile for this machine and configuration
 * (item.profiles says which profiles have each); items whose file this
 * kernel lacks are left out.  -1 with err. */
int gb_tune_plan_make(const char *root, const struct gb_machine *m, const struct gb_conf *c,
		      const struct gb_tune_opts *o, struct gb_tune_plan *p, struct gb_err *err);
/* the most 2 MB pages the profile holds, whatever is asked: all of RAM
 * but what the rest of the machine keeps, less greenboost.ko's pool;
 * and what that is */
uint64_t gb_tune_hugepages_max(const struct gb_machine *m, int profile, char *why, size_t n);
/* the hugepage count the budget gives, and why */
uint64_t gb_tune_hugepages_for(const struct gb_machine *m, const struct gb_conf *c, int profile,
			       char *why, size_t n);

/* ---- state ---- */

#define GB_TUNE_STATE_VERSION 2 /* written; 1 is read too */
#define GB_TUNE_STATE_DIR "/var/lib/greenboost"
#define GB_TUNE_STATE_FILE GB_TUNE_STATE_DIR "/tune.state"
#define GB_TUNE_LOCK_FILE GB_TUNE_STATE_DIR "/tune.lock"
#define GB_TUNE_MAX_PERSIST 8

struct gb_tune_rec {
	char key[GB_TUNE_KEY];
	char path[GB_TUNE_PATH];
	char orig[GB_TUNE_VAL];     /* before gb-tune first changed it */
	char tuned[GB_TUNE_VAL];    /* what gb-tune set last */
	char dev[GB_TUNE_DEVID];    /* a disk's setting: the disk's wwid or serial; "" unknown */
};

struct gb_tune_state {
	int version;                /* of the file read (0: none); written: GB_TUNE_STATE_VERSION */
	int profile;                /* 0 when nothing is applied */
	double applied;             /* seconds since the epoch */
	char boot[GB_TUNE_BOOTID];  /* the boot ID when it was saved; "" in a version 1 file */
	int n;
	struct gb_tune_rec rec[GB_TUNE_MAX_ITEMS];
	char swapfile[GB_TUNE_PATH]; /* the swap file gb-tune made, "" for none */
	uint64_t swap_bytes;
	char swapold[GB_TUNE_PATH]; /* the one it replaces, while both are there */
	uint64_t swapold_bytes;
	int npersist;
	char persist[GB_TUNE_MAX_PERSIST][GB_TUNE_PATH]; /* files gb-tune wrote */
	char fstab_line[GB_TUNE_PATH + 64];             /* the line it added, "" for none */
};

int gb_tune_state_format(const struct gb_tune_state *s, char *buf, size_t n);
int gb_tune_state_parse(const char *text, size_t len, struct gb_tune_state *s, struct gb_err *err);
/* 0 loaded, 1 no state file (s emptied), -1 with err */
int gb_tune_state_load(const char *root, struct gb_tune_state *s, struct gb_err *err);
/* atomically, fsynced; an empty state removes the file; -1 with errno */
int gb_tune_state_save(const char *root, const struct gb_tune_state *s);
struct gb_tune_rec *gb_tune_state_find(struct gb_tune_state *s, const char *key);
/* this boot's ID (/proc/sys/kernel/random/boot_id below root); -1 and ""
 * when the kernel does not say */
int gb_tune_boot_id(const char *root, char *id, size_t n);
/* Was r set in an earlier boot than boot, and not persisted?  Then the
 * reboot undid it: the kernel has its own value again.  A state without a
 * boot ID (version 1) or a boot not known: never. */
int gb_tune_rec_stale(const struct gb_tune_state *s, const struct gb_tune_rec *r, const char *boot);
/* the identity of the disk /sys/block/NAME: its wwid, the device's wwid
 * or the device's serial number, as one word; -1 and "" when it has none */
int gb_tune_disk_id(const char *root, const char *name, char *id, size_t n);
/* The disk of a block.NAME.* record: NAME; -1 if the key is no disk's. */
int gb_tune_disk_of(const char *key, char *name, size_t n);
/* Follow each disk's record to the disk of its identity, under whatever
 * name it has now (key and path renamed); a record whose disk is not here
 * any more is dropped, with a warning.  Records without an identity are
 * left to the name, and those a reboot undid (gb_tune_rec_stale) too. */
void gb_tune_state_resolve(const char *root, struct gb_tune_state *s, const char *boot);
/* An exclusive flock(2) on GB_TUNE_LOCK_FILE for a run that changes
 * anything, held until gb_tune_unlock; the file says "PID WHAT" meanwhile.
 * make_dir: create the state directory if need be.  The descriptor, or -1
 * with err and errno: EWOULDBLOCK another run holds it (err names it),
 * ENOENT no state directory and !make_dir. */
int gb_tune_lock(const char *root, const char *what, int make_dir, struct gb_err *err);
void gb_tune_unlock(const char *root, int fd);
const char *gb_tune_profile_name(int profile);
int gb_tune_profile_from_name(const char *s);

/* ---- swap ---- */

/* the largest swap file: the header's last_page is 32 bits */
#define GB_SWAP_MAX_BYTES(pagesize) (((uint64_t)UINT32_MAX + 1) * (uint64_t)(pagesize))
/* what a swap file leaves free on its filesystem, besides root's reserve:
 * 1% of it, at least this */
#define GB_SWAP_MARGIN_MIN (64ULL << 20)

/* Can a swap file of bytes be made at path?  Its directories are real
 * ones (no symbolic links), owned by root (under a test root: or by the
 * user running gb-tune) and writable by nobody else; the file is not
 * there; the filesystem is ext2/3/4 or xfs (the test tree's mountinfo
 * says, under a test root) with room for it and the margin.  0, or -1
 * with err and errno: ENOENT a directory missing, EACCES not writable,
 * EEXIST the file is there, others the place is unfit. */
int gb_swap_check(const char *root, const char *path, uint64_t bytes, struct gb_err *err);
/* a swap file of bytes at path: checked as above, created (never over an
 * existing file), allocated (written with zeros only where the filesystem
 * cannot allocate), given a swap header, and enabled unless enable is 0,
 * through the descriptor gb-tune opened; -1 with err, nothing left */
int gb_swap_make(const char *root, const char *path, uint64_t bytes, int enable, struct gb_err *err);
/* disabled if in use, then removed, through descriptors opened as above;
 * a missing file is fine; -1 with err, the file left as it was */
int gb_swap_remove(const char *root, const char *path, struct gb_err *err);
/* 1 if /proc/swaps lists path, 0 if not, -1 if unknown */
int gb_swap_active(const char *root, const char *path);
/* the swap header for a file of bytes, into page (pagesize bytes) */
int gb_swap_header(unsigned char *page, size_t pagesize, uint64_t bytes, const unsigned char uuid[16]);
/* a directory on an NVMe-backed filesystem (mount point), for the
 * default swap file; -1 when there is none */
int gb_swap_nvme_dir(const char *root, const struct gb_machine *m, char *dir, size_t n);

/* ---- persist ---- */

#define GB_TUNE_MARK "# written by gb-tune (gb-tune(8)); gb-tune --revert removes it"
#define GB_TUNE_FSTAB_MARK "# gb-tune"

/* write the files that make the applied values survive a reboot; the
 * names written are added to s; -1 with err */
int gb_persist_write(const char *root, const struct gb_tune_plan *p, int profile, struct gb_tune_state *s,
		     struct gb_err *err);
/* the files gb_persist_write would write for the profile; count */
int gb_persist_names(const struct gb_tune_plan *p, int profile, const char **names, int max);
/* the files gb_persist_write writes, as they were before: to undo it
 * exactly, whichever profile wrote them */
#define GB_PERSIST_FILES 3
struct gb_persist_kept {
	char *text[GB_PERSIST_FILES]; /* NULL: there was none */
	size_t len[GB_PERSIST_FILES];
	mode_t mode[GB_PERSIST_FILES];
};
int gb_persist_keep(const char *root, struct gb_persist_kept *k, struct gb_err *err);
/* the files back as kept; /etc/fstab's line fstab_now back to fstab_then
 * ("" for none); -1 with err if any could not be */
int gb_persist_restore(const char *root, const struct gb_persist_kept *k, const char *fstab_now,
		       const char *fstab_then, struct gb_err *err);
void gb_persist_kept_free(struct gb_persist_kept *k);
/* does a file s says was written persist the setting of r? */
int gb_persist_covers(const struct gb_tune_state *s, const struct gb_tune_rec *r);
/* remove what s says was written; -1 with err (what is left stays in s) */
int gb_persist_remove(const char *root, struct gb_tune_state *s, struct gb_err *err);

/* ---- apply, revert, status ---- */

/* out: change lines; returns an exit status */
int gb_tune_apply(const char *root, const struct gb_machine *m, const struct gb_tune_plan *p,
		  const struct gb_tune_opts *o, int dry_run, FILE *out);
int gb_tune_revert(const char *root, int dry_run, FILE *out);
int gb_tune_status(const char *root, const struct gb_tune_plan *p, FILE *out);

#endif
