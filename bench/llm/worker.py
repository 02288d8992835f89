"""One configuration of the LLM benchmark, in this process (bench/llm/bench.py
runs one worker per configuration, so that each starts with a clean GPU).

  worker.py bw                       HBM read and pinned host->device bandwidth
  worker.py gemv                     matrix products over a weight GreenBoost placed
                                     in T2 (run it under gb-run with a small cap)
  worker.py run --size S --mode M    M: native | gb (under gb-run) | accelerate

A Llama-architecture decoder is built from a config with random bf16
weights (no downloads, no tokenizer), the same weights in every mode (same
seed, same initialisation kernels). Prints one JSON object on the last line.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import status  # noqa: E402,F401  (shapes.py takes it from here too)

SIZES = {
    # name: (hidden, intermediate, layers, heads, kv heads, vocab)
    "8b": (4096, 14336, 32, 32, 8, 128256),    # Llama-3-8B shape, ~16 GB of bf16
    "14b": (5120, 13824, 48, 40, 8, 128256),   # ~29 GB of bf16
    "tiny": (512, 1536, 4, 8, 2, 32000),       # for trying the script out
}


def config(size):
    from transformers import LlamaConfig

    h, i, n, a, kv, v = SIZES[size]
    return LlamaConfig(hidden_size=h, intermediate_size=i, num_hidden_layers=n, num_attention_heads=a,
                       num_key_value_heads=kv, vocab_size=v, max_position_embeddings=8192,
                       tie_word_embeddings=False, torch_dtype="bfloat16")


def build(size):
    """The model on the GPU, weights from a fixed seed."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(1234)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config(size))
    torch.set_default_dtype(torch.float32)
    return model.eval()


def sync_time():
    torch.cuda.synchronize()
    return time.perf_counter()


def bandwidth():
    """HBM read (a reduction over 4 GiB) and pinned host->device copy (2 GiB), GB/s, best of 5."""
    x = torch.ones(1 << 30, dtype=torch.float32, device="cuda")
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    hbm = []
    for _ in range(6):
        s.record()
        torch.sum(x)
        e.record()
        e.synchronize()
        hbm.append(x.numel() * 4 / (s.elapsed_time(e) / 1e3) / 1e9)
    del x
    h = torch.ones(1 << 29, dtype=torch.float32).pin_memory()
    d = torch.empty(1 << 29, dtype=torch.float32, device="cuda")
    h2d = []
    for _ in range(6):
        s.record()
        d.copy_(h, non_blocking=True)
        e.record()
        e.synchronize()
        h2d.append(h.numel() * 4 / (s.elapsed_time(e) / 1e3) / 1e9)
    return {"hbm_gbps": max(hbm[1:]), "h2d_gbps": max(h2d[1:])}


@torch.inference_mode()
def gemv():
    """Effective read bandwidth of torch's matrix products over a 2 GiB
    weight (MLP-shaped rows of 4096 bf16) wherever the allocator put it (run
    under gb-run with a small cap: in T2), for several token counts; and the
    same product after copying the weight to VRAM, and the copy alone."""
    w = torch.empty(4096 * 64, 4096, dtype=torch.bfloat16, device="cuda").normal_()
    torch.cuda.mem_get_info()  # loading is over (the phase GreenBoost's t2_stream waits for)
    time.sleep(0.3)
    st = status()
    nbytes = w.numel() * 2
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    r = {"weight_bytes": nbytes, "t2_bytes": int(st.get("dev0.t2_bytes", 0))}
    for m in (1, 16, 128, 2048):
        x = torch.randn(m, 4096, dtype=torch.bfloat16, device="cuda")
        ts = []
        for _ in range(4):
            s.record()
            torch.nn.functional.linear(x, w)
            e.record()
            e.synchronize()
            ts.append(s.elapsed_time(e) / 1e3)
        r[f"m{m}_gbps"] = nbytes / min(ts[1:]) / 1e9
    # the alternative: copy the weight to VRAM (copy engine), then compute there
    torch.cuda.empty_cache()
    v = torch.empty_like(w, device="cuda")
    x = torch.randn(1, 4096, dtype=torch.bfloat16, device="cuda")
    ts = []
    for _ in range(4):
        s.record()
        v.copy_(w)
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e) / 1e3)
    r["copy_gbps"] = nbytes / min(ts[1:]) / 1e9
    r["v_t2_bytes"] = int(status().get("dev0.t2_bytes", 0))
    r["staged_bytes"] = int(status().get("dev0.staged_bytes", 0))
    return r


def decode_eager(model, ids, n):
    """Per-token times of n greedy steps, dynamic KV cache, one Python
    forward a token (what a plain HF loop does; CPU-bound on a fast GPU)."""
    out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
    times, toks = [], []
    for _ in range(n):
        t0 = sync_time()
        out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
        nxt = out.logits[:, -1:].argmax(-1)
        times.append(sync_time() - t0)
        toks.append(int(nxt.item()))
    return times, toks


def decode_graph(model, ids, n, prof=False):
    """Per-token times of n greedy steps replaying one CUDA graph of a
    decode step over a static KV cache, as serving engines do: the GPU's
    time, not Python's. prof: then profile two more replays and print
    where their time went (copy_report)."""
    from transformers import StaticCache

    length = ids.shape[1] + n + 8
    try:
        cache = StaticCache(config=model.config, max_cache_len=length)
    except TypeError:
        cache = StaticCache(config=model.config, max_batch_size=1, max_cache_len=length, device="cuda",
                            dtype=torch.bfloat16)
    out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1,
                cache_position=torch.arange(ids.shape[1], device=ids.device))
    inp = out.logits[:, -1:].argmax(-1)
    pos = torch.tensor([ids.shape[1]], device=ids.device)

    def step():
        return model(input_ids=inp, past_key_values=cache, cache_position=pos, use_cache=True).logits

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):  # warm-up; writes the slot at pos, rewritten below
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        logits = step()
    times, toks = [], []
    for _ in range(n):
        t0 = sync_time()
        graph.replay()
        inp.copy_(logits[:, -1:].argmax(-1))
        pos.add_(1)
        times.append(sync_time() - t0)
        toks.append(int(inp.item()))
    if prof:
        from torch.profiler import ProfilerActivity, profile as tprof

        torch.cuda.synchronize()
        with tprof(activities=[ProfilerActivity.CUDA]) as p:
            for _ in range(2):
                graph.replay()
            torch.cuda.synchronize()
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"gb-trace-{os.getpid()}.json")
        p.export_chrome_trace(path)
        copy_report(path, replays=2)
        os.unlink(path)
    return times, toks


def copy_report(path, replays):
    """From a profiler trace of decode replays, on stderr: how busy the
    copy engine was (host-to-device copies: t2_stream's), at what rate it
    copied, the gaps between copies and the kernels that ran in the
    largest, and the longest kernels (in-place reads of T2 among them)."""
    with open(path) as f:
        ev = [e for e in json.load(f).get("traceEvents", []) if e.get("ph") == "X" and "dur" in e]
    gpu = [e for e in ev if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    if not gpu:
        print("# profile: no GPU activity in the trace (graph nodes not traced?)", file=sys.stderr)
        return
    t0 = min(e["ts"] for e in gpu)
    t1 = max(e["ts"] + e["dur"] for e in gpu)
    h2d = sorted((e for e in gpu if e["cat"] == "gpu_memcpy" and "HtoD" in e["name"]), key=lambda e: e["ts"])
    kern = sorted((e for e in gpu if e["cat"] == "kernel"), key=lambda e: e["ts"])
    nb = sum(e.get("args", {}).get("bytes", 0) for e in h2d)
    busy = sum(e["dur"] for e in h2d)
    out = [f"# profile of {replays} decode replays: {(t1 - t0) / 1e3 / replays:.2f} ms a step; "
           f"{len(h2d) // replays} host-to-device copies a step, {nb / replays / 2**30:.2f} GiB, busy "
           f"{busy / (t1 - t0):.3f} of the time at {nb / busy / 1e3 if busy else 0:.1f} GB/s while busy"]
    gaps = []
    for a, b in zip(h2d, h2d[1:]):
        g = b["ts"] - (a["ts"] + a["dur"])
        if g > 0:
            ran = [k for k in kern if k["ts"] < b["ts"] and k["ts"] + k["dur"] > a["ts"] + a["dur"]]
            gaps.append((g, b.get("args", {}).get("bytes", 0), ran))
    gsum = sum(g[0] for g in gaps)
    out.append(f"# gaps between copies: {len(gaps) // replays} a step, {gsum / 1e3 / replays:.2f} ms a step; "
               f"before the first copy {(h2d[0]['ts'] - t0) / 1e3 if h2d else 0:.2f} ms, after the last "
               f"{(t1 - h2d[-1]['ts'] - h2d[-1]['dur']) / 1e3 if h2d else 0:.2f} ms")
    for g, b, ran in sorted(gaps, key=lambda x: -x[0])[:12]:
        names = ", ".join(f"{k['name'][:48]} {k['dur']:.0f}us" for k in ran[-4:])
        out.append(f"#   {g:8.0f} us before a copy of {b / 2**20:7.1f} MiB; {len(ran)} kernels in it: {names}")
    sizes = {}
    for e in h2d:
        b = e.get("args", {}).get("bytes", 0)
        s = sizes.setdefault(b >> 20, [0, 0])
        s[0] += 1
        s[1] += e["dur"]
    before = {}
    for g, b, ran in gaps:
        if g < 10000:  # not the time between replays
            x = before.setdefault(b >> 20, [0, 0])
            x[0] += 1
            x[1] += g
    for m, (c, d) in sorted(sizes.items(), key=lambda x: -x[0] * x[1][0])[:8]:
        gn, gt = before.get(m, [0, 0])
        out.append(f"#   copies of {m} MiB: {c // replays} a step, {c * (m << 20) / d / 1e3:.1f} GB/s; "
                   f"{gn // replays} gaps before them a step, {gt / gn if gn else 0:.0f} us on average")
    for k in sorted(kern, key=lambda e: -e["dur"])[:6]:
        out.append(f"#   long kernel {k['dur']:.0f} us: {k['name'][:90]}")
    print("\n".join(out), file=sys.stderr)


@torch.inference_mode()
def measure(model, vocab, prompt, decode_warm, decode_n, prefill_reps, logits_path, graphs, prof=False):
    dev = next(model.parameters()).device if not hasattr(model, "hf_device_map") else torch.device("cuda")
    g = torch.Generator().manual_seed(42)
    r = {}
    # the logits a fixed prompt gives, for the comparison with native
    ids = torch.randint(0, vocab, (1, 64), generator=g).to(dev)
    r["logits_file"] = logits_path
    torch.save(model(input_ids=ids).logits.float().cpu(), logits_path)
    # prefill: a prompt of `prompt` tokens, logits of the last one only (as generation does)
    ids = torch.randint(0, vocab, (1, prompt), generator=g).to(dev)
    times = []
    # the most memory each phase holds at once, for the bound of the best
    # placement (bench.py): the weights and what the phase needs besides
    torch.cuda.reset_peak_memory_stats()
    for i in range(prefill_reps + 1):
        t0 = sync_time()
        model(input_ids=ids, use_cache=True, logits_to_keep=1)
        times.append(sync_time() - t0)
    r["prefill_s"] = times[1:]
    r["prefill_tok_s"] = prompt / statistics.median(times[1:])
    r["prefill_peak"] = torch.cuda.max_memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    # decode, batch 1, greedy, after a 32-token prompt
    ids = torch.randint(0, vocab, (1, 32), generator=g).to(dev)
    times, r["decode_mode"] = None, "eager"
    if graphs:
        try:
            times, toks = decode_graph(model, ids, decode_warm + decode_n, prof)
            r["decode_mode"] = "CUDA graph"
        except Exception as e:  # HF code that cannot be captured: say so, measure eagerly
            r["graph_error"] = f"{type(e).__name__}: {e}"[:300]
            torch.cuda.synchronize()
    if times is None:
        times, toks = decode_eager(model, ids, decode_warm + decode_n)
    r["decode_peak"] = torch.cuda.max_memory_allocated()
    r["decode_tokens"] = toks
    r["decode_s"] = times[decode_warm:]
    r["decode_tok_s"] = 1 / statistics.median(times[decode_warm:])
    return r


@torch.inference_mode()
def profile(model, vocab):
    """Where decode time goes: the top kernels of two decode steps, on stderr."""
    from torch.profiler import ProfilerActivity, profile as prof

    ids = torch.randint(0, vocab, (1, 32)).cuda()
    out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
    with prof(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
        for _ in range(2):
            out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
            nxt = out.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
    print(p.key_averages().table(sort_by="cuda_time_total", row_limit=12, max_name_column_width=60),
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["bw", "gemv", "run"])
    ap.add_argument("--size", choices=sorted(SIZES), default="8b")
    ap.add_argument("--mode", choices=["native", "gb", "accelerate"], default="native")
    ap.add_argument("--cap", type=float, default=0, help="GiB of VRAM for accelerate's max_memory")
    ap.add_argument("--prompt", type=int, default=2048)
    ap.add_argument("--decode-warm", type=int, default=3)
    ap.add_argument("--decode-n", type=int, default=12)
    ap.add_argument("--prefill-reps", type=int, default=2)
    ap.add_argument("--logits", default="/tmp/logits.pt")
    ap.add_argument("--profile", action="store_true",
                    help="where two decode steps' time goes: copies and gaps of replayed graphs, else the top kernels")
    ap.add_argument("--eager", action="store_true", help="decode without CUDA graphs")
    a = ap.parse_args()

    if a.what == "bw":
        print(json.dumps(bandwidth()))
        return
    if a.what == "gemv":
        print(json.dumps(gemv()))
        return
    r = {"size": a.size, "mode": a.mode, "pid": os.getpid()}
    t0 = time.perf_counter()
    model = build(a.size)
    r["weight_bytes"] = sum(p.numel() * p.element_size() for p in model.parameters())
    if a.mode == "accelerate":
        from accelerate import dispatch_model, infer_auto_device_map

        # what device_map="auto" with max_memory does: layers that do not
        # fit stay in CPU memory and are moved in for every forward pass
        model.to("cpu")
        torch.cuda.empty_cache()
        dm = infer_auto_device_map(model, max_memory={0: int(a.cap * 2**30), "cpu": 2**40},
                                   no_split_module_classes=["LlamaDecoderLayer"])
        model = dispatch_model(model, device_map=dm)
        r["cpu_modules"] = sum(1 for v in dm.values() if v == "cpu")
        r["gpu_bytes"] = sum(p.numel() * p.element_size() for p in model.parameters() if p.device.type == "cuda")
    torch.cuda.synchronize()
    r["load_s"] = time.perf_counter() - t0
    # frameworks size their KV cache from free memory after loading
    r["mem_get_info"] = torch.cuda.mem_get_info()
    time.sleep(0.3)  # let the status file catch up
    st = status()
    r["status_after_load"] = {k: st[k] for k in ("phase", "dev0.t1_bytes", "dev0.t2_bytes", "dev0.vram_limit") if k in st}
    r.update(measure(model, model.config.vocab_size, a.prompt, a.decode_warm, a.decode_n, a.prefill_reps, a.logits,
                     graphs=a.mode != "accelerate" and not a.eager, prof=a.profile))
    if a.profile and r.get("decode_mode") != "CUDA graph":
        profile(model, model.config.vocab_size)
    time.sleep(0.3)
    st = status()
    r["status_end"] = {k: st[k] for k in ("phase", "dev0.t1_bytes", "dev0.t2_bytes", "dev0.t1_peak",
                                          "dev0.t2_peak", "dev0.refused", "dev0.stage_bytes",
                                          "dev0.staged_bytes") if k in st}
    print(json.dumps(r))


if __name__ == "__main__":
    sys.exit(main())
