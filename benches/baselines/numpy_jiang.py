#!/usr/bin/env python3
"""The retrieval run of Jiang et al. (models/jiang.md §7.4) in NumPy: R networks of N neurons
with P = αN patterns, J = ξᵀXξ/N (X = γ S, the forward shift: c = 0, d = 1), started at
h(0) = ξ¹ and advanced by Euler steps of the current form

    h ← (1 − a) h + a J tanh(h)                 a = dt/τ = 0.05

with every overlap m^μ = (1/N) Σ_i ξ^μ_i tanh(h_i) recorded every --record-every steps. Two
ways to compute the field, both batched over the R replicas:

    --field dense      J built per network (as the authors' code does: dynamic.py of
                       Jiang-Zijian/LCAM builds J = ξᵀXξ/N and evaluates J @ phi(r)), then
                       np.matmul(J, tanh(H)[:, :, None]) over the (R, N, N) array: O(N²)
    --field factored   the low-rank form hebbnet uses, Y = ξ tanh(h) (the overlaps, times N),
                       then the field ξᵀ (γ roll(Y)) / N with np.matmul: O(NP)

Patterns ±1 from numpy.random.default_rng(seed), replica by replica; float64 by default
(--dtype float32 casts everything). J is built before the clock starts. Prints the seconds per
step (median of --repeat runs of --steps steps) and the final mean overlap with pattern
(steps · a) mod P, so a reader can check that both fields run the same dynamics.

Measured on this project's 2-core machine (BENCHMARKS.md, "Jiang"): see there, with the
`hebbnet bench --cases jiang_factored,jiang_dense` rows of the same session.
"""

import argparse
import time

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--neurons", type=int, default=4000)
    p.add_argument("--load", type=float, default=0.01)
    p.add_argument("--replicas", type=int, default=32)
    p.add_argument("--gamma", type=float, default=1.5)
    p.add_argument("--leak", type=float, default=0.05)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--record-every", type=int, default=20)
    p.add_argument("--field", choices=["dense", "factored"], default="dense")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    n, r, a = args.neurons, args.replicas, args.leak
    patterns = int(np.floor(args.load * n + 0.5))
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(args.seed)
    xi = np.stack([rng.choice([-1.0, 1.0], size=(patterns, n)) for _ in range(r)]).astype(dtype)
    if args.field == "dense":
        # X = γ S with (S y)_μ = y_{μ−1}: J = ξᵀ X ξ / N = γ Σ_μ ξ^{μ+1} ξ^μᵀ / N.
        j = np.matmul(np.transpose(np.roll(xi, 1, axis=1), (0, 2, 1)), xi) * (args.gamma / n)
        j = j.astype(dtype)
    h0 = xi[:, 0, :].copy()

    def run():
        h = h0.copy()
        records = []
        for t in range(args.steps + 1):
            phi = np.tanh(h)
            if args.field == "factored" or t % args.record_every == 0:
                y = np.matmul(xi, phi[:, :, None])[:, :, 0]  # (R, P) = N m^μ
            if t % args.record_every == 0:
                records.append(y / n)
            if t == args.steps:
                break
            if args.field == "dense":
                field = np.matmul(j, phi[:, :, None])[:, :, 0]
            else:
                z = args.gamma * np.roll(y, 1, axis=1)  # (X y)_μ = γ y_{μ−1}
                field = np.matmul(z[:, None, :], xi)[:, 0, :] / n
            h = (1 - a) * h + a * field
        return records

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        records = run()
        times.append(time.perf_counter() - start)
    per_step = sorted(times)[len(times) // 2] / args.steps
    lead = int(args.steps * a) % patterns
    print(
        f"numpy {args.field} {args.dtype}: N = {n}, P = {patterns}, R = {r}, "
        f"{args.steps} steps: {per_step:.4g} s per step (all replicas), "
        f"{args.steps / (per_step * args.steps):.4g} steps/s; "
        f"final mean max overlap {np.mean(np.max(records[-1], axis=1)):.4f}, "
        f"m^{lead} {np.mean(records[-1][:, lead]):.4f}"
    )


if __name__ == "__main__":
    main()
