#!/usr/bin/env python3
"""The batched Hebbian learning run a user would otherwise write in NumPy, timed beside hebbnet.

Same model, schedule and sizes as `hebbnet run` on the embedded config (rate form, siri
activation, g = 10, σ = 1, ξ uniform in [-0.1, 0.1], T0 = 200, τ = 400, λ = 0.9, α = 0.1,
d = 0.1, Heaviside gate), in float32, all replicas advanced together with batched matmul.
It runs `hebbnet run --backend cpu` with the same sizes first — with the embedded config's
analysis (Lyapunov exponent, spectra, attractor class) switched off, so both do the same work;
`--with-analysis` keeps it — and prints both throughputs (synapse updates per second =
N² · R · steps / s) and their ratio, measured in the same run.

    python3 benches/baselines/numpy_learning.py --hebbnet target/release/hebbnet \
        --neurons 100 --replicas 256 --epochs 5
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def numpy_run(n, r, epochs, t0, tau, seed=1):
    rng = np.random.default_rng(seed)
    g, lam, alpha, d = np.float32(10.0), np.float32(0.9), np.float32(0.1), np.float32(0.1)
    w = (rng.standard_normal((r, n, n)) / np.sqrt(n)).astype(np.float32)
    xi = rng.uniform(-0.1, 0.1, (r, n)).astype(np.float32)
    x = rng.uniform(0.0, 1.0, (r, n)).astype(np.float32)
    start = time.perf_counter()
    for _ in range(epochs):
        for _ in range(t0):
            u = np.matmul(w, x[:, :, None])[:, :, 0] + xi
            x = np.float32(0.5) * (np.float32(1.0) + np.tanh(g * u))
        acc = np.zeros_like(x)
        for _ in range(tau):
            u = np.matmul(w, x[:, :, None])[:, :, 0] + xi
            x = np.float32(0.5) * (np.float32(1.0) + np.tanh(g * u))
            acc += x
        m = acc / np.float32(tau) - d
        pre = m * (m > 0)
        w = lam * w + (alpha / np.float32(n)) * m[:, :, None] * pre[:, None, :]
    return time.perf_counter() - start


NO_ANALYSIS = [
    "--set", "analysis.lyapunov.exponents=0",
    "--set", "analysis.eigenvalues.weights=false",
    "--set", "analysis.eigenvalues.jacobian=false",
    "--set", "analysis.attractor.enabled=false",
]


def hebbnet_run(binary, n, r, epochs, t0, tau, analysis=False):
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "run", "--backend", "cpu", "--out", out, "--quiet",
               "--replicas", str(r), "--epochs", str(epochs),
               "--set", f"network.neurons={n}",
               "--set", f"schedule.transient_steps={t0}",
               "--set", f"schedule.recorded_steps={tau}"] + ([] if analysis else NO_ANALYSIS)
        subprocess.run(cmd, check=True)
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
    return manifest["simulate_seconds"], manifest["backend"]["description"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hebbnet", default="target/release/hebbnet")
    p.add_argument("--neurons", type=int, default=100)
    p.add_argument("--replicas", type=int, default=256)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--transient", type=int, default=200)
    p.add_argument("--recorded", type=int, default=400)
    p.add_argument("--with-analysis", action="store_true",
                   help="keep hebbnet's per-epoch analysis (more work than the NumPy loop)")
    a = p.parse_args()
    n, r, e = a.neurons, a.replicas, a.epochs
    updates = n * n * r * e * (a.transient + a.recorded)
    h_s, backend = hebbnet_run(a.hebbnet, n, r, e, a.transient, a.recorded, a.with_analysis)
    np_s = numpy_run(n, r, e, a.transient, a.recorded)
    print(f"N = {n}, R = {r}, {e} epochs × ({a.transient} + {a.recorded}) steps, f32")
    analysis = "with analysis" if a.with_analysis else "analysis off"
    print(f"hebbnet ({backend}, {analysis}): {h_s:8.3f} s  {updates / h_s:.3e} synapse updates/s")
    print(f"numpy {np.__version__} (batched matmul): {np_s:8.3f} s  {updates / np_s:.3e} synapse updates/s")
    print(f"ratio hebbnet / numpy: {np_s / h_s:.1f}×")
    json.dump({"neurons": n, "replicas": r, "epochs": e, "hebbnet_seconds": h_s,
               "numpy_seconds": np_s, "ratio": np_s / h_s, "backend": backend}, sys.stderr)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
