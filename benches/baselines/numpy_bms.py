#!/usr/bin/env python3
"""R replicas of Cessac's BMS spiking network in NumPy, all advanced together: throughput and rate.

The baseline a user would otherwise write (models/cessac.md §2: closed threshold, reset without
refractory period, no noise, autapses on). Per replica, independently:

    W_ij ~ N(W̄/N, σ²/N)                       drawn replica by replica in float64 from
                                             numpy.random.default_rng(seed), then cast to --dtype
    V_i(0) ~ U[0, 2θ)                         (about half the neurons fire at t = 0)
    for t = 0 .. T-1:
        Z(t) = V(t) >= θ                      (as 0/1 in --dtype)
        V(t+1) = γ V(t) (1 − Z(t)) + W Z(t) + I
        spikes += Z(t).sum()

with every replica's W Z(t) computed at once over the (R, N, N) weight array:

    --method matmul   np.matmul(W, Z[:, :, None])[:, :, 0]      (default; one BLAS matrix-vector
                                                                 product per replica)
    --method einsum   np.einsum('rij,rj->ri', W, Z)              (NumPy's own loop, no BLAS)
    --method columns  Wt[r][Z_r].sum(axis=0) for each replica    (Wt = W transposed, stored so:
                                                                 the spiking columns of W are
                                                                 contiguous rows; cost ∝ rate)

No transient: the T timed steps start at V(0). matmul and einsum are dense (cost independent of
the rate). All three use the same draws (only the summation order differs) and gave the same
rates to the digits quoted below.

Defaults: N = 1000, R = 256, T = 200, γ = 0.5, θ = 1, I = 0, W̄ = 0, float64, matmul, seed 1;
σ has no default. Two settings (rate = fraction of the R·N neurons spiking per step, over the T
steps; measured at N = 1000, R = 32, T = 200, seed 1, same in float64 and float32; seed 2 at R = 8
agrees to 0.001):

    --sigma 2 --wbar -10 --input 0.6     rate ≈ 0.05  (0.0503; last 20 steps 0.0488)
    --sigma 3 --input 1                  rate ≈ 0.5   (0.504;  last 20 steps 0.504)

Neither can be had from σ alone. With W̄ = 0 self-sustained activity switches on abruptly: below
an onset σ every replica dies within a few steps, above it the rate is at least ≈ 0.14 (I = 0:
dead at σ = 2.2, 0.16 at σ = 2.5; I = 0.2: dead at 1.5, 0.21 at 2; I = 0.45: dead at 0.3, 0.14 at
0.5). And with I = 0 the field is symmetric about 0, so the rate stays below 0.5 (0.39 at σ = 8,
0.45 at σ = 30). Rate 0.05: inhibition-dominated, W̄ = −10, with I = 0.6 > (1 − γ)θ = 0.5 so that
every neuron is driven (alone it would fire every 3 steps) and the mean inhibition −10·rate holds
the rate down (σ = 1.5: 0.039; 2.5: 0.063). Rate 0.5: I = θ, so a neuron that has just spiked
fires again when its field is ≥ 0, about half the time (σ = 2: 0.52; 4: 0.495).

Reported: the weight draw's time apart; the loop's time (the T steps, weight draw excluded);
replica-steps per second R·T / loop time; batch steps per second T / loop time (one step of all R
replicas); synapse updates per second N²·R·T / loop time (the unit of numpy_learning.py); the
mean rate, the rate over the last 10% of steps, and the replicas with no spike in those steps.

Measured (NumPy 2.4.6, OpenBLAS 0.3.31, 2-core machine under a concurrent load average of ~5, so
low figures; replica-steps/s, --threads 1, N = 1000):

                        float64                float32
    matmul, R = 256     693 (rate 0.05)        1131 (rate 0.5, T = 100)
    matmul, R = 32      721 / 725              1151 / 1087            (rate 0.05 / 0.5)
    einsum, R = 32      493                    899                    (rate 0.05, T = 50)
    columns, R = 32     3527 / 390             5161 / 874             (rate 0.05 / 0.5, T = 50)

Per replica the time is flat from R = 8 to R = 256 (matmul f64, R = 8, 32, 64, 128: 654, 637, 653,
672 at T = 50), i.e. linear in R; R = 1 is faster (1611: its 8 MB of weights stay in cache).
Threads: on this loaded machine OpenBLAS's default (two threads) made matmul 12× slower (63
replica-steps/s at R = 32 f64; einsum, without BLAS, 443), so --threads 1 is the fair setting
there; on an idle machine compare both. --threads sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS before NumPy is imported; without it the environment decides.

Memory: the weights take R·N²·8 bytes in float64 (1.9 GiB at the defaults; float32 half). The
script warns when that exceeds 80% of MemAvailable and stops when it exceeds all of it. The draw
is replica by replica (no full-size float64 temporary in float32).

--check runs the uncoupled-neuron anchors of cessac.md §10 (W = 0, through the same step code,
each --method, float64, 3 replicas × 4 neurons, 40 transient + 60 window steps) and asserts them:
γ = 0.6, θ = 1, I = 0.5 → period 4, min |V − θ| over the window = 0.02, rate 1/4; γ = 0.9,
I = 0.15 → period 11, d = 0.023018; γ = 0.6, I = 0.2 → death, period 1, d = 0.5.

    python3 benches/baselines/numpy_bms.py --check
    python3 benches/baselines/numpy_bms.py --sigma 2 --wbar -10 --input 0.6 --threads 1
    python3 benches/baselines/numpy_bms.py --sigma 3 --input 1 --threads 1 --replicas 32 \
        --dtype float32 --json
    python3 benches/baselines/numpy_bms.py --sigma 2 --wbar -10 --input 0.6 --threads 1 \
        --replicas 32 --method columns
"""
import argparse
import json
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--neurons", type=int, default=1000, help="N (default 1000)")
    p.add_argument("--replicas", type=int, default=256, help="R (default 256)")
    p.add_argument("--steps", type=int, default=200,
                   help="T timed steps, no transient (default 200)")
    p.add_argument("--sigma", type=float, default=None,
                   help="σ, weight std × √N (required unless --check; 2 with --wbar -10 "
                        "--input 0.6 gives rate ≈ 0.05, 3 with --input 1 rate ≈ 0.5)")
    p.add_argument("--wbar", type=float, default=0.0, help="W̄, weight mean × N (default 0)")
    p.add_argument("--gamma", type=float, default=0.5, help="γ, leak in [0, 1) (default 0.5)")
    p.add_argument("--theta", type=float, default=1.0, help="θ, threshold (default 1)")
    p.add_argument("--input", type=float, default=0.0, help="I, constant input (default 0)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--method", choices=["matmul", "einsum", "columns"], default="matmul",
                   help="how W Z is computed (default matmul)")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads (sets OPENBLAS/OMP/MKL_NUM_THREADS before importing NumPy)")
    p.add_argument("--seed", type=int, default=1, help="numpy.random.default_rng seed (default 1)")
    p.add_argument("--check", action="store_true",
                   help="assert the uncoupled-neuron anchors (cessac.md §10) and exit")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    a = p.parse_args()
    if not a.check and a.sigma is None:
        p.error("--sigma is required (rate ≈ 0.05: --sigma 2 --wbar -10 --input 0.6; "
                "rate ≈ 0.5: --sigma 3 --input 1)")
    if not (0.0 <= a.gamma < 1.0):
        p.error("--gamma must be in [0, 1)")
    if a.neurons < 1 or a.replicas < 1 or a.steps < 1:
        p.error("--neurons, --replicas and --steps must be at least 1")
    return a


ARGS = parse_args()
if ARGS.threads is not None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402  (after the thread variables)


def coupling(w, zf, method):
    """W Z for every replica: w (R, N, N) (W, or W transposed for "columns"), zf (R, N) of 0/1
    in w's dtype."""
    if method == "matmul":
        return np.matmul(w, zf[:, :, None])[:, :, 0]
    if method == "einsum":
        return np.einsum("rij,rj->ri", w, zf)
    z = zf.astype(bool)  # method "columns": w holds W transposed, so a column of W is a row
    return np.stack([w[r][z[r]].sum(axis=0) for r in range(w.shape[0])])


def step(v, w, gamma, theta, i_ext, method):
    """One BMS step for all replicas: returns V(t+1) and Z(t) (bool)."""
    z = v >= theta
    zf = z.astype(v.dtype)
    return gamma * v * (1 - zf) + coupling(w, zf, method) + i_ext, z


def draw(n, r, sigma, wbar, theta, dtype, seed, transposed=False):
    """W (R, N, N) (or each W transposed) and V(0) (R, N): float64 draws replica by replica, cast
    to dtype; the same numbers whatever the dtype and layout."""
    rng = np.random.default_rng(seed)
    w = np.empty((r, n, n), dtype=dtype)
    for k in range(r):
        wk = wbar / n + (sigma / np.sqrt(n)) * rng.standard_normal((n, n))
        w[k] = wk.T if transposed else wk
    v = rng.uniform(0.0, 2.0 * theta, (r, n)).astype(dtype)
    return w, v


def simulate(a):
    dtype = np.dtype(a.dtype)
    n, r, t_steps = a.neurons, a.replicas, a.steps
    gamma, theta, i_ext = dtype.type(a.gamma), dtype.type(a.theta), dtype.type(a.input)
    start = time.perf_counter()
    w, v = draw(n, r, a.sigma, a.wbar, a.theta, dtype, a.seed, a.method == "columns")
    draw_s = time.perf_counter() - start
    tail = max(1, t_steps // 10)
    spikes = tail_spikes = 0
    tail_active = np.zeros(r, dtype=bool)
    start = time.perf_counter()
    for t in range(t_steps):
        v, z = step(v, w, gamma, theta, i_ext, a.method)
        count = int(np.count_nonzero(z))
        spikes += count
        if t >= t_steps - tail:
            tail_spikes += count
            tail_active |= z.any(axis=1)
    loop_s = time.perf_counter() - start
    dead = int(np.count_nonzero(~tail_active))
    return {
        "neurons": n, "replicas": r, "steps": t_steps, "dtype": a.dtype, "method": a.method,
        "sigma": a.sigma, "wbar": a.wbar, "gamma": a.gamma, "theta": a.theta, "input": a.input,
        "seed": a.seed,
        "seconds_draw": draw_s,
        "seconds_loop": loop_s,
        "replica_steps_per_second": r * t_steps / loop_s,
        "batch_steps_per_second": t_steps / loop_s,
        "synapse_updates_per_second": n * n * r * t_steps / loop_s,
        "rate_mean": spikes / (n * r * t_steps),
        "rate_last_10pct": tail_spikes / (n * r * tail),
        "replicas_silent_last_10pct": dead,
        "weights_bytes": w.nbytes,
        "threads": os.environ.get("OPENBLAS_NUM_THREADS", "BLAS default"),
        "numpy": np.__version__,
    }


def mem_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def uncoupled_anchor(gamma, theta, i_ext, method, transient=40, window=60, r=3, n=4, seed=1):
    """Period, min |V − θ| over the window and rate of uncoupled neurons (W = 0), computed by the
    same step() as the timed run."""
    rng = np.random.default_rng(seed)
    w = np.zeros((r, n, n))
    v = rng.uniform(0.0, 2.0 * theta, (r, n))
    raster, dist = [], np.inf
    for t in range(transient + window):
        if t >= transient:
            dist = min(dist, float(np.abs(v - theta).min()))
        v, z = step(v, w, gamma, theta, i_ext, method)
        if t >= transient:
            raster.append(z.copy())
    raster = np.array(raster)  # (window, R, N)
    period = next(p for p in range(1, window // 2 + 1)
                  if np.array_equal(raster[p:], raster[:-p]))
    return period, dist, float(raster.mean())


def check():
    cases = [  # γ, θ, I, period, d, rate   (cessac.md §10, anchor 1)
        (0.6, 1.0, 0.5, 4, 0.02, 0.25),
        (0.9, 1.0, 0.15, 11, 0.023018, 1.0 / 11.0),
        (0.6, 1.0, 0.2, 1, 0.5, 0.0),
    ]
    for (gamma, theta, i_ext, p_want, d_want, rate_want), method in (
            (c, m) for c in cases for m in ("matmul", "einsum", "columns")):
        period, dist, rate = uncoupled_anchor(gamma, theta, i_ext, method)
        print(f"{method:8} γ = {gamma}, θ = {theta}, I = {i_ext}: period {period} (want {p_want}), "
              f"min |V − θ| = {dist:.6f} (want {d_want}), rate {rate:.4f} (want {rate_want:.4f})")
        assert period == p_want, (period, p_want)
        assert abs(dist - d_want) < 5e-7, (dist, d_want)
        # over 60 window steps a period-11 raster does not tile exactly: compare to 1/60
        assert abs(rate - rate_want) < 1.0 / 60.0, (rate, rate_want)
    print("check passed")


def main():
    a = ARGS
    if a.check:
        check()
        return 0
    need = a.replicas * a.neurons ** 2 * np.dtype(a.dtype).itemsize
    avail = mem_available()
    if avail is not None and need > 0.8 * avail:
        msg = (f"the weights need {need / 2**30:.1f} GiB, MemAvailable is {avail / 2**30:.1f} "
               f"GiB: lower --replicas or use --dtype float32")
        if need > avail:
            print(f"error: {msg}", file=sys.stderr)
            return 1
        print(f"warning: {msg}", file=sys.stderr)
    res = simulate(a)
    if a.json:
        print(json.dumps(res))
        return 0
    print(f"NumPy BMS: N = {res['neurons']}, R = {res['replicas']}, T = {res['steps']} steps, "
          f"σ = {a.sigma}, W̄ = {a.wbar}, γ = {a.gamma}, θ = {a.theta}, I = {a.input}, "
          f"{a.dtype}, {a.method}, threads: {res['threads']}, numpy {np.__version__}")
    print(f"  weights       {need / 2**30:.2f} GiB, drawn in {res['seconds_draw']:.2f} s")
    print(f"  loop          {res['seconds_loop']:.3f} s (weight draw excluded)")
    print(f"  throughput    {res['replica_steps_per_second']:.4g} replica-steps/s, "
          f"{res['batch_steps_per_second']:.4g} batch steps/s (all R), "
          f"{res['synapse_updates_per_second']:.3e} synapse updates/s")
    print(f"  firing rate   {res['rate_mean']:.4f} mean, {res['rate_last_10pct']:.4f} over the "
          f"last 10% of steps; {res['replicas_silent_last_10pct']} of {res['replicas']} "
          f"replicas silent (no spike) over those steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
