/*
 * The settings table: every setting gb-tune touches, the profiles that
 * touch it, why, and the value it gets on this machine (gb-tune(8) has
 * the same table; tests/bats/gb-tune.bats checks that they agree).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"

#define HUGE_2M (2ULL << 20)

static const char why_hugepages[] =
	"2 MB pages reserved for the shim's T2 (hugepages = on): pinned whole, no faults, full PCIe speed";
static const char why_overcommit[] =
	"2 MB pages for the shim's T2 made when it maps them, freed when it unmaps them: none held meanwhile";

#define OVERCOMMIT_PROC "/proc/sys/vm/nr_overcommit_hugepages"
#define OVERCOMMIT_SYS "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages"

/* the fixed part of the table; want "" is derived below */
static const struct {
	const char *key, *path, *want, *why;
	int profiles, kind;
} table[] = {
	{ "mm.transparent_hugepage.enabled", "/sys/kernel/mm/transparent_hugepage/enabled", "always",
	  "2 MB pages for the program's own host memory too (tuned: hpc-compute)", GB_TUNE_FULL, GB_TK_SYSFS },
	{ "mm.transparent_hugepage.defrag", "/sys/kernel/mm/transparent_hugepage/defrag", "defer+madvise",
	  "compact in the background; stall only for memory that asks, like the shim's T2", GB_TUNE_FULL,
	  GB_TK_SYSFS },
	{ "vm.swappiness", "/proc/sys/vm/swappiness", "10",
	  "keep the model's host memory resident before file cache (tuned: throughput-performance)",
	  GB_TUNE_FULL, GB_TK_SYSCTL },
	{ "vm.overcommit_memory", "/proc/sys/vm/overcommit_memory", "1",
	  "frameworks reserve far more host memory than they touch; do not refuse it up front",
	  GB_TUNE_FULL, GB_TK_SYSCTL },
	{ "kernel.numa_balancing", "/proc/sys/kernel/numa_balancing", "0",
	  "pinned pages cannot move; its sampling faults only slow the threads feeding the GPU (tuned: hpc-compute)",
	  GB_TUNE_FULL, GB_TK_SYSCTL },
	{ "vm.min_free_kbytes", "/proc/sys/vm/min_free_kbytes", "",
	  "1% of RAM (at most 1 GiB, never lowered) kept free: pinning leaves the kernel less slack",
	  GB_TUNE_FULL, GB_TK_SYSCTL },
};

static const char why_sched[] = "NVMe queues need no I/O scheduler: swap and model reads go straight through";

static int add(struct gb_tune_plan *p, const char *key, const char *path, const char *want, const char *why,
	       int profiles, int kind, struct gb_err *err)
{
	struct gb_tune_item *it;

	if (p->n == GB_TUNE_MAX_ITEMS) {
		snprintf(err->msg, sizeof(err->msg), "too many settings (more than %d)", GB_TUNE_MAX_ITEMS);
		return -1;
	}
	it = &p->it[p->n++];
	snprintf(it->key, sizeof(it->key), "%s", key);
	snprintf(it->path, sizeof(it->path), "%s", path);
	snprintf(it->want, sizeof(it->want), "%s", want);
	it->why = why;
	it->profiles = profiles;
	it->kind = kind;
	return 0;
}

static int have(const char *root, const char *path)
{
	char v[GB_TUNE_VAL];

	return gb_sysval_read(root, path, v, sizeof(v)) == 0;
}

/* what the rest of the machine keeps out of the hugepages: a workstation
 * keeps more */
static uint64_t keep_for(const struct gb_machine *m, int profile)
{
	if (profile == GB_TUNE_FULL)
		return m->mem_total / 4 > GB_GiB ? m->mem_total / 4 : GB_GiB;
	return m->mem_total / 2 > 2 * GB_GiB ? m->mem_total / 2 : 2 * GB_GiB;
}

uint64_t gb_tune_hugepages_max(const struct gb_machine *m, int profile, char *why, size_t n)
{
	uint64_t keep = keep_for(m, profile), room = m->mem_total > keep ? m->mem_total - keep : 0;
	char b[32], d[32], e[32];

	room = room > m->pool_bytes ? room - m->pool_bytes : 0;
	snprintf(why, n, "all of %s of RAM but %s%s%s", gb_size_human(m->mem_total, b, sizeof(b)),
		 gb_size_human(keep, d, sizeof(d)), m->pool_bytes ? ", less greenboost.ko's pool of " : "",
		 m->pool_bytes ? gb_size_human(m->pool_bytes, e, sizeof(e)) : "");
	return room / HUGE_2M;
}

uint64_t gb_tune_hugepages_for(const struct gb_machine *m, const struct gb_conf *c, int profile, char *why,
			       size_t n)
{
	uint64_t budget, keep = keep_for(m, profile), room, bytes;
	char a[32], b[32], d[32], e[32];

	budget = gb_sizepct_resolve(&c->host_limit, m->mem_total);
	room = m->mem_total > keep ? m->mem_total - keep : 0;
	bytes = budget < room ? budget : room;
	bytes = bytes > m->pool_bytes ? bytes - m->pool_bytes : 0;
	snprintf(why, n, "host_limit %s of %s of RAM, at most all but %s%s%s",
		 gb_sizepct_str(&c->host_limit, a, sizeof(a)), gb_size_human(m->mem_total, b, sizeof(b)),
		 gb_size_human(keep, d, sizeof(d)), m->pool_bytes ? ", less greenboost.ko's pool of " : "",
		 m->pool_bytes ? gb_size_human(m->pool_bytes, e, sizeof(e)) : "");
	return bytes / HUGE_2M;
}

/* node index in m, -1 if not online */
static int node_index(const struct gb_machine *m, int node)
{
	int i;

	for (i = 0; i < m->nnodes; i++)
		if (m->node[i] == node)
			return i;
	return -1;
}

/*
 * --light reserves nothing: it lets the kernel make up to total "surplus"
 * pages when a program maps them, and free them when it unmaps them.  The
 * limit is one number for the machine; the kernel has none per node.
 */
static int plan_overcommit(const char *root, uint64_t total, struct gb_tune_plan *p, struct gb_err *err)
{
	char want[GB_TUNE_VAL];
	int proc = have(root, OVERCOMMIT_PROC);
	size_t l;

	if (!proc && !have(root, OVERCOMMIT_SYS)) {
		l = strlen(p->hugepages_why);
		snprintf(p->hugepages_why + l, sizeof(p->hugepages_why) - l,
			 "; this kernel has no nr_overcommit_hugepages: left out");
		p->hugepages = 0;
		return 0;
	}
	snprintf(want, sizeof(want), "%llu", (unsigned long long)total);
	return add(p, "vm.nr_overcommit_hugepages", proc ? OVERCOMMIT_PROC : OVERCOMMIT_SYS, want, why_overcommit,
		   GB_TUNE_LIGHT, proc ? GB_TK_SYSCTL : GB_TK_SYSFS, err);
}

static int plan_hugepages(const char *root, const struct gb_machine *m, const struct gb_conf *c,
			  const struct gb_tune_opts *o, struct gb_tune_plan *p, struct gb_err *err)
{
	uint64_t share[GB_TUNE_MAX_NODES] = { 0 }, cap[GB_TUNE_MAX_NODES], total, left;
	int gpu_node[GB_TUNE_MAX_NODES] = { 0 }, ngpu_nodes = 0, i, pass;
	char key[GB_TUNE_KEY], path[GB_TUNE_PATH], want[GB_TUNE_VAL];

	if (!m->hugetlb_2m) {
		snprintf(p->hugepages_why, sizeof(p->hugepages_why), "this kernel has no 2 MB hugetlb pages");
		return 0;
	}
	if (o->hugepages_set) {
		total = o->hugepages;
		snprintf(p->hugepages_why, sizeof(p->hugepages_why), "--hugepages");
	} else if (!c->hugepages) {
		snprintf(p->hugepages_why, sizeof(p->hugepages_why), "hugepages = off in the configuration");
		return 0;
	} else {
		total = gb_tune_hugepages_for(m, c, o->profile, p->hugepages_why, sizeof(p->hugepages_why));
	}
	p->hugepages = total;
	if (o->profile == GB_TUNE_LIGHT)
		return plan_overcommit(root, total, p, err);
	for (i = 0; i < m->ngpu; i++) {
		int k = node_index(m, m->gpu[i].node);

		if (k >= 0 && !gpu_node[k]) {
			gpu_node[k] = 1;
			ngpu_nodes++;
		}
	}
	/* one number, spread by the kernel, unless the GPUs' nodes are known */
	if (m->nnodes < 2 || !m->per_node_hugepages || !ngpu_nodes) {
		snprintf(want, sizeof(want), "%llu", (unsigned long long)total);
		return add(p, "vm.nr_hugepages", "/proc/sys/vm/nr_hugepages", want, why_hugepages, GB_TUNE_FULL,
			   GB_TK_HUGEPAGES, err);
	}
	/* per node: the GPUs' nodes first, each up to its share of what the
	 * machine keeps free, then the others */
	for (i = 0; i < m->nnodes; i++) {
		uint64_t keep = m->mem_total ? (uint64_t)((double)m->node_mem[i] / (double)m->mem_total *
							  (double)keep_for(m, GB_TUNE_FULL))
					     : 0;

		cap[i] = m->node_mem[i] > keep ? (m->node_mem[i] - keep) / HUGE_2M : 0;
	}
	left = total;
	for (pass = 0; pass < 2 && left; pass++) {
		int want_gpu = pass == 0, nn = 0;

		for (i = 0; i < m->nnodes; i++)
			nn += gpu_node[i] == want_gpu;
		for (i = 0; i < m->nnodes && left; i++) {
			uint64_t even, give;

			if (gpu_node[i] != want_gpu)
				continue;
			even = (left + (uint64_t)nn - 1) / (uint64_t)nn;
			give = even < cap[i] - share[i] ? even : cap[i] - share[i];
			give = give < left ? give : left;
			share[i] += give;
			left -= give;
			nn--;
		}
	}
	if (left) {
		size_t l = strlen(p->hugepages_why);

		snprintf(p->hugepages_why + l, sizeof(p->hugepages_why) - l, "; %llu pages did not fit the nodes",
			 (unsigned long long)left);
		p->hugepages -= left;
	}
	for (i = 0; i < m->nnodes; i++) {
		if (!share[i] && !gpu_node[i])
			continue;
		snprintf(key, sizeof(key), "vm.nr_hugepages.node%d", m->node[i]);
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages",
			 m->node[i]);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)share[i]);
		if (add(p, key, path, want,
			gpu_node[i] ? "2 MB pages for the shim's T2, on the node of the GPU that reads them"
				    : "2 MB pages for the shim's T2 that the GPUs' nodes cannot hold",
			GB_TUNE_FULL, GB_TK_HUGEPAGES, err) < 0)
			return -1;
	}
	return 0;
}

int gb_tune_plan_make(const char *root, const struct gb_machine *m, const struct gb_conf *c,
		      const struct gb_tune_opts *o, struct gb_tune_plan *p, struct gb_err *err)
{
	char path[GB_TUNE_PATH], key[GB_TUNE_KEY], want[GB_TUNE_VAL], cur[GB_TUNE_VAL];
	size_t i;
	int d;

	memset(p, 0, sizeof(*p));
	if (plan_hugepages(root, m, c, o, p, err) < 0)
		return -1;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (!(table[i].profiles & o->profile) || gb_sysval_read(root, table[i].path, cur, sizeof(cur)) < 0)
			continue; /* not in this profile, or not on this kernel */
		snprintf(want, sizeof(want), "%s", table[i].want);
		if (!strcmp(table[i].key, "vm.min_free_kbytes")) {
			unsigned long long now = strtoull(cur, NULL, 10), kb = m->mem_total / 100 / 1024;

			if (kb > 1024 * 1024)
				kb = 1024 * 1024;
			snprintf(want, sizeof(want), "%llu", kb > now ? kb : now);
		}
		if (add(p, table[i].key, table[i].path, want, table[i].why, table[i].profiles, table[i].kind, err) < 0)
			return -1;
	}
	if (o->profile & GB_TUNE_FULL)
		for (d = 0; d < m->nnvme; d++) {
			snprintf(path, sizeof(path), "/sys/block/%s/queue/scheduler", m->nvme[d]);
			if (!have(root, path))
				continue;
			snprintf(key, sizeof(key), "block.%s.queue.scheduler", m->nvme[d]);
			if (add(p, key, path, "none", why_sched, GB_TUNE_FULL, GB_TK_SYSFS, err) < 0)
				return -1;
		}
	return 0;
}
