#!/bin/sh
# greenboost.ko in a real kernel: build the module against the installed
# kernel headers, boot that kernel in qemu (hugepages=16 on its command
# line) with an initramfs of static busybox, the module,
# tests/kmod/kmodtest and tests/kmod/patha (the shim's Path A, with its
# libraries), and print the guest's TAP.  tests/qemu/lib.sh says what it
# needs; KVER=RELEASE picks another installed kernel than the newest.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111
tmp=$(mktemp -d /tmp/gb-kmod.XXXXXX) || exit 111
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM

. tests/qemu/lib.sh
qemu_kernel

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
qemu_root "$root"
cp "$tmp/kmod/greenboost.ko" "$tmp/kmodtest" "$root/"
# KMODTEST: another static program to run instead, for chasing a failure
[ -n "${KMODTEST:-}" ] && cp "$KMODTEST" "$root/kmodtest"
# path A: a dynamic program under the shim and the CUDA test double
# (make check builds them first)
for f in tests/kmod/patha lib/libgreenboost_cuda.so tests/doubles/libcuda.so.1; do
	[ -e "$f" ] || bail "$f is not built (make check builds it)"
done
qemu_prog "$root" tests/kmod/patha /patha
qemu_prog "$root" lib/libgreenboost_cuda.so /lib/libgreenboost_cuda.so
qemu_prog "$root" tests/doubles/libcuda.so.1 /lib/libcuda.so.1
cat >"$root/init" <<INIT
$QEMU_INIT_HEAD
INIT
cat >>"$root/init" <<'INIT'
if insmod /greenboost.ko pool_mb=64; then
	echo "GB-PATHA"
	LD_LIBRARY_PATH=/lib GB_CONFIG=/dev/null GB_RUN_DIR=/tmp GB_STATUS_INTERVAL=50ms \
		GB_VRAM_LIMIT=256M GB_KV_RESERVE=0 GB_HOST_LIMIT=512M FAKECUDA_VRAM=1G \
		LD_PRELOAD=/lib/libgreenboost_cuda.so /patha
	echo "GB-KMODTEST"
	/kmodtest
else
	echo "not ok 1 - insmod greenboost.ko pool_mb=64"
	echo "1..1"
fi
echo "GB-END"
poweroff -f
INIT
qemu_boot "$root" "$tmp/guest" -smp 2 -m 512 -append "console=ttyS0 quiet panic=-1 oops=panic hugepages=16"

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
