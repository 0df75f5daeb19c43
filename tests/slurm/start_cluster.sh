#!/usr/bin/env bash
# Starts (or reuses) a one-node Slurm cluster on this machine, for tests/slurm/check.sh.
#
#   sudo bash tests/slurm/start_cluster.sh        # then: export SLURM_CONF=/var/tmp/hebbnet-slurm/slurm.conf
#
# Needs root and Debian's packages: apt-get install --no-install-recommends slurm-wlm munge
# Everything Slurm keeps (config, spool, state, logs, pid files) lives in $HEBBNET_SLURM_DIR
# (default /var/tmp/hebbnet-slurm); /etc/slurm is not touched, and the daemons listen on their
# own ports (6917, 6918), so this does not disturb a Slurm installation already on the machine.
# The client commands find this cluster through SLURM_CONF=$HEBBNET_SLURM_DIR/slurm.conf.
#
# Idempotent: daemons of an earlier call that still answer are reused; dead ones are restarted.
# Exits non-zero, with the tail of the daemons' logs, if the node is not idle within the deadline.
set -euo pipefail

DIR=${HEBBNET_SLURM_DIR:-/var/tmp/hebbnet-slurm}
CONF=$DIR/slurm.conf
DEADLINE_S=${HEBBNET_SLURM_START_DEADLINE_S:-60}
export SLURM_CONF=$CONF

say() { echo "slurm cluster: $*"; }
fail() { # without the logs: nothing was started
    echo "slurm cluster: FAILED: $*" >&2
    exit 1
}
die() {
    echo "slurm cluster: FAILED: $*" >&2
    for log in "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" /var/log/munge/munged.log; do
        if [ -s "$log" ]; then
            echo "---- last lines of $log ----" >&2
            tail -n 15 "$log" >&2
        fi
    done
    exit 1
}

# --- prerequisites -------------------------------------------------------------------------
missing=()
for b in munged munge unmunge slurmctld slurmd sbatch squeue scontrol scancel sinfo srun; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
if [ ${#missing[@]} -gt 0 ]; then
    fail "missing commands: ${missing[*]} (install them: apt-get install --no-install-recommends slurm-wlm munge)"
fi
if [ "$(id -u)" != 0 ]; then
    fail "the Slurm daemons must be started as root (run this script with sudo)"
fi

NODE=$(hostname -s)
[ -n "$NODE" ] || fail "hostname -s is empty"
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)
[ "${MEM_MB:-0}" -ge 1 ] || MEM_MB=1

# --- munge ---------------------------------------------------------------------------------
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if munge_ok; then
    say "munged is running"
else
    key=/etc/munge/munge.key
    if [ ! -s "$key" ]; then
        say "creating $key"
        install -d -o munge -g munge -m 700 /etc/munge
        dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
    fi
    chown munge:munge "$key"
    chmod 400 "$key"
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
    # A stale socket or pid file of a dead munged blocks a new one.
    rm -f /run/munge/munged.pid
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged --force || die "munged did not start"
    for _ in $(seq 1 50); do munge_ok && break; sleep 0.1; done
    munge_ok || die "munged started but munge -n | unmunge fails"
fi

# --- slurm.conf ----------------------------------------------------------------------------
mkdir -p "$DIR/log" "$DIR/state" "$DIR/spool"
conf_text=$(cat <<CONF
# Written by tests/slurm/start_cluster.sh: a one-node cluster on localhost.
ClusterName=hebbnet-check
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=5
MinJobAge=600
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=check Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
)
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$conf_text" ]; then
    # A changed config (another hostname, CPU count): restart the daemons on the new one.
    for d in slurmd slurmctld; do
        pid=$(cat "$DIR/$d.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$d" ]; then
            say "config changed: stopping $d ($pid)"
            kill "$pid" || true
            for _ in $(seq 1 50); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
        fi
    done
    printf '%s\n' "$conf_text" >"$CONF"
    say "wrote $CONF"
fi

# --- the daemons ---------------------------------------------------------------------------
alive() { # alive NAME: the daemon of our pid file runs
    local pid
    pid=$(cat "$DIR/$1.pid" 2>/dev/null || true)
    [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ]
}
if alive slurmctld && scontrol ping 2>/dev/null | grep -q UP; then
    say "slurmctld is running ($(cat "$DIR/slurmctld.pid"))"
else
    if alive slurmctld; then kill "$(cat "$DIR/slurmctld.pid")" || true; sleep 1; fi
    say "starting slurmctld"
    # -c: forget the jobs of an earlier cluster.
    slurmctld -c -f "$CONF" || die "slurmctld did not start"
fi
if alive slurmd; then
    say "slurmd is running ($(cat "$DIR/slurmd.pid"))"
else
    say "starting slurmd"
    slurmd -f "$CONF" || die "slurmd did not start"
fi

# --- wait for the daemons and the node ------------------------------------------------------
start=$SECONDS
for d in slurmctld slurmd; do
    until alive "$d"; do
        [ $((SECONDS - start)) -lt "$DEADLINE_S" ] || die "$d is not running ${DEADLINE_S} s after its start"
        sleep 0.2
    done
done
state=""
while [ $((SECONDS - start)) -lt "$DEADLINE_S" ]; do
    state=$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1 || true)
    case "$state" in
        idle | mixed | allocated | completing)
            say "node $NODE is $state ($CPUS CPUs); SLURM_CONF=$CONF"
            exit 0
            ;;
        down | drained | draining | drain*)
            scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
            ;;
    esac
    sleep 1
done
die "node $NODE not idle within ${DEADLINE_S} s (state: '${state:-no answer from slurmctld}')"
