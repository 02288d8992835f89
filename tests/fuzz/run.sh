# Sourced by tests/run.sh: each fuzzer runs for TEST_FUZZ_SECONDS over a
# copy of its corpus (libFuzzer), or replays the corpus (no libFuzzer).
fuzz_one() {
	f=$1
	n=${f##*/}
	c=tests/fuzz/corpus/${n#fuzz-}
	rm -rf "$tmp/corpus" && mkdir -p "$tmp/corpus" && cp "$c"/* "$tmp/corpus/" 2>/dev/null
	if [ "${TEST_FUZZ:-no}" = yes ]; then
		if "$f" -max_total_time="${TEST_FUZZ_SECONDS:-20}" -rss_limit_mb=1024 -timeout=10 \
			-artifact_prefix="$tmp/" "$tmp/corpus" >"$tmp/fuzzlog" 2>&1; then
			runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/fuzzlog")
			echo "ok 1 - $n: $runs inputs, no crash"
		else
			echo "not ok 1 - $n found a crash:"
			grep -E 'ERROR|SUMMARY|Test unit written' "$tmp/fuzzlog" | sed 's/^/# /'
		fi
	else
		if "$f" "$tmp"/corpus/* >"$tmp/fuzzlog" 2>&1; then
			echo "ok 1 - $n: corpus replayed (no libFuzzer here)"
		else
			echo "not ok 1 - $n crashed on its corpus"
			tail -n 20 "$tmp/fuzzlog" | sed 's/^/# /'
		fi
	fi
	echo "1..1"
}
for f in tests/fuzz/fuzz-*; do
	case $f in *.c | *.d | *.o) continue ;; esac
	[ -x "$f" ] && tap "${f#tests/}" fuzz_one "$f"
done
