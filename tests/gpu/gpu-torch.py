#!/usr/bin/env python3
"""gpu-torch: a PyTorch model larger than GreenBoost's VRAM cap computes
bit-identical outputs to an uncapped run.

  gpu-torch.py --out FILE            run the model, save output and facts
  gpu-torch.py --compare NATIVE GB   TAP checks on two saved runs

run.sh runs --out once natively and once under
`gb-run --vram-limit 1536M --host-limit 16G`, then --compare.  The model:
24 bias-free 8192x8192 bf16 linear layers with GELU between (3 GiB of
weights, so about half live in host tier T2), weights and input drawn
from a seeded CUDA generator, one batch of 16.
"""
import argparse
import os
import sys
import time

# before torch loads cuBLAS: deterministic GEMMs, so that "identical" is
# a fair demand between two processes
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def read_status():
    """This process's GreenBoost status file as a dict, or None."""
    d = os.environ.get("GB_RUN_DIR")
    if not d:
        return None
    # rewritten at most every status_interval (run.sh: 50ms)
    time.sleep(0.25)
    try:
        with open(os.path.join(d, "%d.status" % os.getpid())) as f:
            return dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)
    except OSError:
        return None


def run(args):
    import torch
    import torch.nn.functional as F

    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda", 0)
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)
    std = (2.0 / args.dim) ** 0.5  # He: keeps activations O(1) through GELU
    with torch.no_grad():
        layers = []
        for _ in range(args.layers):
            lin = torch.nn.utils.skip_init(torch.nn.Linear, args.dim, args.dim, bias=False,
                                           device=dev, dtype=torch.bfloat16)
            lin.weight.normal_(0.0, std, generator=gen)
            layers.append(lin)
        x = torch.randn(args.batch, args.dim, device=dev, dtype=torch.bfloat16, generator=gen)

        def forward(h):
            for i, lin in enumerate(layers):
                h = lin(h)
                if i + 1 < len(layers):
                    h = F.gelu(h)
            return h

        y = forward(x)
        y2 = forward(x)
        torch.cuda.synchronize()
        repeat_equal = bool(torch.equal(y, y2))

    # the sizes an application would read, back to back with nothing
    # allocated in between
    import pynvml
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    props_total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.synchronize()
    free, total = torch.cuda.mem_get_info()
    m = pynvml.nvmlDeviceGetMemoryInfo(h)
    try:
        m2 = pynvml.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2)
        m2 = (int(m2.free), int(m2.total))
    except Exception as e:  # an older nvidia-ml-py, or a driver without v2
        print("# nvmlDeviceGetMemoryInfo_v2: %s" % e)
        m2 = None
    pynvml.nvmlShutdown()
    mem = {"mem_get_info_free": int(free), "mem_get_info_total": int(total),
           "props_total": int(props_total), "nvml_free": int(m.free), "nvml_total": int(m.total)}
    if m2:
        mem["nvml_v2_free"], mem["nvml_v2_total"] = m2
    for k in sorted(mem):
        print("# %-20s %d B" % (k, mem[k]))

    st = read_status()
    if st:
        for k in ("dev0.vram_limit", "dev0.t1_bytes", "dev0.t1_count", "dev0.t2_bytes", "dev0.t2_count",
                  "dev0.t2_hugetlb_bytes", "dev0.reported_total", "dev0.reported_free", "phase"):
            print("# status %-22s %s" % (k, st.get(k, "(missing)")))
    y_cpu = y.float().cpu()
    print("# output %s %s, mean |y| %.6g, in-process repeat identical: %s"
          % (tuple(y.shape), y.dtype, y_cpu.abs().mean().item(), repeat_equal))
    torch.save({"out": y.cpu(), "mem": mem, "status": st, "repeat_equal": repeat_equal,
                "weights_bytes": args.layers * args.dim * args.dim * 2}, args.out)
    return 0


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.n, what))
        return cond

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


def compare(args):
    import torch

    t = Tap()
    try:
        a = torch.load(args.compare[0])
        b = torch.load(args.compare[1])
    except Exception as e:
        t.ok(False, "load both runs: %s" % e)
        return t.done()
    ya, yb = a["out"], b["out"]
    t.ok(bool(torch.isfinite(ya.float()).all()) and bool(ya.float().abs().sum() > 0),
         "the native output is finite and not all zero")
    t.ok(a["repeat_equal"] and b["repeat_equal"], "each run computes the same output twice")
    same = ya.shape == yb.shape and ya.dtype == yb.dtype and bool(torch.equal(ya, yb))
    if not t.ok(same, "the output under gb-run is bit-identical to the native one"):
        if ya.shape == yb.shape:
            d = (ya.float() - yb.float()).abs()
            print("#   %d of %d elements differ, max |diff| %g" % (int((d > 0).sum()), d.numel(), d.max().item()))
    m = b["mem"]
    t.ok(m["mem_get_info_total"] == m["props_total"] == m["nvml_total"],
         "under gb-run, total: mem_get_info %d B == get_device_properties %d B == NVML %d B"
         % (m["mem_get_info_total"], m["props_total"], m["nvml_total"]))
    t.ok(m["mem_get_info_free"] == m["nvml_free"],
         "under gb-run, free: mem_get_info %d B == NVML %d B" % (m["mem_get_info_free"], m["nvml_free"]))
    if "nvml_v2_total" in m:
        t.ok(m["nvml_v2_total"] == m["mem_get_info_total"] and m["nvml_v2_free"] == m["mem_get_info_free"],
             "under gb-run, nvmlDeviceGetMemoryInfo_v2 agrees (free %d B, total %d B)"
             % (m["nvml_v2_free"], m["nvml_v2_total"]))
    st = b["status"]
    if t.ok(st is not None, "the run under gb-run read its status file"):
        t2 = int(st.get("dev0.t2_bytes", "0"))
        lim = int(st.get("dev0.vram_limit", "0"))
        t.ok(t2 > 0, "part of the model lived in T2: t2_bytes %d B (vram_limit %d B, weights %d B)"
             % (t2, lim, b["weights_bytes"]))
        t.ok(int(st.get("dev0.reported_total", "-1")) == m["mem_get_info_total"],
             "status reported_total is what mem_get_info reported")
    t.ok(a["status"] is None, "the native run had no status file (it ran without the shim)")
    return t.done()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--out", metavar="FILE", help="run the model and save its output here")
    g.add_argument("--compare", nargs=2, metavar=("NATIVE", "GB"), help="compare two saved runs")
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--dim", type=int, default=8192)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    return compare(args) if args.compare else run(args)


if __name__ == "__main__":
    sys.exit(main())
