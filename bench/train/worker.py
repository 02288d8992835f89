"""One configuration of the training benchmark, in this process
(bench/train/bench.py runs one worker per configuration, so that each
starts with a clean GPU).

  worker.py bw                                 pinned host->device and device->host copy rates
  worker.py run --mode M --optim O [model]     M: native | gb (under gb-run) | fsdp; O: foreach | fused

A GPT-style decoder in plain PyTorch, fp32, its weights drawn from a seeded
CUDA generator (the same weights in every mode), trained for --steps steps
with AdamW on synthetic tokens from a seeded CPU generator (the same
batches in every mode). Prints one JSON object on the last line; on an
error, the object has "error" and the exit status is 1.
"""
import os

# before torch loads cuBLAS: deterministic GEMMs, so that "identical" is a
# fair demand between two processes
os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch.utils.checkpoint  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import report  # noqa: E402
from benchlib import status  # noqa: E402

WEIGHT_SEED = 1234
DATA_SEED = 42


class Block(nn.Module):
    """Pre-norm: x + attn(ln1(x)), then x + mlp(ln2(x)); causal multi-head
    self-attention, a 4x MLP with GELU, no dropout."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.out = nn.Linear(4 * width, width)
        self.recompute = False  # FSDP's runs: keep only the input, recompute the rest in backward

    def forward(self, x):
        if self.recompute and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(self.compute, x, use_reentrant=False)
        return self.compute(x)

    def compute(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, width, heads, layers):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, idx):
        x = self.embed(idx)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x))


def build(a, device):
    """The model on device, every matrix N(0, 0.02) from one seeded CUDA
    generator in parameter order (drawn on the GPU and copied, so that a
    model on the CPU gets the same values), LayerNorms 1 and 0, biases 0."""
    with torch.device("meta"):
        model = GPT(a.vocab, a.width, a.heads, a.layers)
    model.to_empty(device=device)
    g = torch.Generator(device="cuda").manual_seed(WEIGHT_SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.empty(p.shape, device="cuda").normal_(0.0, 0.02, generator=g))
            elif name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.zero_()
    return model


def deterministic():
    torch.use_deterministic_algorithms(True)
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    except (AttributeError, RuntimeError):  # should a release drop the old switches
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.fp32_precision = "ieee"
    torch.manual_seed(WEIGHT_SEED)


def sync_time():
    torch.cuda.synchronize()
    return time.perf_counter()


def bandwidth():
    """Pinned host->device and device->host copies of 2 GiB, GB/s, best of 5 after one warm-up."""
    h = torch.ones(1 << 29, dtype=torch.float32, pin_memory=True)
    d = torch.empty(1 << 29, dtype=torch.float32, device="cuda")
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    r = {}
    for name, dst, src in (("h2d_gbps", d, h), ("d2h_gbps", h, d)):
        rates = []
        for _ in range(6):
            s.record()
            dst.copy_(src, non_blocking=True)
            e.record()
            e.synchronize()
            rates.append(h.numel() * 4 / (s.elapsed_time(e) / 1e3) / 1e9)
        r[name] = max(rates[1:])
    props = torch.cuda.get_device_properties(0)
    r.update(device=props.name, total_memory=props.total_memory, torch=torch.__version__, cuda=torch.version.cuda)
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fsdp(model, version):
    """What a PyTorch user has on one GPU: FSDP in a one-process group,
    each block and the whole model wrapped, parameters offloaded to the
    CPU (copied in for each unit's forward and backward; the gradients go
    back to the CPU and the optimizer steps there). Version 2 is
    fully_shard with CPUOffloadPolicy, what PyTorch recommends now; 1 the
    FullyShardedDataParallel wrapper, which in a group of one does not
    shard (NO_SHARD) and is known to keep parameters on the GPU then."""
    import torch.distributed as dist

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(free_port())
    dist.init_process_group("nccl", rank=0, world_size=1)
    if version == 2:
        from torch.distributed.fsdp import CPUOffloadPolicy, fully_shard

        for blk in model.blocks:
            fully_shard(blk, offload_policy=CPUOffloadPolicy())
        fully_shard(model, offload_policy=CPUOffloadPolicy())
        return model
    from torch.distributed.fsdp import CPUOffload, FullyShardedDataParallel
    from torch.distributed.fsdp.wrap import ModuleWrapPolicy

    return FullyShardedDataParallel(model, auto_wrap_policy=ModuleWrapPolicy({Block}),
                                    cpu_offload=CPUOffload(offload_params=True))


def cpu_bytes(model, opt):
    """Bytes of parameters, gradients and optimizer state in CPU memory
    (FSDP's: its CPU gradient buffer stays when .grad is set to None)."""
    ts = list(model.parameters())
    ts += [p.grad if p.grad is not None else getattr(p, "_cpu_grad", None) for p in model.parameters()]
    ts += [v for st in opt.state.values() for v in st.values() if torch.is_tensor(v)]
    return sum(t.numel() * t.element_size() for t in ts if t is not None and t.device.type == "cpu")


def train(model, opt, a, r):
    """--steps steps of forward (cross-entropy), backward, optimizer step,
    zero_grad; each step's loss (float.hex) and wall time into r as they come."""
    g = torch.Generator().manual_seed(DATA_SEED)
    r["losses"], r["step_s"] = [], []
    for i in range(a.steps):
        batch = torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g)
        x = batch[:, :-1].contiguous().cuda()
        y = batch[:, 1:].contiguous().cuda()
        t0 = sync_time()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        r["step_s"].append(sync_time() - t0)
        r["losses"].append(float.hex(loss.item()))
        del logits, loss
        print(f"step {i + 1}: {r['step_s'][-1]:.3f} s, loss {float.fromhex(r['losses'][-1])!r}",
              file=sys.stderr, flush=True)


def run(a, r):
    deterministic()
    torch.cuda.set_device(0)
    total = torch.cuda.get_device_properties(0).total_memory
    if a.mode == "fsdp":
        # the cap, before anything is allocated: the caching allocator
        # refuses to hold more than this fraction of the card
        r["fraction"] = min(1.0, a.cap * 2**30 / total)
        torch.cuda.set_per_process_memory_fraction(r["fraction"], 0)
    r.update(total_memory=total, torch=torch.__version__)
    t0 = time.perf_counter()
    model = build(a, "cpu" if a.mode == "fsdp" else "cuda")
    r["params"] = sum(p.numel() for p in model.parameters())
    if a.mode == "fsdp":
        for blk in model.blocks:
            blk.recompute = a.recompute
        model = fsdp(model, a.fsdp)
        r["fsdp"] = a.fsdp
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01,
                            **({"fused": True} if a.optim == "fused" else {"foreach": True}))
    torch.cuda.synchronize()
    r["build_s"] = time.perf_counter() - t0
    train(model, opt, a, r)
    r["median_s"] = report.median_after_first(r["step_s"])
    r["reserved_peak"] = torch.cuda.max_memory_reserved()
    r["allocated_peak"] = torch.cuda.max_memory_allocated()
    if a.mode == "fsdp":
        r["cpu_bytes"] = cpu_bytes(model, opt)
    time.sleep(0.3)  # let the status file catch up (GB_STATUS_INTERVAL is 50ms)
    st = status()
    r["status"] = {k: st[k] for k in ("dev0.vram_limit", "dev0.t1_peak", "dev0.t2_peak", "dev0.t1_bytes",
                                      "dev0.t2_bytes", "dev0.refused", "phase") if k in st}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["bw", "run"])
    ap.add_argument("--mode", choices=["native", "gb", "fsdp"], default="native")
    ap.add_argument("--optim", choices=["foreach", "fused"], default="foreach")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--cap", type=float, default=4, help="GiB of VRAM for FSDP's memory fraction")
    ap.add_argument("--fsdp", type=int, choices=[1, 2], default=2,
                    help="FSDP's API: 2, fully_shard (default), or 1, FullyShardedDataParallel")
    ap.add_argument("--no-recompute", dest="recompute", action="store_false",
                    help="FSDP: keep every block's activations instead of recomputing them in backward")
    a = ap.parse_args()
    if a.what == "bw":
        print(json.dumps(bandwidth()))
        return 0
    r = {"mode": a.mode, "optim": a.optim, "pid": os.getpid()}
    try:
        run(a, r)
    except Exception as e:  # the row says why; the driver goes on
        traceback.print_exc()
        r["error"] = f"{type(e).__name__}: {e}"[:400]
        print(json.dumps(r), flush=True)
        return 1
    if a.mode == "fsdp":
        import torch.distributed as dist

        dist.destroy_process_group()
    print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
