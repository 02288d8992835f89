"""llama.cpp (what Ollama runs) under gb-run, against llama.cpp itself, in
one run on this machine's GPU:

  LLAMA_CPP=DIR python3 bench/llama/bench.py [--models 8b] [--out DIR] [--dir DIR] [--keep]

DIR holds an existing llama.cpp CUDA build's programs: llama-bench,
llama-batched-bench, llama-completion and llama-fit-params (README.md beside
this file says how to build one; this script builds and fetches nothing of
it).  For each model (made here: random F16 weights, the llama
architecture's tensors and shapes, an SPM vocabulary), each configuration in
processes of its own:

  1. native, uncapped: the whole model in VRAM;
  2. gb-run --vram-limit CAP, by default (t2_stream off), and with
     --t2-stream on;
  3. llama.cpp's own CPU offload, with the -ngl its --fit chooses for a CAP
     card (llama-fit-params under gb-run --report physical --vram-limit CAP,
     so that the card it sees has CAP);
  4. gb-quant's highest-quality plan for CAP less the KV cache and scratch,
     whole in VRAM;
  5. the bound of the best placement under CAP (report.bound), from the
     bandwidths measured at the start of the run and the native run's times.

Tests: pp512, pp2048 and tg128 (llama-bench), decode throughput at 1, 8 and
32 sequences (llama-batched-bench, 128-token prompts, 16 steps), and the
greedy text of a fixed prompt (llama-completion, temperature 0), which every
gb-run configuration must reproduce exactly.  --smoke runs the whole
pipeline on a tiny model, also without a GPU (to try the script and the
build: no figure of it means anything).
"""
import argparse
import copy
import datetime
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import benchlib  # noqa: E402
import report as R  # noqa: E402

GB_RUN = os.path.join(TOP, "bin", "gb-run")
GB_QUANT = os.path.join(TOP, "bin", "gb-quant")
MKMODEL = os.path.join(TOP, "tests", "quant", "mkmodel")

# name: shape for tests/quant/mkmodel, and the emulated card
MODELS = {
    # Llama-3-8B's layers with Llama-2's 32000-token vocabulary: 13.5 GiB of F16
    "8b": dict(dim=4096, ff=14336, layers=32, heads=32, kv=8, vocab=32000, cap="8G"),
    # Qwen3-14B's layer shape, 48 layers: 30.1 GiB of F16
    "16b": dict(dim=5120, ff=17408, layers=48, heads=40, kv=8, vocab=32000, cap="16G"),
    # for --smoke
    "tiny": dict(dim=256, ff=768, layers=4, heads=4, kv=2, vocab=2000, cap="1G"),
}

UBATCH = 512
BATCH_PP, BATCH_TG, BATCH_NPL = 128, 16, (1, 8, 32)
BATCH_CTX = max(BATCH_NPL) * (BATCH_PP + BATCH_TG)
TEXT_N, TEXT_CTX = 32, 512
PROMPT = "The history of the city begins with a small market on the river, where"

LOG = None


def log(*a):
    line = " ".join(str(x) for x in a)
    print(line, flush=True)
    if LOG:
        LOG.write(line + "\n")
        LOG.flush()


def size_bytes(s):
    m = re.fullmatch(r"([0-9.]+)([KMGT]?)", s)
    if not m:
        sys.exit(f"bench.py: usage: bad size {s!r}")
    return int(float(m.group(1)) * (1 << (10 * " KMGT".index(m.group(2) or " "))))


class Nvml:
    """The GPU's used memory, for the peak of a native run (the shim's
    status file tells a gb-run run's own).  Absent without pynvml."""

    def __init__(self):
        try:
            import pynvml
            pynvml.nvmlInit()
            self.p = pynvml
            self.h = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:
            self.p = None

    def used(self):
        if not self.p:
            return None
        try:
            return self.p.nvmlDeviceGetMemoryInfo(self.h).used
        except Exception:
            return None


class Poller(threading.Thread):
    """While a program runs: the GPU's peak used memory, and the status
    file snapshot (of any process in run_dir) with the most bytes held."""

    def __init__(self, nvml, run_dir):
        super().__init__(daemon=True)
        self.nvml, self.run_dir = nvml, run_dir
        self.stop = threading.Event()
        self.base = nvml.used()
        self.peak_used = self.base
        self.status, self.status_total = None, -1

    def run(self):
        while not self.stop.wait(0.1):
            u = self.nvml.used()
            if u is not None and (self.peak_used is None or u > self.peak_used):
                self.peak_used = u
            for p in glob.glob(os.path.join(self.run_dir, "*.status")) if self.run_dir else ():
                try:
                    with open(p) as f:
                        st = R.parse_status(f.read())
                except OSError:
                    continue
                t = R.status_total(st)
                if t > self.status_total:
                    self.status, self.status_total = st, t

    def gpu_peak(self):
        if self.base is None or self.peak_used is None:
            return None
        return self.peak_used - self.base


def run(name, cmd, env, nvml, run_dir=None, timeout=300):
    """One program; its output, how it ended, and what the poller saw."""
    log(f"$ {shlex.join(cmd)}")
    if run_dir:
        for p in glob.glob(os.path.join(run_dir, "*.status")):
            os.unlink(p)
    poll = Poller(nvml, run_dir)
    poll.start()
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
                           errors="replace")
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = "timed out after %d s" % timeout
        out, err = benchlib.text_of(e.stdout), benchlib.text_of(e.stderr)
    poll.stop.set()
    poll.join()
    secs = time.time() - t0
    # the log keeps what matters of stderr: the shim's lines, the buffers, errors
    keep = [l for l in err.splitlines() if re.search(
        r"greenboost|gb-run|buffer size|error|fail|fatal|warn|offload|llama_params_fit|CUDA0", l, re.I)]
    for line in keep[-60:]:
        log("    " + line)
    if rc != 0:
        log(f"    {name}: {'exit status ' + str(rc) if isinstance(rc, int) else rc}")
        for line in err.strip().splitlines()[-15:]:
            log("    | " + line)
    log(f"    ({secs:.1f} s)")
    return {"rc": rc, "out": out, "err": err, "secs": secs, "status": poll.status,
            "status_total": max(poll.status_total, 0), "gpu_peak": poll.gpu_peak()}


def programs(llama, model, ngl):
    """The three programs every configuration runs, with their arguments."""
    g = [] if ngl is None else ["-ngl", str(ngl)]
    reps = ["-r", "1"]
    return {
        "bench": [os.path.join(llama, "llama-bench"), "-m", model, "-p", "512,2048", "-n", "128", "-ub",
                  str(UBATCH), "-o", "jsonl", "-v"] + reps + g,
        "batched": [os.path.join(llama, "llama-batched-bench"), "-m", model, "-c", str(BATCH_CTX), "-b", "2048",
                    "-ub", str(UBATCH), "-npp", str(BATCH_PP), "-ntg", str(BATCH_TG), "-npl",
                    ",".join(str(n) for n in BATCH_NPL), "-kvu", "-fit", "off", "--output-format", "jsonl"] + g,
        "greedy": [os.path.join(llama, "llama-completion"), "-m", model, "-p", PROMPT, "-n", str(TEXT_N), "--temp",
                 "0", "-s", "1", "-c", str(TEXT_CTX), "-fit", "off", "-no-cnv", "--no-display-prompt",
                 "--ignore-eos"] + g,
    }


def run_config(label, prefix, llama, model, ngl, env, nvml, run_dir, a):
    """Every program of one configuration: rates per test, the greedy text,
    llama.cpp's buffers and what the shim and NVML saw."""
    res = {"label": label, "rates": {}, "secs": {}, "ok": True, "why": []}
    for prog, cmd in programs(llama, model, ngl).items():
        r = run(f"{label}: {prog}", prefix + cmd, env, nvml, run_dir, a.timeout)
        res[prog] = {k: r[k] for k in ("rc", "secs", "status_total", "gpu_peak")}
        res[prog]["status"] = r["status"]
        res[prog]["buffers"] = R.parse_buffers(r["err"])
        if r["rc"] != 0:
            res["ok"] = False
            res["why"].append(f"{prog}: {'exit status ' + str(r['rc']) if isinstance(r['rc'], int) else r['rc']}")
        if prog == "bench":
            for k, (ts, s) in R.bench_results(r["out"]).items():
                res["rates"][k], res["secs"][k] = ts, s
            res["build"] = next((o for o in R.parse_jsonl(r["out"]) if "build_commit" in o), {})
        elif prog == "batched":
            for k, (ts, s, steps) in R.batched_results(r["out"]).items():
                res["rates"][k], res["secs"][k] = ts, s
        else:
            res["text"] = r["out"] if r["rc"] == 0 else None
    return res


def fit_ngl(llama, model, cap, env, nvml, a):
    """The -ngl llama.cpp's --fit gives on a CAP card, and how it was had."""
    cmd = [GB_RUN, "--report", "physical", "--vram-limit", cap, os.path.join(llama, "llama-fit-params"), "-m", model,
           "-c", str(BATCH_CTX), "-b", "2048", "-ub", str(UBATCH)]
    r = run("fit", cmd, env, nvml, None, a.timeout)
    m = re.search(r"-ngl\s+([0-9]+)", r["out"])
    if r["rc"] == 0 and m:
        return int(m.group(1)), f"llama-fit-params -c {BATCH_CTX} under gb-run --report physical --vram-limit {cap}"
    return None, f"llama-fit-params gave no -ngl ({r['rc']})"


def kv_bytes(spec, tokens):
    """The f16 K and V cache of tokens tokens, every layer."""
    return tokens * spec["layers"] * 2 * spec["kv"] * (spec["dim"] // spec["heads"]) * 2


def fit_ngl_from_sizes(native, spec, cap_b, margin=1 << 30):
    """The fallback: whole layers of the native run's weights (as
    llama-bench logged them) in what the cap leaves after the batched
    context's KV cache, the largest compute buffer llama-bench logged and
    llama.cpp's default 1 GiB margin."""
    b = native["bench"]["buffers"]
    compute = max((c["compute"] for c in b["contexts"]), default=0)
    per_layer = b["weights"] / (spec["layers"] + 1)  # the output matrix is about one layer
    room = cap_b - margin - kv_bytes(spec, BATCH_CTX) - compute
    return max(0, min(spec["layers"], int(room // per_layer))) if per_layer else 0


def make_model(spec, path, jobs):
    cmd = [MKMODEL, "--type", "f16", "--layers", str(spec["layers"]), "--dim", str(spec["dim"]), "--ff",
           str(spec["ff"]), "--heads", str(spec["heads"]), "--kv-heads", str(spec["kv"]), "--vocab",
           str(spec["vocab"]), "--ctx", "8192", "--seed", "1", "--jobs", str(jobs), path]
    log(f"$ {' '.join(cmd)}")
    t0 = time.time()
    subprocess.run(cmd, check=True)
    log(f"    {os.path.getsize(path)} bytes in {time.time() - t0:.1f} s")


def quant_fit(model, out, cap, jobs, env):
    """gb-quant's highest-quality plan for the card, applied."""
    cmd = [GB_QUANT, "apply", "--vram", cap, "--context", str(BATCH_CTX), "--threads", str(jobs), model, out]
    log(f"$ {' '.join(cmd)}")
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in (p.stdout + p.stderr).strip().splitlines()[-6:]:
        log("    " + line)
    log(f"    ({time.time() - t0:.1f} s)")
    if p.returncode != 0:
        return None
    plan = subprocess.run([GB_QUANT, "inspect", out], capture_output=True, text=True, env=env).stdout
    types = {}
    for line in plan.splitlines():
        f = line.split("\t")
        if len(f) >= 3 and not line.startswith("#") and f[0] == "tensor":
            types[f[2]] = types.get(f[2], 0) + 1
    return ", ".join(f"{t} x{n}" for t, n in sorted(types.items(), key=lambda x: -x[1]))


def bandwidth(tmp, env):
    """HBM read and pinned copy rates, measured here by bench-core bw."""
    nvcc = os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "nvcc")
    exe = os.path.join(tmp, "bench-core")
    b = subprocess.run([nvcc, "-arch=" + os.environ.get("GPU_ARCH", "sm_90"), "-O3", "-cudart", "shared", "-Ilib",
                        "-o", exe, "bench/core/bench-core.cu", "lib/libgb.a"], cwd=TOP, capture_output=True, text=True)
    if b.returncode != 0:
        log("# bench-core did not build: " + b.stderr.strip()[-300:])
        return None
    p = subprocess.run([exe, "bw"], capture_output=True, text=True, env=env, timeout=120)
    r = dict(re.findall(r"^RESULT bw\.(\w+) ([0-9.]+)", p.stdout, re.M))
    if p.returncode != 0 or len(r) != 3:
        log("# bench-core bw failed: " + (p.stdout + p.stderr).strip()[-300:])
        return None
    return {k: float(v) for k, v in r.items()}


def main():
    global LOG
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="8b", help="comma-separated, of: " + ", ".join(MODELS))
    ap.add_argument("--out", default=os.environ.get("OUT", ""), help="where bench-llama.{md,log,json} go")
    ap.add_argument("--dir", default="", help="where the models are written (default: /dev/shm if it has room)")
    ap.add_argument("--keep", action="store_true", help="keep the models (and reuse one already there)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds a program may run")
    ap.add_argument("--smoke", action="store_true", help="the tiny model, also without a GPU: tries the pipeline")
    ap.add_argument("--tree", default=os.environ.get("TREE", ""), help="the tree's commit, for the record")
    ap.add_argument("--summarize", metavar="JSON", help="no run: the block again from a run's bench-llama.json")
    a = ap.parse_args()
    if a.summarize:
        return resummarize(a)
    llama = os.environ.get("LLAMA_CPP", "")
    need = ["llama-bench", "llama-batched-bench", "llama-completion", "llama-fit-params"]
    if not llama or not all(os.access(os.path.join(llama, b), os.X_OK) for b in need):
        sys.exit("bench.py: usage: LLAMA_CPP=DIR python3 bench/llama/bench.py: DIR must hold an existing llama.cpp "
                 "build's " + ", ".join(need) + " (bench/llama/README.md)")
    models = ["tiny"] if a.smoke else a.models.split(",")
    for m in models:
        if m not in MODELS:
            sys.exit(f"bench.py: usage: unknown model {m!r} (" + ", ".join(MODELS) + ")")
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        LOG = open(os.path.join(a.out, "bench-llama.log"), "w")
    jobs = os.cpu_count() or 1
    card, driver, mem = benchlib.gpu_info()
    card, mem = card or "no GPU", mem or "-"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    tree = a.tree or benchlib.tree()
    log(f"# bench/llama: {card} ({mem}), driver {driver}, {when}, tree {tree}")
    mk = subprocess.run(["make", "-s", "all", "tests/quant/mkmodel"], cwd=TOP, capture_output=True, text=True)
    if mk.returncode != 0:
        sys.exit("bench.py: fatal: make failed:\n" + mk.stderr[-2000:])

    tmp = tempfile.mkdtemp(prefix="gb-llama.")
    run_dir = os.path.join(tmp, "run")
    os.makedirs(run_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GB_")}
    env.update(GB_RUN_DIR=run_dir, GB_CONFIG="/dev/null", GB_STATUS_INTERVAL="50ms")
    nvml = Nvml()
    bw = None if a.smoke else bandwidth(tmp, env)
    if bw is None:
        if not a.smoke:
            sys.exit("bench.py: fatal: no bandwidths, so no bound (see above)")
        bw = {"hbm_gbps": 1000.0, "h2d_gbps": 50.0, "d2h_gbps": 50.0}
        log("# smoke run: made-up bandwidths")
    log(f"# HBM read {bw['hbm_gbps']:.0f} GB/s, pinned host->device {bw['h2d_gbps']:.1f} GB/s, "
        f"device->host {bw['d2h_gbps']:.1f} GB/s")

    record = {"card": f"{card} ({mem})", "driver": driver, "when": when, "tree": tree, "bw": bw, "models": {}}
    md = []
    failed = []
    for name in models:
        spec = MODELS[name]
        cap, cap_b = spec["cap"], size_bytes(spec["cap"])
        d = a.dir or ("/dev/shm" if shutil.disk_usage("/dev/shm").free > 50 * R.GiB else tmp)
        path = os.path.join(d, f"gb-llama-{name}.gguf")
        fitpath = os.path.join(d, f"gb-llama-{name}-fit.gguf")
        if not (a.keep and os.path.exists(path)):
            make_model(spec, path, jobs)
        log(f"# {name}: {spec}, {os.path.getsize(path) / R.GiB:.2f} GiB, cap {cap}")
        rows = {}
        rows["native"] = run_config("native", [], llama, path, None, env, nvml, None, a)
        gbp = [GB_RUN, "--vram-limit", cap, "-v"]
        rows["gb"] = run_config("gb-run", gbp, llama, path, None, env, nvml, run_dir, a)
        rows["gb-t2"] = run_config("gb-run --t2-stream on", gbp + ["--t2-stream", "on"], llama, path, None, env,
                                   nvml, run_dir, a)
        ngl, how = fit_ngl(llama, path, cap, env, nvml, a)
        if ngl is None:
            ngl = fit_ngl_from_sizes(rows["native"], spec, cap_b)
            how += f"; from the layer sizes instead: {ngl} layers in cap less the batched context and 1 GiB"
        rows["offload"] = run_config(f"llama.cpp CPU offload, -ngl {ngl}", [], llama, path, ngl, env, nvml, None, a)
        rows["offload"]["how"] = how
        rows["offload"]["ngl"] = ngl
        types = quant_fit(path, fitpath, cap, jobs, env)
        if types is not None:
            rows["quant"] = run_config("gb-quant fit", [], llama, fitpath, None, env, nvml, None, a)
            rows["quant"]["types"] = types
            rows["quant"]["file_bytes"] = os.path.getsize(fitpath)
        if not a.keep:
            for p in (path, fitpath):
                if os.path.exists(p):
                    os.unlink(p)
        block, bad = summarize(name, spec, rows, bw, cap_b)
        md.append(block)
        failed += bad
        record["models"][name] = rows

    record["command"] = benchlib.command("LLAMA_CPP=DIR python3 bench/llama/bench.py", sys.argv[1:],
                                         ("--out", "--tree", "--dir"))
    build = next((v["native"].get("build") for v in record["models"].values() if v["native"].get("build")), {})
    # what the build says of itself can be a parent folder's git: the
    # caller may name the source instead
    source = os.environ.get("LLAMA_CPP_SOURCE") or (f"build {build.get('build_number', '?')} "
                                                     f"({build.get('build_commit', '?')})")
    record["llama_cpp"] = source
    head = [f"## {when}, {card} ({mem}), driver {driver}: llama.cpp under gb-run (bench/llama)", "",
            f"- tree: {tree}; command: `{record['command']}`",
            f"- llama.cpp: {source}, CUDA backend, {build.get('n_threads', '?')} CPU threads",
            f"- measured in this run: HBM read {bw['hbm_gbps']:.0f} GB/s, pinned host->device "
            f"{bw['h2d_gbps']:.1f} GB/s, device->host {bw['d2h_gbps']:.1f} GB/s "
            f"{'(made up: a smoke run)' if a.smoke else '(bench-core bw)'}",
            "- each cell: tok/s · fraction of the bound · ratio to llama.cpp's CPU offload; pp: llama-bench, one "
            "repetition after its warm-up, ubatch 512; decode xN: llama-batched-bench, N sequences of 128-token "
            "prompts, 16 decode steps, unified KV cache", ""]
    text = "\n".join(head + md)
    log("")
    log(text)
    if a.out:
        with open(os.path.join(a.out, "bench-llama.md"), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(a.out, "bench-llama.json"), "w") as f:
            json.dump(record, f, indent=1, default=str)
    shutil.rmtree(tmp, ignore_errors=True)
    for f in failed:
        log(f"FAIL: {f}")
    return 1 if failed else 0


def resummarize(a):
    """The blocks of a run, from its record, with this version's arithmetic."""
    with open(a.summarize) as f:
        rec = json.load(f)
    out = [f"## {rec['when']}, {rec['card']}, driver {rec['driver']}: llama.cpp under gb-run (bench/llama), "
           f"summarized again from {os.path.basename(a.summarize)}", "",
           f"- tree of the run: {rec['tree']}; command: `{rec.get('command', '(not recorded)')}`; llama.cpp: "
           f"{rec.get('llama_cpp', '(not recorded)')}",
           f"- measured in that run: HBM read {rec['bw']['hbm_gbps']:.0f} GB/s, pinned host->device "
           f"{rec['bw']['h2d_gbps']:.1f} GB/s, device->host {rec['bw']['d2h_gbps']:.1f} GB/s", ""]
    failed = []
    for name, rows in rec["models"].items():
        spec = MODELS[name]
        block, bad = summarize(name, spec, rows, rec["bw"], size_bytes(spec["cap"]))
        out.append(block)
        failed += bad
    print("\n".join(out))
    return 1 if failed else 0


def derive_buffers(r, spec, weights):
    """Outside llama-bench, llama.cpp's programs log their buffers' sizes
    only at verbosity 4: where a program's log has none, its weights are
    the llama-bench run's of the same configuration (else weights, the
    native run's) and its context's KV cache the f16 cache the shape gives,
    the part of it on the GPU's layers where -ngl leaves some on the CPU;
    its compute buffer is then counted with the rest ("other")."""
    w = r["bench"]["buffers"]["weights"] or weights
    ngl = r.get("ngl")
    if ngl is None and re.search(r"-ngl ([0-9]+)", r.get("label", "")):  # a record of before "ngl" was kept
        ngl = int(re.search(r"-ngl ([0-9]+)", r["label"]).group(1))
    on_gpu = min(spec["layers"], ngl) / spec["layers"] if ngl is not None else 1
    for prog, ctx in (("batched", BATCH_CTX), ("greedy", TEXT_CTX)):
        b = r.get(prog, {}).get("buffers")
        if b is not None and not b["weights"] and w:
            b.update(weights=w, contexts=[{"kv": int(kv_bytes(spec, ctx) * on_gpu), "compute": 0}], derived=True)


def summarize(name, spec, rows, bw, cap_b):
    """The model's block: the table, where the memory went, the bound's
    inputs, and the checks that failed."""
    rows = copy.deepcopy(rows)  # the record keeps what the programs said
    nat, gb = rows["native"], rows["gb"]
    failed = []
    W = nat["bench"]["buffers"]["weights"] or nat["batched"]["buffers"]["weights"]
    for r in rows.values():
        derive_buffers(r, spec, W)
    # what each program holds besides weights, KV and compute: from the
    # default gb-run run's status file (the shim sees every allocation)
    other = {p: R.other_bytes(gb[p]["status_total"], gb[p]["buffers"]) if gb[p]["status"] else 0
             for p in ("bench", "batched")}
    bctx = nat["bench"]["buffers"]["contexts"]
    tctx = nat["batched"]["buffers"]["contexts"]
    bounds, in_vram = {}, {}
    for i, t in enumerate(R.TESTS):
        tname, kind = t[0], t[1]
        if tname not in nat["secs"]:
            continue
        if kind == "batch":
            c = tctx[-1] if tctx else {"kv": 0, "compute": 0}
            nonweight = c["kv"] + c["compute"] + other["batched"]
            n_passes = BATCH_TG
        else:
            c = bctx[i] if i < len(bctx) else {"kv": 0, "compute": 0}
            nonweight = c["kv"] + c["compute"] + other["bench"]
            n_passes = R.passes(t, UBATCH)
        rate, v = R.bound(W, cap_b, nonweight, n_passes, bw["h2d_gbps"], nat["secs"][tname],
                          R.tokens_of(t, BATCH_TG))
        bounds[tname], in_vram[tname] = rate, v
    nat_text = nat.get("text")
    rows_out = []
    for key, r in rows.items():
        if key == "native":
            same = "(reference)"
        elif key in ("gb", "gb-t2") and "text" not in r:
            same = "not recorded"  # a record of a run before texts were kept
        elif key in ("gb", "gb-t2"):
            same = "same" if r.get("text") is not None and r.get("text") == nat_text else "**DIFFERS**"
            if same != "same":
                failed.append(f"{name}, {r['label']}: greedy text differs from native's")
        else:
            same = "-"
        if not r["ok"]:
            failed.append(f"{name}, {r['label']}: " + "; ".join(r["why"]))
        label = r["label"]
        if key == "quant":
            label += f" ({R.human(r['file_bytes'])}: {r['types']})"
        rows_out.append((label, r["rates"], same))
    off = rows.get("offload", {}).get("rates", {})
    lines = [f"### {name}: {spec['layers']} layers, width {spec['dim']}, MLP {spec['ff']}, {spec['heads']}/"
             f"{spec['kv']} heads, vocabulary {spec['vocab']}, F16: {R.human(W)} of weights on the GPU; "
             f"cap {spec['cap']}", "", R.table(rows_out, bounds, off), ""]
    # the memory
    derived = nat["batched"]["buffers"].get("derived")
    lines += ["Where the memory went (llama-batched-bench, 32 sequences; T1 VRAM / T2 host, from the shim's "
              "status file at its peak; GPU: NVML's used memory at peak, CUDA's context included" +
              ("; its log gave no buffer sizes: weights as llama-bench logged them, the KV cache the f16 cache "
               f"of {BATCH_CTX} tokens, its compute buffer in other" if derived else "") + "):", "",
              "| configuration | weights | KV cache | compute buffers | other | GPU |", "| --- | --- | --- | --- | --- | --- |"]
    for key, r in rows.items():
        b = r["batched"]
        gpu = R.human(b["gpu_peak"]) if b.get("gpu_peak") is not None else "-"
        if b.get("status"):
            bd = R.breakdown(b["status"], b["buffers"])
            cells = [f"{R.human(bd[k]['t1'])} / {R.human(bd[k]['t2'])}" for k in ("weights", "kv", "compute", "other")]
        else:
            bb = b["buffers"]
            c = bb["contexts"][-1] if bb["contexts"] else {"kv": 0, "compute": 0}
            cells = [f"{R.human(bb['weights'])} VRAM", f"{R.human(c['kv'])}", f"{R.human(c['compute'])}", "-"]
        if b["buffers"].get("derived"):
            cells[2] = "in other" if b.get("status") else "-"
        lines.append(f"| {r['label']} | " + " | ".join(cells) + f" | {gpu} |")
    lines.append("")
    bc = tctx[-1] if tctx else {"kv": 0, "compute": 0}
    lines += [f"- bound: the weights the GPU reads ({R.human(W)}) less what the cap leaves after each test's KV "
              f"cache, compute buffers and the rest of what llama.cpp holds (pools, cuBLAS: "
              f"{R.human(other['bench'])} in llama-bench, {R.human(other['batched'])} in llama-batched-bench, from "
              f"the default gb-run run's status file) cross PCIe at {bw['h2d_gbps']:.1f} GB/s once per forward "
              f"pass; a test takes at least that or the native run's time. Weights in VRAM in the bound: " +
              ", ".join(f"{k} {R.human(v)}" for k, v in in_vram.items()) + f" (batched context: KV "
              f"{R.human(bc['kv'])}, compute " + ("in the rest" if derived else R.human(bc['compute'])) + ")",
              f"- CPU offload: {rows['offload'].get('how', '?')}"]
    if "quant" in rows:
        lines.append(f"- gb-quant: `gb-quant apply --vram {spec['cap']} --context {BATCH_CTX}`, "
                     f"{R.human(rows['quant']['file_bytes'])} file, loaded with every layer on the GPU")
    else:
        lines.append("- gb-quant fit: **failed** (see the log)")
        failed.append(f"{name}: gb-quant apply failed")
    for key in ("gb", "gb-t2"):
        st = rows[key]["batched"].get("status") or {}
        lines.append(f"- {rows[key]['label']}: peak T1 {R.human(int(st.get('dev0.t1_peak', 0)))}, T2 "
                     f"{R.human(int(st.get('dev0.t2_peak', 0)))}, staged {R.human(int(st.get('dev0.staged_bytes', 0)))}"
                     " (llama-batched-bench)")
    for f in failed:
        lines.append(f"- **FAIL**: {f}")
    lines.append("")
    return "\n".join(lines), failed


if __name__ == "__main__":
    sys.exit(main())
