#!/usr/bin/env python3
"""bench/llama/report.py without a GPU: llama.cpp's and the shim's outputs
read back, the bound of the best placement, the table.  TAP on stdout."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "llama"))
import report as R  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import done, ok  # noqa: E402


MiB, GiB = R.MiB, R.GiB

# llama.cpp's log, as llama-bench -v prints it: one model, two contexts
LOG = """\
load_tensors: offloading 32 repeating layers to GPU
load_tensors:        CUDA0 model buffer size = 13563.02 MiB
load_tensors:   CPU_Mapped model buffer size =   250.00 MiB
llama_context:  CUDA_Host  output buffer size =     0.12 MiB
llama_kv_cache:        CUDA0 KV buffer size =    64.00 MiB
sched_reserve:      CUDA0 compute buffer size =   300.00 MiB
sched_reserve:      CUDA0 compute buffer size =   296.50 MiB
sched_reserve:  CUDA_Host compute buffer size =     9.01 MiB
llama_kv_cache:        CUDA0 KV buffer size =   256.00 MiB
sched_reserve:      CUDA0 compute buffer size =   560.00 MiB
"""
b = R.parse_buffers(LOG)
ok(b["weights"] == round(13563.02 * MiB), "the weights: the CUDA0 model buffer, not CPU_Mapped")
ok(len(b["contexts"]) == 2, "one context for each KV buffer")
ok(b["contexts"][0] == {"kv": 64 * MiB, "compute": int(296.5 * MiB)},
   "a context's compute buffer is the last CUDA0 figure before the next KV cache; CUDA_Host is not VRAM")
ok(b["contexts"][1] == {"kv": 256 * MiB, "compute": 560 * MiB}, "the second context")
ok(R.parse_buffers("sched_reserve:      CUDA0 compute buffer size =   12.00 MiB\n")["contexts"] ==
   [{"kv": 0, "compute": 12 * MiB}], "a compute buffer before any KV cache makes a context of its own")
ok(R.parse_buffers("load_tensors:        CUDA1 model buffer size = 10.00 MiB\n"
                   "load_tensors:        CUDA0 model buffer size = 5.00 MiB\n")["weights"] == 15 * MiB,
   "weights on several GPUs add up")
ok(R.parse_buffers("0.00.528.113 I load_tensors:        CUDA0 model buffer size =  100.00 MiB\n"
                   "0.00.601.002 I llama_kv_cache:        CUDA0 KV buffer size =   8.00 MiB\n") ==
   {"weights": 100 * MiB, "contexts": [{"kv": 8 * MiB, "compute": 0}]},
   "lines behind common_log's time and level prefix are read too")
ok(not R.is_vram("CUDA_Host") and not R.is_vram("CPU") and R.is_vram("CUDA12"), "which buffer names are VRAM")

BENCH = """\
llama_model_load: loaded
{"build_commit": "abc", "build_number": 7, "n_prompt": 512, "n_gen": 0, "avg_ns": 30000000, "avg_ts": 17066.6}
not json {
{"build_commit": "abc", "build_number": 7, "n_prompt": 2048, "n_gen": 0, "avg_ns": 150000000, "avg_ts": 13653.3}
{"build_commit": "abc", "build_number": 7, "n_prompt": 0, "n_gen": 128, "avg_ns": 580000000, "avg_ts": 220.7}
{"broken": json}
"""
r = R.bench_results(BENCH)
ok(sorted(r) == ["pp2048", "pp512", "tg128"], "llama-bench jsonl: one result a test, log and broken lines skipped")
ok(r["tg128"] == (220.7, 0.58) and r["pp512"] == (17066.6, 0.03), "tokens per second and seconds")

BATCHED = """\
main: n_kv_max = 4608
{"n_kv_max": 4608, "pp": 128, "tg": 16, "pl": 1, "n_kv": 144, "t_pp": 0.01, "speed_pp": 12800, "t_tg": 0.08, "speed_tg": 200.0, "t": 0.09, "speed": 1600}
{"n_kv_max": 4608, "pp": 128, "tg": 16, "pl": 32, "n_kv": 4608, "t_pp": 0.3, "speed_pp": 13653, "t_tg": 0.125, "speed_tg": 4096.0, "t": 0.425, "speed": 10842}
"""
r = R.batched_results(BATCHED)
ok(r == {"b1": (200.0, 0.08, 16), "b32": (4096.0, 0.125, 16)}, "llama-batched-bench jsonl: decode rate, seconds, steps")

STATUS = "\n".join([
    "version\t1", "dev0.t1_bytes\t" + str(900 * MiB), "dev0.t2_bytes\t" + str(13564 * MiB),
    "dev0.allocs\t4",
    "dev0.alloc0.bytes\t" + str(round(13563.02 * MiB)), "dev0.alloc0.t1_bytes\t0",
    "dev0.alloc0.t2_bytes\t" + str(13564 * MiB), "dev0.alloc0.kind\tmem",
    "dev0.alloc1.bytes\t" + str(560 * MiB + 4096), "dev0.alloc1.t1_bytes\t" + str(560 * MiB + 4096),
    "dev0.alloc1.t2_bytes\t0", "dev0.alloc1.kind\tmem",
    "dev0.alloc2.bytes\t" + str(256 * MiB), "dev0.alloc2.t1_bytes\t" + str(256 * MiB),
    "dev0.alloc2.t2_bytes\t0", "dev0.alloc2.kind\tmem",
    "dev0.alloc3.bytes\t" + str(64 * MiB), "dev0.alloc3.t1_bytes\t" + str(64 * MiB),
    "dev0.alloc3.t2_bytes\t0", "dev0.alloc3.kind\tvmm", ""])
st = R.parse_status(STATUS)
ok(R.status_total(st) == 14464 * MiB, "the status file's total is both tiers")
ok(len(R.status_allocs(st)) == 4 and R.status_allocs(st)[3]["kind"] == "vmm", "its listed allocations")
bd = R.breakdown(st, b)
ok(bd["weights"] == {"t1": 0, "t2": 13564 * MiB}, "the weights' allocation matched by size, its tiers as listed")
ok(bd["kv"] == {"t1": 256 * MiB, "t2": 0}, "the KV cache: the last context's")
ok(bd["compute"] == {"t1": 560 * MiB + 4096, "t2": 0}, "the compute buffer, rounded up by less than the slack")
ok(bd["other"] == {"t1": 900 * MiB - 256 * MiB - 560 * MiB - 4096, "t2": 0},
   "other: what the matched allocations leave of each tier (the 64 MiB VMM pool among it)")
bd = R.breakdown(R.parse_status("dev0.t1_bytes\t100\ndev0.t2_bytes\t0\n"), b)
ok(bd["weights"] == {"t1": 0, "t2": 0} and bd["other"] == {"t1": 100, "t2": 0},
   "a status without allocations: all of it is other")
near = {"weights": 100 * MiB, "contexts": []}
st2 = R.parse_status("dev0.t1_bytes\t%d\ndev0.t2_bytes\t0\ndev0.allocs\t1\ndev0.alloc0.bytes\t%d\n"
                     "dev0.alloc0.t1_bytes\t%d\ndev0.alloc0.t2_bytes\t0\ndev0.alloc0.kind\tmem\n"
                     % (103 * MiB, 103 * MiB, 103 * MiB))
ok(R.breakdown(st2, near)["weights"] == {"t1": 0, "t2": 0}, "an allocation 3 MiB off a logged size is not matched")

ok(R.other_bytes(14464 * MiB, b) == 14464 * MiB - round(13563.02 * MiB) - (256 + 560) * MiB,
   "other bytes: the peak less the weights and the largest context")
ok(R.other_bytes(100, b) == 0, "other bytes are never negative")

ok(R.passes(R.TESTS[0]) == 1 and R.passes(R.TESTS[1]) == 4 and R.passes(R.TESTS[2]) == 128,
   "forward passes: pp512 one ubatch, pp2048 four, tg128 one a token")
ok(R.passes(R.TESTS[5], steps=16) == 16 and R.tokens_of(R.TESTS[5], 16) == 512 and R.tokens_of(R.TESTS[1]) == 2048,
   "batched decode: a pass a step; tokens are steps times sequences")

# the bound: 10 GiB of weights, a 8 GiB cap, 1 GiB besides weights
rate, v = R.bound(10 * GiB, 8 * GiB, 1 * GiB, 1, 50.0, 0.001, 1)
ok(v == 7 * GiB, "the cap less what the program needs besides weights holds weights")
ok(abs(rate - 50e9 / (3 * GiB)) < 1e-6, "the rest crosses PCIe once a pass, at the measured rate")
rate, v = R.bound(10 * GiB, 8 * GiB, 1 * GiB, 1, 50.0, 1.0, 1)
ok(rate == 1.0, "no faster than the native run of the same test")
rate, v = R.bound(4 * GiB, 8 * GiB, 1 * GiB, 128, 50.0, 0.5, 128)
ok(v == 4 * GiB and rate == 256.0, "a model that fits runs at the native rate")
rate, v = R.bound(4 * GiB, 1 * GiB, 2 * GiB, 4, 50.0, 0.01, 2048)
ok(v == 0 and abs(rate - 2048 / (4 * 4 * GiB / 50e9)) < 1e-6, "a cap below the rest: every weight crosses, every pass")

t = R.table([("native", {"pp512": 17066.6, "tg128": 220.7}, "(reference)"), ("gb-run", None, "same")],
            {"pp512": 3900.0, "tg128": 7.6}, {"pp512": 561.0, "tg128": 16.2})
lines = t.splitlines()
ok(lines[0].startswith("| configuration | pp512 | pp2048 | tg128 | decode x1 |"), "the table's head")
ok("| native | 17067 · 4.38 · 30.42x | failed | 221 · 29.04 · 13.62x |" in lines[2],
   "a cell: tok/s, fraction of the bound, ratio to the CPU offload; a test without a figure failed")
ok(lines[3].startswith("| gb-run | failed | failed"), "a configuration that did not run says failed")
ok(lines[4].startswith("| bound of the best placement under the cap | 3900 | - | 7.60 |"), "the bound's row")
ok(R.cell(5.0, None, None) == "5.00 · - · -", "without a bound or an offload figure")
ok(R.human(13563 * MiB) == "13.2G" and R.human(300 * MiB) == "300M" and R.human(None) == "-", "sizes")

done()
