#!/usr/bin/env python3
"""Full Lyapunov spectrum, hebbnet beside NumPy, in one run (issue 3's benchmark).

N = 100, all 100 exponents, current-form tanh network with weight std g = 4, a = 0.1,
12,000 steps (1000 state transient, 1000 tangent transient), QR every 10 steps:
configs/lyapunov_spectrum.json for hebbnet, benches/baselines/numpy_lyapunov.py (Engelken's
algorithm: numpy matmul + numpy.linalg.qr, float64) for NumPy. Prints seconds per replica with
1 replica and the throughput with R replicas, and the ratios.

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
    a = p.parse_args()
    h1, hs1, backend = hebbnet(a.hebbnet, 1)
    n1, ns1 = numpy(1)
    hr, _, _ = hebbnet(a.hebbnet, a.replicas)
    nr, _ = numpy(a.replicas)
    print(f"full spectrum, N = 100, k = 100, 12,000 steps, QR every 10; hebbnet: {backend}")
    print(f"1 replica:   hebbnet {h1:.3f} s, numpy {n1:.3f} s  -> {n1 / h1:.1f}x per replica"
          f"   (sum of exponents per step: {hs1:.4f} vs {ns1:.4f})")
    print(f"{a.replicas} replicas:  hebbnet {hr:.3f} s, numpy {nr:.3f} s  -> {nr / hr:.1f}x throughput")


if __name__ == "__main__":
    main()
