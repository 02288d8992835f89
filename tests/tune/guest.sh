#!/bin/sh
# gb-tune against a real kernel: run by busybox sh inside the qemu guest
# that tests/tune/run.sh boots (2 NUMA nodes, an emulated NVMe disk, no
# hugepages reserved at boot), with /bin/hugemap (tests/tune/hugemap.c).
# Prints TAP.
n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}
# is GOT WANT NAME
is() {
	[ "$1" = "$2" ]
	r=$?
	ok $r "$3"
	[ $r -eq 0 ] || echo "#   got '$1', expected '$2'"
}

export GB_CONFIG=/dev/null
T=/bin/gb-tune
STATE=/var/lib/greenboost/tune.state
SWAP=/mnt/nvme/greenboost.swap
# every file gb-tune --full may touch here, read whole (choice lists too)
FILES="/proc/sys/vm/nr_hugepages /proc/sys/vm/nr_overcommit_hugepages /proc/sys/vm/swappiness /proc/sys/vm/overcommit_memory
/proc/sys/kernel/numa_balancing /proc/sys/vm/min_free_kbytes
/sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag
/sys/block/nvme0n1/queue/scheduler /proc/swaps /etc/fstab"

snapshot() {
	for f in $FILES; do
		echo "== $f"
		cat "$f"
	done
	for f in /etc/sysctl.d/90-greenboost.conf /etc/tmpfiles.d/greenboost-tune.conf \
		/etc/udev/rules.d/60-greenboost-tune.rules $STATE $SWAP; do
		[ -e "$f" ] && echo "== present: $f"
	done
}
word() { sed -n 's/.*\[\(.*\)\].*/\1/p' "$1"; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# field NAME: hugemap's value of NAME, from /tmp/out
field() { sed -n "s/^$1 //p" /tmp/out; }

# ---- the machine: an NVMe disk with a filesystem, a distro's scheduler ----
for m in $(cat /modules/order); do
	insmod "/modules/$m.ko" || echo "# insmod $m failed"
done
i=0
while [ ! -b /dev/nvme0n1 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
mkdir -p /mnt/nvme
mke2fs -q /dev/nvme0n1 >/tmp/err 2>&1 && mount -t ext2 /dev/nvme0n1 /mnt/nvme 2>>/tmp/err
r=$?
ok $r "an ext2 filesystem on the emulated NVMe disk"
[ $r -eq 0 ] || sed 's/^/# /' /tmp/err
echo mq-deadline >/sys/block/nvme0n1/queue/scheduler
printf '# /etc/fstab of the guest\nproc /proc proc defaults 0 0\n' >/etc/fstab
snapshot >/tmp/before
before=$(cat /proc/sys/vm/min_free_kbytes)

# ---- what it sees ----
st=$($T --status 2>&1)
echo "$st" | grep -q '^# machine: VM (QEMU), .* 2 NUMA nodes$'
ok $? "--status: a QEMU VM with 2 NUMA nodes"
echo "$st" | grep -q '^# nvme: nvme0n1$'
ok $? "--status: the NVMe disk"
echo "$st" | grep -q '^# gpu: none found'
ok $? "--status: no GPU"

# ---- --dry-run changes nothing ----
out=$($T --full --hugepages 64M --swap 128M --persist --dry-run 2>/tmp/err)
ok $? "--full --dry-run exits 0"
sed 's/^/# /' /tmp/err
echo "$out" | grep -q '^vm.swappiness 60 -> 10$'
ok $? "--dry-run says what it would change"
snapshot >/tmp/now
cmp -s /tmp/before /tmp/now
ok $? "--dry-run changed nothing"

# ---- --full ----
out=$($T --full --hugepages 64M --swap 128M --persist)
ok $? "--full --hugepages 64M --swap 128M --persist exits 0"
echo "$out" | sed 's/^/# /'
bad=$(echo "$out" | grep -cv '^[a-z0-9._-]* [^ ]* -> [^ ]*\( (.*)\)\{0,1\}$')
is "$bad" 0 "every output line is 'key old -> new'"
is "$(cat /proc/sys/vm/nr_hugepages)" 32 "vm.nr_hugepages = 32 (64M)"
is "$(word /sys/kernel/mm/transparent_hugepage/enabled)" always "THP enabled = always"
is "$(word /sys/kernel/mm/transparent_hugepage/defrag)" defer+madvise "THP defrag = defer+madvise"
is "$(cat /proc/sys/vm/swappiness)" 10 "vm.swappiness = 10"
is "$(cat /proc/sys/vm/overcommit_memory)" 1 "vm.overcommit_memory = 1"
is "$(cat /proc/sys/kernel/numa_balancing)" 0 "kernel.numa_balancing = 0"
kb=$(awk '/^MemTotal:/ { print int($2 / 100) }' /proc/meminfo)
[ "$kb" -gt "$before" ] && want=$kb || want=$before
is "$(cat /proc/sys/vm/min_free_kbytes)" "$want" "vm.min_free_kbytes = max(before, 1% of RAM)"
is "$(word /sys/block/nvme0n1/queue/scheduler)" none "nvme0n1 scheduler = none"
grep -q "^$SWAP " /proc/swaps
ok $? "the swap file on NVMe is in use"
grep -q "^$SWAP none swap sw,nofail 0 0 # gb-tune\$" /etc/fstab && grep -q '^proc /proc proc' /etc/fstab
ok $? "--persist: one line added to /etc/fstab, the rest kept"
grep -q '^vm.swappiness = 10$' /etc/sysctl.d/90-greenboost.conf
ok $? "--persist: /etc/sysctl.d/90-greenboost.conf"
grep -q '^w- /sys/kernel/mm/transparent_hugepage/enabled - - - - always$' /etc/tmpfiles.d/greenboost-tune.conf
ok $? "--persist: /etc/tmpfiles.d/greenboost-tune.conf"
grep -q 'ATTR{queue/scheduler}="none"' /etc/udev/rules.d/60-greenboost-tune.rules
ok $? "--persist: /etc/udev/rules.d/60-greenboost-tune.rules"
grep -q '^set	vm.swappiness	/proc/sys/vm/swappiness	60	10$' $STATE
ok $? "the state file has the original and the tuned value"
grep -qx "boot	$(cat /proc/sys/kernel/random/boot_id)" $STATE
ok $? "the state file has this boot's ID"
grep -qx "device	block.nvme0n1.queue.scheduler	$(cat /sys/block/nvme0n1/wwid)" $STATE
ok $? "and the NVMe disk's identity, its wwid ($(cat /sys/block/nvme0n1/wwid))"

# ---- again: idempotent ----
cp $STATE /tmp/state1
snapshot >/tmp/tuned
out=$($T --full --hugepages 64M --swap 128M --persist)
ok $? "--full again exits 0"
is "$out" "" "--full again changes nothing"
snapshot >/tmp/now
cmp -s /tmp/tuned /tmp/now
ok $? "--full again leaves every value as it was"

# ---- a swap file on the guest's root, a filesystem in memory: refused ----
cp $STATE /tmp/state0
$T --full --hugepages 64M --swap 64M:/tmp/greenboost.swap >/tmp/out 2>/tmp/err
is "$?" 4 "--swap on the initramfs: exit 4"
grep -Eq 'is on (tmpfs|ramfs), which is memory' /tmp/err
ok $? "--swap on the initramfs: says it is memory"
sed 's/^/# /' /tmp/err
snapshot >/tmp/now
[ ! -e /tmp/greenboost.swap ] && cmp -s /tmp/tuned /tmp/now && cmp -s $STATE /tmp/state0
ok $? "--swap on the initramfs: no file made, nothing changed"

# ---- another swap file: made and in use before the old one goes ----
out=$($T --full --hugepages 64M --swap 64M:/mnt/nvme/second.swap --persist 2>/tmp/err)
ok $? "a second swap file in place of the first exits 0"
sed 's/^/# /' /tmp/err
is "$(echo "$out" | grep '^swap.file')" "swap.file none -> /mnt/nvme/second.swap (64.0 MiB)
swap.file $SWAP -> none" "the new swap file made, then the old one removed"
grep -q '^/mnt/nvme/second.swap ' /proc/swaps && ! grep -q "^$SWAP " /proc/swaps && [ ! -e $SWAP ]
ok $? "the new swap file in use, the old one off and gone"
grep -q '^/mnt/nvme/second.swap none swap sw,nofail 0 0 # gb-tune$' /etc/fstab && ! grep -q "^$SWAP " /etc/fstab
ok $? "/etc/fstab names the new one only"
grep -q '^swapfile	/mnt/nvme/second.swap	67108864$' $STATE && ! grep -q '^swapold' $STATE
ok $? "the state file names the new one only"

# ---- one too large for the disk: refused, the one in use kept ----
cp $STATE /tmp/state0
cp /etc/fstab /tmp/fstab0
$T --full --hugepages 64M --swap 1G:/mnt/nvme/big.swap --persist >/tmp/out 2>/tmp/err
is "$?" 4 "a swap file larger than the disk's free space: exit 4"
sed 's/^/# /' /tmp/err
grep -q '^gb-tune: error: /mnt/nvme has .* free (root.s reserve aside), .*: 1.0 GiB is too much, at most .* fits; nothing changed$' /tmp/err
ok $? "and says how large one would fit"
[ ! -e /mnt/nvme/big.swap ] && grep -q '^/mnt/nvme/second.swap ' /proc/swaps && cmp -s $STATE /tmp/state0 &&
	cmp -s /etc/fstab /tmp/fstab0
ok $? "nothing written, the swap file in use, its record and fstab line kept"

# ---- the default hugepage count, from host_limit and RAM ----
total=$(awk '/^MemTotal:/ { print $2 * 1024 }' /proc/meminfo)
keep=$((total / 4 > 1073741824 ? total / 4 : 1073741824))
room=$((total > keep ? total - keep : 0))
budget=$((total * 75 / 100))
pages=$(((budget < room ? budget : room) / 2097152))
out=$($T --full --swap 128M --persist)
ok $? "--full without --hugepages exits 0"
grep -q "^$SWAP " /proc/swaps && ! grep -q '^/mnt/nvme/second.swap ' /proc/swaps
ok $? "and the default swap file back in place of the second"
got=$(cat /proc/sys/vm/nr_hugepages)
[ "$got" = "$pages" ] || echo "$out" | grep -q "^vm.nr_hugepages 32 -> $got (asked $pages:"
ok $? "vm.nr_hugepages follows host_limit: $pages asked, $got given"
grep -q '^set	vm.nr_hugepages	/proc/sys/vm/nr_hugepages	0	' $STATE
ok $? "the second run kept the original 0"

# ---- a read-only /proc/sys (a container's) ----
snapshot >/tmp/tuned
cp $STATE /tmp/state2
mount --bind /proc/sys /proc/sys && mount -o remount,ro,bind /proc/sys
$T --full --hugepages 16M >/tmp/out 2>/tmp/err
is "$?" 3 "read-only /proc/sys: exit 3"
grep -q 'read-only' /tmp/err
ok $? "read-only /proc/sys: says so"
umount /proc/sys
snapshot >/tmp/now
cmp -s /tmp/tuned /tmp/now && cmp -s $STATE /tmp/state2
ok $? "read-only /proc/sys: nothing changed, the state file neither"

# ---- --revert ----
out=$($T --revert)
ok $? "--revert exits 0"
echo "$out" | sed 's/^/# /'
snapshot >/tmp/now
cmp -s /tmp/before /tmp/now
r=$?
ok $r "--revert: every value back bit for bit, swap file and /etc files gone"
[ $r -eq 0 ] || diff /tmp/before /tmp/now | sed 's/^/# /'
grep -q greenboost /proc/swaps
ok $((!$?)) "--revert: swap is off"
[ ! -e $STATE ]
ok $? "--revert: the state file is gone"
[ ! -e /var/lib/greenboost/tune.lock ]
ok $? "no run left its lock behind"
out=$($T --revert)
ok $? "--revert again exits 0"
is "$out" "" "--revert again changes nothing"

# ---- --light: no reserve, a limit on pages made when they are mapped ----
is "$(cat /proc/sys/vm/nr_hugepages) $(cat /proc/sys/vm/nr_overcommit_hugepages)" "0 0" \
	"before --light: no hugepage reserved, none allowed on demand"
hugemap 4 >/tmp/out 2>/tmp/err
is "$?" 1 "before --light: a MAP_HUGETLB mapping of 4 pages is refused"
echo 3 >/proc/sys/vm/nr_overcommit_hugepages # an original of the machine's own
snapshot >/tmp/before
out=$($T --light --hugepages 16M --persist)
ok $? "--light --hugepages 16M --persist exits 0"
echo "$out" | sed 's/^/# /'
is "$out" "vm.nr_overcommit_hugepages 3 -> 8
persist none -> /etc/sysctl.d/90-greenboost.conf" "--light: the overcommit limit and its sysctl.d file, nothing else"
is "$(cat /proc/sys/vm/nr_overcommit_hugepages)" 8 "vm.nr_overcommit_hugepages = 8 (16M)"
is "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages)" 8 "the kernel's 2 MB limit is the same"
is "$(cat /proc/sys/vm/nr_hugepages)" 0 "--light: vm.nr_hugepages unchanged"
is "$(meminfo HugePages_Total)" 0 "--light: no 2 MB page held while nothing maps one"
grep -q '^vm.nr_overcommit_hugepages = 8$' /etc/sysctl.d/90-greenboost.conf &&
	! grep -q nr_hugepages /etc/sysctl.d/90-greenboost.conf
ok $? "--persist: the limit in /etc/sysctl.d/90-greenboost.conf, no reserve"
grep -q '^set	vm.nr_overcommit_hugepages	/proc/sys/vm/nr_overcommit_hugepages	3	8$' $STATE
ok $? "the state file has the limit's original and tuned value"
hugemap 4 >/tmp/out 2>/tmp/err
ok $? "a MAP_HUGETLB mapping of 4 pages, as the shim maps T2, succeeds"
sed 's/^/# /' /tmp/err
is "$(field mapped_surp) $(field mapped_total)" "4 4" "mapped: 4 surplus pages (HugePages_Surp, HugePages_Total)"
is "$(field unmapped_surp) $(field unmapped_total)" "0 0" "after munmap: HugePages_Surp and HugePages_Total back to 0"
hugemap 9 >/tmp/out 2>/tmp/err
is "$?" 1 "9 pages, over the limit of 8: refused"
is "$(meminfo HugePages_Surp)" 0 "and nothing kept from the refused mapping"

# the default limit, from host_limit and RAM: all but half of RAM, at least 2 GiB
keep=$((total / 2 > 2147483648 ? total / 2 : 2147483648))
room=$((total > keep ? total - keep : 0))
pages=$(((budget < room ? budget : room) / 2097152))
$T --light --persist >/tmp/out
ok $? "--light without --hugepages exits 0"
is "$(cat /proc/sys/vm/nr_overcommit_hugepages)" "$pages" "vm.nr_overcommit_hugepages follows host_limit: $pages"

# --full reserves instead, and puts the limit back
out=$($T --full --hugepages 64M)
ok $? "--full after --light exits 0"
echo "$out" | sed 's/^/# /'
is "$(cat /proc/sys/vm/nr_overcommit_hugepages) $(cat /proc/sys/vm/nr_hugepages)" "3 32" \
	"--full after --light: the limit back to 3, 32 pages reserved"
out=$($T --revert)
ok $? "--revert after --light and --full exits 0"
snapshot >/tmp/now
cmp -s /tmp/before /tmp/now
r=$?
ok $r "--revert: the reserve, the limit and every other value back bit for bit"
[ $r -eq 0 ] || diff /tmp/before /tmp/now | sed 's/^/# /'
echo 0 >/proc/sys/vm/nr_overcommit_hugepages

# ---- the kernel's opinion ----
dmesg | grep -E 'WARNING|BUG|Oops|general protection' | sed 's/^/# /'
dmesg | grep -qE 'WARNING|BUG|Oops|general protection'
ok $((!$?)) "the kernel log has no WARNING, BUG or Oops"
echo "1..$n"
