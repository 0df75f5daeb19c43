#!/usr/bin/env python3
"""Full Lyapunov spectrum of the current-form network in NumPy, as Engelken's demo computes it.

The baseline a user would otherwise write: the algorithm of Engelken's published demo
(RainerEngelken/RNN-LyapunovSpectra, demo_lypunov_spectra_chaotic_ratenetwork.py; Engelken, Wolf &
Abbott, arXiv:2006.02427), re-implemented here (not copied) with its defaults, in float64, one
network at a time:

    J = g * randn(N, N) / sqrt(N), then J_ii = 0             (no autapses)
    h(0) = (g - 1) * randn(N)                                (Engelken's initial state)
    Q = qr(randn(N, k)).Q                                    (random orthonormal N x k basis)
    for s = 1 .. steps:                                      (step s maps h(s-1) to h(s))
        h(s) = (1 - dt) h(s-1) + dt J tanh(h(s-1))
        if s > transient:                                    (state transient: Q left alone)
            D = (1 - dt) I + dt J diag(1 - tanh(h(s-1))^2)   (Jacobian at h(s-1), built densely)
            Q = D @ Q                                        (numpy matmul)
            if s % qr_every == 0:
                Q, R = numpy.linalg.qr(Q)
                if s > transient + tangent_transient:        (tangent transient: not counted)
                    S += log|diag(R)|;  counted += qr_every
    lambda_i (per step)      = S_i / counted
    lambda_i (per unit time) = S_i / (counted * dt)          (Engelken's unit, 1/tau)

Defaults are Engelken's example call rate_Lyapunov_spectra(100, 4, 1e-1, 1e3, 100, 1, ...):
N = 100, k = N (all exponents), g = 4, dt = 0.1, QR every tONS/dt = 10 steps, a state transient
of 100/dt = 1000 steps, a tangent transient of tSim/dt/10 = 1000 steps and tSim/dt = 10,000
measured steps: 12,000 steps in all. In hebbnet's terms this is the current form with tanh of
unit gain, weights of std g, no input, leak a = dt; hebbnet's exponents are per step (a discrete
map), Engelken's per unit time: the two differ by the factor dt. Differences from the demo: the
random streams (numpy.random.default_rng(seed + replica) instead of the legacy global seed;
--engelken-seeds restores the demo's), no stored trajectory, plots or direct-simulation check,
and the last step is taken (the demo stops one step short of its 12,000, so it counts 999 QR
intervals, this script 1000). Check: --engelken-seeds --steps 11999 gives the demo's
lambda_max = 0.1634 per unit time; other networks scatter widely at N = 100 (default seeds 1-12:
mean 0.122, std 0.085 per unit time), so compare replica means. The sum of all N exponents is
close to N ln(1 - dt) per step (-10.54; measured -10.53), since tr(J diag(phi')) = 0 without
autapses.

    python3 benches/baselines/numpy_lyapunov.py --replicas 4
    python3 benches/baselines/numpy_lyapunov.py --neurons 400 --replicas 2 --json
"""
import argparse
import json
import sys
import time

import numpy as np


class EngelkenSeeds:
    """The demo's random streams: the legacy global generator re-seeded before each draw (its
    seedNet = seedIC = seedONS), so that the demo's own numbers can be reproduced."""

    def __init__(self, seed):
        self.seed = seed

    def standard_normal(self, shape):
        np.random.seed(self.seed)
        return np.random.randn(*np.atleast_1d(shape))


def lyapunov_spectrum(n, k, g, dt, steps, qr_every, transient, tangent_transient, rng):
    """Per-step Lyapunov exponents (largest first) and the number of steps they average."""
    j = g * rng.standard_normal((n, n)) / np.sqrt(n)
    np.fill_diagonal(j, 0.0)
    h = (g - 1.0) * rng.standard_normal(n)
    q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    leak_diag = np.eye(n) * (1.0 - dt)
    log_r = np.zeros(k)
    counted = 0
    for s in range(1, steps + 1):
        h_prev = h
        h = (1.0 - dt) * h_prev + dt * (j @ np.tanh(h_prev))
        if s > transient:
            d = leak_diag + j * (dt / np.cosh(h_prev) ** 2)  # column j scaled by phi'(h_j)
            q = d @ q
            if s % qr_every == 0:
                q, r = np.linalg.qr(q)
                if s > transient + tangent_transient:
                    log_r += np.log(np.abs(np.diag(r)))
                    counted += qr_every
    if counted == 0:
        raise ValueError("no QR interval after the transients: increase --steps")
    return log_r / counted, counted


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--neurons", type=int, default=100, help="N (default 100)")
    p.add_argument("--exponents", type=int, default=None, help="k exponents (default N: all)")
    p.add_argument("--gain", type=float, default=4.0, help="g, weight std (default 4)")
    p.add_argument("--leak", type=float, default=0.1, help="dt = a (default 0.1)")
    p.add_argument("--steps", type=int, default=12000,
                   help="total steps, transients included (default 12000)")
    p.add_argument("--qr-every", type=int, default=10, help="steps between QRs (default 10)")
    p.add_argument("--transient", type=int, default=1000,
                   help="state transient, steps before Q is propagated (default 1000)")
    p.add_argument("--tangent-transient", type=int, default=1000,
                   help="steps of Q propagation not counted (default 1000)")
    p.add_argument("--replicas", type=int, default=1,
                   help="independent networks, run one after another (default 1)")
    p.add_argument("--seed", type=int, default=1, help="replica r uses seed + r (default 1)")
    p.add_argument("--engelken-seeds", action="store_true",
                   help="draw J, h(0) and Q as the demo does (legacy numpy.random.seed(seed + r) "
                        "before each); with --steps 11999 (the demo's count) and seed 1 the "
                        "largest exponent is the demo's 0.1634 per unit time")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    a = p.parse_args()
    k = a.neurons if a.exponents is None else a.exponents
    if not (0 < k <= a.neurons):
        p.error("--exponents must be in 1..N")
    if not (0.0 < a.leak <= 1.0):
        p.error("--leak must be in (0, 1]")
    if a.qr_every < 1 or a.replicas < 1:
        p.error("--qr-every and --replicas must be at least 1")

    spectra = []
    counted = 0
    start = time.perf_counter()
    for r in range(a.replicas):
        if a.engelken_seeds:
            rng = EngelkenSeeds(a.seed + r)
        else:
            rng = np.random.default_rng(a.seed + r)
        spectrum, counted = lyapunov_spectrum(a.neurons, k, a.gain, a.leak, a.steps, a.qr_every,
                                              a.transient, a.tangent_transient, rng)
        spectra.append(spectrum)
    total = time.perf_counter() - start
    spectra = np.array(spectra)
    lam_max = spectra[:, 0]
    sums = spectra.sum(axis=1)

    if a.json:
        print(json.dumps({
            "seconds_total": total,
            "seconds_per_replica": total / a.replicas,
            "replicas": a.replicas,
            "lambda_max_mean": float(lam_max.mean()),
            "exponents_sum_mean": float(sums.mean()),
            "units": "per step; the *_per_time values are per unit time (per step / leak)",
            "lambda_max_mean_per_time": float(lam_max.mean() / a.leak),
            "exponents_sum_mean_per_time": float(sums.mean() / a.leak),
            "lambda_max": [float(x) for x in lam_max],
            "neurons": a.neurons, "exponents": k, "gain": a.gain, "leak": a.leak,
            "steps": a.steps, "measured_steps": counted, "qr_every": a.qr_every,
            "numpy": np.__version__,
        }))
        return
    spread = f" (replica std {lam_max.std(ddof=1):.4f})" if a.replicas > 1 else ""
    print(f"NumPy Lyapunov spectrum: N = {a.neurons}, k = {k}, g = {a.gain}, dt = {a.leak}, "
          f"{a.steps} steps ({a.transient} state + {a.tangent_transient} tangent transient, "
          f"{counted} measured), QR every {a.qr_every}, float64, {a.replicas} replica(s)")
    print(f"  largest exponent  {lam_max.mean():+.5f} per step  = "
          f"{lam_max.mean() / a.leak:+.5f} per unit time (Engelken's unit){spread}")
    print(f"  sum of the {k:>3}    {sums.mean():+.5f} per step  = "
          f"{sums.mean() / a.leak:+.5f} per unit time")
    print(f"  time              {total / a.replicas:.3f} s per replica "
          f"({total:.3f} s for {a.replicas})")


if __name__ == "__main__":
    sys.exit(main())
