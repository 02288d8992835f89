#!/bin/sh
# make check: run every test, each a TAP producer, and end with the line
# "N passed, N failed" (N counting single assertions; a test program that
# crashes or stops short of its plan counts as one more failure).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 111
tmp=$(mktemp -d /tmp/gb-check.XXXXXX) || exit 111
trap 'rm -rf "$tmp"' EXIT INT TERM
export TEST_TMP="$tmp"
pass=0
fail=0
failed_names=

# tap NAME COMMAND...
tap() {
	name=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	p=$(grep -c '^ok ' "$tmp/out")
	f=$(grep -c '^not ok ' "$tmp/out")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
	extra=
	if [ -z "$plan" ]; then
		extra="no plan"
	elif [ "$plan" -ne $((p + f)) ]; then
		extra="planned $plan, ran $((p + f))"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		extra="exit status $rc"
	fi
	[ -n "$extra" ] && f=$((f + 1))
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -eq 0 ]; then
		printf 'PASS  %-44s %4d\n' "$name" "$p"
	else
		printf 'FAIL  %-44s %4d passed, %d failed %s\n' "$name" "$p" "$f" "${extra:+($extra)}"
		grep -A3 '^not ok ' "$tmp/out" | sed 's/^/      /'
		tail -n 15 "$tmp/err" | sed 's/^/      stderr: /'
		failed_names="$failed_names $name"
	fi
}

echo "== unit tests (libgb)"
for t in tests/unit/t-*; do
	[ -x "$t" ] && tap "${t#tests/}" "$t"
done

echo "== the CUDA test doubles"
tap doubles/selftest env LD_LIBRARY_PATH=tests/doubles tests/doubles/selftest

echo "== the shim, against the test doubles"
. tests/shim/cases.sh

echo "== real kernels, in qemu"
tap kmod/run.sh sh tests/kmod/run.sh
tap tune/run.sh sh tests/tune/run.sh

echo "== programs (bats)"
if command -v bats >/dev/null 2>&1; then
	for b in tests/bats/*.bats; do
		tap "${b#tests/}" bats --tap "$b"
	done
else
	echo "FAIL  bats is not installed (Debian: apt-get install bats)"
	fail=$((fail + 1))
fi

echo "== the benchmarks' arithmetic, without a GPU (python3)"
for t in tests/bench/t-*.py; do
	[ -e "$t" ] && tap "${t#tests/}" python3 "$t"
done

echo "== fuzzers (${TEST_FUZZ_SECONDS:-20}s each)"
. tests/fuzz/run.sh

echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
