#!/usr/bin/env python3
"""Peak host memory of a CPU run against the bytes of its batch's weights (issue 13).

For each (N, R) runs `hebbnet run` on a small config (one epoch of 5 + 5 steps with learning, no
analysis: attractor classification off; and again with the default analysis, which keeps each
replica's W in f64 for the epoch's Jacobian), in a child process whose peak resident set size
(ru_maxrss) is read after it exits. Prints, per case, the peak RSS, the batch's weights in the
compute precision (R N^2 * 4 bytes in f32) and their ratio; the target is a peak of at most
1.5x those weights plus O(R N).

    python3 benches/memory.py --hebbnet target/release/hebbnet [--cases 1000x64,100x1024]
        [--baseline path/to/older/hebbnet]

Only Python's standard library; Linux (ru_maxrss in KiB).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile


def peak_rss_mib(hebbnet, n, r, analysis):
    """Peak RSS (MiB) of one run, measured in a fresh Python child so maxima do not mix."""
    config = {
        "network": {"neurons": n},
        "schedule": {"epochs": 1, "transient_steps": 5, "recorded_steps": 5},
        "learning": {"enabled": True},
        "ensemble": {"replicas": r},
    }
    if not analysis:
        config["analysis"] = {"attractor": {"enabled": False}}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "c.json")
        with open(path, "w") as f:
            json.dump(config, f)
        probe = (
            "import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
            "sys.stderr.write(p.stderr.decode()[-400:])\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(p.returncode)\n"
        )
        cmd = [sys.executable, "-c", probe, hebbnet, "run", path, "--backend", "cpu",
               "--out", os.path.join(d, "out"), "--quiet"]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{hebbnet} failed on N={n} R={r}: {out.stderr}")
        return int(out.stdout.strip()) / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hebbnet", default="target/release/hebbnet")
    p.add_argument("--baseline", default=None, help="an older binary measured the same way")
    p.add_argument("--cases", default="1000x64,100x1024", help="NxR, comma-separated")
    args = p.parse_args()
    cases = [tuple(int(v) for v in c.split("x")) for c in args.cases.split(",")]
    binaries = [("this build", args.hebbnet)]
    if args.baseline:
        binaries.append(("baseline", args.baseline))
    print("| binary | N | R | analysis | peak RSS (MiB) | f32 weights (MiB) | ratio |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for name, exe in binaries:
        for n, r in cases:
            weights = n * n * r * 4 / 2**20
            for analysis in (False, True):
                rss = peak_rss_mib(exe, n, r, analysis)
                ratio = rss / weights
                if name == "this build" and not analysis:
                    worst = max(worst, ratio)
                label = "default (attractor)" if analysis else "off"
                print(f"| {name} | {n} | {r} | {label} | {rss:.0f} | {weights:.0f} | {ratio:.2f} |")
    print(f"\nworst ratio of this build, analysis off: {worst:.2f} (target <= 1.5 plus O(RN))")


if __name__ == "__main__":
    main()
