#!/usr/bin/env python3
"""The batched Hebbian learning run a user would otherwise write in PyTorch (torch.bmm on CUDA),
timed beside `hebbnet run --backend gpu` on the same GPU.

Same model, schedule and sizes as numpy_learning.py and `hebbnet run` on the embedded config
(rate form, siri activation, g = 10, σ = 1, ξ uniform in [-0.1, 0.1], T0 = 200, τ = 400,
λ = 0.9, α = 0.1, d = 0.1, Heaviside gate), in float32 (TF32 off: hebbnet computes in FP32),
all replicas advanced together: one torch.bmm and one elementwise update per step, the Hebbian
update once per epoch. Timing brackets the loop with torch.cuda.synchronize() after a warm-up
epoch (CUDA context, cuBLAS handles). hebbnet runs first with the analysis switched off (the
same work as this loop); both throughputs (synapse updates per second = N² · R · steps / s) and
their ratio are printed, measured in the same invocation.

    python3 benches/baselines/torch_learning.py --hebbnet target/release/hebbnet \
        --neurons 100 --replicas 4096 --epochs 5

Needs PyTorch built with CUDA and a CUDA GPU; exits with a message saying so otherwise.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

NO_ANALYSIS = [
    "--set", "analysis.lyapunov.exponents=0",
    "--set", "analysis.eigenvalues.weights=false",
    "--set", "analysis.eigenvalues.jacobian=false",
    "--set", "analysis.attractor.enabled=false",
]


def require_cuda_torch():
    try:
        import torch
    except ImportError:
        sys.exit("torch_learning.py needs PyTorch with CUDA (e.g. `pip install torch` on a "
                 "machine with an NVIDIA driver); torch is not installed here. The CPU baseline "
                 "is numpy_learning.py.")
    if not torch.cuda.is_available():
        sys.exit(f"torch_learning.py needs a CUDA GPU: torch {torch.__version__} is installed "
                 f"but torch.cuda.is_available() is False (no NVIDIA GPU or driver, or a CPU-only "
                 f"torch build). The CPU baseline is numpy_learning.py.")
    return torch


def torch_run(torch, n, r, epochs, t0, tau, seed=1):
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(seed)
    g, lam, alpha, d = 10.0, 0.9, 0.1, 0.1
    w = torch.randn(r, n, n, device=dev, generator=gen) / math.sqrt(n)
    xi = torch.empty(r, n, device=dev).uniform_(-0.1, 0.1, generator=gen)
    x = torch.rand(r, n, device=dev, generator=gen)

    def epoch(w, x):
        for _ in range(t0):
            u = torch.bmm(w, x.unsqueeze(2)).squeeze(2) + xi
            x = 0.5 * (1.0 + torch.tanh(g * u))
        acc = torch.zeros_like(x)
        for _ in range(tau):
            u = torch.bmm(w, x.unsqueeze(2)).squeeze(2) + xi
            x = 0.5 * (1.0 + torch.tanh(g * u))
            acc += x
        m = acc / tau - d
        pre = m * (m > 0)
        w = lam * w + (alpha / n) * m.unsqueeze(2) * pre.unsqueeze(1)
        return w, x

    with torch.no_grad():
        epoch(w.clone(), x.clone())  # warm-up: context, kernels, cuBLAS handle
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(epochs):
            w, x = epoch(w, x)
        torch.cuda.synchronize()
        return time.perf_counter() - start


def hebbnet_run(binary, n, r, epochs, t0, tau):
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "run", "--backend", "gpu", "--out", out, "--quiet",
               "--replicas", str(r), "--epochs", str(epochs),
               "--set", f"network.neurons={n}",
               "--set", f"schedule.transient_steps={t0}",
               "--set", f"schedule.recorded_steps={tau}"] + NO_ANALYSIS
        subprocess.run(cmd, check=True)
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
    adapter = manifest["backend"].get("adapter") or {}
    return manifest["simulate_seconds"], manifest["backend"]["description"], adapter


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hebbnet", default="target/release/hebbnet")
    p.add_argument("--neurons", type=int, default=100)
    p.add_argument("--replicas", type=int, default=4096)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--transient", type=int, default=200)
    p.add_argument("--recorded", type=int, default=400)
    a = p.parse_args()
    torch = require_cuda_torch()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    n, r, e = a.neurons, a.replicas, a.epochs
    updates = n * n * r * e * (a.transient + a.recorded)
    h_s, backend, adapter = hebbnet_run(a.hebbnet, n, r, e, a.transient, a.recorded)
    t_s = torch_run(torch, n, r, e, a.transient, a.recorded)
    gpu = torch.cuda.get_device_name(0)
    print(f"N = {n}, R = {r}, {e} epochs × ({a.transient} + {a.recorded}) steps, f32")
    print(f"hebbnet ({backend}): {h_s:8.3f} s  {updates / h_s:.3e} synapse updates/s")
    print(f"torch {torch.__version__} on {gpu} (bmm loop): {t_s:8.3f} s  "
          f"{updates / t_s:.3e} synapse updates/s")
    if adapter.get("software"):
        print("hebbnet ran on a software adapter: the ratio below is not a GPU speedup")
    print(f"ratio hebbnet / torch: {t_s / h_s:.1f}×")
    json.dump({"neurons": n, "replicas": r, "epochs": e, "hebbnet_seconds": h_s,
               "torch_seconds": t_s, "ratio": t_s / h_s, "backend": backend,
               "torch_device": gpu, "hebbnet_software_adapter": bool(adapter.get("software"))},
              sys.stderr)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
