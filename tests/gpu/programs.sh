#!/bin/sh
# sh tests/gpu/programs.sh: real programs' own allocators under
# gb-run --vram-limit 1536M, each against the same program uncapped:
# PyTorch's three allocator settings (tests/gpu/gpu-torch.py, 3 GiB of
# weights), CuPy's pool and JAX with and without preallocation (3 GiB
# each).  Not part of make check-gpu: until the pager (issue 14) PyTorch's
# expandable segments and JAX are known to fail under a cap, and this
# script reports what happens rather than passing by leaving them out.
# Prints a line per program, "pass" or "FAIL: why"; with OUT set, writes
# $OUT/programs.md.  Exit status 1 when any failed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111
OUT=${OUT:-}
PYTHON=${PYTHON:-python3}
NVCC=${NVCC:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gb-programs.XXXXXX") || exit 111
trap 'rm -rf "$tmp"' EXIT
. tests/gpu/common.sh
gb_out_setup programs || exit 111
gb_clean_env || exit 111
gbrun="bin/gb-run --vram-limit 1536M --host-limit 16G --"
failed=0

# row NAME WHY
row() {
	if [ -z "$2" ]; then r=pass; else r="**FAIL**: $2"; failed=$((failed + 1)); fi
	say "| $1 | $r |"
	printf '| %s | %s |\n' "$1" "$r" >>"$rows"
}

# digest CMD...: its "digest" line, "" when it failed (its output in the log)
digest() {
	limit 90 "$@" >"$tmp/out" 2>&1
	rc=$?
	show "$tmp/out" >/dev/null
	[ $rc -eq 0 ] && sed -n 's/^digest \([0-9a-f]*\).*finite True.*/\1/p' "$tmp/out" | head -n 1
}

say "# PyTorch: tests/gpu/gpu-torch.py, natively with the default allocator, then under gb-run with each"
"$PYTHON" tests/gpu/gpu-torch.py --out "$tmp/native.pt" >"$tmp/out" 2>&1 || { show "$tmp/out"; exit 1; }
for conf in "" "expandable_segments:True" "backend:cudaMallocAsync"; do
	name="PyTorch, PYTORCH_CUDA_ALLOC_CONF=${conf:-(default)}"
	limit 180 $gbrun env PYTORCH_CUDA_ALLOC_CONF=$conf "$PYTHON" tests/gpu/gpu-torch.py --out "$tmp/gb.pt" >"$tmp/out" 2>&1
	rc=$?
	show "$tmp/out" >/dev/null
	why=$(why_rc $rc 180)
	if [ -z "$why" ]; then
		"$PYTHON" tests/gpu/gpu-torch.py --compare "$tmp/native.pt" "$tmp/gb.pt" >"$tmp/cmp" 2>&1
		show "$tmp/cmp" >/dev/null
		grep -q '^not ok' "$tmp/cmp" && why=$(grep -m1 '^not ok' "$tmp/cmp" | cut -c1-160)
	else
		why="$why: $(grep -m1 -i 'error' "$tmp/out" | cut -c1-160)"
	fi
	row "$name" "$why"
	rm -f "$tmp/gb.pt"
done

for prog in "CuPy|tests/gpu/prog-cupy.py|" "JAX, preallocated (XLA's default)|tests/gpu/prog-jax.py|true" \
	"JAX, XLA_PYTHON_CLIENT_PREALLOCATE=false|tests/gpu/prog-jax.py|false"; do
	name=${prog%%|*}
	rest=${prog#*|}
	file=${rest%%|*}
	pre=${rest#*|}
	xla=
	[ -n "$pre" ] && xla="env XLA_PYTHON_CLIENT_PREALLOCATE=$pre"
	n=$(digest $xla "$PYTHON" "$file")
	if [ -z "$n" ]; then
		row "$name" "it failed natively: $(grep -m1 -i 'error' "$tmp/out" | cut -c1-160)"
		continue
	fi
	g=$(digest $gbrun $xla "$PYTHON" "$file")
	if [ -z "$g" ]; then
		row "$name" "under gb-run: $(grep -m1 -i 'error\|refused' "$tmp/out" | cut -c1-160)"
	elif [ "$g" != "$n" ]; then
		row "$name" "digest $g under gb-run, $n natively"
	else
		row "$name" ""
	fi
done
machine_info >/dev/null
if [ -n "$OUT" ]; then
	{
		echo "### Real programs' allocators under gb-run --vram-limit 1536M (tests/gpu/programs.sh), $when"
		echo
		echo "- card: $card ($vram), driver $driver; commit: $commit"
		echo
		echo "| program | result (against the same program uncapped) |"
		echo "| --- | --- |"
		cat "$rows"
	} >"$OUT/programs.md"
fi
[ $failed -eq 0 ]
