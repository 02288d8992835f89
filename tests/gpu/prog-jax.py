#!/usr/bin/env python3
"""prog-jax: a chain of matrix products over 3 GiB of bfloat16 weights in
JAX (XLA's allocator: a preallocated arena by default, or grown piece by
piece with XLA_PYTHON_CLIENT_PREALLOCATE=false); prints a digest of the
output (tests/gpu/programs.sh runs it natively and under gb-run)."""
import hashlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

LAYERS, DIM, BATCH = 24, 8192, 16
key = jax.random.PRNGKey(1234)
ws = []
for i in range(LAYERS):
    key, k = jax.random.split(key)
    ws.append((jax.random.normal(k, (DIM, DIM), dtype=jnp.float32) * (2.0 / DIM) ** 0.5).astype(jnp.bfloat16))
key, k = jax.random.split(key)
x = jax.random.normal(k, (BATCH, DIM), dtype=jnp.float32).astype(jnp.bfloat16)


@jax.jit
def layer(h, w):
    return jax.nn.relu(h @ w)


for w in ws[:-1]:
    x = layer(x, w)
x = x @ ws[-1]
out = np.asarray(jax.device_get(x).astype(jnp.float32))
print(f"digest {hashlib.sha256(out.tobytes()).hexdigest()[:16]} finite {bool(np.isfinite(out).all())} "
      f"devices {jax.devices()}")
sys.exit(0)
