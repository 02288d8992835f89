#!/usr/bin/env python3
"""prog-cupy: a chain of matrix products over 3 GiB of float16 weights,
made through CuPy's memory pool; prints a digest of the output and the
pool's bytes (tests/gpu/programs.sh runs it natively and under gb-run)."""
import hashlib
import sys

import cupy as cp

LAYERS, DIM, BATCH = 24, 8192, 16
rs = cp.random.RandomState(1234)
w = [(rs.standard_normal((DIM, DIM), dtype=cp.float32) * (2.0 / DIM) ** 0.5).astype(cp.float16)
     for _ in range(LAYERS)]
x = rs.standard_normal((BATCH, DIM), dtype=cp.float32).astype(cp.float16)
for i, m in enumerate(w):
    x = x @ m
    if i + 1 < LAYERS:
        x = cp.maximum(x, 0)
cp.cuda.Device(0).synchronize()
h = hashlib.sha256(cp.asnumpy(x).tobytes()).hexdigest()[:16]
print(f"digest {h} pool {cp.get_default_memory_pool().total_bytes()} finite {bool(cp.isfinite(x).all())}")
sys.exit(0)
