"""The training benchmark: `gb-run python train.py` for a GPT-style model
whose training step needs more memory than the (emulated) card has,
against native, against FSDP's CPU offload under the same cap, and against
the bound of the best placement under the cap, all measured in this run.

  python3 bench/train/bench.py [--preset tiny] [--cap GiB] [--steps N] [--out DIR]

Each configuration in a process of its own, once with AdamW foreach=True
and once with fused=True:
  1. native, uncapped;
  2. gb-run --vram-limit CAP, and the same with --t2-stream on;
  3. FSDP with CPU offload in a one-process group, the caching allocator
     capped at CAP (DeepSpeed is not installed on the GPU machine);
  4. the bound: host = native's peak allocated bytes - CAP cross PCIe each
     way every step, so a step takes at least max(host / host->device
     rate, host / device->host rate, native's step); rates measured here.
GreenBoost's losses must equal native's bit for bit at every step; the exit
status is 0 when they all do, 1 otherwise.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
GB_RUN = os.path.join(TOP, "bin", "gb-run")
SHIM = os.path.join(TOP, "lib", "libgreenboost_cuda.so")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import benchlib  # noqa: E402
import report  # noqa: E402

MODEL_KEYS = ("layers", "width", "heads", "vocab", "seq", "batch")
PRESETS = {
    # about 0.74 B fp32 parameters; about 15 GiB at peak with AdamW
    "default": dict(layers=12, width=2048, heads=16, vocab=32000, seq=256, batch=8, cap=4.0),
    # for trying the script: about 21 M parameters, about half a GiB at peak
    "tiny": dict(layers=4, width=512, heads=8, vocab=8192, seq=128, batch=4, cap=0.125),
}
OPTIMS = ("foreach", "fused")


def log(out, *a):
    line = " ".join(str(x) for x in a)
    print(line, flush=True)
    if out:
        with open(os.path.join(out, "bench-train.log"), "a") as f:
            f.write(line + "\n")


def logfile(out, lines):
    """Into the log only (the whole of a worker's stderr)."""
    if out and lines:
        with open(os.path.join(out, "bench-train.log"), "a") as f:
            f.write("".join(f"    {x}\n" for x in lines))


def worker(out, args, timeout, prefix=(), env=None):
    """Run worker.py; its JSON object, or {"error": why}. All of its stderr
    goes into the log, the last 40 lines onto the terminal too."""
    cmd = list(prefix) + [sys.executable, os.path.join(HERE, "worker.py")] + args
    log(out, "$", " ".join(cmd))
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        rc, stdout, stderr = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = None, benchlib.text_of(e.stdout), benchlib.text_of(e.stderr)
    err = stderr.rstrip("\n").splitlines()
    logfile(out, err[:-40])
    for line in err[-40:]:
        log(out, "   ", line)
    r = None
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                r = json.loads(line)
                break
            except ValueError:
                pass
    r = r if isinstance(r, dict) else {}
    if rc is None:
        r["error"] = f"timed out after {timeout:.0f} s"
    elif rc != 0:
        r.setdefault("error", f"exit status {rc}" + (f": {err[-1].strip()}" if err else ""))
    elif "error" not in r and "losses" not in r and "h2d_gbps" not in r:
        r["error"] = "no result on the last line of its output"
    r["wall_s"] = round(time.monotonic() - t0, 1)
    log(out, f"    -> {r['error']}" if "error" in r else f"    -> done in {r['wall_s']} s")
    return r


def ok(r):
    return r is not None and "error" not in r


def number(v):
    """A status file's byte count, or None."""
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default",
                    help="model shape and cap; the options below override it")
    for k in MODEL_KEYS:
        ap.add_argument(f"--{k}", type=int, help=f"default {PRESETS['default'][k]}")
    ap.add_argument("--cap", type=float, help="GiB of VRAM for the capped runs (default 4; tiny 0.125)")
    ap.add_argument("--steps", type=int, default=4, help="training steps in each run; the first is warm-up")
    ap.add_argument("--sizes-only", action="store_true", help="print the model's sizes and exit")
    ap.add_argument("--fsdp-plain", action="store_true",
                    help="FSDP without recomputing each block's activations in backward")
    ap.add_argument("--timeout", type=float, default=240, help="seconds for each configuration")
    ap.add_argument("--budget", type=float, default=540,
                    help="seconds for the whole run; what would start past it is a failed row")
    ap.add_argument("--out", default=os.environ.get("OUT", ""))
    a = ap.parse_args()
    m = dict(PRESETS[a.preset])
    for k in MODEL_KEYS + ("cap",):
        if getattr(a, k) is not None:
            m[k] = getattr(a, k)
    if m["width"] % m["heads"] or min(m[k] for k in MODEL_KEYS) < 1 or m["cap"] <= 0 or a.steps < 2:
        ap.error("width must be a multiple of heads, sizes at least 1, --cap above 0, --steps at least 2")
    cap, cap_bytes = m["cap"], int(m["cap"] * 2**30)
    sz = report.sizes(m["vocab"], m["width"], m["layers"], m["seq"], m["batch"])
    shape = (f"{m['layers']} layers, width {m['width']}, {m['heads']} heads, vocab {m['vocab']}, "
             f"batch {m['batch']} x {m['seq']} tokens: {sz['params']:,} parameters (fp32)")
    if a.sizes_only:
        print(f"model: {shape}")
        print(f"weights {report.gib(sz['weights'])}; with gradients and AdamW's two moments "
              f"{report.gib(sz['state'])}; activations, roughly, {report.gib(sz['activations'])}")
        print(f"cap {report.gib(cap_bytes)}: roughly {report.gib(max(0, sz['state'] + sz['activations'] - cap_bytes))}"
              " of a step in host memory (the run measures it: native's peak allocated bytes minus the cap)")
        return 0
    for path in (GB_RUN, SHIM):
        if not os.path.exists(path):
            sys.exit(f"bench.py: fatal: {os.path.relpath(path, TOP)} is missing: run make first")
    out = a.out
    if out:
        os.makedirs(out, exist_ok=True)
    start = time.monotonic()
    card, driver, mem = benchlib.gpu_info()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    src = benchlib.tree()
    command = benchlib.command("python3 bench/train/bench.py", sys.argv[1:])
    log(out, f"# GreenBoost training benchmark: {card or '?'} ({mem or '?'}), driver {driver}, {when}, tree {src}")
    log(out, f"# {command}; model: {shape}")

    with tempfile.TemporaryDirectory(prefix="gb-train.") as run_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GB_")}
        env.update(GB_RUN_DIR=run_dir, GB_CONFIG="/dev/null", GB_STATUS_INTERVAL="50ms", PYTHONUNBUFFERED="1",
                   CUBLAS_WORKSPACE_CONFIG=":4096:8")

        def timed(args, prefix=()):
            left = a.budget - (time.monotonic() - start)
            if left < 30:
                log(out, "$ (not run)", " ".join(args))
                return {"error": f"not run: the run's time budget (--budget {a.budget:g} s) was spent"}
            return worker(out, args, min(a.timeout, left), prefix, env)

        bw = timed(["bw"])
        if ok(bw):
            log(out, f"# pinned host->device {bw['h2d_gbps']:.1f} GB/s, device->host {bw['d2h_gbps']:.1f} GB/s; "
                     f"torch {bw.get('torch')}, CUDA {bw.get('cuda')}")
            card = card or bw.get("device")
            mem = mem or f"{bw.get('total_memory', 0) // 2**20} MiB"
        common = ["run", "--steps", str(a.steps), "--cap", repr(cap)]
        for k in MODEL_KEYS:
            common += [f"--{k}", str(m[k])]
        vram = f"{round(cap * 1024)}M"
        gbrun = [GB_RUN, "--vram-limit", vram, "--log-level", "info"]
        fsdp_label = (f"FSDP CPU offload, {cap:g} GiB cap" + ("" if a.fsdp_plain else ", blocks recomputed")
                      + " (PyTorch's own; DeepSpeed is not installed)")
        # (key, label, prefix, worker mode); the riskiest last, so that a
        # spent budget costs the least
        plan = [("native", "native, uncapped", [], ["--mode", "native"]),
                ("gb", f"gb-run --vram-limit {vram}", gbrun, ["--mode", "gb"]),
                ("fsdp", fsdp_label, [], ["--mode", "fsdp"] + (["--no-recompute"] if a.fsdp_plain else [])),
                ("t2", f"gb-run --vram-limit {vram} --t2-stream on", gbrun + ["--t2-stream", "on"], ["--mode", "gb"])]
        res = {}
        for key, label, prefix, mode in plan:
            for o in OPTIMS:
                res[key, o] = timed(common + mode + ["--optim", o], prefix)
                if key == "fsdp" and not ok(res[key, o]) and not res[key, o]["error"].startswith("not run"):
                    # fully_shard failed: the older wrapper, which may still run
                    first = res[key, o]["error"]
                    res[key, o] = timed(common + mode + ["--optim", o, "--fsdp", "1"], prefix)
                    res[key, o]["fsdp2_error"] = first
        for (key, o), r in res.items():
            log(out, "#", key, json.dumps(r))

    rows, checks, lines = [], [], []
    labels = {key: label for key, label, _, _ in plan}
    for o in OPTIMS:
        nat, fs = res["native", o], res["fsdp", o]
        native_s = nat["median_s"] if ok(nat) else None
        fsdp_s = fs["median_s"] if ok(fs) else None
        b = None
        if ok(nat) and ok(bw):
            b = report.bound(nat["allocated_peak"], cap_bytes, bw["h2d_gbps"], bw["d2h_gbps"], native_s)
            lines.append("- bound, " + report.bound_line(o, b, bw["h2d_gbps"], bw["d2h_gbps"]))
        bound_s = b["bound_s"] if b else None
        common_row = {"optim": o, "native_s": native_s, "bound_s": bound_s, "fsdp_s": fsdp_s}
        rows.append(dict(common_row, config=labels["native"], step_s=native_s, bound_s=None,
                         t1=nat.get("reserved_peak"), t2=0 if ok(nat) else None,
                         losses="reference" if ok(nat) else f"FAIL: {nat['error']}"))
        for key in ("gb", "t2"):
            g = res[key, o]
            st = g.get("status", {})
            if not ok(g):
                good, why = False, g["error"]
            elif not ok(nat):
                good, why = False, "native failed: nothing to compare with"
            else:
                good, why = report.compare_losses(nat.get("losses"), g["losses"])
            checks.append(good)
            lines.append(f"- {'pass' if good else '**FAIL**'}: {o}, `{labels[key]}`: the {a.steps} losses equal native's "
                         f"bit for bit and are finite" + ("" if good else f" ({why})"))
            rows.append(dict(common_row, config=f"`{labels[key]}`", step_s=g.get("median_s") if ok(g) else None,
                             t1=number(st.get("dev0.t1_peak")), t2=number(st.get("dev0.t2_peak")),
                             losses="yes" if good else f"FAIL: {why}"))
        if ok(fs) and not ok(nat):
            fl = "not judged: native failed"
        elif ok(fs):
            d = report.max_rel_diff(nat.get("losses") or [], fs["losses"])
            fl = "not judged: max relative difference " + ("not finite" if d == float("inf") else f"{d:.2g}")
        else:
            fl = f"not judged: failed: {fs['error'][:200]}"
        if fs.get("fsdp2_error"):
            lines.append(f"- {o}: FSDP's fully_shard failed ({fs['fsdp2_error'][:200]}); the row is "
                         "FullyShardedDataParallel's")
        rows.append(dict(common_row, config=labels["fsdp"], step_s=fsdp_s, t1=fs.get("reserved_peak"),
                         t2=fs.get("cpu_bytes"), losses=fl))
        rows.append(dict(common_row, config=f"bound: best placement under {cap:g} GiB", step_s=bound_s,
                         t1=min(nat["allocated_peak"], cap_bytes) if b else None,
                         t2=b["host_bytes"] if b else None, losses="-"))

    act = report.gib(sz["activations"])
    md = "\n".join([
        f"### Training benchmark (`{command}`), {when}", "",
        f"- card: {card or 'unknown'} ({mem or 'unknown'}), driver {driver}",
        f"- tree: {src}; command: `{command}`",
        f"- torch {bw.get('torch', '?')}, CUDA {bw.get('cuda', '?')}",
        f"- model: GPT-style decoder in plain PyTorch, {shape}; synthetic tokens from a fixed seed, the same "
        f"batches and weights in every row; deterministic algorithms, no TF32; AdamW(lr=1e-4, weight_decay=0.01)"
        f" with foreach=True and with fused=True; {a.steps} steps, s/step the median of steps 2-{a.steps}"
        " (the first warms up)",
        ("- pinned host->device %.1f GB/s, device->host %.1f GB/s (2 GiB copies, best of 5, this run)"
         % (bw["h2d_gbps"], bw["d2h_gbps"])) if ok(bw) else f"- copy rates not measured: {bw['error']}",
        "- bound: with compute on the GPU every byte kept in host memory is written and read back once a step "
        "(weights, gradients, moments and activations all change every step), so at least host = S - CAP bytes "
        "cross PCIe each way a step, S being native's peak torch.cuda.max_memory_allocated() (the bytes its "
        "tensors needed at once; the caching allocator reserved more): a step takes at least max(host / host->device rate, host / device->host rate, native's step); "
        "/ bound = bound / step time, 1.0 being the best any such placement could do",
        f"- FSDP: torch.distributed.fsdp.fully_shard on each block and the whole model with CPUOffloadPolicy "
        f"(FullyShardedDataParallel with CPUOffload(offload_params=True) where that fails), one process (nccl), "
        f"torch.cuda.set_per_process_memory_fraction at {cap:g} GiB; its optimizer steps on the CPU. The "
        f"alternative a PyTorch user has on one GPU with {cap:g} GiB (DeepSpeed is not installed there)"
        + ("" if a.fsdp_plain else
           f"; each block is recomputed in backward (activation checkpointing), as a user short of memory does "
           f"(kept, the activations would be roughly {act} against the {cap:g} GiB cap; --fsdp-plain keeps them)")
        + ". Its losses are shown, not judged (its arithmetic differs: the step runs on the CPU); T2 is its "
        "parameters, gradients and AdamW state in CPU memory",
        "- T1, T2: GreenBoost's dev0.t1_peak and dev0.t2_peak from its status file; native and FSDP: "
        "torch.cuda.max_memory_reserved()", "",
        *report.table(rows), "", *lines, ""])
    log(out, "")
    log(out, md)
    if out:
        with open(os.path.join(out, "bench-train.md"), "w") as f:
            f.write(md + "\n")
    return report.exit_status(checks)


if __name__ == "__main__":
    sys.exit(main())
