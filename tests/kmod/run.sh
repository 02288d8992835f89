#!/bin/sh
# greenboost.ko in a real kernel: build the module against the installed
# kernel headers, boot that kernel in qemu (TCG: no KVM here; hugepages=16
# on its command line) with an initramfs of static busybox, the module,
# tests/kmod/kmodtest and tests/kmod/patha (the shim's Path A, with its
# libraries), and print the guest's TAP.  Needs what .ci/deps installs:
# qemu-system-x86 busybox-static cpio and a kernel image with headers.
# KVER=RELEASE picks another installed kernel than the newest.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111
tmp=$(mktemp -d /tmp/gb-kmod.XXXXXX) || exit 111
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM

bail() {
	echo "not ok 1 - $*"
	echo "1..1"
	exit 1
}

# the newest kernel that has both an image and a build tree, or KVER
kver=
for k in ${KVER:-$(ls -1 /lib/modules 2>/dev/null | sort -V)}; do
	[ -f "/boot/vmlinuz-$k" ] && [ -f "/lib/modules/$k/build/Makefile" ] && kver=$k
done
[ -n "$kver" ] || bail "no kernel image with headers${KVER:+ for $KVER} (apt-get install linux-image-amd64 linux-headers-amd64)"
command -v qemu-system-x86_64 >/dev/null || bail "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
	bail "no static busybox (apt-get install busybox-static)"
# Ubuntu installs kernel images readable by root only
kernel=$tmp/vmlinuz
cat "/boot/vmlinuz-$kver" >"$kernel" 2>/dev/null || sudo -n cat "/boot/vmlinuz-$kver" >"$kernel" 2>/dev/null ||
	bail "cannot read /boot/vmlinuz-$kver (run as root, or: sudo chmod 644 /boot/vmlinuz-$kver)"
echo "# kernel $kver"

# the module, out of tree so that the checkout stays clean
mkdir -p "$tmp/kmod/uapi"
cp kmod/greenboost.c kmod/Kbuild "$tmp/kmod/" && cp kmod/uapi/greenboost.h "$tmp/kmod/uapi/" || bail "copy the module"
make -s -C "/lib/modules/$kver/build" M="$tmp/kmod" W=1 modules >"$tmp/build.log" 2>&1 ||
	{ sed 's/^/# /' "$tmp/build.log"; bail "build greenboost.ko against $kver"; }
if grep -q 'warning:' "$tmp/build.log"; then
	sed 's/^/# /' "$tmp/build.log"
	bail "greenboost.ko builds with warnings (W=1)"
fi
echo "# built greenboost.ko, W=1 clean"
${CC:-cc} -static -O2 -Wall -Ikmod -o "$tmp/kmodtest" tests/kmod/kmodtest.c 2>"$tmp/cc.log" ||
	{ sed 's/^/# /' "$tmp/cc.log"; bail "build the static test program"; }

root=$tmp/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
cp /bin/busybox "$root/bin/busybox"
cp "$tmp/kmod/greenboost.ko" "$tmp/kmodtest" "$root/"
# KMODTEST: another static program to run instead, for chasing a failure
[ -n "${KMODTEST:-}" ] && cp "$KMODTEST" "$root/kmodtest"
# path A: a dynamic program under the shim and the CUDA test double, with
# the libraries it needs (make check builds tests/kmod/patha first)
for f in tests/kmod/patha lib/libgreenboost_cuda.so tests/doubles/libcuda.so.1; do
	[ -e "$f" ] || bail "$f is not built (make check builds it)"
done
mkdir -p "$root/lib" "$root/lib64" "$root/tmp"
cp tests/kmod/patha "$root/patha"
cp lib/libgreenboost_cuda.so tests/doubles/libcuda.so.1 "$root/lib/"
for l in $(ldd tests/kmod/patha lib/libgreenboost_cuda.so tests/doubles/libcuda.so.1 |
	sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*ld-linux[^ ]*\).*/\1/p' | sort -u); do
	mkdir -p "$root$(dirname "$l")" && cp "$l" "$root$l"
done
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "GB-BEGIN"
if insmod /greenboost.ko pool_mb=64; then
	if [ -x /patha ]; then
		echo "GB-PATHA"
		LD_LIBRARY_PATH=/lib GB_CONFIG=/dev/null GB_RUN_DIR=/tmp GB_STATUS_INTERVAL=50ms \
			GB_VRAM_LIMIT=256M GB_KV_RESERVE=0 GB_HOST_LIMIT=512M FAKECUDA_VRAM=1G \
			LD_PRELOAD=/lib/libgreenboost_cuda.so /patha
	fi
	echo "GB-KMODTEST"
	/kmodtest
else
	echo "not ok 1 - insmod greenboost.ko pool_mb=64"
	echo "1..1"
fi
echo "GB-END"
poweroff -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$tmp/initrd.gz" || bail "make the initramfs"

timeout 300 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 512 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$tmp/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 oops=panic hugepages=16" >"$tmp/console" 2>&1
rc=$?
tr -d '\r' <"$tmp/console" | sed -n '/GB-BEGIN/,/GB-END/p' >"$tmp/guest"
if ! grep -q 'GB-END' "$tmp/guest"; then
	tr -d '\r' <"$tmp/console" | tail -n 40 | sed 's/^/# console: /'
	bail "the guest did not finish its tests (qemu exit status $rc)"
fi
# Two TAP streams (path A, then the module's own test): each must have
# run its whole plan; printed as one, numbered afresh.
awk '
	/GB-PATHA/ { part = "path A: "; next }
	/GB-KMODTEST/ { part = ""; next }
	/^(ok|not ok) / {
		sub(/^(not )?ok [0-9]+ - /, "& " part)
		n++; ran[part]++
		if ($0 ~ /^not ok/) { sub(/^not ok [0-9]+/, "not ok " n) } else { sub(/^ok [0-9]+/, "ok " n) }
		print; next
	}
	/^1\.\.[0-9]+/ { planned[part] = substr($1, 4) + 0; plans++; next }
	/^#/ { print }
	END {
		for (p in ran)
			if (planned[p] != ran[p]) { n++; printf "not ok %d - %s planned %d tests, ran %d\n", n, p == "" ? "kmodtest:" : p, planned[p], ran[p] }
		if (!("path A: " in planned)) { n++; printf "not ok %d - path A: no plan from the guest\n", n }
		if (!("" in planned)) { n++; printf "not ok %d - kmodtest: no plan from the guest\n", n }
		printf "1..%d\n", n
	}' "$tmp/guest"
