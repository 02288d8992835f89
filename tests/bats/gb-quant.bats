#!/usr/bin/env bats
# gb-quant on tiny llama-shaped models made by tests/quant/mkmodel, its
# output read back by tests/quant/specdeq: a GGUF reader and dequantizer
# written from the format's description, sharing no code with lib/quant.

bats_require_minimum_version 1.5.0

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	Q=$top/bin/gb-quant
	MK=$top/tests/quant/mkmodel
	SD=$top/tests/quant/specdeq
	T=$BATS_TEST_TMPDIR
	[ -x "$Q" ] && [ -x "$MK" ] && [ -x "$SD" ] || skip "gb-quant or its test tools are not built (make check)"
}

# the value of a "# file" or "# error" line of a plan
plan_bytes() { awk -F'\t' '$1 == "# file" { split($3, a, " "); print a[1] }' "$1"; }
plan_error() { awk -F'\t' '$1 == "# error" { print $2 }' "$1"; }
size_of() { stat -c %s "$1"; }

@test "usage: no command, an unknown one, a missing budget, extra arguments; --help and --version" {
	run "$Q"
	[ "$status" -eq 100 ]
	[[ "$output" == *"usage: gb-quant inspect"* ]]
	run "$Q" frobnicate
	[ "$status" -eq 100 ]
	[[ "$output" == *"gb-quant: usage: unknown command frobnicate"* ]]
	"$MK" "$T/m.gguf"
	run "$Q" plan "$T/m.gguf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"needs --budget SIZE or --vram SIZE"* ]]
	run "$Q" plan --budget 1G "$T/m.gguf" extra
	[ "$status" -eq 100 ]
	run "$Q" plan --budget 12Q "$T/m.gguf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"--budget 12Q"* ]]
	run "$Q" plan --context 100 --budget 1G "$T/m.gguf"
	[ "$status" -eq 100 ]
	run "$Q" apply --plan x --budget 1G "$T/m.gguf" "$T/o.gguf"
	[ "$status" -eq 100 ]
	run "$Q" apply --budget 1G "$T/m.gguf" -
	[ "$status" -eq 100 ]
	run "$Q" apply --budget 1G "$T/m.gguf" "$T/m.gguf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"OUT is IN"* ]]
	run "$Q" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--allow-requantize"* ]]
	run "$Q" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "gb-quant "[0-9]* ]]
}

@test "inspect: one record a line; metadata, every tensor, totals" {
	"$MK" --type f16 --layers 2 "$T/m.gguf"
	run "$Q" inspect "$T/m.gguf"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "gguf	$T/m.gguf	version 3	alignment 32	"* ]]
	echo "$output" | grep -qx 'kv	general.architecture	string	llama'
	echo "$output" | grep -q '^kv	tokenizer.ggml.tokens	array	\[[0-9]* string\]$'
	# 3 + 9 per layer, shapes row length first
	[ "$(echo "$output" | grep -c '^tensor	')" -eq 21 ]
	echo "$output" | grep -q '^tensor	blk.1.ffn_down.weight	f16	512x256	262144	'
	echo "$output" | grep -q '^tensor	output_norm.weight	f32	256	1024	'
	echo "$output" | grep -q '^total	21 tensors	'
}

@test "plan: a budget the model fits keeps every tensor and measures nothing" {
	"$MK" --type bf16 "$T/m.gguf"
	run "$Q" plan --budget 1G "$T/m.gguf"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -v '^#' | awk -F'\t' '$2 != $5' | wc -l)" -eq 0 ]
	[ "$(echo "$output" | grep -v '^#' | awk -F'\t' '$4 != "0.000000"' | wc -l)" -eq 0 ]
	# exactly the file's size: kept whole, and written byte for byte as it was
	"$Q" plan --budget "$(size_of "$T/m.gguf")" "$T/m.gguf" >"$T/p"
	[ "$(grep -v '^#' "$T/p" | awk -F'\t' '$2 != $5' | wc -l)" -eq 0 ]
	"$Q" apply -q --budget "$(size_of "$T/m.gguf")" "$T/m.gguf" "$T/o.gguf"
	cmp "$T/m.gguf" "$T/o.gguf"
	# a byte less: something is converted, and the two keys are set
	"$Q" apply -q --budget "$(( $(size_of "$T/m.gguf") - 1 ))" "$T/m.gguf" "$T/o.gguf"
	[ "$(size_of "$T/o.gguf")" -lt "$(size_of "$T/m.gguf")" ]
	"$Q" inspect "$T/o.gguf" | grep -qx 'kv	general.quantization_version	u32	2'
}

@test "plan: an impossible budget names the smallest size; a budget of exactly that works" {
	"$MK" "$T/m.gguf"
	run "$Q" plan --budget 100K "$T/m.gguf"
	[ "$status" -eq 1 ]
	[[ "$output" == "gb-quant: fatal: a budget of 100K (102400 bytes) is too small: the smallest this model can be is "* ]]
	min=$(echo "$output" | sed -n 's/.*(\([0-9]*\) bytes)$/\1/p')
	[ -n "$min" ]
	"$Q" plan --budget "$min" "$T/m.gguf" >"$T/p"
	[ "$(plan_bytes "$T/p")" -eq "$min" ]
	run "$Q" plan --budget $((min - 1)) "$T/m.gguf"
	[ "$status" -eq 1 ]
}

@test "plan: never over the budget, error never up as the budget grows, llama.cpp's rules kept" {
	"$MK" --type bf16 --layers 3 "$T/m.gguf"
	full=$(size_of "$T/m.gguf")
	prev=
	for pct in 30 35 40 45 50 55 60 65 70 80 90 100; do
		b=$((full * pct / 100))
		"$Q" plan --budget "$b" "$T/m.gguf" >"$T/p" 2>"$T/err" || { cat "$T/err"; [ "$pct" -le 30 ]; continue; }
		bytes=$(plan_bytes "$T/p")
		e=$(plan_error "$T/p")
		echo "budget $b: file $bytes, error $e"
		[ "$bytes" -le "$b" ]
		if [ -n "$prev" ]; then awk -v a="$e" -v b="$prev" 'BEGIN { exit !(a <= b) }'; fi
		prev=$e
		# norms stay f32, the output never below q6_K
		[ "$(grep '_norm.weight	' "$T/p" | awk -F'\t' '$2 != "f32"' | wc -l)" -eq 0 ]
		grep -Eq '^output.weight	(bf16|q8_0|q6_K)	' "$T/p"
	done
	# the middle budgets really mix types
	"$Q" plan --budget $((full * 45 / 100)) "$T/m.gguf" >"$T/p"
	[ "$(grep -c '^# type	' "$T/p")" -ge 3 ]
}

@test "plan: rows not a multiple of 256 get q8_0 at most, rows not a multiple of 32 are kept" {
	"$MK" --odd "$T/m.gguf"
	"$Q" plan --budget 1 "$T/m.gguf" 2>&1 | grep -q 'the smallest this model can be is' || true
	min=$("$Q" plan --budget 1 "$T/m.gguf" 2>&1 | sed -n 's/.*(\([0-9]*\) bytes)$/\1/p')
	"$Q" plan --budget "$min" "$T/m.gguf" >"$T/p"
	cat "$T/p"
	[ "$(grep -v '^#' "$T/p" | awk -F'\t' '$2 ~ /_K$/' | wc -l)" -eq 0 ]
	grep -q '	q8_0	' "$T/p"
}

@test "apply: the file is what the plan said, within the budget; specdeq reads it; errors as measured" {
	"$MK" --type bf16 --layers 2 "$T/m.gguf"
	b=$(( $(size_of "$T/m.gguf") * 45 / 100 ))
	"$Q" plan --budget "$b" "$T/m.gguf" >"$T/p"
	"$Q" apply -q --budget "$b" "$T/m.gguf" "$T/o.gguf"
	[ "$(size_of "$T/o.gguf")" -le "$b" ]
	[ "$(size_of "$T/o.gguf")" -eq "$(plan_bytes "$T/p")" ]
	"$SD" compare "$T/m.gguf" "$T/o.gguf" >"$T/cmp"
	cat "$T/cmp"
	# specdeq: name, type in, type out, relative RMS error, max abs error
	# the plan:  name, type, bytes, error, from, shape
	# every tensor here is under 262144 weights, so the plan measured all
	# of them: its errors are specdeq's
	join -t '	' <(grep -v '^#' "$T/p" | cut -f1,2,4 | sort) <(grep -v '^meta' "$T/cmp" | cut -f1,3,4 | sort) >"$T/j"
	[ "$(wc -l <"$T/j")" -eq 21 ]
	awk -F'\t' '$2 != $4 { print "type differs: " $0; bad = 1 }
		{ d = $3 - $5; if (d < 0) d = -d; if (d > 1e-5 + 1e-3 * $5) { print "error differs: " $0; bad = 1 } }
		END { exit bad }' "$T/j"
	# each type within its known error on gaussian weights
	awk -F'\t' '$1 != "meta" {
		lim = ($3 == "q8_0") ? 0.01 : ($3 == "q6_K") ? 0.02 : ($3 == "q5_K") ? 0.04 : ($3 == "q4_K") ? 0.08 : 0
		if ($4 > lim) { print "too much error: " $0; bad = 1 } }
		END { exit bad }' "$T/cmp"
	# metadata copied but for two keys
	! grep -q '^meta' "$T/cmp"
	run "$Q" inspect "$T/o.gguf"
	echo "$output" | grep -qx 'kv	general.quantization_version	u32	2'
	echo "$output" | grep -Eq '^kv	general.file_type	u32	(7|15|17|18)$'
}

@test "apply: plan | apply --plan - writes the same bytes as apply --budget, with 1 or 4 threads" {
	"$MK" --type f16 --layers 2 "$T/m.gguf"
	b=$(( $(size_of "$T/m.gguf") * 50 / 100 ))
	"$Q" apply -q -j 1 --budget "$b" "$T/m.gguf" "$T/a.gguf"
	"$Q" plan --budget "$b" "$T/m.gguf" | "$Q" apply -q -j 4 --plan - "$T/m.gguf" "$T/b.gguf"
	cmp "$T/a.gguf" "$T/b.gguf"
}

@test "apply: an edited plan is followed, spaces for tabs and all" {
	"$MK" --type f32 "$T/m.gguf"
	"$Q" plan --budget 1G "$T/m.gguf" | grep -v '^#' | cut -f1 | sed 's/$/ keep/' >"$T/p"
	sed -i 's/^blk.0.attn_q.weight keep$/blk.0.attn_q.weight Q4_K/; s/^blk.1.ffn_up.weight keep$/blk.1.ffn_up.weight\tbf16\t0\t0/' "$T/p"
	"$Q" apply -q --plan "$T/p" "$T/m.gguf" "$T/o.gguf"
	"$SD" compare "$T/m.gguf" "$T/o.gguf" >"$T/cmp"
	grep -q '^blk.0.attn_q.weight	f32	q4_K	' "$T/cmp"
	grep -q '^blk.1.ffn_up.weight	f32	bf16	' "$T/cmp"
	grep -q '^blk.0.ffn_up.weight	f32	f32	0' "$T/cmp"
}

@test "apply --plan: bad plans are refused with file:line, and OUT is left as it was" {
	"$MK" --type f16 "$T/m.gguf"
	echo precious >"$T/o.gguf"
	"$Q" plan --budget 1G "$T/m.gguf" >"$T/good"
	check() {
		run "$Q" apply -q --plan "$T/p" "$T/m.gguf" "$T/o.gguf"
		echo "$output"
		[ "$status" -eq 1 ]
		[[ "$output" == "gb-quant: fatal: $1"* ]]
		[ "$(cat "$T/o.gguf")" = precious ]
	}
	sed 's/^output_norm.weight	f32/output_norm.weight	q8_0/' "$T/good" >"$T/p"
	check "$T/p:4: output_norm.weight cannot be q8_0 (1-D): it can be f32"
	sed 's/^output.weight	f16/output.weight	q4_K/' "$T/good" >"$T/p"
	check "$T/p:5: output.weight cannot be q4_K: it can be f16 q8_0 q6_K"
	sed 's/^output.weight	f16/output.weight	q3_X/' "$T/good" >"$T/p"
	check "$T/p:5: output.weight: unknown type q3_X"
	grep -v '^blk.1.attn_k.weight' "$T/good" >"$T/p"
	check "$T/p: no line for tensor blk.1.attn_k.weight"
	{ cat "$T/good"; printf 'blk.0.attn_k.weight\tkeep\n'; } >"$T/p"
	check "$T/p:"
	printf 'blk.9.attn_k.weight\tkeep\n' >"$T/p"
	check "$T/p:1: the model has no tensor blk.9.attn_k.weight"
	printf 'blk.0.attn_k.weight\n' >"$T/p"
	check "$T/p:1: blk.0.attn_k.weight: no type"
	printf 'a\000b\tq8_0\n' >"$T/p"
	check "$T/p:1: a NUL byte"
	ls -a "$T" | grep -v gb-quant- >/dev/null
	[ -z "$(ls -a "$T" | grep gb-quant-)" ]
}

@test "apply: a failing write leaves no temporary file and OUT as it was" {
	"$MK" --layers 2 "$T/m.gguf"
	echo precious >"$T/o.gguf"
	run env LD_PRELOAD="$top/tests/tune/libfailwrite.so" FAILWRITE=gb-quant- FAILWRITE_AFTER=3 \
		"$Q" apply -q --budget 3M "$T/m.gguf" "$T/o.gguf"
	echo "$output"
	[ "$status" -eq 111 ]
	[[ "$output" == "gb-quant: fatal: unable to write $T/o.gguf: Input/output error" ]]
	[ "$(cat "$T/o.gguf")" = precious ]
	[ -z "$(ls -a "$T" | grep gb-quant-)" ]
}

@test "apply: a quantized input is refused without --allow-requantize, and goes smaller with it" {
	"$MK" --type f16 --layers 2 "$T/m.gguf"
	"$Q" plan --budget 1G "$T/m.gguf" | awk -F'\t' -v OFS='\t' '/^#/ { next } $1 ~ /^blk/ && $1 !~ /norm/ { $2 = "q8_0" } 1' >"$T/p"
	"$Q" apply -q --plan "$T/p" "$T/m.gguf" "$T/q8.gguf"
	run "$Q" plan --budget 1M "$T/q8.gguf"
	[ "$status" -eq 1 ]
	[[ "$output" == "gb-quant: fatal: tensor blk.0.attn_q.weight is already q8_0: gb-quant quantizes f32, f16 and bf16 weights (--allow-requantize to quantize it again, losing more)" ]]
	b=$(( $(size_of "$T/q8.gguf") * 80 / 100 ))
	"$Q" apply -q --allow-requantize --budget "$b" "$T/q8.gguf" "$T/q4.gguf"
	[ "$(size_of "$T/q4.gguf")" -le "$b" ]
	"$SD" compare "$T/m.gguf" "$T/q4.gguf" | grep -Eq '	f16	q[456]_K	'
}

@test "--vram: the budget is the card less the KV cache and the reserve" {
	"$MK" --layers 2 --dim 256 --heads 4 --kv-heads 2 "$T/m.gguf"
	# KV: 2 layers x 4096 tokens x 2 kv heads x (64 + 64) x 2 bytes = 4M
	run "$Q" plan --vram 774M --reserve 768M "$T/m.gguf"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "# budget from vram 774M less KV cache for 4096 tokens 4M, reserve 768M" ]]
	echo "$output" | grep -q '^# gb-quant plan for .*, budget 2M (2097152 bytes)$'
	run "$Q" plan --vram 770M --reserve 768M --context 8192 "$T/m.gguf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"leave nothing for the weights"* ]]
}

@test "bad files: missing, a directory, empty, garbage, truncated anywhere; a clear error, never a crash" {
	"$MK" "$T/m.gguf"
	run "$Q" inspect "$T/none.gguf"
	[ "$status" -eq 1 ]
	[[ "$output" == "gb-quant: fatal: $T/none.gguf: "* ]]
	run "$Q" inspect "$T"
	[ "$status" -eq 1 ]
	: >"$T/empty.gguf"
	run "$Q" inspect "$T/empty.gguf"
	[ "$status" -eq 1 ]
	head -c 4096 /dev/urandom >"$T/junk.gguf"
	run "$Q" plan --budget 1M "$T/junk.gguf"
	[ "$status" -eq 1 ]
	[[ "$output" == "gb-quant: fatal: $T/junk.gguf: "* ]]
	n=$(size_of "$T/m.gguf")
	for cut in 3 8 23 100 1000 30000 $((n / 2)) $((n - 1)); do
		head -c "$cut" "$T/m.gguf" >"$T/cut.gguf"
		run "$Q" apply -q --budget 1G "$T/cut.gguf" "$T/o.gguf"
		echo "$cut: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == "gb-quant: fatal: $T/cut.gguf: "* ]]
		[ ! -e "$T/o.gguf" ]
	done
}

@test "apply: OUT must be a regular file: devices, directories and links are refused before any work" {
	"$MK" "$T/m.gguf"
	mkdir "$T/dir"
	ln -s "$T/target.gguf" "$T/link.gguf"
	for out in /dev/null "$T/dir" "$T/link.gguf"; do
		run "$Q" apply -q --budget 1M "$T/m.gguf" "$out"
		echo "$output"
		[ "$status" -eq 100 ]
		[[ "$output" == "gb-quant: usage: $out is "*": OUT must be a regular file or not exist yet" ]]
	done
	[ -c /dev/null ]
	[ ! -e "$T/target.gguf" ]
	# a file that is replaced keeps its mode
	echo old >"$T/o.gguf"
	chmod 600 "$T/o.gguf"
	"$Q" apply -q --budget 1M "$T/m.gguf" "$T/o.gguf"
	[ "$(stat -c %a "$T/o.gguf")" = 600 ]
}

@test "apply: a file size limit is an error like a full disk; no temporary file is left" {
	"$MK" "$T/m.gguf"
	echo precious >"$T/o.gguf"
	run bash -c "ulimit -f 64; exec '$Q' apply -q --budget 2M '$T/m.gguf' '$T/o.gguf'"
	echo "$output"
	[ "$status" -eq 111 ]
	[[ "$output" == "gb-quant: fatal: unable to make room for $T/o.gguf ("*" bytes): File too large" ]]
	[ "$(cat "$T/o.gguf")" = precious ]
	[ -z "$(ls -a "$T" | grep gb-quant-)" ]
}

@test "plan text: names escaped as \\xHH are read back; bad escapes refused" {
	"$MK" --type f16 "$T/m.gguf"
	"$Q" plan --budget 1G "$T/m.gguf" | sed 's/^blk\.0\.attn_q\.weight	f16/blk.0.attn\\x5fq.weight	q8_0/' >"$T/p"
	grep -q '^blk.0.attn\\x5fq.weight	q8_0' "$T/p"
	"$Q" apply -q --plan "$T/p" "$T/m.gguf" "$T/o.gguf"
	"$SD" compare "$T/m.gguf" "$T/o.gguf" | grep -q '^blk.0.attn_q.weight	f16	q8_0	'
	sed -i 's/^blk\.0\.attn\\x5fq/blk.0.attn\\x0q/' "$T/p"
	run "$Q" apply -q --plan "$T/p" "$T/m.gguf" "$T/o.gguf"
	[ "$status" -eq 1 ]
	[[ "$output" == "gb-quant: fatal: $T/p:"*": a bad \\x escape in the tensor name" ]]
	run "$Q" plan --budget 1M --frobnicate "$T/m.gguf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"gb-quant: usage: plan: unknown option --frobnicate, or one missing its argument" ]]
	run "$Q" plan --budget 1G --reserve 1G "$T/m.gguf"
	[ "$status" -eq 100 ]
}

@test "a tensor with a NaN among its weights is kept, never quantized" {
	"$MK" --type bf16 "$T/m.gguf"
	data=$("$Q" inspect "$T/m.gguf" | sed -n 's/^gguf	.*	data at \([0-9]*\)$/\1/p')
	off=$("$Q" inspect "$T/m.gguf" | awk -F'\t' '$1 == "tensor" && $2 == "blk.0.attn_q.weight" { print $6 }')
	[ -n "$data" ] && [ -n "$off" ]
	# bf16 0x7fc0, a quiet NaN, as weight 300
	printf '\300\177' | dd of="$T/m.gguf" bs=1 seek=$((data + off + 600)) conv=notrunc status=none
	"$Q" plan --budget 1M "$T/m.gguf" >"$T/p"
	grep -q '^blk.0.attn_q.weight	bf16	131072	0.000000	bf16	' "$T/p"
	grep -Eq '^blk.1.attn_q.weight	q[456]_K	' "$T/p"
}

@test "mkmodel: --jobs threads write the same file as one, the same model as before" {
	# sha-256 prefixes of files the one-thread version wrote (1d80418):
	# the values do not depend on how many threads wrote them
	for j in 1 2 5; do
		"$MK" --jobs $j "$T/a.gguf"
		[ "$(sha256sum "$T/a.gguf" | cut -c1-16)" = e098614476d98f36 ]
		"$MK" -j $j --type f16 --layers 3 --dim 512 --ff 1024 --vocab 1000 "$T/b.gguf"
		[ "$(sha256sum "$T/b.gguf" | cut -c1-16)" = 3270bf5f18ea4ad1 ]
		"$MK" -j $j --type bf16 --odd --alignment 64 "$T/c.gguf"
		[ "$(sha256sum "$T/c.gguf" | cut -c1-16)" = 447efd6ab95f4c73 ]
	done
	run "$MK" --jobs 0 "$T/d.gguf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"--jobs: invalid value"* ]]
	[ ! -e "$T/d.gguf" ]
}
