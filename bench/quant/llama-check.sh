#!/bin/sh
# LLAMA_CPP=/path/to/llama.cpp/build/bin sh bench/quant/llama-check.sh:
# gb-quant's output checked against llama.cpp itself, on tiny random models
# from tests/quant/mkmodel.
#
#   1. files gb-quant writes at several budgets, from f32, f16 and bf16
#      models, one with odd shapes, one with alignment 64 and a larger one,
#      load and generate in llama-simple;
#   2. a plan that puts every quantizable tensor in one type (q8_0, q6_K,
#      q5_K, q4_K) gives, tensor for tensor, the same bytes as
#      llama-quantize --pure of that type;
#   3. a plan with the types llama-quantize's Q4_K_M mix chose gives the
#      same bytes too; and at the size of that Q4_K_M file, gb-quant's own
#      choice against it: mean KL divergence and same-top-token rate from
#      the f32 and bf16 models, by llama-perplexity.  Random weights make
#      this weak evidence; it is reported, not judged (the check is only
#      that gb-quant's file is no larger and both were scored).
#
# LLAMA_CPP names an existing build's binary folder (llama-simple,
# llama-quantize, llama-perplexity); it is required.  This script never builds
# or downloads llama.cpp, nor anything else: it only runs what is there.  It
# does run make for bin/gb-quant and tests/quant/mkmodel.
#
# Environment: LLAMA_CPP (required); TEXT, a text file for llama-perplexity
# (default: one generated here); THREADS (default 2); OUT, where to write
# llama-check.md (a block for bench/RESULTS.md) and llama-check.log; KEEP=1
# leaves the temporary folder and names it.  CPU only; a few minutes on two
# cores.  Exit status 0 when every check passed, 1 when one failed, 100 usage,
# 111 system error.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111
prog=bench/quant/llama-check.sh
OUT=${OUT:-}
THREADS=${THREADS:-2}
TEXT=${TEXT:-}
KEEP=${KEEP:-}

if [ -z "${LLAMA_CPP:-}" ]; then
	echo "$prog: usage: LLAMA_CPP=/path/to/llama.cpp/build/bin sh $prog" >&2
	exit 100
fi
B=$LLAMA_CPP
for b in llama-simple llama-quantize llama-perplexity; do
	if [ ! -x "$B/$b" ]; then
		echo "$prog: fatal: no $B/$b: LLAMA_CPP must name a built llama.cpp's bin folder" >&2
		exit 100
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gb-llama-check.XXXXXX") || exit 111
cleanup() {
	if [ -n "$KEEP" ]; then
		echo "$prog: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/gpu/common.sh
. tests/gpu/common.sh
gb_out_setup llama-check || exit 111
notes=$tmp/notes
: >"$notes"
kld=$tmp/kld
: >"$kld"
ident=$tmp/ident
: >"$ident"

# a program's output, indented, in the log only
keep_log() {
	sed 's/^/    /' "$1" >>"$log"
}

note() {
	say "# $*"
	printf -- '- %s\n' "$*" >>"$notes"
}

n=0
passed=0
failed=0
# check OK|FAIL DESCRIPTION [WHY]
check() {
	n=$((n + 1))
	if [ "$1" = OK ]; then
		passed=$((passed + 1))
		say "ok $n - $2"
		printf '%s\t%s\t%s\n' "$n" "$2" pass >>"$rows"
	else
		failed=$((failed + 1))
		say "not ok $n - $2${3:+: $3}"
		printf '%s\t%s\t%s\n' "$n" "$2" "FAIL${3:+ ($3)}" >>"$rows"
	fi
}

size_of() {
	wc -c <"$1" | tr -d ' '
}

# ---- what runs, on what ----
commit=$(git rev-parse --short HEAD 2>/dev/null) || commit=unknown
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- lib/quant bin/gb-quant.c tests/quant 2>/dev/null; then
	commit="$commit + local changes"
fi
if [ "$commit" != unknown ] && [ -n "$(git ls-files --others --exclude-standard -- lib/quant bin/gb-quant.c 2>/dev/null)" ]; then
	case $commit in *local*) ;; *) commit="$commit + local changes" ;; esac
fi
# the build's own idea of its commit, else its source tree's
lver=$("$B/llama-perplexity" --version 2>&1 | sed -n 's/^version: //p' | head -n 1)
lsrc=$(cd "$B/../.." 2>/dev/null && pwd)
case ${lver:-unknown} in
*unknown*)
	if lc=$(git -C "$lsrc" rev-parse HEAD 2>/dev/null); then
		lver="$lc (git in $lsrc)"
	elif [ -r "$lsrc/COMMIT.txt" ]; then
		lver="$(sed -n '1s/.*commit //p' "$lsrc/COMMIT.txt") ($lsrc/COMMIT.txt)"
	else
		lver="unknown (the build says ${lver:-nothing})"
	fi
	;;
esac
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
when=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
say "# GreenBoost gb-quant against llama.cpp"
say "# $when"
say "# cpu: ${cpu:-unknown}, $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') online, $THREADS threads used"
say "# commit: $commit"
say "# llama.cpp: $B, commit $lver"

if ! make -s bin/gb-quant tests/quant/mkmodel >"$tmp/make.out" 2>&1 </dev/null; then
	keep_log "$tmp/make.out"
	cat "$tmp/make.out" >&2
	echo "$prog: fatal: make bin/gb-quant tests/quant/mkmodel failed" >&2
	exit 111
fi
GBQ=$top/bin/gb-quant
MK=$top/tests/quant/mkmodel

# text for llama-perplexity: words and punctuation from a fixed LCG, so that
# every run scores the same tokens; 15 chunks of 128 tokens or so
text_desc="\$TEXT, $TEXT"
if [ -z "$TEXT" ]; then
	text_desc="generated here, 70 lines of 11 words from a fixed LCG"
	TEXT=$tmp/text.txt
	awk 'BEGIN {
		split("the a of and fox dog lazy green boost small tiny models llama memory " \
			"machine quantizes plenty brown jumps cores two with on card weights", w, " ")
		nw = 0; for (k in w) nw++
		s = 12345
		for (line = 0; line < 70; line++) {
			out = ""
			for (i = 0; i < 11; i++) {
				s = (s * 1103515245 + 12345) % 2147483648
				word = w[int(s / 65536) % nw + 1]
				out = out (i ? " " : "") (i ? word : toupper(substr(word, 1, 1)) substr(word, 2))
			}
			print out "."
		}
	}' >"$TEXT"
fi

# ---- models ----
# mkmodel NAME ARGS...: $tmp/NAME.gguf
model() {
	name=$1
	shift
	if ! "$MK" "$@" "$tmp/$name.gguf" >"$tmp/mk.out" 2>&1; then
		keep_log "$tmp/mk.out"
		echo "$prog: fatal: mkmodel $* failed: $(cat "$tmp/mk.out")" >&2
		exit 111
	fi
	say "# model $name: mkmodel $*: $(size_of "$tmp/$name.gguf") bytes"
}
large="--layers 4 --dim 512 --ff 1536 --vocab 2048"
model f32 --type f32
model f16 --type f16
model bf16 --type bf16
model odd --odd
model align64 --type f16 --alignment 64
# shellcheck disable=SC2086 # one word an option
model large $large --type f32
# shellcheck disable=SC2086
model large-bf16 $large --type bf16

# generate LABEL MODEL: llama-simple loads MODEL and prints tokens; sets $gen_why
generate() {
	limit 120 "$B/llama-simple" -m "$2" -n 8 "hello" >"$tmp/gen.out" 2>"$tmp/gen.err" </dev/null
	rc=$?
	{
		echo "\$ llama-simple -m $1 -n 8 hello"
		cat "$tmp/gen.out"
		grep -E 'error|failed|decoded|llama_model_load' "$tmp/gen.err"
	} >"$tmp/gen.log"
	keep_log "$tmp/gen.log"
	gen_why=$(why_rc "$rc" 120)
	if [ -z "$gen_why" ]; then
		toks=$(sed -n 's/.*decoded \([0-9][0-9]*\) tokens.*/\1/p' "$tmp/gen.err" | head -n 1)
		if [ "${toks:-0}" -lt 1 ] || [ ! -s "$tmp/gen.out" ]; then
			gen_why="no tokens generated"
		fi
	else
		gen_why="$gen_why: $(grep -iE 'error|failed|invalid' "$tmp/gen.err" | head -n 2 | tr '\n' ' ' | sed 's/ *$//')"
	fi
}

# ---- 1. gb-quant's files load and generate in llama.cpp ----
say ""
say "# 1. gb-quant output at several budgets loads and generates in llama-simple"
for m in f32 f16 bf16 odd align64 large; do
	in=$tmp/$m.gguf
	size=$(size_of "$in")
	generate "$m (input)" "$in"
	if [ -n "$gen_why" ]; then
		check FAIL "$m: the input itself loads in llama-simple" "$gen_why"
		continue
	fi
	# the smallest file the rules allow, from the refusal of a 1-byte budget
	"$GBQ" plan --budget 1 "$in" >/dev/null 2>"$tmp/small.err"
	smallest=$(sed -n 's/.*the smallest this model can be is .*(\([0-9][0-9]*\) bytes)$/\1/p' "$tmp/small.err")
	if [ -z "$smallest" ]; then
		check FAIL "$m: gb-quant names the smallest size" "$(cat "$tmp/small.err")"
		continue
	fi
	budgets="min:$smallest"
	for pct in 30 45 60 100 150; do
		b=$((size * pct / 100))
		if [ "$b" -lt "$smallest" ]; then
			note "$m: $pct% of $size bytes is below the smallest, $smallest bytes: not tried"
			continue
		fi
		budgets="$budgets $pct%:$b"
	done
	for pb in $budgets; do
		label=${pb%%:*}
		b=${pb#*:}
		q=$tmp/$m-q.gguf
		if ! limit 300 "$GBQ" apply -q -j "$THREADS" --budget "$b" "$in" "$q" >"$tmp/apply.out" 2>&1; then
			keep_log "$tmp/apply.out"
			check FAIL "$m at budget $label ($b bytes): gb-quant apply" "$(head -n 2 "$tmp/apply.out" | tr '\n' ' ' | sed 's/ *$//')"
			continue
		fi
		got=$(size_of "$q")
		mix=$("$GBQ" inspect "$q" | awk -F'\t' '$1 == "type" { printf "%s%s %d", s, $2, $3; s = ", " }')
		generate "$m-$label" "$q"
		desc="$m at budget $label ($b bytes): $got bytes [$mix] loads and generates"
		if [ "$got" -gt "$b" ]; then
			check FAIL "$desc" "file over the budget"
		elif [ -n "$gen_why" ]; then
			check FAIL "$desc" "$gen_why"
		else
			check OK "$desc"
		fi
		rm -f "$q"
	done
done

# ---- 2. byte identity with llama-quantize --pure ----
# tensors FILE: NAME TYPE BYTES ABSOLUTE-OFFSET, one a line
tensors() {
	"$GBQ" inspect "$1" | awk -F'\t' '
		$1 == "gguf" { for (i = 2; i <= NF; i++) if ($i ~ /^data at /) { d = $i; sub(/^data at /, "", d) } }
		$1 == "tensor" { print $2, $3, $5, d + $6 }'
}

# raw FILE OFFSET BYTES: a tensor's bytes
raw() {
	tail -c +$(($2 + 1)) "$1" | head -c "$3"
}

# block size in bytes of a type, for naming the block where bytes differ
block_bytes() {
	case $1 in
	q8_0) echo 34 ;;
	q6_K) echo 210 ;;
	q5_K) echo 176 ;;
	q4_K) echo 144 ;;
	f32) echo 4 ;;
	*) echo 2 ;;
	esac
}

# same_bytes GB-FILE LLAMA-FILE: compares the data of every tensor the two
# hold in the same type; sets total, compared, same and missing, and lists
# in $tmp/diffs each tensor whose type or bytes differ
same_bytes() {
	tensors "$1" >"$tmp/tg"
	tensors "$2" >"$tmp/tl"
	total=0 compared=0 same=0 missing=
	: >"$tmp/diffs"
	while read -r name ty bytes off; do
		total=$((total + 1))
		# shellcheck disable=SC2046 # four fields
		set -- "$1" "$2" $(awk -v n="$name" '$1 == n { print; exit }' "$tmp/tl")
		if [ $# -ne 6 ]; then
			missing="$missing $name"
			continue
		fi
		if [ "$4" != "$ty" ]; then
			echo "$name: gb-quant $ty, llama-quantize $4" >>"$tmp/diffs"
			continue
		fi
		compared=$((compared + 1))
		raw "$1" "$off" "$bytes" >"$tmp/a"
		raw "$2" "$6" "$5" >"$tmp/b"
		# an offset past the end would give two empty, equal strings
		if [ "$(size_of "$tmp/a")" != "$bytes" ] || [ "$(size_of "$tmp/b")" != "$5" ]; then
			echo "$name ($ty): cannot read $bytes and $5 bytes at $off and $6" >>"$tmp/diffs"
		elif [ "$bytes" = "$5" ] && cmp -s "$tmp/a" "$tmp/b"; then
			same=$((same + 1))
		else
			first=$(cmp "$tmp/a" "$tmp/b" 2>&1 | sed -n 's/.* byte \([0-9][0-9]*\).*/\1/p')
			nd=$(cmp -l "$tmp/a" "$tmp/b" 2>/dev/null | wc -l | tr -d ' ')
			bb=$(block_bytes "$ty")
			echo "$name ($ty): $bytes and $5 bytes, $nd differ, the first at byte $((${first:-1} - 1)) (block $(((${first:-1} - 1) / bb)))" >>"$tmp/diffs"
		fi
	done <"$tmp/tg"
	keep_log "$tmp/diffs"
}

# judge_bytes DESCRIPTION: after same_bytes, every tensor in both files, in
# the same type, with the same bytes
judge_bytes() {
	if [ -n "$missing" ]; then
		check FAIL "$1" "not in llama-quantize's file:$missing"
	elif [ "$same" -ne "$compared" ]; then
		check FAIL "$1" "$(grep -v 'gb-quant .*, llama-quantize' "$tmp/diffs" | head -n 3 | tr '\n' ';')"
	elif [ "$compared" -ne "$total" ]; then
		check FAIL "$1" "types differ: $(head -n 3 "$tmp/diffs" | tr '\n' ';')"
	else
		check OK "$1"
	fi
}

say ""
say "# 2. every quantizable tensor in one type: gb-quant --plan against llama-quantize --pure"
for m in f32 f16 bf16 odd large-bf16; do
	in=$tmp/$m.gguf
	"$GBQ" plan --budget 100G "$in" >"$tmp/plan0" 2>"$tmp/plan0.err" || {
		check FAIL "$m: gb-quant plan --budget 100G" "$(cat "$tmp/plan0.err")"
		continue
	}
	types="q8_0 q6_K q5_K q4_K"
	# no row of the odd model is a multiple of 256: only q8_0 applies
	[ "$m" = odd ] && types=q8_0
	for t in $types; do
		case $t in
		q8_0) ftype=Q8_0 out_t=q8_0 ;;
		q6_K) ftype=Q6_K out_t=q6_K ;;
		q5_K) ftype=Q5_K_S out_t=q6_K ;;
		q4_K) ftype=Q4_K_S out_t=q6_K ;;
		esac
		# every tensor that has rows and is still f32/f16/bf16 gets the type,
		# where its rows fit the blocks; the output matrix is never below q6_K
		# in gb-quant, so llama-quantize is told the same
		awk -F'\t' -v T="$t" -v OT="$out_t" '
			/^#/ { next }
			{
				ty = $2
				if ($6 ~ /x/ && ($5 == "f32" || $5 == "f16" || $5 == "bf16")) {
					want = $1 == "output.weight" ? OT : T
					split($6, d, "x")
					if (d[1] % (want == "q8_0" ? 32 : 256) == 0)
						ty = want
				}
				print $1 "\t" ty
			}' "$tmp/plan0" >"$tmp/plan-$t"
		gq=$tmp/$m-gb-$t.gguf
		lq=$tmp/$m-llama-$t.gguf
		if ! limit 300 "$GBQ" apply -q -j "$THREADS" --plan "$tmp/plan-$t" "$in" "$gq" >"$tmp/apply.out" 2>&1; then
			keep_log "$tmp/apply.out"
			check FAIL "$m all-$t: gb-quant apply --plan" "$(head -n 2 "$tmp/apply.out" | tr '\n' ' ' | sed 's/ *$//')"
			continue
		fi
		set -- --pure
		[ "$out_t" != "$t" ] && set -- "$@" --output-tensor-type "$out_t"
		if ! limit 300 "$B/llama-quantize" "$@" "$in" "$lq" "$ftype" "$THREADS" >"$tmp/lq.out" 2>&1 </dev/null; then
			keep_log "$tmp/lq.out"
			check FAIL "$m: llama-quantize $* $ftype" "$(grep -iE 'error|failed' "$tmp/lq.out" | head -n 2 | tr '\n' ' ' | sed 's/ *$//')"
			continue
		fi
		same_bytes "$gq" "$lq"
		wanted=$(awk -v t="$t" -v ot="$out_t" '$2 == t || ($1 == "output.weight" && $2 == ot)' "$tmp/tg" | wc -l)
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "all $t" "--pure $ftype" "$total" "$compared" "$same" >>"$ident"
		desc="$m all-$t vs llama-quantize --pure $ftype: $same of $compared tensors of the same type identical ($total in all)"
		[ "$out_t" != "$t" ] && desc="$desc (output.weight $out_t in both)"
		if [ "$wanted" -eq 0 ]; then
			check FAIL "$desc" "no tensor was $t"
		else
			judge_bytes "$desc"
		fi
		if [ "$m" = f32 ] || [ "$m" = large-bf16 ]; then
			generate "$m-all-$t" "$gq"
			if [ -n "$gen_why" ]; then
				check FAIL "$m all-$t from gb-quant loads and generates" "$gen_why"
			else
				check OK "$m all-$t from gb-quant loads and generates"
			fi
		fi
		rm -f "$gq" "$lq"
	done
done

# ---- 3. KL divergence at the size of llama-quantize's Q4_K_M ----
# ppl LABEL ARGS...: llama-perplexity; sets $ppl_why
ppl() {
	label=$1
	shift
	limit 300 "$B/llama-perplexity" "$@" -c 128 -b 128 -t "$THREADS" --no-warmup >"$tmp/ppl-$label.out" 2>&1 </dev/null
	ppl_why=$(why_rc $? 300)
	keep_log "$tmp/ppl-$label.out"
}

# kld_of LABEL: "MEAN-KLD SAME-TOP-P PPL(Q)" or nothing
kld_of() {
	awk '/^Mean +KLD:/ { k = $3 } /^Same top p:/ { p = $4 } /^Mean PPL\(Q\) +:/ { q = $4 }
		END { if (k != "" && p != "") print k, p, q }' "$tmp/ppl-$1.out"
}

say ""
say "# 3. at equal size: gb-quant against llama-quantize Q4_K_M, KL divergence from the unquantized model"
say "# (random weights: every tensor matters about alike and no token is likelier than another;"
say "#  real models differ, so this is weak evidence either way)"
for m in large large-bf16; do
	in=$tmp/$m.gguf
	ppl "$m-base" -m "$in" -f "$TEXT" --kl-divergence-base "$tmp/$m.kld"
	if [ -n "$ppl_why" ] || [ ! -s "$tmp/$m.kld" ]; then
		check FAIL "$m: llama-perplexity writes the base logits" "${ppl_why:-no $m.kld}"
		continue
	fi
	lq=$tmp/$m-q4km.gguf
	gq=$tmp/$m-gb.gguf
	if ! limit 300 "$B/llama-quantize" "$in" "$lq" Q4_K_M "$THREADS" >"$tmp/lq.out" 2>&1 </dev/null; then
		keep_log "$tmp/lq.out"
		check FAIL "$m: llama-quantize Q4_K_M" "$(grep -iE 'error|failed' "$tmp/lq.out" | head -n 2 | tr '\n' ' ' | sed 's/ *$//')"
		continue
	fi
	lsize=$(size_of "$lq")
	# the same mix through gb-quant: llama-quantize's type for every tensor
	# as a plan, and the bytes compared
	tensors "$lq" | awk '{ print $1 "\t" $2 }' >"$tmp/plan-q4km"
	if ! limit 300 "$GBQ" apply -q -j "$THREADS" --plan "$tmp/plan-q4km" "$in" "$gq" >"$tmp/apply.out" 2>&1; then
		keep_log "$tmp/apply.out"
		check FAIL "$m: gb-quant apply --plan with Q4_K_M's types" "$(head -n 2 "$tmp/apply.out" | tr '\n' ' ' | sed 's/ *$//')"
	else
		same_bytes "$gq" "$lq"
		mix=$(awk '{ c[$2]++ } END { for (t in c) { printf "%s%s %d", s, t, c[t]; s = ", " } }' "$tmp/tl")
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "Q4_K_M's types" "Q4_K_M" "$total" "$compared" "$same" >>"$ident"
		judge_bytes "$m: gb-quant --plan with llama-quantize Q4_K_M's types [$mix]: $same of $compared tensors identical ($total in all)"
	fi
	if ! limit 300 "$GBQ" apply -q -j "$THREADS" --budget "$lsize" "$in" "$gq" >"$tmp/apply.out" 2>&1; then
		keep_log "$tmp/apply.out"
		check FAIL "$m: gb-quant apply --budget $lsize" "$(head -n 2 "$tmp/apply.out" | tr '\n' ' ' | sed 's/ *$//')"
		continue
	fi
	gsize=$(size_of "$gq")
	weights=$("$GBQ" inspect "$in" | awk -F'\t' '$1 == "total" { print $4 + 0 }')
	for which in q4km gb; do
		case $which in
		q4km) f=$lq name="llama-quantize Q4_K_M" fsize=$lsize ;;
		gb) f=$gq name="gb-quant --budget $lsize" fsize=$gsize ;;
		esac
		mix=$("$GBQ" inspect "$f" | awk -F'\t' '$1 == "type" { printf "%s%s %d", s, $2, $3; s = ", " }')
		ppl "$m-$which" -m "$f" --kl-divergence-base "$tmp/$m.kld" --kl-divergence
		r=$(kld_of "$m-$which")
		if [ -n "$ppl_why" ] || [ -z "$r" ]; then
			check FAIL "$m: $name: llama-perplexity --kl-divergence" "${ppl_why:-no Mean KLD in its output}"
			continue
		fi
		# shellcheck disable=SC2086 # three fields
		set -- $r
		bpw=$(awk -v b="$fsize" -v w="$weights" 'BEGIN { printf "%.3f", b * 8 / w }')
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$name" "$fsize" "$bpw" "$1" "$2" "${3:-?}" "$mix" >>"$kld"
		say "# $m, $name: $fsize bytes ($bpw bits/weight of the file), mean KLD $1, same top p $2 %, PPL(Q) ${3:-?}; $mix"
	done
	if [ "$gsize" -le "$lsize" ]; then
		check OK "$m: gb-quant's file ($gsize bytes) is within the Q4_K_M file's size ($lsize bytes), and both were scored"
	else
		check FAIL "$m: gb-quant's file within the Q4_K_M file's size" "$gsize > $lsize bytes"
	fi
	k=$(awk -F'\t' -v m="$m" '$1 == m { k[NR % 2] = $5 } END { if (k[1] != "" && k[0] != "") printf "%.3f", k[0] / k[1] }' "$kld")
	note "$m: mean KLD of gb-quant's file / Q4_K_M's: ${k:-n/a} (below 1: gb-quant's is closer to the unquantized model; random weights, weak evidence)"
	rm -f "$lq" "$gq" "$tmp/$m.kld"
done

# ---- report ----
say ""
say "1..$n"
say "# gb-quant vs llama.cpp: $passed passed, $failed failed"
if [ -s "$ident" ]; then
	say "# byte identity (model: gb-quant plan vs llama-quantize: identical of compared, tensors):"
	while IFS=$(printf '\t') read -r a b c d e f; do
		say "#   $a: $b vs $c: $f of $e identical, $d tensors"
	done <"$ident"
fi

if [ -n "$OUT" ]; then
	{
		echo "### gb-quant against llama.cpp (\`sh bench/quant/llama-check.sh\`), $when"
		echo
		echo "- cpu: ${cpu:-unknown}, $THREADS threads"
		echo "- date: $when"
		echo "- commit: $commit"
		echo "- llama.cpp: commit $lver, CPU build, \`LLAMA_CPP=$B\`"
		echo "- command: \`LLAMA_CPP=$B sh bench/quant/llama-check.sh\` (full output in llama-check.log)"
		echo "- models: tests/quant/mkmodel, random weights; large is \`$large\`"
		echo "- llama-perplexity text: $text_desc"
		echo
		echo "| # | check | result |"
		echo "| --- | --- | --- |"
		awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }' "$rows"
		echo
		echo "Byte identity, tensor data of gb-quant's file against llama-quantize's:"
		echo
		echo "| model | gb-quant plan | llama-quantize | tensors | same type | identical |"
		echo "| --- | --- | --- | --- | --- | --- |"
		awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$ident"
		echo
		echo "At equal size, from the unquantized model (llama-perplexity, 128-token chunks; random weights: weak evidence):"
		echo
		echo "| model | file | bytes | bits/weight | mean KLD | same top p % | PPL(Q) | types (tensors) |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
		awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$kld"
		echo
		cat "$notes"
		echo "- $passed passed, $failed failed."
	} >"$OUT/llama-check.md"
fi
[ "$failed" -eq 0 ] || exit 1
