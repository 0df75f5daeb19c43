#!/usr/bin/env python3
"""More threads must never be slower than one, also on a shared machine (issue 12, part 4).

Runs every `hebbnet bench` CPU case, and the full Lyapunov spectrum of
configs/lyapunov_spectrum.json (N = 100, k = 100, current form, a = 0.1, 12,000 steps, one
replica: the case where the replica team forks every ~50 us), with the default thread count and
with `--threads 1`, alternating the two in every round, while 0, 1 and 2 competing CPU-bound
processes run. Prints, per load and case, the median wall time of each setting and the ratio
default / one thread; a ratio above 1.10 is marked FAIL (the target of the issue).

    python3 benches/load_scaling.py --hebbnet target/release/hebbnet [--rounds 5] [--loads 0,1,2]
        [--n 100] [--replicas 1,8] [--steps 1500] [--repeat 3] [--cases LIST] [--no-spectrum]
        [--out runs/load_scaling]

About 15 minutes on a 2-core machine.

Writes load_scaling.csv (every timing) and load_scaling.md (the table) into --out. Timings are
wall-clock: for `hebbnet bench` cases the median of the bench's own repetitions (bench.csv
`median_s`), for the spectrum the process's wall time. Only Python's standard library.
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SPECTRUM = os.path.join(ROOT, "configs", "lyapunov_spectrum.json")


def competitor():
    """A CPU-bound process with nothing to do with hebbnet."""
    return subprocess.Popen(
        [sys.executable, "-c", "x = 0\nwhile True:\n    x += 1\n"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def bench_cases(hebbnet, threads, args, tmp):
    out = os.path.join(tmp, f"bench-{threads}")
    cmd = [
        hebbnet, "bench", "--backends", "cpu", "--n", args.n, "--replicas", args.replicas,
        "--steps", str(args.steps), "--repeat", str(args.repeat), "--threads", str(threads),
        "--max-case-seconds", "600",  # never cap R: both settings must run the same cases
        "--out", out, "--quiet",
    ]
    if args.cases:
        cmd += ["--cases", args.cases]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    times = {}
    with open(os.path.join(out, "bench.csv")) as f:
        for row in csv.DictReader(f):
            name = f"{row['case']} N={row['neurons']} R={row['replicas']}"
            times[name] = float(row["median_s"])
    return times


def spectrum(hebbnet, threads, tmp):
    out = os.path.join(tmp, f"spectrum-{threads}")
    cmd = [hebbnet, "run", SPECTRUM, "--backend", "cpu", "--threads", str(threads),
           "--out", out, "--force", "--quiet"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return {"spectrum N=100 k=100 R=1 (run)": time.perf_counter() - start}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hebbnet", default=os.path.join(ROOT, "target", "release", "hebbnet"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--loads", default="0,1,2", help="numbers of competing processes")
    p.add_argument("--n", default="100")
    p.add_argument("--replicas", default="1,8",
                   help="1: one replica, the replica team forks; 8: replicas over threads")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cases", default="",
                   help="`hebbnet bench --cases` list (default: every case)")
    p.add_argument("--no-spectrum", action="store_true",
                   help="skip the run of configs/lyapunov_spectrum.json")
    p.add_argument("--out", default=os.path.join(ROOT, "runs", "load_scaling"))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    loads = [int(x) for x in args.loads.split(",")]
    default_threads = subprocess.run([args.hebbnet, "devices"], capture_output=True, text=True).stdout
    default_line = next((l for l in default_threads.splitlines() if l.startswith("cpu backend")), "?")
    print(f"{default_line}; os.cpu_count() = {os.cpu_count()}, "
          f"affinity = {len(os.sched_getaffinity(0))}", flush=True)

    rows = []  # (load, round, threads, case, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        for load in loads:
            others = [competitor() for _ in range(load)]
            try:
                time.sleep(0.5)
                for r in range(args.rounds):
                    # Alternate which setting goes first, so drifts of the host hit both.
                    order = [0, 1] if r % 2 == 0 else [1, 0]
                    for threads in order:
                        times = {} if args.no_spectrum else spectrum(args.hebbnet, threads, tmp)
                        times.update(bench_cases(args.hebbnet, threads, args, tmp))
                        for case, s in times.items():
                            rows.append((load, r, threads, case, s))
                    print(f"load {load}: round {r + 1}/{args.rounds} done", flush=True)
            finally:
                for o in others:
                    o.kill()
                    o.wait()

    with open(os.path.join(args.out, "load_scaling.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["competitors", "round", "threads", "case", "seconds"])
        w.writerows(rows)

    cases = sorted({c for (_, _, _, c, _) in rows})
    lines = [
        f"`{' '.join(sys.argv)}` — {default_line}; medians of {args.rounds} alternating rounds",
        "",
        "| competing processes | case | default (s) | --threads 1 (s) | default / one | |",
        "|---|---|---|---|---|---|",
    ]
    worst = 0.0
    for load in loads:
        for case in cases:
            med = {
                t: statistics.median(s for (l, _, th, c, s) in rows if l == load and th == t and c == case)
                for t in (0, 1)
            }
            ratio = med[0] / med[1]
            worst = max(worst, ratio)
            mark = "ok" if ratio <= 1.10 else "FAIL (> 1.10)"
            lines.append(f"| {load} | {case} | {med[0]:.4g} | {med[1]:.4g} | {ratio:.2f} | {mark} |")
    lines.append("")
    lines.append(f"worst ratio default / one thread: {worst:.2f} (target ≤ 1.10)")
    text = "\n".join(lines)
    with open(os.path.join(args.out, "load_scaling.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0 if worst <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
