"""TAP for the benchmarks' tests: ok() a line per check, done() the plan
and the exit status."""
import sys

_n = 0
_failed = 0


def ok(cond, what):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
    print(f"{'ok' if cond else 'not ok'} {_n} - {what}", flush=True)
    return cond


def done():
    print(f"1..{_n}")
    sys.exit(1 if _failed else 0)
