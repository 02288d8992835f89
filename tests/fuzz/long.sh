#!/bin/sh
# make fuzz-long (issue 17): every libFuzzer harness of tests/fuzz, one
# after the other, for FUZZ_LONG_RUNS executions (default 10 million) or,
# with FUZZ_LONG_SECONDS, that many seconds (both given: whichever ends
# first).  Each starts from its committed seed corpus and writes the
# inputs it finds, and any crash, to a scratch directory: never to
# tests/fuzz/corpus.  Prints per harness the executions, the coverage
# (cov and ft, libFuzzer's figures at the end of the run) and the
# crashes; with OUT set, the same as a markdown table in $OUT/fuzz-long.md
# (for bench/RESULTS.md).  Not part of make check: 10 million executions
# take a harness minutes to hours.
#
# libFuzzer stops at a harness's first crash, so "crashes" is 0 or 1 a
# harness; the exit status is 1 when any harness crashed or failed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111

die() {
	echo "fuzz-long: fatal: $*" >&2
	exit 111
}
usage() {
	echo "fuzz-long: usage: $*" >&2
	exit 100
}

[ "${FUZZ:-no}" = yes ] ||
	die "needs libFuzzer: clang with -fsanitize=fuzzer (Debian: apt-get install clang libclang-rt-dev), then ./configure"
runs=${FUZZ_LONG_RUNS:-}
secs=${FUZZ_LONG_SECONDS:-}
case $runs in *[!0-9]*) usage "FUZZ_LONG_RUNS=$runs: a number of executions" ;; esac
case $secs in *[!0-9]*) usage "FUZZ_LONG_SECONDS=$secs: a number of seconds" ;; esac
[ "$runs" = 0 ] && usage "FUZZ_LONG_RUNS=0: at least one execution"
[ "$secs" = 0 ] && usage "FUZZ_LONG_SECONDS=0: at least one second"
[ -z "$runs$secs" ] && runs=10000000
if [ -n "$runs" ] && [ -n "$secs" ]; then
	budget="$runs executions or $secs s a harness, whichever ends first"
elif [ -n "$runs" ]; then
	budget="$runs executions a harness"
else
	budget="$secs s a harness"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/gb-fuzz-long.XXXXXX") || die "unable to create a scratch directory"
tree=$(git describe --always --dirty 2>/dev/null || echo unknown)
compiler=$("${CLANG:-clang}" --version 2>/dev/null | head -n 1)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cores=$(nproc 2>/dev/null || echo "?")
when=$(date -u '+%Y-%m-%d %H:%M UTC')
corpus_before=$(git status --porcelain -- tests/fuzz/corpus 2>/dev/null)

echo "fuzz-long: $budget; tree $tree; $compiler; ${cpu:-unknown CPU}, $cores cores; $when"
echo "fuzz-long: new inputs and crashes go to $scratch"

rows=
bad=0
total_runs=0
total_s=0
est_s=0
for f in tests/fuzz/fuzz-*; do
	case $f in *.c | *.d | *.o) continue ;; esac
	[ -x "$f" ] || continue
	n=${f##*/}
	name=${n#fuzz-}
	seeds=tests/fuzz/corpus/$name
	nseeds=$(ls -A "$seeds" 2>/dev/null | wc -l)
	if [ "$nseeds" -eq 0 ]; then
		echo "$n: no committed seed corpus in $seeds"
		rows="$rows| $n | no seed corpus | | | | | | |
"
		bad=1
		continue
	fi
	d=$scratch/$name
	mkdir -p "$d/corpus" "$d/artifacts"
	set -- -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$d/artifacts/"
	[ -n "$runs" ] && set -- "$@" -runs="$runs"
	[ -n "$secs" ] && set -- "$@" -max_total_time="$secs"
	start=$(date +%s)
	# new inputs to the first directory (the scratch one); the seeds are only read
	"$f" "$@" "$d/corpus" "$seeds" >"$d/log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -n 1)
	added=$(sed -n 's/^stat::new_units_added: *//p' "$d/log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1/p' "$d/log" | tail -n 1)
	ft=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\2/p' "$d/log" | tail -n 1)
	crashes=$(ls -A "$d/artifacts" | wc -l)
	: "${execs:=0}" "${rate:=0}" "${added:=0}" "${cov:=?}" "${ft:=?}"
	total_runs=$((total_runs + execs))
	total_s=$((total_s + took))
	[ "$rate" -gt 0 ] && est_s=$((est_s + 10000000 / rate))
	echo "$n: $execs executions in $took s ($rate/s), cov $cov ft $ft, $nseeds seeds + $added new inputs, $crashes crashes"
	if [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ]; then
		bad=1
		[ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && echo "  exit status $rc, no artifact: $d/log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY)|Test unit written' "$d/log" | sed 's/^/  /'
	fi
	rows="$rows| $n | $execs | $took s | $rate | $cov | $ft | $nseeds + $added | $crashes |
"
done

if [ "$(git status --porcelain -- tests/fuzz/corpus 2>/dev/null)" != "$corpus_before" ]; then
	echo "fuzz-long: tests/fuzz/corpus changed during the run (it must only be read)"
	bad=1
fi
summary="$total_runs executions in $total_s s; 10 million a harness at these rates: about $((est_s / 60)) min"
echo "fuzz-long: $summary"
echo "fuzz-long: new inputs and crashes are in $scratch"

if [ -n "${OUT:-}" ]; then
	mkdir -p "$OUT" || die "unable to create $OUT"
	{
		echo "make fuzz-long: $budget; tree $tree; $compiler; ${cpu:-unknown CPU}, $cores cores; $when."
		echo "cov and ft are libFuzzer's at the end of each run; inputs: committed seeds + new ones found."
		echo
		echo "| harness | executions | time | exec/s | cov | ft | inputs | crashes |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|"
		printf '%s' "$rows"
		echo
		echo "$summary."
	} >"$OUT/fuzz-long.md" || die "unable to write $OUT/fuzz-long.md"
	echo "fuzz-long: the table is in $OUT/fuzz-long.md"
fi
exit "$bad"
