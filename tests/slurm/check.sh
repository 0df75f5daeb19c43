#!/usr/bin/env bash
# A real one-node Slurm cluster runs the job scripts of docs/slurm.md (docs/slurm/sweep.sbatch
# and docs/slurm/merge.sbatch, submitted as they are) for a small sweep, and the merged files
# must be byte-identical to an unsharded run of the same binary:
#   0. docs/slurm.md shows the two files verbatim;
#   1. a 3-task array plus the dependent merge job;
#   2. the same with array task 2 cancelled part-way (scancel): the merge job must be dropped,
#      `hebbnet merge` must refuse, and task 2 resubmitted alone (it runs with --resume) plus a
#      new merge job must complete the sweep.
#
#   sudo bash tests/slurm/check.sh target/release/hebbnet
#
# Needs root (the daemons) and Debian's packages: apt-get install --no-install-recommends
# slurm-wlm munge. tests/slurm/start_cluster.sh starts the cluster (or reuses a running one).
# Never skips: a missing package or daemons that do not come up are failures. The whole check
# has a hard deadline of $HEBBNET_SLURM_CHECK_DEADLINE_S seconds (default 290).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEADLINE_S=${HEBBNET_SLURM_CHECK_DEADLINE_S:-290}

if [ $# -ne 1 ]; then
    echo "usage: bash tests/slurm/check.sh HEBBNET_BINARY   (e.g. target/release/hebbnet)" >&2
    exit 2
fi

# The hard deadline: rerun this script under timeout(1).
if [ -z "${HEBBNET_SLURM_CHECK_INNER:-}" ]; then
    HEBBNET_SLURM_CHECK_INNER=1 timeout --kill-after=15 "$DEADLINE_S" bash "${BASH_SOURCE[0]}" "$@"
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "slurm check: FAILED: not finished within the overall deadline of ${DEADLINE_S} s" >&2
        echo "slurm check: 0 passed, 1 failed" >&2
    fi
    exit "$rc"
fi

T0=$SECONDS
say() { echo "slurm check [$((SECONDS - T0))s]: $*"; }
fatal() {
    echo "slurm check: FAILED: $*" >&2
    echo "slurm check: $passed passed, $((failed + 1)) failed" >&2
    exit 1
}
passed=0
failed=0

HEBBNET=$1
[ -x "$HEBBNET" ] || fatal "$HEBBNET is not an executable (build it first: cargo build --release)"
HEBBNET=$(realpath "$HEBBNET")
SWEEP_SBATCH=$ROOT/docs/slurm/sweep.sbatch
MERGE_SBATCH=$ROOT/docs/slurm/merge.sbatch
for f in "$SWEEP_SBATCH" "$MERGE_SBATCH"; do [ -f "$f" ] || fatal "$f is missing"; done
command -v sbatch >/dev/null 2>&1 ||
    fatal "sbatch not found: install Slurm (apt-get install --no-install-recommends slurm-wlm munge)"

# --- the cluster -----------------------------------------------------------------------------
export HEBBNET_SLURM_DIR=${HEBBNET_SLURM_DIR:-/var/tmp/hebbnet-slurm}
say "starting the one-node cluster (tests/slurm/start_cluster.sh)"
bash "$HERE/start_cluster.sh" || fatal "the one-node Slurm cluster did not come up (see above)"
export SLURM_CONF=$HEBBNET_SLURM_DIR/slurm.conf

WORK=$(mktemp -d /tmp/hebbnet-slurm-check.XXXXXX)
LOGS=$WORK
JOBS=()
cleanup() {
    if [ ${#JOBS[@]} -gt 0 ]; then scancel "${JOBS[@]}" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 1' TERM INT

# --- a small sweep ---------------------------------------------------------------------------
# 4 × 3 points (computed geomspace and linspace axes) × 6 replicas = 72 units, 24 per shard in
# batches of 4: each shard takes several seconds on one CPU, so the cancel lands part-way.
cat >"$WORK/spec.json" <<'EOF'
{
  "description": "tests/slurm/check.sh: a small phase diagram of the rate form",
  "base": {
    "network": {"neurons": 60, "form": "rate", "activation": "siri", "gain": 10.0, "leak": 1.0, "threshold": 0.0},
    "weights": {"mean": 0.0, "std": 1.0, "connectivity": 1.0, "autapses": true},
    "input": {"distribution": "uniform", "low": -0.1, "high": 0.1},
    "initial_state": {"distribution": "uniform", "low": 0.0, "high": 1.0},
    "schedule": {"epochs": 1, "transient_steps": 500, "recorded_steps": 200000},
    "learning": {"enabled": false},
    "analysis": {
      "lyapunov": {"exponents": 1, "reorthonormalize_every": 10, "tangent_transient": 100},
      "attractor": {"enabled": true}
    },
    "backend": {"batch_replicas": 4}
  },
  "axes": [
    {"key": "network.gain", "geomspace": [2, 12, 4]},
    {"key": "weights.std", "linspace": [0.5, 2.5, 3]}
  ],
  "replicas": 6,
  "seed": 3
}
EOF
UNITS=72
SHARDS=3

reference_run() {
    local f
    say "unsharded reference run: $HEBBNET sweep spec.json --backend cpu"
    "$HEBBNET" sweep "$WORK/spec.json" --out "$WORK/reference" --backend cpu --quiet ||
        fatal "the unsharded reference run failed"
    for f in summary.csv points.csv; do
        [ -s "$WORK/reference/$f" ] || fatal "the reference run wrote no $f"
    done
}

# --- helpers ---------------------------------------------------------------------------------
common_env() { # OUT -> the --export value for both job scripts
    echo "ALL,HEBBNET=$HEBBNET,SPEC=$WORK/spec.json,OUT=$1,BACKEND=cpu,PLOT=0"
}
submit_array() { # OUT ARRAY [EXTRA_EXPORT]: prints the job id
    sbatch --parsable --array="$2" --cpus-per-task=1 --chdir="$WORK" \
        --output="$LOGS/%x_%A_%a.log" --export="$(common_env "$1")${3:-}" "$SWEEP_SBATCH"
}
submit_merge() { # OUT AFTER_JOB: prints the job id
    sbatch --parsable --dependency="afterok:$2" --kill-on-invalid-dep=yes --chdir="$WORK" \
        --output="$LOGS/%x_%j.log" --export="$(common_env "$1")" "$MERGE_SBATCH"
}
job_state() { # JOB (e.g. 12 or 12_2): its JobState, from slurmctld's memory (no accounting)
    scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2
}
job_reason() {
    scontrol -o show job "$1" 2>/dev/null | grep -o 'Reason=[^ ]*' | head -n 1 | cut -d= -f2
}
wait_jobs() { # DEADLINE_S JOB...: until none of them is pending or running
    local deadline=$((SECONDS + $1)) left
    shift
    while true; do
        if ! left=$(squeue -h -j "$(
            IFS=,
            echo "$*"
        )" -o '%i %T' 2>&1); then
            echo "squeue failed: $left"
            return 1
        fi
        [ -z "$left" ] && return 0
        if [ $SECONDS -ge $deadline ]; then
            echo "still queued after $1 s:"
            echo "$left"
            return 1
        fi
        sleep 1
    done
}
show_logs() {
    for f in "$LOGS"/*.log; do
        [ -f "$f" ] || continue
        echo "---- $f ----"
        tail -n 8 "$f"
    done
    echo "---- squeue ----"
    squeue 2>&1
}
fail_scenario() { # NAME MESSAGE
    echo "slurm check: FAILED ($1): $2"
    show_logs
    failed=$((failed + 1))
}
expect_state() { # JOB STATE
    local s
    s=$(job_state "$1")
    if [ "$s" != "$2" ]; then
        echo "job $1 is ${s:-unknown to slurmctld} (reason $(job_reason "$1")), expected $2"
        return 1
    fi
}
compare() { # OUT: byte-identical to the reference?
    local f
    for f in summary.csv points.csv; do
        if [ ! -f "$1/$f" ]; then
            echo "$1/$f was not written"
            return 1
        fi
        if ! cmp "$WORK/reference/$f" "$1/$f"; then
            echo "$1/$f differs from the unsharded run's"
            return 1
        fi
    done
}
shard_parts() { # OUT K: finished batches of shard K (a batch's CSV is written last)
    local lo=$((UNITS * ($2 - 1) / SHARDS)) hi=$((UNITS * $2 / SHARDS)) n=0 f start
    for f in "$1"/parts/u*-*.csv; do
        [ -f "$f" ] || continue
        start=$(basename "$f")
        start=${start#u}
        start=$((10#${start%%-*}))
        if [ "$start" -ge "$lo" ] && [ "$start" -lt "$hi" ]; then n=$((n + 1)); fi
    done
    echo "$n"
}

# --- 1: the array and the dependent merge job ------------------------------------------------
scenario_array() {
    local name="array of 3 + merge" out="$WORK/out1" jid mid msg t
    LOGS=$WORK/logs1
    mkdir -p "$LOGS"
    say "1: sbatch --array=1-$SHARDS docs/slurm/sweep.sbatch, then merge.sbatch after it"
    jid=$(submit_array "$out" "1-$SHARDS") || {
        fail_scenario "$name" "sbatch of the array failed"
        return
    }
    JOBS+=("$jid")
    mid=$(submit_merge "$out" "$jid") || {
        fail_scenario "$name" "sbatch of the merge job failed"
        return
    }
    JOBS+=("$mid")
    say "1: array job $jid, merge job $mid; waiting"
    msg=$(wait_jobs 150 "$jid" "$mid") || {
        fail_scenario "$name" "$msg"
        return
    }
    for t in $(seq 1 $SHARDS) ; do
        msg=$(expect_state "${jid}_$t" COMPLETED) || {
            fail_scenario "$name" "$msg"
            return
        }
    done
    msg=$(expect_state "$mid" COMPLETED) || {
        fail_scenario "$name" "$msg"
        return
    }
    msg=$(compare "$out" 2>&1) || {
        fail_scenario "$name" "$msg"
        return
    }
    say "1: PASSED: summary.csv and points.csv are byte-identical to the unsharded run"
    passed=$((passed + 1))
}

# --- 2: scancel one task part-way, resubmit it -----------------------------------------------
scenario_cancel() {
    local name="scancel + resubmit with --resume" out="$WORK/out2" jid mid jid2 mid2 msg t
    local deadline n s log
    LOGS=$WORK/logs2
    mkdir -p "$LOGS"
    say "2: sbatch --array=1-$SHARDS docs/slurm/sweep.sbatch, then merge.sbatch after it"
    jid=$(submit_array "$out" "1-$SHARDS") || {
        fail_scenario "$name" "sbatch of the array failed"
        return
    }
    JOBS+=("$jid")
    mid=$(submit_merge "$out" "$jid") || {
        fail_scenario "$name" "sbatch of the merge job failed"
        return
    }
    JOBS+=("$mid")
    # Cancel task 2 once it runs and has finished at least one batch.
    deadline=$((SECONDS + 90))
    while true; do
        s=$(job_state "${jid}_2")
        n=$(shard_parts "$out" 2)
        if [ "$s" = RUNNING ] && [ "$n" -ge 1 ]; then break; fi
        if [ "$s" != RUNNING ] && [ "$s" != PENDING ] && [ "$s" != CONFIGURING ]; then
            fail_scenario "$name" "task ${jid}_2 is ${s:-gone} before it could be cancelled"
            return
        fi
        if [ $SECONDS -ge $deadline ]; then
            fail_scenario "$name" "task ${jid}_2 did not finish a batch within 90 s (state $s)"
            return
        fi
        sleep 0.2
    done
    say "2: scancel ${jid}_2 (running, $n of 6 batches of shard 2 finished)"
    scancel "${jid}_2" || {
        fail_scenario "$name" "scancel ${jid}_2 failed"
        return
    }
    msg=$(wait_jobs 150 "$jid" "$mid") || {
        fail_scenario "$name" "$msg"
        return
    }
    msg=$(expect_state "${jid}_2" CANCELLED) || {
        fail_scenario "$name" "$msg (finished before the cancel? then the shards are too small)"
        return
    }
    for t in 1 3; do
        msg=$(expect_state "${jid}_$t" COMPLETED) || {
            fail_scenario "$name" "$msg"
            return
        }
    done
    msg=$(expect_state "$mid" CANCELLED) || {
        fail_scenario "$name" "$msg: the merge job must be dropped (--kill-on-invalid-dep=yes)"
        return
    }
    n=$(shard_parts "$out" 2)
    if [ "$n" -ge 6 ] || [ "$n" -lt 1 ]; then
        fail_scenario "$name" "shard 2 has $n of 6 batches after the cancel: not part-way"
        return
    fi
    if [ -e "$out/summary.csv" ]; then
        fail_scenario "$name" "summary.csv exists although a shard was cancelled"
        return
    fi
    if msg=$("$HEBBNET" merge "$out" 2>&1); then
        fail_scenario "$name" "hebbnet merge succeeded with shard 2 unfinished: $msg"
        return
    fi
    say "2: task 2 cancelled with $n of 6 batches done; merge job dropped; hebbnet merge refuses: ${msg#error: }"

    say "2: resubmitting only task 2 (sbatch --array=2 --export=...,SHARDS=$SHARDS) and the merge job"
    jid2=$(submit_array "$out" 2 ",SHARDS=$SHARDS") || {
        fail_scenario "$name" "sbatch of task 2 failed"
        return
    }
    JOBS+=("$jid2")
    mid2=$(submit_merge "$out" "$jid2") || {
        fail_scenario "$name" "sbatch of the merge job failed"
        return
    }
    JOBS+=("$mid2")
    msg=$(wait_jobs 150 "$jid2" "$mid2") || {
        fail_scenario "$name" "$msg"
        return
    }
    for t in "${jid2}_2" "$mid2"; do
        msg=$(expect_state "$t" COMPLETED) || {
            fail_scenario "$name" "$msg"
            return
        }
    done
    log="$LOGS/hebbnet-sweep_${jid2}_2.log"
    if ! grep -q "shard 2/$SHARDS" "$log" || ! grep -q "resuming: .* already finished" "$log"; then
        fail_scenario "$name" "the resubmitted task did not resume shard 2/$SHARDS (see $log)"
        return
    fi
    msg=$(compare "$out" 2>&1) || {
        fail_scenario "$name" "$msg"
        return
    }
    say "2: PASSED: after the resubmission summary.csv and points.csv are byte-identical to the unsharded run"
    passed=$((passed + 1))
}

# --- 0: docs/slurm.md shows the job scripts as they are ---------------------------------------
doc_shows() { # FILE: docs/slurm.md holds FILE verbatim as a ```bash block
    WANT=$(cat "$1") awk '
        /^```/ {
            if (inside) { if (text == ENVIRON["WANT"]) found = 1; inside = 0 }
            else if ($0 == "```bash") { inside = 1; text = ""; first = 1 }
            next
        }
        inside { text = first ? $0 : text "\n" $0; first = 0 }
        END { exit found ? 0 : 1 }
    ' "$ROOT/docs/slurm.md"
}
scenario_docs() {
    local f bad=()
    for f in "$SWEEP_SBATCH" "$MERGE_SBATCH"; do doc_shows "$f" || bad+=("${f#"$ROOT"/}"); done
    if [ ${#bad[@]} -gt 0 ]; then
        echo "slurm check: FAILED (docs): docs/slurm.md does not show ${bad[*]} verbatim; copy the file into its \`\`\`bash block"
        failed=$((failed + 1))
        return
    fi
    say "0: PASSED: docs/slurm.md shows docs/slurm/sweep.sbatch and merge.sbatch verbatim"
    passed=$((passed + 1))
}

scenario_docs
reference_run
scenario_array
scenario_cancel

if [ "$failed" -ne 0 ] || [ "$passed" -ne 3 ]; then
    echo "slurm check: $passed passed, $failed failed ($((SECONDS - T0)) s; the files are kept in $WORK)"
    exit 1
fi
rm -rf "$WORK"
echo "slurm check: $passed passed, $failed failed ($((SECONDS - T0)) s)"
