#!/bin/sh
# gb-tune against a real kernel: boot the installed kernel in qemu with two
# NUMA nodes and an emulated NVMe disk, and run tests/tune/guest.sh there
# (bin/gb-tune --full, again, a read-only /proc/sys, --revert, each value
# checked in /proc/sys and /sys; then --light, and tests/tune/hugemap's
# mapping of the surplus 2 MB pages it allows).  Prints the guest's TAP.
# tests/qemu/lib.sh says what it needs.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111
tmp=$(mktemp -d /tmp/gb-tune.XXXXXX) || exit 111
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM

. tests/qemu/lib.sh
qemu_kernel
[ -x bin/gb-tune ] || bail "bin/gb-tune is not built (make check builds it)"
# static, out of tree so that the checkout stays clean
${CC:-cc} -static -O2 -Wall -o "$tmp/hugemap" tests/tune/hugemap.c 2>"$tmp/cc.log" ||
	{ sed 's/^/# /' "$tmp/cc.log"; bail "build the static test program tests/tune/hugemap"; }

root=$tmp/root
qemu_root "$root"
qemu_prog "$root" bin/gb-tune /bin/gb-tune
cp tests/tune/guest.sh "$root/guest.sh"
cp "$tmp/hugemap" "$root/bin/hugemap"
qemu_kmod "$root" nvme
qemu_kmod "$root" crc32c_generic
qemu_kmod "$root" ext4
cat >"$root/init" <<INIT
$QEMU_INIT_HEAD
sh /guest.sh
echo "GB-END"
poweroff -f
INIT
# room for two swap files at once, 128M and 64M, and their margin
truncate -s 512M "$tmp/nvme.img" || bail "make the NVMe disk image"
# 4 GiB: --light keeps half of RAM, at least 2 GiB, out of its limit
qemu_boot "$root" "$tmp/guest" -smp 2,sockets=2,cores=1,threads=1 -m 4096 \
	-object memory-backend-ram,size=2048M,id=m0 -object memory-backend-ram,size=2048M,id=m1 \
	-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
	-drive file="$tmp/nvme.img",if=none,id=nv0,format=raw -device nvme,serial=gbtune0,drive=nv0 \
	-append "console=ttyS0 quiet panic=-1 oops=panic"
grep -E '^(ok|not ok|#|1\.\.)' "$tmp/guest"
grep -q '^1\.\.' "$tmp/guest" || bail "no plan from the guest"
