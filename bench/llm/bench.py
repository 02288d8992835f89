"""The end-to-end LLM benchmark: a Llama-architecture model bigger than the
(emulated) card, GreenBoost against native, against accelerate's CPU
offload, and against the physical bound, all measured in this one run.

  python3 bench/llm/bench.py [--sizes 8b,14b] [--caps 8,16] [--out DIR]

For each size and cap (GiB of VRAM), in separate processes:
  1. native, uncapped: the whole model in VRAM (the upper bound);
  2. gb-run --vram-limit CAP: GreenBoost;
  3. accelerate dispatch with max_memory CAP: what users reach for today;
  4. the bound of the best placement under CAP: what each phase needs
     besides the weights (measured in the native run) in VRAM, then as
     many weight bytes as CAP leaves; the rest at the pinned host->device
     bandwidth measured here, or the native time if longer.  Each
     GreenBoost row also shows its own placement's bound (its VRAM bytes
     at the HBM rate plus its host bytes at the PCIe rate).
Decode is batch 1 (median of several tokens after a warm-up); prefill is a
2048-token prompt. GreenBoost's logits must equal native's.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import benchlib  # noqa: E402
GB_RUN = os.path.join(TOP, "bin", "gb-run")
PREFILL = 2048  # the prompt worker.py prefills by default


def log(out, *a):
    line = " ".join(str(x) for x in a)
    print(line, flush=True)
    if out:
        with open(os.path.join(out, "bench-llm.log"), "a") as f:
            f.write(line + "\n")


def worker(out, args, prefix=(), env=None, timeout=300):
    cmd = list(prefix) + [sys.executable, os.path.join(HERE, "worker.py")] + args
    log(out, "$", " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(out, f"    timed out after {timeout} s")
        return None
    for line in (p.stderr.strip().splitlines() or [])[-40:]:
        log(out, "   ", line)
    if p.returncode != 0:
        log(out, f"    exit status {p.returncode}")
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def best_bound(nat, cap, h2d_gbps, prompt):
    """The bound of the best placement under cap bytes, from the native
    run (see the md block's bound line)."""
    w = nat["weight_bytes"]
    out = {}
    for phase, tokens in (("decode", 1), ("prefill", prompt)):
        # one forward pass: a decode step, or the whole prompt at once
        out[f"{phase}_tok_s"], out[f"{phase}_in_vram"] = benchlib.bound(
            w, cap, max(0, nat[f"{phase}_peak"] - w), 1, h2d_gbps, tokens / nat[f"{phase}_tok_s"], tokens)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="8b,14b")
    ap.add_argument("--caps", default="8,16", help="GiB of VRAM, one per size")
    ap.add_argument("--out", default=os.environ.get("OUT", ""))
    ap.add_argument("--decode-n", default="12")
    ap.add_argument("--kv-reserve", default="", help="gb-run --kv-reserve for the GreenBoost runs")
    ap.add_argument("--profile", action="store_true", help="profile two decode steps under gb-run")
    ap.add_argument("--gemv-only", action="store_true", help="only the bandwidth and matrix-product lines")
    ap.add_argument("--no-gemv", action="store_true", help="skip the matrix-product lines")
    ap.add_argument("--t2-serial", action="store_true",
                    help="one more GreenBoost row: t2_stream with t2_overlap off (each copy waits for the kernels before)")
    a = ap.parse_args()
    sizes, caps = a.sizes.split(","), [float(c) for c in a.caps.split(",")]
    if len(sizes) != len(caps):
        sys.exit("bench.py: --sizes and --caps need as many entries")
    out = a.out
    if out:
        os.makedirs(out, exist_ok=True)
    card, driver, mem = benchlib.gpu_info()
    card, mem = card or torch.cuda.get_device_name(0), mem or "unknown"
    src = benchlib.tree()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    log(out, f"# GreenBoost LLM benchmark: {card} ({mem}), driver {driver}, {when}")
    tmp = tempfile.mkdtemp(prefix="gb-llm.")
    run_dir = os.path.join(tmp, "run")
    os.makedirs(run_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GB_")}
    env.update(GB_RUN_DIR=run_dir, GB_CONFIG="/dev/null", GB_STATUS_INTERVAL="50ms", PYTHONUNBUFFERED="1")

    bw = worker(out, ["bw"], env=env)
    log(out, f"# HBM read {bw['hbm_gbps']:.0f} GB/s, pinned host->device {bw['h2d_gbps']:.1f} GB/s")
    for mode, extra in () if a.no_gemv else (("read in place", []), ("t2_stream", ["--t2-stream", "on"])):
        gv = worker(out, ["gemv"], env=env, prefix=[GB_RUN, "--vram-limit", "256M", "--kv-reserve", "0",
                                                    "--host-limit", "8G", "--t2-stage", "2304M"] + extra)
        if gv:
            log(out, "# torch linear over a 2 GiB weight in T2 (%s; %d of %d bytes there, %d staged), effective "
                "GB/s: %s" % (mode, gv["t2_bytes"], gv["weight_bytes"], gv["staged_bytes"],
                              ", ".join(f"{m} tokens {gv[f'm{m}_gbps']:.1f} ({gv[f'm{m}_gbps'] / bw['h2d_gbps']:.2f}"
                                        f" of memcpy)" for m in (1, 16, 128, 2048))))
    if a.gemv_only:
        return 0
    # the GreenBoost configurations compared
    gbmodes = [("gb-run", []), ("gb-run --t2-stream on", ["--t2-stream", "on"])]
    if a.t2_serial:
        gbmodes.append(("gb-run --t2-stream on --t2-overlap off", ["--t2-stream", "on", "--t2-overlap", "off"]))
    rows, checks = [], []
    for size, cap in zip(sizes, caps):
        common = ["run", "--size", size, "--decode-n", a.decode_n]
        nat = worker(out, common + ["--mode", "native", "--logits", f"{tmp}/native-{size}.pt"], env=env)
        host = int(max(8, (nat["weight_bytes"] / 2**30 if nat else 32) - cap + 8))
        gbs = []
        for name, extra in gbmodes:
            gbopts = [GB_RUN, "--vram-limit", f"{int(cap * 1024)}M", "--host-limit", f"{host}G", "--log-level", "info"] + extra
            if a.kv_reserve:
                gbopts += ["--kv-reserve", a.kv_reserve]
            tag = name.replace(" ", "_").replace("-", "")
            gbs.append((name, worker(out, common + ["--mode", "gb", "--logits", f"{tmp}/{tag}-{size}.pt"] +
                                     (["--profile"] if a.profile else []), env=env, prefix=gbopts),
                        f"{tmp}/{tag}-{size}.pt"))
        acc = worker(out, common + ["--mode", "accelerate", "--cap", str(cap), "--logits",
                                    f"{tmp}/acc-{size}.pt"], env=env)
        for r in [nat, acc] + [g[1] for g in gbs]:
            if r:
                log(out, "#", json.dumps({k: v for k, v in r.items() if k not in ("decode_s", "prefill_s")}))
        if not (nat and acc and all(g[1] for g in gbs)):
            log(out, f"# {size}: a configuration failed; see above")
            checks.append((f"{size}: every configuration ran", False))
            continue
        wb = nat["weight_bytes"]
        tag = f"{size} ({wb / 2**30:.1f} GiB of weights), cap {cap:g} GiB"
        best = best_bound(nat, cap * 2**30, bw["h2d_gbps"], PREFILL)
        rows.append((tag, "native, uncapped", nat, best, None, acc))
        rows.append((tag, f"accelerate, max_memory {cap:g} GiB ({acc.get('cpu_modules', '?')} modules on CPU)",
                     acc, best, None, acc))
        nl = torch.load(f"{tmp}/native-{size}.pt")
        for name, gb, lpath in gbs:
            # bytes a decode step reads from each tier: all weights once (the
            # KV cache of a short prompt is negligible); what is in T2 is weights
            t2 = min(int(gb["status_after_load"].get("dev0.t2_bytes", 0)), wb)
            t1 = wb - t2
            own_s = t1 / (bw["hbm_gbps"] * 1e9) + t2 / (bw["h2d_gbps"] * 1e9)
            own = {"decode_tok_s": 1 / own_s, "prefill_tok_s": PREFILL / own_s}
            gl = torch.load(lpath)
            same = torch.equal(nl, gl)
            diff = (nl - gl).abs().max().item()
            checks.append((f"{size}, {name}: logits equal native's, bit for bit (max difference {diff:g})", same))
            if nat.get("decode_mode") == gb.get("decode_mode"):
                checks.append((f"{size}, {name}: the {len(gb.get('decode_tokens', []))} greedy decode tokens "
                               f"({gb.get('decode_mode')}) equal native's",
                               gb.get("decode_tokens") == nat.get("decode_tokens")))
            dr_b = gb["decode_tok_s"] / best["decode_tok_s"]
            dr_a = gb["decode_tok_s"] / acc["decode_tok_s"]
            checks.append((f"{size}, {name}: decode at least 0.9x the bound of the best placement ({dr_b:.3f})",
                           dr_b >= 0.9))
            checks.append((f"{size}, {name}: decode at least 2x accelerate ({dr_a:.2f})", dr_a >= 2))
            rows.append((tag, f"{name} --vram-limit {cap:g}G (T2 {t2 / 2**30:.1f} GiB, decode "
                         f"{gb.get('decode_mode', '?')})", gb, best, own, acc))
        rows.append((tag, f"bound of the best placement under the cap ({best['decode_in_vram'] / 2**30:.1f} GiB "
                     f"of weights in VRAM for decode, {best['prefill_in_vram'] / 2**30:.1f} GiB for prefill)",
                     best, best, None, acc))

    head = ("| model | configuration | decode tok/s | prefill tok/s | decode / bound | decode / own placement's "
            "| decode / accelerate | prefill / bound | prefill / accelerate |")
    lines = [head, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for tag, name, r, bound, own, acc in rows:
        db = f"{r['decode_tok_s'] / bound['decode_tok_s']:.3f}" if bound else "-"
        ob = f"{r['decode_tok_s'] / own['decode_tok_s']:.3f}" if own else "-"
        pb = f"{r['prefill_tok_s'] / bound['prefill_tok_s']:.3f}" if bound else "-"
        lines.append(f"| {tag} | {name} | {r['decode_tok_s']:.2f} | {r['prefill_tok_s']:.0f} | {db} | {ob} | "
                     f"{r['decode_tok_s'] / acc['decode_tok_s']:.2f} | {pb} | "
                     f"{r['prefill_tok_s'] / acc['prefill_tok_s']:.2f} |")
    lines.append("")
    for what, good in checks:
        lines.append(f"- {'pass' if good else '**FAIL**'}: {what}")
    command = benchlib.command("python3 bench/llm/bench.py", sys.argv[1:])
    md = "\n".join([
        f"### LLM benchmark (`{command}`), {when}", "",
        f"- card: {card} ({mem}), driver {driver}; tree: {src}",
        f"- HBM read {bw['hbm_gbps']:.0f} GB/s, pinned host->device {bw['h2d_gbps']:.1f} GB/s (measured in this run)",
        "- decode: batch 1, greedy, median of per-token times after 3 warm-up tokens (replaying one CUDA graph of"
        " a decode step where the configuration allows, as serving engines do; accelerate's hooks do not),"
        " prefill: one 2048-token prompt, median of 2 after a warm-up",
        "- bound: the best placement any tool could make under the cap: everything the phase needs besides the"
        " weights (its peak torch.cuda.max_memory_allocated in the native run, less the weights) stays in VRAM,"
        " then as many weight bytes as the cap leaves; the rest crosses PCIe at the pinned host-to-device rate"
        " once per forward pass, and a phase takes at least that or the native run's time",
        "- own placement's: the configuration's own weights in VRAM over the HBM read bandwidth plus its weights"
        " in host memory over the pinned host-to-device bandwidth",
        "", *lines, ""])
    log(out, "")
    log(out, md)
    if out:
        with open(os.path.join(out, "bench-llm.md"), "w") as f:
            f.write(md + "\n")
    return 0 if all(good for _, good in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
