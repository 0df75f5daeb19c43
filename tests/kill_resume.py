#!/usr/bin/env python3
"""kill -9 a sweep at random moments; each `--resume` must end byte-identical (issue 12).

    python3 tests/kill_resume.py [--hebbnet target/release/hebbnet]
        [--spec configs/sweeps/phase_g_sigma.json] [--trials 20] [--seed 1] [--backend cpu]

Runs the sweep once uninterrupted (the reference), then `--trials` times: starts it into a new
directory, sends SIGKILL after a delay drawn uniformly over the reference's wall time (so the
kill lands anywhere: while writing sweep.json, between batches, in the middle of a part's
atomic write, during the merge), reruns it with `--resume` and compares every result file
(`*.csv`, `*.npy`) byte for byte with the reference. Every third trial is killed twice (the
resume too). Prints one line per trial and exits 1 if any differs.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def results(d):
    names = sorted(n for n in os.listdir(d) if n.endswith(".csv") or n.endswith(".npy"))
    return {n: open(os.path.join(d, n), "rb").read() for n in names}


def parts(d):
    p = os.path.join(d, "parts")
    return len([n for n in os.listdir(p) if n.endswith(".csv")]) if os.path.isdir(p) else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hebbnet", default=os.path.join(ROOT, "target", "release", "hebbnet"))
    ap.add_argument("--spec", default=os.path.join(ROOT, "configs", "sweeps", "phase_g_sigma.json"))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backend", default="cpu")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    def sweep(out, resume=False):
        cmd = [args.hebbnet, "sweep", args.spec, "--out", out, "--backend", args.backend, "--quiet"]
        return cmd + (["--resume"] if resume else [])

    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(tmp, "reference")
        start = time.perf_counter()
        subprocess.run(sweep(ref), check=True)
        wall = time.perf_counter() - start
        expected = results(ref)
        print(f"reference: {wall:.2f} s, {len(expected)} files ({', '.join(expected)})", flush=True)

        failures = 0
        for trial in range(1, args.trials + 1):
            out = os.path.join(tmp, f"trial{trial}")
            kills = 2 if trial % 3 == 0 else 1
            notes = []
            for k in range(kills):
                delay = rng.uniform(0.0, wall)
                child = subprocess.Popen(sweep(out, resume=k > 0), stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
                time.sleep(delay)
                finished = child.poll() is not None
                if not finished:
                    child.send_signal(signal.SIGKILL)
                child.wait()
                notes.append(f"kill -9 at {delay:.2f} s" + (" (already finished)" if finished else "")
                             + f", {parts(out)} parts on disk")
            resumed = subprocess.run(sweep(out, resume=True), capture_output=True, text=True)
            if resumed.returncode != 0:
                ok, why = False, f"resume exited {resumed.returncode}: {resumed.stderr.strip()}"
            else:
                got = results(out)
                differ = [n for n in expected if got.get(n) != expected[n]]
                extra = [n for n in got if n not in expected]
                ok = not differ and not extra
                why = "byte-identical" if ok else f"differs: {differ + extra}"
            failures += not ok
            print(f"trial {trial:2}: {'; '.join(notes)}; resume: {why}", flush=True)
            shutil.rmtree(out, ignore_errors=True)
        print(f"kill -9 and resume: {args.trials - failures} passed, {failures} failed")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
