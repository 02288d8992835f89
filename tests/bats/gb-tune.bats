#!/usr/bin/env bats
# gb-tune: options, errors, output, and the whole cycle on a fixture tree
# (tests/tune/fixture.sh).  The real kernel is tests/tune/run.sh's job.

bats_require_minimum_version 1.5.0

setup() {
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	T=$top/bin/gb-tune
	R=$BATS_TEST_TMPDIR/root
	export GB_CONFIG=/dev/null
	unset LD_PRELOAD FAILWRITE
	. "$top/tests/tune/fixture.sh"
	fixture_tree "$R" 1
}

# the values of every file under the fixture's /proc/sys and /sys
values() {
	(cd "$R" && find proc/sys sys -type f | sort | while read -r f; do
		printf '%s %s\n' "$f" "$(sed -n 's/.*\[\(.*\)\].*/\1/p; t; p' "$f")"
	done)
}

# a reboot of the fixture: a new boot ID, and the kernel's own values back
# (those the fixture starts with)
reboot() {
	local fresh=$BATS_TEST_TMPDIR/fresh f
	rm -rf "$fresh"
	fixture_tree "$fresh" 1
	(cd "$fresh" && find proc/sys sys -type f) | while read -r f; do cp "$fresh/$f" "$R/$f"; done
	echo 7d2e4b60-0c1a-4e8f-b5d3-2a9c6f1e8b77 >"$R/proc/sys/kernel/random/boot_id"
}

@test "--help and usage mirror each other" {
	run "$T" --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gb-tune "* ]]
	for o in --full --light --status --revert --dry-run --hugepages --swap --persist --root; do
		[[ "$output" == *"$o"* ]]
	done
}

@test "--version" {
	run "$T" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^gb-tune\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "usage errors exit 100 in the house form" {
	run "$T" --full --light
	[ "$status" -eq 100 ]
	[[ "$output" == "gb-tune: usage: "* ]]
	run "$T" --root "$R" --status --hugepages 4G
	[ "$status" -eq 100 ]
	run "$T" --root "$R" --light --swap 8G
	[ "$status" -eq 100 ]
	[[ "$output" == *"--swap goes with --full"* ]]
	run "$T" --root "$R" --full --swap 1M
	[ "$status" -eq 100 ]
	run "$T" --root "$R" --full --swap 8G:relative/path
	[ "$status" -eq 100 ]
	run "$T" --root "$R" --full --swap 20T
	[ "$status" -eq 100 ]
	[[ "$output" == *"--swap 20T: more than a swap file can be: at most 16.0 TiB"* ]]
	run "$T" --root "$R" --full --hugepages lots
	[ "$status" -eq 100 ]
	run "$T" --root "$R" --full --hugepages 1T
	[ "$status" -eq 100 ]
	[[ "$output" == *"--hugepages 1T: 524288 pages is more than --full leaves free: at most 24576"* ]]
	run "$T" --root "$R" extra
	[ "$status" -eq 100 ]
	run "$T" --root "$BATS_TEST_TMPDIR/none" --status
	[ "$status" -eq 100 ]
	run "$T" --bogus
	[ "$status" -eq 100 ]
}

@test "a bad configuration file is a usage error naming the line" {
	printf 'host_limit = lots\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run "$T" --root "$R" -c "$BATS_TEST_TMPDIR/bad.conf" --status
	[ "$status" -eq 100 ]
	[[ "$output" == *"bad.conf:1"* ]]
}

@test "no arguments: the status, changing nothing" {
	before=$(values)
	run "$T" --root "$R"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "# machine: bare metal, 64.0 GiB of RAM, 1 NUMA node" ]]
	[[ "$output" == *"# gpu: 0000:41:00.0, NUMA node 0"* ]]
	[[ "$output" != *"0000:41:00.1"* ]]   # its audio function is no GPU
	[[ "$output" != *"0000:00:02.0"* ]]   # nor is Intel's
	[[ "$output" == *"# nvme: nvme0n1"* ]]
	[[ "$output" == *"# profile: none"* ]]
	[ "$(values)" = "$before" ]
}

@test "--dry-run alone: the whole table, both profiles, and nothing changes" {
	before=$(values)
	run "$T" --root "$R" --dry-run
	[ "$status" -eq 0 ]
	# 64 GiB, host_limit 75%: full reserves all but 16 GiB (24576 pages); light
	# reserves none and allows all but 32 GiB (16384) on demand
	[[ "$output" =~ vm.nr_overcommit_hugepages\ +16384\ +-\ +0\  ]]
	[[ "$output" =~ vm.nr_hugepages\ +-\ +24576\ +0\  ]]
	[[ "$output" =~ vm.swappiness\ +-\ +10\ +60 ]]
	[[ "$output" =~ block.nvme0n1.queue.scheduler\ +-\ +none\ +mq-deadline ]]
	[[ "$output" != *"block.sda"* ]]
	[ "$(values)" = "$before" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
}

@test "changing without --root needs root: exit 2, nothing done" {
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed to drop root"
		run setpriv --reuid 65534 --regid 65534 --clear-groups "$T" --full
	else
		run "$T" --full
	fi
	[ "$status" -eq 2 ]
	[[ "$output" == "gb-tune: fatal: changing the kernel's settings needs root: sudo gb-tune --full" ]]
}

@test "--full: one 'key old -> new' line per change, values set, originals saved" {
	run -0 "$T" --root "$R" --full
	[ "${#lines[@]}" -eq 8 ]
	for l in "${lines[@]}"; do
		[[ "$l" =~ ^[a-z0-9._-]+\ [^\ ]+\ -\>\ [^\ ]+$ ]]
	done
	[[ "$output" == *"vm.nr_hugepages 0 -> 24576"* ]]
	[[ "$output" != *overcommit_hugepages* ]]
	[[ "$output" == *"mm.transparent_hugepage.enabled madvise -> always"* ]]
	[[ "$output" == *"vm.min_free_kbytes 67584 -> 671088"* ]]
	[ "$(cat "$R/proc/sys/vm/swappiness")" = 10 ]
	grep -q $'^set\tvm.swappiness\t/proc/sys/vm/swappiness\t60\t10$' "$R/var/lib/greenboost/tune.state"
}

@test "--full twice: the second changes nothing and keeps the originals" {
	run -0 "$T" --root "$R" --full
	cp "$R/var/lib/greenboost/tune.state" "$BATS_TEST_TMPDIR/state"
	run -0 "$T" --root "$R" --full
	[ -z "$output" ]
	diff <(grep '^set' "$BATS_TEST_TMPDIR/state") <(grep '^set' "$R/var/lib/greenboost/tune.state")
}

@test "a value changed by hand between runs is tuned again, the original kept" {
	run -0 "$T" --root "$R" --full
	echo 30 >"$R/proc/sys/vm/swappiness"
	run -0 "$T" --root "$R" --full
	[ "$output" = "vm.swappiness 30 -> 10" ]
	grep -q $'^set\tvm.swappiness\t/proc/sys/vm/swappiness\t60\t10$' "$R/var/lib/greenboost/tune.state"
}

@test "--revert puts every value back and removes the state" {
	before=$(values)
	run -0 "$T" --root "$R" --full
	run -0 "$T" --root "$R" --revert
	[[ "$output" == *"vm.swappiness 10 -> 60"* ]]
	[[ "$output" == *"mm.transparent_hugepage.enabled always -> madvise"* ]]
	[ "$(values)" = "$before" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
	run -0 "$T" --root "$R" --revert
	[ -z "$output" ]
}

@test "--revert --dry-run says what it would do and does nothing" {
	run -0 "$T" --root "$R" --full
	tuned=$(values)
	run -0 "$T" --root "$R" --revert --dry-run
	[[ "$output" == *"vm.swappiness 10 -> 60"* ]]
	[ "$(values)" = "$tuned" ]
	[ -e "$R/var/lib/greenboost/tune.state" ]
}

@test "--full then --light: the full-only settings go back to their originals" {
	run -0 "$T" --root "$R" --full
	run -0 "$T" --root "$R" --light
	[[ "$output" == *"vm.nr_overcommit_hugepages 0 -> 16384"* ]]
	[[ "$output" == *"vm.nr_hugepages 24576 -> 0"* ]]
	[[ "$output" == *"vm.swappiness 10 -> 60"* ]]
	[ "$(cat "$R/proc/sys/vm/swappiness")" = 60 ]
	! grep -q 'vm.swappiness' "$R/var/lib/greenboost/tune.state"
	grep -q '^profile	light$' "$R/var/lib/greenboost/tune.state"
	run -0 "$T" --root "$R" --status
	[[ "$output" == *"# profile: light"* ]]
}

@test "--full then --light, with one value put back by hand: only the others are written" {
	run -0 "$T" --root "$R" --full
	echo 60 >"$R/proc/sys/vm/swappiness"
	run -0 "$T" --root "$R" --light
	[[ "$output" != *swappiness* ]]
	[[ "$output" == *"vm.overcommit_memory 1 -> 0"* ]]
	[[ "$output" == *"block.nvme0n1.queue.scheduler none -> mq-deadline"* ]]
	[ "$(grep -c '^set' "$R/var/lib/greenboost/tune.state")" -eq 1 ]
	grep -q $'^set\tvm.nr_overcommit_hugepages\t' "$R/var/lib/greenboost/tune.state"
}

@test "--light: the overcommit limit, no hugepage reserved" {
	echo 12 >"$R/proc/sys/vm/nr_hugepages"
	echo 12 >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	echo 7 >"$R/proc/sys/vm/nr_overcommit_hugepages"
	before=$(values)
	run -0 "$T" --root "$R" --light --dry-run
	[[ "$output" == *"vm.nr_overcommit_hugepages 7 -> 16384"* ]]
	[[ "$output" != *"vm.nr_hugepages "* ]]
	[ "$(values)" = "$before" ]
	run -0 "$T" --root "$R" --light
	[ "$output" = "vm.nr_overcommit_hugepages 7 -> 16384" ]
	[ "$(cat "$R/proc/sys/vm/nr_overcommit_hugepages")" = 16384 ]
	[ "$(cat "$R/proc/sys/vm/nr_hugepages")" = 12 ]
	grep -q $'^set\tvm.nr_overcommit_hugepages\t/proc/sys/vm/nr_overcommit_hugepages\t7\t16384$' \
		"$R/var/lib/greenboost/tune.state"
	! grep -q $'^set\tvm.nr_hugepages' "$R/var/lib/greenboost/tune.state"
	run -0 "$T" --root "$R" --status
	[[ "$output" =~ vm.nr_overcommit_hugepages\ +16384\ +16384\ +7 ]]
	[[ "$output" != *"vm.nr_hugepages "* ]]
	run -0 "$T" --root "$R" --revert --dry-run
	[ "$output" = "vm.nr_overcommit_hugepages 16384 -> 7" ]
	run -0 "$T" --root "$R" --revert
	[ "$output" = "vm.nr_overcommit_hugepages 16384 -> 7" ]
	[ "$(values)" = "$before" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
}

@test "--full, then --light, then --revert: the reserve and the limit both back" {
	echo 12 >"$R/proc/sys/vm/nr_hugepages"
	echo 7 >"$R/proc/sys/vm/nr_overcommit_hugepages"
	before=$(values)
	run -0 "$T" --root "$R" --full
	[[ "$output" == *"vm.nr_hugepages 12 -> 24576"* ]]
	[ "$(cat "$R/proc/sys/vm/nr_overcommit_hugepages")" = 7 ]
	run -0 "$T" --root "$R" --light
	[[ "$output" == *"vm.nr_hugepages 24576 -> 12"* ]]
	[[ "$output" == *"vm.nr_overcommit_hugepages 7 -> 16384"* ]]
	run -0 "$T" --root "$R" --full
	[[ "$output" == *"vm.nr_overcommit_hugepages 16384 -> 7"* ]]
	grep -q $'^set\tvm.nr_hugepages\t/proc/sys/vm/nr_hugepages\t12\t24576$' "$R/var/lib/greenboost/tune.state"
	run -0 "$T" --root "$R" --light
	run -0 "$T" --root "$R" --revert
	[ "$(values)" = "$before" ]
}

@test "--light on a kernel without /proc/sys/vm/nr_overcommit_hugepages: the /sys file" {
	rm "$R/proc/sys/vm/nr_overcommit_hugepages"
	f=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages
	before=$(values)
	run -0 "$T" --root "$R" --light --persist
	[[ "$output" == *"vm.nr_overcommit_hugepages 0 -> 16384"* ]]
	[ "$(cat "$R$f")" = 16384 ]
	grep -q $'^set\tvm.nr_overcommit_hugepages\t'"$f"$'\t0\t16384$' "$R/var/lib/greenboost/tune.state"
	grep -qx "w- $f - - - - 16384" "$R/etc/tmpfiles.d/greenboost-tune.conf"
	[ ! -e "$R/etc/sysctl.d/90-greenboost.conf" ]
	run -0 "$T" --root "$R" --revert
	[ "$(values)" = "$before" ]
	[ ! -e "$R/etc/tmpfiles.d/greenboost-tune.conf" ]
}

@test "--light on a kernel with no nr_overcommit_hugepages at all: left out, and said why" {
	rm "$R/proc/sys/vm/nr_overcommit_hugepages" "$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages"
	before=$(values)
	run -0 --separate-stderr "$T" --root "$R" --light --dry-run
	[ -z "$output" ]
	[[ "$stderr" == *"# hugepages: 0: "*"this kernel has no nr_overcommit_hugepages: left out"* ]]
	run -0 "$T" --root "$R" --dry-run
	[[ "$output" != *overcommit_hugepages\ * ]]
	[[ "$output" == *"# hugepages, light: "*"this kernel has no nr_overcommit_hugepages: left out"* ]]
	run -0 "$T" --root "$R" --light
	[ -z "$output" ]
	[ "$(values)" = "$before" ]
}

@test "--light --persist: the limit in sysctl.d, no reserve" {
	run -0 "$T" --root "$R" --light --persist
	grep -qx 'vm.nr_overcommit_hugepages = 16384' "$R/etc/sysctl.d/90-greenboost.conf"
	! grep -q 'nr_hugepages' "$R/etc/sysctl.d/90-greenboost.conf"
	[ ! -e "$R/etc/tmpfiles.d/greenboost-tune.conf" ]
	run -0 "$T" --root "$R" --revert
	[ ! -e "$R/etc/sysctl.d/90-greenboost.conf" ]
}

@test "--status: current, tuned and original of each setting" {
	run -0 "$T" --root "$R" --full
	echo 30 >"$R/proc/sys/vm/swappiness"
	run -0 "$T" --root "$R" --status
	[[ "$output" =~ vm.swappiness\ +30\ +10\ +60 ]]
	[[ "$output" =~ vm.nr_hugepages\ +24576\ +24576\ +0 ]]
}

@test "a write that fails halfway: everything rolled back, exit 1" {
	before=$(values)
	FAILWRITE=/proc/sys/vm/min_free_kbytes LD_PRELOAD=$top/tests/tune/libfailwrite.so \
		run "$T" --root "$R" --full --persist
	[ "$status" -eq 1 ]
	[[ "$output" == *"gb-tune: error: unable to set vm.min_free_kbytes to 671088: Input/output error; all changes rolled back"* ]]
	[ "$(values)" = "$before" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
	[ ! -e "$R/etc/sysctl.d/90-greenboost.conf" ]
}

@test "a failure on a second run restores the first run's state exactly" {
	run -0 "$T" --root "$R" --light
	cp "$R/var/lib/greenboost/tune.state" "$BATS_TEST_TMPDIR/state"
	light=$(values)
	FAILWRITE=/sys/block/nvme0n1 LD_PRELOAD=$top/tests/tune/libfailwrite.so run "$T" --root "$R" --full
	[ "$status" -eq 1 ]
	[ "$(values)" = "$light" ]
	cmp "$BATS_TEST_TMPDIR/state" "$R/var/lib/greenboost/tune.state"
}

@test "one run at a time: a second one while the first holds tune.lock fails, naming it" {
	before=$(values)
	st=$BATS_TEST_TMPDIR/stall
	mkdir "$st"
	# the first run stops at its first write to /proc/sys/vm/swappiness
	STALLWRITE=/proc/sys/vm/swappiness STALLDIR=$st LD_PRELOAD=$top/tests/tune/libfailwrite.so \
		"$T" --root "$R" --full >"$st/out" 2>&1 3>&- &
	first=$!
	for i in $(seq 300); do [ -e "$st/ready" ] && break; sleep 0.1; done
	[ -e "$st/ready" ]
	lock=$R/var/lib/greenboost/tune.lock
	[ "$(cat "$lock")" = "$first --full" ]
	for mode in --full --light --revert; do
		run "$T" --root "$R" $mode
		[ "$status" -eq 5 ]
		[ "$output" = "gb-tune: fatal: another gb-tune, pid $first (--full), is changing the settings ($lock): nothing changed; try again when it is done" ]
	done
	touch "$st/go"
	wait "$first"
	[[ "$(cat "$st/out")" == *"vm.swappiness 60 -> 10"* ]]
	[ ! -e "$lock" ]
	grep -q $'^set\tvm.swappiness\t/proc/sys/vm/swappiness\t60\t10$' "$R/var/lib/greenboost/tune.state"
	# the lock gone with it, the next run goes ahead
	run -0 "$T" --root "$R" --revert
	[ "$(values)" = "$before" ]
	[ ! -e "$lock" ]
}

@test "a lock held by some other program: named by what its file says, if anything" {
	command -v flock >/dev/null || skip "flock (util-linux) is needed"
	mkdir -p "$R/var/lib/greenboost"
	lock=$R/var/lib/greenboost/tune.lock
	: >"$lock"
	run flock "$lock" "$T" --root "$R" --light
	[ "$status" -eq 5 ]
	[ "$output" = "gb-tune: fatal: another gb-tune is changing the settings ($lock): nothing changed; try again when it is done" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
	# --status and --dry-run change nothing: no lock needed
	run -0 flock "$lock" "$T" --root "$R" --status
	run -0 flock "$lock" "$T" --root "$R" --full --dry-run
	# a lock file left behind by a run that died is no obstacle
	echo "99999999 --full" >"$lock"
	run -0 "$T" --root "$R" --light
	[ ! -e "$lock" ]
}

@test "a state file that cannot be saved: nothing changes, exit 111" {
	before=$(values)
	mkdir -p "$R/var/lib/greenboost"
	FAILWRITE=/var/lib/greenboost LD_PRELOAD=$top/tests/tune/libfailwrite.so run "$T" --root "$R" --full
	[ "$status" -eq 111 ]
	[[ "$output" == *"unable to save the original values"*"nothing changed"* ]]
	[ "$(values)" = "$before" ]
}

@test "after a reboot: settings not persisted show as not applied any more, and --revert leaves them" {
	run -0 "$T" --root "$R" --full
	grep -qx $'boot\t5f0c8a52-2b3e-4c1d-9f6a-1e7b3d9c0a44' "$R/var/lib/greenboost/tune.state"
	reboot
	echo 30 >"$R/proc/sys/vm/swappiness" # set by hand since the boot
	run -0 "$T" --root "$R" --status
	[[ "$output" == *"# profile: full, applied "*" UTC, before a reboot: 8 settings not persisted, so not applied any more (tuned: (reboot))"* ]]
	[[ "$output" =~ vm.swappiness\ +30\ +\(reboot\)\ +60 ]]
	[[ "$output" =~ vm.nr_hugepages\ +0\ +\(reboot\)\ +0 ]]
	after=$(values)
	run -0 --separate-stderr "$T" --root "$R" --revert
	[ -z "$output" ]
	[ "$stderr" = "gb-tune: warning: vm.swappiness: set before a reboot and not persisted, so undone by it; 30 now: left as it is (the original was 60)" ]
	[ "$(values)" = "$after" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
}

@test "after a reboot, persisted settings are applied again: --status and --revert as in the same boot" {
	run -0 "$T" --root "$R" --full --persist
	# sysctl.d, tmpfiles.d and udev set them again at boot
	echo 7d2e4b60-0c1a-4e8f-b5d3-2a9c6f1e8b77 >"$R/proc/sys/kernel/random/boot_id"
	run -0 "$T" --root "$R" --status
	[[ "$output" == *" UTC, before a reboot: persisted, so applied again at boot"* ]]
	[[ "$output" =~ vm.swappiness\ +10\ +10\ +60 ]]
	[[ "$output" != *"(reboot)"* ]]
	run -0 "$T" --root "$R" --revert
	[[ "$output" == *"vm.swappiness 10 -> 60"* ]]
	[ "$(cat "$R/proc/sys/vm/swappiness")" = 60 ]
}

@test "after a reboot, --full takes the values the kernel booted with as the originals" {
	run -0 "$T" --root "$R" --full
	reboot
	echo 30 >"$R/proc/sys/vm/swappiness" # this boot's own value
	run -0 "$T" --root "$R" --full
	[[ "$output" == *"vm.swappiness 30 -> 10"* ]]
	grep -qx $'set\tvm.swappiness\t/proc/sys/vm/swappiness\t30\t10' "$R/var/lib/greenboost/tune.state"
	grep -qx $'boot\t7d2e4b60-0c1a-4e8f-b5d3-2a9c6f1e8b77' "$R/var/lib/greenboost/tune.state"
	run -0 "$T" --root "$R" --revert
	[[ "$output" == *"vm.swappiness 10 -> 30"* ]]
	[ "$(cat "$R/proc/sys/vm/swappiness")" = 30 ]
}

@test "a version 1 state file, an older gb-tune's: its settings taken as of this boot, version 2 written next" {
	before=$(values)
	run -0 "$T" --root "$R" --full
	state=$R/var/lib/greenboost/tune.state
	sed -i $'s/^version\t2$/version\t1/; /^boot\t/d; /^device\t/d' "$state"
	grep -qx $'version\t1' "$state"
	# a reboot or not: version 1 cannot tell
	echo 7d2e4b60-0c1a-4e8f-b5d3-2a9c6f1e8b77 >"$R/proc/sys/kernel/random/boot_id"
	run -0 "$T" --root "$R" --status
	[[ "$output" =~ vm.swappiness\ +10\ +10\ +60 ]]
	[[ "$output" != *reboot* ]]
	echo 30 >"$R/proc/sys/vm/swappiness"
	run -0 "$T" --root "$R" --full
	[ "$output" = "vm.swappiness 30 -> 10" ]
	grep -qx $'version\t2' "$state"
	grep -qx $'boot\t7d2e4b60-0c1a-4e8f-b5d3-2a9c6f1e8b77' "$state"
	grep -qx $'set\tvm.swappiness\t/proc/sys/vm/swappiness\t60\t10' "$state"
	run -0 "$T" --root "$R" --revert
	echo 5f0c8a52-2b3e-4c1d-9f6a-1e7b3d9c0a44 >"$R/proc/sys/kernel/random/boot_id"
	[ "$(values)" = "$before" ]
}

# disk NAME WWID SCHEDULER: an NVMe disk of that name in the fixture now
disk() {
	mkdir -p "$R/sys/block/$1/queue"
	echo "$2" >"$R/sys/block/$1/wwid"
	echo "$3" >"$R/sys/block/$1/queue/scheduler"
}

@test "a disk's scheduler is recorded with the disk's identity, and put back on that disk under its new name" {
	run -0 "$T" --root "$R" --full
	state=$R/var/lib/greenboost/tune.state
	grep -qx $'set\tblock.nvme0n1.queue.scheduler\t/sys/block/nvme0n1/queue/scheduler\tmq-deadline\tnone' "$state"
	grep -qx $'device\tblock.nvme0n1.queue.scheduler\teui.0025385b71b0a1c4' "$state"
	# the disks renumbered: ours is nvme1n1 now, another disk nvme0n1, with its own choice
	disk nvme1n1 eui.0025385b71b0a1c4 'mq-deadline kyber bfq [none]'
	disk nvme0n1 eui.00a075c0ffee0001 'mq-deadline kyber bfq [none]'
	run -0 "$T" --root "$R" --status
	[[ "$output" =~ block.nvme1n1.queue.scheduler\ +none\ +none\ +mq-deadline ]]
	[[ "$output" =~ block.nvme0n1.queue.scheduler\ +none\ +-\ +- ]]
	run -0 "$T" --root "$R" --revert
	[ "$(grep '^block' <<<"$output")" = "block.nvme1n1.queue.scheduler none -> mq-deadline" ]
	[ "$(cat "$R/sys/block/nvme1n1/queue/scheduler")" = mq-deadline ]
	[ "$(cat "$R/sys/block/nvme0n1/queue/scheduler")" = 'mq-deadline kyber bfq [none]' ]
}

@test "a disk that is not here any more: its record goes, nothing written to the disk that has its name" {
	run -0 "$T" --root "$R" --full
	disk nvme0n1 eui.00a075c0ffee0001 'mq-deadline kyber bfq [none]'
	run -0 --separate-stderr "$T" --root "$R" --revert
	[[ "$stderr" == *"gb-tune: warning: block.nvme0n1.queue.scheduler: the disk it was set on (eui.0025385b71b0a1c4) is not here any more; nothing to put back there"* ]]
	[[ "$output" != *block.nvme0n1* ]]
	[[ "$output" == *"vm.swappiness 10 -> 60"* ]]
	[ "$(cat "$R/sys/block/nvme0n1/queue/scheduler")" = 'mq-deadline kyber bfq [none]' ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
}

@test "disks renumbered between two runs: each keeps its own original" {
	run -0 "$T" --root "$R" --full
	disk nvme1n1 eui.0025385b71b0a1c4 'mq-deadline kyber bfq [none]'
	disk nvme0n1 eui.00a075c0ffee0001 '[bfq] mq-deadline none'
	run -0 "$T" --root "$R" --full
	[ "$output" = "block.nvme0n1.queue.scheduler bfq -> none" ]
	state=$R/var/lib/greenboost/tune.state
	grep -qx $'set\tblock.nvme1n1.queue.scheduler\t/sys/block/nvme1n1/queue/scheduler\tmq-deadline\tnone' "$state"
	grep -qx $'device\tblock.nvme1n1.queue.scheduler\teui.0025385b71b0a1c4' "$state"
	grep -qx $'set\tblock.nvme0n1.queue.scheduler\t/sys/block/nvme0n1/queue/scheduler\tbfq\tnone' "$state"
	grep -qx $'device\tblock.nvme0n1.queue.scheduler\teui.00a075c0ffee0001' "$state"
	run -0 "$T" --root "$R" --revert
	[ "$(cat "$R/sys/block/nvme1n1/queue/scheduler")" = mq-deadline ]
	[ "$(cat "$R/sys/block/nvme0n1/queue/scheduler")" = bfq ]
}

@test "a disk's record from a version 1 file is taken to be the disk of that name, and gets its identity" {
	run -0 "$T" --root "$R" --full
	state=$R/var/lib/greenboost/tune.state
	sed -i $'s/^version\t2$/version\t1/; /^boot\t/d; /^device\t/d' "$state"
	echo 30 >"$R/proc/sys/vm/swappiness"
	run -0 "$T" --root "$R" --full
	grep -qx $'device\tblock.nvme0n1.queue.scheduler\teui.0025385b71b0a1c4' "$state"
}

@test "a corrupt state file is reported, never overwritten" {
	mkdir -p "$R/var/lib/greenboost"
	printf 'version\t1\nset\tvm.swappiness\t/etc/passwd\t60\t10\n' >"$R/var/lib/greenboost/tune.state"
	cp "$R/var/lib/greenboost/tune.state" "$BATS_TEST_TMPDIR/state"
	run "$T" --root "$R" --full
	[ "$status" -eq 111 ]
	[[ "$output" == *"tune.state: line 2: path not under /proc/sys or /sys"* ]]
	run "$T" --root "$R" --revert
	[ "$status" -eq 111 ]
	cmp "$BATS_TEST_TMPDIR/state" "$R/var/lib/greenboost/tune.state"
}

@test "a setting the kernel lacks is left out" {
	rm "$R/proc/sys/kernel/numa_balancing"
	run -0 "$T" --root "$R" --full --dry-run
	[[ "$output" != *numa_balancing* ]]
}

@test "two NUMA nodes: the hugepages go to the GPU's node first" {
	R2=$BATS_TEST_TMPDIR/numa
	fixture_tree "$R2" 2
	run -0 "$T" --root "$R2" --full
	# node 1 (the GPU's) takes what its 32 GiB allow (24 GiB), node 0 the rest
	[[ "$output" == *"vm.nr_hugepages.node1 0 -> 12288"* ]]
	[[ "$output" == *"vm.nr_hugepages.node0 0 -> 12288"* ]]
	[ "$(cat "$R2/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages")" = 12288 ]
	[ "$(cat "$R2/proc/sys/vm/nr_hugepages")" = 0 ]
	run -0 "$T" --root "$R2" --full --hugepages 8G
	[[ "$output" == *"vm.nr_hugepages.node1 12288 -> 4096"* ]]
	[[ "$output" == *"vm.nr_hugepages.node0 12288 -> 0"* ]]
}

@test "two NUMA nodes and --light: one limit for the machine, no node's pages" {
	R2=$BATS_TEST_TMPDIR/numa
	fixture_tree "$R2" 2
	run -0 "$T" --root "$R2" --light
	[ "$output" = "vm.nr_overcommit_hugepages 0 -> 16384" ]
	[ "$(cat "$R2/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages")" = 0 ]
}

@test "--hugepages takes a count or a size: the limit with --light, the reserve with --full" {
	run -0 "$T" --root "$R" --light --hugepages 100
	[ "$output" = "vm.nr_overcommit_hugepages 0 -> 100" ]
	run -0 "$T" --root "$R" --light --hugepages 1G
	[ "$output" = "vm.nr_overcommit_hugepages 100 -> 512" ]
	[ "$(cat "$R/proc/sys/vm/nr_hugepages")" = 0 ]
	run -0 "$T" --root "$R" --full --hugepages 1G
	[[ "$output" == *"vm.nr_hugepages 0 -> 512"* ]]
	[[ "$output" == *"vm.nr_overcommit_hugepages 512 -> 0"* ]]
}

@test "--hugepages is held to the profile's margin: all RAM but a quarter (--full), half (--light)" {
	run "$T" --root "$R" --light --hugepages 64G --persist
	[ "$status" -eq 100 ]
	[ "$output" = "gb-tune: usage: --hugepages 64G: 32768 pages is more than --light leaves free: at most 16384 (32.0 GiB, all of 64.0 GiB of RAM but 32.0 GiB)" ]
	[ ! -e "$R/etc/sysctl.d/90-greenboost.conf" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
	run "$T" --root "$R" --full --hugepages 24577 --persist
	[ "$status" -eq 100 ]
	[[ "$output" == *"24577 pages is more than --full leaves free: at most 24576 (48.0 GiB, all of 64.0 GiB of RAM but 16.0 GiB)" ]]
	[ ! -e "$R/etc/sysctl.d/90-greenboost.conf" ]
	run -0 "$T" --root "$R" --full --hugepages 24576
	[[ "$output" == *"vm.nr_hugepages 0 -> 24576"* ]]
	run -0 "$T" --root "$R" --light --hugepages 32G
	[[ "$output" == *"vm.nr_overcommit_hugepages 0 -> 16384"* ]]
	# greenboost.ko's pool is memory taken too
	mkdir -p "$R/sys/class/misc/greenboost"
	echo $((8 << 30)) >"$R/sys/class/misc/greenboost/total_bytes"
	run "$T" --root "$R" --full --hugepages 48G
	[ "$status" -eq 100 ]
	[[ "$output" == *"at most 20480 (40.0 GiB, all of 64.0 GiB of RAM but 16.0 GiB, less greenboost.ko's pool of 8.0 GiB)" ]]
}

@test "hugepages = off in the configuration: --light has nothing to do" {
	printf 'hugepages = off\n' >"$BATS_TEST_TMPDIR/off.conf"
	run -0 "$T" --root "$R" -c "$BATS_TEST_TMPDIR/off.conf" --light
	[ -z "$output" ]
	run -0 "$T" --root "$R" -c "$BATS_TEST_TMPDIR/off.conf" --light -v
	[[ "$output" == *"hugepages = off in the configuration"* ]]
}

@test "host_limit and greenboost.ko's pool shape the hugepage count" {
	printf 'host_limit = 8G\n' >"$BATS_TEST_TMPDIR/8g.conf"
	run -0 "$T" --root "$R" -c "$BATS_TEST_TMPDIR/8g.conf" --light
	[ "$output" = "vm.nr_overcommit_hugepages 0 -> 4096" ]
	mkdir -p "$R/sys/class/misc/greenboost"
	echo $((2 << 30)) >"$R/sys/class/misc/greenboost/total_bytes"
	run -0 "$T" --root "$R" -c "$BATS_TEST_TMPDIR/8g.conf" --light
	[ "$output" = "vm.nr_overcommit_hugepages 4096 -> 3072" ]
}

@test "--swap: made on the NVMe filesystem, refused over an existing file" {
	run -0 "$T" --root "$R" --full --swap 64M
	[[ "$output" == *"swap.file none -> /mnt/fast/greenboost.swap (64.0 MiB)"* ]]
	f=$R/mnt/fast/greenboost.swap
	[ "$(stat -c %s:%a "$f")" = "$((64 << 20)):600" ]
	[ "$(dd if="$f" bs=1 skip=$(($(getconf PAGESIZE) - 10)) count=10 2>/dev/null)" = SWAPSPACE2 ]
	run -0 "$T" --root "$R" --full --swap 64M
	[ -z "$output" ]
	echo data >"$R/mnt/fast/precious"
	run "$T" --root "$R" --full --swap 64M:/mnt/fast/precious
	[ "$status" -eq 4 ]
	[[ "$output" == *"/mnt/fast/precious exists"*"not overwriting it"* ]]
	[ "$(cat "$R/mnt/fast/precious")" = data ]
	run -0 "$T" --root "$R" --full --swap off
	[ "$output" = "swap.file /mnt/fast/greenboost.swap -> none" ]
	[ ! -e "$f" ]
}

@test "--swap with no NVMe filesystem and no path: exit 4, nothing changed" {
	before=$(values)
	: >"$R/proc/self/mountinfo"
	run "$T" --root "$R" --full --swap 1G
	[ "$status" -eq 4 ]
	[[ "$output" == *"--swap SIZE:PATH"* ]]
	[ "$(values)" = "$before" ]
	run "$T" --root "$R" --full --swap 1G:/no/such/dir/swap
	[ "$status" -eq 4 ]
}

@test "--swap refuses a directory others could put a file in: group or world writable, a link, another owner" {
	before=$(values)
	chmod 775 "$R/mnt/fast"
	run "$T" --root "$R" --full --swap 64M
	[ "$status" -eq 4 ]
	[[ "$output" == *"gb-tune: error: /mnt/fast is writable by its group: they could swap in a file of their own; nothing changed"* ]]
	chmod 1777 "$R/mnt"
	chmod 755 "$R/mnt/fast"
	run "$T" --root "$R" --full --swap 64M:/mnt/fast/x.swap
	[ "$status" -eq 4 ]
	[[ "$output" == *"/mnt is writable by everyone"* ]]
	chmod 755 "$R/mnt"
	ln -s fast "$R/mnt/link"
	run "$T" --root "$R" --full --swap 64M:/mnt/link/x.swap
	[ "$status" -eq 4 ]
	[[ "$output" == *"/mnt/link is a symbolic link: a swap file's directories must be real ones; nothing changed"* ]]
	if [ "$(id -u)" -eq 0 ]; then
		chown 65534 "$R/mnt/fast"
		run "$T" --root "$R" --full --swap 64M
		[ "$status" -eq 4 ]
		[[ "$output" == *"/mnt/fast is owned by uid 65534, not root"* ]]
		chown 0 "$R/mnt/fast"
	fi
	[ "$(values)" = "$before" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
	[ -z "$(ls "$R/mnt/fast")" ]
}

@test "a swap file whose directory became writable by others, or that became a link, is left alone" {
	run -0 "$T" --root "$R" --full --swap 64M
	chmod 775 "$R/mnt/fast"
	run "$T" --root "$R" --full --swap off
	[ "$status" -eq 1 ]
	[[ "$output" == *"/mnt/fast is writable by its group"*"all changes rolled back"* ]]
	[ -f "$R/mnt/fast/greenboost.swap" ]
	grep -q $'^swapfile\t/mnt/fast/greenboost.swap\t' "$R/var/lib/greenboost/tune.state"
	chmod 755 "$R/mnt/fast"
	mv "$R/mnt/fast/greenboost.swap" "$R/mnt/fast/moved"
	ln -s moved "$R/mnt/fast/greenboost.swap"
	run "$T" --root "$R" --revert
	[ "$status" -eq 1 ]
	[[ "$output" == *"/mnt/fast/greenboost.swap is a symbolic link now: left alone"* ]]
	[ -f "$R/mnt/fast/moved" ]
	rm "$R/mnt/fast/greenboost.swap"
	run -0 "$T" --root "$R" --revert
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
}

@test "a swap file where fallocate finds the disk full: an error, never zeros until it is" {
	before=$(values)
	FAILFALLOCATE=ENOSPC LD_PRELOAD=$top/tests/tune/libfailwrite.so run "$T" --root "$R" --full --swap 64M
	[ "$status" -eq 1 ]
	[[ "$output" == *"gb-tune: error: unable to allocate the space of /mnt/fast/greenboost.swap: No space left on device; all changes rolled back"* ]]
	[ ! -e "$R/mnt/fast/greenboost.swap" ]
	[ "$(values)" = "$before" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
	FAILFALLOCATE=EIO LD_PRELOAD=$top/tests/tune/libfailwrite.so run "$T" --root "$R" --full --swap 64M
	[ "$status" -eq 1 ]
	[[ "$output" == *"Input/output error; all changes rolled back"* ]]
	[ ! -e "$R/mnt/fast/greenboost.swap" ]
	# a filesystem that cannot allocate at all: written with zeros, no hole
	FAILFALLOCATE=EOPNOTSUPP LD_PRELOAD=$top/tests/tune/libfailwrite.so run -0 "$T" --root "$R" --full --swap 64M
	f=$R/mnt/fast/greenboost.swap
	[ "$(stat -c %s "$f")" -eq $((64 << 20)) ]
	[ "$(($(stat -c '%b * %B' "$f")))" -ge $((64 << 20)) ]
}

@test "--swap refuses tmpfs, ramfs and filesystems where swap files do not work, PATH or not" {
	mkdir -p "$R/dev/shm" "$R/ram" "$R/mnt/btr"
	chmod 755 "$R/dev" "$R/dev/shm" "$R/ram" "$R/mnt/btr"
	cat >>"$R/proc/self/mountinfo" <<-MI
	31 22 0:40 / /dev/shm rw,nosuid,nodev shared:10 - tmpfs tmpfs rw
	32 22 0:41 / /ram rw shared:11 - ramfs ramfs rw
	33 22 8:17 / /mnt/btr rw,relatime shared:12 - btrfs /dev/sdb1 rw,space_cache=v2
	MI
	before=$(values)
	run "$T" --root "$R" --full --swap 64M:/dev/shm/greenboost.swap
	[ "$status" -eq 4 ]
	[[ "$output" == *"gb-tune: error: /dev/shm is on tmpfs, which is memory: a swap file there would take the RAM it is meant to give; name a place on ext4 or xfs; nothing changed"* ]]
	run "$T" --root "$R" --full --swap 64M:/ram/greenboost.swap
	[ "$status" -eq 4 ]
	[[ "$output" == *"/ram is on ramfs, which is memory"* ]]
	run "$T" --root "$R" --full --swap 64M:/mnt/btr/greenboost.swap
	[ "$status" -eq 4 ]
	[[ "$output" == *"/mnt/btr is on btrfs, where gb-tune makes no swap files (they need ext2, ext3, ext4 or xfs"* ]]
	[ -z "$(find "$R/dev/shm" "$R/ram" "$R/mnt/btr" -type f)" ]
	[ "$(values)" = "$before" ]
	# / is ext4 in the fixture
	run -0 "$T" --root "$R" --full --swap 64M:/greenboost.swap
	[ -f "$R/greenboost.swap" ]
}

@test "--swap leaves root's reserve and a margin free: a file too large for the filesystem is refused" {
	[ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null || skip "needs root and unshare for a small filesystem"
	before=$(values)
	# a 200M filesystem at /mnt/fast (the fixture says ext4): 64M stays free
	run unshare -m sh -c "mount -t tmpfs -o size=200M,mode=755 tmpfs '$R/mnt/fast' &&
		{ '$T' --root '$R' --full --swap 160M; echo \"exit \$?, used \$(du -sk '$R/mnt/fast' | cut -f1)K\"; }"
	[[ "$output" == *"gb-tune: error: /mnt/fast has 200.0 MiB free (root's reserve aside), and a swap file leaves 64.0 MiB of it: 160.0 MiB is too much, at most 136.0 MiB fits; nothing changed"* ]]
	[[ "$output" == *"exit 4, used 0K"* ]]
	[ "$(values)" = "$before" ]
	run unshare -m sh -c "mount -t tmpfs -o size=200M,mode=755 tmpfs '$R/mnt/fast' && '$T' --root '$R' --full --swap 128M"
	[ "$status" -eq 0 ]
	[[ "$output" == *"swap.file none -> /mnt/fast/greenboost.swap (128.0 MiB)"* ]]
}

@test "a swap file too large for any swap header: refused when parsing, the one there untouched" {
	run -0 "$T" --root "$R" --full --swap 64M --persist
	cp "$R/var/lib/greenboost/tune.state" "$BATS_TEST_TMPDIR/state"
	cp "$R/etc/fstab" "$BATS_TEST_TMPDIR/fstab"
	run "$T" --root "$R" --full --swap 20T:/mnt/fast/big.swap --persist
	[ "$status" -eq 100 ]
	[ -f "$R/mnt/fast/greenboost.swap" ]
	[ ! -e "$R/mnt/fast/big.swap" ]
	cmp "$BATS_TEST_TMPDIR/state" "$R/var/lib/greenboost/tune.state"
	cmp "$BATS_TEST_TMPDIR/fstab" "$R/etc/fstab"
}

@test "a new swap file that cannot be made: the old one, its record and its fstab line as they were" {
	run -0 "$T" --root "$R" --full --swap 64M --persist
	cp "$R/var/lib/greenboost/tune.state" "$BATS_TEST_TMPDIR/state"
	cp "$R/etc/fstab" "$BATS_TEST_TMPDIR/fstab"
	tuned=$(values)
	FAILFALLOCATE=EIO LD_PRELOAD=$top/tests/tune/libfailwrite.so \
		run "$T" --root "$R" --full --swap 128M:/mnt/fast/new.swap --persist
	[ "$status" -eq 1 ]
	[[ "$output" == *"unable to allocate the space of /mnt/fast/new.swap: Input/output error; all changes rolled back"* ]]
	[ "$(stat -c %s "$R/mnt/fast/greenboost.swap")" -eq $((64 << 20)) ]
	[ ! -e "$R/mnt/fast/new.swap" ]
	cmp "$BATS_TEST_TMPDIR/state" "$R/var/lib/greenboost/tune.state"
	cmp "$BATS_TEST_TMPDIR/fstab" "$R/etc/fstab"
	[ "$(values)" = "$tuned" ]
}

@test "an old swap file that cannot be removed: the new one goes again, everything as it was" {
	run -0 "$T" --root "$R" --full --swap 64M --persist
	cp "$R/var/lib/greenboost/tune.state" "$BATS_TEST_TMPDIR/state"
	cp "$R/etc/fstab" "$BATS_TEST_TMPDIR/fstab"
	mv "$R/mnt/fast/greenboost.swap" "$R/mnt/fast/moved"
	ln -s moved "$R/mnt/fast/greenboost.swap"
	run "$T" --root "$R" --full --swap 128M:/mnt/fast/new.swap --persist
	[ "$status" -eq 1 ]
	[[ "$output" == *"/mnt/fast/greenboost.swap is a symbolic link now: left alone; all changes rolled back"* ]]
	[ ! -e "$R/mnt/fast/new.swap" ]
	cmp "$BATS_TEST_TMPDIR/state" "$R/var/lib/greenboost/tune.state"
	cmp "$BATS_TEST_TMPDIR/fstab" "$R/etc/fstab"
}

@test "a swap file in place of another: the new one made first, both in tune.state until the old one is gone" {
	cp "$R/etc/fstab" "$BATS_TEST_TMPDIR/fstab"
	run -0 "$T" --root "$R" --full --swap 64M --persist
	run -0 "$T" --root "$R" --full --swap 128M:/mnt/fast/new.swap --persist --dry-run
	[ "$(grep '^swap.file' <<<"$output")" = "swap.file none -> /mnt/fast/new.swap (128.0 MiB)
swap.file /mnt/fast/greenboost.swap -> none" ]
	run -0 "$T" --root "$R" --full --swap 128M:/mnt/fast/new.swap --persist
	[ "$(grep '^swap.file' <<<"$output")" = "swap.file none -> /mnt/fast/new.swap (128.0 MiB)
swap.file /mnt/fast/greenboost.swap -> none" ]
	[ ! -e "$R/mnt/fast/greenboost.swap" ]
	[ "$(stat -c %s "$R/mnt/fast/new.swap")" -eq $((128 << 20)) ]
	grep -qx '/mnt/fast/new.swap none swap sw,nofail 0 0 # gb-tune' "$R/etc/fstab"
	! grep -q greenboost.swap "$R/etc/fstab"
	grep -q $'^swapfile\t/mnt/fast/new.swap\t134217728$' "$R/var/lib/greenboost/tune.state"
	! grep -q '^swapold' "$R/var/lib/greenboost/tune.state"
	# a run that stopped between the two: --status says so, --revert removes both
	: >"$R/mnt/fast/greenboost.swap"
	chmod 600 "$R/mnt/fast/greenboost.swap"
	printf 'swapold\t/mnt/fast/greenboost.swap\t67108864\n' >>"$R/var/lib/greenboost/tune.state"
	run -0 "$T" --root "$R" --status
	[[ "$output" == *"# swap file being replaced when a run stopped: /mnt/fast/greenboost.swap"* ]]
	run -0 "$T" --root "$R" --revert
	[[ "$output" == *"swap.file /mnt/fast/greenboost.swap -> none"* ]]
	[[ "$output" == *"swap.file /mnt/fast/new.swap -> none"* ]]
	[ -z "$(find "$R/mnt/fast" -type f)" ]
	cmp "$BATS_TEST_TMPDIR/fstab" "$R/etc/fstab"
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
}

@test "a swap file a stopped run was replacing goes with the next run" {
	run -0 "$T" --root "$R" --full --swap 64M
	: >"$R/mnt/fast/old.swap"
	printf 'swapold\t/mnt/fast/old.swap\t67108864\n' >>"$R/var/lib/greenboost/tune.state"
	run -0 "$T" --root "$R" --full --swap 64M
	[ "$output" = "swap.file /mnt/fast/old.swap -> none" ]
	[ ! -e "$R/mnt/fast/old.swap" ]
	[ -f "$R/mnt/fast/greenboost.swap" ]
	! grep -q '^swapold' "$R/var/lib/greenboost/tune.state"
}

@test "--persist: files under /etc, an fstab line, all gone on --revert" {
	cp "$R/etc/fstab" "$BATS_TEST_TMPDIR/fstab"
	run -0 "$T" --root "$R" --full --swap 64M --persist
	grep -qx 'vm.swappiness = 10' "$R/etc/sysctl.d/90-greenboost.conf"
	grep -qx 'w- /sys/kernel/mm/transparent_hugepage/enabled - - - - always' "$R/etc/tmpfiles.d/greenboost-tune.conf"
	grep -q 'ATTR{queue/scheduler}="none"' "$R/etc/udev/rules.d/60-greenboost-tune.rules"
	grep -qx '/mnt/fast/greenboost.swap none swap sw,nofail 0 0 # gb-tune' "$R/etc/fstab"
	run -0 "$T" --root "$R" --revert
	[ ! -e "$R/etc/sysctl.d/90-greenboost.conf" ]
	[ ! -e "$R/etc/tmpfiles.d/greenboost-tune.conf" ]
	cmp "$BATS_TEST_TMPDIR/fstab" "$R/etc/fstab"
}

@test "--swap off removes the swap file's /etc/fstab line with the file" {
	cp "$R/etc/fstab" "$BATS_TEST_TMPDIR/fstab"
	run -0 "$T" --root "$R" --full --swap 64M --persist
	grep -qx '/mnt/fast/greenboost.swap none swap sw,nofail 0 0 # gb-tune' "$R/etc/fstab"
	run -0 "$T" --root "$R" --full --swap off
	[[ "$output" == *"swap.file /mnt/fast/greenboost.swap -> none"* ]]
	[ ! -e "$R/mnt/fast/greenboost.swap" ]
	cmp "$BATS_TEST_TMPDIR/fstab" "$R/etc/fstab"
	! grep -q '^fstab' "$R/var/lib/greenboost/tune.state"
	grep -qx 'vm.swappiness = 10' "$R/etc/sysctl.d/90-greenboost.conf"
	# --light --swap off too
	run -0 "$T" --root "$R" --full --swap 64M
	grep -q 'greenboost.swap.*# gb-tune' "$R/etc/fstab"
	run -0 "$T" --root "$R" --light --swap off
	cmp "$BATS_TEST_TMPDIR/fstab" "$R/etc/fstab"
	run -0 "$T" --root "$R" --revert
	cmp "$BATS_TEST_TMPDIR/fstab" "$R/etc/fstab"
}

@test "a failure writing the files under /etc: those of the run before back as they were, byte for byte" {
	run -0 "$T" --root "$R" --full --swap 64M --persist
	cp -a "$R/etc" "$BATS_TEST_TMPDIR/etc"
	cp "$R/var/lib/greenboost/tune.state" "$BATS_TEST_TMPDIR/state"
	tuned=$(values)
	# --light rewrites sysctl.d, and would remove tmpfiles.d and udev's
	FAILWRITE=90-greenboost.conf LD_PRELOAD=$top/tests/tune/libfailwrite.so \
		run "$T" --root "$R" --light --persist
	[ "$status" -eq 1 ]
	[[ "$output" == *"unable to write $R/etc/sysctl.d/90-greenboost.conf: Input/output error; all changes rolled back"* ]]
	diff -r "$BATS_TEST_TMPDIR/etc" "$R/etc"
	cmp "$BATS_TEST_TMPDIR/state" "$R/var/lib/greenboost/tune.state"
	[ "$(values)" = "$tuned" ]
	# and a new swap file's fstab line gives way to the old one's again
	FAILWRITE=90-greenboost.conf LD_PRELOAD=$top/tests/tune/libfailwrite.so \
		run "$T" --root "$R" --full --swap 128M:/mnt/fast/new.swap --persist
	[ "$status" -eq 1 ]
	diff -r "$BATS_TEST_TMPDIR/etc" "$R/etc"
	[ ! -e "$R/mnt/fast/new.swap" ]
	[ -f "$R/mnt/fast/greenboost.swap" ]
	cmp "$BATS_TEST_TMPDIR/state" "$R/var/lib/greenboost/tune.state"
}

@test "--persist never overwrites a file gb-tune did not write" {
	mkdir -p "$R/etc/sysctl.d"
	echo 'vm.swappiness = 1' >"$R/etc/sysctl.d/90-greenboost.conf"
	before=$(values)
	run "$T" --root "$R" --full --persist
	[ "$status" -eq 1 ]
	[[ "$output" == *"was not written by gb-tune: not overwriting it"* ]]
	[ "$(cat "$R/etc/sysctl.d/90-greenboost.conf")" = 'vm.swappiness = 1' ]
	[ "$(values)" = "$before" ]
}

@test "in a container: said, and warned that the settings are the host's" {
	touch "$R/.dockerenv"
	run -0 "$T" --root "$R" --status
	[[ "${lines[0]}" == "# machine: container (docker), "* ]]
	run -0 "$T" --root "$R" --light
	[[ "$output" == *"gb-tune: warning: in a container (docker): these are the host kernel's settings"* ]]
}

@test "a read-only /proc/sys: exit 3, nothing changed" {
	[ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null || skip "needs root and unshare for a read-only mount"
	before=$(values)
	run unshare -m sh -c "mount --bind '$R/proc/sys' '$R/proc/sys' && mount -o remount,ro,bind '$R/proc/sys' && '$T' --root '$R' --full"
	[ "$status" -eq 3 ]
	[[ "$output" == *"is read-only (in a container?): nothing changed"* ]]
	[ "$(values)" = "$before" ]
	[ ! -e "$R/var/lib/greenboost/tune.state" ]
}
