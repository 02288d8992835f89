# Sourced by the tests that boot a real kernel in qemu (tests/kmod/run.sh,
# tests/tune/run.sh): pick an installed kernel that has headers, build an
# initramfs of static busybox plus what the test adds, boot it (TCG: no
# KVM on the machines this runs on), and keep what the guest printed
# between GB-BEGIN and GB-END.
#
# The caller sets $tmp (a scratch directory).  KVER=RELEASE picks a
# kernel other than the newest.  Needs what .ci/deps installs:
# qemu-system-x86 busybox-static cpio xz-utils zstd and a kernel image with
# its headers.

# bail WHY: the test cannot run; one failed TAP line, and out
bail() {
	echo "not ok 1 - $*"
	echo "1..1"
	exit 1
}

# kver, and $tmp/vmlinuz: the newest kernel with both an image and a build
# tree, or KVER
qemu_kernel() {
	kver=
	for k in ${KVER:-$(ls -1 /lib/modules 2>/dev/null | sort -V)}; do
		[ -f "/boot/vmlinuz-$k" ] && [ -f "/lib/modules/$k/build/Makefile" ] && kver=$k
	done
	[ -n "$kver" ] || bail "no kernel image with headers${KVER:+ for $KVER} (apt-get install linux-image-amd64 linux-headers-amd64)"
	command -v qemu-system-x86_64 >/dev/null || bail "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
	[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
		bail "no static busybox (apt-get install busybox-static)"
	# Ubuntu installs kernel images readable by root only
	cat "/boot/vmlinuz-$kver" >"$tmp/vmlinuz" 2>/dev/null || sudo -n cat "/boot/vmlinuz-$kver" >"$tmp/vmlinuz" 2>/dev/null ||
		bail "cannot read /boot/vmlinuz-$kver (run as root, or: sudo chmod 644 /boot/vmlinuz-$kver)"
	echo "# kernel $kver"
}

# qemu_root DIR: an initramfs tree with busybox and the usual mount points
qemu_root() {
	mkdir -p "$1/bin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/lib" "$1/lib64" "$1/etc" "$1/mnt" "$1/var/lib"
	cp /bin/busybox "$1/bin/busybox"
}

# qemu_prog DIR FILE DEST: a program and the shared libraries it needs
qemu_prog() {
	mkdir -p "$1$(dirname "$3")"
	cp "$2" "$1$3" || bail "copy $2"
	for l in $(ldd "$2" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*ld-linux[^ ]*\).*/\1/p' | sort -u); do
		mkdir -p "$1$(dirname "$l")" && cp -n "$l" "$1$l"
	done
}

# qemu_kmod DIR NAME: the kernel's module NAME and what it depends on,
# uncompressed into DIR/modules, their load order appended to
# DIR/modules/order
qemu_kmod() {
	mkdir -p "$1/modules"
	grep -qx "$2" "$1/modules/order" 2>/dev/null && return 0
	for dep in $(modinfo -k "$kver" -F depends "$2" 2>/dev/null | tr ',' ' '); do
		qemu_kmod "$1" "$dep"
	done
	f=$(modinfo -k "$kver" -F filename "$2" 2>/dev/null)
	case $f in
	"" | "(builtin)") return 0 ;;
	*.ko) cp "$f" "$1/modules/$2.ko" ;;
	*.ko.xz) xz -dc "$f" >"$1/modules/$2.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$1/modules/$2.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$1/modules/$2.ko" ;;
	*) bail "module $2: cannot read $f" ;;
	esac || bail "module $2: cannot unpack $f"
	echo "$2" >>"$1/modules/order"
}

# qemu_boot DIR OUT [QEMU ARGS...]: DIR/init must print GB-BEGIN, its
# TAP, GB-END and power off; what lies between goes to OUT.  The guest's
# files are root's, whoever runs the test (gb-tune checks who owns a swap
# file's directories)
qemu_boot() {
	root=$1
	out=$2
	shift 2
	chmod 755 "$root/init"
	(cd "$root" && find . | cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) >"$tmp/initrd.gz" || bail "make the initramfs"
	timeout 600 qemu-system-x86_64 -accel tcg -cpu max -nographic -no-reboot \
		-kernel "$tmp/vmlinuz" -initrd "$tmp/initrd.gz" "$@" >"$tmp/console" 2>&1
	rc=$?
	tr -d '\r' <"$tmp/console" | sed -n '/GB-BEGIN/,/GB-END/p' >"$out"
	if ! grep -q 'GB-END' "$out"; then
		tr -d '\r' <"$tmp/console" | tail -n 40 | sed 's/^/# console: /'
		bail "the guest did not finish its tests (qemu exit status $rc)"
	fi
}

# the first lines of every guest's init
QEMU_INIT_HEAD='#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "GB-BEGIN"'
