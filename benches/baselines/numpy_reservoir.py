#!/usr/bin/env python3
"""Batched NumPy/SciPy baseline of Rivkind & Barak 2017 (models/rivkind_barak.md §3): one
success-versus-g sweep of trained reservoirs, the work hebbnet does per replica.

Per (g, seed) replica: J ~ N(0, g²/N), u ~ N(0, σ_u²); for every target A_k the open loop
x ← (1 − dt) x + dt (J tanh x + u A_k) from x = u A_k (dt = 0.2, 1000 steps), settled when
‖−x + J tanh x + u A_k‖/‖x‖ < 1e-2; Newton x ← x + (I − J D)⁻¹ F on the settled ones (≤ 30 steps to
‖F‖/√N < 1e-9, trained if below 1e-6); the minimum-norm readout w = R (RᵀR)⁺ A; the eigenvalues of
M_k = −I + (J + u wᵀ) D_k (eig-stable if max Re λ < −1e-6 for every k, marginal within ±1e-6); the
kicked closed loop x ← (1 − dt) x + dt W_eff tanh x, W_eff = J + u wᵀ (dense), from
x = 1.1 x^k + 0.05 rms(x^k) ξ (dt = 0.1, 3000 steps), success if |z(T) − A_k| < 0.02 max(|A_k|, 0.1)
for every k. A replica that does not settle or whose Newton fails is a training failure and gets no
readout, eigenvalues or closed loop (as in hebbnet's Reservoir::open_loop).

The fastest plain-NumPy form: the seeds of one g and its K targets advance together (np.matmul
over a stacked (B, N, N) array into a preallocated buffer, one Python iteration per step; for K < 4
one batched matrix-vector product per target), Newton is np.linalg.solve on the stack of
still-unconverged systems, the spectra are np.linalg.eigvals on the stack. --dtype sets the time
stepping (open and closed loop); Newton, the readout and the eigenvalues are always float64.
Timed: the whole sweep, drawing included, with a breakdown (draw, open loop, Newton + readout,
eigenvalues, closed loop). Prints the per-g fractions (binomial errors √(p(1 − p)/n)) and the
median wall time of --repeat sweeps.

    python3 benches/baselines/numpy_reservoir.py --seeds 16 --csv /tmp/reservoir.csv
"""
import argparse
import json
import sys
import time

import numpy as np

try:
    import scipy

    SCIPY = scipy.__version__
except ImportError:  # only reported; the linear algebra is numpy.linalg
    SCIPY = "absent"

PHASES = ("draw", "open_loop", "newton_readout", "eigenvalues", "closed_loop")


def draw(g, seeds, n, k, sigma_u):
    """J (B, N, N), u (B, N) and the kick noise ξ (B, N, K), one generator per (seed, g)."""
    jj = np.empty((seeds, n, n))
    u = np.empty((seeds, n))
    xi = np.empty((seeds, n, k))
    for s in range(seeds):
        rng = np.random.default_rng((s, int(round(g * 1000))))
        jj[s] = rng.standard_normal((n, n)) * (g / np.sqrt(n))
        u[s] = rng.standard_normal(n) * sigma_u
        xi[s] = rng.standard_normal((n, k))
    return jj, u, xi


def euler(w, x, drive, dt, steps):
    """`steps` Euler steps of x ← (1 − dt) x + dt (W tanh x + drive); W is (B, N, N), x and drive
    (B, N, K); returns the final x (B, N, K). dt is folded into W and the drive once. For K < 4 the
    state is held as K stacks of (B, N, 1) and each takes a batched matrix-vector product: at
    N = 300 OpenBLAS's gemm with 2-3 right-hand columns is slower than 2-3 gemv calls."""
    k = x.shape[2]
    wdt = w * x.dtype.type(dt)
    keep = x.dtype.type(1.0 - dt)
    if k < 4:
        x = np.ascontiguousarray(np.transpose(x, (2, 0, 1)))[..., None]  # (K, B, N, 1)
        if drive is not None:
            drive = np.transpose(drive, (2, 0, 1))[..., None]
    ddt = None if drive is None else np.ascontiguousarray(drive * x.dtype.type(dt))
    r = np.empty_like(x)
    y = np.empty_like(x)
    for _ in range(steps):
        np.tanh(x, out=r)
        if k < 4:
            for j in range(k):
                np.matmul(wdt, r[j], out=y[j])
        else:
            np.matmul(wdt, r, out=y)
        x *= keep
        x += y
        if ddt is not None:
            x += ddt
    return np.transpose(x[..., 0], (1, 2, 0)) if k < 4 else x


def one_g(g, a, targets, dtype, clock):
    n, k, b = a.neurons, len(targets), a.seeds
    t0 = time.perf_counter()
    jj, u, xi = draw(g, b, n, k, a.sigma_u)
    t1 = time.perf_counter()
    clock["draw"] += t1 - t0

    # Open loop, all seeds and targets together: state (B, N, K), drive u A_k.
    ua = u[:, :, None] * targets[None, None, :]
    x = euler(jj.astype(dtype), ua.astype(dtype), ua.astype(dtype), 0.2, 1000).astype(np.float64)
    f = -x + jj @ np.tanh(x) + ua
    ratio = np.linalg.norm(f, axis=1) / np.linalg.norm(x, axis=1)  # (B, K)
    settled = np.all(np.isfinite(ratio) & (ratio < 1e-2), axis=1)
    t2 = time.perf_counter()
    clock["open_loop"] += t2 - t1

    # Newton on the settled replicas, every (replica, target) system stacked: (S K, N, N).
    idx = np.flatnonzero(settled)
    trained = np.zeros(b, bool)
    if idx.size:
        s = idx.size
        js = np.repeat(jj[idx], k, axis=0)  # (S K, N, N)
        xs = np.transpose(x[idx], (0, 2, 1)).reshape(s * k, n)  # (S K, N)
        us = (u[idx][:, None, :] * targets[None, :, None]).reshape(s * k, n)
        eye = np.eye(n)
        fs = -xs + np.einsum("mij,mj->mi", js, np.tanh(xs)) + us
        res = np.linalg.norm(fs, axis=1) / np.sqrt(n)
        for _ in range(30):
            act = np.flatnonzero(np.isfinite(res) & (res >= 1e-9))
            if not act.size:
                break
            d = 1.0 - np.tanh(xs[act]) ** 2
            m = eye - js[act] * d[:, None, :]
            xs[act] += np.linalg.solve(m, fs[act][:, :, None])[:, :, 0]
            fs[act] = -xs[act] + np.einsum("mij,mj->mi", js[act], np.tanh(xs[act])) + us[act]
            res[act] = np.linalg.norm(fs[act], axis=1) / np.sqrt(n)
        ok = np.all((res < 1e-6).reshape(s, k), axis=1)
        trained[idx[ok]] = True
        keep = np.repeat(ok, k)
        xk = xs[keep].reshape(-1, k, n)  # (T, K, N) polished fixed points
        idx = idx[ok]
    t3 = time.perf_counter()
    maxre = np.full(b, np.nan)
    stable = np.zeros(b, bool)
    marginal = np.zeros(b, bool)
    success = np.zeros(b, bool)
    if not idx.size:
        clock["newton_readout"] += t3 - t2
        return settled, trained, stable, marginal, success, maxre
    tn = idx.size
    # Minimum-norm readout w = R (RᵀR)⁺ A, R = [r^1 .. r^K] (N × K).
    rr = np.transpose(np.tanh(xk), (0, 2, 1))  # (T, N, K)
    gram = np.transpose(rr, (0, 2, 1)) @ rr
    w = np.einsum("tnk,tk->tn", rr, np.linalg.pinv(gram, rtol=1e-12) @ targets)  # (T, N)
    weff = jj[idx] + u[idx][:, :, None] * w[:, None, :]  # (T, N, N), J + u wᵀ
    t4 = time.perf_counter()
    clock["newton_readout"] += t4 - t2

    # Closed-loop spectra: M_k = −I + W_eff D_k, stacked (T K, N, N).
    dk = 1.0 - np.tanh(xk) ** 2  # (T, K, N)
    m = weff[:, None, :, :] * dk[:, :, None, :]
    m = m.reshape(tn * k, n, n)
    m[:, np.arange(n), np.arange(n)] -= 1.0
    lam = np.linalg.eigvals(m).real.max(axis=1).reshape(tn, k).max(axis=1)
    maxre[idx] = lam
    stable[idx] = lam < -1e-6
    marginal[idx] = np.abs(lam) <= 1e-6
    t5 = time.perf_counter()
    clock["eigenvalues"] += t5 - t4

    # Kicked closed loop, state (T, N, K), no input.
    xfix = np.transpose(xk, (0, 2, 1))  # (T, N, K)
    rms = np.sqrt(np.mean(xfix ** 2, axis=1, keepdims=True))
    x0 = (1.1 * xfix + 0.05 * rms * xi[idx]).astype(dtype)
    xt = euler(weff.astype(dtype), x0, None, 0.1, 3000).astype(np.float64)
    z = np.einsum("tn,tnk->tk", w, np.tanh(xt))
    tol = 0.02 * np.maximum(np.abs(targets), 0.1)
    good = np.isfinite(xt).all(axis=1) & (np.abs(z - targets) < tol)
    success[idx] = good.all(axis=1)
    clock["closed_loop"] += time.perf_counter() - t5
    return settled, trained, stable, marginal, success, maxre


def sweep(a, targets, dtype):
    count = int(np.floor((a.gmax - a.gmin) / a.gstep + 1e-9)) + 1
    gs = [np.round(a.gmin + a.gstep * i, 10) for i in range(count)]
    clock = dict.fromkeys(PHASES, 0.0)
    rows = []
    start = time.perf_counter()
    for g in gs:
        rows.append((g,) + one_g(g, a, targets, dtype, clock))
    return time.perf_counter() - start, clock, rows


def fractions(rows, seeds):
    out = []
    for g, settled, trained, stable, marginal, success, maxre in rows:
        f = lambda v: (float(v.mean()), float(np.sqrt(v.mean() * (1 - v.mean()) / seeds)))
        fin = maxre[np.isfinite(maxre)]
        out.append({
            "g": float(g), "n": seeds,
            "settled": f(settled), "trained": f(trained), "eig_stable": f(stable),
            "marginal": f(marginal), "sim_success": f(success),
            "mean_max_re": float(fin.mean()) if fin.size else float("nan"),
            "sd_max_re": float(fin.std()) if fin.size else float("nan"),
        })
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neurons", type=int, default=300)
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--targets", default="1.0", help="comma list of targets A_k")
    p.add_argument("--sigma-u", type=float, default=1.0)
    p.add_argument("--gmin", type=float, default=0.3)
    p.add_argument("--gmax", type=float, default=2.5)
    p.add_argument("--gstep", type=float, default=0.1)
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--csv", help="write the per-g fractions here")
    p.add_argument("--json", help="write the timings here")
    a = p.parse_args()
    targets = np.array([float(t) for t in a.targets.split(",")])
    dtype = np.float32 if a.dtype == "float32" else np.float64
    times, clocks = [], []
    for _ in range(a.repeat):
        elapsed, clock, rows = sweep(a, targets, dtype)
        times.append(elapsed)
        clocks.append(clock)
    table = fractions(rows, a.seeds)
    print(" g     settled       trained       eig-stable    marginal  sim-success   mean max Re λ")
    for r in table:
        pm = lambda key: f"{r[key][0]:.3f}±{r[key][1]:.3f}"
        print(f"{r['g']:4.2f}  {pm('settled')}  {pm('trained')}  {pm('eig_stable')}  "
              f"{r['marginal'][0]:.3f}     {pm('sim_success')}  "
              f"{r['mean_max_re']:+.4f}±{r['sd_max_re']:.4f}")
    if a.csv:
        with open(a.csv, "w") as fh:
            fh.write("g,n,settled,settled_err,trained,trained_err,eig_stable,eig_stable_err,"
                     "marginal,marginal_err,sim_success,sim_success_err,mean_max_re,sd_max_re\n")
            for r in table:
                vals = [r["g"], r["n"]]
                for key in ("settled", "trained", "eig_stable", "marginal", "sim_success"):
                    vals += list(r[key])
                vals += [r["mean_max_re"], r["sd_max_re"]]
                fh.write(",".join(f"{v:.6g}" for v in vals) + "\n")
    med = float(np.median(times))
    phases = {ph: float(np.median([c[ph] for c in clocks])) for ph in PHASES}
    replicas = len(rows) * a.seeds
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({
                "baseline": "numpy_reservoir", "numpy": np.__version__, "scipy": SCIPY,
                "python": sys.version.split()[0], "neurons": a.neurons, "seeds": a.seeds,
                "targets": targets.tolist(), "g_points": len(rows), "replicas": replicas,
                "dtype": a.dtype, "times_s": times, "median_s": med, "phases_median_s": phases,
            }, fh, indent=2)
    breakdown = ", ".join(f"{ph} {phases[ph]:.2f} s" for ph in PHASES)
    print(f"numpy_reservoir: {replicas} replicas, N = {a.neurons}, K = {len(targets)}, "
          f"median {med:.1f} s ({a.repeat} runs, {a.dtype}, numpy {np.__version__}, "
          f"scipy {SCIPY}; {breakdown})")


if __name__ == "__main__":
    main()
