#!/usr/bin/env python3
"""Full Lyapunov spectrum, hebbnet beside NumPy, in one run (issue 3's benchmark).

N = 100, all 100 exponents, current-form tanh network with weight std g = 4, a = 0.1,
12,000 steps (1000 state transient, 1000 tangent transient), QR every 10 steps:
configs/lyapunov_spectrum.json for hebbnet, benches/baselines/numpy_lyapunov.py (Engelken's
algorithm: numpy matmul + numpy.linalg.qr, float64) for NumPy. Prints seconds per replica with
1 replica and the throughput with R replicas, and the ratios; then hebbnet's arithmetic rate
against the CPU peak that `hebbnet bench` measures just before (faer sgemm 1024³ f32 on all
cores; the machines this ran on have shown 240–480 GFLOP/s for two threads from one minute to the
next, as the host moves the two vCPUs between separate and shared physical cores). FLOPs per
replica: 2N²k per propagated step (11,000 steps) plus 2Nk² + k³/3 per QR (1,100 QRs, in f64).

    python3 benches/baselines/compare_lyapunov.py --hebbnet target/release/hebbnet --replicas 8
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def hebbnet(binary, replicas):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([binary, "run", os.path.join(ROOT, "configs", "lyapunov_spectrum.json"),
                        "--backend", "cpu", "--replicas", str(replicas), "--out", out, "--quiet"],
                       check=True)
        with open(os.path.join(out, "manifest.json")) as f:
            m = json.load(f)
        with open(os.path.join(out, "epochs.csv")) as f:
            rows = f.read().splitlines()
    header = rows[0].split(",")
    total = [float(r.split(",")[header.index("lyapunov_sum")]) for r in rows[1:]]
    return m["simulate_seconds"], sum(total) / len(total), m["backend"]["description"]


def cpu_peak(binary):
    """GFLOP/s of `hebbnet bench`'s CPU peak (its smallest case, only for the peak)."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([binary, "bench", "--cases", "lyapunov_1", "--n", "16", "--replicas", "1",
                        "--steps", "20", "--repeat", "1", "--backends", "cpu", "--out", out,
                        "--quiet"], check=True, capture_output=True)
        with open(os.path.join(out, "bench.json")) as f:
            return json.load(f)["peaks"]["cpu"]["gflops"]


def flops_per_replica(n=100, k=100, propagated=11000, qrs=1100):
    return 2.0 * n * n * k * propagated + (2.0 * n * k * k + k ** 3 / 3.0) * qrs


def numpy(replicas):
    out = subprocess.run([sys.executable, os.path.join(HERE, "numpy_lyapunov.py"),
                          "--replicas", str(replicas), "--json"],
                         check=True, capture_output=True, text=True).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return j["seconds_total"], j["exponents_sum_mean"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hebbnet", default=os.path.join(ROOT, "target", "release", "hebbnet"))
    p.add_argument("--replicas", type=int, default=8)
    p.add_argument("--no-peak", action="store_true", help="skip the CPU peak measurement")
    a = p.parse_args()
    peak = None if a.no_peak else cpu_peak(a.hebbnet)
    h1, hs1, backend = hebbnet(a.hebbnet, 1)
    n1, ns1 = numpy(1)
    hr, _, _ = hebbnet(a.hebbnet, a.replicas)
    nr, _ = numpy(a.replicas)
    print(f"full spectrum, N = 100, k = 100, 12,000 steps, QR every 10; hebbnet: {backend}")
    print(f"1 replica:   hebbnet {h1:.3f} s, numpy {n1:.3f} s  -> {n1 / h1:.1f}x per replica"
          f"   (sum of exponents per step: {hs1:.4f} vs {ns1:.4f})")
    print(f"{a.replicas} replicas:  hebbnet {hr:.3f} s, numpy {nr:.3f} s  -> {nr / hr:.1f}x throughput")
    if peak:
        f = flops_per_replica()
        print(f"hebbnet rate: {f / h1 / 1e9:.0f} GFLOP/s (1 replica), "
              f"{f * a.replicas / hr / 1e9:.0f} GFLOP/s ({a.replicas} replicas) against a CPU peak "
              f"of {peak:.0f} GFLOP/s measured just before: {f / h1 / 1e9 / peak:.0%}, "
              f"{f * a.replicas / hr / 1e9 / peak:.0%}")


if __name__ == "__main__":
    main()
