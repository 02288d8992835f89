# Sourced by tests/run.sh: the shim against the test doubles, one
# scenario a process (the shim reads its configuration once).
shim_run=$tmp/shim-run
mkdir -p "$shim_run"

# shim NAME [VAR=VALUE]... -- PROGRAM [ARG]...
shim() {
	n=$1
	shift
	rm -f "$shim_run"/*.status "$tmp/shim.log"
	tap "shim/$n" env LD_LIBRARY_PATH=tests/doubles LD_PRELOAD="$top/lib/libgreenboost_cuda.so" \
		GB_CONFIG=/dev/null GB_RUN_DIR="$shim_run" GB_STATUS_INTERVAL=50ms GB_LOG_FILE="$tmp/shim.log" \
		FAKECUDA_VRAM=1G "$@"
}

small="GB_VRAM_LIMIT=256M GB_KV_RESERVE=0 GB_HOST_LIMIT=512M"
shim drv-place $small tests/shim/t-drv place
shim drv-phase GB_VRAM_LIMIT=256M GB_KV_RESERVE=64M GB_HOST_LIMIT=512M GB_PHASE_GAP=300ms GB_STEADY_AFTER=500ms \
	tests/shim/t-drv phase
shim drv-query GB_VRAM_LIMIT=256M GB_KV_RESERVE=64M tests/shim/t-drv query
shim drv-physical $small GB_REPORT=physical tests/shim/t-drv physical
shim drv-async $small FAKECUDA_EVENT_DELAY=3 tests/shim/t-drv async
shim drv-vmm $small tests/shim/t-drv vmm
shim drv-vmm-nohost $small FAKECUDA_NO_HOST_NUMA_VMM=1 tests/shim/t-drv vmm-nohost
shim drv-disabled $small GB_ENABLE=off tests/shim/t-drv disabled
shim drv-badconf $small GB_THRESHOLD=lots tests/shim/t-drv badconf
shim drv-contexts $small tests/shim/t-drv contexts
shim drv-rounding GB_VRAM_LIMIT=256M GB_KV_RESERVE=0 GB_HOST_LIMIT=10M tests/shim/t-drv rounding
shim drv-register-fails $small FAKECUDA_REGISTER_FAIL=1 tests/shim/t-drv register-fails
shim status-allocs $small tests/shim/t-status allocs
shim status-allocs-many $small tests/shim/t-status many
shim gpa-exact $small tests/shim/t-gpa exact
shim gpa-thunks $small FAKECUDA_GPA_THUNKS=1 tests/shim/t-gpa thunks
shim runtime $small tests/shim/t-rt
shim runtime-in-plugin $small LD_LIBRARY_PATH=tests/doubles:tests/shim tests/shim/t-plugin
shim nvml-before-cuda $small tests/shim/t-nvml
shim stage-on $small GB_T2_STREAM=on GB_T2_STAGE=16M tests/shim/t-stage on
shim stage-off $small tests/shim/t-stage off
shim stage-overlap $small GB_T2_STREAM=on GB_T2_STAGE=16M tests/shim/t-stage overlap
shim stage-serial $small GB_T2_STREAM=on GB_T2_OVERLAP=off GB_T2_STAGE=16M tests/shim/t-stage serial
shim stage-ring-capture $small GB_T2_STREAM=on GB_T2_STAGE=16M tests/shim/t-stage ring-capture
shim stage-ring-partial $small GB_T2_STREAM=on GB_T2_OVERLAP=off GB_T2_STAGE=16M tests/shim/t-stage ring-partial
shim storm GB_VRAM_LIMIT=64M GB_KV_RESERVE=0 GB_HOST_LIMIT=1G FAKECUDA_EVENT_DELAY=2 tests/shim/t-storm
shim fork $small tests/shim/t-fork
tap shim/dlsym-rtld-next env LD_LIBRARY_PATH=tests/doubles GB_CONFIG=/dev/null \
	LD_PRELOAD="$top/lib/libgreenboost_cuda.so $top/tests/shim/libnext1.so $top/tests/shim/libnext2.so" \
	tests/shim/t-dlnext
