"""What bench/llama, bench/llm and bench/train share: the card, the tree
and the command a result is recorded with, a process's status file, the
bound of the best placement under a cap.  Needs nothing but Python 3."""
import os
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gpu_info():
    """(name, driver version, memory) of GPU 0, from nvidia-smi; (None,
    "unknown", None) where there is none to ask."""
    try:
        q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=30).stdout.strip()
        name, drv, mem = [x.strip() for x in q.splitlines()[0].split(",")]
        return name, drv, mem
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return None, "unknown", None


def tree():
    """The commit this runs from, and whether tracked files differ from it;
    $TREE where the caller knows better (the GPU machine's copy of the tree
    has a stale git)."""
    if os.environ.get("TREE"):
        return os.environ["TREE"]
    try:
        rev = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=30)
        if rev.returncode != 0:
            return "unknown (no git history here)"
        dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return rev.stdout.strip() + (" with local changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git here)"


def command(script, argv, drop=("--out",)):
    """The command line a result is recorded with: script and argv, less
    the options in drop (where output went, which machine's folders) and
    their values."""
    args, skip = [], False
    for x in argv:
        if skip:
            skip = False
            continue
        if x in drop:
            skip = True
            continue
        if x.startswith(tuple(d + "=" for d in drop)):
            continue
        args.append(x)
    return " ".join([script] + args)


def parse_status(text):
    """A GreenBoost status file's text (greenboost(7)) as a dict of strings."""
    d = {}
    for line in text.splitlines():
        if "\t" in line:
            k, v = line.split("\t", 1)
            d[k] = v
    return d


def status(pid=None):
    """A process's GreenBoost status file (this one's by default) as a dict
    of strings; empty when it has none (not under gb-run)."""
    d = os.environ.get("GB_RUN_DIR", "/run/greenboost")
    try:
        with open(f"{d}/{pid or os.getpid()}.status") as f:
            return parse_status(f.read())
    except OSError:
        return {}


def text_of(b):
    """What a timed-out subprocess had written: bytes or str, maybe None."""
    if b is None:
        return ""
    return b.decode(errors="replace") if isinstance(b, bytes) else b


def bound(weights, cap, nonweight, n_passes, h2d_gbps, native_s, tokens):
    """The best a placement under cap can do with every layer computed on
    the GPU, in tokens per second, and the weight bytes it keeps in VRAM:
    everything the program needs besides its weights stays in VRAM, then
    as many weight bytes as the cap leaves; the rest crosses PCIe at the
    measured pinned host-to-device rate once per forward pass.  The GPU
    reads VRAM while the copy engine streams, so a test takes the longer
    of the transfers and the native run of the same test (which reads
    every weight from VRAM and computes)."""
    in_vram = max(0, min(weights, cap - nonweight))
    host = weights - in_vram
    t = max(n_passes * host / (h2d_gbps * 1e9), native_s)
    return tokens / t, in_vram
