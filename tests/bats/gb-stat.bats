#!/usr/bin/env bats
# gb-stat and greenboost: every output form on fixture status trees (live,
# stale, corrupt and hostile files), the live view under tmux, and the
# umbrella command.

bats_require_minimum_version 1.5.0

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	S=$top/bin/gb-stat
	G=$top/bin/greenboost
	D=$BATS_TEST_TMPDIR/run
	mkdir -p "$D"
	export GB_CONFIG=/dev/null
	unset NO_COLOR
	. "$top/tests/stat/fixture.sh"
	sleep 600 &
	P1=$!
	sleep 600 &
	P2=$!
}

teardown() {
	kill "$P1" "$P2" 2>/dev/null || true
	tmux -L gbstat kill-server 2>/dev/null || true
}

two() {
	status_file "$D" "$P1" INFERENCE 3435973836 5153960755 "python3 serve.py --model llama" A
	status_file "$D" "$P2" MODEL_LOAD 1073741824 0 "ollama runner"
}

@test "--help and --version" {
	run -0 "$S" --help
	[[ "${lines[0]}" == "usage: gb-stat "* ]]
	run -0 "$S" --version
	[[ "$output" =~ ^gb-stat\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "usage errors exit 100" {
	run "$S" -d "$D" frob
	[ "$status" -eq 100 ]
	[[ "$output" == "gb-stat: usage: unknown command frob (show, dump or top)" ]]
	run "$S" -d "$D" -w 0
	[ "$status" -eq 100 ]
	run "$S" -d "$D" -w soon
	[ "$status" -eq 100 ]
	run "$S" -d "$D" --json dump
	[ "$status" -eq 100 ]
	run "$S" -d "$D" --color=sometimes
	[ "$status" -eq 100 ]
	run "$S" -d "$D" show extra
	[ "$status" -eq 100 ]
}

@test "an empty run directory: no GreenBoost processes, exit 0" {
	run -0 "$S" -d "$D"
	[[ "$output" == *"no GreenBoost processes"* ]]
	run -0 "$S" -d "$D" dump
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == host$'\t'* ]]
}

@test "the table: the host, the GPU, a line per process" {
	two
	run -0 "$S" -d "$D"
	[[ "${lines[0]}" == "host    no greenboost.ko pool (path B); gb-tune none" ]]
	[[ "${lines[1]}" == "gpu 0   NVIDIA H200, 140G: T1 4.2G  T2 4.8G  T3 0  (2 processes)" ]]
	[[ "$output" =~ $P1\ +python3\ serve.py\ INFERENCE\ +0\ +3.2G\ +4.8G\ +0\ +3.2G\ +4.8G\ +A ]]
	[[ "$output" =~ $P2\ +ollama\ runner\ +MODEL_LOAD\ +0\ +1.0G\ +0\ +0\ +1.0G\ +1.0M\ +B ]]
	for l in "${lines[@]}"; do [ "${#l}" -le 80 ]; done
	[[ "$output" != *$'\033'* ]]   # not a terminal: no colour
}

@test "colour: --color=always, never with NO_COLOR and auto" {
	two
	run -0 "$S" -d "$D" --color=always
	[[ "$output" == *$'\033[1m'* ]]
	[[ "$output" == *$'\033[32mINFERENCE'* ]]
	NO_COLOR=1 run -0 "$S" -d "$D"
	[[ "$output" != *$'\033'* ]]
}

@test "dump: one record a line, the documented fields" {
	two
	run -0 "$S" -d "$D" dump
	[ "${#lines[@]}" -eq 6 ]
	[ "${lines[0]}" = $'host\t0\t0\t0\t0\tnone\t0.000\t2\t0\t0' ]
	[ "${lines[1]}" = $'gpu\t0\tNVIDIA H200\t150110011392\t4509715660\t5153960755\t0\t2\t0' ]
	IFS=$'\t' read -r -a f <<<"${lines[2]}"
	[ "${#f[@]}" -eq 10 ] && [ "${f[0]}" = process ] && [ "${f[1]}" = "$P1" ] && [ "${f[4]}" = INFERENCE ] &&
		[ "${f[5]}" = A ] && [ "${f[9]}" = "python3 serve.py --model llama" ]
	IFS=$'\t' read -r -a f <<<"${lines[3]}"
	[ "${#f[@]}" -eq 16 ] && [ "${f[0]}" = device ] && [ "${f[5]}" = 3435973836 ] && [ "${f[7]}" = 5153960755 ] &&
		[ "${f[11]}" = 5153960755 ]
}

@test "--json: valid, and the same figures" {
	command -v python3 >/dev/null || skip "python3 checks the JSON"
	two
	run -0 "$S" -d "$D" --json
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
p = {x["pid"]: x for x in d["processes"]}
a = p[int(sys.argv[2])]
assert a["cmdline"] == "python3 serve.py --model llama" and a["phase"] == "INFERENCE" and a["path"] == "A"
assert a["devices"][0]["t2_bytes"] == 5153960755 and a["devices"][0]["t2_pool_bytes"] == 5153960755
assert d["gpus"][0]["t1_bytes"] == 4509715660 and d["gpus"][0]["processes"] == 2
assert d["host"]["pool"] is None and d["stale_count"] == 0
' "$output" "$P1"
}

@test "--prometheus: the exposition format, and a file written whole" {
	two
	run -0 "$S" -d "$D" --prometheus
	# every sample line is NAME{LABELS} VALUE; every metric has HELP and TYPE first
	bad=$(grep -v '^#' <<<"$output" | grep -cvE '^greenboost_[a-z0-9_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [0-9]+(\.[0-9]+)?$' || true)
	[ "$bad" -eq 0 ]
	for m in $(grep -v '^#' <<<"$output" | sed 's/[{ ].*//' | sort -u); do
		grep -q "^# TYPE $m \(gauge\|counter\)$" <<<"$output"
		grep -q "^# HELP $m " <<<"$output"
	done
	grep -q "^greenboost_process_memory_bytes{pid=\"$P1\",comm=\"python3\",gpu=\"0\",tier=\"t2\"} 5153960755$" <<<"$output"
	grep -q '^greenboost_processes 2$' <<<"$output"
	run -0 "$S" -d "$D" --prometheus="$BATS_TEST_TMPDIR/greenboost.prom"
	[ -z "$output" ]
	grep -q '^greenboost_processes 2$' "$BATS_TEST_TMPDIR/greenboost.prom"
	[ "$(ls "$BATS_TEST_TMPDIR" | grep -c 'greenboost.prom')" -eq 1 ]   # no temporary left
}

@test "stale files: skipped, counted, listed with --all" {
	two
	# the same pid, another start time: the pid was reused
	sed "s/^starttime\t.*/starttime\t1/" "$D/$P2.status" >"$D/$P2.tmp" && mv "$D/$P2.tmp" "$D/$P2.status"
	run -0 "$S" -d "$D"
	[[ "$output" != *"ollama"* ]]
	[[ "$output" == *"(1 stale, 0 unreadable status files: gb-stat --all)"* ]]
	run -0 "$S" -d "$D" --all
	[[ "$output" == *"stale   $D/$P2.status: the process is gone"* ]]
	run -0 "$S" -d "$D" dump --all
	[[ "$output" == *$'\nstale\t'"$P2"$'\t'* ]]
}

@test "garbage, torn, hostile and huge files never crash it" {
	two
	printf 'garbage\n' >"$D/11.status"
	head -c 300 "$D/$P1.status" >"$D/12.status"                 # torn: no final newline
	printf 'version\t1\npid\t13\nphase\tSLEEPING\n' >"$D/13.status"
	ln -s /etc/passwd "$D/14.status"                             # a link
	mkfifo "$D/15.status"                                        # would block a naive reader
	head -c 100000 /dev/zero | tr '\0' 'x' >"$D/16.status"         # too large
	printf '\xff\xfe\x00\x01\n' >"$D/17.status"
	sed "s/^pid\t.*/pid\t$P2/" "$D/$P1.status" >"$D/18.status"   # speaks for another pid
	mkdir "$D/19.status"
	: >"$D/20.status"
	run -0 timeout 10 "$S" -d "$D" --all
	[[ "$output" == *"python3 serve.py"* ]]
	[ "$(grep -c '^bad ' <<<"$output")" -eq 10 ]
	[[ "$output" == *"14.status: a symbolic link"* ]]
	[[ "$output" == *"15.status: not a regular file"* ]]
	[[ "$output" == *"16.status: larger than 64 KiB"* ]]
	[[ "$output" == *"18.status: speaks for pid $P2"* ]]
	run -0 timeout 10 "$S" -d "$D" --json --all
	run -0 timeout 10 "$S" -d "$D" --prometheus
	grep -q '^greenboost_status_files_unreadable 10$' <<<"$output"
}

@test "a file claiming another user's uid is refused" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a file to another user"
	two
	chown 65534 "$D/$P1.status"
	run -0 "$S" -d "$D" --all
	[[ "$output" == *"owned by uid 65534 but claims uid 0"* ]]
	[[ "$output" != *"python3 serve.py"* ]]
}

@test "a command line with tabs and newlines: escaped in dump, real in JSON, blanks in the table" {
	status_file "$D" "$P1" INFERENCE 1 1 'sh -c a\tb\nc'
	run -0 "$S" -d "$D" dump
	[[ "$output" == *$'\t''sh -c a\tb\nc'$'\n'* ]]
	[ "$(grep -c '^process' <<<"$output")" -eq 1 ]
	run -0 "$S" -d "$D"
	[[ "$output" == *"sh -c a b c"* ]]
	if command -v python3 >/dev/null; then
		run -0 "$S" -d "$D" --json
		python3 -c 'import json, sys; assert json.loads(sys.argv[1])["processes"][0]["cmdline"] == "sh -c a\tb\nc"' "$output"
	fi
}

# Another user's status file, as hostile as the parser lets it be: raw C1
# controls (CSI, OSC, ST) and bytes that are not UTF-8 in the command line
# and the GPU name, the file's own escapes for ESC, BEL, DEL and a C1 (which
# the views unescape), printable UTF-8 beside them; and a file that does
# not parse, whose error message quotes its hostile line.
hostile() {
	status_file "$D" "$P1" INFERENCE 1 1 $'\xc2\x9b31m caf\xc3\xa9 \xc2\x9d0;pwned\xc2\x9c \x9b\x9d\xff \\x1b[2J \\x9b \\xc2\\x9d \\x7f'
	sed -i $'s/^dev0.name\t.*/dev0.name\t\xc2\x9bGPU caf\xc3\xa9 \xe6\x97\xa5\\\\x1b]0;gpu\\\\x07/' "$D/$P1.status"
	printf 'version\t1\npid\t13\nphase\t\xc2\x9d0;pwned\xc2\x9c\xff\n' >"$D/13.status"
}

# FILE is what may reach a terminal: UTF-8, and no control character
# (C0 but tab and newline, DEL, C1) raw
terminal_safe() {
	if ! iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1; then
		echo "$1: not UTF-8:"
		cat -v "$1"
		return 1
	fi
	if LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$1" | cat -v | grep .; then
		echo "$1: a raw control character, above"
		return 1
	fi
}

@test "a hostile status file: nothing of it reaches stdout raw, in any view or error message" {
	hostile
	local o=$BATS_TEST_TMPDIR/out m
	for m in show "show --all" dump "dump --all" --json "--json --all" --prometheus top; do
		# shellcheck disable=SC2086
		"$S" -d "$D" $m </dev/null >"$o" 2>&1
		echo "== gb-stat $m"
		terminal_safe "$o"
	done
	"$S" -d "$D" --prometheus="$BATS_TEST_TMPDIR/greenboost.prom"
	terminal_safe "$BATS_TEST_TMPDIR/greenboost.prom"
	# colour: its own escapes, and no other
	"$S" -d "$D" --all --color=always >"$o"
	sed -i 's/\x1b\[[0-9;]*m//g' "$o"
	terminal_safe "$o"
	! grep -q $'\033' "$o"
}

@test "a hostile status file: the table and dump show \\xHH, printable UTF-8 as it is" {
	hostile
	run -0 "$S" -d "$D" --all
	echo "$output"
	[[ "${lines[1]}" == 'gpu 0   \xc2\x9bGPU café 日\x1b]0;gp, 140G: '* ]]
	[[ "$output" =~ $P1\ +'\xc2\x9b31m caf'\ +INFERENCE ]]
	[[ "$output" == *"bad     $D/13.status: line 3: unknown phase '"'\xc2\x9d0;pwned\xc2\x9c\xff'"'"* ]]
	run -0 "$S" -d "$D" dump --all
	# the status file's escapes kept, raw bytes escaped the same way
	[[ "$output" == *$'\n''process'$'\t'"$P1"$'\t'"$(id -u)"$'\t''\xc2\x9b31m'$'\t''INFERENCE'$'\t'* ]]
	[[ "$output" == *$'\t''\xc2\x9b31m caf'é' \xc2\x9d0;pwned\xc2\x9c \x9b\x9d\xff \x1b[2J \x9b \xc2\x9d \x7f'$'\n'* ]]
	[[ "$output" == *$'\n''gpu'$'\t''0'$'\t''\xc2\x9bGPU café 日\x1b]0;gpu\x07'$'\t'* ]]
	[[ "$output" == *$'\n''bad'$'\t''13'$'\t'"$D/13.status"$'\t'"$D/13.status: line 3: unknown phase '"'\xc2\x9d0;pwned\xc2\x9c\xff'"'" ]]
}

@test "a hostile status file: JSON's own escapes, Prometheus's own escapes" {
	hostile
	run -0 "$S" -d "$D" --prometheus
	grep -qF 'greenboost_process_info{pid="'"$P1"'",comm="\\xc2\\x9b31m",' <<<"$output"
	grep -qF 'greenboost_gpu_vram_bytes{gpu="0",name="\\xc2\\x9bGPU café 日\\x1b]0;gpu\\x07"} ' <<<"$output"
	command -v python3 >/dev/null || skip "python3 checks the JSON"
	run -0 "$S" -d "$D" --json --all
	[[ "$output" == *'"comm":"\u009b31m"'* ]]
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
p = d["processes"][0]
assert p["cmdline"] == "\x9b31m caf\xe9 \x9d0;pwned\x9c \ufffd\ufffd\ufffd \x1b[2J \ufffd \x9d \x7f", ascii(p["cmdline"])
assert d["gpus"][0]["name"] == "\x9bGPU caf\xe9 \u65e5\x1b]0;gpu\x07", ascii(d["gpus"][0]["name"])
assert d["bad"][0]["why"].endswith(": line 3: unknown phase \x27\x9d0;pwned\x9c\ufffd\x27"), ascii(d["bad"][0]["why"])
' "$output"
}

@test "-w: again every interval, one record set after another" {
	two
	run timeout 2.6 "$S" -d "$D" -w 1 dump
	[ "$status" -eq 124 ]
	[ "$(grep -c '^host' <<<"$output")" -ge 2 ]
	run timeout 1.6 "$S" -d "$D" -w 0.5 --json
	[ "$(grep -c '^{"version":1' <<<"$output")" -ge 2 ]
}

@test "--root: greenboost.ko's pool and gb-tune's profile on the host line" {
	R=$BATS_TEST_TMPDIR/root
	mkdir -p "$R/sys/class/misc/greenboost" "$R/var/lib/greenboost"
	echo 17179869184 >"$R/sys/class/misc/greenboost/total_bytes"
	echo 12884901888 >"$R/sys/class/misc/greenboost/free_bytes"
	echo 0 >"$R/sys/class/misc/greenboost/held_bytes"
	printf 'version\t1\nprofile\tfull\napplied\t1795750000.000\n' >"$R/var/lib/greenboost/tune.state"
	run -0 "$S" --root "$R" -d "$D"
	[[ "${lines[0]}" == "host    greenboost.ko pool 16G, 12G free, 0 held; gb-tune full since "* ]]
	run -0 "$S" --root "$R" -d "$D" dump
	[[ "${lines[0]}" == $'host\t1\t17179869184\t12884901888\t0\tfull\t1795750000.000\t0\t0\t0' ]]
	printf 'nonsense\n' >"$R/var/lib/greenboost/tune.state"
	run -0 "$S" --root "$R" -d "$D"
	[[ "${lines[0]}" == *"gb-tune unreadable" ]]
}

@test "the default directory is run_dir from the configuration" {
	two
	printf 'run_dir = %s\n' "$D" >"$BATS_TEST_TMPDIR/gb.conf"
	GB_CONFIG=$BATS_TEST_TMPDIR/gb.conf run -0 "$S"
	[[ "$output" == *"python3 serve.py"* ]]
}

@test "top without a terminal: the plain table once" {
	two
	run -0 timeout 5 "$S" -d "$D" top </dev/null
	[[ "$output" == *"python3 serve.py"* ]]
	[[ "$output" != *$'\033'* ]]
}

@test "top under tmux, 80x24: bars, the stale list on 'a', q quits" {
	command -v tmux >/dev/null || skip "tmux is needed to drive the live view"
	two
	sed "s/^starttime\t.*/starttime\t1/" "$D/$P2.status" >"$D/99.status"
	sed -i "s/^pid\t.*/pid\t99/" "$D/99.status"
	tmux -L gbstat -f /dev/null new-session -d -s top -x 80 -y 24 "TERM=screen $S -d $D top -w 0.3"
	screen=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 0.5
		screen=$(tmux -L gbstat capture-pane -p -t top)
		[[ "$screen" == *"$P1"* ]] && break
	done
	echo "$screen"
	[[ "$screen" == *"gb-stat top"* ]]
	[[ "$screen" =~ $P1\ +python3\ +INFERENCE\ +0\ \[#+\ *\]\ +3.2G/4.0G\ \[#+\ *\]\ +4.8G/16G ]]
	[[ "$screen" =~ $P2\ +ollama\ +MODEL_LOAD ]]
	[[ "$screen" != *"stale "* ]]
	tmux -L gbstat send-keys -t top a
	sleep 1
	screen=$(tmux -L gbstat capture-pane -p -t top)
	[[ "$screen" == *"stale $D/99.status"* ]]
	tmux -L gbstat send-keys -t top q
	for _ in 1 2 3 4 5 6; do
		sleep 0.5
		tmux -L gbstat has-session -t top 2>/dev/null || break
	done
	! tmux -L gbstat has-session -t top 2>/dev/null
}

@test "top under tmux: a hostile status file's text reaches the terminal escaped" {
	command -v tmux >/dev/null || skip "tmux is needed to drive the live view"
	hostile
	local raw=$BATS_TEST_TMPDIR/raw screen=
	# every byte gb-stat writes to the terminal, from its first screen
	tmux -L gbstat -f /dev/null new-session -d -s top -x 80 -y 24 \
		"sleep 1; LC_ALL=C.UTF-8 TERM=screen exec $S -d $D top -w 0.3"
	tmux -L gbstat pipe-pane -t top -o "cat >>$raw"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 0.5
		screen=$(tmux -L gbstat capture-pane -p -t top)
		[[ "$screen" == *"$P1"* ]] && break
	done
	tmux -L gbstat send-keys -t top a
	sleep 1
	screen=$(tmux -L gbstat capture-pane -p -t top)
	tmux -L gbstat send-keys -t top q
	sleep 0.5
	echo "$screen"
	[[ "$screen" == *'gpu 0 \xc2\x9bGPU café 日\x1b]0;'* ]]
	[[ "$screen" =~ $P1\ +'\xc2\x9b31m'\ +INFERENCE ]]
	[[ "$screen" == *"bad   $D/13.status: line 3"* ]]
	# curses' own escapes, but no C1, no OSC, no BEL, nothing that is not UTF-8
	iconv -f UTF-8 -t UTF-8 "$raw" >/dev/null
	! LC_ALL=C grep -aP '\xc2[\x80-\x9f]|\x1b\]|\x07' "$raw"
}

@test "a real process under the shim (and the CUDA test double): shown while it runs, gone after" {
	command -v python3 >/dev/null || skip "python3 drives the CUDA test double"
	local script=$BATS_TEST_TMPDIR/hold.py
	cat >"$script" <<-'EOF'
		import ctypes, os, sys, time
		cu = ctypes.CDLL("libcuda.so.1")
		dev, ctx, p = ctypes.c_int(), ctypes.c_void_p(), ctypes.c_uint64()
		assert cu.cuInit(0) == 0 and cu.cuDeviceGet(ctypes.byref(dev), 0) == 0
		assert cu.cuCtxCreate_v2(ctypes.byref(ctx), 0, dev) == 0
		for i in range(3):
		    assert cu.cuMemAlloc_v2(ctypes.byref(p), 64 << 20) == 0
		open(sys.argv[1], "w").close()
		while not os.path.exists(sys.argv[2]):
		    time.sleep(0.05)
	EOF
	env -u LD_PRELOAD GB_CONFIG=/dev/null GB_RUN_DIR="$D" GB_CUDA_LIB="$top/tests/doubles/libcuda.so.1" \
		LD_LIBRARY_PATH="$top/tests/doubles" "$top/bin/gb-run" --status-interval 50ms --vram-limit 128M \
		--kv-reserve 0 python3 "$script" "$BATS_TEST_TMPDIR/ready" "$BATS_TEST_TMPDIR/done" &
	pid=$!
	for _ in $(seq 100); do [ -e "$BATS_TEST_TMPDIR/ready" ] && break; sleep 0.05; done
	sleep 0.3
	run -0 "$S" -d "$D" dump
	echo "$output"
	touch "$BATS_TEST_TMPDIR/done"
	wait "$pid"
	grep -q $'^process\t'"$pid"$'\t[0-9]*\tpython3\t' <<<"$output"
	# 128M of VRAM: two 64M allocations there, the third in T2
	grep -q $'^device\t'"$pid"$'\t0\t[^\t]*\t134217728\t134217728\t134217728\t67108864\t' <<<"$output"
	run -0 "$S" -d "$D"
	[[ "$output" == *"no GreenBoost processes"* ]]
}

# ---- greenboost, the umbrella ----

@test "greenboost help lists the commands and which are installed" {
	run -0 "$G" help
	[[ "${lines[0]}" == "usage: greenboost "* ]]
	[[ "$output" =~ run\ +gb-run\ +run\ a\ command ]]
	[[ "$output" =~ feed\ +gb-feed\ .*\[not\ installed\] ]]
	! grep -q 'gb-stat .*\[not installed\]' <<<"$output"
	! grep -q 'gb-quant .*\[not installed\]' <<<"$output"
}

@test "greenboost CMD execs gb-CMD with the arguments" {
	two
	run -0 "$G" stat -d "$D" dump
	[ "$(grep -c '^process' <<<"$output")" -eq 2 ]
	run -0 "$G" run --version
	[[ "$output" =~ ^gb-run\  ]]
	run -0 "$G" help tune
	[[ "${lines[0]}" == "usage: gb-tune "* ]]
}

@test "greenboost alone runs gb-stat" {
	printf 'run_dir = %s\n' "$D" >"$BATS_TEST_TMPDIR/gb.conf"
	two
	GB_CONFIG=$BATS_TEST_TMPDIR/gb.conf run -0 "$G"
	[[ "$output" == *"python3 serve.py"* ]]
}

@test "greenboost: unknown and not-yet-built commands" {
	run "$G" frobnicate
	[ "$status" -eq 100 ]
	[[ "$output" == "greenboost: usage: unknown command frobnicate (greenboost help lists them)" ]]
	run -127 "$G" feed --help
	[[ "$output" == "greenboost: fatal: gb-feed is not installed (this version of GreenBoost does not have it yet)" ]]
	run -100 "$G" quant
	[[ "$output" == "usage: gb-quant inspect"* ]]
	run -0 "$G" --version
	[[ "$output" =~ ^greenboost\ [0-9.]+$ ]]
}
