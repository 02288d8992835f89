# Sourced by the gb-tune bats tests: fixture_tree DIR [nodes] makes a
# small /proc, /sys and /etc under DIR, the shape of a real one: 64 GiB of
# RAM, NUMA nodes (1 or 2), an NVIDIA GPU on the last node, an NVMe disk
# with mq-deadline and a wwid, THP on madvise, a boot ID.  Values are what Debian 12
# ships.
fixture_tree() {
	d=$1
	nodes=${2:-1}
	mkdir -p "$d/proc/sys/vm" "$d/proc/sys/kernel/random" "$d/proc/self" \
		"$d/sys/kernel/mm/transparent_hugepage" "$d/sys/kernel/mm/hugepages/hugepages-2048kB" \
		"$d/sys/block/nvme0n1/queue" "$d/sys/block/sda/queue" "$d/sys/block/nvme0c0n1" \
		"$d/sys/devices/system/node" "$d/sys/dev/block" \
		"$d/sys/bus/pci/devices/0000:41:00.0" "$d/sys/bus/pci/devices/0000:41:00.1" \
		"$d/sys/bus/pci/devices/0000:00:02.0" "$d/etc" "$d/var/lib" "$d/mnt/fast"
	printf 'MemTotal:       67108864 kB\nMemFree:        60000000 kB\nMemAvailable:   62000000 kB\n' >"$d/proc/meminfo"
	echo 0 >"$d/proc/sys/vm/nr_hugepages"
	echo 0 >"$d/proc/sys/vm/nr_overcommit_hugepages"
	echo 60 >"$d/proc/sys/vm/swappiness"
	echo 0 >"$d/proc/sys/vm/overcommit_memory"
	echo 67584 >"$d/proc/sys/vm/min_free_kbytes"
	echo 1 >"$d/proc/sys/kernel/numa_balancing"
	echo 5f0c8a52-2b3e-4c1d-9f6a-1e7b3d9c0a44 >"$d/proc/sys/kernel/random/boot_id"
	echo 'always [madvise] never' >"$d/sys/kernel/mm/transparent_hugepage/enabled"
	echo 'always defer defer+madvise [madvise] never' >"$d/sys/kernel/mm/transparent_hugepage/defrag"
	echo 0 >"$d/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	echo 0 >"$d/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages"
	echo '[mq-deadline] kyber bfq none' >"$d/sys/block/nvme0n1/queue/scheduler"
	echo eui.0025385b71b0a1c4 >"$d/sys/block/nvme0n1/wwid"
	echo '[mq-deadline] none' >"$d/sys/block/sda/queue/scheduler"
	# an NVIDIA GPU (3D controller), its audio function, and an Intel GPU
	echo 0x10de >"$d/sys/bus/pci/devices/0000:41:00.0/vendor"
	echo 0x030200 >"$d/sys/bus/pci/devices/0000:41:00.0/class"
	echo $((nodes - 1)) >"$d/sys/bus/pci/devices/0000:41:00.0/numa_node"
	echo 0x10de >"$d/sys/bus/pci/devices/0000:41:00.1/vendor"
	echo 0x040300 >"$d/sys/bus/pci/devices/0000:41:00.1/class"
	echo 0x8086 >"$d/sys/bus/pci/devices/0000:00:02.0/vendor"
	echo 0x030000 >"$d/sys/bus/pci/devices/0000:00:02.0/class"
	if [ "$nodes" -gt 1 ]; then
		echo "0-$((nodes - 1))" >"$d/sys/devices/system/node/online"
		i=0
		while [ "$i" -lt "$nodes" ]; do
			n=$d/sys/devices/system/node/node$i
			mkdir -p "$n/hugepages/hugepages-2048kB"
			printf 'Node %d MemTotal:       %d kB\n' "$i" $((67108864 / nodes)) >"$n/meminfo"
			echo 0 >"$n/hugepages/hugepages-2048kB/nr_hugepages"
			i=$((i + 1))
		done
	else
		echo 0 >"$d/sys/devices/system/node/online"
		mkdir -p "$d/sys/devices/system/node/node0"
		printf 'Node 0 MemTotal:       67108864 kB\n' >"$d/sys/devices/system/node/node0/meminfo"
	fi
	# an ext4 filesystem on nvme0n1p1 mounted at /mnt/fast, / on sda1
	ln -s ../../devices/pci0000:00/0000:00:1d.0/nvme/nvme0/nvme0n1/nvme0n1p1 "$d/sys/dev/block/259:1"
	ln -s ../../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1 "$d/sys/dev/block/8:1"
	cat >"$d/proc/self/mountinfo" <<-MI
	22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
	23 22 0:5 / /proc rw,nosuid shared:2 - proc proc rw
	30 22 259:1 / /mnt/fast rw,relatime shared:9 - ext4 /dev/nvme0n1p1 rw
	MI
	: >"$d/proc/swaps"
	# a swap file's directories: writable by their owner only, whatever the umask
	chmod 755 "$d" "$d/mnt" "$d/mnt/fast"
	printf '# /etc/fstab\nUUID=1234 / ext4 errors=remount-ro 0 1\n' >"$d/etc/fstab"
}
