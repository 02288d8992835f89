#!/usr/bin/env bats
# The documents against the programs: man pages render cleanly, every
# configuration key is documented where it should be, every status-file
# key is explained, and gb-run's SYNOPSIS is its usage line.

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	gbrun=$top/bin/gb-run
	man1=$top/man/gb-run.1
	conf5=$top/man/greenboost.conf.5
	overview7=$top/man/greenboost.7
	etcconf=$top/etc/greenboost.conf
	[ -x "$gbrun" ] || skip "bin/gb-run is not built (run make)"
	# "env -u" for every GB_ variable inherited, so that none sways gb-run
	unset_gb=()
	local v
	for v in $(env | sed -n 's/^\(GB_[A-Za-z0-9_]*\)=.*/\1/p'); do
		unset_gb+=(-u "$v")
	done
}

# "key<TAB>default" for every key, as gb-run -p prints them with no file
# and no GB_ variables
keys_and_defaults() {
	env "${unset_gb[@]}" GB_CONFIG=/dev/null "$gbrun" -p |
		sed -n 's/^\([a-z0-9_]*\) = \(.*\)	# default$/\1	\2/p'
}

@test "the man pages are all there" {
	for f in gb-run.1 gb-demo.1 gb-stat.1 gb-quant.1 greenboost.1 gb-tune.8 greenboost.4 greenboost.conf.5 greenboost.7; do
		[ -f "$top/man/$f" ] || { echo "missing man/$f"; return 1; }
	done
}

@test "every man page renders without warnings (man)" {
	command -v man >/dev/null || skip "man is not installed (Debian: apt-get install man-db)"
	local f err bad=0
	for f in "$top"/man/*.[1-8]; do
		err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
		if [ -n "$err" ]; then
			echo "${f#"$top"/}:"
			echo "$err"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "every man page passes mandoc -T lint" {
	command -v mandoc >/dev/null || skip "mandoc is not installed (Debian: apt-get install mandoc)"
	local f err bad=0
	for f in "$top"/man/*.[1-8]; do
		# style-level notes about cross-references to pages not yet
		# installed are not errors; warnings and worse are
		err=$(mandoc -T lint -W warning "$f" 2>&1)
		if [ -n "$err" ]; then
			echo "$err"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "gb-run -p lists keys" {
	run keys_and_defaults
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 10 ]
}

@test "every key is a tag in greenboost.conf(5)" {
	local k d bad=0
	while IFS='	' read -r k d; do
		if ! grep -Eq "^\.It Ic $k( |\$)" "$conf5"; then
			echo "greenboost.conf.5 has no '.It Ic $k'"
			bad=1
		fi
	done < <(keys_and_defaults)
	[ "$bad" -eq 0 ]
}

@test "greenboost.conf(5) documents no key that does not exist" {
	local k bad=0 known
	known=$(keys_and_defaults | cut -f1)
	for k in $(sed -n 's/^\.It Ic \([a-z0-9_]*\).*/\1/p' "$conf5"); do
		if ! grep -qxF "$k" <<<"$known"; then
			echo "greenboost.conf.5 documents unknown key $k"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "every key is an option in gb-run(1)" {
	local k d opt bad=0
	while IFS='	' read -r k d; do
		opt=${k//_/-}
		if ! grep -Eq "^\.It Fl \\\\-$opt( |\$)" "$man1"; then
			echo "gb-run.1 has no '.It Fl \\-$opt'"
			bad=1
		fi
		if ! grep -qF "GB_${k^^}" "$man1"; then
			echo "gb-run.1 does not name GB_${k^^}"
			bad=1
		fi
	done < <(keys_and_defaults)
	[ "$bad" -eq 0 ]
}

@test "every key is in etc/greenboost.conf as '#key = default'" {
	local k d want bad=0
	while IFS='	' read -r k d; do
		want="#$k = $d"
		want=${want%" "} # an empty default: "#log_file ="
		if ! sed 's/[[:space:]]*$//' "$etcconf" | grep -qxF "$want"; then
			echo "etc/greenboost.conf lacks the line '$want'"
			bad=1
		fi
	done < <(keys_and_defaults)
	[ "$bad" -eq 0 ]
}

@test "etc/greenboost.conf names no key that does not exist" {
	local k bad=0 known
	known=$(keys_and_defaults | cut -f1)
	for k in $(sed -n 's/^#\([a-z0-9_]*\) =.*/\1/p' "$etcconf"); do
		if ! grep -qxF "$k" <<<"$known"; then
			echo "etc/greenboost.conf names unknown key $k"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

# every key of a status file (argument) is a tag in greenboost(7), the
# device keys written as devN.KEY, an allocation's as devN.allocK.KEY
check_status_keys() {
	local k bad=0 words
	words=$(grep '^\.It ' "$overview7" | tr ' ' '\n')
	for k in $(cut -f1 "$1" | sed 's/^dev[0-9][0-9]*\./devN./; s/^devN\.alloc[0-9][0-9]*\./devN.allocK./' | sort -u); do
		if ! grep -qxF "$k" <<<"$words"; then
			echo "greenboost.7 has no '.It' for status key $k"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "every status-file key is explained in greenboost(7)" {
	local full=$top/tests/fuzz/corpus/status/full
	[ -f "$full" ]
	# the corpus file holds every key, the t3 ones included
	grep -q '^dev0\.t3_peak	' "$full"
	check_status_keys "$full"
	# and the one with allocations, their keys
	grep -q '^dev0\.alloc0\.kind	' "$top/tests/fuzz/corpus/status/allocs"
	check_status_keys "$top/tests/fuzz/corpus/status/allocs"
}

@test "every key of a real status file is explained in greenboost(7)" {
	command -v python3 >/dev/null || skip "python3 is needed to drive the CUDA test double"
	local script=$BATS_TEST_TMPDIR/snap.py out=$BATS_TEST_TMPDIR/real.status
	# allocate through the shim and the test double, and copy the status
	# file once the device keys are in it
	cat >"$script" <<-'EOF'
		import ctypes, os, shutil, sys, time
		cu = ctypes.CDLL("libcuda.so.1")
		dev, ctx, p = ctypes.c_int(), ctypes.c_void_p(), ctypes.c_uint64()
		assert cu.cuInit(0) == 0
		assert cu.cuDeviceGet(ctypes.byref(dev), 0) == 0
		assert cu.cuCtxCreate_v2(ctypes.byref(ctx), 0, dev) == 0
		for i in range(3):
		    assert cu.cuMemAlloc_v2(ctypes.byref(p), 64 << 20) == 0
		path = os.path.join(os.environ["GB_RUN_DIR"], "%d.status" % os.getpid())
		for i in range(200):
		    time.sleep(0.05)
		    try:
		        text = open(path).read()
		    except OSError:
		        continue
		    if "\ndev0.t2_count\t1\n" in text and "\ndev0.refused\t" in text:
		        shutil.copy(path, sys.argv[1])
		        sys.exit(0)
		sys.exit(1)
	EOF
	run env "${unset_gb[@]}" -u LD_PRELOAD GB_CONFIG=/dev/null GB_RUN_DIR="$BATS_TEST_TMPDIR/run" \
		GB_CUDA_LIB="$top/tests/doubles/libcuda.so.1" LD_LIBRARY_PATH="$top/tests/doubles" \
		"$gbrun" --status-interval 50ms --vram-limit 128M --kv-reserve 0 python3 "$script" "$out"
	[ "$status" -eq 0 ]
	# one allocation spilled to T2, so every tier's keys are there
	grep -q '^dev0\.t2_count	1$' "$out"
	grep -q '^dev0\.t3_bytes	' "$out"
	# and the three allocations are listed
	grep -q '^dev0\.alloc2\.kind	mem$' "$out"
	check_status_keys "$out"
}

@test "the SYNOPSIS of gb-run(1) is gb-run's usage line" {
	local usage synopsis
	usage=$("$gbrun" --help | head -n 1)
	usage=${usage#usage: }
	if command -v man >/dev/null; then
		synopsis=$(LC_ALL=C MANWIDTH=200 man -E ascii -l "$man1" 2>/dev/null)
	elif command -v mandoc >/dev/null; then
		synopsis=$(mandoc -T ascii -O width=200 "$man1")
	else
		skip "neither man nor mandoc is installed"
	fi
	synopsis=$(sed 's/.\x08//g' <<<"$synopsis" | awk '/^SYNOPSIS/ { getline; print; exit }' |
		sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
	echo "usage:    $usage"
	echo "synopsis: $synopsis"
	[ -n "$usage" ]
	[ "$synopsis" = "$usage" ]
}

# ---- the kernel module against greenboost(4) ----

@test "every module parameter is in greenboost(4) and etc/modprobe.d" {
	local params p bad=0
	params=$(sed -n 's/^module_param(\([a-z_]*\),.*/\1/p; s/^module_param_named(\([a-z_]*\),.*/\1/p' "$top/kmod/greenboost.c")
	[ "$(wc -w <<<"$params")" -ge 4 ]
	for p in $params; do
		grep -q "^\.It Cm $p Ns" "$top/man/greenboost.4" || { echo "greenboost.4 has no .It for $p"; bad=1; }
		grep -q "^# $p " "$top/etc/modprobe.d/greenboost.conf" || { echo "etc/modprobe.d has no line for $p"; bad=1; }
	done
	[ "$bad" -eq 0 ]
}

@test "every sysfs statistic and every ioctl is in greenboost(4)" {
	local names n bad=0
	names=$(sed -n 's/^STAT(\([a-z_]*\),.*/\1/p' "$top/kmod/greenboost.c")
	[ "$(wc -w <<<"$names")" -ge 8 ]
	for n in $names; do
		grep -q "^\.It Pa $n\$" "$top/man/greenboost.4" || { echo "greenboost.4 has no .It for $n"; bad=1; }
	done
	names=$(sed -n 's/^#define \(GB_POOL_IOC_[A-Z]*\) _IO.*/\1/p' "$top/kmod/uapi/greenboost.h")
	[ "$(wc -w <<<"$names")" -eq 4 ]
	for n in $names; do
		grep -q "^\.It Dv $n " "$top/man/greenboost.4" || { echo "greenboost.4 has no .It for $n"; bad=1; }
	done
	[ "$bad" -eq 0 ]
}

@test "kmod/dkms.conf has the version configure has" {
	local v d
	v=$(sed -n 's/^VERSION = //p' "$top/configure")
	d=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/kmod/dkms.conf")
	[ -n "$v" ] && [ "$v" = "$d" ]
}

@test "README's commands are what .ci/run runs, and it names each step of ./quickstart" {
	grep -qxF './quickstart' "$top/README.md"
	grep -qxF './configure && make check' "$top/README.md"
	grep -qxF '.ci/deps' "$top/.ci/run"
	grep -qxF './configure && make check' "$top/.ci/run"
	local cmd n=0
	while read -r cmd; do
		cmd=${cmd#.ci/as-root }
		grep -qF "\`$cmd\`" "$top/README.md" || { echo "README.md does not name \`$cmd\`"; return 1; }
		n=$((n + 1))
	done < <(sed -n 's/^step "[^"]*" //p; s/^step [a-z]* //p; s/^exec //p' "$top/quickstart")
	[ "$n" -eq 5 ]
}

# ---- gb-tune against gb-tune(8) ----

# a man page rendered as plain text, 200 columns
render() {
	if command -v man >/dev/null; then
		LC_ALL=C MANWIDTH=200 man -E ascii -l "$1" 2>/dev/null | sed 's/.\x08//g'
	elif command -v mandoc >/dev/null; then
		mandoc -T ascii -O width=200 "$1" | sed 's/.\x08//g'
	else
		return 1
	fi
}

@test "the SYNOPSIS of gb-tune(8), gb-stat(1) and greenboost(1) is each program's usage" {
	local prog page usage synopsis bad=0
	for prog in gb-tune:gb-tune.8 gb-stat:gb-stat.1 greenboost:greenboost.1; do
		page=${prog#*:}
		prog=${prog%%:*}
		usage=$("$top/bin/$prog" --help | sed -n '1,/^$/p' | tr -s ' \n' ' ' | sed 's/^usage: //; s/ *$//')
		synopsis=$(render "$top/man/$page") || skip "neither man nor mandoc is installed"
		synopsis=$(awk '/^SYNOPSIS/ { getline; print; exit }' <<<"$synopsis" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
		if [ -z "$usage" ] || [ "$synopsis" != "$usage" ]; then
			echo "$prog usage:    $usage"
			echo "$page synopsis: $synopsis"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "every setting of gb-tune's table is in gb-tune(8)" {
	local keys k bad=0
	keys=$(sed -n 's/^\t{ "\([a-z_.]*\)", "\/[a-z].*/\1/p' "$top/lib/tune/plan.c")
	[ "$(wc -w <<<"$keys")" -ge 6 ]
	for k in $keys vm.nr_hugepages vm.nr_overcommit_hugepages swap.file; do
		grep -q "^\.It Cm $k\$" "$top/man/gb-tune.8" || { echo "gb-tune.8 has no .It Cm $k"; bad=1; }
	done
	[ "$bad" -eq 0 ]
}

@test "gb-tune's exit statuses are in gb-tune(8) and --help" {
	local codes c bad=0
	codes=$(sed -n 's/^#define GB_TUNE_EXIT_[A-Z]* \([0-9]*\).*/\1/p' "$top/lib/tune/tune.h")
	[ "$(wc -w <<<"$codes")" -eq 5 ]
	for c in $codes 100 111; do
		grep -q "^\.It $c\$" "$top/man/gb-tune.8" || { echo "gb-tune.8 has no exit status $c"; bad=1; }
		"$top/bin/gb-tune" --help | grep -q "[ ;]$c " || { echo "--help has no exit status $c"; bad=1; }
	done
	[ "$bad" -eq 0 ]
}

@test "the SYNOPSIS of gb-quant(1) is its usage, all three forms" {
	local usage synopsis
	usage=$("$top/bin/gb-quant" --help | sed -n '1,/^$/p' | sed 's/^usage: //' | tr -s ' \n' ' ' | sed 's/ *$//')
	synopsis=$(render "$top/man/gb-quant.1") || skip "neither man nor mandoc is installed"
	synopsis=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' <<<"$synopsis" | sed '1d; $d' | tr -s ' \n' ' ' | sed 's/^ *//; s/ *$//')
	echo "usage:    $usage"
	echo "synopsis: $synopsis"
	[ -n "$usage" ] && [ "$synopsis" = "$usage" ]
}

@test "every record kind of gb-quant inspect is in gb-quant(1), and its exit statuses" {
	local kinds k c bad=0
	kinds=$(grep -o 'fputs("[a-z][a-z]*\\t"\|fprintf(f, "[a-z][a-z]*\\t' "$top/lib/quant/inspect.c" | sed 's/^[^"]*"\([a-z]*\).*/\1/' | sort -u)
	[ "$(wc -w <<<"$kinds")" -eq 5 ]
	for k in $kinds; do
		grep -q "^\.It Li $k\$" "$top/man/gb-quant.1" || { echo "gb-quant.1 has no .It Li $k"; bad=1; }
	done
	for c in 0 1 100 111; do
		grep -q "^\.It $c\$" "$top/man/gb-quant.1" || { echo "gb-quant.1 has no exit status $c"; bad=1; }
	done
	[ "$bad" -eq 0 ]
}

# ---- gb-stat against gb-stat(1) ----

@test "every Prometheus metric of gb-stat is in gb-stat(1)" {
	local names n bad=0
	names=$(grep -o 'head(f, "greenboost_[a-z0-9_]*"' "$top/lib/stat/prom.c" | sed 's/.*"\(.*\)"/\1/')
	[ "$(wc -w <<<"$names")" -ge 12 ]
	for n in $names; do
		grep -q "^\.It Li $n\( \|\$\)" "$top/man/gb-stat.1" || { echo "gb-stat.1 has no .It Li $n"; bad=1; }
	done
	[ "$bad" -eq 0 ]
}

@test "every record kind of gb-stat dump is in gb-stat(1)" {
	local kinds k bad=0
	kinds=$(grep -o 'fprintf(f, "[a-z]*\\t' "$top/lib/stat/dump.c" | sed 's/.*"\([a-z]*\).*/\1/' | sort -u)
	[ "$(wc -w <<<"$kinds")" -eq 6 ]
	for k in $kinds; do
		grep -q "^\.It Li $k\$" "$top/man/gb-stat.1" || { echo "gb-stat.1 has no .It Li $k"; bad=1; }
	done
	[ "$bad" -eq 0 ]
}
