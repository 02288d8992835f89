# Shell helpers shared by tests/gpu/run.sh, bench/core/run.sh and
# bench/quant/llama-check.sh; sourced from the repository root after $tmp
# (and $OUT, for gb_out_setup) are set.
# shellcheck shell=sh disable=SC2154 # tmp and log are the caller's

# Nothing from the caller's environment or an installed configuration file
# changes what is measured; status files go to $tmp/run, rewritten often
# enough for a program to read its own back within 200 ms.
# gb_out_setup NAME: $log (NAME.log in $OUT when set) and an empty $rows
gb_out_setup() {
	if [ -n "$OUT" ]; then
		mkdir -p "$OUT" || return 1
		log=$OUT/$1.log
	else
		log=$tmp/log
	fi
	: >"$log"
	rows=$tmp/rows
	: >"$rows"
}

gb_clean_env() {
	for v in $(env | sed -n 's/^\(GB_[A-Z0-9_]*\)=.*/\1/p'); do
		unset "$v"
	done
	# SUITE_CONF: a configuration file to run the whole suite under
	if [ -n "${SUITE_CONF:-}" ]; then
		cp "$SUITE_CONF" "$tmp/empty.conf" || return 1
	else
		: >"$tmp/empty.conf"
	fi
	export GB_CONFIG="$tmp/empty.conf"
	export GB_RUN_DIR="$tmp/run"
	export GB_STATUS_INTERVAL=50ms
	mkdir -p "$GB_RUN_DIR"
}

say() {
	printf '%s\n' "$*"
	printf '%s\n' "$*" >>"$log"
}

# a program's output, indented under the line about it
show() {
	sed 's/^/    /' "$1" | tee -a "$log"
}

# limit SECONDS COMMAND...: a hung GPU program must not eat the budget
limit() {
	secs=$1
	shift
	if command -v timeout >/dev/null 2>&1; then
		timeout -k 10 "$secs" "$@"
	else
		"$@"
	fi
}

# why_rc RC SECONDS: why a command with this exit status failed ("" if not)
why_rc() {
	case $1 in
	0) echo "" ;;
	124 | 137) echo "timed out after $2 s" ;;
	1[3-9][0-9] | 2[0-9][0-9]) echo "killed by signal $(($1 - 128))" ;;
	*) echo "exit status $1" ;;
	esac
}

# sets card, driver, vram, when, commit and prints them
# ($TREE, when set, names the tree: the GPU machine's copy has a stale git)
machine_info() {
	commit=$(git rev-parse --short HEAD 2>/dev/null) || commit=unknown
	if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then
		commit="$commit + local changes"
	fi
	commit=${TREE:-$commit}
	card=unknown driver=unknown vram='?'
	if smi=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1); then
		smi=$(printf '%s\n' "$smi" | head -n 1)
		card=$(printf '%s' "$smi" | awk -F', ' '{ print $1 }')
		driver=$(printf '%s' "$smi" | awk -F', ' '{ print $2 }')
		vram=$(printf '%s' "$smi" | awk -F', ' '{ print $3 }')
	fi
	when=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
	say "# $when"
	say "# card: $card ($vram), driver $driver"
	say "# nvidia-smi: $(printf '%s\n' "$smi" | head -n 1)"
	say "# commit: $commit"
	say "# nvcc: $("$NVCC" --version 2>&1 | tail -n 1)"
}
