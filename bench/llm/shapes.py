#!/usr/bin/env python3
"""Read bandwidth of torch's batch-1 matrix-vector products over weights of
each shape the 8B and 14B benchmark models have, wherever GreenBoost put
them (run under gb-run with a small --vram-limit: in T2), against the copy
engine's host-to-device rate measured in the same process.  Diagnoses why
decode reads host memory in place below the link's rate for some shapes.

  gb-run --vram-limit 1G --kv-reserve 0 --host-limit 24G python3 bench/llm/shapes.py
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from worker import status  # noqa: E402  (this process's status file)

SHAPES = {
    # name: (out, in), as nn.Linear's weight
    "8b q/o 4096x4096": (4096, 4096),
    "8b k/v 1024x4096": (1024, 4096),
    "8b gate/up 14336x4096": (14336, 4096),
    "8b down 4096x14336": (4096, 14336),
    "8b lm_head 128256x4096": (128256, 4096),
    "14b q/o 5120x5120": (5120, 5120),
    "14b k/v 1024x5120": (1024, 5120),
    "14b gate/up 13824x5120": (13824, 5120),
    "14b down 5120x13824": (5120, 13824),
    "14b lm_head 128256x5120": (128256, 5120),
}


def timed(fn, reps=6):
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ts = []
    for _ in range(reps):
        s.record()
        fn()
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e) / 1e3)
    return min(ts[1:])


@torch.inference_mode()
def main():
    res = {}
    # VRAM first: the copy's target, then a filler to the cap, so that
    # every weight after them lands in T2
    d = torch.empty(128 << 20, dtype=torch.bfloat16, device="cuda")
    h = torch.empty(128 << 20, dtype=torch.bfloat16, pin_memory=True)
    # (mem_get_info reports VRAM and T2 as one size under the shim: the
    # status file says how much of the cap is left)
    time.sleep(0.5)
    st = status()
    left = int(st.get("dev0.vram_limit", 0)) - int(st.get("dev0.t1_bytes", 0)) - (256 << 20)
    filler = torch.empty(max(0, left), dtype=torch.uint8, device="cuda")
    # repeat each weight so that one product reads at least 512 MiB
    ws = {}
    for name, (o, i) in SHAPES.items():
        n = max(1, (512 << 20) // (o * i * 2))
        ws[name] = [torch.empty(o, i, dtype=torch.bfloat16, device="cuda").normal_() for _ in range(n)]
    torch.cuda.mem_get_info()
    time.sleep(0.3)
    res["filler_bytes"] = filler.numel()
    res["t2_bytes"] = int(status().get("dev0.t2_bytes", 0))
    res["weight_bytes"] = sum(t.numel() * 2 for w in ws.values() for t in w)
    res["copy_h2d_gbps"] = h.numel() * 2 / timed(lambda: d.copy_(h, non_blocking=True)) / 1e9
    for name, w in ws.items():
        x = torch.randn(1, w[0].shape[1], dtype=torch.bfloat16, device="cuda")
        nbytes = sum(t.numel() * 2 for t in w)

        def run():
            for t in w:
                torch.nn.functional.linear(x, t)
        res[name] = round(nbytes / timed(run) / 1e9, 1)
    res["copy_h2d_gbps"] = round(res["copy_h2d_gbps"], 1)
    print(json.dumps(res, indent=1))


main()
