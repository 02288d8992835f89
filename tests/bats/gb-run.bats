#!/usr/bin/env bats
# gb-run: options, errors, environment, exec semantics

bats_require_minimum_version 1.5.0

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	gbrun=$top/bin/gb-run
	shim=$top/lib/libgreenboost_cuda.so
	export GB_CONFIG=/dev/null
	export GB_CUDA_LIB=$top/tests/doubles/libcuda.so.1
	export LD_LIBRARY_PATH=$top/tests/doubles
	export GB_RUN_DIR=$BATS_TEST_TMPDIR/run
	unset LD_PRELOAD
}

@test "--help lists every setting as an option" {
	run "$gbrun" --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gb-run "* ]]
	for k in $("$gbrun" --print-config | cut -d' ' -f1); do
		[[ "$output" == *"--${k//_/-} "* ]]
	done
}

@test "--version" {
	run "$gbrun" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^gb-run\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "no command: usage, exit 100" {
	run "$gbrun"
	[ "$status" -eq 100 ]
	[[ "$output" == "usage: gb-run "* ]]
}

@test "unknown option: exit 100" {
	run "$gbrun" --vram-limt 4G true
	[ "$status" -eq 100 ]
	[[ "$output" == *"unrecognized option"* ]]
}

@test "bad value: the fixed error form, exit 100" {
	run "$gbrun" --vram-limit 12Q true
	[ "$status" -eq 100 ]
	[ "$output" = "gb-run: fatal: --vram-limit: vram_limit: invalid size '12Q': unknown unit (use K, M, G or T) (expected e.g. 12G, 512M or 80%)" ]
}

@test "out-of-range value: exit 100" {
	run "$gbrun" --kv-reserve 95% true
	[ "$status" -eq 100 ]
	[[ "$output" == *"kv_reserve: 95% is over the largest percentage, 90%"* ]]
}

@test "-q and -v together: usage error" {
	run "$gbrun" -q -v true
	[ "$status" -eq 100 ]
	[[ "$output" == "gb-run: usage: -q and -v contradict each other" ]]
}

@test "a bad configuration file names the file, the line and the line itself" {
	printf 'threshold = 1M\nvram_limit = lots\n' >"$BATS_TEST_TMPDIR/gb.conf"
	run "$gbrun" -c "$BATS_TEST_TMPDIR/gb.conf" true
	[ "$status" -eq 100 ]
	[[ "$output" == "gb-run: fatal: $BATS_TEST_TMPDIR/gb.conf:2: \"vram_limit = lots\": vram_limit: invalid size 'lots'"* ]]
}

@test "a missing -c file: exit 100" {
	run "$gbrun" -c /nonexistent/gb.conf true
	[ "$status" -eq 100 ]
	[[ "$output" == "gb-run: fatal: unable to read configuration file /nonexistent/gb.conf: No such file or directory" ]]
}

@test "a bad GB_ variable is an error naming it" {
	GB_THRESHOLD=lots run "$gbrun" true
	[ "$status" -eq 100 ]
	[[ "$output" == "gb-run: fatal: GB_THRESHOLD: threshold: invalid size 'lots'"* ]]
}

@test "an unknown GB_ variable is a warning, and the command runs" {
	GB_VRAM_LIMT=4G run "$gbrun" echo ran
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "gb-run: warning: ignoring unknown variable GB_VRAM_LIMT (see gb-run --help)" ]
	[ "${lines[1]}" = "ran" ]
}

@test "--dry-run prints the environment and runs nothing" {
	run "$gbrun" -n --vram-limit 8G --host-limit 16G -v touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "LD_PRELOAD=$shim" ]
	[ "${lines[1]}" = "GB_VRAM_LIMIT=8G" ]
	[ "${lines[2]}" = "GB_HOST_LIMIT=16G" ]
	[ "${lines[3]}" = "GB_LOG_LEVEL=info" ]
	[ "${#lines[@]}" -eq 4 ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "an existing LD_PRELOAD is kept after the shim, and the shim is not added twice" {
	other=$top/tests/shim/libnext2.so
	LD_PRELOAD=$other run "$gbrun" -n true
	[ "${lines[0]}" = "LD_PRELOAD=$shim:$other" ]
	LD_PRELOAD="$other $shim" run "$gbrun" -n true
	[ "${lines[0]}" = "LD_PRELOAD=$other $shim" ]
}

@test "the command's exit status passes through" {
	run "$gbrun" sh -c 'exit 42'
	[ "$status" -eq 42 ]
}

@test "death by a signal passes through" {
	run "$gbrun" sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
}

@test "gb-run execs: the command has gb-run's pid" {
	run sh -c 'echo $$; exec "$1" sh -c "echo \$\$"' sh "$gbrun"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "${lines[1]}" ]
}

@test "the environment is kept and the shim is preloaded" {
	FOO=bar run "$gbrun" --vram-limit 4G sh -c 'echo "$FOO $GB_VRAM_LIMIT $LD_PRELOAD"'
	[ "$status" -eq 0 ]
	[ "$output" = "bar 4G $shim" ]
}

@test "options after the command are the command's" {
	run "$gbrun" echo --vram-limit 4G
	[ "$output" = "--vram-limit 4G" ]
	run "$gbrun" -- echo -n
	[ "$status" -eq 0 ]
}

@test "command not found: 127" {
	run -127 "$gbrun" /nonexistent/program
	[ "$output" = "gb-run: fatal: unable to run /nonexistent/program: No such file or directory" ]
}

@test "command not executable: 126" {
	touch "$BATS_TEST_TMPDIR/noexec"
	run -126 "$gbrun" "$BATS_TEST_TMPDIR/noexec"
	[[ "$output" == *"Permission denied" ]]
}

@test "no NVIDIA driver: says so and runs the command unchanged" {
	GB_CUDA_LIB=/nonexistent/libcuda.so.1 run "$gbrun" sh -c 'echo "[$LD_PRELOAD] [${GB_VRAM_LIMIT:-}]"' 
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "gb-run: warning: no NVIDIA driver here ("*"): running sh without GreenBoost" ]]
	[ "${lines[1]}" = "[] []" ]
}

@test "--dry-run without an NVIDIA driver: the same lines, and a warning that it would run without GreenBoost" {
	GB_CUDA_LIB=/nonexistent/libcuda.so.1 run --separate-stderr "$gbrun" -n --vram-limit 8G --host-limit 16G -v touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "LD_PRELOAD=$shim" ]
	[ "${lines[1]}" = "GB_VRAM_LIMIT=8G" ]
	[ "${lines[2]}" = "GB_HOST_LIMIT=16G" ]
	[ "${lines[3]}" = "GB_LOG_LEVEL=info" ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "$stderr" == "gb-run: warning: no NVIDIA driver here ("*"): touch would run without GreenBoost" ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "--dry-run prints the same with and without a driver, and warns only without" {
	printf 'threshold = 2M\n' >"$BATS_TEST_TMPDIR/gb.conf"
	other=$top/tests/shim/libnext2.so
	set -- -n -c "$BATS_TEST_TMPDIR/gb.conf" --threshold 4M --t2-stream on -q
	LD_PRELOAD=$other run --separate-stderr "$gbrun" "$@"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	with=$output
	[ "$with" = "LD_PRELOAD=$shim:$other
GB_CONFIG=$BATS_TEST_TMPDIR/gb.conf
GB_THRESHOLD=4M
GB_T2_STREAM=on
GB_LOG_LEVEL=error" ]
	LD_PRELOAD=$other GB_CUDA_LIB=/nonexistent/libcuda.so.1 run --separate-stderr "$gbrun" "$@"
	[ "$status" -eq 0 ]
	[ "$output" = "$with" ]
	[[ "$stderr" == "gb-run: warning: no NVIDIA driver here ("*"): the command would run without GreenBoost" ]]
}

@test "--dry-run with enable off prints GB_ENABLE=off, with or without a driver" {
	run --separate-stderr "$gbrun" -n --enable off true
	[ "$status" -eq 0 ]
	[ "$output" = "GB_ENABLE=off" ]
	[ -z "$stderr" ]
	GB_CUDA_LIB=/nonexistent/libcuda.so.1 run --separate-stderr "$gbrun" -n --enable off true
	[ "$status" -eq 0 ]
	[ "$output" = "GB_ENABLE=off" ]
	[ -z "$stderr" ]
}

@test "enable = off: the command runs without the shim, and an inherited one is told" {
	GB_ENABLE=off run "$gbrun" sh -c 'echo "[${LD_PRELOAD:-}]"'
	[ "$output" = "[]" ]
	run "$gbrun" --enable off sh -c 'echo "[${LD_PRELOAD:-}] $GB_ENABLE"'
	[ "$output" = "[] off" ]
}

@test "--print-config shows each value and where it came from" {
	printf 'threshold = 2M\n' >"$BATS_TEST_TMPDIR/gb.conf"
	GB_REPORT=physical run "$gbrun" -c "$BATS_TEST_TMPDIR/gb.conf" --vram-limit 8G -p
	[ "$status" -eq 0 ]
	[[ "$output" == *"threshold = 2M	# $BATS_TEST_TMPDIR/gb.conf:1"* ]]
	[[ "$output" == *"report = physical	# GB_REPORT"* ]]
	[[ "$output" == *"vram_limit = 8G	# --vram-limit"* ]]
	[[ "$output" == *"host_limit = 75%	# default"* ]]
}

@test "children inherit the shim: a grandchild's allocations are placed" {
	run "$gbrun" --vram-limit 256M --kv-reserve 0 --host-limit 1G sh -c "$top/tests/shim/t-probe 512M"
	[ "$status" -eq 0 ]
	[ "$output" = "t1 4 t2 4 status yes" ]
}

@test "the status file exists while the program runs and is gone after" {
	run "$gbrun" --vram-limit 256M --kv-reserve 0 sh -c "$top/tests/shim/t-probe 128M; ls $GB_RUN_DIR"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "t1 2 t2 0 status yes" ]
	[ "${#lines[@]}" -eq 1 ]
}
