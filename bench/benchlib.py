"""What bench/llama, bench/llm and bench/train share: the card, the tree
and the command a result is recorded with, and a process's status file.
Needs nothing but Python 3."""
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


def status(pid=None):
    """A process's GreenBoost status file (this one's by default) as a dict
    of strings; empty when it has none (not under gb-run)."""
    d = os.environ.get("GB_RUN_DIR", "/run/greenboost")
    try:
        with open(f"{d}/{pid or os.getpid()}.status") as f:
            return dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)
    except OSError:
        return {}
