/* What the machine has, from /proc and /sys below a root. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tune/tune.h"

static char *slurp(const char *root, const char *path, size_t max)
{
	char full[GB_TUNE_PATH * 2];

	if (!gb_tune_path(root, path, full, sizeof(full)))
		return NULL;
	return gb_read_file(full, max, NULL);
}

static int exists(const char *root, const char *path)
{
	char full[GB_TUNE_PATH * 2];

	return gb_tune_path(root, path, full, sizeof(full)) && access(full, F_OK) == 0;
}

/* "MemTotal:  123 kB" in text, bytes; 0 if absent */
static uint64_t meminfo_field(const char *text, const char *field)
{
	const char *p = text;
	size_t fl = strlen(field);
	unsigned long long kb;

	while (p && *p) {
		/* node meminfo lines start "Node 0 MemTotal:" */
		const char *q = p, *eol = strchr(p, '\n');

		if (!strncmp(q, "Node ", 5)) {
			q += 5;
			while (isdigit((unsigned char)*q))
				q++;
			while (*q == ' ')
				q++;
		}
		if (!strncmp(q, field, fl) && q[fl] == ':' && sscanf(q + fl + 1, "%llu", &kb) == 1 &&
		    kb < (1ULL << 50))
			return (uint64_t)kb * 1024;
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

/* "0-3,5" into ids; count, or -1 if malformed */
static int parse_list(const char *s, int *ids, int max)
{
	int n = 0;

	while (*s && *s != '\n') {
		char *e;
		long a = strtol(s, &e, 10), b;

		if (e == s || a < 0 || a > 4095)
			return -1;
		b = a;
		s = e;
		if (*s == '-') {
			b = strtol(s + 1, &e, 10);
			if (e == s + 1 || b < a || b > 4095)
				return -1;
			s = e;
		}
		for (; a <= b; a++) {
			if (n == max)
				return -1;
			ids[n++] = (int)a;
		}
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -1;
	}
	return n;
}

static void detect_nodes(const char *root, struct gb_machine *m)
{
	char *t = slurp(root, "/sys/devices/system/node/online", 4096), path[128];
	int i, n = t ? parse_list(t, m->node, GB_TUNE_MAX_NODES) : -1;

	free(t);
	if (n <= 0) {
		m->nnodes = 1;
		m->node[0] = 0;
		m->node_mem[0] = m->mem_total;
		return;
	}
	m->nnodes = n;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", m->node[i]);
		t = slurp(root, path, 1 << 16);
		m->node_mem[i] = t ? meminfo_field(t, "MemTotal") : 0;
		free(t);
	}
}

static void detect_gpus(const char *root, struct gb_machine *m)
{
	char dir[GB_TUNE_PATH * 2], path[GB_TUNE_PATH];
	struct dirent *de;
	DIR *d;

	if (!gb_tune_path(root, "/sys/bus/pci/devices", dir, sizeof(dir)) || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)) && m->ngpu < GB_TUNE_MAX_GPUS) {
		char *vendor, *class, *node;
		unsigned long cls;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(m->gpu[0].bdf))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", de->d_name);
		vendor = slurp(root, path, 64);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", de->d_name);
		class = slurp(root, path, 64);
		cls = class ? strtoul(class, NULL, 16) : 0;
		/* NVIDIA's display and 3D controllers, not its audio or bridges */
		if (vendor && !strncmp(vendor, "0x10de", 6) && (cls >> 8 == 0x0300 || cls >> 8 == 0x0302)) {
			snprintf(m->gpu[m->ngpu].bdf, sizeof(m->gpu[0].bdf), "%s", de->d_name);
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/numa_node", de->d_name);
			node = slurp(root, path, 64);
			m->gpu[m->ngpu].node = node ? atoi(node) : -1;
			free(node);
			m->ngpu++;
		}
		free(vendor);
		free(class);
	}
	closedir(d);
	/* readdir order is the filesystem's: sort by address */
	for (int i = 1; i < m->ngpu; i++)
		for (int j = i; j > 0 && strcmp(m->gpu[j - 1].bdf, m->gpu[j].bdf) > 0; j--) {
			__typeof__(m->gpu[0]) t = m->gpu[j];

			m->gpu[j] = m->gpu[j - 1];
			m->gpu[j - 1] = t;
		}
}

static int cmp_name(const void *a, const void *b)
{
	return strverscmp(a, b);
}

static void detect_nvme(const char *root, struct gb_machine *m)
{
	char dir[GB_TUNE_PATH * 2];
	struct dirent *de;
	DIR *d;

	if (!gb_tune_path(root, "/sys/block", dir, sizeof(dir)) || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)) && m->nnvme < GB_TUNE_MAX_NVME) {
		/* namespaces (nvme0n1), not controllers or partitions */
		const char *p = de->d_name + 4;

		if (strncmp(de->d_name, "nvme", 4) || strlen(de->d_name) >= sizeof(m->nvme[0]))
			continue;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p != 'n' || !isdigit((unsigned char)p[1]))
			continue;
		for (p++; isdigit((unsigned char)*p); p++)
			;
		if (*p)
			continue;
		snprintf(m->nvme[m->nnvme++], sizeof(m->nvme[0]), "%s", de->d_name);
	}
	closedir(d);
	qsort(m->nvme, (size_t)m->nnvme, sizeof(m->nvme[0]), cmp_name);
}

static void detect_where(const char *root, struct gb_machine *m)
{
	static const char *const vms[] = { "QEMU", "KVM", "VMware", "VirtualBox", "Xen", "Microsoft Corporation",
					   "Amazon EC2", "Google", "Parallels", "BHYVE", NULL };
	char *t;
	int i;

	snprintf(m->where, sizeof(m->where), "bare metal");
	t = slurp(root, "/run/systemd/container", 256);
	if (t || exists(root, "/.dockerenv") || exists(root, "/run/.containerenv")) {
		char *nl = t ? strchr(t, '\n') : NULL;

		if (nl)
			*nl = 0;
		m->container = 1;
		snprintf(m->where, sizeof(m->where), "container (%s)",
			 t && *t ? t : exists(root, "/.dockerenv") ? "docker" : "podman");
		free(t);
		return;
	}
	t = slurp(root, "/proc/1/cgroup", 1 << 16);
	if (t && (strstr(t, "/docker") || strstr(t, "/lxc") || strstr(t, "kubepods"))) {
		m->container = 1;
		snprintf(m->where, sizeof(m->where), "container (%s)",
			 strstr(t, "/docker") ? "docker" : strstr(t, "/lxc") ? "lxc" : "kubernetes");
		free(t);
		return;
	}
	free(t);
	t = slurp(root, "/sys/class/dmi/id/sys_vendor", 256);
	if (t)
		for (i = 0; vms[i]; i++)
			if (strstr(t, vms[i])) {
				snprintf(m->where, sizeof(m->where), "VM (%s)", vms[i]);
				free(t);
				return;
			}
	free(t);
	t = slurp(root, "/proc/cpuinfo", 1 << 20);
	if (t && strstr(t, " hypervisor"))
		snprintf(m->where, sizeof(m->where), "VM");
	free(t);
}

int gb_machine_detect(const char *root, struct gb_machine *m, struct gb_err *err)
{
	char *t;

	memset(m, 0, sizeof(*m));
	t = slurp(root, "/proc/meminfo", 1 << 16);
	m->mem_total = t ? meminfo_field(t, "MemTotal") : 0;
	free(t);
	if (!m->mem_total) {
		snprintf(err->msg, sizeof(err->msg), "unable to read MemTotal from /proc/meminfo");
		return -1;
	}
	detect_nodes(root, m);
	detect_gpus(root, m);
	detect_nvme(root, m);
	detect_where(root, m);
	m->hugetlb_2m = exists(root, "/proc/sys/vm/nr_hugepages") &&
			exists(root, "/sys/kernel/mm/hugepages/hugepages-2048kB");
	m->per_node_hugepages = exists(root, "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages");
	m->thp = exists(root, "/sys/kernel/mm/transparent_hugepage/enabled");
	t = slurp(root, "/sys/class/misc/greenboost/total_bytes", 64);
	m->pool_bytes = t ? strtoull(t, NULL, 10) : 0;
	free(t);
	return 0;
}

void gb_machine_print(const struct gb_machine *m, FILE *f)
{
	char a[32];
	int i;

	fprintf(f, "# machine: %s, %s of RAM, %d NUMA node%s\n", m->where,
		gb_size_human(m->mem_total, a, sizeof(a)), m->nnodes, m->nnodes == 1 ? "" : "s");
	if (!m->ngpu)
		fprintf(f, "# gpu: none found (no NVIDIA display or 3D controller in /sys/bus/pci)\n");
	for (i = 0; i < m->ngpu; i++)
		fprintf(f, "# gpu: %s, NUMA node %d\n", m->gpu[i].bdf, m->gpu[i].node);
	fprintf(f, "# nvme:");
	for (i = 0; i < m->nnvme; i++)
		fprintf(f, " %s", m->nvme[i]);
	fprintf(f, "%s\n", m->nnvme ? "" : " none");
	if (m->pool_bytes)
		fprintf(f, "# greenboost.ko: a pool of %s\n", gb_size_human(m->pool_bytes, a, sizeof(a)));
}
