#!/bin/sh
# make check-gpu: GreenBoost on a real NVIDIA GPU.  Builds the GPU test
# programs, runs them under bin/gb-run (and natively where a check needs
# a reference), prints one TAP line per check with the programs' own
# output indented under it, and ends with "N passed, N failed".  A build
# that fails or a program that crashes or hangs is one failed check; the
# script always reaches the summary.
#
# Environment: NVCC, CUDA_HOME, CC, PYTHON (python3), GPU_ARCH (sm_90);
# SUITE_CONF, a greenboost.conf(5) file every shimmed program runs under.
# With OUT set, also writes $OUT/check-gpu.log (everything printed) and
# $OUT/check-gpu.md (a block for bench/RESULTS.md).
#
# Sized for a short run: no program pins more than ~5 GiB of host memory
# (gpu-rt: 4.5 GiB of T2; gpu-drv: 3 GiB; torch: 1.6 GiB), each has a
# time limit, and nothing uses managed memory.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
NVCC=${NVCC:-$CUDA_HOME/bin/nvcc}
CC=${CC:-cc}
PYTHON=${PYTHON:-python3}
GPU_ARCH=${GPU_ARCH:-sm_90}
OUT=${OUT:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gb-gpu.XXXXXX") || exit 111
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM


. tests/gpu/common.sh
gb_out_setup check-gpu || exit 111
gb_clean_env || exit 111

n=0
pass=0
fail=0

# result NAME WHY: WHY empty means passed
result() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		pass=$((pass + 1))
		say "ok $n - $1"
		printf '| %d | %s | pass |\n' "$n" "$1" >>"$rows"
	else
		fail=$((fail + 1))
		say "not ok $n - $1: $2"
		printf '| %d | %s | **FAIL**: %s |\n' "$n" "$1" "$2" >>"$rows"
	fi
}

# build NAME OUTPUT COMMAND...
build() {
	name=$1
	outp=$2
	shift 2
	say "# \$ $*"
	"$@" >"$tmp/out" 2>&1 </dev/null
	rc=$?
	show "$tmp/out"
	why=$(why_rc "$rc" 0)
	[ -z "$why" ] && [ ! -x "$outp" ] && why="no $outp"
	result "$name" "$why"
}

# step NAME SECONDS COMMAND...: passes when the command exits 0
step() {
	name=$1
	secs=$2
	shift 2
	say "# \$ $*"
	start=$(date +%s)
	limit "$secs" "$@" >"$tmp/out" 2>&1 </dev/null
	rc=$?
	show "$tmp/out"
	why=$(why_rc "$rc" "$secs")
	result "$name ($(($(date +%s) - start)) s)" "$why"
}

# tap NAME SECONDS COMMAND...: passes when the TAP program ran its whole
# plan, every assertion passed, and it exited 0
tap() {
	name=$1
	secs=$2
	shift 2
	say "# \$ $*"
	start=$(date +%s)
	limit "$secs" "$@" >"$tmp/out" 2>&1 </dev/null
	rc=$?
	show "$tmp/out"
	p=$(grep -c '^ok ' "$tmp/out")
	f=$(grep -c '^not ok ' "$tmp/out")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
	why=$(why_rc "$rc" "$secs")
	if [ "$f" -gt 0 ]; then
		why="$f of $((p + f)) assertions failed${why:+, $why}"
	elif [ -n "$why" ]; then
		:
	elif [ -z "$plan" ]; then
		why="no plan"
	elif [ "$plan" -ne $((p + f)) ]; then
		why="planned $plan assertions, ran $((p + f))"
	fi
	result "$name ($p assertions, $(($(date +%s) - start)) s)" "$why"
}

# need NAME FILE...: a check whose program was not built fails without running
need() {
	name=$1
	shift
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			result "$name" "not run: $f is missing"
			return 1
		fi
	done
	return 0
}

# ---- what this runs on ----
say "# GreenBoost check-gpu"
machine_info
[ -n "${SUITE_CONF:-}" ] && say "# configuration: $(grep -v '^#' "$SUITE_CONF" | tr '\n' ' ')"

# ---- builds ----
if [ -x bin/gb-run ] && [ -e lib/libgreenboost_cuda.so ] && [ -e lib/libgb.a ]; then
	result "the tree is built (bin/gb-run, lib/libgreenboost_cuda.so, lib/libgb.a)" ""
else
	result "the tree is built (bin/gb-run, lib/libgreenboost_cuda.so, lib/libgb.a)" "run make first"
fi
gbrun=$top/bin/gb-run

for rt in shared static; do
	rpath=
	[ "$rt" = shared ] && rpath="-Xlinker -rpath -Xlinker $CUDA_HOME/lib64"
	# shellcheck disable=SC2086 # rpath is two words or none
	build "build gpu-rt (-cudart $rt)" "$tmp/gpu-rt-$rt" \
		"$NVCC" -arch="$GPU_ARCH" -O2 -cudart "$rt" -Ilib -Itests -o "$tmp/gpu-rt-$rt" \
		tests/gpu/gpu-rt.cu lib/libgb.a -L"$CUDA_HOME/lib64/stubs" -lcuda -ldl $rpath
done
build "build gpu-stage" "$tmp/gpu-stage" \
	"$NVCC" -arch="$GPU_ARCH" -O2 -Ilib -Itests -o "$tmp/gpu-stage" tests/gpu/gpu-stage.cu lib/libgb.a \
	-L"$CUDA_HOME/lib64/stubs" -lcuda -Xlinker -rpath -Xlinker "$CUDA_HOME/lib64"
build "build gpu-drv (gcc, driver API only)" "$tmp/gpu-drv" \
	"$CC" -std=gnu11 -O2 -Wall -Ilib -Itests -I"$CUDA_HOME/include" -o "$tmp/gpu-drv" \
	tests/gpu/gpu-drv.c lib/libgb.a -L"$CUDA_HOME/lib64/stubs" -lcuda

# ---- the runtime API ----
name="gpu-rt without the shim, 1G (the test's own data checks)"
need "$name" "$tmp/gpu-rt-shared" &&
	tap "$name" 60 "$tmp/gpu-rt-shared" -n 1G 256M
for rt in shared static; do
	name="gpu-rt (-cudart $rt) under gb-run --vram-limit 4G: 8G in 256M chunks"
	need "$name" "$tmp/gpu-rt-$rt" "$gbrun" &&
		tap "$name" 60 "$gbrun" --vram-limit 4G --host-limit 16G --log-level debug \
			--log-file "$tmp/trace-$rt" -- "$tmp/gpu-rt-$rt" 8G 256M
	# which hooks placed the memory (the shim's debug trace)
	rtl=$(grep -c ': cudaMalloc: ' "$tmp/trace-$rt" 2>/dev/null)
	drv=$(grep -c ': cuMemAlloc: ' "$tmp/trace-$rt" 2>/dev/null)
	ver=$(grep -c 'chosen by version' "$tmp/trace-$rt" 2>/dev/null)
	say "# placed by the runtime hooks: ${rtl:-0}, by the driver hooks: ${drv:-0};" \
		"cuGetProcAddress answers matched by version rules instead of address: ${ver:-0}"
	if [ "$rt" = static ]; then
		why=
		[ "${drv:-0}" -gt 0 ] || why="no allocation went through the driver hooks"
		result "static cudart: the driver hooks (dlsym + cuGetProcAddress) placed its allocations" "$why"
	fi
done

# ---- t2_stream: copies that overlap kernels never read stale T2 ----
for ov in on off; do
	name="gpu-stage under gb-run --t2-stream on --t2-overlap $ov: writes to T2 between staged kernels are seen"
	need "$name" "$tmp/gpu-stage" "$gbrun" &&
		tap "$name" 120 "$gbrun" --vram-limit 1G --kv-reserve 0 --host-limit 8G --t2-stream on \
			--t2-overlap $ov --t2-stage 256M --log-level info --log-file "$tmp/stage-$ov.log" -- "$tmp/gpu-stage"
	grep -o 't2_stream: .*' "$tmp/stage-$ov.log" >"$tmp/out" 2>/dev/null || echo "no t2_stream report in the log" >"$tmp/out"
	show "$tmp/out"
done
why=
ovl=$(sed -n 's/.*staged (\([0-9]*\) with the copy overlapping.*/\1/p' "$tmp/stage-on.log" 2>/dev/null | tail -n 1)
[ "${ovl:-0}" -gt 0 ] || why="no copy overlapped the kernels before it"
result "t2_overlap on: copies did overlap (${ovl:-0} launches)" "$why"

# ---- the driver API ----
name="gpu-drv under gb-run --vram-limit 2G --kv-reserve 0: 4G in 256M chunks, async, VMM"
need "$name" "$tmp/gpu-drv" "$gbrun" &&
	tap "$name" 60 "$gbrun" --vram-limit 2G --kv-reserve 0 --host-limit 16G -- "$tmp/gpu-drv" 4G 256M

# ---- PyTorch: a 3 GiB model under a 1.5 GiB cap ----
step "PyTorch model (3 GiB of bf16 weights), native" 150 \
	"$PYTHON" tests/gpu/gpu-torch.py --out "$tmp/torch-native.pt"
name="PyTorch model under gb-run --vram-limit 1536M"
need "$name" "$gbrun" &&
	step "$name" 150 "$gbrun" --vram-limit 1536M --host-limit 16G -- \
		"$PYTHON" tests/gpu/gpu-torch.py --out "$tmp/torch-gb.pt"
name="PyTorch: bit-identical output, one memory size for torch, cudaGetDeviceProperties and NVML, T2 used"
need "$name" "$tmp/torch-native.pt" "$tmp/torch-gb.pt" &&
	tap "$name" 60 "$PYTHON" tests/gpu/gpu-torch.py --compare "$tmp/torch-native.pt" "$tmp/torch-gb.pt"

# ---- gb-tune and gb-stat on the real machine (read only) ----
say "# \$ bin/gb-tune --dry-run"
bin/gb-tune --dry-run >"$tmp/out" 2>&1
rc=$?
show "$tmp/out"
why=$(why_rc "$rc" 0)
[ -z "$why" ] && ! grep -q '^# gpu: [0-9a-f]*:[0-9a-f]*:[0-9a-f]*\.[0-9], NUMA node -\{0,1\}[0-9]*$' "$tmp/out" &&
	why="no NVIDIA GPU found in /sys/bus/pci"
result "gb-tune --dry-run finds the NVIDIA GPU in sysfs" "$why"

# a process holding 3 GiB with 1 GiB of VRAM allowed: gb-stat sees it
cat >"$tmp/hold.py" <<'PY'
import os, sys, time, torch
x = [torch.empty(512 << 20, dtype=torch.uint8, device="cuda") for _ in range(6)]
torch.cuda.synchronize()
open(sys.argv[1], "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
PY
"$gbrun" --vram-limit 1G --kv-reserve 0 --host-limit 8G --status-interval 100ms -- \
	"$PYTHON" "$tmp/hold.py" "$tmp/ready" "$tmp/done" >"$tmp/hold.out" 2>&1 &
hold=$!
i=0
while [ ! -e "$tmp/ready" ] && [ $i -lt 600 ] && kill -0 "$hold" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5
say "# \$ bin/gb-stat -d \$GB_RUN_DIR; bin/gb-stat -d \$GB_RUN_DIR dump"
{ bin/gb-stat -d "$GB_RUN_DIR"; bin/gb-stat -d "$GB_RUN_DIR" dump; } >"$tmp/out" 2>&1
show "$tmp/out"
touch "$tmp/done"
wait "$hold"
rc=$?
why=$(why_rc "$rc" 0)
if [ -z "$why" ]; then
	# T1 holds at most 1 GiB, T2 the rest of the 3 GiB
	awk -F'\t' -v p="$hold" '$1 == "device" && $2 == p && $4 ~ /NVIDIA/ && $6 <= 1073741824 && $6 + $8 >= 3221225472 { ok = 1 }
		END { exit !ok }' "$tmp/out" || why="no device record of pid $hold with 3 GiB split over T1 and T2"
fi
result "gb-stat shows a PyTorch process under gb-run: its GPU, T1 within the limit, T2 the rest" "$why"

# ---- every shimmed process removed its status file at exit ----
left=$(cd "$GB_RUN_DIR" && ls -- *.status 2>/dev/null)
if [ -z "$left" ]; then
	result "no status file left in GB_RUN_DIR after the programs exited" ""
else
	result "no status file left in GB_RUN_DIR after the programs exited" "left: $(printf '%s' "$left" | tr '\n' ' ')"
fi

say "$pass passed, $fail failed"

if [ -n "$OUT" ]; then
	{
		echo "### \`make check-gpu\`, $when"
		echo
		echo "- card: ${card:-unknown} (${vram:-?})"
		echo "- driver: ${driver:-unknown}"
		echo "- date: $when"
		echo "- commit: $commit"
		echo "- command: \`make check-gpu\` (tests/gpu/run.sh; full output in check-gpu.log)"
		[ -n "${SUITE_CONF:-}" ] && echo "- configuration (SUITE_CONF): \`$(grep -v '^#' "$SUITE_CONF" | tr '\n' ' ')\`"
		echo
		echo "| # | check | result |"
		echo "| --- | --- | --- |"
		cat "$rows"
		echo
		echo "$pass passed, $fail failed."
	} >"$OUT/check-gpu.md"
fi
[ "$fail" -eq 0 ]
