"""The arithmetic and the table of the training benchmark, kept apart from
torch so that tests/bench/t-train-report.py can check them anywhere (no
GPU, no torch, no numpy): the model's size, the bound of the best placement
under a cap, the loss comparison, the table.
"""
import math
import statistics
import struct

GiB = 1 << 30

COLUMNS = ("configuration", "optimizer", "s/step", "x native", "/ bound", "vs FSDP",
           "peak GPU (T1)", "host (T2)", "losses equal")


def params(vocab, width, layers):
    """Parameters of worker.py's model: token embedding and untied head
    (vocab x width each, the head without bias), the final LayerNorm, and a
    block's two LayerNorms, qkv, output projection and 4x MLP (Linears with
    bias): 12 width^2 + 13 width a block."""
    return 2 * vocab * width + 2 * width + layers * (12 * width * width + 13 * width)


def sizes(vocab, width, layers, seq, batch):
    """Bytes of an fp32 training step with AdamW: weights, and weights plus
    gradients plus two moments (exact); activations (rough: about 17
    width-long values a token a block are kept for backward, and three
    vocab-long ones a token for the logits and the loss)."""
    p = params(vocab, width, layers)
    tokens = seq * batch
    return {"params": p, "weights": 4 * p, "state": 16 * p,
            "activations": 4 * (17 * tokens * width * layers + 3 * tokens * vocab)}


def median_after_first(times):
    """The median step time without the first step (warm-up), or the first
    when it is the only one."""
    return statistics.median(times[1:] or times)


def bound(peak_bytes, cap_bytes, h2d_gbps, d2h_gbps, native_s):
    """The best step time any placement under cap_bytes can have with all
    compute on the GPU. Of the peak_bytes a step needs, at least host =
    peak - cap stay in host memory, and each of them is written and read
    back once a step (weights, gradients, moments, activations all change
    every step): host bytes each way over PCIe, the two directions at
    once at best, and never faster than the uncapped step."""
    host = max(0, peak_bytes - cap_bytes)
    h2d_s = host / (h2d_gbps * 1e9)
    d2h_s = host / (d2h_gbps * 1e9)
    return {"peak_bytes": peak_bytes, "cap_bytes": cap_bytes, "host_bytes": host, "h2d_s": h2d_s,
            "d2h_s": d2h_s, "native_s": native_s, "bound_s": max(h2d_s, d2h_s, native_s)}


def bound_line(optim, b, h2d_gbps, d2h_gbps):
    return (f"{optim}: S = {b['peak_bytes']} bytes ({gib(b['peak_bytes'])}, native's peak "
            f"torch.cuda.max_memory_allocated), CAP = {gib(b['cap_bytes'])}, host = max(0, S - CAP) = "
            f"{gib(b['host_bytes'])}; host->device {h2d_gbps:.1f} GB/s, device->host {d2h_gbps:.1f} GB/s; "
            f"bound = max({b['h2d_s']:.3f} s, {b['d2h_s']:.3f} s, native {b['native_s']:.3f} s) = "
            f"{b['bound_s']:.3f} s a step")


def _bits(h):
    return struct.pack("<d", float.fromhex(h))


def _show(h):
    return repr(float.fromhex(h))


def compare_losses(ref, got):
    """Whether the losses got (float.hex strings, one a step) equal ref bit
    for bit at every step and are all finite: (True, "") or (False, why),
    why naming the first step that is not and both values there."""
    if not ref:
        return False, "no native losses to compare with"
    if not got:
        return False, "no losses"
    for i in range(max(len(ref), len(got))):
        if i >= len(got):
            return False, f"step {i + 1}: native {_show(ref[i])}, this none (it stopped after {len(got)} steps)"
        if i >= len(ref):
            return False, f"step {i + 1}: native has no step {i + 1}, this {_show(got[i])}"
        if not math.isfinite(float.fromhex(got[i])) or _bits(got[i]) != _bits(ref[i]):
            return False, f"step {i + 1}: native {_show(ref[i])}, this {_show(got[i])}"
    return True, ""


def max_rel_diff(ref, got):
    """The largest |got - ref| / |ref| over the steps; inf when a value is
    not finite or the two differ in length."""
    if not ref or len(ref) != len(got):
        return math.inf
    worst = 0.0
    for r, g in zip(ref, got):
        rv, gv = float.fromhex(r), float.fromhex(g)
        if not (math.isfinite(rv) and math.isfinite(gv)):
            return math.inf
        if rv == 0:
            d = 0.0 if gv == 0 else math.inf
        else:
            d = abs(gv - rv) / abs(rv)
        worst = max(worst, d)
    return worst


def gib(n):
    return "-" if n is None else f"{n / GiB:.2f} GiB"


def ratio(num, den, digits):
    if num is None or den is None or den == 0:
        return "-"
    return f"{num / den:.{digits}f}"


def cell(text):
    """One markdown table cell: no newlines, no bare column separators."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(rows):
    """The markdown table, a line a row. A row is a dict: config, optim,
    losses (text), and, each None where unknown: step_s, native_s (the
    same optimizer's native step), bound_s, fsdp_s, t1 and t2 (bytes)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for r in rows:
        s = r.get("step_s")
        cells = [r["config"], r["optim"], "-" if s is None else f"{s:.3f}",
                 ratio(s, r.get("native_s"), 2), ratio(r.get("bound_s"), s, 3), ratio(r.get("fsdp_s"), s, 2),
                 gib(r.get("t1")), gib(r.get("t2")), r["losses"]]
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return lines


def exit_status(checks):
    """0 when there are GreenBoost checks and every one passed, else 1."""
    return 0 if checks and all(checks) else 1
