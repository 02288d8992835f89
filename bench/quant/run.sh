#!/bin/sh
# sh bench/quant/run.sh: how fast gb-quant turns a model into each type,
# as input GB/s, all measured in this one run on this machine:
#
#   keep       gb-quant apply copying every tensor as it is: no
#              arithmetic, so it measures how fast a file gets written
#              and synced here (W bytes/s)
#   bound      for each type, its output's bytes / W: no run that writes
#              that file and syncs it can be faster
#   TYPE -j N  every quantizable tensor to TYPE with N threads (all CPUs)
#   TYPE -j 1  the same on one thread
#   llama      llama-quantize --pure to the same type, same threads: the
#              alternative (only with LLAMA_CPP=DIR, an existing build's
#              bin/; this script never builds or fetches llama.cpp)
#
# The model is made by tests/quant/mkmodel (bf16, random weights, Llama
# shaped; MODEL_ARGS overrides its size, default about 1 GB) in TMPDIR.
# Each figure is the best of REPS (3) runs with the input in the page
# cache.  With OUT set, also writes $OUT/bench-quant.md, a block for
# bench/RESULTS.md.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111
OUT=${OUT:-}
REPS=${REPS:-3}
MODEL_ARGS=${MODEL_ARGS:---type bf16 --layers 8 --dim 2048 --ff 5632 --heads 16 --kv-heads 4 --vocab 32000}
LLAMA_CPP=${LLAMA_CPP:-}
Q=$top/bin/gb-quant
MK=$top/tests/quant/mkmodel
NCPU=$(getconf _NPROCESSORS_ONLN)

[ -x "$Q" ] && [ -x "$MK" ] || { echo "bench/quant/run.sh: fatal: run make and make tests/quant/mkmodel first" >&2; exit 111; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gb-bench-quant.XXXXXX") || exit 111
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

# best_of CMD...: the least wall time of REPS runs, in seconds
best_of() {
	best=
	i=0
	while [ "$i" -lt "$REPS" ]; do
		t0=$(now)
		"$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
		t1=$(now)
		best=$(awk -v a="$t0" -v b="$t1" -v best="$best" 'BEGIN { d = b - a; if (best == "" || d < best) best = d; printf "%.4f", best }')
		i=$((i + 1))
	done
	echo "$best"
}

# plan_all TYPE: every tensor that may be TYPE is; the rest kept
plan_all() {
	"$Q" plan --budget 1T "$tmp/m.gguf" | awk -F'\t' -v OFS='\t' -v t="$1" '
		/^#/ { next }
		{ $2 = "keep" }
		$1 !~ /_norm\.weight$/ && $6 ~ /x/ && !($1 == "output.weight" && (t == "q4_K" || t == "q5_K")) { $2 = t }
		{ print $1, $2 }' >"$tmp/plan.$1"
}

echo "# making the model: mkmodel $MODEL_ARGS"
"$MK" $MODEL_ARGS "$tmp/m.gguf" || exit 111
size=$(stat -c %s "$tmp/m.gguf")
cat "$tmp/m.gguf" >/dev/null

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
date=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit + local changes"

rows=$tmp/rows
: >"$rows"
# NAME SECONDS INPUT_BYTES BOUND/OURS LLAMA_RATIO OUTPUT_BYTES, tab-separated
plan_all keep
keep_t=$(best_of "$Q" apply -q -j "$NCPU" --plan "$tmp/plan.keep" "$tmp/m.gguf" "$tmp/o.gguf") || exit 1
echo "keep -j $NCPU	$keep_t	$size	1.00	-	$size" >>"$rows"

for t in q8_0 q6_K q5_K q4_K; do
	plan_all "$t"
	tn=$(best_of "$Q" apply -q -j "$NCPU" --plan "$tmp/plan.$t" "$tmp/m.gguf" "$tmp/o.gguf") || exit 1
	osize=$(stat -c %s "$tmp/o.gguf")
	t1=$(best_of "$Q" apply -q -j 1 --plan "$tmp/plan.$t" "$tmp/m.gguf" "$tmp/o.gguf") || exit 1
	lr=-
	if [ -n "$LLAMA_CPP" ]; then
		case $t in q8_0) lt=Q8_0 ;; q6_K) lt=Q6_K ;; q5_K) lt=Q5_K_S ;; q4_K) lt=Q4_K_S ;; esac
		tl=$(best_of "$LLAMA_CPP/llama-quantize" --pure "$tmp/m.gguf" "$tmp/l.gguf" "$lt" "$NCPU") || exit 1
		lr=$(awk -v a="$tn" -v b="$tl" 'BEGIN { printf "%.2f (llama-quantize %.2f GB/s)", b / a, '"$size"' / b / 1e9 }')
	fi
	# the bound: writing osize bytes at keep's rate
	bound=$(awk -v k="$keep_t" -v o="$osize" -v s="$size" 'BEGIN { printf "%.4f", k * o / s }')
	echo "$t -j $NCPU	$tn	$size	$(awk -v a="$bound" -v b="$tn" 'BEGIN { printf "%.2f", a / b }')	$lr	$osize" >>"$rows"
	echo "$t -j 1	$t1	$size	$(awk -v a="$bound" -v b="$t1" 'BEGIN { printf "%.2f", a / b }')	-	$osize" >>"$rows"
done

{
	echo "### gb-quant throughput, $date"
	echo
	echo "- machine: $NCPU CPUs, $cpu"
	echo "- commit: $commit"
	echo "- model: tests/quant/mkmodel $MODEL_ARGS ($size bytes), in the page cache"
	echo "- command: \`${LLAMA_CPP:+LLAMA_CPP=$LLAMA_CPP }sh bench/quant/run.sh\` (best of $REPS runs each)"
	echo
	echo "| run | seconds | input GB/s | output bytes | bound / ours | vs llama-quantize --pure (its time / ours) |"
	echo "| --- | ---: | ---: | ---: | ---: | --- |"
	awk -F'\t' '{ printf "| %s | %.2f | %.2f | %d | %s | %s |\n", $1, $2, $3 / $2 / 1e9, $6, $4, $5 }' "$rows"
	echo
	echo "bound: the output's bytes written and synced at the rate of the keep row (a copy); 1.00 means"
	echo "the run is as fast as writing its file, below that the quantizers are the limit."
} >"$tmp/md"
cat "$tmp/md"
[ -n "$OUT" ] && cp "$tmp/md" "$OUT/bench-quant.md"
exit 0
