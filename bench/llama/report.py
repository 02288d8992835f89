"""The arithmetic of bench/llama, apart from anything that runs: reading
llama.cpp's and GreenBoost's outputs, the bound of the best placement, and
the tables.  Needs nothing but Python 3; tests/bench/t-llama-report.py
checks every rule here without a GPU.
"""
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import bound, parse_status  # noqa: E402,F401  (the bound and the status file, shared)

MiB = 1 << 20
GiB = 1 << 30

# the tests, in table order: (name, kind, tokens per sequence, sequences)
TESTS = [
    ("pp512", "pp", 512, 1),
    ("pp2048", "pp", 2048, 1),
    ("tg128", "tg", 128, 1),
    ("b1", "batch", None, 1),
    ("b8", "batch", None, 8),
    ("b32", "batch", None, 32),
]
TEST_TITLES = {"pp512": "pp512", "pp2048": "pp2048", "tg128": "tg128",
               "b1": "decode x1", "b8": "decode x8", "b32": "decode x32"}

# "func: NAME WHAT buffer size = N MiB", after common_log's "M.SS.mmm.uuu I " where it writes it
_BUF = re.compile(r"^(?:[0-9.]+ [A-Z] )?\S+:\s+(\S+)\s+(model|KV|compute) buffer size =\s+([0-9.]+) MiB\s*$")


def is_vram(buffer_name):
    """llama.cpp names device buffers CUDA0, CUDA1...; CUDA_Host and CPU are host memory."""
    return re.fullmatch(r"CUDA[0-9]+", buffer_name) is not None


def parse_buffers(log):
    """llama.cpp's own account of its VRAM, from its log (llama-bench -v, or
    any tool's default log): the weights' bytes on the GPU, and for each
    context made, in order, its KV cache and compute buffer bytes."""
    weights = 0
    contexts = []
    for line in log.splitlines():
        m = _BUF.match(line.strip())
        if not m or not is_vram(m.group(1)):
            continue
        size = int(round(float(m.group(3)) * MiB))
        what = m.group(2)
        if what == "model":
            weights += size
        elif what == "KV":
            contexts.append({"kv": size, "compute": 0})
        else:
            if not contexts:  # a compute buffer before any KV cache
                contexts.append({"kv": 0, "compute": 0})
            # the scheduler may reserve twice: the last figure is the one kept
            contexts[-1]["compute"] = size
    return {"weights": weights, "contexts": contexts}


def parse_jsonl(text):
    """The JSON objects of a jsonl stream; other lines (logs) are skipped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def bench_results(text):
    """llama-bench -o jsonl: {test name: (tokens per second, seconds)}."""
    r = {}
    for o in parse_jsonl(text):
        if "avg_ts" not in o:
            continue
        p, n = int(o.get("n_prompt", 0)), int(o.get("n_gen", 0))
        name = f"pp{p}" if p and not n else f"tg{n}" if n and not p else None
        if name:
            r[name] = (float(o["avg_ts"]), float(o["avg_ns"]) / 1e9)
    return r


def batched_results(text):
    """llama-batched-bench --output-format jsonl: {"bN": (decode tokens per
    second over all N sequences, seconds of decode, steps)}."""
    r = {}
    for o in parse_jsonl(text):
        if "speed_tg" in o and "pl" in o:
            r[f"b{int(o['pl'])}"] = (float(o["speed_tg"]), float(o["t_tg"]), int(o["tg"]))
    return r


def status_total(st, dev=0):
    """Bytes the shim holds for the process on one device, both tiers."""
    return int(st.get(f"dev{dev}.t1_bytes", 0)) + int(st.get(f"dev{dev}.t2_bytes", 0))


def status_allocs(st, dev=0):
    """The largest allocations the status file lists: [{bytes, t1, t2, kind}]."""
    out = []
    for k in range(int(st.get(f"dev{dev}.allocs", 0))):
        p = f"dev{dev}.alloc{k}."
        out.append({"bytes": int(st[p + "bytes"]), "t1": int(st[p + "t1_bytes"]),
                    "t2": int(st[p + "t2_bytes"]), "kind": st[p + "kind"]})
    return out


def breakdown(st, buffers, dev=0, slack=MiB):
    """Where the memory went: the T1 and T2 bytes of the weights, the KV
    cache, the compute buffers and everything else, matching the status
    file's allocations to the sizes llama.cpp logged (within slack: ggml
    rounds a buffer up to its alignment).  The last context's buffers are
    the live ones when the status was taken."""
    want = []
    if buffers["weights"]:
        want.append(("weights", buffers["weights"]))
    if buffers["contexts"]:
        c = buffers["contexts"][-1]
        if c["kv"]:
            want.append(("kv", c["kv"]))
        if c["compute"]:
            want.append(("compute", c["compute"]))
    out = {k: {"t1": 0, "t2": 0} for k in ("weights", "kv", "compute", "other")}
    allocs = status_allocs(st, dev)
    used = [False] * len(allocs)
    for cls, size in want:
        best = None
        for i, a in enumerate(allocs):
            if not used[i] and abs(a["bytes"] - size) <= slack and (
                    best is None or abs(a["bytes"] - size) < abs(allocs[best]["bytes"] - size)):
                best = i
        if best is not None:
            used[best] = True
            out[cls]["t1"] += allocs[best]["t1"]
            out[cls]["t2"] += allocs[best]["t2"]
    # whatever the listed allocations do not explain is "other", by tier
    t1 = int(st.get(f"dev{dev}.t1_bytes", 0)) - sum(v["t1"] for k, v in out.items() if k != "other")
    t2 = int(st.get(f"dev{dev}.t2_bytes", 0)) - sum(v["t2"] for k, v in out.items() if k != "other")
    out["other"] = {"t1": max(0, t1), "t2": max(0, t2)}
    return out


def other_bytes(peak_total, buffers):
    """What a program holds besides its weights, KV caches and compute
    buffers (ggml's CUDA pool, cuBLAS's workspace): the shim's peak for the
    process less the largest weights + KV + compute llama.cpp logged."""
    ctx = max((c["kv"] + c["compute"] for c in buffers["contexts"]), default=0)
    return max(0, peak_total - buffers["weights"] - ctx)


def passes(test, ubatch=512, steps=None):
    """Forward passes a test makes, each of which reads every weight once."""
    name, kind, n, _ = test
    if kind == "pp":
        return math.ceil(n / ubatch)
    if kind == "tg":
        return n
    return steps


def tokens_of(test, steps=None):
    name, kind, n, seqs = test
    return n * seqs if kind != "batch" else steps * seqs


def human(n):
    """Bytes as GiB or MiB, one decimal."""
    if n is None:
        return "-"
    if abs(n) >= GiB:
        return f"{n / GiB:.1f}G"
    return f"{n / MiB:.0f}M"


def fmt_rate(v):
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def cell(rate, bound_rate, offload_rate):
    """One test of one configuration: tok/s, its fraction of the bound, its
    ratio to llama.cpp's CPU offload."""
    if rate is None:
        return "failed"
    parts = [fmt_rate(rate)]
    parts.append(f"{rate / bound_rate:.2f}" if bound_rate else "-")
    parts.append(f"{rate / offload_rate:.2f}x" if offload_rate else "-")
    return " · ".join(parts)


def table(rows, bound_rates, offload):
    """Markdown: a row per configuration, a column per test.  rows: [(name,
    {test: tok/s or None}, extra)], bound_rates: {test: tok/s}, offload:
    the CPU offload row's {test: tok/s}."""
    names = [t[0] for t in TESTS]
    head = "| configuration | " + " | ".join(TEST_TITLES[n] for n in names) + " | greedy text |"
    out = [head, "|" + " --- |" * (len(names) + 2)]
    for name, rates, text in rows:
        cells = [cell(rates.get(n), bound_rates.get(n), offload.get(n)) if rates is not None else "failed"
                 for n in names]
        out.append(f"| {name} | " + " | ".join(cells) + f" | {text} |")
    out.append("| bound of the best placement under the cap | " +
               " | ".join(fmt_rate(bound_rates.get(n)) for n in names) + " | |")
    return "\n".join(out)
