#!/usr/bin/env python3
"""bench/llama/bench.py end to end without a GPU or llama.cpp: stand-ins
for llama-bench, llama-batched-bench, llama-completion and llama-fit-params
check the arguments each configuration gives them and print what the real
ones print (jsonl, buffer sizes on stderr), so that the whole pipeline, its
tables and its failure paths run.  TAP on stdout.  Needs the tree built
(make check builds it)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import done, ok  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


# the stand-ins: one Python program, called by four names
FAKE = r'''#!/usr/bin/env python3
import json, os, sys
name = os.path.basename(sys.argv[0])
a = sys.argv[1:]
log = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "calls")
with open(log, "a") as f:
    f.write(json.dumps([name] + a) + "\n")
def arg(k, d=None):
    return a[a.index(k) + 1] if k in a else d
ngl = arg("-ngl")
mib = 1 << 20
def buffers(ctx_kv):
    sys.stderr.write("load_tensors:        CUDA0 model buffer size =    %.2f MiB\n" % (6.0 if ngl is None else 2.0))
    sys.stderr.write("load_tensors:   CPU_Mapped model buffer size =     1.00 MiB\n")
    for kv in ctx_kv:
        sys.stderr.write("llama_kv_cache:        CUDA0 KV buffer size =     %.2f MiB\n" % kv)
        sys.stderr.write("sched_reserve:      CUDA0 compute buffer size =     3.00 MiB\n")
if not os.path.exists(arg("-m", "")):
    sys.exit("fake: no model " + str(arg("-m")))
if name == "llama-fit-params":
    if os.environ.get("FAKE_NOFIT"):
        sys.exit("fake: failed to fit CLI arguments to free memory")
    print("-c %s -ngl 2" % arg("-c"))
elif name == "llama-bench":
    assert arg("-p") == "512,2048" and arg("-n") == "128" and arg("-r") == "1" and arg("-o") == "jsonl" and "-v" in a
    buffers([0.25, 1.0, 0.0625])
    slow = 10.0 if ngl else 1.0
    for p, g in ((512, 0), (2048, 0), (0, 128)):
        ns = (p or g) * 1e6 * slow
        print(json.dumps({"build_commit": "fake", "build_number": 1, "n_threads": 2, "n_prompt": p, "n_gen": g,
                          "avg_ns": ns, "avg_ts": (p or g) / (ns / 1e9)}))
elif name == "llama-batched-bench":
    # like llama.cpp's: common_log's prefix, and no buffer sizes below verbosity 4
    assert arg("-npl") == "1,8,32" and "-kvu" in a and arg("--output-format") == "jsonl" and arg("-fit") == "off"
    sys.stderr.write("0.02.208.924 W resolve_fused_ops: layer 0 is assigned to device CPU\n")
    for pl in (1, 8, 32):
        t = 0.016 * (3 if ngl else 1)
        print(json.dumps({"pp": 128, "tg": 16, "pl": pl, "t_tg": t, "speed_tg": pl * 16 / t}))
elif name == "llama-completion":
    assert arg("--temp") == "0" and "--ignore-eos" in a and "--no-display-prompt" in a and arg("-fit") == "off"
    differ = os.environ.get("FAKE_DIFFER") and os.path.exists(log + ".seen")
    open(log + ".seen", "w").close()
    print("a different text" if differ else " the same greedy text")
'''


def run(tmp, extra_env=None):
    fake = os.path.join(tmp, "llama")
    os.makedirs(fake, exist_ok=True)
    for b in ("llama-bench", "llama-batched-bench", "llama-completion", "llama-fit-params"):
        with open(os.path.join(fake, b), "w") as f:
            f.write(FAKE)
        os.chmod(os.path.join(fake, b), 0o755)
    for p in ("calls", "calls.seen"):
        if os.path.exists(os.path.join(fake, p)):
            os.unlink(os.path.join(fake, p))
    out = os.path.join(tmp, "out")
    env = dict(os.environ, LLAMA_CPP=fake, GB_CUDA_LIB=os.path.join(tmp, "no-driver.so"), **(extra_env or {}))
    p = subprocess.run([sys.executable, os.path.join(TOP, "bench", "llama", "bench.py"), "--smoke", "--out", out,
                        "--dir", tmp, "--tree", "test"], capture_output=True, text=True, env=env, timeout=600)
    calls = []
    if os.path.exists(os.path.join(fake, "calls")):
        with open(os.path.join(fake, "calls")) as f:
            calls = [json.loads(l) for l in f]
    md = ""
    if os.path.exists(os.path.join(out, "bench-llama.md")):
        with open(os.path.join(out, "bench-llama.md")) as f:
            md = f.read()
    return p, calls, md


tmp = tempfile.mkdtemp(prefix="t-llama-pipeline.")
try:
    p, calls, md = run(tmp)
    ok(p.returncode == 0, f"a smoke run with every configuration matching exits 0 ({p.returncode}: {p.stderr[-300:]})")
    names = [c[0] for c in calls]
    ok(names.count("llama-bench") == 5 and names.count("llama-batched-bench") == 5 and
       names.count("llama-completion") == 5, "five configurations, each running the three programs")
    ok(names.count("llama-fit-params") == 1, "llama-fit-params asked once, for the CPU offload")
    ngls = [c[c.index("-ngl") + 1] for c in calls if c[0] == "llama-bench" and "-ngl" in c]
    ok(ngls == ["2"], "the CPU offload runs with the -ngl the fit gave, the others with every layer")
    fit = [c for c in calls if c[0] == "llama-bench" and "-fit.gguf" in c[c.index("-m") + 1]]
    ok(len(fit) == 1, "the gb-quant row runs gb-quant's file")
    ok("| native | " in md and "| gb-run | " in md and "| gb-run --t2-stream on | " in md and
       "| llama.cpp CPU offload, -ngl 2 | " in md and "| gb-quant fit (" in md, "every configuration has a row")
    ok("| bound of the best placement under the cap |" in md, "the bound has a row")
    row = [l for l in md.splitlines() if l.startswith("| llama.cpp CPU offload")][0]
    ok(" · 1.00x |" in row, "the CPU offload's ratio to itself is 1")
    nat = [l for l in md.splitlines() if l.startswith("| native |")][0]
    ok("| 1000 · " in nat and "| (reference) |" in nat, "native: 2048 tokens in 2.048 s are 1000 tok/s")
    ok(md.count("| same |") == 2, "both gb-run rows' greedy text equals native's")
    ok("Where the memory went" in md and "tree: test" in md and "command: `LLAMA_CPP=DIR python3 bench/llama/bench.py --smoke`"
       in md, "the block names the tree and the command, less --out and --dir... and says where the memory went")
    ok(not os.path.exists(os.path.join(tmp, "gb-llama-tiny.gguf")), "the models are removed after the run")
    ok("its log gave no buffer sizes: weights as llama-bench logged them, the KV cache the f16 cache of 4608 tokens"
       in md, "llama-batched-bench logs no buffer sizes: the memory table says where its figures came from")
    mem = [l for l in md.splitlines() if l.startswith("| native | 6M VRAM")]
    ok(len(mem) == 1 and "| 9M |" in mem[0], "its weights as llama-bench logged them, its KV cache from the shape "
       "(4608 tokens x 4 layers x K and V x 2 heads of 64 x 2 bytes = 9 MiB)")
    ok("b32 6M (batched context: KV 9M" in md, "and the bound counts that KV cache")
    js = os.path.join(tmp, "out", "bench-llama.json")
    again = subprocess.run([sys.executable, os.path.join(TOP, "bench", "llama", "bench.py"), "--summarize", js],
                           capture_output=True, text=True)
    table = [l for l in md.splitlines() if l.startswith("| ")]
    ok(again.returncode == 0 and [l for l in again.stdout.splitlines() if l.startswith("| ")] == table,
       "--summarize gives the same tables from the run's record, without a GPU or llama.cpp")
    ok("command: `LLAMA_CPP=DIR python3 bench/llama/bench.py --smoke`" in again.stdout,
       "and names the run's command from the record")

    p, calls, md = run(tmp, {"FAKE_DIFFER": "1"})
    ok(p.returncode == 1, "a gb-run row whose greedy text differs fails the run")
    ok("**DIFFERS**" in md and "**FAIL**: tiny, gb-run: greedy text differs from native's" in md,
       "and the block says which")

    p, calls, md = run(tmp, {"FAKE_NOFIT": "1"})
    ngls = [c[c.index("-ngl") + 1] for c in calls if c[0] == "llama-bench" and "-ngl" in c]
    ok(ngls == ["0"] and "from the layer sizes instead: 0 layers in cap less the batched context and 1 GiB" in md,
       f"where llama-fit-params gives nothing, whole layers by their sizes: none fit in 1 GiB less 1 GiB ({ngls})")
    ok("| llama.cpp CPU offload, -ngl 0 | 2M VRAM | 0M |" in md,
       "and its KV cache is the part on the GPU's layers: none")
    sys.path.insert(0, os.path.join(TOP, "bench", "llama"))
    import bench as B  # noqa: E402
    nat8 = {"bench": {"buffers": {"weights": 14221857260, "contexts": [{"kv": 1 << 26, "compute": 113780982},
                                                                      {"kv": 1 << 28, "compute": 115353846}]}}}
    ok(B.fit_ngl_from_sizes(nat8, B.MODELS["8b"], 8 << 30) == 15,
       "the fallback on the 8b run's own figures: 15 layers in 8 GiB (llama-fit-params chose 16)")

    p = subprocess.run([sys.executable, os.path.join(TOP, "bench", "llama", "bench.py")], capture_output=True,
                       text=True, env={k: v for k, v in os.environ.items() if k != "LLAMA_CPP"})
    ok(p.returncode != 0 and "LLAMA_CPP=DIR" in p.stderr, "without LLAMA_CPP: a usage error naming it")
    p = subprocess.run([sys.executable, os.path.join(TOP, "bench", "llama", "bench.py"), "--models", "70b"],
                       capture_output=True, text=True, env=dict(os.environ, LLAMA_CPP=os.path.join(tmp, "llama")))
    ok(p.returncode != 0 and "unknown model '70b'" in p.stderr, "an unknown model: a usage error")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

done()
