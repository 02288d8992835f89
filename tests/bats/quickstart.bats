#!/usr/bin/env bats
# ./quickstart against stand-ins for apt-get, sudo, id, make, configure and
# gb-run: which steps run, in what order, as whom, and how it stops.

bats_require_minimum_version 1.5.0

# stub FILE: a command that appends "UID NAME ARGS" to $STUB_LOG, and
# fails with status 2 when its name is $STUB_FAIL
stub() {
	cat >"$1" <<-'EOS'
		#!/bin/sh
		echo "$STUB_UID ${0##*/}${*:+ $*}" >>"$STUB_LOG"
		[ "${0##*/}" != "${STUB_FAIL-}" ] || exit 2
	EOS
	chmod +x "$1"
}

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	tree=$BATS_TEST_TMPDIR/tree
	stubs=$BATS_TEST_TMPDIR/stubs
	log=$BATS_TEST_TMPDIR/log
	mkdir -p "$tree/.ci" "$stubs"
	# a copy, so that its configure and make are the stand-ins
	cp "$top/quickstart" "$tree/"
	cp "$top/.ci/deps" "$top/.ci/as-root" "$tree/.ci/"
	stub "$tree/configure"
	for c in apt-cache make gb-run; do
		stub "$stubs/$c"
	done
	# apt-get says whether DEBIAN_FRONTEND reached it
	cat >"$stubs/apt-get" <<-'EOS'
		#!/bin/sh
		echo "$STUB_UID apt-get $1 DEBIAN_FRONTEND=${DEBIAN_FRONTEND-}" >>"$STUB_LOG"
	EOS
	# sudo runs the command as uid 0 in a reset environment, as sudo does
	cat >"$stubs/sudo" <<-'EOS'
		#!/bin/sh
		echo "$STUB_UID sudo $*" >>"$STUB_LOG"
		exec env -i PATH="$PATH" STUB_LOG="$STUB_LOG" STUB_UID=0 "$@"
	EOS
	printf '#!/bin/sh\necho "$STUB_UID"\n' >"$stubs/id"
	chmod +x "$stubs/apt-get" "$stubs/sudo" "$stubs/id"
	# the real tools the scripts use; PATH has nothing else, so no real sudo
	local t
	for t in cat dirname env; do
		ln -s "$(command -v "$t")" "$stubs/$t"
	done
}

# quickstart UID [ARG]...: run the copy as UID with PATH the stubs only
quickstart() {
	local uid=$1
	shift
	run env -i PATH="$stubs" STUB_LOG="$log" STUB_UID="$uid" STUB_FAIL="${STUB_FAIL-}" "$tree/quickstart" "$@"
}

# the log, apt-get install's package list left out
steps() {
	sed 's/ -y --no-install-recommends .*/ -y .../' "$log"
}

@test "quickstart --help: the usage line and the steps, exit 0" {
	quickstart 1000 --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: ./quickstart [-h]" ]
	[[ "$output" == *"gb-run --vram-limit 4G gb-demo"* ]]
	[ ! -e "$log" ]
}

@test "quickstart with an argument: usage, exit 100, nothing run" {
	quickstart 1000 --prefix=/opt
	[ "$status" -eq 100 ]
	[ "$output" = "quickstart: usage: ./quickstart [-h]" ]
	[ ! -e "$log" ]
}

@test "as root: every step, in order, and never sudo" {
	quickstart 0
	[ "$status" -eq 0 ]
	diff -u - <(steps) <<-'EOF'
		0 apt-get update DEBIAN_FRONTEND=noninteractive
		0 apt-cache show linux-image-amd64
		0 apt-get install DEBIAN_FRONTEND=noninteractive
		0 configure
		0 make
		0 make install
		0 gb-run --vram-limit 4G gb-demo
	EOF
}

@test "as another user: sudo for the dependencies and make install only" {
	quickstart 1000
	[ "$status" -eq 0 ]
	diff -u - <(steps) <<-'EOF'
		1000 sudo env DEBIAN_FRONTEND=noninteractive apt-get update
		0 apt-get update DEBIAN_FRONTEND=noninteractive
		1000 apt-cache show linux-image-amd64
		1000 sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y ...
		0 apt-get install DEBIAN_FRONTEND=noninteractive
		1000 configure
		1000 make
		1000 sudo make install
		0 make install
		1000 gb-run --vram-limit 4G gb-demo
	EOF
}

@test "as another user without sudo: a clear error, exit 111, nothing run" {
	rm "$stubs/sudo"
	quickstart 1000
	[ "$status" -eq 111 ]
	[ "${lines[0]}" = "as-root: fatal: unable to become root: not root, and sudo is not installed (run this as root, or install sudo)" ]
	[ "${lines[1]}" = "quickstart: fatal: unable to install the dependencies: .ci/deps exited 111" ]
	[ "${#lines[@]}" -eq 2 ]
	[ ! -e "$log" ]
}

@test "a step that fails stops quickstart there, exit 111" {
	STUB_FAIL=make quickstart 1000
	[ "$status" -eq 111 ]
	[ "$output" = "quickstart: fatal: unable to build: make exited 2" ]
	[ "$(tail -n 1 "$log")" = "1000 make" ]
}

@test "the exit status is gb-demo's, through gb-run" {
	STUB_FAIL=gb-run quickstart 1000
	[ "$status" -eq 2 ]
	[ "$output" = "" ]
	[ "$(tail -n 1 "$log")" = "1000 gb-run --vram-limit 4G gb-demo" ]
}

@test "gb-run not in PATH after make install: says so, exit 111" {
	rm "$stubs/gb-run"
	quickstart 0
	[ "$status" -eq 111 ]
	[ "$output" = "quickstart: fatal: unable to find gb-run: it is installed in /usr/local/bin, which is not in PATH" ]
	[ "$(tail -n 1 "$log")" = "0 make install" ]
}
