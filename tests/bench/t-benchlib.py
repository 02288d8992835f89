#!/usr/bin/env python3
"""bench/benchlib.py without a GPU: the command a result is recorded with,
the tree, a status file, the card where there is none.  TAP on stdout."""
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from tap import done, ok  # noqa: E402

c = benchlib.command("python3 x.py", ["--sizes", "8b", "--out", "/tmp/o", "--keep", "--out=/tmp/p", "--dir", "/d"],
                     ("--out", "--dir"))
ok(c == "python3 x.py --sizes 8b --keep", f"command: the dropped options go with their values, in both forms ({c})")
ok(benchlib.command("p", ["--outside", "1"]) == "p --outside 1", "command: an option that only starts like one stays")
ok(benchlib.command("p", []) == "p", "command: no arguments")

os.environ["TREE"] = "abc1234"
ok(benchlib.tree() == "abc1234", "tree: $TREE names it when set")
del os.environ["TREE"]
t = benchlib.tree()
ok(re.fullmatch(r"[0-9a-f]{7,}( with local changes)?|unknown \(.*\)", t) is not None,
   f"tree: else git's short commit, and whether files differ ({t})")

with tempfile.TemporaryDirectory() as d:
    os.environ["GB_RUN_DIR"] = d
    ok(benchlib.status() == {}, "status: none for a process without a file")
    with open(os.path.join(d, "4242.status"), "w") as f:
        f.write("version\t1\ndev0.t1_bytes\t5\ncomm\ta\\tb\nnot a line\n")
    ok(benchlib.status(4242) == {"version": "1", "dev0.t1_bytes": "5", "comm": "a\\tb"},
       "status: key and value a line, lines without a tab skipped")

path = os.environ.get("PATH", "")
os.environ["PATH"] = "/nonexistent"
ok(benchlib.gpu_info() == (None, "unknown", None), "gpu_info: no nvidia-smi, no card")
os.environ["PATH"] = path
done()
