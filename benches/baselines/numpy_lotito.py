#!/usr/bin/env python3
"""Batched NumPy baseline of Lotito 2025, Figure 1 (models/lotito.md §3-4), for `hebbnet bench
--cases lotito_figure1`: R replicas of N_h = 4 memories of N_v entries, Gram-Schmidt patterns,
targets with sigma = 0.4 noise, cyclic presentation, tau = 250, beta = 2, max-subtracted softmax,
and every step recorded as hebbnet records it (the Gram matrix, the cross products with the
targets and the decay products: 2 N_h^2 + N_h dot products of length N_v per replica and step).

All replicas advance together (einsum over the batch), the fastest plain-NumPy form: one Python
iteration per step, no per-replica loop. Prints the median wall time of --repeat runs and
replica-steps per second.

    python3 benches/baselines/numpy_lotito.py --replicas 1024 --steps 2000 --dtype float32
"""
import argparse
import time

import numpy as np


def run(replicas, visible, hidden, steps, dtype, seed=1):
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((replicas, hidden, visible))
    # Gram-Schmidt per replica (QR of the transposed draws keeps the order), rows scaled to sqrt(N_v).
    q, _ = np.linalg.qr(np.transpose(draws, (0, 2, 1)))
    xi = np.transpose(q, (0, 2, 1)) * np.sqrt(visible)
    targets = xi + 0.4 * rng.standard_normal((replicas, hidden, visible))
    memories = xi.astype(dtype)
    targets = targets.astype(dtype)
    directions = (xi - targets).astype(dtype)
    beta, tau = dtype(2.0), dtype(250.0)
    gram = np.empty((steps + 1, replicas, hidden, hidden), dtype)
    cross = np.empty((steps + 1, replicas, hidden, hidden), dtype)
    decay = np.empty((steps + 1, replicas, hidden), dtype)
    start = time.perf_counter()
    for t in range(steps + 1):
        gram[t] = np.einsum("rhn,rkn->rhk", memories, memories)
        cross[t] = np.einsum("rhn,rkn->rhk", memories, targets)
        decay[t] = np.einsum("rhn,rhn->rh", memories, directions)
        if t == steps:
            break
        v = targets[:, t % hidden, :]
        s = np.einsum("rhn,rn->rh", memories, v)
        s -= s.max(axis=1, keepdims=True)
        w = np.exp(beta * s)
        w /= w.sum(axis=1, keepdims=True)
        memories += (w / tau)[:, :, None] * (v[:, None, :] - memories)
    elapsed = time.perf_counter() - start
    own = np.einsum("rhh->rh", cross[-1]) / np.sqrt(
        np.einsum("rhh->rh", gram[-1]) * np.sum(targets * targets, axis=2)
    )
    return elapsed, float(own.mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicas", type=int, default=1024)
    p.add_argument("--visible", type=int, default=50)
    p.add_argument("--hidden", type=int, default=4)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    dtype = np.float32 if a.dtype == "float32" else np.float64
    times = []
    for _ in range(a.repeat):
        elapsed, final = run(a.replicas, a.visible, a.hidden, a.steps, dtype)
        times.append(elapsed)
    med = float(np.median(times))
    print(
        f"numpy {np.__version__} {a.dtype}: R = {a.replicas}, N_v = {a.visible}, N_h = {a.hidden}, "
        f"T = {a.steps}: median {med:.3f} s, {a.replicas * a.steps / med:.3e} replica-steps/s, "
        f"final mean cosine {final:.6f}"
    )


if __name__ == "__main__":
    main()
