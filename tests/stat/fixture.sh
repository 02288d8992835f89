# Sourced by tests/bats/gb-stat.bats: status files as the shim writes
# them (greenboost(7)), for processes the test starts.
#
# status_file DIR PID PHASE T1 T2 [CMDLINE [PATH]]: one GPU (an H200),
# vram_limit 4 GiB, host_limit 16 GiB; T1 and T2 in bytes.  The start
# time and uid are PID's own, so the file is live while PID runs.
status_file() {
	dir=$1 pid=$2 phase=$3 t1=$4 t2=$5 cmd=${6:-python3 serve.py} path=${7:-B}
	start=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f20)
	uid=$(stat -c %u "/proc/$pid")
	{
		printf 'version\t1\npid\t%s\nstarttime\t%s\nuid\t%s\n' "$pid" "$start" "$uid"
		printf 'comm\t%s\ncmdline\t%s\n' "${cmd%% *}" "$cmd"
		printf 'updated\t%s.000\npath\t%s\nphase\t%s\nphase_since\t1795750000.500\n' "$(date +%s)" "$path" "$phase"
		printf 'threshold\t1048576\nhost_limit\t17179869184\nreport\tvirtual\ndevices\t1\n'
		printf 'dev0.name\tNVIDIA H200\ndev0.vram_physical\t150110011392\ndev0.vram_limit\t4294967296\n'
		printf 'dev0.kv_reserve\t214748364\ndev0.reported_total\t21474836480\ndev0.reported_free\t1000\n'
		printf 'dev0.t1_bytes\t%s\ndev0.t1_count\t3\ndev0.t1_peak\t%s\n' "$t1" "$t1"
		printf 'dev0.t2_bytes\t%s\ndev0.t2_count\t2\ndev0.t2_peak\t%s\n' "$t2" "$((t2 + 1048576))"
		printf 'dev0.t3_bytes\t0\ndev0.t3_count\t0\ndev0.t3_peak\t0\n'
		printf 'dev0.t2_hugetlb_bytes\t0\ndev0.t2_pool_bytes\t%s\n' "$([ "$path" = A ] && echo "$t2" || echo 0)"
		printf 'dev0.vmm_bytes\t0\ndev0.stage_bytes\t0\ndev0.staged_bytes\t0\ndev0.refused\t0\n'
	} >"$dir/$pid.status"
}
