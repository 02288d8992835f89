#!/usr/bin/env python3
"""t-train-report: bench/train/report.py, the training benchmark's
arithmetic and table, without a GPU or torch. Prints TAP."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "train"))
import report  # noqa: E402

GiB = 1 << 30
results = []


def check(name, good):
    results.append((name, bool(good)))


def near(a, b):
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


# loss hex strings as worker.py records them, float.hex(loss.item())
L1, L2, L3, L4 = (x.hex() for x in (10.373456954956055, 10.36111068725586, 10.348800659179688, 10.3365478515625))
NAN, INF = float("nan").hex(), float("inf").hex()

# the model's size, counted module by module for vocab 10, width 4, one block
embed, ln, qkv, proj, fc, out, head = 10 * 4, 2 * 4, 4 * 12 + 12, 4 * 4 + 4, 4 * 16 + 16, 16 * 4 + 4, 4 * 10
check("params: embedding, a block (2 LayerNorms, qkv, proj, 4x MLP), final norm, untied head",
      report.params(10, 4, 1) == embed + ln + qkv + proj + ln + fc + out + ln + head)
check("params: 12 x 2048, vocab 32000 is 735,375,360", report.params(32000, 2048, 12) == 735375360)
s = report.sizes(10, 4, 1, 3, 2)
check("sizes: weights are 4 bytes a parameter, weights + gradients + two moments 16",
      s["weights"] == 4 * s["params"] and s["state"] == 16 * s["params"])

# the bound: host = S - CAP each way over PCIe, the slower direction, never under native
b = report.bound(10 * GiB, 4 * GiB, 50.0, 25.0, 0.1)
check("bound: host bytes are S - CAP", b["host_bytes"] == 6 * GiB)
check("bound: host bytes over each direction's rate, in GB/s (1e9 bytes)",
      near(b["h2d_s"], 6 * GiB / 50e9) and near(b["d2h_s"], 6 * GiB / 25e9))
check("bound: the slower direction when it is longer than the native step", near(b["bound_s"], 6 * GiB / 25e9))
b = report.bound(10 * GiB, 4 * GiB, 25.0, 50.0, 0.1)
check("bound: either direction can be the slower", near(b["bound_s"], 6 * GiB / 25e9))
b = report.bound(10 * GiB, 4 * GiB, 50.0, 50.0, 1.0)
check("bound: the native step when the copies would take less", b["bound_s"] == 1.0)
b = report.bound(3 * GiB, 4 * GiB, 50.0, 50.0, 0.2)
check("bound: a peak under the cap leaves no host bytes and the native step",
      b["host_bytes"] == 0 and b["bound_s"] == 0.2)
line = report.bound_line("foreach", report.bound(10 * GiB, 4 * GiB, 50.0, 25.0, 0.1), 50.0, 25.0)
check("bound line: S, CAP, host bytes, both rates and the bound",
      all(x in line for x in ("10.00 GiB", "4.00 GiB", "6.00 GiB", "50.0 GB/s", "25.0 GB/s", "= 0.258 s")))

# the loss comparison
check("losses: equal at every step is a match", report.compare_losses([L1, L2, L3], [L1, L2, L3]) == (True, ""))
ok, why = report.compare_losses([L1, L2, L3, L4], [L1, L2, L4, L3])
check("losses: a difference is a mismatch naming the first differing step and both values",
      not ok and why.startswith("step 3:") and repr(float.fromhex(L3)) in why and repr(float.fromhex(L4)) in why)
ok, why = report.compare_losses([L1, L2, L3], [L1, NAN, NAN])
check("losses: NaN from the second step (t2_stream today) fails at step 2", not ok and why.startswith("step 2:")
      and "nan" in why)
check("losses: NaN where native has NaN too is still a mismatch", not report.compare_losses([L1, NAN], [L1, NAN])[0])
check("losses: infinity is a mismatch", not report.compare_losses([INF], [INF])[0])
check("losses: -0.0 against 0.0 is a mismatch (bit for bit)",
      not report.compare_losses([(0.0).hex()], [(-0.0).hex()])[0])
ok, why = report.compare_losses([L1, L2, L3], [L1, L2])
check("losses: fewer steps than native is a mismatch at the first missing one", not ok and why.startswith("step 3:"))
check("losses: nothing to compare is a mismatch",
      not report.compare_losses([L1], [])[0] and not report.compare_losses([], [L1])[0])
check("losses: one ulp apart is a mismatch",
      not report.compare_losses([L1], [math.nextafter(float.fromhex(L1), 0).hex()])[0])

# FSDP's losses: the largest relative difference, not judged
check("max relative difference: |got - ref| / |ref|, the largest over the steps",
      near(report.max_rel_diff([(1.0).hex(), (2.0).hex()], [(1.0).hex(), (2.002).hex()]), 0.001))
check("max relative difference: identical is 0", report.max_rel_diff([L1, L2], [L1, L2]) == 0.0)
check("max relative difference: NaN anywhere is inf",
      report.max_rel_diff([L1, L2], [NAN, L2]) == math.inf and report.max_rel_diff([L1, L2], [L1, NAN]) == math.inf)

# step time: the median after the warm-up step
check("median after first: the first step does not count", report.median_after_first([10.0, 1.0, 3.0, 2.0]) == 2.0)
check("median after first: a single step is its own", report.median_after_first([5.0]) == 5.0)

# the table
rows = [{"config": "native, uncapped", "optim": "foreach", "step_s": 0.18, "native_s": 0.18, "bound_s": None,
         "fsdp_s": 2.9, "t1": 15 * GiB, "t2": 0, "losses": "reference"},
        {"config": "gb-run --vram-limit 4096M", "optim": "foreach", "step_s": 5.8, "native_s": 0.18, "bound_s": 0.25,
         "fsdp_s": 2.9, "t1": 4 * GiB, "t2": 11 * GiB, "losses": "FAIL: a | b\nc"},
        {"config": "FSDP", "optim": "foreach", "step_s": None, "native_s": 0.18, "bound_s": 0.25, "fsdp_s": None,
         "t1": None, "t2": None, "losses": "failed"}]
t = report.table(rows)
cells = [[c.strip() for c in x.strip().strip("|").split(" | ")] for x in t]
check("table: a header, a separator and a line a row, every line with 9 cells",
      len(t) == 5 and all(len(c) == len(report.COLUMNS) == 9 for c in cells) and cells[1] == ["---"] * 9)
check("table: x native is step / native's step", cells[3][3] == "32.22" and cells[2][3] == "1.00")
check("table: / bound is bound / step, and - without a bound", cells[3][4] == "0.043" and cells[2][4] == "-")
check("table: vs FSDP is FSDP's step / this step", cells[3][5] == "0.50" and cells[2][5] == "16.11")
check("table: bytes in GiB", cells[3][6] == "4.00 GiB" and cells[3][7] == "11.00 GiB" and cells[2][7] == "0.00 GiB")
check("table: a failed row shows - for what is unknown", cells[4][2:8] == ["-"] * 6)
check("table: a cell's | is escaped and its newline folded", cells[3][8] == "FAIL: a \\| b c")

check("exit status: 0 when every GreenBoost row matched", report.exit_status([True, True, True, True]) == 0)
check("exit status: 1 when one did not", report.exit_status([True, False, True, True]) == 1)
check("exit status: 1 when there was nothing to check", report.exit_status([]) == 1)

print(f"1..{len(results)}")
for i, (name, good) in enumerate(results, 1):
    print(f"{'ok' if good else 'not ok'} {i} - {name}")
sys.exit(0 if all(g for _, g in results) else 1)
